"""DICOM folders through `dvc repro split`, against the same pixels computed by hand.

Builds an image folder of two classes: pydicom's own test files (CT with a rescale and no window,
MR with a window, the same MR in six transfer syntaxes, an 8-bit liver slice, a JPEG 2000 image),
and files written here from real PneumoniaMNIST test images stretched to 12 bits (MONOCHROME1 and 2,
with and without a window, a rescale, signed pixels). It runs the pipeline's download and split
stages on it in a copy of this repository, then compares each raw image the download stage wrote
with the same file computed by hand: pydicom's Modality LUT, then the window as the standard defines
it (PS3.3 C.11.2.1.2.1, its output range mapped onto 0..255) or the image's own range, inverted for
MONOCHROME1, resized as the image folder resizes. Files that must be refused are tried too.

    python benchmarks/dicom_round_trip.py --out reports/dicom_round_trip
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import yaml
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from medssl.core.config import build_config, load_params, section
from medssl.core.errors import DataError
from medssl.data.dicom import read_dicom
from medssl.data.image_folder import ImageFolderConfig, image_files, stratified_split
from medssl.data.sources import DataConfig, acquire, load_raw

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from helpers.dicom_files import write_grey_dicom  # noqa: E402

PYDICOM_FILES = (
    "CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
    "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_padded.dcm", "liver_1frame.dcm",
    "JPEG2000.dcm", "image_dfl.dcm",
)  # fmt: skip
REFUSED_FILES = ("rtdose.dcm", "JPEG-lossy.dcm", "examples_palette.dcm")
# (name, photometric, window (centre, width), rescale (slope, intercept), signed)
WRITTEN = (
    ("m2_window", "MONOCHROME2", (2048.0, 4096.0), None, False),
    ("m2_narrow_window", "MONOCHROME2", (1500.0, 1000.0), None, False),
    ("m1_window", "MONOCHROME1", (2048.0, 4096.0), None, False),
    ("m1_no_window", "MONOCHROME1", None, None, False),
    ("m2_no_window_rescaled", "MONOCHROME2", None, (2.0, -1024.0), False),
    ("m2_ct_window_rescaled", "MONOCHROME2", (1000.0, 3000.0), (1.0, -1024.0), False),
    ("m2_signed_window", "MONOCHROME2", (0.0, 4096.0), None, True),
    ("m1_window_rescaled", "MONOCHROME1", (1000.0, 3000.0), (0.5, 0.0), False),
)


def write_folder(root: Path, chest: np.ndarray) -> None:
    for name in PYDICOM_FILES:
        (root / "pydicom").mkdir(parents=True, exist_ok=True)
        shutil.copy(get_testdata_file(name), root / "pydicom" / name)
    for index, (name, photometric, window, rescale, signed) in enumerate(WRITTEN):
        twelve_bit = np.rint(chest[index].astype(np.float64) / 255 * 4095)
        stored = twelve_bit - 2048 if signed else twelve_bit
        write_grey_dicom(
            root / "written" / f"{name}.dcm", stored, photometric=photometric, window=window,
            rescale=rescale, signed=signed,
        )  # fmt: skip


def by_hand(path: Path, size: int) -> tuple[np.ndarray, float]:
    """The file's 8-bit pixels at ``size`` and the share saturated (0 or 255) before resizing."""
    dataset = pydicom.dcmread(path)
    values = apply_modality_lut(dataset.pixel_array, dataset).astype(np.float64)
    if "WindowCenter" in dataset:
        centre = float(np.atleast_1d(dataset.WindowCenter)[0])
        width = float(np.atleast_1d(dataset.WindowWidth)[0])
        share = np.clip((values - (centre - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)
    else:
        share = (values - values.min()) / max(values.max() - values.min(), 1e-12)
    eight_bit = np.rint(share * 255).astype(np.uint8)
    if dataset.PhotometricInterpretation == "MONOCHROME1":
        eight_bit = 255 - eight_bit
    saturated = float(np.mean((eight_bit == 0) | (eight_bit == 255)))
    resized = Image.fromarray(eight_bit).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized), saturated


def run_split(scans: Path, work: Path, size: int) -> Path:
    """`dvc repro split` in a copy of this repository, set to read ``scans``."""
    repo = work / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for relative in listed:
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, repo / relative)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"].update(name="image_folder", image_size=size)
    params["data"]["image_folder"]["path"] = str(scans)
    params["split"]["labels_per_class"] = 2
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    for command in (["git", "init", "-q"], ["dvc", "repro", "split"]):
        completed = subprocess.run(
            command, cwd=repo, env=environment, capture_output=True, text=True
        )
        if completed.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    print(completed.stdout.strip())
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("reports/dicom_round_trip"))
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    params = load_params(REPO_ROOT / "params.yaml")
    data = build_config(DataConfig, dict(section(params, "data"), name="pneumoniamnist"), "data")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        acquire(data, work / "raw")
        chest = load_raw(data, work / "raw").test.images[:, 0]
        write_folder(work / "scans", chest)
        repo = run_split(work / "scans", work, args.image_size)
        raw = np.load(repo / "data" / "raw" / "image_folder.npz")
        config = build_config(
            ImageFolderConfig,
            dict(section(params, "data.image_folder"), path=str(work / "scans")),
            "data.image_folder",
        )
        classes = sorted(p for p in (work / "scans").iterdir())
        chosen = stratified_split([image_files(folder) for folder in classes], config)
        rows = []
        for split, items in chosen.items():
            for position, (path, _) in enumerate(items):
                expected, saturated = by_hand(path, args.image_size)
                got = raw[f"{split}_images"][position]
                rows.append(
                    {
                        "file": f"{path.parent.name}/{path.name}",
                        "rule": read_dicom(path).rule,
                        "max_abs_difference": int(np.abs(got.astype(int) - expected).max()),
                        "share_saturated": round(saturated, 4),
                    }
                )
        prepared = np.concatenate(
            [np.load(repo / "data" / "prepared" / f)["images"][:, 0] for f in
             ("labelled.npz", "unlabelled.npz", "val.npz", "test.npz")]
        )  # fmt: skip
        every_raw = np.concatenate([raw[f"{s}_images"] for s in ("train", "val", "test")])
        found = sum(any(np.array_equal(p, r) for r in every_raw) for p in prepared)
        shutil.copy(repo / "plots" / "split" / "contact_sheet.png", args.out / "contact_sheet.png")
        refusals = {}
        for name in REFUSED_FILES:
            try:
                read_dicom(Path(get_testdata_file(name)))
                refusals[name] = "read (not refused)"
            except DataError as error:
                refusals[name] = str(error).replace(str(Path(get_testdata_file(name)).parent), "…")
    summary = {
        "rows": rows,
        "prepared_images_found_in_raw": f"{found} of {len(prepared)}",
        "refusals": refusals,
    }
    (args.out / "dicom_round_trip.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| file | rule | largest difference (grey levels) | share saturated |")
    print("|---|---|---|---|")
    for row in sorted(rows, key=lambda r: r["file"]):
        print(
            f"| {row['file']} | {row['rule']} | {row['max_abs_difference']} | "
            f"{row['share_saturated']:.1%} |"
        )
    found = summary["prepared_images_found_in_raw"]
    print(f"prepared arrays found unchanged in the raw images: {found}")
    for name, message in refusals.items():
        print(f"refused {name}: {message}")


if __name__ == "__main__":
    main()
