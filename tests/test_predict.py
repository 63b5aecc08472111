"""`medssl predict` on real PneumoniaMNIST test images exported as PNG, against the evaluate stage's
own probabilities for the same images."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import config_from_params, data_config, method_values, split_config
from helpers.dicom_files import write_grey_dicom
from medssl.command import main
from medssl.core.errors import DataError
from medssl.data.prepared import TEST_FILE, load_dataset_info, load_labelled_set
from medssl.data.sources import acquire, load_raw
from medssl.data.split import make_split, write_split
from medssl.methods.registry import resolve_method
from medssl.pipeline.predict import MEAN_ROW, load_seeds, predict
from medssl.pipeline.runs import TrainConfig
from medssl.pipeline.train import train_method

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny supervised_cnn, two seeds, on the real PneumoniaMNIST split (10 labels per class)."""
    root = tmp_path_factory.mktemp("predict")
    config = data_config(
        name="pneumoniamnist", image_size=28, mirror=os.environ.get("MEDSSL_DATA_MIRROR", "")
    )
    acquire(config, root / "raw")
    raw = load_raw(config, root / "raw")
    split = split_config(labels_per_class=10)
    write_split(
        make_split(raw, split),
        raw,
        split,
        prepared_dir=root / "prepared",
        hidden_dir=root / "hidden",
    )
    train = config_from_params(
        TrainConfig, "train", seeds=[0, 1], validations=4, checkpoint_dir=str(root / "checkpoints")
    )
    (root / "inputs").mkdir()
    train_method(
        resolve_method("supervised_cnn", method_values("supervised_cnn", iterations=20)),
        train_config=train,
        prepared_dir=root / "prepared",
        inputs_dir=root / "inputs",
        models_dir=root / "models",
        plots_dir=root / "plots",
    )
    return root / "models", root / "prepared"


def test_predictions_on_exported_pngs_agree_with_the_evaluate_stage(trained, tmp_path: Path):
    models, prepared = trained
    test = load_labelled_set(prepared / TEST_FILE)
    for index in range(10):
        Image.fromarray(test.images[index, 0]).save(tmp_path / f"test_{index:02d}.png")
    out = tmp_path / "predictions.csv"
    main(
        [
            "predict",
            "--models",
            str(models),
            "--prepared",
            str(prepared),
            "--images",
            str(tmp_path),
            "--out",
            str(out),
        ]
    )
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 * 3  # seeds 0, 1 and the mean
    info = load_dataset_info(prepared)
    columns = [f"p_{name}" for name in info.label_names]
    for seed, method in load_seeds(models, info, "cpu").items():
        expected = method.predict_proba(test.images[:10])  # what the evaluate stage computes
        got = np.array([[float(r[c]) for c in columns] for r in rows if r["seed"] == str(seed)])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    means = np.array([[float(r[c]) for c in columns] for r in rows if r["seed"] == MEAN_ROW])
    by_seed = [
        np.array([[float(r[c]) for c in columns] for r in rows if r["seed"] == str(s)])
        for s in (0, 1)
    ]
    np.testing.assert_allclose(means, np.mean(by_seed, axis=0), atol=1e-9)


def test_images_the_model_cannot_take_are_refused_in_one_line(trained, tmp_path: Path):
    models, prepared = trained
    colour = np.zeros((28, 28, 3), dtype=np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "colour.png")
    with pytest.raises(
        DataError, match="colour.png is a colour image but the model was trained on grey"
    ):
        predict(models, prepared, [tmp_path / "colour.png"], out=tmp_path / "out.csv")
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(tmp_path / "large.png")
    with pytest.raises(DataError, match=r"large.png is 64 x 64 px but the model takes 28 x 28"):
        predict(models, prepared, [tmp_path / "large.png"], out=tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_grey_saved_as_rgb_and_dicom_give_the_grey_pngs_predictions(trained, tmp_path: Path):
    """Grey by content: an RGB PNG with R = G = B, and a DICOM whose window maps its stored
    values 0..255 onto themselves, are the same image as the grey PNG."""
    models, prepared = trained
    test = load_labelled_set(prepared / TEST_FILE)
    for index in range(4):
        grey = test.images[index, 0]
        Image.fromarray(grey).save(tmp_path / f"{index}_grey.png")
        Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(tmp_path / f"{index}_rgb.png")
        write_grey_dicom(tmp_path / f"{index}_dicom.dcm", grey, bits_stored=8, window=(128, 256))
    rows = predict(models, prepared, [tmp_path], out=tmp_path / "out.csv")
    mean = {Path(r["image"]).stem: r["p_" + load_dataset_info(prepared).label_names[1]]
            for r in rows if r["seed"] == MEAN_ROW}  # fmt: skip
    assert len(mean) == 12
    for index in range(4):
        assert mean[f"{index}_rgb"] == mean[f"{index}_grey"] == mean[f"{index}_dicom"]
