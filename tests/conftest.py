"""Shared fixtures: the array namespaces every numerical test runs under.

``xp`` parameterises a test over NumPy, array-api-strict and CuPy.  The CuPy leg
skips (with the reason) where CuPy or a CUDA device is missing.

``SOFTMAXLAB_REQUIRE_TORCH=1`` (set by ``.ci/run``) turns every test that
skipped because PyTorch is missing into a failure, so that the reference
comparisons cannot silently disappear in CI.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

REQUIRE_TORCH = os.environ.get("SOFTMAXLAB_REQUIRE_TORCH", "") not in ("", "0")

# The tests multiply small matrices: BLAS threads only fight over the cores
# (2 here), which made some training tests ten times slower.  Results do not
# change.  Kernels started by nbval inherit the variables.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
try:
    from threadpoolctl import threadpool_limits

    _BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    _BLAS_LIMIT = None


def _cupy_reason():
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as exc:  # CUDA driver missing
        return f"no usable CUDA device ({type(exc).__name__})"
    return None


CUPY_SKIP_REASON = _cupy_reason()


class Lib:
    """One array library as seen by a test: make arrays, read them back."""

    def __init__(self, name, mod):
        self.name = name
        self.mod = mod

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        if self.name == "numpy":
            return a
        if self.name == "array_api_strict":
            return self.mod.asarray(a)
        return self.mod.asarray(a)

    def numpy(self, a):
        from softmaxlab import to_numpy

        return to_numpy(a)

    def is_native(self, a):
        return type(a).__module__.split(".")[0] == self.mod.__name__.split(".")[0]

    def __repr__(self):
        return self.name


def _lib(name):
    if name == "numpy":
        return Lib("numpy", np)
    if name == "array_api_strict":
        import array_api_strict

        return Lib(name, array_api_strict)
    if CUPY_SKIP_REASON:
        pytest.skip(CUPY_SKIP_REASON)
    import cupy

    return Lib("cupy", cupy)


@pytest.fixture(params=["numpy", "array_api_strict", "cupy"])
def lib(request):
    """Every array library: NumPy, array-api-strict, CuPy (skipped without a GPU)."""
    return _lib(request.param)


@pytest.fixture(params=["numpy", "cupy"])
def fast_lib(request):
    """The libraries with fused kernels (NumPy on the CPU, CuPy on a GPU)."""
    return _lib(request.param)


def torch_or_skip():
    """Import torch, or skip (a failure when SOFTMAXLAB_REQUIRE_TORCH is set)."""
    return pytest.importorskip("torch", reason="PyTorch is not installed (reference tests)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if REQUIRE_TORCH and rep.skipped:
        reason = str(rep.longrepr[-1]) if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        if "torch" in reason.lower():
            rep.outcome = "failed"
            rep.longrepr = (f"SOFTMAXLAB_REQUIRE_TORCH is set but a PyTorch reference test "
                            f"skipped: {reason}")
