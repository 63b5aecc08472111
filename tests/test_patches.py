"""Fundus photographs cut into patches: lesion masks, patch labels, the image split, the image score
and the heatmap's localisation AUC; and the whole path on the real IDRiD images of the mirror."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import config_from_params, cpu_run, data_config, method_values, split_config
from medssl.data.catalog import FUNDUS
from medssl.data.fundus import DISEASED_FOLDER, HEALTHY_FOLDER, FundusConfig, read_fundus_folder
from medssl.data.patches import cut_patches, make_patch_split, patch_labels, write_patch_split
from medssl.data.prepared import DatasetInfo, TrainData, load_dataset_info
from medssl.methods.registry import create_method, resolve_method
from medssl.pipeline.patch_evaluation import heatmaps, image_scores, patch_image_evaluation
from medssl.pipeline.predict import MEAN_ROW, load_seeds, predict
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import train_method

SIZE, GRID = 64, 4  # 4 x 4 patches of 16 px


def _write_fundus_folder(root: Path, diseased: int = 6, healthy: int = 6) -> None:
    rng = np.random.default_rng(0)
    (root / DISEASED_FOLDER).mkdir(parents=True)
    (root / HEALTHY_FOLDER).mkdir(parents=True)
    for index in range(diseased):
        image = rng.integers(40, 200, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / DISEASED_FOLDER / f"D{index}.png")
        lesion = np.zeros((SIZE, SIZE, 3), np.uint8)
        lesion[20:24, 36:40] = 200  # inside the patch at row 1, column 2
        Image.fromarray(lesion).save(root / DISEASED_FOLDER / f"D{index}_EX.png")
        Image.fromarray(np.full((SIZE, SIZE, 3), 200, np.uint8)).save(
            root / DISEASED_FOLDER / f"D{index}_OD.png"
        )
    for index in range(healthy):
        Image.fromarray(rng.integers(40, 200, (SIZE, SIZE, 3), dtype=np.uint8)).save(
            root / HEALTHY_FOLDER / f"H{index}.png"
        )


def test_lesion_maps_make_the_mask_and_the_optic_disc_is_not_a_lesion(tmp_path: Path):
    _write_fundus_folder(tmp_path)
    arrays = read_fundus_folder(
        config_from_params(FundusConfig, "data.fundus", path=str(tmp_path), image_size=SIZE), []
    )
    diseased = arrays["disease"] == 1
    assert diseased.sum() == 6 and (arrays["disease"] == 0).sum() == 6
    # the 4 x 4 lesion only, no optic disc
    assert arrays["masks"][diseased].sum(axis=(1, 2)).tolist() == [16] * 6
    assert not arrays["masks"][~diseased].any() and arrays["has_mask"].all()


def test_patch_labels_and_the_split(tmp_path: Path):
    _write_fundus_folder(tmp_path)
    config = config_from_params(
        FundusConfig,
        "data.fundus",
        path=str(tmp_path),
        image_size=SIZE,
        grid=GRID,
        val_fraction=1 / 6,
        test_fraction=1 / 6,
    )
    arrays = read_fundus_folder(config, [])
    labels = patch_labels(arrays["masks"], GRID).reshape(len(arrays["disease"]), GRID, GRID)
    assert (labels[arrays["disease"] == 1][:, 1, 2] == 1).all() and labels.sum() == 6
    patches = cut_patches(arrays["images"], GRID, 8)  # 16 px patches averaged down to 8 px
    assert patches.shape == (12 * GRID * GRID, 3, 8, 8)
    first = arrays["images"][0, :, :16, :16].reshape(3, 8, 2, 8, 2).astype(float).mean(axis=(2, 4))
    np.testing.assert_allclose(patches[0], first, atol=0.5)
    split = make_patch_split(arrays, config, split_config(labels_per_class=2, seed=1), input_size=8)
    assert len(split.split.labelled) == 4 * GRID * GRID  # 2 images of each class, all their patches
    assert (
        split.test_images["disease"].tolist().count(1) == 1
        and split.val_images["disease"].tolist().count(0) == 1
    )
    everything = make_patch_split(
        arrays, config, split_config(labels_per_class=-1, seed=1), input_size=8
    )
    assert (
        len(everything.split.labelled) == 8 * GRID * GRID
        and len(everything.split.unlabelled_images) == 0
    )
    seen = set(split.split.labelled_source_index // GRID**2) | set(
        split.split.unlabelled_source_index // GRID**2
    )
    # 12 images less one val and one test image per class: labelled or not, apart
    assert len(seen) == 8


def test_image_scores_and_localisation_of_a_perfect_patch_classifier():
    grid, images = 4, 2
    truth = np.zeros((images, grid, grid))
    truth[0, 1, 2] = 1.0  # image 0 has one diseased patch, image 1 none
    probability = truth.reshape(-1) * 0.9 + 0.05
    place = {
        "patch_image": np.repeat(np.arange(images), grid * grid),
        "patch_row": np.tile(np.repeat(np.arange(grid), grid), images),
        "patch_column": np.tile(np.tile(np.arange(grid), grid), images),
    }
    scores = image_scores(probability, place["patch_image"], images)
    assert scores[0] == pytest.approx(0.95 + 15 * 0.05) and scores[1] == pytest.approx(16 * 0.05)
    maps = heatmaps(
        probability,
        place["patch_image"],
        patch_row=place["patch_row"],
        patch_column=place["patch_column"],
        images=images,
        grid=grid,
        size=32,
    )
    # the hot spot is in row 1
    assert np.unravel_index(maps[0].argmax(), maps[0].shape)[0] // 8 == 1


@pytest.mark.integration
def test_real_idrid_through_the_mirror_to_image_level_metrics(data_mirror: str, tmp_path: Path):
    """The mirror's 512 px IDRiD release, cut into 8 x 8 patches of 32 px, a tiny patch_ssgan, and
    the image-level evaluation every patch method gets."""
    mirrors = [Path(data_mirror)] if data_mirror else []
    if not any((mirror / "idrid").is_dir() for mirror in mirrors):
        pytest.fail(
            "the IDRiD integration test needs $MEDSSL_DATA_MIRROR with idrid/ (CI sets it to "
            "../shared/data)"
        )
    config = config_from_params(FundusConfig, "data.fundus")
    arrays = read_fundus_folder(config, mirrors)
    assert arrays["images"].shape == (143, 3, 512, 512) and (arrays["disease"] == 1).sum() == 54
    split = make_patch_split(
        arrays, config, split_config(labels_per_class=2, seed=0), input_size=32
    )
    diseased_share = split.split.labelled.labels.mean()
    assert 0.0 < diseased_share < 0.5  # lesions are sparse: most patches of a DR image are healthy
    info = DatasetInfo(
        "idrid", "binary-class", ("healthy", "diseased"), 3, 32, 2, 0, {}, patch_grid=8
    )
    pool = dataclasses.replace(split.split, unlabelled_images=split.split.unlabelled_images[:512])
    data = TrainData.from_split(pool, info)
    method = create_method(
        "patch_ssgan", method_values("patch_ssgan", iterations=3, batch_size=16, width=0.1), info
    )
    method.fit(data, cpu_run(validations=4))
    metrics = patch_image_evaluation(
        method.predict_proba(split.split.test.images),
        method.predict_proba(split.split.val.images),
        test_images=split.test_images,
        val_images=split.val_images,
        plots_dir=tmp_path,
        title="test",
        seed=0,
    )
    for key in ("image_auc", "image_accuracy", "localisation_auc"):
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    assert (tmp_path / "heatmaps_seed0.png").stat().st_size > 0


def test_predict_scores_whole_fundus_images_and_draws_their_heatmaps(tmp_path: Path):
    """`medssl predict` on a patch method: each image is cut into the training grid, its score is
    the mean of its patches' probabilities, and a heatmap is drawn per image and seed."""
    _write_fundus_folder(tmp_path / "fundus")
    data = data_config(
        name=FUNDUS,
        image_size=32,
        fundus={"path": str(tmp_path / "fundus"), "image_size": SIZE, "grid": GRID,
                "val_fraction": 1 / 6, "test_fraction": 1 / 6},
    )  # fmt: skip
    split = split_config(labels_per_class=2, seed=1)
    write_patch_split(
        read_fundus_folder(data.fundus, []),
        data,
        split,
        prepared_dir=tmp_path / "prepared",
        hidden_dir=tmp_path / "hidden",
    )
    (tmp_path / "inputs").mkdir()
    train_method(
        resolve_method("patch_convnet", method_values("patch_convnet", iterations=4, batch_size=8)),
        train_config=config_from_params(
            TrainConfig, "train", seeds=[0], checkpoint_dir=str(tmp_path / "ck")
        ),
        prepared_dir=tmp_path / "prepared",
        inputs_dir=tmp_path / "inputs",
        models_dir=tmp_path / "models",
        plots_dir=tmp_path / "plots",
    )
    images = sorted((tmp_path / "fundus" / HEALTHY_FOLDER).glob("H[01].png"))
    rows = predict(
        tmp_path / "models",
        tmp_path / "prepared",
        images,
        out=tmp_path / "p.csv",
        heatmaps_dir=tmp_path / "maps",
    )
    assert [row["seed"] for row in rows] == [0, MEAN_ROW, 0, MEAN_ROW]
    method = load_seeds(tmp_path / "models", load_dataset_info(tmp_path / "prepared"), "cpu")[0]
    for path, row in zip(images, rows[::2], strict=True):
        whole = np.asarray(Image.open(path)).transpose(2, 0, 1)[None]
        diseased = method.predict_proba(cut_patches(whole, GRID, 32))[:, 1].mean()
        assert row["p_diseased"] == pytest.approx(diseased, abs=1e-6)
        assert (tmp_path / "maps" / f"{path.stem}_seed0.png").is_file()
