"""Training-step time of step-loop methods under variants of the same code, side by side in one run.

Each method is built from params.yaml (``--set method.key=value`` overrides, e.g. a patch width),
prepared as its train stage prepares it (``TorchMethod.prepare``) on random uint8 images of its
input size (a step's cost does not depend on the pixels), and then its ``train_step`` is timed under
each variant. Variants alternate ``--repeats`` times after a warm-up, and the medians are compared
as ratios to the first variant, so a load that comes and goes falls on every variant alike.

Variants:
  fp32            the code as it is, fp32
  bf16            the same under bfloat16 autocast (what ``train.autocast: bf16`` does)
  unfused_adam    Adam's per-parameter Python loop, as before ``core/optim.py`` fused it
  joint_features  the generator step as it was before: real and generated images in one pass of
                  the discriminator with gradients (K+1 GAN methods only)
  per_image_strong, batched_strong
                  fixmatch's strong augmentation through torchvision per image, or batched
                  (``batched_strong_augmentation``; fixmatch only)

    python benchmarks/step_time.py --methods ssgan patch_ssgan --set patch_ssgan.width=0.25 \\
        --variants fp32 joint_features bf16 --steps 20 --repeats 5 --out reports/speed/steps.json

``--flops`` also counts one training step's floating-point operations
(``torch.utils.flop_counter``: matrix products and convolutions, forward and backward; the same
count for every variant) and reports each variant's rate as a share of this CPU's measured fp32
peak: the best of five 2048 x 2048
fp32 matrix products on the same threads, the most the library reaches here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from timing import compare, timed
from torch.utils.flop_counter import FlopCounterMode

from medssl.core.config import load_params
from medssl.core.device import autocast, configure_threads
from medssl.core.io import write_json
from medssl.data.prepared import DatasetInfo, PseudoLabels, TrainData
from medssl.methods.base import RunContext
from medssl.methods.fixmatch.batched_augment import BatchedStrongAugmentation
from medssl.methods.fixmatch.strong_augment import StrongAugmentation
from medssl.methods.loop import TorchMethod
from medssl.methods.registry import create_method
from medssl.methods.shared.semi_supervised_gan import SemiSupervisedGAN
from medssl.models.resnet20 import ResNet20

VARIANTS = ("fp32", "bf16", "unfused_adam", "joint_features", "per_image_strong", "batched_strong")
STRONG_AUGMENTATIONS = {
    "per_image_strong": StrongAugmentation,
    "batched_strong": BatchedStrongAugmentation,
}
# The input each method trains on by default: 28 px images, or the patch methods' 32 px patches.
INPUT_SIZE = {"patch_ssgan": 32, "patch_convnet": 32, "patch_resnet34": 32}
POOL_IMAGES = 2048


def random_train_data(image_size: int, labelled_per_class: int = 10) -> TrainData:
    rng = np.random.default_rng(0)

    def images(count: int) -> np.ndarray:
        return rng.integers(0, 256, size=(count, 1, image_size, image_size), dtype=np.uint8)

    labels = np.repeat(np.arange(2), labelled_per_class).astype(np.int64)
    info = DatasetInfo(
        name="random",
        task="binary",
        label_names=("a", "b"),
        channels=1,
        image_size=image_size,
        labels_per_class=labelled_per_class,
        split_seed=0,
        counts={},
    )
    return TrainData(
        images(len(labels)),
        labels,
        images(POOL_IMAGES),
        images(len(labels)),
        labels.copy(),
        info,
        pseudo_labels=PseudoLabels(
            rng.integers(0, 2, POOL_IMAGES).astype(np.int64),
            rng.random(POOL_IMAGES),
            rng.random(POOL_IMAGES),
        ),
        feature_network=frozen_feature_network(),
    )


def frozen_feature_network() -> torch.nn.Module:
    """An untrained ResNet-20 in the features stage's role (ucgan's style loss): same cost."""
    trunk = ResNet20(1).eval()
    for parameter in trunk.parameters():
        parameter.requires_grad_(False)
    return trunk


@contextlib.contextmanager
def variant_settings(method: TorchMethod, variant: str) -> Iterator[str]:
    """Yields the autocast mode of ``variant`` with the method switched to it."""
    if variant == "unfused_adam":
        groups = [g for o in method.optimizers.values() for g in o.param_groups if "fused" in g]
        for group in groups:
            group["fused"], group["foreach"] = False, False
        try:
            yield "none"
        finally:
            for group in groups:
                group["fused"], group["foreach"] = True, None
    elif variant in STRONG_AUGMENTATIONS:
        own = method.strong  # type: ignore[attr-defined]
        config = method.config
        method.strong = STRONG_AUGMENTATIONS[variant](  # type: ignore[attr-defined]
            method.info.channels, config.strong_ops, config.cutout_area
        )
        try:
            yield "none"
        finally:
            method.strong = own  # type: ignore[attr-defined]
    elif variant == "joint_features":
        own = method.features_in_one_pass  # type: ignore[attr-defined]
        method.features_in_one_pass = True  # type: ignore[attr-defined]
        try:
            yield "none"
        finally:
            method.features_in_one_pass = own  # type: ignore[attr-defined]
    else:
        yield "bf16" if variant == "bf16" else "none"


def time_steps(method: TorchMethod, variant: str, steps: int, first_step: int) -> float:
    with variant_settings(method, variant) as mode:
        started = time.perf_counter()
        for step in range(first_step, first_step + steps):
            for network in method.networks.values():
                network.train()
            with autocast(method.device, mode):
                losses = method.train_step(step)
        float(next(iter(losses.values())))  # waits for the last step's work on an accelerator
        return time.perf_counter() - started


def benchmark_method(
    name: str, values: dict[str, Any], variants: list[str], steps: int, repeats: int
) -> dict[str, Any]:
    data = random_train_data(INPUT_SIZE.get(name, 28))
    method = create_method(name, values, data.info)
    if not isinstance(method, TorchMethod):
        raise SystemExit(f"{name} does not train on the step loop; it has no step to time")
    usable = [
        v
        for v in variants
        if (v != "joint_features" or isinstance(method, SemiSupervisedGAN))
        and (v not in STRONG_AUGMENTATIONS or hasattr(method, "strong"))
    ]
    run = RunContext(0, torch.device("cpu"), 100, 100, 20, 256, "accuracy", channels_last=True)
    method.prepare(data, run)
    next_step = [0]  # every run continues the step count, as training would

    def steps_of(variant: str, count: int) -> Callable[[], float]:
        def work() -> float:
            seconds = time_steps(method, variant, count, next_step[0])
            next_step[0] += count
            return seconds

        return work

    comparison = compare(
        {variant: steps_of(variant, steps) for variant in usable},
        repeats=repeats,
        warm_up={variant: steps_of(variant, 3) for variant in usable},  # allocator, oneDNN kernels
    )
    medians = {variant: median / steps for variant, median in comparison.median_s.items()}
    return {
        "method": name,
        "batch_size": method.config.batch_size,
        "s_per_step": medians,
        "ratio_to_first": comparison.ratio_to_first,
        "runs_s": comparison.runs_s,
    }


def measured_peak_flops(size: int = 2048, repeats: int = 5) -> float:
    """fp32 operations per second of the best of ``repeats`` square matrix products."""
    first, second = torch.randn(size, size), torch.randn(size, size)
    first @ second  # warm-up
    best = min(timed(lambda: first @ second) for _ in range(repeats))
    return 2.0 * size**3 / best


def step_flops(name: str, values: dict[str, Any]) -> float:
    """Operations counted in one training step of a freshly prepared method (after one uncounted
    step, so that lazily built state exists)."""
    data = random_train_data(INPUT_SIZE.get(name, 28))
    method = create_method(name, values, data.info)
    run = RunContext(0, torch.device("cpu"), 100, 100, 20, 256, "accuracy", channels_last=True)
    method.prepare(data, run)
    for network in method.networks.values():
        network.train()
    method.train_step(0)
    with FlopCounterMode(display=False) as counter:
        method.train_step(1)
    return float(counter.get_total_flops())


def overridden_values(params: dict, name: str, overrides: list[str]) -> dict[str, Any]:
    values = dict(params["methods"][name])
    for override in overrides:
        key, _, value = override.partition("=")
        method, _, field = key.partition(".")
        if method == name:
            values[field] = yaml.safe_load(value)
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--methods", nargs="+", required=True)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["fp32", "bf16"])
    parser.add_argument("--set", nargs="*", default=[], help="method.key=value overrides")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--flops", action="store_true", help="rates as a share of fp32 peak")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    configure_threads(args.threads)
    params = load_params(args.params)
    peak = measured_peak_flops() if args.flops else None
    results = []
    for name in args.methods:
        values = overridden_values(params, name, args.set)
        result = benchmark_method(name, values, args.variants, args.steps, args.repeats)
        if peak:
            flops = step_flops(name, values)
            shares = {v: flops / seconds / peak for v, seconds in result["s_per_step"].items()}
            result.update(gflop_per_step=flops / 1e9, share_of_peak=shares)
            listed = ", ".join(f"{v} {100 * share:.1f} %" for v, share in shares.items())
            print(f"{name}: {flops / 1e9:.3f} GFLOP per step; of peak: {listed}")
        results.append(result)
        ratios = ", ".join(f"{v} {r:.2f}x" for v, r in result["ratio_to_first"].items())
        times = ", ".join(f"{v} {1000 * s:.0f} ms" for v, s in result["s_per_step"].items())
        print(f"{name}: {times}; {ratios}", flush=True)
    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "steps": args.steps,
        "repeats": args.repeats,
        "overrides": args.set,
        **({"peak_gflop_per_s": peak / 1e9} if peak else {}),
        "results": results,
    }
    if args.out:
        write_json(args.out, report)
    else:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
