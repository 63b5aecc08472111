"""`dvc plots show` works without a network: the page DVC writes carries vega inline, at the
versions DVC's own page asks for, and loads nothing from elsewhere. (A headless-Chromium render with
the network cut is benchmarks/offline_plots.py.)"""

from __future__ import annotations

import configparser
import gzip
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from dvc_render.vega import VegaRenderer

from conftest import REPO_ROOT
from medssl.core.errors import DataError
from medssl.offline_plots import VEGA_LIBRARIES, build_page, cdn_specs

DVC_DIR = REPO_ROOT / ".dvc"


def _template() -> Path:
    config = configparser.ConfigParser()
    config.read(DVC_DIR / "config")
    return DVC_DIR / config["plots"]["html_template"].strip()


def test_the_committed_page_inlines_the_libraries_dvc_would_fetch():
    page = _template().read_text(encoding="utf-8")
    # a DVC upgrade that moves these versions fails here: rebuild with medssl.offline_plots
    assert cdn_specs(VegaRenderer.SCRIPTS) == [library.spec for library in VEGA_LIBRARIES]
    for library in VEGA_LIBRARIES:
        assert page.count(f"/*! {library.spec} ({library.script})") == 1
    assert "{plot_divs}" in page and "{refresh_tag}" in page
    assert "{scripts}" not in page  # where DVC would put its CDN tags
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert page.count("<script>") == len(VEGA_LIBRARIES)


def _tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue())


def test_a_tarball_that_is_not_the_registrys_is_refused():
    forged = {
        library.name: _tarball(
            {f"package/{library.script}": "window.x = 1;", "package/LICENSE": "BSD"}
        )
        for library in VEGA_LIBRARIES
    }
    with pytest.raises(DataError, match=r"vega@5\.20\.2: the tarball's sha512 is not the npm"):
        build_page(forged)


def test_dvc_plots_show_writes_a_page_that_fetches_nothing(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=project, check=True)
    (project / ".dvc" / "config").write_text((DVC_DIR / "config").read_text())
    (project / ".dvc" / "plots").mkdir()
    (project / ".dvc" / "plots" / _template().name).write_bytes(_template().read_bytes())
    (project / "loss.csv").write_text("step,loss\n0,1.0\n1,0.5\n2,0.25\n")
    subprocess.run(
        [*dvc, "plots", "show", "loss.csv", "-o", "out"], cwd=project, check=True,
        capture_output=True,
    )  # fmt: skip
    page = (project / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count("vegaEmbed('#") == 1
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "cdn.jsdelivr" not in page
