#!/usr/bin/env python3
"""Re-execute book notebooks in place and store their outputs.

    .venv/bin/python tools/run_notebooks.py                 # every notebook in book/
    .venv/bin/python tools/run_notebooks.py book/02_softmax.ipynb

Run it after changing library code that a chapter uses, then commit the
notebooks: `make test` validates the stored outputs with nbval.  Cells run with
the notebook's folder as the working directory, as under nbval.  `make notebooks`
runs it on every notebook.

Widget state is not stored in the notebook (``store_widget_state=False``): the
static page shows each interactive figure's still (an ordinary image output),
and a stored state would make the page load the widgets' JavaScript from a CDN.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=900, store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    print(f"{path.relative_to(ROOT)}: executed in {time.perf_counter() - t0:.1f} s", flush=True)


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "book").glob("*.ipynb"))
    for p in paths:
        execute(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
