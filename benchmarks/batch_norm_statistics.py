"""A GAN classifier's batch-norm statistics: as training leaves them, or recomputed from real ones.

The discriminators of ssgan and plabgan see batches that are a third (their update) to a half (the
generator's feature-matching pass) generated images, and their running statistics, averaged into the
evaluated EMA model, are partly those of fakes. The pipeline recomputes them from real training
images before every validation (``medssl.methods.loop``). This script measures what that changes.

For one experiment's workspace (its ``params.yaml``, ``data/prepared`` and ``data/inputs/<method>``)
it trains each method once per seed with the statistics left as trained, keeps the evaluated network
at every validation point, and then chooses the checkpoint twice, by the same validation rule:
with the statistics as trained (the old rule), and after recomputing them (the pipeline's rule).
One training serves both, because the recomputation changes nothing that training reads: it resets
the statistics outright, so the model it gives depends on the EMA weights at that step only. The
two kept models are judged on a development split (``--dev-per-class`` pool images per class with
their hidden labels, taken out of the pool this training sees; ``pipeline/development.py``): the
test split is not read.

    python benchmarks/batch_norm_statistics.py --workspace EXP_DIR --methods ssgan plabgan \
        --seeds 0 --dev-per-class 250 --out batch_norm.json
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from medssl.core.io import write_json
from medssl.core.metrics import macro_auc, selection_key, validation_metrics
from medssl.data.prepared import TrainData
from medssl.methods.loop import TorchMethod, batch_norm_images, recompute_batch_norm_statistics
from medssl.methods.registry import create_method, method_config
from medssl.pipeline.development import development_split, hidden_pool_labels
from medssl.pipeline.runs import run_context
from medssl.pipeline.workspace import open_workspace

VARIANTS = ("as_trained", "real_images")


def train_recording_states(
    method: TorchMethod, data: TrainData, run: Any
) -> list[dict[str, torch.Tensor]]:
    """Fit with the statistics as training leaves them; the evaluated network's state at every
    validation point."""
    method.batch_norm_from_real_images = False
    states: list[dict[str, torch.Tensor]] = []
    predict = method.predict_proba

    def recording(images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        states.append(copy.deepcopy(method.classifier().state_dict()))
        return predict(images, batch_size)

    method.predict_proba = recording  # the loop validates through it
    try:
        method.fit(data, run)
    finally:
        del method.predict_proba
    return states


def choose_and_judge(
    method: TorchMethod,
    states: list[dict[str, torch.Tensor]],
    data: TrainData,
    development: Any,
    metric: str,
    batch_size: int,
) -> dict[str, dict[str, float]]:
    """For each variant: the point chosen on validation, its validation key, and the development
    split's balanced accuracy and AUC."""
    real = batch_norm_images(data, method.device)
    best: dict[str, tuple[float, int, dict[str, torch.Tensor]]] = {}
    for index, state in enumerate(states):
        for variant in VARIANTS:
            method.classifier().load_state_dict(state)
            if variant == "real_images":
                recompute_batch_norm_statistics(method.classifier(), real, batch_size)
            scores = validation_metrics(data.val_y, method.predict_proba(data.val_x, batch_size))
            score = selection_key(metric, scores)
            if variant not in best or score > best[variant][0]:  # ties keep the earlier point
                best[variant] = (score, index, copy.deepcopy(method.classifier().state_dict()))
    results = {}
    for variant, (score, index, state) in best.items():
        method.classifier().load_state_dict(state)
        probabilities = method.predict_proba(development.images, batch_size)
        results[variant] = {
            "validation_point": index + 1,
            "val_selection_key": list(score),
            "dev_balanced_accuracy": float(
                balanced_accuracy_score(development.labels, probabilities.argmax(axis=1))
            ),
            "dev_auc": macro_auc(development.labels, probabilities),
        }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, required=True, help="an experiment's checkout")
    parser.add_argument("--methods", nargs="+", default=["ssgan", "plabgan"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--dev-per-class", type=int, default=250)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    workspace = open_workspace(args.workspace)
    device, hidden = workspace.device, hidden_pool_labels(args.workspace)
    runs = []
    for name in args.methods:
        values = workspace.method_values(name)
        data, development = development_split(
            workspace.train_data(name), hidden, per_class=args.dev_per_class
        )
        train_config = workspace.method_train_config(name)
        for seed in args.seeds:
            method = create_method(name, values, data.info)
            run = dataclasses.replace(
                run_context(
                    name,
                    method_config(name, values),
                    train_config,
                    data=data,
                    seed=seed,
                    device=device,
                ),
                checkpoint_path=None,
            )
            states = train_recording_states(method, data, run)
            result = {
                "method": name,
                "seed": seed,
                "split_seed": data.info.split_seed,
                "labels_per_class": data.info.labels_per_class,
                "val_images": len(data.val_y),
                "dev_per_class": args.dev_per_class,
                **choose_and_judge(
                    method,
                    states,
                    data,
                    development,
                    train_config.selection_metric,
                    train_config.eval_batch_size,
                ),
            }
            runs.append(result)
            print(json.dumps(result))
    write_json(args.out, {"workspace": str(args.workspace), "runs": runs})


if __name__ == "__main__":
    main()
