"""SSLDEC on two half-moons (Enguehard et al. 2019, Sec. IV-C and Figure 4).

1000 points from scikit-learn's make_moons(noise=0.1), 4 labelled points per moon, an MLP of 4 dense
layers of 10 ReLU units + a dense layer of 2 + the Student-t clustering layer. Every training batch
is augmented stochastically, as the paper makes part of the method (Sec. III-A, Figure 1: "both
models use stochastic data augmentation"): for points, Gaussian jitter of std ``--input-noise``
(default 0.2, chosen on a development sample; 0 turns it off). Prints the accuracy on all 1000
points after labelled-only training and after SSLDEC, mean ± std over the labelled draws and how
many draws reach 99.5 %, and saves the decision boundaries (the paper's Figure 4) of the worst and
the best draw.

    python benchmarks/two_moons.py --seeds 10 --out plots/two_moons
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
import typing
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_moons
from torch import nn

from medssl.core import plots
from medssl.core.config import build_config, load_params, section
from medssl.core.device import seed_everything
from medssl.core.io import write_json
from medssl.methods.ssldec.algorithm import SSLDECConfig, SSLDECTrainer
from medssl.methods.ssldec.clustering import StudentTClustering

NUM_POINTS, NOISE, LABELLED_PER_MOON = 1000, 0.1, 4
HIGH_ACCURACY = 0.995  # a draw this accurate reproduces the paper's 99.8 % to within two points
# The paper gives no schedule for this experiment. Its image schedule (100 pre-training epochs, i.e.
# 100 steps on 8 points, then lr 1e-4) leaves this MLP predicting one class for most draws, so:
# pre-train for 1000 epochs, then 500 rounds at lr 1e-3. The paper's "end condition" is unnamed;
# DEC's (params.yaml's tolerance over its interval) stops these runs on a plateau, about where the
# labelled-only boundary lies, 200-300 rounds before the boundary leaves it. The round budget, with
# the end condition off (tolerance 0), and the jitter were chosen on a development sample
# (make_moons with random_state 1, ten spread draws; docs/methods/ssldec.md), not on the evaluated
# points.
MOONS_DEFAULTS = {
    "pretrain_epochs": 1000,
    "learning_rate": 1e-3,
    "max_rounds": 500,
    "assignment_change_tol": 0.0,
}
JITTER = 0.2  # chosen on the development sample among 0.1, 0.2 and 0.3


def moons_network() -> nn.Sequential:
    layers: list[nn.Module] = []
    width_in = 2
    for _ in range(4):
        layers += [nn.Linear(width_in, 10), nn.ReLU()]
        width_in = 10
    return nn.Sequential(*layers, nn.Linear(10, 2), StudentTClustering(2, 2))


def labelled_draw(points: np.ndarray, labels: np.ndarray, seed: int, spread: bool) -> np.ndarray:
    """4 labelled points per moon: uniformly at random, or (``spread``) one at random from each
    quarter of the moon's horizontal extent, the "fairly distributed" draw the paper says its 99.8 %
    needs."""
    rng = np.random.default_rng(seed)
    chosen = []
    for moon in (0, 1):
        rows = np.flatnonzero(labels == moon)
        if not spread:
            chosen.append(rng.choice(rows, LABELLED_PER_MOON, replace=False))
            continue
        quarters = np.array_split(rows[np.argsort(points[rows, 0])], LABELLED_PER_MOON)
        chosen.append(np.array([rng.choice(quarter) for quarter in quarters]))
    return np.concatenate(chosen)


def gaussian_jitter(std: float):
    """The points' stochastic augmentation: N(0, std^2) added to every coordinate of a batch."""

    def jitter(points: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return points + std * torch.randn(points.shape, generator=generator)

    return jitter


def accuracy(trainer: SSLDECTrainer, points: torch.Tensor, labels: np.ndarray) -> float:
    return float((trainer.predict(points).argmax(dim=1).numpy() == labels).mean())


def run_draw(
    points: torch.Tensor,
    labels: np.ndarray,
    seed: int,
    config: SSLDECConfig,
    spread: bool,
    input_noise: float,
) -> tuple[dict[str, float], nn.Module, nn.Module, np.ndarray]:
    labelled = labelled_draw(points.numpy(), labels, seed, spread)
    unlabelled = np.setdiff1d(np.arange(len(points)), labelled)
    seed_everything(seed)
    augment = gaussian_jitter(input_noise) if input_noise > 0 else None
    trainer = SSLDECTrainer(moons_network(), 2, config, seed, augment)
    labelled_x, labelled_y = points[labelled], torch.as_tensor(labels[labelled])
    snapshots: dict[str, object] = {}

    def after_each(phase: str) -> None:
        if phase == "pretrain":
            snapshots["model"] = copy.deepcopy(trainer.model)
            snapshots["accuracy"] = accuracy(trainer, points, labels)
            snapshots["started"] = time.perf_counter()

    trainer.fit(labelled_x, labelled_y, points[unlabelled], after_each=after_each)
    supervised_model, supervised = snapshots["model"], snapshots["accuracy"]
    result = {
        "seed": seed,
        "labelled_only_accuracy": supervised,
        "ssldec_accuracy": accuracy(trainer, points, labels),
        "rounds": len(trainer.history.rounds),
        "ssldec_seconds": time.perf_counter() - snapshots["started"],
    }
    return result, supervised_model, trainer.model, labelled


@torch.no_grad()
def boundary_grid(model: nn.Module, points: np.ndarray, steps: int = 200) -> tuple[np.ndarray, ...]:
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], steps), np.linspace(low[1], high[1], steps))
    grid = torch.as_tensor(np.stack([xs.ravel(), ys.ravel()], axis=1), dtype=torch.float32)
    model.eval()
    return xs, ys, model(grid)[:, 1].numpy().reshape(xs.shape)


def boundary_figure(
    points: np.ndarray,
    labels: np.ndarray,
    labelled: np.ndarray,
    models: dict[str, nn.Module],
    accuracies: dict[str, float],
    path: Path,
    title: str,
) -> None:
    figure, axes = plots.plt.subplots(1, len(models) + 1, figsize=(4.2 * (len(models) + 1), 3.8))
    axes[0].scatter(*points.T, s=4, c="tab:blue", label="unlabelled")
    axes[0].scatter(*points[labelled].T, s=40, c="tab:orange", edgecolors="k", label="labelled")
    axes[0].set_title(f"{title}: 8 labelled points")
    axes[0].legend(fontsize=8)
    for axis, (name, model) in zip(axes[1:], models.items(), strict=True):
        xs, ys, probability = boundary_grid(model, points)
        axis.contourf(xs, ys, probability, levels=20, cmap="RdBu", alpha=0.6)
        axis.contour(xs, ys, probability, levels=[0.5], colors="k")
        axis.scatter(*points.T, s=4, c=labels, cmap="coolwarm")
        axis.scatter(*points[labelled].T, s=40, c="tab:orange", edgecolors="k")
        axis.set_title(f"{name}: {100 * accuracies[name]:.1f} %")
    plots.save_figure(figure, path)


def moons_config(args: argparse.Namespace) -> SSLDECConfig:
    """The pipeline's SSLDEC settings (params.yaml), this experiment's schedule, then the command
    line's."""
    algorithm_fields = {field.name for field in dataclasses.fields(SSLDECConfig)}
    values = {
        key: value
        for key, value in section(load_params(args.params), "methods.ssldec").items()
        if key in algorithm_fields
    }
    values.update(MOONS_DEFAULTS)
    values.update(
        {
            name: getattr(args, name)
            for name in algorithm_fields
            if getattr(args, name, None) is not None
        }
    )
    return build_config(SSLDECConfig, values, "two moons")


def scalar_fields(config_class: type) -> dict[str, type]:
    """The int and float fields of a config dataclass. Its annotations are strings (``from
    __future__ import annotations``) and often ``Annotated`` ranges, so they are resolved and
    unwrapped, not compared as text."""
    hints = typing.get_type_hints(config_class, include_extras=True)
    found = {}
    for field in dataclasses.fields(config_class):
        hint = hints[field.name]
        base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
        if base in (int, float):
            found[field.name] = base
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10, help="labelled draws 0..N-1")
    parser.add_argument("--data-seed", type=int, default=0, help="random_state of make_moons")
    parser.add_argument("--out", type=Path, default=Path("plots/two_moons"))
    parser.add_argument(
        "--spread",
        action="store_true",
        help="one labelled point from each quarter of each moon (default: uniformly at random)",
    )
    parser.add_argument(
        "--input-noise",
        type=float,
        default=JITTER,
        help="std of the Gaussian jitter added to every training batch (0: no augmentation)",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=Path("params.yaml"),
        help="Algorithm 1's settings: its methods.ssldec, with this experiment's own above",
    )
    for name, kind in scalar_fields(SSLDECConfig).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny network: threads only add overhead
    config = moons_config(args)
    points_np, labels = make_moons(NUM_POINTS, noise=NOISE, random_state=args.data_seed)
    points = torch.as_tensor(points_np, dtype=torch.float32)
    results, drawn = [], []
    for seed in range(args.seeds):
        result, supervised_model, ssldec_model, labelled = run_draw(
            points, labels, seed, config, args.spread, args.input_noise
        )
        results.append(result)
        print(json.dumps(result))
        drawn.append((result, supervised_model, ssldec_model, labelled))
    # The worst and the best draw after SSLDEC, so the figure shows the spread, not a chosen
    # example.
    by_accuracy = sorted(drawn, key=lambda run: run[0]["ssldec_accuracy"])
    for tag, (result, supervised_model, ssldec_model, labelled) in (
        ("worst", by_accuracy[0]),
        ("best", by_accuracy[-1]),
    ):
        boundary_figure(
            points_np,
            labels,
            labelled,
            {"labelled only": supervised_model, "SSLDEC": ssldec_model},
            {
                "labelled only": result["labelled_only_accuracy"],
                "SSLDEC": result["ssldec_accuracy"],
            },
            args.out / f"two_moons_boundaries_{tag}_draw.png",
            f"draw {result['seed']} ({tag} after SSLDEC)",
        )
    summary = {
        key: {
            "mean": float(np.mean([r[key] for r in results])),
            "std": float(np.std([r[key] for r in results], ddof=1)),
        }
        for key in ("labelled_only_accuracy", "ssldec_accuracy", "rounds")
    }
    high = sum(r["ssldec_accuracy"] >= HIGH_ACCURACY for r in results)
    write_json(
        args.out / "two_moons.json",
        {
            "config": dataclasses.asdict(config),
            "spread": args.spread,
            "input_noise": args.input_noise,
            "summary": summary,
            "draws_at_or_above_99_5": high,
            "runs": results,
        },
    )
    print(
        f"labelled only: {100 * summary['labelled_only_accuracy']['mean']:.1f} ± "
        f"{100 * summary['labelled_only_accuracy']['std']:.1f} %;  SSLDEC: "
        f"{100 * summary['ssldec_accuracy']['mean']:.1f} ± "
        f"{100 * summary['ssldec_accuracy']['std']:.1f} % "
        f"over {args.seeds} labelled draws, {high} of them >= {100 * HIGH_ACCURACY:.1f} % "
        f"(input noise {args.input_noise}; paper: 99.8 %)"
    )


if __name__ == "__main__":
    main()
