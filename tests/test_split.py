"""The split: determinism, budgets, and the unlabelled pool's labels never reaching training."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import medssl.data.prepared as prepared_module
from conftest import config_from_params, data_config, method_values, split_config
from medssl.core.errors import ConfigError, DataError, SplitError
from medssl.core.io import read_npz
from medssl.data.catalog import IMAGE_FOLDER
from medssl.data.prepared import (
    HIDDEN_LABELS_FILE,
    UNLABELLED_FILE,
    DatasetInfo,
    TrainData,
    load_hidden_unlabelled_labels,
)
from medssl.data.sources import acquire, load_raw
from medssl.data.split import (
    UNKNOWN_LABEL,
    labelled_indices,
    make_split,
    short_validation_note,
    write_split,
)
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import train_method


def test_same_seed_same_split_and_another_seed_another(synthetic_raw):
    first = make_split(synthetic_raw, split_config(labels_per_class=5, seed=3))
    again = make_split(synthetic_raw, split_config(labels_per_class=5, seed=3))
    other = make_split(synthetic_raw, split_config(labels_per_class=5, seed=4))
    np.testing.assert_array_equal(first.labelled_source_index, again.labelled_source_index)
    np.testing.assert_array_equal(first.labelled.images, again.labelled.images)
    assert not np.array_equal(first.labelled_source_index, other.labelled_source_index)


def test_split_has_the_budget_per_class_and_partitions_train(synthetic_raw):
    split = make_split(synthetic_raw, split_config(labels_per_class=7, seed=0))
    assert np.bincount(split.labelled.labels).tolist() == [7, 7, 7]
    everything = np.concatenate([split.labelled_source_index, split.unlabelled_source_index])
    assert sorted(everything.tolist()) == list(range(len(synthetic_raw.train)))
    np.testing.assert_array_equal(
        split.unlabelled_hidden_labels, synthetic_raw.train.labels[split.unlabelled_source_index]
    )
    # the official test split untouched; as many validation labels per class as training ones
    assert split.test is synthetic_raw.test
    assert np.bincount(split.val.labels).tolist() == [7, 7, 7]


def test_a_budget_larger_than_a_class_names_the_class():
    labels = np.array([0] * 12 + [1] * 4)
    with pytest.raises(
        SplitError,
        match="class 'malignant' has 4 images .*labels_per_class is 5; lower it to at most 4",
    ):
        labelled_indices(labels, ("benign", "malignant"), 5, seed=0)
    with pytest.raises(SplitError, match="at least 1"):
        labelled_indices(labels, ("benign", "malignant"), 0, seed=0)


def test_hidden_labels_are_written_apart_from_what_training_reads(synthetic_raw, tmp_path: Path):
    config = split_config(labels_per_class=5, seed=0)
    split = make_split(synthetic_raw, config)
    write_split(
        split,
        synthetic_raw,
        config,
        prepared_dir=tmp_path / "prepared",
        hidden_dir=tmp_path / "hidden",
    )
    assert set(read_npz(tmp_path / "prepared" / UNLABELLED_FILE)) == {"images", "source_index"}
    assert not (tmp_path / "prepared" / HIDDEN_LABELS_FILE).exists()
    np.testing.assert_array_equal(
        load_hidden_unlabelled_labels(tmp_path / "hidden"), split.unlabelled_hidden_labels
    )
    # What a method receives: the unlabelled pool is images only.
    assert {field.name for field in dataclasses.fields(TrainData)} == {
        "labelled_x",
        "labelled_y",
        "unlabelled_x",
        "val_x",
        "val_y",
        "info",
        "pseudo_labels",
        "feature_network",
    }


def test_training_never_opens_the_hidden_labels(
    synthetic_raw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = split_config(labels_per_class=5, seed=0)
    write_split(
        make_split(synthetic_raw, config),
        synthetic_raw,
        config,
        prepared_dir=tmp_path / "prepared",
        hidden_dir=tmp_path / "hidden",
    )
    opened: list[str] = []
    real_load = np.load
    monkeypatch.setattr(
        np, "load", lambda path, *a, **k: opened.append(str(path)) or real_load(path, *a, **k)
    )
    monkeypatch.setattr(
        prepared_module,
        "load_hidden_unlabelled_labels",
        lambda *_: pytest.fail("training asked for the hidden labels"),
    )
    (tmp_path / "hidden" / HIDDEN_LABELS_FILE).unlink()  # and they are not on disk either
    tiny = config_from_params(
        TrainConfig,
        "train",
        seeds=[0],
        validations=4,
        checkpoint_every=100,
        log_every=5,
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    for method, values in (
        ("supervised_cnn", {"iterations": 5, "batch_size": 8}),
        ("pca_svm", {"n_components": 5}),
    ):
        (tmp_path / "inputs" / method).mkdir(parents=True)
        train_method(
            resolve_method(method, method_values(method, **values)),
            train_config=tiny,
            prepared_dir=tmp_path / "prepared",
            inputs_dir=tmp_path / "inputs" / method,
            models_dir=tmp_path / "models" / method,
            plots_dir=tmp_path / "plots",
        )
    assert opened and all("hidden" not in path for path in opened)


def _write_png(path: Path, value: int, colour: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((20, 24, 3) if colour else (20, 24), value, dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_image_folder_becomes_a_split_with_extra_unlabelled_images(tmp_path: Path):
    root = tmp_path / "scans"
    for index in range(10):
        _write_png(root / "healthy" / f"h{index}.png", 30)
        _write_png(root / "tumour" / f"t{index}.jpg", 200)
    for index in range(4):
        _write_png(root / "unlabelled" / f"u{index}.png", 120)
    config = data_config(
        name=IMAGE_FOLDER,
        image_size=16,
        image_folder={"path": str(root), "val_fraction": 0.2, "test_fraction": 0.2, "seed": 1},
    )
    acquire(config, tmp_path / "raw")
    raw = load_raw(config, tmp_path / "raw")
    assert raw.label_names == ("healthy", "tumour") and raw.channels == 1 and raw.image_size == 16
    assert (len(raw.train), len(raw.val), len(raw.test), len(raw.extra_unlabelled)) == (12, 4, 4, 4)
    split = make_split(raw, split_config(labels_per_class=3, seed=0))
    assert len(split.unlabelled_images) == 12 - 6 + 4
    assert (split.unlabelled_hidden_labels == UNKNOWN_LABEL).sum() == 4
    assert np.all(raw.train.images[raw.train.labels == 1] > 150)  # labels follow the folder names


def test_image_folder_errors_name_the_problem(tmp_path: Path):
    with pytest.raises(DataError, match="is not a folder"):
        acquire(
            data_config(name=IMAGE_FOLDER, image_folder={"path": str(tmp_path / "nope")}), tmp_path
        )
    _write_png(tmp_path / "one" / "a.png", 1)
    with pytest.raises(DataError, match="1 class folder"):
        acquire(
            data_config(name=IMAGE_FOLDER, image_folder={"path": str(tmp_path)}), tmp_path / "raw"
        )
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png is not a readable image"):
        acquire(
            data_config(name=IMAGE_FOLDER, image_folder={"path": str(tmp_path)}), tmp_path / "raw"
        )


def test_known_classes_are_relabelled_and_unknown_ones_kept_out_of_training(synthetic_raw):
    split = make_split(
        synthetic_raw,
        split_config(labels_per_class=4, seed=0, known_classes=(2, 0), unknown_classes=(1,)),
    )
    assert sorted(set(split.labelled.labels.tolist())) == [0, 1]  # class 2 -> 0, class 0 -> 1
    for images, truth in (
        (split.labelled.images, split.labelled.labels),
        (split.test.images, split.test.labels),
    ):
        original = np.array([(2, 0)[label] for label in truth])
        # each image is one of its original class
        for image, label in zip(images, original, strict=True):
            assert any(
                np.array_equal(image, other)
                for other in synthetic_raw.test.images[synthetic_raw.test.labels == label]
            ) or any(
                np.array_equal(image, other)
                for other in synthetic_raw.train.images[synthetic_raw.train.labels == label]
            )
    train_known = np.isin(synthetic_raw.train.labels, (0, 2)).sum()
    # unknown class: no training image
    assert len(split.labelled) + len(split.unlabelled_images) == train_known
    assert (
        set(split.test_unknown.labels.tolist()) == {1}
        and len(split.test_unknown) == (synthetic_raw.test.labels == 1).sum()
    )
    assert set(split.val_unknown.labels.tolist()) == {1}


def test_unknown_classes_need_known_ones_and_distinct_indices(synthetic_raw):
    with pytest.raises(SplitError, match="needs split.known_classes"):
        make_split(synthetic_raw, split_config(unknown_classes=(1,)))
    with pytest.raises(SplitError, match="distinct class indices"):
        make_split(synthetic_raw, split_config(known_classes=(0, 1), unknown_classes=(1,)))
    with pytest.raises(SplitError, match="distinct class indices"):
        make_split(synthetic_raw, split_config(known_classes=(0, 7)))


def test_test_subset_is_balanced_and_does_not_follow_the_labelled_draw(synthetic_raw):
    config = split_config(
        labels_per_class=4, known_classes=(0, 2), unknown_classes=(1,), test_images_per_class=5
    )
    split, other_draw = (
        make_split(synthetic_raw, config),
        make_split(synthetic_raw, dataclasses.replace(config, seed=1)),
    )
    assert np.bincount(split.test.labels).tolist() == [5, 5] and len(split.test_unknown) == 5
    # same images for every split.seed
    np.testing.assert_array_equal(split.test.images, other_draw.test.images)
    assert not np.array_equal(split.labelled.images, other_draw.labelled.images)
    assert all(
        any(np.array_equal(image, other) for other in synthetic_raw.test.images)
        for image in split.test.images
    )
    everything = make_split(synthetic_raw, split_config(labels_per_class=4))
    assert len(everything.test) == len(synthetic_raw.test)  # 0: the whole split
    with pytest.raises(ConfigError, match="split.test_images_per_class: -1 is out of range"):
        split_config(test_images_per_class=-1)


def test_validation_budget_follows_the_training_budget_by_default(synthetic_raw):
    split = make_split(synthetic_raw, split_config(labels_per_class=3, val_labels_per_class=-1))
    assert np.bincount(split.val.labels).tolist() == [3, 3, 3]
    assert all(
        any(np.array_equal(image, other) for other in synthetic_raw.val.images)
        for image in split.val.images
    )
    fixed = make_split(synthetic_raw, split_config(labels_per_class=3, val_labels_per_class=2))
    assert np.bincount(fixed.val.labels).tolist() == [2, 2, 2]
    whole = make_split(synthetic_raw, split_config(labels_per_class=3, val_labels_per_class=0))
    np.testing.assert_array_equal(whole.val.images, synthetic_raw.val.images)
    # a class with fewer val images than the budget gives all it has
    short = make_split(synthetic_raw, split_config(labels_per_class=3, val_labels_per_class=50))
    assert len(short.val) == len(synthetic_raw.val)
    with pytest.raises(ConfigError, match="split.val_labels_per_class: -2 is out of range"):
        split_config(val_labels_per_class=-2)


def test_validation_draw_is_new_for_each_labelled_draw_and_for_each_val_seed(synthetic_raw):
    config = split_config(labels_per_class=3, val_labels_per_class=3, seed=0, val_seed=0)
    first, again = make_split(synthetic_raw, config), make_split(synthetic_raw, config)
    np.testing.assert_array_equal(first.val.images, again.val.images)
    other_draw = make_split(synthetic_raw, dataclasses.replace(config, seed=1))
    other_val_seed = make_split(synthetic_raw, dataclasses.replace(config, val_seed=1))
    assert not np.array_equal(first.val.images, other_draw.val.images)
    assert not np.array_equal(first.val.images, other_val_seed.val.images)
    # val_seed redraws the validation images only
    np.testing.assert_array_equal(first.labelled.images, other_val_seed.labelled.images)
    # the validation draw does not depend on the training budget
    larger = make_split(synthetic_raw, dataclasses.replace(config, labels_per_class=5))
    np.testing.assert_array_equal(first.val.images, larger.val.images)


def test_a_class_short_of_validation_images_is_named_with_the_counts_used():
    info = DatasetInfo(
        "breastmnist", "binary-class", ("malignant", "benign"), 1, 28, 50, 0, {},
        val_labels_per_class=50,
    )  # fmt: skip
    labels = np.array([0] * 21 + [1] * 50)  # the official val split has 21 malignant images
    assert short_validation_note(info, labels) == (
        "note: the official val split has fewer than 50 images of malignant; all of them are "
        "used: 21 malignant, 50 benign labelled validation images"
    )
    assert short_validation_note(info, np.array([0] * 50 + [1] * 50)) is None
