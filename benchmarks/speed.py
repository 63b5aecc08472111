"""Training speed of every enabled method, and the project's loop against a bare PyTorch loop.

For each step-loop method in ``methods.enabled`` (settings from params.yaml), on the prepared data
of the current experiment (``data/prepared``; run ``dvc repro split`` first):

* project loop: ``method.fit`` for ``--steps`` iterations with params.yaml's ``train`` settings
  (progress bar, loss logging, ``train.validations`` validation points), minus the time of ``fit``
  for 0 steps (building networks, data on the device), i.e. the steps plus the loop's own work;
* bare loop: the same networks, optimisers and batch sizes, batches pre-drawn on the device, and the
  method's maths written out as a plain ``for`` loop (no sampler, logging, validation or hooks);
* overhead = project / bare, measured side by side in this run: bare and project runs alternate
  ``--repeats`` times and the medians are compared.

Images/s counts the real training images one step consumes (labelled + unlabelled batch; generated
images are extra work, not data). SSLDEC runs Algorithm 1's epochs rather than the step loop: its
figure is the images/s of one training epoch over the unlabelled pool (its dominant cost).

    python benchmarks/speed.py --steps 300 --out reports/speed/cpu.json

``--compile`` measures something else: whether ``torch.compile`` is worth offering. For each method
the bare loop runs with eager networks and with compiled ones (each network's ``forward``),
alternating.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from timing import compare, timed

from medssl.core.cli import load_raw_section, load_section
from medssl.core.config import load_params
from medssl.core.device import configure_threads, pick_device, place_network
from medssl.core.io import write_json
from medssl.data.prepared import load_pseudo_labels, load_train_data
from medssl.methods.loop import LabelledCrossEntropyMethod, TorchMethod, images_to_float
from medssl.methods.registry import create_method, method_class, method_config
from medssl.methods.shared.losses import (
    feature_matching_loss,
    generated_fake_loss,
    labelled_loss,
    unlabelled_real_loss,
)
from medssl.methods.shared.semi_supervised_gan import SemiSupervisedGAN
from medssl.methods.ssldec.algorithm import SSLDECTrainer, one_pixel_translation
from medssl.pipeline.runs import TrainConfig, run_context


def _prebatched(
    images: np.ndarray,
    labels: np.ndarray | None,
    batch: int,
    steps: int,
    seed: int,
    device: torch.device,
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    rng = np.random.default_rng(seed)
    rows = [
        rng.choice(len(images), size=min(batch, len(images)), replace=False) for _ in range(steps)
    ]
    return [
        (
            images_to_float(torch.from_numpy(images[r]).to(device)),
            None if labels is None else torch.from_numpy(labels[r]).to(device),
        )
        for r in rows
    ]


def bare_supervised_loop(method: LabelledCrossEntropyMethod, batches: list) -> float:
    network = method.classifier().train()
    optimizer = method.optimizers[method.classifier_name]
    started = time.perf_counter()
    for images, labels in batches:
        loss = F.cross_entropy(network(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def bare_gan_loop(method: SemiSupervisedGAN, labelled: list, unlabelled: list) -> float:
    """Salimans et al.'s step written out: one D update on labelled + unlabelled + generated, one
    feature-matching G update, the EMA update."""
    discriminator, generator, ema = (
        method.networks[name].train() for name in ("discriminator", "generator", "ema")
    )
    d_optimizer, g_optimizer = method.optimizers["discriminator"], method.optimizers["generator"]
    alpha, beta, latent = method.config.alpha, method.config.beta, method.config.latent_dim
    started = time.perf_counter()
    for (images, labels), (pool, _) in zip(labelled, unlabelled, strict=True):
        generated = generator(torch.randn(len(pool), latent, device=pool.device))
        logits = discriminator(torch.cat([images, pool, generated.detach()]))
        lab, unl, gen = logits.split([len(images), len(pool), len(generated)])
        d_loss = (
            labelled_loss(lab, labels)
            + alpha * unlabelled_real_loss(unl)
            + beta * generated_fake_loss(gen)
        )
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        features = discriminator.features(torch.cat([pool, generated]))
        g_loss = feature_matching_loss(features[: len(pool)].detach(), features[len(pool) :])
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        ema.update_parameters(discriminator)
    return time.perf_counter() - started


def time_project_loop(
    name: str, values: dict, train_config: TrainConfig, data: Any, steps: int, device: torch.device
) -> tuple[float, TorchMethod]:
    config = method_config(name, values)
    timings = []
    # A one-step fit's time (set-up, one step, one validation) subtracted from a (steps + 1)-step
    # fit's leaves the loop's cost of ``steps`` steps; a fit needs at least one iteration.
    for iterations in (1, steps + 1):
        method = create_method(name, {**values, "iterations": iterations}, data.info)
        run = run_context(name, config, train_config, data=data, seed=0, device=device)
        run = dataclasses.replace(run, checkpoint_path=None)
        started = time.perf_counter()
        method.fit(data, run)
        timings.append(time.perf_counter() - started)
    return timings[1] - timings[0], method


def time_bare_loop(method: TorchMethod, data: Any, steps: int, device: torch.device) -> float:
    batch = method.config.batch_size
    labelled = _prebatched(data.labelled_x, data.labelled_y, batch, steps, 1, device)
    if isinstance(method, SemiSupervisedGAN):
        return bare_gan_loop(
            method, labelled, _prebatched(data.unlabelled_x, None, batch, steps, 2, device)
        )
    return bare_supervised_loop(method, labelled)


def images_per_step(method: TorchMethod, data: Any) -> int:
    labelled = min(method.config.batch_size, len(data.labelled_x))
    return labelled + (
        min(method.config.batch_size, len(data.unlabelled_x))
        if isinstance(method, SemiSupervisedGAN)
        else 0
    )


def _bare_method(
    name: str,
    values: dict,
    train_config: TrainConfig,
    data: Any,
    device: torch.device,
    compiled: bool = False,
) -> TorchMethod:
    """A method with its networks and optimisers built, for the bare loop; ``compiled`` runs each
    network's ``forward`` through ``torch.compile`` (other entry points, e.g. ``features``, stay
    eager)."""
    fresh = create_method(name, values, data.info)
    fresh.device = device
    fresh.networks = {
        key: place_network(net, device, train_config.channels_last)
        for key, net in fresh.build_networks().items()
    }
    if compiled:
        for network in fresh.networks.values():
            network.compile()
    fresh.optimizers = fresh.build_optimizers()
    return fresh


def benchmark_step_method(
    name: str,
    values: dict,
    train_config: TrainConfig,
    data: Any,
    steps: int,
    repeats: int,
    device: torch.device,
) -> dict[str, Any]:
    """Bare and project runs alternate ``repeats`` times; each side's median is compared, so a load
    that comes and goes on the machine falls on both sides alike."""
    fresh = _bare_method(name, values, train_config, data, device)
    last_project: list[TorchMethod] = []

    def project_run() -> float:
        seconds, method = time_project_loop(name, values, train_config, data, steps, device)
        last_project[:] = [method]
        return seconds

    comparison = compare(
        {"bare": lambda: time_bare_loop(fresh, data, steps, device), "project": project_run},
        repeats=repeats,
        # the bare loop's allocator and oneDNN kernels; each project run builds its own method
        warm_up={"bare": lambda: time_bare_loop(fresh, data, min(10, steps), device)},
    )
    bare, project = comparison.median_s["bare"], comparison.median_s["project"]
    bare_runs, project_runs = comparison.runs_s["bare"], comparison.runs_s["project"]
    method = last_project[0]
    per_step = images_per_step(method, data)
    return {
        "method": name,
        "steps": steps,
        "repeats": repeats,
        "images_per_step": per_step,
        "project_s_per_1000": 1000 * project / steps,
        "bare_s_per_1000": 1000 * bare / steps,
        "project_images_per_s": per_step * steps / project,
        "bare_images_per_s": per_step * steps / bare,
        "overhead": project / bare,
        "bare_runs_s": bare_runs,
        "project_runs_s": project_runs,
    }


def _ssldec_epoch(
    values: dict, train_config: TrainConfig, data: Any, device: torch.device, compiled: bool = False
) -> tuple[SSLDECTrainer, torch.Tensor, torch.Tensor]:
    method = create_method("ssldec", values, data.info)
    network = place_network(method.build_network(), device, train_config.channels_last)
    if compiled:
        network.compile()
    trainer = SSLDECTrainer(
        network, data.info.num_classes, method.config, 0, one_pixel_translation, device
    )
    pool = images_to_float(torch.from_numpy(data.unlabelled_x[:2048]))
    targets = torch.full((len(pool), data.info.num_classes), 1.0 / data.info.num_classes)
    return trainer, pool, targets


def benchmark_ssldec(
    values: dict, train_config: TrainConfig, data: Any, device: torch.device
) -> dict[str, Any]:
    trainer, pool, targets = _ssldec_epoch(values, train_config, data, device)
    trainer.train_epoch(pool[:256], targets[:256])  # warm-up
    seconds = timed(lambda: trainer.train_epoch(pool, targets))
    return {
        "method": "ssldec",
        "epoch_images": len(pool),
        "epoch_images_per_s": len(pool) / seconds,
    }


def benchmark_compile(
    name: str,
    values: dict,
    train_config: TrainConfig,
    data: Any,
    steps: int,
    repeats: int,
    device: torch.device,
) -> dict[str, Any]:
    """The bare loop (SSLDEC: one epoch over 2048 pool images) with eager networks against the same
    with ``torch.compile``d ones, alternating ``repeats`` times; the first compiled run, which
    compiles, is timed apart."""
    # Each entry returns the seconds of the work itself (the bare loop times itself, batches
    # pre-drawn).
    if name == "ssldec":
        runs = {
            compiled: _ssldec_epoch(values, train_config, data, device, compiled)
            for compiled in (False, True)
        }
        work = {
            compiled: (lambda t=trainer, p=pool, g=targets: timed(lambda: t.train_epoch(p, g)))
            for compiled, (trainer, pool, targets) in runs.items()
        }
        warm_up = {
            compiled: (
                lambda t=trainer, p=pool, g=targets: timed(lambda: t.train_epoch(p[:256], g[:256]))
            )
            for compiled, (trainer, pool, targets) in runs.items()
        }
    else:
        methods = {
            compiled: _bare_method(name, values, train_config, data, device, compiled)
            for compiled in (False, True)
        }
        work = {
            compiled: (lambda m=method: time_bare_loop(m, data, steps, device))
            for compiled, method in methods.items()
        }
        warm_up = {
            compiled: (lambda m=method: time_bare_loop(m, data, min(10, steps), device))
            for compiled, method in methods.items()
        }
    comparison = compare(work, repeats=repeats, warm_up=warm_up)
    compile_seconds = comparison.warm_up_s[True]
    eager, compiled = comparison.median_s[False], comparison.median_s[True]
    eager_runs, compiled_runs = comparison.runs_s[False], comparison.runs_s[True]
    return {
        "method": name,
        "unit": "epoch of 2048 images" if name == "ssldec" else f"{steps} steps",
        "compile_and_warm_up_s": compile_seconds,
        "eager_s": eager,
        "compiled_s": compiled,
        "compiled_over_eager": compiled / eager,
        "eager_runs_s": eager_runs,
        "compiled_runs_s": compiled_runs,
    }


def compare_compilation(
    names: list[str],
    args: argparse.Namespace,
    train_config: TrainConfig,
    data: Any,
    device: torch.device,
    environment: dict[str, Any],
) -> None:
    results = []
    for name in names:
        if name != "ssldec" and not issubclass(method_class(name), TorchMethod):
            continue
        values = load_raw_section(args.params, f"methods.{name}")
        results.append(
            benchmark_compile(name, values, train_config, data, args.steps, args.repeats, device)
        )
        print(json.dumps(results[-1]), flush=True)
    print(
        "\n| method | timed unit | eager s | compiled s | compiled / eager | compile + warm-up s "
        "|\n|---|---|---|---|---|---|"
    )
    for row in results:
        print(
            f"| {row['method']} | {row['unit']} | {row['eager_s']:.2f} | {row['compiled_s']:.2f} | "
            f"{row['compiled_over_eager']:.2f}x | {row['compile_and_warm_up_s']:.0f} |"
        )
    if args.out:
        write_json(args.out, {"environment": environment, "compile": results})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument(
        "--pseudo-labels", type=Path, default=Path("data/pseudo_labels/pseudo_labels.npz")
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument(
        "--repeats", type=int, default=3, help="alternating bare / project runs per method"
    )
    parser.add_argument("--methods", nargs="*", help="default: methods.enabled")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="instead: the bare loop eager against torch.compile (is compilation worth offering?)",
    )
    args = parser.parse_args(argv)
    train_config = load_section(args.params, "train", TrainConfig)
    configure_threads(train_config.num_threads)
    device = pick_device(train_config.device)
    data = load_train_data(args.prepared)
    if args.pseudo_labels.is_file():
        data = dataclasses.replace(data, pseudo_labels=load_pseudo_labels(args.pseudo_labels))
    names = args.methods or list(load_params(args.params)["methods"]["enabled"])
    environment = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "channels_last": train_config.channels_last,
        "autocast": train_config.autocast,
        "dataset": data.info.name,
        "image_size": data.info.image_size,
    }
    print(json.dumps(environment))
    if args.compile:
        compare_compilation(names, args, train_config, data, device, environment)
        return
    results = []
    for name in names:
        values = load_raw_section(args.params, f"methods.{name}")
        if name == "ssldec":
            results.append(benchmark_ssldec(values, train_config, data, device))
        elif issubclass(method_class(name), TorchMethod):
            results.append(
                benchmark_step_method(
                    name, values, train_config, data, args.steps, args.repeats, device
                )
            )
        else:
            continue  # pca_svm: no training loop to time
        print(json.dumps(results[-1]), flush=True)
    print(
        "\n| method | project s / 1000 steps | bare s / 1000 steps | overhead | images/s "
        "|\n|---|---|---|---|---|"
    )
    for row in results:
        if "overhead" in row:
            print(
                f"| {row['method']} | {row['project_s_per_1000']:.1f} | "
                f"{row['bare_s_per_1000']:.1f} | "
                f"{row['overhead']:.3f}x | {row['project_images_per_s']:.0f} |"
            )
        else:
            print(
                f"| {row['method']} | (Algorithm 1 epochs) | | | {row['epoch_images_per_s']:.0f} |"
            )
    if args.out:
        write_json(args.out, {"environment": environment, "results": results})


if __name__ == "__main__":
    main()
