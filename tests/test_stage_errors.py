"""A stage that cannot do its work says so in one line and writes nothing: bad numbers and names
are refused when the params load, before any data is read; a missing input names the stage that
makes it; an output folder that cannot be written is found before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, load_script


def _stage(name: str):
    return load_script(f"stages/{name}.py")


def _params(tmp_path: Path, section: str, **values) -> Path:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    node = params
    for part in section.split("."):
        node = node[part]
    node.update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _one_line_failure(capsys, stage: str, argv: list[str]) -> str:
    from medssl.core.cli import run_stage

    with pytest.raises(SystemExit) as exit_info:
        run_stage(_stage(stage).main, argv)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr.strip()


def _train_argv(params: Path, tmp_path: Path, models: Path | None = None) -> list[str]:
    return [
        "--params", str(params), "--method", "supervised_cnn",
        "--prepared", str(tmp_path / "prepared"), "--inputs", str(tmp_path / "inputs"),
        "--models", str(models or tmp_path / "models"), "--plots", str(tmp_path / "plots"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "section, values, message",
    [
        ("methods.supervised_cnn", {"batch_size": 0}, "methods.supervised_cnn.batch_size: 0 is"),
        ("methods.supervised_cnn", {"iterations": -5}, "methods.supervised_cnn.iterations: -5 "),
        ("train", {"seeds": []}, "train.seeds: empty"),
        ("train", {"checkpoint_every": 0}, "train.checkpoint_every: 0 is out of range"),
        ("train", {"selection_metric": "acc"}, "train.selection_metric: 'acc' is not known"),
        ("train", {"autocast": "fp16"}, "train.autocast: 'fp16' is not known"),
        (
            "methods.supervised_cnn",
            {"autocast": "fp16"},
            "methods.supervised_cnn.autocast: 'fp16' is not known; allowed: none, bf16",
        ),
        ("train", {"device": "cuda:99"}, "train.device is 'cuda:99' but"),
    ],
)
def test_bad_train_params_fail_in_one_line_before_anything_is_written(
    capsys, tmp_path: Path, section: str, values: dict, message: str
):
    params = _params(tmp_path, section, **values)
    error = _one_line_failure(capsys, "train", _train_argv(params, tmp_path))
    assert message in error
    assert not (tmp_path / "models").exists() and not (tmp_path / "plots").exists()


def test_a_precision_for_a_method_off_the_step_loop_is_refused(capsys, tmp_path: Path):
    params = _params(tmp_path, "methods.pca_svm", autocast="bf16")
    argv = _train_argv(params, tmp_path)
    argv[argv.index("supervised_cnn")] = "pca_svm"
    error = _one_line_failure(capsys, "train", argv)
    assert "methods.pca_svm.autocast: pca_svm does not train on the step loop" in error
    assert not (tmp_path / "models").exists()


def test_broken_yaml_fails_in_one_line_with_its_position(capsys, tmp_path: Path):
    params = tmp_path / "params.yaml"
    params.write_text((REPO_ROOT / "params.yaml").read_text().replace("seeds: [", "seeds: [[", 1))
    error = _one_line_failure(capsys, "train", _train_argv(params, tmp_path))
    assert "params.yaml" in error and "line" in error


def test_an_output_folder_that_cannot_be_made_fails_before_training(capsys, tmp_path: Path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    params = _params(tmp_path, "train")
    error = _one_line_failure(capsys, "train", _train_argv(params, tmp_path, blocker / "models"))
    assert f"{blocker / 'models'}: cannot write there" in error
    # the failure came before the data were read: the prepared folder does not even exist
    assert not (tmp_path / "prepared").exists()


def test_a_missing_input_names_the_stage_that_makes_it(capsys, tmp_path: Path):
    argv = [
        "--method", "ssgan", "--models", str(tmp_path / "models"),
        "--prepared", str(tmp_path / "prepared"),
        "--metrics", str(tmp_path / "m.json"), "--detail", str(tmp_path / "d.json"),
        "--plots", str(tmp_path / "plots"),
    ]  # fmt: skip
    error = _one_line_failure(capsys, "evaluate", argv)
    assert error.endswith(
        "manifest.json is missing; run the train@ssgan stage first (dvc repro train@ssgan)"
    )
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "d.json").exists()
