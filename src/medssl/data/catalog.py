"""The one table of datasets: where each file comes from, its MD5, and what it holds.

Adding a dataset is one entry here. MedMNIST URLs and MD5s are those of the official MedMNIST v3
release (Zenodo record 10519652), as listed in MedMNIST's ``INFO`` dictionary. MNIST and
Fashion-MNIST are the official IDX files; their MD5s are the published ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medssl.core.errors import ConfigError, UnknownDatasetError

# File formats the loaders understand.
MEDMNIST_NPZ = "medmnist_npz"
IDX = "idx"
IMAGE_FOLDER = "image_folder"
SYNTHETIC = "synthetic"
# fundus photographs + lesion maps from a folder (data/fundus.py); not downloadable
FUNDUS = "idrid"

BINARY = "binary-class"
MULTI_CLASS = "multi-class"
ORDINAL = "ordinal-regression"
MULTI_LABEL = "multi-label, binary-class"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset. ``relative_path`` is its place under ``data/raw`` and under a mirror
    folder."""

    relative_path: str
    urls: tuple[str, ...]
    md5: str
    size_bytes: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    file_format: str
    task: str
    label_names: tuple[str, ...]
    channels: int
    split_sizes: dict[str, int]
    files_by_image_size: dict[int, tuple[RemoteFile, ...]] = field(default_factory=dict)
    license: str = ""

    @property
    def image_sizes(self) -> tuple[int, ...]:
        return tuple(sorted(self.files_by_image_size))

    @property
    def is_single_label(self) -> bool:
        return self.task != MULTI_LABEL


_ZENODO = "https://zenodo.org/records/10519652/files"

# (28 px MD5, 64, 128, 224) from MedMNIST v3's INFO; sizes in bytes where a verified copy was
# measured.
_MEDMNIST_MD5 = {
    "pathmnist": (
        "a8b06965200029087d5bd730944a56c1",
        "55aa9c1e0525abe5a6b9d8343a507616",
        "ac42d08fb904d92c244187169d1fd1d9",
        "2c51a510bcdc9cf8ddb2af93af1eadec",
    ),
    "chestmnist": (
        "02c8a6516a18b556561a56cbdd36c4a8",
        "9de6cd0b934ebb5b7426cfba5efbae16",
        "db107e5590b27930b62dbaf558aebee3",
        "45bd33e6f06c3e8cdb481c74a89152aa",
    ),
    "dermamnist": (
        "0744692d530f8e62ec473284d019b0c7",
        "b70a2f5635c6199aeaa28c31d7202e1f",
        "2defd784463fa5243564e855ed717de1",
        "8974907d8e169bef5f5b96bc506ae45d",
    ),
    "octmnist": (
        "c68d92d5b585d8d81f7112f81e2d0842",
        "e229e9440236b774d9f0dfef9d07bdaf",
        "0a97e76651ace45c5d943ee3f65b63ae",
        "abc493b6d529d5de7569faaef2773ba3",
    ),
    "pneumoniamnist": (
        "28209eda62fecd6e6a2d98b1501bb15f",
        "8f4eceb4ccffa70c672198ea285246c6",
        "05b46931834c231683c68f40c47b2971",
        "d6a3c71de1b945ea11211b03746c1fe1",
    ),
    "retinamnist": (
        "bd4c0672f1bba3e3a89f0e4e876791e4",
        "afda852cc34dcda56f86ad2b2457dbcc",
        "e48e916a24454daf90583d4e6efb1a18",
        "eae7e3b6f3fcbda4ae613ebdcbe35348",
    ),
    "breastmnist": (
        "750601b1f35ba3300ea97c75c52ff8f6",
        "742edef2a1fd1524b2efff4bd7ba9364",
        "363e4b3f8d712e9b5de15470a2aaadf1",
        "b56378a6eefa9fed602bb16d192d4c8b",
    ),
    "bloodmnist": (
        "7053d0359d879ad8a5505303e11de1dc",
        "2b94928a2ae4916078ca51e05b6b800b",
        "adace1e0ed228fccda1f39692059dd4c",
        "b718ff6835fcbdb22ba9eacccd7b2601",
    ),
    "organamnist": (
        "68e3f8846a6bd62f0c9bf841c0d9eacc",
        "2dcccc29b88e6da5a01161ef20cda288",
        "eeae80d0a227a8d099027e1b3cfd3b60",
        "50747347e05c87dd3aaf92c49f9f3170",
    ),
}
_MEDMNIST_SIZES = (28, 64, 128, 224)
_KNOWN_BYTES = {
    ("pneumoniamnist", 28): 4170669,
    ("breastmnist", 28): 559580,
    ("breastmnist", 64): 2846041,
    ("retinamnist", 28): 3291041,
}


def _medmnist(
    name: str,
    task: str,
    labels: tuple[str, ...],
    channels: int,
    train: int,
    val: int,
    test: int,
    license: str = "CC BY 4.0",
) -> DatasetSpec:
    files = {}
    for size, md5 in zip(_MEDMNIST_SIZES, _MEDMNIST_MD5[name], strict=True):
        filename = f"{name}.npz" if size == 28 else f"{name}_{size}.npz"
        url = f"{_ZENODO}/{filename}?download=1"
        files[size] = (RemoteFile(filename, (url,), md5, _KNOWN_BYTES.get((name, size))),)
    return DatasetSpec(
        name,
        MEDMNIST_NPZ,
        task,
        labels,
        channels,
        {"train": train, "val": val, "test": test},
        files,
        license,
    )


def _idx_files(
    folder: str, base_urls: tuple[str, ...], md5s: dict[str, tuple[str, int]]
) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(
            f"{folder}/{filename}", tuple(f"{base}/{filename}" for base in base_urls), md5, size
        )
        for filename, (md5, size) in md5s.items()
    )


# MNIST's own site is the official source; PyTorch's S3 copy is tried second (same bytes, same MD5).
_MNIST_URLS = ("https://yann.lecun.com/exdb/mnist", "https://ossci-datasets.s3.amazonaws.com/mnist")
# Fashion-MNIST's S3 website endpoint is HTTP only; the official repository serves the same files
# over HTTPS.
_FASHION_URLS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
)

IDX_TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
IDX_TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
IDX_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
IDX_TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
# MNIST and Fashion-MNIST publish no validation split: the last 5,000 training images are held out,
# a fixed (not random) choice, so val never depends on a seed.
IDX_VALIDATION_SIZE = 5000

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        _medmnist("pneumoniamnist", BINARY, ("normal", "pneumonia"), 1, 4708, 524, 624),
        _medmnist("breastmnist", BINARY, ("malignant", "normal, benign"), 1, 546, 78, 156),
        _medmnist("retinamnist", ORDINAL, ("0", "1", "2", "3", "4"), 3, 1080, 120, 400),
        _medmnist(
            "chestmnist",
            MULTI_LABEL,
            (
                "atelectasis",
                "cardiomegaly",
                "effusion",
                "infiltration",
                "mass",
                "nodule",
                "pneumonia",
                "pneumothorax",
                "consolidation",
                "edema",
                "emphysema",
                "fibrosis",
                "pleural",
                "hernia",
            ),
            1,
            78468,
            11219,
            22433,
        ),
        _medmnist(
            "pathmnist",
            MULTI_CLASS,
            (
                "adipose",
                "background",
                "debris",
                "lymphocytes",
                "mucus",
                "smooth muscle",
                "normal colon mucosa",
                "cancer-associated stroma",
                "colorectal adenocarcinoma epithelium",
            ),
            3,
            89996,
            10004,
            7180,
        ),
        _medmnist(
            "bloodmnist",
            MULTI_CLASS,
            (
                "basophil",
                "eosinophil",
                "erythroblast",
                "immature granulocytes",
                "lymphocyte",
                "monocyte",
                "neutrophil",
                "platelet",
            ),
            3,
            11959,
            1712,
            3421,
        ),
        _medmnist(
            "dermamnist",
            MULTI_CLASS,
            (
                "actinic keratoses and intraepithelial carcinoma",
                "basal cell carcinoma",
                "benign keratosis-like lesions",
                "dermatofibroma",
                "melanoma",
                "melanocytic nevi",
                "vascular lesions",
            ),
            3,
            7007,
            1003,
            2005,
            license="CC BY-NC 4.0",
        ),
        _medmnist(
            "octmnist",
            MULTI_CLASS,
            ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
            1,
            97477,
            10832,
            1000,
        ),
        _medmnist(
            "organamnist",
            MULTI_CLASS,
            (
                "bladder",
                "femur-left",
                "femur-right",
                "heart",
                "kidney-left",
                "kidney-right",
                "liver",
                "lung-left",
                "lung-right",
                "pancreas",
                "spleen",
            ),
            1,
            34581,
            6491,
            17778,
        ),
        DatasetSpec(
            "mnist",
            IDX,
            MULTI_CLASS,
            tuple(str(d) for d in range(10)),
            1,
            {"train": 60000 - IDX_VALIDATION_SIZE, "val": IDX_VALIDATION_SIZE, "test": 10000},
            {
                28: _idx_files(
                    "mnist",
                    _MNIST_URLS,
                    {
                        IDX_TRAIN_IMAGES: ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
                        IDX_TRAIN_LABELS: ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
                        IDX_TEST_IMAGES: ("9fb629c4189551a2d022fa330f9573f3", 1648877),
                        IDX_TEST_LABELS: ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
                    },
                )
            },
            "CC BY-SA 3.0",
        ),
        DatasetSpec(
            "fashion-mnist",
            IDX,
            MULTI_CLASS,
            (
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            1,
            {"train": 60000 - IDX_VALIDATION_SIZE, "val": IDX_VALIDATION_SIZE, "test": 10000},
            {
                28: _idx_files(
                    "fashion-mnist",
                    _FASHION_URLS,
                    {
                        IDX_TRAIN_IMAGES: ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
                        IDX_TRAIN_LABELS: ("25c81989df183df01b3e8a0aad5dffbe", 29515),
                        IDX_TEST_IMAGES: ("bef4ecab320f06d8554ea6380940ec79", 4422102),
                        IDX_TEST_LABELS: ("bb300cfdad3c16e7a12a480ee83cd310", 5148),
                    },
                )
            },
            "MIT",
        ),
    )
}

# Sources that are not downloaded: their images come from the user's disk or are generated.
LOCAL_SOURCES = (IMAGE_FOLDER, SYNTHETIC, FUNDUS)


def known_dataset_names() -> tuple[str, ...]:
    return tuple(sorted(DATASETS)) + LOCAL_SOURCES


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise UnknownDatasetError(
            f"unknown dataset '{name}'; known datasets: {', '.join(known_dataset_names())}"
        )
    return DATASETS[name]


def remote_files(name: str, image_size: int) -> tuple[RemoteFile, ...]:
    spec = dataset_spec(name)
    if image_size not in spec.files_by_image_size:
        sizes = ", ".join(str(size) for size in spec.image_sizes)
        raise ConfigError(
            f"{name} is published at image sizes {sizes}, not {image_size}; set data.image_size "
            "to one of them"
        )
    return spec.files_by_image_size[image_size]
