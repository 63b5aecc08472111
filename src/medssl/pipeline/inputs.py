"""The inputs stage: ``data/inputs/<method>/`` holds exactly the pipeline products one method reads
besides the prepared images, so that its train stage depends on them and on nothing else.

DVC gives every stage of a ``foreach`` group the same dependency list, so ``train@<method>`` cannot
list the pseudo-labels for plabgan alone. ``inputs@<method>`` depends on both products and copies
only what the method reads (``uses_pseudo_labels``, ``uses_feature_network``); a change to a product
the method does not read leaves its folder, and so its training, as it was. The copies are small
(a few hundred kB) and the DVC cache stores each content once.

  data/inputs/<method>/reads.json           what the method reads (always there)
  data/inputs/<method>/code.json            the code its training runs, file by file (code_manifest)
  data/inputs/<method>/pseudo_labels.npz    the cluster stage's pseudo-labels, if it reads them
  data/inputs/<method>/feature_network.pt   the features stage's ResNet-20 trunk, if it reads it
"""

from __future__ import annotations

from pathlib import Path

from medssl.core.io import write_bytes, write_json
from medssl.data.prepared import existing_file
from medssl.methods.registry import method_class
from medssl.pipeline.code_manifest import CODE_FILE, code_manifest
from medssl.pipeline.train import FEATURE_NETWORK_INPUT, PSEUDO_LABELS_INPUT

READS_FILE = "reads.json"


def collect_inputs(
    name: str, *, pseudo_labels: Path, feature_network: Path, out_dir: Path, repo_root: Path
) -> list[str]:
    """Copy into ``out_dir`` the products method ``name`` reads, and write the digests of the code
    its training runs; returns the products' names."""
    method = method_class(name)
    wanted = []
    if method.uses_pseudo_labels:
        wanted.append((PSEUDO_LABELS_INPUT, existing_file(pseudo_labels, "cluster")))
    if method.uses_feature_network:
        wanted.append((FEATURE_NETWORK_INPUT, existing_file(feature_network, "features")))
    for file_name, source in wanted:
        write_bytes(out_dir / file_name, source.read_bytes())
    reads = [file_name for file_name, _ in wanted]
    write_json(out_dir / READS_FILE, {"method": name, "reads": reads})
    write_json(out_dir / CODE_FILE, code_manifest(name, repo_root))
    return reads
