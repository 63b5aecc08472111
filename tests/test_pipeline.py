"""End to end, on real data: `dvc repro` of a tiny config in a temporary copy of this repository,
a label-budget sweep through the DVC queue, the sweep table, and push/pull through a local remote.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from medssl.results.ledger import read_ledger

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "medssl test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "medssl test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def _environment(data_mirror: str) -> dict[str, str]:
    environment = dict(os.environ, **GIT_IDENTITY, DVC_NO_ANALYTICS="1")
    # Stage commands call `python`: make it this interpreter, with medssl importable.
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    if data_mirror:
        environment["MEDSSL_DATA_MIRROR"] = str(Path(data_mirror).resolve())
    return environment


def _run(command: list[str], cwd: Path, environment: dict[str, str], timeout: float = 900) -> str:
    completed = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert completed.returncode == 0, (
        f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return completed.stdout


def detail_of(repo: Path, method: str) -> dict:
    return json.loads((repo / "metrics" / "detail" / f"{method}.json").read_text())


def _copy_repository(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for relative in filter(None, listed):
        source = REPO_ROOT / relative
        if source.is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)


def _tiny_params(path: Path, enabled: list[str], labels_per_class: int) -> None:
    params = yaml.safe_load(path.read_text())
    params["split"]["labels_per_class"] = labels_per_class
    params["train"].update(seeds=[0, 1], validations=4, checkpoint_every=20, log_every=5)
    params["methods"]["enabled"] = enabled
    params["methods"]["supervised_cnn"].update(iterations=20)
    params["methods"]["resnet"].update(iterations=2, batch_size=4)
    params["methods"]["pca_svm"].update(n_components=10)
    params["features"].update(iterations=10, batch_size=8)
    for gan in ("ssgan", "plabgan"):
        params["methods"][gan].update(iterations=20, batch_size=8)
    params["methods"]["ssldec"].update(
        pretrain_epochs=2, max_rounds=2, width=0.125, max_relabel_epochs=2
    )
    params["methods"]["cgan_aug"].update(
        gan_iterations=10, classifier_iterations=10, batch_size=8, generated_per_class=20
    )
    params["methods"]["ucgan"].update(iterations=10, batch_size=6)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _digest(folder: Path) -> dict[str, str]:
    """MD5 of every DVC-tracked file under ``folder`` (DVC's own .gitignore files are git's
    business)."""
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".gitignore"
    }


def _wait_for_queue(repo: Path, environment: dict[str, str], timeout_s: float = 900) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = _run(["dvc", "queue", "status"], repo, environment)
        if not any(word in status for word in ("Queued", "Running")):
            return status
        time.sleep(3)
    pytest.fail(f"the DVC queue did not finish in {timeout_s} s:\n{status}")


def test_repro_sweep_and_remote_on_real_data(tmp_path: Path, data_mirror: str):
    repo = tmp_path / "repo"
    _copy_repository(repo)
    environment = _environment(data_mirror)
    every_method = [
        "supervised_cnn",
        "resnet",
        "pca_svm",
        "ssgan",
        "plabgan",
        "ssldec",
        "cgan_aug",
        "ucgan",
    ]
    _tiny_params(repo / "params.yaml", every_method, labels_per_class=4)
    _run(["git", "init", "-q"], repo, environment)
    _run(["git", "add", "-A"], repo, environment)
    _run(["git", "commit", "-qm", "tiny config"], repo, environment)

    # 1. The whole pipeline on real PneumoniaMNIST, through the benchmark that times `dvc repro -f`.
    _run(
        [
            sys.executable,
            "benchmarks/repro_time.py",
            "--quiet",
            "--out",
            str(tmp_path / "repro.json"),
        ],
        repo,
        environment,
    )
    timing = json.loads((tmp_path / "repro.json").read_text())
    timed = {row["stage"]: row for row in timing["stages"]}
    assert {f"train@{method}" for method in every_method} | {"download", "split", "report"} <= set(
        timed
    )
    assert all(row["how"] == "ran" and row["seconds"] > 0 for row in timing["stages"])
    assert sum(row["seconds"] for row in timing["stages"]) <= timing["total_seconds"]
    assert all(
        0 < timed[f"train@{method}"]["fit_seconds"] < timed[f"train@{method}"]["seconds"]
        for method in every_method
    )
    for method in every_method:
        headline = json.loads((repo / "metrics" / "methods" / f"{method}.json").read_text())
        keys = ("std", "auc", "auc_std", "acc", "acc_std", "n")
        assert set(headline) == {method} | {f"{method}/{key}" for key in keys}
        assert headline[f"{method}/n"] == 2
        assert headline[method] == detail_of(repo, method)["test"]["balanced_accuracy"]["mean"]
        detail = json.loads((repo / "metrics" / "detail" / f"{method}.json").read_text())
        assert detail["dataset"] == "pneumoniamnist" and detail["labels_per_class"] == 4
        assert detail["seeds"] == [0, 1] and 0.0 <= detail["test"]["auc"]["mean"] <= 1.0
        assert headline[f"{method}/auc"] == detail["test"]["auc"]["mean"]
        for plot in ("confusion.csv", "roc.csv", "figures/confusion.png", "figures/roc.png"):
            assert (repo / "plots" / "eval" / method / plot).stat().st_size > 0
    assert "| plabgan |" in (repo / "reports" / "summary.md").read_text()
    cluster = json.loads((repo / "metrics" / "cluster.json").read_text())
    assert 0.0 <= cluster["pseudo_label_accuracy"] <= 1.0
    for plot in ("embedding.png", "distance_to_centre.png"):
        assert (repo / "plots" / "cluster" / plot).stat().st_size > 0
    for gan in ("ssgan", "plabgan", "cgan_aug", "ucgan"):
        assert list((repo / "plots" / "train" / gan).rglob("samples*.png")), (
            f"no sample grid for {gan}"
        )
    # the generator's quality, measured in training, reaches the evaluation detail, per seed too
    for gan in ("cgan_aug", "ucgan"):
        detail = json.loads((repo / "metrics" / "detail" / f"{gan}.json").read_text())
        assert detail["generator_fd_resnet20"]["mean"] > 0
        assert detail["per_seed"]["seed_0"]["extras"]["generator_fd_resnet20"] > 0
    assert list((repo / "plots" / "train" / "ssldec").rglob("embedding_seed*.png")), (
        "no SSLDEC embedding figure"
    )
    assert "up to date" in _run(["dvc", "status"], repo, environment)
    assert (repo / "plots" / "split" / "contact_sheet.png").stat().st_size > 0
    # the plots page carries vega inline (.dvc/config's template): it renders without a network
    _run(["dvc", "plots", "show", "-o", str(tmp_path / "plots_page")], repo, environment)
    plots_page = (tmp_path / "plots_page" / "index.html").read_text(encoding="utf-8")
    assert plots_page.count("vegaEmbed('#") >= 3 * len(every_method)  # training, confusion, ROC
    assert "<script src=" not in plots_page

    # 2. A label-budget sweep through the queue, then the ledger and the results page from it.
    _tiny_params(repo / "params.yaml", ["supervised_cnn", "pca_svm"], labels_per_class=4)
    # A disabled method's metrics and inputs are no stage's outputs any more (DVC's checkout drops
    # the detail from the report's metrics/detail dependency later, and a pull would not bring the
    # inputs back): remove them, as a user would with `git rm` and `rm -r`.
    for disabled in ("resnet", "ssgan", "plabgan", "ssldec", "cgan_aug", "ucgan"):
        for kind in ("methods", "detail"):
            (repo / "metrics" / kind / f"{disabled}.json").unlink()
        shutil.rmtree(repo / "data" / "inputs" / disabled)
    _run(["dvc", "repro"], repo, environment)  # only the report changes: trainings are cached
    _run(["git", "add", "-A"], repo, environment)
    _run(["git", "commit", "-qm", "baseline results"], repo, environment)
    _run(["dvc", "exp", "run", "--queue", "-S", "split.labels_per_class=3,5"], repo, environment)
    _run(["dvc", "queue", "start", "-j", "1"], repo, environment)
    status = _wait_for_queue(repo, environment)
    assert status.count("Success") == 2, status
    ledger = tmp_path / "ledger.csv"
    results = [sys.executable, "-m", "medssl.results.cli", "--ledger", str(ledger)]
    _run([*results, "append"], repo, environment)
    rows = read_ledger(ledger)
    runs = Counter((row.method, row.labels_per_class) for row in rows)
    assert runs == {
        (method, budget): 2 for method in ("supervised_cnn", "pca_svm") for budget in (3, 4, 5)
    }
    assert "0 runs added" in _run([*results, "append"], repo, environment)  # each run once
    # after a later commit, HEAD's `dvc exp show` no longer lists the queue's experiments; their
    # baseline commit does
    baseline = _run(["git", "rev-parse", "HEAD"], repo, environment).strip()
    _run(["git", "commit", "--allow-empty", "-qm", "a later commit"], repo, environment)
    later = [sys.executable, "-m", "medssl.results.cli", "--ledger", str(tmp_path / "later.csv")]
    _run([*later, "append", "--rev", baseline], repo, environment)
    assert (
        Counter((row.method, row.labels_per_class) for row in read_ledger(tmp_path / "later.csv"))
        == runs
    )
    page = tmp_path / "results.md"
    _run(
        [*results, "render", "--page", str(page), "--figures", str(tmp_path / "figures")],
        repo,
        environment,
    )
    # as many labelled validation images per class as training ones, at every budget of the sweep
    assert {(row.labels_per_class, row.val_labels_per_class) for row in rows} == {
        (3, 3),
        (4, 4),
        (5, 5),
    }
    text = page.read_text()
    assert "| method | 3 / class | 4 / class | 5 / class |" in text
    assert "| pca_svm | supervised_cnn | 1 |" in text  # the paired difference, one draw
    assert (tmp_path / "figures" / "pneumoniamnist_28px_val_budget.png").stat().st_size > 0

    # 3. Share through a DVC remote: push, lose every local copy, pull them back byte for byte.
    _run(["dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote")], repo, environment)
    _run(["dvc", "push"], repo, environment)
    tracked = ("data", "models/supervised_cnn", "models/pca_svm")
    before = {folder: _digest(repo / folder) for folder in tracked}
    for folder in ("data", "models", ".dvc/cache"):
        shutil.rmtree(repo / folder)
    _run(["dvc", "pull"], repo, environment)
    assert {folder: _digest(repo / folder) for folder in tracked} == before
    assert "up to date" in _run(["dvc", "status"], repo, environment)
