"""The inputs stage: a method's folder holds the pipeline products it reads, and nothing else."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, params_section
from medssl.core.errors import DataError
from medssl.core.io import read_json, torch_save
from medssl.data.prepared import write_pseudo_labels
from medssl.methods.registry import ResolvedMethod, resolve_method
from medssl.models.resnet20 import ResNet20
from medssl.pipeline.code_manifest import CODE_FILE, code_manifest
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
            method,
            pseudo_labels=pseudo_labels,
            feature_network=feature_network,
            out_dir=out,
            repo_root=REPO_ROOT,
        )
        == reads
    )
    assert sorted(path.name for path in out.iterdir()) == sorted([READS_FILE, CODE_FILE, *reads])
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
            repo_root=REPO_ROOT,
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
            repo_root=REPO_ROOT,
        )
    with pytest.raises(DataError, match=r"run the inputs@ucgan stage first"):
        with_pipeline_inputs(
            _method("ucgan"),
            synthetic_train_data,
            inputs_dir=tmp_path / "empty",
            device=torch.device("cpu"),
        )


def test_each_method_depends_on_the_shared_code_it_runs_and_no_other():
    shared = "src/medssl/methods/shared/"
    runs = {
        method: {path for path in code_manifest(method, REPO_ROOT) if path.startswith(shared)}
        for method in ("pca_svm", "ssldec", "plabgan", "fixmatch")
    }
    assert runs["pca_svm"] == runs["ssldec"] == set()  # neither runs any shared module
    assert runs["plabgan"] and runs["plabgan"] != runs["fixmatch"]
    assert "src/medssl/methods/plabgan/method.py" in code_manifest("plabgan", REPO_ROOT)
    assert not any("methods/ssgan/" in path for path in code_manifest("fixmatch", REPO_ROOT))


def test_the_manifest_covers_every_medssl_module_a_training_process_loads(tmp_path: Path):
    """An independent check of the import reading: what ``python stages/train.py`` loads for a
    method (``sys.modules`` after the registry has imported it) lies inside its manifest."""
    listing = tmp_path / "loaded.txt"
    script = (
        "import pathlib, runpy, sys; sys.argv = ['train.py', '--help']\n"
        "from medssl.methods.registry import method_class; method_class('plabgan')\n"
        "try:\n    runpy.run_path('stages/train.py', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"pathlib.Path({str(listing)!r}).write_text('\\n'.join(m.__file__ for n, m in"
        " list(sys.modules.items()) if n.startswith('medssl') and getattr(m, '__file__', None)))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    loaded = listing.read_text().split()
    manifest = code_manifest("plabgan", REPO_ROOT)
    outside = [
        path
        for path in (
            Path(line).resolve().relative_to(REPO_ROOT.resolve()).as_posix() for line in loaded
        )
        if path not in manifest
    ]
    assert loaded and not outside, outside
