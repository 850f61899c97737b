#!/usr/bin/env python3
"""Set up the local virtual environment and run the project's two jobs.

    python3 tools/dev.py book   # build the HTML book into _build/html/
    python3 tools/dev.py test   # run the whole test suite (unit, doctests, notebooks, strict build)
    python3 tools/dev.py lab    # JupyterLab on book/, with softmaxlab importable
    python3 tools/dev.py setup  # only create/refresh .venv
    python3 tools/dev.py lint   # ruff check (configured in pyproject.toml)
    python3 tools/dev.py test-fast  # unit tests + doctests: no notebooks, no slow tests
    python3 tools/dev.py notebooks  # re-execute book/*.ipynb in place, store outputs

`book` takes the options of tools/build_book.py (e.g. --lite offline).

`make book` / `make test` / `make lab` call this script.  The first run creates
`.venv` (Python >= 3.10 with pip; no conda, no GPU) and installs the package in
editable mode with its `book` and `test` extras; later runs reuse it and
reinstall only when pyproject.toml changed.  Extra arguments after `test` go
to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".softmaxlab-installed"


def run(*cmd, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def setup(extras: str = "book,test") -> None:
    if sys.version_info < (3, 10):  # noqa: UP036  (runs under any python3, before .venv)
        sys.exit(f"softmaxlab needs Python >= 3.10; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and PY.exists():
        return
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
    # The notebooks name the kernel "python3": register this environment under it.
    run(PY, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
        "--display-name", "Python 3 (softmaxlab)")
    STAMP.write_text(digest + "\n")


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    rest = argv[1:]
    if job == "setup":
        setup()
    elif job == "book":
        setup()
        run(PY, "tools/build_book.py", *rest)
    elif job == "test":
        setup()
        run(PY, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider", *rest)
    elif job == "test-fast":
        setup()
        run(PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
            "--ignore=book", "--ignore=tests/test_notebooks_portable.py",
            "--ignore=tests/test_browser.py", *rest)
    elif job == "lint":
        setup()
        run(PY, "-m", "ruff", "check", ".", *rest)
    elif job == "notebooks":
        setup()
        run(PY, "tools/run_notebooks.py", *rest)
    elif job == "lab":
        setup()
        run(PY, "-m", "pip", "install", "--quiet", "-e", ".[lab]")
        run(PY, "-m", "jupyter", "lab", "book/")
    else:
        print(__doc__)
        return 0 if job in ("help", "-h", "--help") else 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
