"""Ledger rows from experiments: ``dvc exp show --json`` and git give one row per training run.

A method's per-seed numbers come from ``metrics/detail/<method>.json`` in the experiment's own
commit. A finished experiment ran at its baseline commit; a commit's metrics are the run of the
commit that last changed them. Older exports, whose metrics carried the per-seed numbers themselves
(``per_seed``), are read too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medssl.core.errors import UnknownDatasetError
from medssl.data.catalog import dataset_spec
from medssl.results.ledger import LedgerRow, loop_settings, params_hash, setup_hash
from medssl.results.provenance import git_output

METHOD_METRICS_PREFIX = "metrics/methods/"
DETAIL_PATH = "metrics/detail/{method}.json"


class GitHistory:
    """What the ledger asks git: a file at a revision, and the commit that last changed a file."""

    def show(self, revision: str, path: str) -> str | None:
        """A file's text at a git revision (an experiment's commit), or None where it is absent."""
        return git_output("show", f"{revision}:{path}")

    def last_change(self, revision: str, path: str) -> tuple[str, str] | None:
        """(commit, its time) of the last change to ``path`` up to ``revision``: where a committed
        metrics file came from, which may be a commit before the one that carries it."""
        found = git_output("log", "-1", "--format=%H %cI", revision, "--", path)
        if not found or not found.strip():
            return None
        commit, time = found.split()
        return commit, time[:19]


def rows_from_exp_show(
    exp_show: Sequence[Mapping[str, Any]], git: GitHistory | None = None
) -> list[LedgerRow]:
    """Every training run of the finished experiments and commits in a ``dvc exp show --json``
    (the uncommitted workspace is left out: nothing could rebuild it). A finished experiment ran at
    its baseline commit; a commit's metrics are the run of the commit that last changed them (a
    metrics file carried unchanged through later commits is one run, not one per commit)."""
    git = git or GitHistory()
    rows: list[LedgerRow] = []
    for revision, commit, experiment in _finished_revisions(exp_show):
        rows.extend(_revision_rows(revision, commit, experiment, git))
    return rows


def _finished_revisions(
    exp_show: Sequence[Mapping[str, Any]],
) -> Iterator[tuple[Mapping[str, Any], str | None, str]]:
    """(revision, the commit whose code ran it or None for a commit's own metrics, experiment
    name) of each finished experiment, then of each commit."""
    commits = [entry for entry in exp_show if entry.get("rev") != "workspace"]
    for entry in commits:
        for experiment in entry.get("experiments") or []:
            # A queued, running or failed experiment shows its baseline's metrics: only finished
            # ones.
            if (experiment.get("executor") or {}).get("state", "success") != "success":
                continue
            for revision in experiment.get("revs") or []:
                yield revision, entry["rev"], revision.get("name") or experiment.get("name") or ""
    for entry in commits:
        yield entry, None, entry.get("name") or ""


def _revision_rows(
    revision: Mapping[str, Any], commit: str | None, experiment: str, git: GitHistory
) -> list[LedgerRow]:
    data = revision.get("data") or {}
    params = (((data.get("params") or {}).get("params.yaml") or {}).get("data")) or {}
    rows = []
    for path, payload in sorted((data.get("metrics") or {}).items()):
        if not path.startswith(METHOD_METRICS_PREFIX):
            continue
        method = Path(path).stem
        metrics = (payload or {}).get("data") or {}
        detail_path = path if "per_seed" in metrics else DETAIL_PATH.format(method=method)
        if "per_seed" in metrics:  # an older export: per-seed numbers in the metrics themselves
            detail = metrics
        else:
            text = git.show(revision["rev"], detail_path)
            if text is None:
                continue
            detail = json.loads(text)
        if commit is None:  # a commit's metrics: the run of the commit that last changed them
            origin = git.last_change(revision["rev"], detail_path)
            if origin is None:
                continue
            run_commit, recorded = origin
            # and the params of that run, not those of the commit that carries its metrics
            params = _params_at(git, run_commit) or params
        else:
            run_commit, recorded = commit, str(data.get("timestamp") or "")
        origin = RunOrigin(run_commit[:10], experiment, recorded, params, method)
        rows.extend(rows_from_detail(detail, origin))
    return rows


def _params_at(git: GitHistory, commit: str) -> Mapping[str, Any] | None:
    text = git.show(commit, "params.yaml")
    try:
        params = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None
    return params if isinstance(params, Mapping) and "methods" in params else None


@dataclass(frozen=True)
class RunOrigin:
    """Where an experiment's runs come from: the commit whose code ran, the experiment, when, and
    its params (not methods.base.RunContext, which is what a training run is given)."""

    commit: str
    experiment: str
    recorded: str
    params: Mapping[str, Any]
    method: str


def rows_from_detail(detail: Mapping[str, Any], origin: RunOrigin) -> list[LedgerRow]:
    """One row per training seed of an evaluate stage's detail file (or an older metrics file)."""
    method_params = ((origin.params.get("methods") or {}).get(origin.method)) or detail.get(
        "config", {}
    )
    open_set = open_set_label(origin.params, detail["dataset"])
    rows = []
    for seed_key, seed in sorted(detail["per_seed"].items(), key=lambda item: _seed(item[0])):
        extras = seed.get("extras")
        if extras is None:  # an older export: the experiment's mean ± std, not per seed
            extras = dict(detail.get("extras") or {})
            for key in ("generator_fd_resnet20",):
                if key in detail:
                    extras[key] = detail[key]
        rows.append(
            LedgerRow(
                commit=origin.commit,
                experiment=origin.experiment,
                recorded=origin.recorded,
                dataset=detail["dataset"],
                image_size=int(detail["image_size"]),
                open_set=open_set,
                labels_per_class=int(detail["labels_per_class"]),
                split_seed=int(detail["split_seed"]),
                val_labels_per_class=int(detail.get("val_labels_per_class", 0)),
                training_seed=_seed(seed_key),
                method=origin.method,
                params_hash=params_hash(method_params),
                setup_hash=setup_hash(origin.params),
                test_accuracy=float(seed["test_accuracy"]),
                test_balanced_accuracy=float(seed["test_balanced_accuracy"]),
                test_auc=float(seed["test_auc"]),
                val_accuracy=_optional(seed.get("val_accuracy")),
                val_balanced_accuracy=_optional(seed.get("val_balanced_accuracy")),
                val_auc=_optional(seed.get("val_auc")),
                train_seconds=_optional(seed.get("train_seconds")),
                extras=json.dumps(extras, sort_keys=True),
                params=json.dumps(method_params, sort_keys=True),
                loop=json.dumps(loop_settings(origin.params), sort_keys=True),
                val_class_counts="/".join(str(c) for c in detail.get("val_class_counts", [])),
            )
        )
    return rows


def _seed(key: str) -> int:
    return int(str(key).removeprefix("seed_"))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def open_set_label(params: Mapping[str, Any], dataset: str) -> str:
    """ "known 8, 3; unknown 9" for an open-set split (class names from the catalogue), else ""."""
    split = params.get("split") or {}
    known, unknown = (
        list(split.get("known_classes") or []),
        list(split.get("unknown_classes") or []),
    )
    if not known:
        return ""
    label = "known " + ", ".join(_class_names(dataset, known))
    if unknown:
        label += "; unknown " + ", ".join(_class_names(dataset, unknown))
    return label


def _class_names(dataset: str, classes: Sequence[int]) -> tuple[str, ...]:
    try:
        names = dataset_spec(dataset).label_names
    except UnknownDatasetError:  # a local source: its class names are not in the catalogue
        return tuple(str(c) for c in classes)
    return tuple(names[c] if 0 <= c < len(names) else str(c) for c in classes)
