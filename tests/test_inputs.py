"""The inputs stage: a method's folder holds the pipeline products it reads, and nothing else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import params_section
from medssl.core.errors import DataError
from medssl.core.io import read_json, torch_save
from medssl.data.prepared import write_pseudo_labels
from medssl.methods.registry import ResolvedMethod, resolve_method
from medssl.models.resnet20 import ResNet20
from medssl.pipeline.inputs import READS_FILE, collect_inputs
from medssl.pipeline.train import with_pipeline_inputs


@pytest.fixture
def products(synthetic_train_data, tmp_path: Path) -> tuple[Path, Path]:
    pseudo_labels, feature_network = tmp_path / "pseudo_labels.npz", tmp_path / "feature_network.pt"
    write_pseudo_labels(pseudo_labels, synthetic_train_data.pseudo_labels)
    torch_save(feature_network, synthetic_train_data.feature_network.state_dict())
    return pseudo_labels, feature_network


@pytest.mark.parametrize(
    "method, reads",
    [("ssgan", []), ("plabgan", ["pseudo_labels.npz"]), ("ucgan", ["feature_network.pt"])],
)
def test_a_method_gets_a_copy_of_what_it_reads_only(
    method: str, reads: list[str], products, tmp_path: Path
):
    out = tmp_path / "inputs" / method
    pseudo_labels, feature_network = products
    assert (
        collect_inputs(
            method, pseudo_labels=pseudo_labels, feature_network=feature_network, out_dir=out
        )
        == reads
    )
    assert sorted(path.name for path in out.iterdir()) == sorted([READS_FILE, *reads])
    assert read_json(out / READS_FILE) == {"method": method, "reads": reads}
    for name in reads:
        source = {"pseudo_labels.npz": products[0], "feature_network.pt": products[1]}[name]
        assert (out / name).read_bytes() == source.read_bytes()


def _method(name: str) -> ResolvedMethod:
    return resolve_method(name, params_section(f"methods.{name}"))


def test_training_reads_the_copies(synthetic_train_data, products, tmp_path: Path):
    bare = dataclasses.replace(synthetic_train_data, pseudo_labels=None, feature_network=None)
    for method in ("plabgan", "ucgan"):
        collect_inputs(
            method,
            pseudo_labels=products[0],
            feature_network=products[1],
            out_dir=tmp_path / method,
        )
    plabgan = with_pipeline_inputs(
        _method("plabgan"), bare, inputs_dir=tmp_path / "plabgan", device=torch.device("cpu")
    )
    np.testing.assert_array_equal(
        plabgan.pseudo_labels.labels, synthetic_train_data.pseudo_labels.labels
    )
    assert plabgan.feature_network is None
    ucgan = with_pipeline_inputs(
        _method("ucgan"), bare, inputs_dir=tmp_path / "ucgan", device=torch.device("cpu")
    )
    assert ucgan.pseudo_labels is None and isinstance(ucgan.feature_network, ResNet20)
    for key, tensor in synthetic_train_data.feature_network.state_dict().items():
        torch.testing.assert_close(ucgan.feature_network.state_dict()[key], tensor, rtol=0, atol=0)
    assert not any(parameter.requires_grad for parameter in ucgan.feature_network.parameters())


def test_a_missing_product_names_the_stage_that_makes_it(synthetic_train_data, tmp_path: Path):
    with pytest.raises(DataError, match="run the cluster stage first"):
        collect_inputs(
            "plabgan",
            pseudo_labels=tmp_path / "none.npz",
            feature_network=tmp_path / "none.pt",
            out_dir=tmp_path / "out",
        )
    with pytest.raises(DataError, match=r"run the inputs@ucgan stage first"):
        with_pipeline_inputs(
            _method("ucgan"),
            synthetic_train_data,
            inputs_dir=tmp_path / "empty",
            device=torch.device("cpu"),
        )
