"""`dvc plots show` rendered as an air-gapped hospital machine renders it: headless Chromium with no
network at all (a new network namespace, `unshare --net`, where not even loopback is up).

Renders the page twice, with this project's offline template (`.dvc/config` plots.html_template) and
with DVC's default page (vega from a CDN), counts the charts vega drew (canvas or SVG inside each
`.vega-embed` container) against the vega plots on the page, counts the page's JavaScript errors,
and takes a screenshot of the offline page.

    apt-get install chromium                       # Debian's; the script needs root for unshare
    python benchmarks/offline_plots.py --out reports/offline_plots

Run from the repository root, where the committed plots are (or after `dvc repro`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

from dvc_render.html import PAGE_HTML

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=30000",  # let vega finish drawing before the DOM is read
)


def render_page(html_template: Path | None, out_dir: Path) -> Path:
    command = ["dvc", "plots", "show", "-o", str(out_dir)]
    if html_template is not None:
        command += ["--html-template", str(html_template)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return out_dir / "index.html"


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    """Chromium on ``page`` inside a network namespace of its own: no route anywhere."""
    return subprocess.run(
        ["unshare", "--net", "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip


def measure(page: Path, work: Path, screenshot: Path | None) -> dict[str, int]:
    html = page.read_text(encoding="utf-8")
    dumped = chromium(page, work / f"profile-{page.parent.name}", "--dump-dom")
    dom = dumped.stdout
    containers = re.findall(r'<div[^>]*class="vega-embed[^"]*"[^>]*>(.*?)</details>', dom, re.S)
    result = {
        "vega_plots_on_page": html.count("vegaEmbed('#"),
        # the PNG figures DVC links (in the body: the inlined libraries hold "<img" strings too)
        "images_on_page": html.split("<body>", 1)[1].count("<img"),
        "external_scripts": len(re.findall(r"<script[^>]*\bsrc=", html)),
        "charts_drawn": sum("<canvas" in c or '<svg class="marks"' in c for c in containers),
        "canvas_or_svg_in_dom": dom.count("<canvas") + dom.count('<svg class="marks"'),
        "javascript_errors": sum(
            "Uncaught" in line for line in dumped.stderr.splitlines() if "CONSOLE" in line
        ),
        "page_bytes": len(html.encode("utf-8")),
    }
    if screenshot is not None:
        chromium(
            page, work / "profile-shot", f"--screenshot={screenshot}", "--window-size=1400,1800"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("reports/offline_plots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        default_template = work / "dvc_default.html"
        default_template.write_text(PAGE_HTML, encoding="utf-8")
        pages = {
            "offline template": render_page(None, work / "offline"),
            "DVC default (CDN)": render_page(default_template, work / "cdn"),
        }
        results = {
            name: measure(page, work, args.out / "screenshot.png" if "offline" in name else None)
            for name, page in pages.items()
        }
    (args.out / "offline_plots.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| page | vega plots | drawn | JS errors | external scripts | images | size |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['vega_plots_on_page']} | {r['charts_drawn']} | "
            f"{r['javascript_errors']} | {r['external_scripts']} | {r['images_on_page']} | "
            f"{r['page_bytes'] / 1e6:.2f} MB |"
        )
    print(f"screenshot: {args.out / 'screenshot.png'}")


if __name__ == "__main__":
    main()
