"""The backend switch: names, context manager, environment variable, dispatch."""

import subprocess
import sys

import numpy as np
import pytest

import softmaxlab as sml
from softmaxlab import _backend as B

from .conftest import CUPY_SKIP_REASON


def test_default_is_numpy_and_asarray_lands_there():
    assert sml.get_backend() == "numpy"
    x = sml.asarray([1.0, 2.0])
    assert isinstance(x, np.ndarray)


def test_set_backend_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown backend 'torch'.*'numpy', 'cupy'"):
        sml.set_backend("torch")
    with pytest.raises(ValueError, match="unknown backend"):
        sml.set_backend(3)


def test_use_backend_is_scoped_and_nests():
    import array_api_strict as xs

    with sml.use_backend("array_api_strict"):
        assert sml.get_backend() == "array_api_strict"
        x = sml.asarray([1.0, 2.0], dtype="float32")
        assert type(x).__module__.startswith("array_api_strict") and x.dtype == xs.float32
        with sml.use_backend("numpy"):
            assert isinstance(sml.asarray([1.0]), np.ndarray)
        assert sml.get_backend() == "array_api_strict"
    assert sml.get_backend() == "numpy"


def test_use_backend_restores_after_an_exception():
    with pytest.raises(RuntimeError):
        with sml.use_backend("array_api_strict"):
            raise RuntimeError("boom")
    assert sml.get_backend() == "numpy"


def test_set_backend_persists():
    sml.set_backend("array_api_strict")
    assert sml.get_backend() == "array_api_strict"
    sml.set_backend("numpy")
    assert sml.get_backend() == "numpy"


def test_to_numpy_round_trips_every_library(lib):
    a = lib.asarray([[1.5, -2.0]])
    back = sml.to_numpy(a)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, [[1.5, -2.0]])


def test_functions_return_the_input_library(lib):
    x = lib.asarray([[1.0, 2.0, 3.0]])
    for f in (sml.softmax, sml.log_softmax, sml.logsumexp):
        assert lib.is_native(f(x)), f.__name__
    loss, g = sml.cross_entropy_with_grad(x, lib.asarray(np.array([1])))
    assert lib.is_native(loss) and lib.is_native(g)


def test_mixing_libraries_names_both_types():
    import array_api_strict as xs

    with pytest.raises(TypeError, match=r"cross_entropy: cannot mix.*array_api_strict.*numpy"):
        sml.cross_entropy(np.zeros((2, 3)), xs.asarray(np.array([0, 1])))


def test_backend_does_not_override_input_library():
    # The backend decides where NEW arrays go; inputs keep their library.
    with sml.use_backend("array_api_strict"):
        out = sml.softmax(np.array([1.0, 2.0]))
    assert isinstance(out, np.ndarray)


def test_lists_are_converted_on_the_current_backend():
    with sml.use_backend("array_api_strict"):
        out = sml.softmax([1.0, 2.0])
    assert type(out).__module__.startswith("array_api_strict")


def _run(code, **env):
    import os

    e = dict(os.environ)
    e.pop("SOFTMAXLAB_BACKEND", None)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e)


def test_import_does_not_import_cupy():
    r = _run("import sys, softmaxlab, softmaxlab.losses, softmaxlab.special; "
             "import softmaxlab as s; s.softmax([1.0]); print('cupy' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_environment_variable_sets_the_default():
    r = _run("import softmaxlab as s; print(s.get_backend(), type(s.asarray([1.0])).__module__)",
             SOFTMAXLAB_BACKEND="array_api_strict")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "array_api_strict"
    assert r.stdout.split()[1].startswith("array_api_strict")


def test_environment_variable_bad_value_is_a_clear_error():
    r = _run("import softmaxlab as s; s.get_backend()", SOFTMAXLAB_BACKEND="tpu")
    assert r.returncode != 0
    assert "SOFTMAXLAB_BACKEND" in r.stderr and "'numpy'" in r.stderr


@pytest.mark.skipif(CUPY_SKIP_REASON is None, reason="CuPy with a GPU is present here")
def test_cupy_backend_without_gpu_says_what_is_missing():
    with pytest.raises((ImportError, RuntimeError), match=r"cupy|CuPy") as info:
        sml.set_backend("cupy")
    msg = str(info.value)
    if isinstance(info.value, ImportError):
        assert "pip install" in msg and "cupy-cuda12x" in msg
    else:
        assert "no CUDA device" in msg or "could be used" in msg
    assert sml.get_backend() == "numpy"


def test_cupy_missing_message_is_clear(monkeypatch):
    # Simulate a machine without CuPy, whatever this one has.
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "cupy" or name.startswith("cupy."):
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"set_backend: the 'cupy' backend needs CuPy.*cupy-cuda12x.*cupy-cuda13x"):
        B.set_backend("cupy")


def test_cupy_without_device_message(monkeypatch):
    # Simulate CuPy installed on a machine without a CUDA device.
    import types

    class _Err(Exception):
        pass

    def no_device():
        raise _Err("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.SimpleNamespace(
        __version__="14.2.0",
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device)),
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match=r"CuPy 14.2.0 is installed but no CUDA device"):
        B.set_backend("cupy")
    assert sml.get_backend() == "numpy"


def test_to_numpy_reads_array_api_strict_on_any_device():
    xps = pytest.importorskip("array_api_strict")
    info = xps.__array_namespace_info__()
    for device in info.devices():
        if str(device).endswith(("no_float64')", "no_x64')")):
            continue  # devices without float64 in array-api-strict
        x = xps.asarray([1.5, 2.5], device=device)
        got = sml.to_numpy(x)
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, [1.5, 2.5])


def test_strict_arrays_refuse_implicit_numpy_in_the_tests():
    # conftest.py makes the strict leg as strict as CuPy about host copies.
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="CuPy refuses it too"):
        np.asarray(xps.asarray([1.0]))
    np.testing.assert_array_equal(sml.to_numpy(xps.asarray([1.0])), [1.0])
