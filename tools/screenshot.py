#!/usr/bin/env python
"""Look at the built book the way a reader's browser does, offline.

Usage::

    python tools/screenshot.py [OUTDIR]            # PNG of every page (default /tmp/shots)
    python tools/screenshot.py --dom               # per page: typeset vs failed equations
    python tools/screenshot.py --html DIR ...      # another build (default _build/html)

Needs a ``chromium`` (or ``chromium-browser`` / ``google-chrome``) on the PATH;
installs nothing.  Headless flags as in BOOK-RECIPE.md: no network services, a
throw-away profile, and a virtual time budget so MathJax finishes typesetting
before the picture or the DOM is taken.

``--dom`` prints, for each page, how many ``<mjx-container>`` (typeset math) and
``<mjx-merror>`` (MathJax errors) the rendered DOM has, and exits 1 if any page
has an error, or has math markup in its HTML but nothing typeset (MathJax did not
load).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_argv(browser: str, profile: str, width: int, height: int) -> list[str]:
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "--virtual-time-budget=5000",
    ]


def pages(html_dir: Path) -> list[Path]:
    """Content pages: every .html except Sphinx's generated ones and redirects."""
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    out = []
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir)
        if rel.parts[0] in {"_static", "_sources", "mathjax"} or p.name in skip:
            continue
        if 'http-equiv="Refresh"' in p.read_text(encoding="utf-8", errors="replace"):
            continue  # the root index.html redirect
        out.append(p)
    return out


def shot_name(html_dir: Path, page: Path) -> str:
    return str(page.relative_to(html_dir).with_suffix("")).replace("/", "__") + ".png"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default="/tmp/shots", type=Path)
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html",
                    help="built HTML folder (default: _build/html)")
    ap.add_argument("--dom", action="store_true",
                    help="count typeset / failed equations instead of taking pictures")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=1600)
    args = ap.parse_args(argv)

    browser = find_browser()
    if browser is None:
        print("screenshot: no chromium on the PATH; install it, e.g. "
              "apt-get install -y chromium", file=sys.stderr)
        return 2
    html_dir = args.html.resolve()
    found = pages(html_dir) if html_dir.is_dir() else []
    if not found:
        print(f"screenshot: no built pages under {html_dir}; run "
              "tools/build_book.py first", file=sys.stderr)
        return 2
    if not args.dom:
        args.outdir.mkdir(parents=True, exist_ok=True)

    bad = 0
    with tempfile.TemporaryDirectory() as profile:
        base = chromium_argv(browser, profile, args.width, args.height)
        for page in found:
            url = page.as_uri()
            rel = page.relative_to(html_dir)
            if args.dom:
                res = subprocess.run(base + ["--dump-dom", url], capture_output=True,
                                     text=True, timeout=120)
                dom = res.stdout
                ok = len(re.findall(r"<mjx-container\b", dom))
                err = len(re.findall(r"<mjx-merror\b", dom))
                has_math = 'class="math' in page.read_text(encoding="utf-8")
                flag = ""
                if err or (has_math and ok == 0) or res.returncode != 0:
                    flag = "  <-- PROBLEM"
                    bad += 1
                print(f"{str(rel):50s} mjx-container={ok:4d} mjx-merror={err:3d}{flag}")
            else:
                target = (args.outdir / shot_name(html_dir, page)).resolve()
                res = subprocess.run(base + [f"--screenshot={target}", url],
                                     capture_output=True, text=True, timeout=120)
                if res.returncode != 0 or not target.is_file():
                    print(f"screenshot: FAILED {rel}: {res.stderr.strip()[-500:]}",
                          file=sys.stderr)
                    bad += 1
                else:
                    print(f"{rel} -> {target}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
