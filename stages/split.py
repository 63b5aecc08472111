"""split stage: labels_per_class labelled images per class, the rest of train unlabelled, official
val/test. For a fundus (patch) dataset: images split by disease, cut into patch sets
(medssl.data.patches).

The unlabelled pool's true labels go to --hidden, a folder only evaluation reads. A contact sheet of
the prepared images per class goes to --plots, to look at before training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from medssl.core.cli import load_section, run_stage
from medssl.core.errors import ConfigError
from medssl.data.catalog import FUNDUS
from medssl.data.contact_sheet import write_contact_sheet
from medssl.data.patches import write_patch_split
from medssl.data.prepared import VAL_FILE, load_labelled_set
from medssl.data.sources import DataConfig, load_fundus_raw, load_raw
from medssl.data.split import SplitConfig, make_split, short_validation_note, write_split


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--hidden", type=Path, default=Path("data/hidden"))
    parser.add_argument("--plots", type=Path, default=Path("plots/split"))
    args = parser.parse_args(argv)
    data_config = load_section(args.params, "data", DataConfig)
    split_config = load_section(args.params, "split", SplitConfig)
    if data_config.name == FUNDUS:
        if split_config.val_labels_per_class > 0 or split_config.test_images_per_class:
            raise ConfigError(
                "split.val_labels_per_class and test_images_per_class do not apply to fundus "
                "images (their val/test split is data.fundus's); set them to -1 or 0"
            )
        info = write_patch_split(
            load_fundus_raw(args.raw),
            data_config,
            split_config,
            prepared_dir=args.prepared,
            hidden_dir=args.hidden,
        )
    else:
        raw = load_raw(data_config, args.raw)
        info = write_split(
            make_split(raw, split_config),
            raw,
            split_config,
            prepared_dir=args.prepared,
            hidden_dir=args.hidden,
        )
    print(f"{info.name}: " + ", ".join(f"{count} {part}" for part, count in info.counts.items()))
    note = short_validation_note(info, load_labelled_set(args.prepared / VAL_FILE).labels)
    if note:
        print(note)
    print(f"contact sheet: {write_contact_sheet(args.prepared, args.plots)}")


if __name__ == "__main__":
    run_stage(main)
