"""DICOM in the image-folder source: the file's own rescale and window, MONOCHROME1 inverted, and
one-line refusals for what cannot be read. Expected pixels are computed here from the standard's
formulas (PS3.3 C.11.2.1.2), or with pydicom's LUT functions for pydicom's own test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from helpers.dicom_files import write_grey_dicom
from medssl.core.errors import DataError
from medssl.data.dicom import OWN_RANGE, WINDOW, read_dicom
from medssl.data.image_folder import ImageFolderConfig, read_image, read_image_folder

RAMP = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)  # 0..4095: every 12-bit value


def _linear_window(values: np.ndarray, centre: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 ('LINEAR'), its output range mapped onto 0..255."""
    share = np.clip((values - (centre - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)
    return np.rint(share * 255).astype(np.uint8)


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_rescale_then_window_then_inversion_follow_the_standard(tmp_path: Path, photometric):
    slope, intercept, centre, width = 2.0, -1024.0, 40.0, 400.0  # a CT soft-tissue window
    path = write_grey_dicom(
        tmp_path / "ct.dcm", RAMP, photometric=photometric, window=(centre, width),
        rescale=(slope, intercept),
    )  # fmt: skip
    read = read_dicom(path)
    expected = _linear_window(RAMP * slope + intercept, centre, width)
    if photometric == "MONOCHROME1":
        expected = 255 - expected
    assert read.rule == WINDOW
    np.testing.assert_array_equal(read.pixels, expected)


def test_a_file_without_a_window_is_scaled_by_its_own_range(tmp_path: Path):
    stored = (RAMP // 4 + 300).astype(np.uint16)  # 300..1323 of 0..4095
    read = read_dicom(write_grey_dicom(tmp_path / "x.dcm", stored))
    assert read.rule == OWN_RANGE
    np.testing.assert_array_equal(read.pixels, np.rint((stored - 300.0) / 1023 * 255))


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_pydicoms_own_files_match_its_lut_functions(name):
    """CT_small has a rescale and no window; MR_small a window and no rescale."""
    path = Path(get_testdata_file(name))
    dataset = pydicom.dcmread(path)
    values = apply_modality_lut(dataset.pixel_array, dataset).astype(np.float64)
    if "WindowCenter" in dataset:
        values = apply_voi_lut(values, dataset)
        low = 0.0 if dataset.PixelRepresentation == 0 else -(2 ** (dataset.BitsStored - 1))
        high = low + 2**dataset.BitsStored - 1
    else:
        low, high = values.min(), values.max()
    expected = np.rint(np.clip((values - low) / (high - low), 0, 1) * 255)
    np.testing.assert_array_equal(read_dicom(path).pixels, expected)


def test_multi_frame_compressed_and_broken_files_are_refused_in_one_line(tmp_path: Path):
    frames = write_grey_dicom(tmp_path / "series.dcm", np.stack([RAMP, RAMP, RAMP]))
    with pytest.raises(DataError, match=r"series\.dcm holds 3 frames") as refused:
        read_dicom(frames)
    assert "\n" not in str(refused.value)
    lossy_12_bit = Path(get_testdata_file("JPEG-lossy.dcm"))  # no installed decoder reads it
    with pytest.raises(DataError, match=r"JPEG-lossy\.dcm cannot be decoded here") as refused:
        read_dicom(lossy_12_bit)
    assert "\n" not in str(refused.value)
    (tmp_path / "notes.dcm").write_text("not a DICOM file")
    with pytest.raises(DataError, match=r"notes\.dcm is not a readable DICOM file"):
        read_dicom(tmp_path / "notes.dcm")


def test_a_dicom_folder_is_a_grey_dataset_and_says_which_files_had_no_window(
    tmp_path: Path, capsys
):
    for label, offset in (("normal", 0), ("effusion", 2000)):
        for index in range(5):
            window = (2047.0, 4096.0) if index else None
            write_grey_dicom(
                tmp_path / label / f"{index}.dcm", (RAMP // 2 + offset + index).astype(np.uint16),
                window=window,
            )  # fmt: skip
    config = ImageFolderConfig(str(tmp_path), val_fraction=0.2, test_fraction=0.2, seed=0)
    arrays = read_image_folder(config, image_size=32)
    assert arrays["train_images"].shape == (6, 32, 32)  # grey: no channel axis in the raw layout
    assert list(arrays["label_names"]) == ["effusion", "normal"]
    assert "2 of 10 DICOM files have no window" in capsys.readouterr().out
    windowed = read_image(tmp_path / "normal" / "1.dcm", 64, colour=False)
    np.testing.assert_array_equal(windowed, _linear_window(RAMP // 2 + 1.0, 2047.0, 4096.0))
