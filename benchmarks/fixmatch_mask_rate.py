"""FixMatch's pseudo-labels with and without dropout noise, on the same weights and batches.

FixMatch labels an unlabelled image by the model's prediction on its weak view where the confidence
reaches the threshold (0.95). The paper's WRN has no dropout; supervised_cnn's network, which
fixmatch uses here, has dropout 0.5, and training computes the pseudo-labels in the same forward
pass as the loss, dropout active. This trains fixmatch (params.yaml's settings, training seed 0) on
one labelled draw and, at a few steps, runs that forward pass over fixed unlabelled batches twice:
as training does, and with the dropout layers switched off (batch norm as in training). It reports
the share of images whose pseudo-label passes the threshold (the mask rate) and, for diagnosis
only, the share of those pseudo-labels that are right (the pool's hidden labels, which training
never sees).

    OMP_NUM_THREADS=1 python benchmarks/fixmatch_mask_rate.py --dataset pneumoniamnist \
        --steps 300 600 900 --out reports/protocol/fixmatch_mask_rate.json
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import torch
from equal_footing import prepared_split
from torch import nn

from medssl.core.config import build_config, load_params, section
from medssl.core.io import write_json
from medssl.data.prepared import load_hidden_unlabelled_labels, load_train_data
from medssl.methods.loop import images_to_float
from medssl.methods.registry import resolve_method
from medssl.pipeline.runs import TrainConfig, run_context

BATCHES, BATCH_SIZE = 8, 112  # the unlabelled images of 8 training steps (mu * B = 7 * 16)


def pseudo_labels(method, images: torch.Tensor, dropout: bool) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, label) of each weak view, as a training step computes them."""
    student = method.networks["student"]
    student.train()
    for module in student.modules():
        if isinstance(module, nn.Dropout):
            module.train(dropout)
    torch.manual_seed(0)  # the same weak views and dropout masks for every call
    with torch.no_grad():
        logits = student(method.weak(images))
    confidence, label = torch.softmax(logits.float(), dim=1).max(dim=1)
    return confidence.numpy(), label.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--dataset", default="pneumoniamnist")
    parser.add_argument("--labels", type=int, default=10)
    parser.add_argument("--draw", type=int, default=0)
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 600, 900])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    train = build_config(TrainConfig, section(params, "train"), "train")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        prepared = prepared_split(params, args.dataset, args.labels, args.draw, Path(folder))
        data = load_train_data(prepared)
        hidden = load_hidden_unlabelled_labels(Path(folder) / "h")
        pick = np.random.default_rng(0).choice(len(data.unlabelled_x), BATCHES * BATCH_SIZE, False)
        images = images_to_float(torch.from_numpy(data.unlabelled_x[pick]))
        for steps in args.steps:
            values = dict(section(params, "methods.fixmatch"), iterations=steps)
            resolved = resolve_method("fixmatch", values)
            method = resolved.create(data.info)
            context = run_context(
                "fixmatch", resolved.config, train, data=data, seed=0, device=torch.device("cpu")
            )
            method.fit(data, dataclasses.replace(context, checkpoint_path=None))
            threshold = resolved.config.threshold
            for dropout in (True, False):
                confidence, label = pseudo_labels(method, images, dropout)
                mask = confidence >= threshold
                right = float(np.mean(label[mask] == hidden[pick][mask])) if mask.any() else None
                row = {
                    "steps": steps,
                    "dropout": dropout,
                    "mask_rate": float(mask.mean()),
                    "masked_pseudo_label_accuracy": right,
                }
                rows.append(row)
                print(row, flush=True)
    write_json(args.out, {"dataset": args.dataset, "draw": args.draw, "rows": rows})


if __name__ == "__main__":
    main()
