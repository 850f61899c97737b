#!/usr/bin/env python
"""Build the softmaxlab book strictly, with math that renders offline.

Usage::

    .venv/bin/python tools/build_book.py [--path-output DIR] [--lite cdn|offline]
                                         [--repository-url URL]

``make book`` runs it; ``make book LITE=offline`` passes ``--lite offline``
(also: environment variable ``SOFTMAXLAB_LITE=offline``).

Steps:

1. Copy MathJax 3.2.2 (the files ``tex-mml-chtml.js``,
   ``output/chtml/fonts/woff-v2/`` and ``input/tex/extensions/``) from the
   installed PyPI package ``django-static-mathjax`` into
   ``_mathjax_build/mathjax/`` (git-ignored).  ``_config.yml`` lists
   ``_mathjax_build`` in ``html_extra_path``, so the files land in
   ``<output>/html/mathjax/`` and every page loads MathJax from there.
   Idempotent: files already there with the same size are not copied again.
2. Prepare the JupyterLite site's inputs with ``tools/build_lite.py``
   (``_lite/`` and ``_site_extra/wheels/``): Pyodide 0.27.7's core and lock,
   softmaxlab's wheel built from this checkout, and, with ``--lite offline``,
   every Pyodide package file the book needs, checked against the official
   sha256 (the site is then self-contained).  jupyterlite-sphinx builds the
   lite site into ``<output>/html/lite/`` at the end of the Sphinx build.
3. Run ``jupyter-book build -W -n --keep-going --all`` (a warning is an error;
   every page is re-read, so no warning hides in a cached page) with the
   jupyter-book of the running Python, and exit with its status.

The HTML lands in ``<output>/_build/html/`` (``--path-output`` defaults to the
repository root).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_lite  # noqa: E402  (tools/ is not a package)

REPOSITORY_ENV = "SOFTMAXLAB_REPOSITORY_URL"
MATHJAX_DEST = ROOT / "_mathjax_build" / "mathjax"
MATHJAX_DIST = "django-static-mathjax"
#: Paths under MathJax's es5/ tree that offline rendering needs.
MATHJAX_FILES = (
    "tex-mml-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
)


def mathjax_source() -> Path:
    """Return the ``es5/`` folder of the installed django-static-mathjax package."""
    try:
        dist = importlib.metadata.distribution(MATHJAX_DIST)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(
            f"build_book: the package {MATHJAX_DIST!r} is not installed in "
            f"{sys.prefix}; it provides the offline copy of MathJax. "
            "Install the book extras: pip install -e '.[book]'"
        )
    es5 = Path(dist.locate_file("mathjax/static/mathjax/es5"))
    if not (es5 / "tex-mml-chtml.js").is_file():
        sys.exit(
            f"build_book: {MATHJAX_DIST} {dist.version} has no "
            f"mathjax/static/mathjax/es5/tex-mml-chtml.js under {es5.parent}; "
            "expected version 3.2.2.1"
        )
    return es5


def _copy_file(src: Path, dst: Path) -> int:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return 1


def copy_mathjax(dest: Path = MATHJAX_DEST) -> int:
    """Copy the needed MathJax files into *dest*; return how many were copied."""
    es5 = mathjax_source()
    copied = 0
    for rel in MATHJAX_FILES:
        src = es5 / rel
        if src.is_dir():
            for f in sorted(src.rglob("*")):
                if f.is_file():
                    copied += _copy_file(f, dest / f.relative_to(es5))
        else:
            copied += _copy_file(src, dest / rel)
    return copied


def jupyter_book_command() -> list[str]:
    """The jupyter-book of the running interpreter (the venv's), as argv."""
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "jupyter_book"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--path-output",
        type=Path,
        default=None,
        help="folder that receives _build/ (default: the repository root)",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="re-read only changed pages (faster, but then warnings of unchanged "
        "pages are not reported again; the default rebuilds every page)",
    )
    parser.add_argument(
        "--lite",
        choices=build_lite.MODES,
        default=os.environ.get("SOFTMAXLAB_LITE", "cdn"),
        help="where the JupyterLite site's Pyodide packages come from: 'cdn' "
        "(jsDelivr, at run time; the default) or 'offline' (copied into the "
        "site, which is then self-contained)",
    )
    parser.add_argument(
        "--repository-url",
        default=os.environ.get(REPOSITORY_ENV, ""),
        help="the source repository's public address, shown on the landing "
        f"page and as the theme's repository button (also: {REPOSITORY_ENV}); "
        "none by default",
    )
    args = parser.parse_args(argv)

    n = copy_mathjax()
    print(f"build_book: MathJax in {MATHJAX_DEST.relative_to(ROOT)} "
          f"({n} file(s) copied, the rest up to date)")

    t_lite = time.perf_counter()
    try:
        info = build_lite.prepare(args.lite)
    except (build_lite.LiteBuildError, subprocess.CalledProcessError) as exc:
        print(f"build_book: FAILED preparing the JupyterLite site: {exc}",
              file=sys.stderr)
        return 1
    print(f"build_book: JupyterLite inputs ({info['mode']}: "
          f"{len(info['packages'])} Pyodide packages, {info['wheel']}) in "
          f"{time.perf_counter() - t_lite:.0f} s", flush=True)
    env = dict(os.environ, **{REPOSITORY_ENV: args.repository_url.strip()})

    cmd = jupyter_book_command() + ["build", "-W", "-n", "--keep-going"]
    if not args.incremental:
        cmd.append("--all")
    out = ROOT if args.path_output is None else args.path_output.resolve()
    if args.path_output is not None:
        out.mkdir(parents=True, exist_ok=True)
        cmd += ["--path-output", str(out)]
    cmd.append(str(ROOT))
    print("build_book: " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    dt = time.perf_counter() - t0
    index = out / "_build" / "html" / "index.html"
    if rc != 0:
        print(f"build_book: FAILED (exit status {rc}, {dt:.0f} s): the strict build "
              "treats every warning as an error; see the messages above.",
              file=sys.stderr)
        return rc
    print(f"build_book: built in {dt:.0f} s with no warnings.")
    print(f"build_book: open {index}")
    print(f"            in a browser (file://{index}); the JupyterLite pages "
          f"(lite/) need a server: python -m http.server -d {index.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
