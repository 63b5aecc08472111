"""A user's image folder: pixel values are never changed silently, and bad files are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medssl.core.errors import DataError
from medssl.data.image_folder import (
    ImageFolderConfig,
    minimum_class_size,
    read_image,
    read_image_folder,
)

CONFIG = ImageFolderConfig(path="", val_fraction=0.2, test_fraction=0.2, seed=0)


def _folder(root: Path, per_class: int = 5, write=None) -> ImageFolderConfig:
    for label in ("healthy", "tumour"):
        for index in range(per_class):
            path = root / label / f"{index}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            (write or _grey)(path, 40 + 150 * (label == "tumour") + index)
    return ImageFolderConfig(str(root), CONFIG.val_fraction, CONFIG.test_fraction, CONFIG.seed)


def _grey(path: Path, value: int) -> None:
    Image.fromarray(np.full((12, 12), value, dtype=np.uint8)).save(path)


def test_sixteen_bit_grey_is_scaled_by_its_range_not_clipped(tmp_path: Path):
    """A scanner's 16-bit export: values 1000..4000 must span 0..255, not saturate at 255."""
    gradient = np.linspace(1000, 4000, 16 * 16).reshape(16, 16).astype(np.uint16)

    def sixteen_bit(path: Path, value: int) -> None:
        Image.fromarray(gradient + value).save(path)

    arrays = read_image_folder(_folder(tmp_path, write=sixteen_bit), image_size=16)
    prepared = np.concatenate([arrays[f"{s}_images"] for s in ("train", "val", "test")])
    assert prepared.dtype == np.uint8
    assert (prepared.min(), prepared.max()) == (0, 255)
    assert abs(prepared.mean() - 127.5) < 1.0  # a linear ramp keeps its mean in the middle
    assert (prepared == 255).mean() < 0.01  # no saturation (convert("L") put 99 % at 255)
    np.testing.assert_array_equal(prepared[0], np.rint((gradient - 1000) / 3000 * 255))


def test_hidden_and_system_folders_and_files_are_not_classes_or_images(tmp_path: Path):
    config = _folder(tmp_path)
    for hidden in (".thumbs", "__MACOSX"):
        _grey((tmp_path / hidden).mkdir() or tmp_path / hidden / "x.png", 1)
    _grey(tmp_path / "healthy" / "._0.png", 1)
    arrays = read_image_folder(config, image_size=12)
    assert list(arrays["label_names"]) == ["healthy", "tumour"]
    assert sum(len(arrays[f"{s}_images"]) for s in ("train", "val", "test")) == 10


def test_a_truncated_image_is_named(tmp_path: Path):
    config = _folder(tmp_path)
    broken = tmp_path / "tumour" / "3.png"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(broken)
    broken.write_bytes(broken.read_bytes()[:2000])  # a valid header, half the pixel data
    with pytest.raises(DataError, match=r"tumour/3\.png is not a readable image"):
        read_image_folder(config, image_size=12)


def test_a_class_too_small_to_split_is_refused_with_the_minimum(tmp_path: Path):
    config = _folder(tmp_path, per_class=5)
    for extra in (tmp_path / "tumour").glob("[1-4].png"):
        extra.unlink()
    needed = minimum_class_size(config)
    assert needed == 3  # with 0.2 / 0.2: one validation, one test and one training image
    with pytest.raises(DataError, match=f"has 1 image.*needs at least {needed}"):
        read_image_folder(config, image_size=12)


def test_palette_and_alpha_images_keep_their_pixels(tmp_path: Path):
    grey_palette = Image.fromarray(np.full((8, 8), 77, dtype=np.uint8)).convert("P")
    grey_palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png", 8, colour=False), 77)
    half_transparent = np.zeros((8, 8, 2), dtype=np.uint8)
    half_transparent[..., 0], half_transparent[..., 1] = 200, 128
    Image.fromarray(half_transparent, mode="LA").save(tmp_path / "la.png")
    composited = read_image(tmp_path / "la.png", 8, colour=False)
    assert np.all(np.abs(composited.astype(int) - 100) <= 1)  # 200 over black at alpha 0.5


def test_a_mixed_grey_and_colour_folder_says_what_it_did(tmp_path: Path, capsys):
    config = _folder(tmp_path)
    colour = np.zeros((12, 12, 3), dtype=np.uint8)
    colour[..., 0] = 255
    Image.fromarray(colour).save(tmp_path / "tumour" / "0.png")
    arrays = read_image_folder(config, image_size=12)
    assert "1 of 10 images are colour" in capsys.readouterr().out
    assert arrays["train_images"].shape[-1] == 3


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_grey_saved_as_rgb_is_grey_by_content(tmp_path: Path, capsys, suffix):
    """X-ray sets often ship grey images as RGB JPEGs (R = G = B): one channel, and a note."""

    def rgb_grey(path: Path, value: int) -> None:
        ramp = np.add.outer(np.arange(12), np.arange(12)).astype(np.uint8) * 9 + value % 40
        Image.fromarray(np.repeat(ramp[..., None], 3, axis=2)).save(path.with_suffix(suffix))

    config = _folder(tmp_path, write=rgb_grey)
    arrays = read_image_folder(config, image_size=12)
    assert arrays["train_images"].ndim == 3  # (N, H, W): grey
    assert "10 of 10 images are grey saved as colour" in capsys.readouterr().out
    first = sorted((tmp_path / "healthy").iterdir())[0]
    with Image.open(first) as image:
        assert image.mode == "RGB"
        expected = np.asarray(image)[..., 0]
    np.testing.assert_array_equal(read_image(first, 12, colour=False), expected)
