"""Project files that must agree with each other."""

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli", reason="Python 3.10 reads TOML with tomli")


def _norm(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    spec = ",".join(sorted(p.strip() for p in m.group(2).replace(" ", "").split(",") if p.strip()))
    return name, spec


def _pyproject_deps():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    proj = data["project"]
    deps = list(proj["dependencies"])
    for extra, reqs in proj["optional-dependencies"].items():
        if extra.startswith("cuda"):
            continue  # GPU wheels: conda users take conda-forge's cupy instead
        deps += reqs
    return dict(_norm(d) for d in deps)


def _environment_deps():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    out = {}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            for p in d["pip"]:
                if not p.startswith("-e"):
                    name, spec = _norm(p)
                    out[name] = spec
            continue
        name, spec = _norm(d)
        if name not in ("python", "pip"):
            out[name] = spec
    return out, env


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    py = _pyproject_deps()
    conda, _ = _environment_deps()
    missing = sorted(set(py) - set(conda))
    extra = sorted(set(conda) - set(py))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    for name, spec in py.items():
        if spec != conda[name] and not (name in ("ipykernel",) and spec.split(",") == conda[name].split(",")):
            pytest.fail(f"{name}: pyproject.toml says {spec!r}, environment.yml says {conda[name]!r}")


def test_environment_yml_installs_the_package_and_python_range_matches():
    _, env = _environment_deps()
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    pyspec = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert _norm(pyspec)[1] == _norm("python" + data["project"]["requires-python"])[1]


def test_jupyter_book_is_version_1():
    assert _pyproject_deps()["jupyter-book"] == "<2,>=1.0.4"


def test_public_api_is_exported():
    import softmaxlab

    for name in softmaxlab.__all__:
        assert hasattr(softmaxlab, name), name
    assert sorted(set(softmaxlab.__all__)) == sorted(softmaxlab.__all__)


def test_ci_runs_the_readme_test_command_with_torch_required():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in ci and "SOFTMAXLAB_REQUIRE_TORCH=1" in ci and "torch==2.13.0" in ci


def test_license_file_matches_the_license_pyproject_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    titles = {"MIT": "MIT License"}
    assert declared in titles, f"no LICENSE check for {declared!r}: add its title here"
    assert text.splitlines()[0].strip() == titles[declared]
    assert "Permission is hereby granted, free of charge" in text
