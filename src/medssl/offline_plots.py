"""The offline page for ``dvc plots show`` and ``dvc plots diff``: vega inlined, no CDN.

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so on a machine without a
network every vega chart (loss curves, ROC curves, confusion matrices) stays blank. ``.dvc/config``
points ``plots.html_template`` at ``.dvc/plots/offline.html``: a page that carries the three
libraries inline and leaves out DVC's ``{scripts}`` placeholder, where DVC would put the CDN tags.

The libraries are vendored from the npm registry, each tarball checked against the registry's
sha512 integrity recorded here, at exactly the versions DVC's own page asks for
(``dvc_render.vega.VegaRenderer.SCRIPTS``), so the offline page draws what the online one draws.
Each library's licence (BSD-3-Clause) heads its script. After a DVC upgrade that moves those
versions, a test says so; rebuild the page, with npm and a network, by

    python -m medssl.offline_plots --out .dvc/plots/offline.html
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from medssl.core.errors import DataError
from medssl.core.io import write_text


@dataclass(frozen=True)
class VegaLibrary:
    name: str
    version: str
    script: str  # the browser build inside the package (the file the CDN serves)
    integrity: str  # the npm registry's sha512 of the tarball

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


VEGA_LIBRARIES = (
    VegaLibrary(
        "vega",
        "5.20.2",
        "build/vega.min.js",
        "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw==",
    ),
    VegaLibrary(
        "vega-lite",
        "5.2.0",
        "build/vega-lite.min.js",
        "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw==",
    ),
    VegaLibrary(
        "vega-embed",
        "6.18.2",
        "build/vega-embed.min.js",
        "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg==",
    ),
)
# DVC fills these by text replacement; a library that contained one would be corrupted.
DVC_PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")
_CDN_SPEC = re.compile(r"npm/([a-z-]+@[0-9][0-9.]*)")

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- medssl: {specs} inlined for offline use (medssl.offline_plots); no network needed -->
{library_scripts}
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def cdn_specs(scripts: str) -> list[str]:
    """``name@version`` of each library a DVC page's script tags load from the CDN."""
    return _CDN_SPEC.findall(scripts)


def integrity(data: bytes) -> str:
    """npm's Subresource-Integrity form of ``data``: sha512, base64."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def build_page(tarballs: Mapping[str, bytes]) -> str:
    """The template, from each library's npm tarball (by name); refuses a tarball whose hash is
    not the registry's, and a script that would break the page."""
    scripts = []
    for library in VEGA_LIBRARIES:
        data = tarballs[library.name]
        if integrity(data) != library.integrity:
            raise DataError(f"{library.spec}: the tarball's sha512 is not the npm registry's")
        members = _read_members(data, (f"package/{library.script}", "package/LICENSE"))
        script = members[f"package/{library.script}"]
        licence = members["package/LICENSE"]
        problems = [t for t in (*DVC_PLACEHOLDERS, "</script", "<!--") if t in script]
        if problems or "*/" in licence:
            raise DataError(f"{library.spec}: cannot be inlined as it is ({problems or '*/'})")
        scripts.append(
            f"    <script>\n/*! {library.spec} ({library.script}), vendored from the npm "
            f"registry ({library.integrity}).\n\n{licence.strip()}\n*/\n{script.strip()}\n"
            "    </script>"
        )
    # not str.format: the page keeps DVC's own fields, and the scripts are full of braces
    return PAGE.replace("{specs}", ", ".join(library.spec for library in VEGA_LIBRARIES)).replace(
        "{library_scripts}", "\n".join(scripts)
    )


def _read_members(tarball: bytes, names: tuple[str, ...]) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        found = {}
        for name in names:
            member = archive.extractfile(name)
            if member is None:
                raise DataError(f"the tarball has no file {name}")
            found[name] = member.read().decode("utf-8")
        return found


def fetch_tarballs(folder: Path) -> dict[str, bytes]:
    """``npm pack`` each library into ``folder`` (npm checks the registry's integrity too)."""
    specs = [library.spec for library in VEGA_LIBRARIES]
    completed = subprocess.run(
        ["npm", "pack", *specs, "--json", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DataError(f"npm pack {' '.join(specs)} failed: {completed.stderr.strip()[-300:]}")
    packed = {entry["name"]: folder / entry["filename"] for entry in json.loads(completed.stdout)}
    return {name: path.read_bytes() for name, path in packed.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(".dvc/plots/offline.html"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        page = build_page(fetch_tarballs(Path(folder)))
    write_text(args.out, page)
    print(f"{args.out}: {len(page) / 1e6:.2f} MB, {', '.join(lib.spec for lib in VEGA_LIBRARIES)}")


if __name__ == "__main__":
    from medssl.core.cli import run_stage

    run_stage(main)
