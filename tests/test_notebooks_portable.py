"""Every notebook runs unchanged on another array backend, with the same printed output.

The performance issue asks that every notebook pass nbval with
``SOFTMAXLAB_BACKEND=cupy``, printing exactly what the NumPy run printed.  A GPU
is rarely at hand, so this test runs the nearest thing on a CPU: nbval over all
of ``book/`` with ``SOFTMAXLAB_BACKEND=array_api_strict``, and with the strict
arrays made to refuse implicit conversion to NumPy (``np.asarray(x)``, plotting
a backend array, a NumPy function applied to one), which CuPy refuses too.  A
cell that only works because NumPy quietly copies the data fails here, as it
would on a GPU.

array-api-strict is stricter than CuPy in one way (its arrays have no ``.sum()``
or ``.max()`` methods, and NumPy scalars do not mix with them), so a cell that
fails here may still run on CuPy; the notebooks are written to pass both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Run by IPython in every notebook kernel before the first cell (the same
#: patch the root conftest.py applies to the unit tests).
STARTUP = (ROOT / "tests" / "cupy_like.py").read_text(encoding="utf-8")


def test_startup_refuses_implicit_conversion(tmp_path):
    # The patch below must really bite, or the notebook run proves nothing.
    pytest.importorskip("array_api_strict")
    code = STARTUP + (
        "import numpy as np\n"
        "import softmaxlab as sml\n"
        "x = _xps.asarray([1.0, 2.0])\n"
        "print(sml.to_numpy(x).tolist())\n"
        "try:\n"
        "    np.asarray(x)\n"
        "except TypeError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.splitlines()[0] == "[1.0, 2.0]"
    assert out.splitlines()[1].startswith("refused: implicit conversion of a backend array")


def test_every_notebook_on_array_api_strict_without_implicit_copies(tmp_path):
    pytest.importorskip("array_api_strict")
    pytest.importorskip("nbval")
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-refuse-implicit-numpy.py").write_text(STARTUP)
    # A probe notebook first: its stored output says the kernels really run
    # the startup file and the backend variable (else nbval fails on it).
    nbformat = pytest.importorskip("nbformat")
    probe = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "import os\nimport numpy as np\nimport softmaxlab as sml\n"
        "x = sml.asarray([1.0])\n"
        "try:\n    np.asarray(x)\n    print('implicit copy allowed')\n"
        "except TypeError:\n    print('implicit copy refused')\n"
        "print(sml.get_backend())")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text="implicit copy refused\narray_api_strict\n")]
    probe.cells = [cell]
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    probe_path = tmp_path / "probe.ipynb"
    nbformat.write(probe, probe_path)
    env = dict(os.environ, SOFTMAXLAB_BACKEND="array_api_strict",
               IPYTHONDIR=str(tmp_path / "ipython"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
         str(probe_path), "book"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    tail = "\n".join(proc.stdout.splitlines()[-40:])
    assert proc.returncode == 0, f"nbval on array_api_strict failed:\n{tail}\n{proc.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail
