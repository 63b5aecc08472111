"""Throughput of AnoGAN's variation-score search (MCGAN's cost): batched z search vs one image at a
time.

Loads a trained anogan/mcgan model (``--model models/mcgan/seed_0``) or, without one, fresh DCGAN
networks of the prepared data's shape (the search's cost does not depend on the weights), and scores
real test images from ``data/prepared``:

* batched: ``--images`` images, ``--batch-size`` at a time (one z per image, one Adam step moves
  all);
* one at a time: the first ``--single-images`` of them with batch size 1;

and prints images/s for both and the speed-up. Same steps, learning rate and lambda as the params.

    python benchmarks/variation_score.py --images 1024 --single-images 16
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from medssl.core.cli import load_raw_section, load_section
from medssl.core.device import configure_threads, pick_device
from medssl.data.prepared import TEST_FILE, load_dataset_info, load_labelled_set
from medssl.methods.loop import images_to_float
from medssl.methods.registry import create_method
from medssl.methods.shared.variation_score import SearchSettings, search_latents
from medssl.pipeline.runs import TrainConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--method", default="mcgan", choices=("anogan", "mcgan"))
    parser.add_argument(
        "--model", type=Path, default=None, help="a trained seed folder; default: fresh networks"
    )
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--single-images", type=int, default=16)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: the method's score_batch_size"
    )
    args = parser.parse_args(argv)
    train_config = load_section(args.params, "train", TrainConfig)
    configure_threads(train_config.num_threads)
    device = pick_device(train_config.device)
    info = load_dataset_info(args.prepared)
    method = create_method(
        args.method, load_raw_section(args.params, f"methods.{args.method}"), info
    )
    if args.model:
        method.load(args.model, device)
    else:
        method.networks = {name: net.to(device) for name, net in method.build_networks().items()}
    config = method.config
    settings = SearchSettings(
        config.score_steps,
        config.score_learning_rate,
        config.score_weight,
        args.batch_size or config.score_batch_size,
    )
    test = load_labelled_set(args.prepared / TEST_FILE)
    images = images_to_float(torch.from_numpy(test.images[: args.images]).to(device))
    generator, discriminator = method.networks["generator_0"], method.networks["discriminator_0"]
    search_latents(
        generator, discriminator, images[:8], settings=SearchSettings(2, 0.05, 0.2, 8)
    )  # warm-up

    started = time.perf_counter()
    search_latents(generator, discriminator, images, settings=settings)
    batched = len(images) / (time.perf_counter() - started)
    single_settings = SearchSettings(settings.steps, settings.learning_rate, settings.weight, 1)
    started = time.perf_counter()
    search_latents(generator, discriminator, images[: args.single_images], settings=single_settings)
    single = args.single_images / (time.perf_counter() - started)
    print(
        json.dumps(
            {
                "device": str(device),
                "processor": platform.processor() or platform.machine(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "dataset": info.name,
                "image_size": info.image_size,
                "steps": settings.steps,
                "batch_size": settings.batch_size,
                "batched_images_per_s": batched,
                "one_at_a_time_images_per_s": single,
                "speed_up": batched / single,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
