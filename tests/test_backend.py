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


# --------------------------------------------------------------------- array kinds
def test_cupy_device_query_runs_once_per_module(monkeypatch):
    # Issue 9 item 5: asarray on the CuPy backend asked the driver on every call.
    import types

    calls = []

    def count():
        calls.append(1)
        return 1

    def fake_cupy():
        return types.SimpleNamespace(__version__="14.2.0", cuda=types.SimpleNamespace(
            runtime=types.SimpleNamespace(getDeviceCount=count)))

    monkeypatch.setattr(B, "_cupy_checked", [None])
    first = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", first)
    for _ in range(3):
        assert B._import_cupy("test") is first
    assert len(calls) == 1
    second = fake_cupy()  # another module (e.g. reloaded): checked again
    monkeypatch.setitem(sys.modules, "cupy", second)
    assert B._import_cupy("test") is second
    assert len(calls) == 2


def test_a_failed_cupy_check_is_not_remembered(monkeypatch):
    import types

    answers = iter([0, 1])
    fake = types.SimpleNamespace(__version__="14.2.0", cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: next(answers))))
    monkeypatch.setattr(B, "_cupy_checked", [None])
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match="found no CUDA device"):
        B._import_cupy("test")
    assert B._import_cupy("test") is fake


MASKED = [
    np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
    np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[1, 1], [0, 1]]),
    np.ma.masked_array([1.0, 2.0]),  # nothing masked: still one rule
    np.ma.masked_invalid(np.array([np.nan, 1.0], dtype=np.float32)),
    np.ma.masked_array([1, 2], mask=[0, 1]),
]


@pytest.mark.parametrize("x", MASKED, ids=range(len(MASKED)))
@pytest.mark.parametrize("where_hint", [True, False])
def test_plain_array_refuses_masked_arrays(x, where_hint):
    n = int(np.ma.count_masked(x))
    with pytest.raises(TypeError) as info:
        B.plain_array(x, "fn", "scores", where_hint=where_hint)
    msg = str(info.value)
    assert msg.startswith("fn: argument 'scores' must be a plain array, not a numpy.ma "
                          "masked array")
    assert f"found a MaskedArray of shape {x.shape} with {n} masked entr" in msg
    assert ".filled(value)" in msg
    assert ("where=~x.mask" in msg) is where_hint


@pytest.mark.parametrize("code", ["f2", "f4", "f8", "g", "i4", "i8", "u2", "c16", "?"])
@pytest.mark.parametrize("order", ["<", ">", "=", "|"])
def test_plain_array_gives_native_byte_order(code, order):
    x = np.arange(6).reshape(2, 3).astype(np.dtype(code).newbyteorder(order))
    got = B.plain_array(x, "fn", "x")
    assert got.dtype.isnative
    assert got.dtype == np.dtype(code)  # same kind and size, native order
    np.testing.assert_array_equal(got, x)
    if x.dtype.isnative:
        assert got is x  # no copy where none is needed
    assert B.native_byte_order(x).dtype == got.dtype


@pytest.mark.parametrize("x", [[1.0, 2.0], 3.0, None, "a"])
def test_plain_array_passes_other_objects(x):
    assert B.plain_array(x, "fn", "x") is x


def test_plain_array_passes_other_libraries(lib):
    x = lib.asarray([1.0, 2.0])
    assert B.plain_array(x, "fn", "x") is x


def test_index_dtype_is_the_platform_intp(lib):
    xp = sml.array_namespace(lib.asarray([1.0]))
    dt = B.index_dtype(xp)
    if lib.name in ("numpy", "cupy"):
        assert dt == np.dtype(np.intp)  # int32 on wasm32 and 32-bit NumPy
    else:
        assert dt == xp.__array_namespace_info__().default_dtypes()["indexing"]
    for src in ("int8", "int32", "int64", "uint8"):
        i = lib.asarray(np.array([2, 0, 1]), dtype=src)
        got = B.as_indices(i, xp)
        assert got.dtype == dt
        np.testing.assert_array_equal(lib.numpy(got), [2, 0, 1])
        vals = xp.take(lib.asarray([10.0, 20.0, 30.0]), got, axis=0)
        np.testing.assert_array_equal(lib.numpy(vals), [30.0, 10.0, 20.0])
    i = B.as_indices(lib.asarray(np.array([1, 0]), dtype=np.intp), xp)
    assert B.as_indices(i, xp) is i


def test_take_with_int32_indices_works_on_numpy():
    # What a 32-bit build requires: as_indices gives intp there, which take takes.
    xp = sml.array_namespace(np.zeros(1))
    i = B.as_indices(np.array([1, 0], dtype=np.int32), xp)
    assert i.dtype == np.intp
    np.testing.assert_array_equal(np.take(np.array([5.0, 6.0]), i), [6.0, 5.0])


def _strict_devices():
    xps = pytest.importorskip("array_api_strict")
    return xps, xps.__array_namespace_info__().devices()


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_creation_helpers_follow_the_device_of_the_reference(which):
    xps, devices = _strict_devices()
    dev = devices[which]
    like = xps.asarray([1.0, 2.0], dtype=xps.float32, device=dev)
    made = {
        "full": B.full_on(like, (2, 3), -np.inf, xp=xps),
        "zeros": B.zeros_on(like, (4,), xp=xps),
        "empty": B.empty_on(like, (0, 2), xp=xps),
        "arange": B.arange_on(like, 5, xp=xps),
        "arange2": B.arange_on(like, 1, 7, 2, xp=xps),
    }
    for name, a in made.items():
        assert a.device == dev, name
    assert made["full"].dtype == xps.float32 and made["full"].shape == (2, 3)
    assert made["zeros"].dtype == xps.float32
    idx = B.index_dtype(xps, like)
    assert made["arange"].dtype == idx
    np.testing.assert_array_equal(sml.to_numpy(made["arange2"]), [1, 3, 5])
    assert B.full_on(like, (1,), 3, xp=xps, dtype=xps.int32).dtype == xps.int32
    # The taken values stay on the device too (no "two different devices" error).
    got = xps.take(like, B.arange_on(like, 2, xp=xps), axis=0)
    assert got.device == dev


def test_creation_helpers_on_numpy():
    xp = sml.array_namespace(np.zeros(1))
    like = np.zeros(3, dtype=np.float32)
    assert B.device_of(like) == "cpu"
    a = B.full_on(like, (2,), 1.5, xp=xp)
    assert type(a) is np.ndarray and a.dtype == np.float32
    np.testing.assert_array_equal(a, [1.5, 1.5])
    assert B.arange_on(like, 3, xp=xp).dtype == np.intp
    assert B.zeros_on(like, (2, 2), xp=xp, dtype=np.float64).dtype == np.float64
    assert B.empty_on(like, (0,), xp=xp).shape == (0,)


@pytest.mark.skipif(CUPY_SKIP_REASON is not None, reason=str(CUPY_SKIP_REASON))
def test_creation_helpers_on_cupy():
    import cupy

    xp = sml.array_namespace(cupy.zeros(1))
    like = cupy.zeros(3, dtype=cupy.float32)
    for a in (B.full_on(like, (2,), 1.0, xp=xp), B.zeros_on(like, (2,), xp=xp),
              B.empty_on(like, (2,), xp=xp), B.arange_on(like, 2, xp=xp)):
        assert isinstance(a, cupy.ndarray) and a.device == like.device
