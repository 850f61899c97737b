"""The fused CUDA kernels of ``softmaxlab.kernels.cuda``.

Three groups:

* checks that run anywhere: importing the module does not import CuPy; the
  launch plan picks the kernel it should; the CUDA source compiles (with
  NVRTC, the compiler CuPy uses, when a ``libnvrtc`` is found, else with
  ``nvcc --ptx``; skipped when neither is there);
* checks that need CuPy and a CUDA device (skipped otherwise, with the
  reason): ``ce_rows_cupy`` and ``softmax_lastaxis_cupy`` against a float64
  NumPy reference written here, and against PyTorch when it is installed, over
  many shapes (a class count of 1, counts that are not a multiple of a warp
  or of the vector width, up to 128256), the three dtypes, class weights,
  ``ignore_index`` (also every row ignored), label smoothing, masked ``-inf``
  logits, NaN / ``+inf`` / all ``-inf`` rows and out-of-range labels.  Output
  arrays are filled with NaN before each launch, so an element the kernel
  forgets to write shows up; the logits are compared bit for bit afterwards;
* the same launches on the CPU (machines without a GPU, when g++ is there):
  the CUDA source compiled as C++ against a small emulation of the CUDA
  execution model, compared with the same float64 reference.  This is what
  checks the kernels' logic in CI; a GPU session still has to run the real
  thing (``benchmarks/gpu_session.sh``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources

import numpy as np
import pytest

from softmaxlab.kernels import cuda as K

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


# ---------------------------------------------------------------------------
# Device detection
# ---------------------------------------------------------------------------
def _gpu_reason() -> str | None:
    """None when CuPy and a CUDA device are usable, else why not."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"CuPy {cupy.__version__} finds no usable CUDA device ({type(exc).__name__})"
    if n < 1:
        return f"CuPy {cupy.__version__} finds no CUDA device"
    return None


_GPU_REASON = _gpu_reason()
gpu = pytest.mark.skipif(_GPU_REASON is not None, reason=_GPU_REASON or "")

SMALL_C = (1, 2, 3, 31, 32, 33, 1000, 1023, 4096, 4097)
LARGE_C = (32000, 128256)
ALL_C = SMALL_C + LARGE_C
ALL_N = (1, 3, 257, 4096)
MAX_ELEMENTS = 1 << 25  # keeps the float64 NumPy reference quick


# ---------------------------------------------------------------------------
# Runs anywhere
# ---------------------------------------------------------------------------
def test_import_does_not_import_cupy():
    code = "import sys, softmaxlab.kernels.cuda; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_plan_register_rows_up_to_the_threshold(dtype):
    _, vec, cap = K._TRAITS[dtype]
    limit = 512 * cap
    assert K._plan(limit, dtype, True)[0] == "reg"
    assert K._plan(limit + vec, dtype, True)[0] == "big"
    # warp per row up to 32 * cap columns, then a block
    assert K._plan(32 * cap, dtype, True)[2] == 32
    assert K._plan(32 * cap + 1, dtype, False)[2] == 128
    for c in ALL_C:
        plan = K._plan(c, dtype, True)
        if plan[0] == "reg":
            _, v, rt, items = plan
            assert rt * items >= c and items % v == 0
        # every plan the launcher can make is compiled in the module of its dtype and mode
        for mode in K._MODES.values():
            for vectorised in (True, False):
                name = K._kernel_name(K._plan(c, dtype, vectorised), dtype, mode)
                assert name in K._all_kernel_names(dtype, mode)


def test_plan_scalar_path_when_not_vectorised():
    assert K._plan(1000, "float32", False)[1] == 1
    assert K._plan(1000, "float32", True)[1] == 4
    assert K._plan(128256, "float16", True) == ("big", 8, 1024)
    assert K._plan(128256, "float64", True) == ("big", 2, 512)


def test_plan_follows_the_block_size_knob():
    assert K._plan(32000, "float32", True, big_threads=512) == ("big", 4, 512)
    assert K._plan(32000, "float32", True) == ("big", 4, K.BIG_THREADS)
    name = K._kernel_name(K._plan(32000, "float32", True, big_threads=512), "float32", 0)
    assert name in K._all_kernel_names("float32", 0)


def _find_nvrtc() -> str | None:
    env = os.environ.get("SOFTMAXLAB_NVRTC_LIB")
    if env:
        return env
    candidates = []
    for base in sys.path:
        candidates += glob.glob(os.path.join(base, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.*"))
        candidates += glob.glob(os.path.join(base, "nvidia", "cu*", "lib", "libnvrtc.so.*"))
    for cuda in sorted(glob.glob("/usr/local/cuda*/lib64")):
        candidates += glob.glob(os.path.join(cuda, "libnvrtc.so*"))
    found = ctypes.util.find_library("nvrtc")
    if found:
        candidates.append(found)
    candidates = [c for c in candidates if "builtins" not in c and "alt" not in os.path.basename(c)]
    return candidates[0] if candidates else None


def _find_nvcc() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    hits = sorted(glob.glob("/usr/local/cuda*/bin/nvcc"))
    return hits[-1] if hits else None


def _compile_subset() -> list[str]:
    """One instantiation of each kernel kind and dtype, quick to compile.

    (All of them, ``K.kernel_instantiations()``, compile too: that takes a minute.)
    """
    ce, sm, lsm = K._MODES["ce"], K._MODES["softmax"], K._MODES["log_softmax"]
    names = {
        K._kernel_name(("reg", 4, 32, 32), "float32", ce),
        K._kernel_name(("reg", 4, 128, 32), "float32", ce),
        K._kernel_name(("reg", 1, 512, 32), "float32", ce),
        K._kernel_name(("big", 4, 1024), "float32", ce),
        K._kernel_name(("reg", 8, 32, 32), "float16", ce),
        K._kernel_name(("big", 8, 1024), "float16", sm),
        K._kernel_name(("big", 4, 512), "float32", ce),
        K._kernel_name(("reg", 2, 128, 16), "float64", lsm),
        K._kernel_name(("big", 2, 512), "float64", ce),
    }
    assert names <= set(K.kernel_instantiations())
    return sorted(names)


def _nvrtc_compile(lib_path: str, source: str, names: list[str], arch: str = "compute_90") -> str:
    """Compile with NVRTC (as CuPy does); returns the log, raises on failure."""
    lib = ctypes.CDLL(lib_path)
    prog = ctypes.c_void_p()
    rc = lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"softmaxlab.cu", 0, None, None)
    assert rc == 0, f"nvrtcCreateProgram returned {rc}"
    try:
        for n in names:
            assert lib.nvrtcAddNameExpression(prog, n.encode()) == 0
        opts = [f"--gpu-architecture={arch}".encode()]
        rc = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, buf)
        log = buf.value.decode(errors="replace")
        assert rc == 0, f"NVRTC failed ({rc}):\n{log}"
        for n in names:
            lowered = ctypes.c_char_p()
            assert lib.nvrtcGetLoweredName(prog, n.encode(), ctypes.byref(lowered)) == 0, n
            assert lowered.value, n
        return log
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def test_cuda_source_compiles():
    """The kernel source compiles for sm_90, warning-free, for every dtype and kernel kind."""
    names = _compile_subset()
    lib = _find_nvrtc()
    if lib is not None:
        try:
            log = _nvrtc_compile(lib, K.kernel_source(), names)
        except AssertionError as exc:  # an NVRTC older than CUDA 11.8 has no compute_90
            if "compute_90" not in str(exc) and "gpu-architecture" not in str(exc):
                raise
            log = _nvrtc_compile(lib, K.kernel_source(), names, arch="compute_80")
        assert "warning" not in log.lower(), log
        return
    nvcc = _find_nvcc()
    if nvcc is None:
        pytest.skip("neither libnvrtc nor nvcc found (set SOFTMAXLAB_NVRTC_LIB to a libnvrtc.so)")
    src = K.kernel_source() + "\nvoid* sl_instances[] = {\n" + ",\n".join(f"  (void*)&{n}" for n in names) + "\n};\n"
    with tempfile.TemporaryDirectory() as tmp:
        cu = os.path.join(tmp, "k.cu")
        with open(cu, "w") as f:
            f.write(src)
        t0 = time.perf_counter()
        out = subprocess.run([nvcc, "-arch=sm_90", "--ptx", "-o", os.path.join(tmp, "k.ptx"), cu],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "warning" not in out.stderr.lower(), out.stderr
        with open(os.path.join(tmp, "k.ptx")) as f:
            ptx = f.read()
    assert ptx.count(".entry") == len(names)
    assert time.perf_counter() - t0 < 120


def test_every_instantiation_name_is_well_formed():
    names = K.kernel_instantiations()
    # per mode: 2 load widths x (4 register tiers + long-row block sizes: 2, or 1 for float64)
    assert len(names) == len(set(names)) == 3 * (12 + 12 + 10)
    assert all(n.startswith(("sl_rows_reg<", "sl_rows_big<")) for n in names)


# ---------------------------------------------------------------------------
# The float64 reference (the formula of the docstring, written plainly)
# ---------------------------------------------------------------------------
def _logsumexp64(z):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(z, axis=1, keepdims=True)
        m_safe = np.where(np.isfinite(m), m, 0.0)
        s = np.sum(np.exp(z - m_safe), axis=1, keepdims=True)
        lse = (np.log(s) + m_safe)[:, 0]
        # a row with NaN / +inf, or only -inf, is NaN (the kernel's convention)
        bad = np.isnan(z).any(axis=1) | np.isposinf(z).any(axis=1) | np.isneginf(z).all(axis=1)
    return np.where(bad, np.nan, lse)


def _ce_ref(z, y, *, weight=None, ignore_index=None, eps=0.0, grad_scale=1.0):
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, c = z.shape
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    W = w.sum()
    lse = _logsumexp64(z)
    loss = np.zeros(n)
    grad = np.zeros((n, c))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for i in range(n):
            if ignore_index is not None and y[i] == ignore_index:
                continue
            if not 0 <= y[i] < c:
                loss[i] = np.nan
                grad[i] = np.nan
                continue
            if np.isnan(lse[i]):
                loss[i] = np.nan
                grad[i] = np.nan
                continue
            wy = w[y[i]]
            cy = (1 - eps) * wy
            main = 0.0 if cy == 0 else cy * (lse[i] - z[i, y[i]])
            nz = w != 0
            smooth = (eps / c) * np.sum(w[nz] * (lse[i] - z[i, nz])) if eps != 0 else 0.0
            loss[i] = main + smooth
            p = np.exp(z[i] - lse[i])
            g = p * (cy + eps * W / c) - (eps / c) * w
            g[y[i]] -= cy
            grad[i] = grad_scale * g
    return loss, grad


def _softmax_ref(z, log):
    z = np.asarray(z, dtype=np.float64)
    lse = _logsumexp64(z)[:, None]
    with np.errstate(invalid="ignore"):
        return z - lse if log else np.exp(z - lse)


# ---------------------------------------------------------------------------
# GPU helpers
# ---------------------------------------------------------------------------
TOL = {  # (loss rtol, loss atol, grad rtol, grad atol)
    "float16": (2e-5, 2e-5, 2e-3, 2e-5),
    "float32": (2e-5, 2e-5, 1e-4, 1e-6),
    "float64": (1e-11, 1e-11, 1e-10, 1e-13),
}


def _inputs(n, c, dtype, seed, *, shift=True, aligned=True):
    """Random logits (and labels) as host arrays, plus the device copy of the logits."""
    import cupy as cp

    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(n, c))
    if shift and n > 1:
        z[1] += 60.0 if dtype == "float16" else 1000.0  # where exp(z) overflows without the shift
    z = z.astype(dtype)
    y = rng.integers(0, c, size=n)
    if aligned:
        dz = cp.asarray(z)
    else:  # a C-contiguous view whose data pointer is 1 element past an aligned one
        flat = cp.empty(n * c + 1, dtype=dtype)
        dz = flat[1:].reshape(n, c)
        dz[...] = cp.asarray(z)
        assert dz.flags.c_contiguous
    return z, y, dz


def _poisoned(shape, dtype):
    import cupy as cp

    a = cp.empty(shape, dtype=dtype)
    a.fill(np.nan)
    return a


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _run_ce(dz, y, **kw):
    """ce_rows_cupy with a NaN-filled gradient buffer; checks the logits are untouched."""
    import cupy as cp

    before = cp.asnumpy(dz)
    out = _poisoned(dz.shape, dz.dtype)
    loss, grad = K.ce_rows_cupy(dz, cp.asarray(y), out=out, **kw)
    assert grad is out
    np.testing.assert_array_equal(_bits(cp.asnumpy(dz)), _bits(before))
    return cp.asnumpy(loss), cp.asnumpy(grad).astype(np.float64)


def _check(dtype, loss, grad, rloss, rgrad):
    lr, la, gr, ga = TOL[dtype]
    assert loss.dtype == (np.float64 if dtype == "float64" else np.float32)
    finite = np.abs(rloss[np.isfinite(rloss)])
    np.testing.assert_allclose(loss, rloss, rtol=lr, atol=la * max(1.0, finite.max(initial=0.0)))
    np.testing.assert_allclose(grad, rgrad, rtol=gr, atol=ga)


def _cases():
    out = []
    for c in ALL_C:
        for n in ALL_N:
            if n * c <= MAX_ELEMENTS:
                out.append(pytest.param(n, c, "float32", id=f"f32-{n}x{c}"))
    for c in (1, 3, 33, 1000, 4097, 32000, 128256):
        for n in (3, 257):
            for dtype in ("float16", "float64"):
                out.append(pytest.param(n, c, dtype, id=f"{dtype}-{n}x{c}"))
    return out


# ---------------------------------------------------------------------------
# ce_rows_cupy
# ---------------------------------------------------------------------------
@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("n, c, dtype", _cases())
def test_ce_matches_reference(n, c, dtype):
    z, y, dz = _inputs(n, c, dtype, seed=n * 7919 + c)
    loss, grad = _run_ce(dz, y)
    rloss, rgrad = _ce_ref(z, y)
    _check(dtype, loss, grad, rloss, rgrad)


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", [4, 31, 1000, 1024, 4096, 8192, 16384, 32000, 128256])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_ce_unaligned_rows_take_the_scalar_path(c, dtype):
    n = 5
    z, y, dz = _inputs(n, c, dtype, seed=c, aligned=False)
    assert dz.data.ptr % 16 != 0
    loss, grad = _run_ce(dz, y, label_smoothing=0.1)
    rloss, rgrad = _ce_ref(z, y, eps=0.1)
    _check(dtype, loss, grad, rloss, rgrad)


OPTION_C = (3, 33, 1000, 4097, 20000, 32000, 128256)  # every kernel kind


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", OPTION_C)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "opts",
    [
        dict(weight=True),
        dict(eps=0.1),
        dict(eps=1.0),
        dict(weight=True, eps=0.25, ignore=True),
        dict(ignore=True, grad_scale=0.37),
        dict(weight=True, zero_weight=True, eps=0.2),
    ],
    ids=["weight", "smooth", "smooth1", "weight-smooth-ignore", "ignore-scale", "zero-weights"],
)
def test_ce_options(c, dtype, opts):
    n = 17
    z, y, dz = _inputs(n, c, dtype, seed=c + 3)
    rng = np.random.default_rng(c)
    w = None
    if opts.get("weight"):
        w = rng.uniform(0.1, 2.0, size=c).astype(np.float64 if dtype == "float64" else np.float32)
        if opts.get("zero_weight"):
            w[::3] = 0.0
            z[:, ::3] = -np.inf  # zero-weight classes may be masked: they must add 0, not NaN
            y = np.where(y % 3 == 0, np.where(y + 1 < c, y + 1, y - 1), y)  # labels keep a weight
            assert (w[y] != 0).all()
            dz[...] = __import__("cupy").asarray(z)
    ignore = -100 if opts.get("ignore") else None
    if ignore is not None:
        y[::4] = ignore
    eps = opts.get("eps", 0.0)
    gs = opts.get("grad_scale", 1.0)
    import cupy as cp

    kw = dict(weight=None if w is None else cp.asarray(w), ignore_index=ignore, label_smoothing=eps, grad_scale=gs)
    loss, grad = _run_ce(dz, y, **kw)
    rloss, rgrad = _ce_ref(z, y, weight=w, ignore_index=ignore, eps=eps, grad_scale=gs)
    _check(dtype, loss, grad, rloss, rgrad)
    if ignore is not None:
        assert (loss[::4] == 0).all() and (grad[::4] == 0).all()


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", [5, 1000, 32000])
def test_ce_grad_scale_as_device_scalar_and_zero(c):
    import cupy as cp

    z, y, dz = _inputs(6, c, "float32", seed=1)
    for gs in (cp.asarray(0.25), cp.asarray(0.25, dtype=cp.float64), 0.0):
        loss, grad = _run_ce(dz, y, grad_scale=gs)
        rloss, rgrad = _ce_ref(z, y, grad_scale=float(gs))
        _check("float32", loss, grad, rloss, rgrad)


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", [7, 1000, 4097, 32000])
def test_ce_every_row_ignored(c):
    import cupy as cp

    z, _, dz = _inputs(9, c, "float32", seed=2)
    y = np.full(9, -1)
    loss, grad = _run_ce(dz, y, ignore_index=-1, grad_scale=0.0)
    assert (loss == 0).all() and (grad == 0).all()
    loss2, none = K.ce_rows_cupy(dz, cp.asarray(y), ignore_index=-1, want_grad=False)
    assert none is None and (cp.asnumpy(loss2) == 0).all()


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", [2, 33, 1000, 4097, 32000, 128256])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_ce_non_finite_rows(c, dtype):
    """Masked -inf classes have p = 0; NaN, +inf and all -inf rows give NaN; others are untouched."""
    import cupy as cp

    n = 8
    z, y, _ = _inputs(n, c, dtype, seed=c + 11, shift=False)
    z[0, (y[0] + 1) % c] = -np.inf if c > 1 else z[0, 0]        # one masked class
    z[1, :] = -np.inf; z[1, y[1]] = 0.5                            # only the label class left
    z[2, c // 2] = np.nan
    z[3, c - 1] = np.inf
    z[4, :] = -np.inf
    z[5, ::2] = -np.inf; z[5, 1 if c > 1 else 0] = 1.0             # many masked classes
    if c > 1:
        y[5] = 1
    dz = cp.asarray(z)
    for eps in (0.0, 0.1):
        loss, grad = _run_ce(dz, y, label_smoothing=eps)
        rloss, rgrad = _ce_ref(z, y, eps=eps)
        bad = [2, 3, 4]
        assert np.isnan(loss[bad]).all() and np.isnan(grad[bad]).all()
        good = [0, 1, 5, 6, 7]
        _check(dtype, loss[good], grad[good], rloss[good], rgrad[good])
        if eps == 0.0:
            masked = np.isneginf(z[good])
            assert (grad[good][masked] == 0).all()  # p = 0 exactly


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("c", [3, 1000, 4097, 32000])
def test_ce_out_of_range_label_gives_nan_and_reads_nothing(c):
    z, y, dz = _inputs(6, c, "float32", seed=5)
    y[1] = c
    y[2] = -7
    y[3] = 2**40
    loss, grad = _run_ce(dz, y, ignore_index=-100)
    assert np.isnan(loss[1:4]).all()
    rloss, rgrad = _ce_ref(z, y)
    _check("float32", loss[[0, 4, 5]], grad[[0, 4, 5]], rloss[[0, 4, 5]], rgrad[[0, 4, 5]])


@gpu
@pytest.mark.gpu
def test_ce_want_grad_false_and_int32_labels():
    import cupy as cp

    z, y, dz = _inputs(257, 1000, "float32", seed=9)
    loss, none = K.ce_rows_cupy(dz, cp.asarray(y, dtype=cp.int32), want_grad=False, label_smoothing=0.1)
    assert none is None
    rloss, _ = _ce_ref(z, y, eps=0.1)
    _check("float32", cp.asnumpy(loss), np.zeros((1, 1)), rloss, np.zeros((1, 1)))


@gpu
@pytest.mark.gpu
def test_ce_empty_batch():
    import cupy as cp

    loss, grad = K.ce_rows_cupy(cp.zeros((0, 10), dtype=cp.float32), cp.zeros((0,), dtype=cp.int64))
    assert loss.shape == (0,) and grad.shape == (0, 10)


def _starts(text: str) -> str:
    """A ``match=`` pattern for a message that starts with `text`, taken literally."""
    return "^" + re.escape(text)


@gpu
@pytest.mark.gpu
def test_ce_bad_arguments_raise_clear_errors():
    import cupy as cp

    z = cp.zeros((4, 5), dtype=cp.float32)
    y = cp.zeros(4, dtype=cp.int64)
    ce, sm = "ce_rows_cupy: argument ", "softmax_lastaxis_cupy: argument "
    with pytest.raises(TypeError, match=_starts(ce + "'logits' must be a cupy.ndarray; found ndarray")):
        K.ce_rows_cupy(np.zeros((4, 5), np.float32), y)
    with pytest.raises(TypeError, match=_starts(
            ce + "'logits' must have dtype float16, float32 or float64; found dtype int32")):
        K.ce_rows_cupy(z.astype(cp.int32), y)
    with pytest.raises(ValueError, match=_starts(
            ce + "'logits' must be C-contiguous; found a non-contiguous array")):
        K.ce_rows_cupy(cp.zeros((5, 4), dtype=cp.float32).T, y)
    with pytest.raises(ValueError, match=_starts(ce + "'logits' must be 2-D (N, C); found shape (5,)")):
        K.ce_rows_cupy(z[0], y)
    with pytest.raises(TypeError, match=_starts(
            ce + "'labels' must be an integer cupy.ndarray of shape (4,); found ") + r"\w+ of dtype float32"):
        K.ce_rows_cupy(z, y.astype(cp.float32))
    with pytest.raises(ValueError, match=_starts(ce + "'label_smoothing' must be a number in [0, 1]; found 1.5")):
        K.ce_rows_cupy(z, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match=_starts(
            ce + "'weight' must be a cupy.ndarray of shape (5,); found ") + r"\w+ of shape \(4,\)"):
        K.ce_rows_cupy(z, y, weight=cp.ones(4))
    with pytest.raises(ValueError, match=_starts(
            ce + "'out' must be a C-contiguous float32 array of shape (4, 5); found float64 of shape (4, 5)")):
        K.ce_rows_cupy(z, y, out=cp.zeros((4, 5), dtype=cp.float64))
    with pytest.raises(ValueError, match=_starts(ce + "'out' must not overlap the input array 'logits'")):
        K.ce_rows_cupy(z, y, out=z)
    with pytest.raises(ValueError, match=_starts(sm + "'out' must not overlap the input array 'x'")):
        K.softmax_lastaxis_cupy(z, out=z)
    with pytest.raises(TypeError, match=_starts(
            sm + "'x' must have dtype float16, float32 or float64; found dtype int64")):
        K.softmax_lastaxis_cupy(z.astype(cp.int64))


@gpu
@pytest.mark.gpu
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 40),
    c=st.sampled_from([1, 2, 5, 32, 100, 1000, 5000, 20000]),
    shift=st.floats(-500, 500),
    eps=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_ce_invariants(n, c, shift, eps, seed):
    """Gradient rows sum to 0; adding a constant to a row changes neither loss nor gradient."""
    import cupy as cp

    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, c))
    y = cp.asarray(rng.integers(0, c, size=n))
    l1, g1 = K.ce_rows_cupy(cp.asarray(z), y, label_smoothing=eps)
    l2, g2 = K.ce_rows_cupy(cp.asarray(z + shift), y, label_smoothing=eps)
    g1 = cp.asnumpy(g1)
    np.testing.assert_allclose(g1.sum(axis=1), 0.0, atol=1e-12 * c)
    np.testing.assert_allclose(cp.asnumpy(l2), cp.asnumpy(l1), rtol=1e-10, atol=1e-10 * (1 + abs(shift)))
    np.testing.assert_allclose(cp.asnumpy(g2), g1, atol=1e-12 * (1 + abs(shift)))
    assert (cp.asnumpy(l1) >= 0).all()


torch = None
try:  # torch is optional here; CI installs it
    import torch  # noqa: F811
except Exception:  # pragma: no cover
    torch = None


@gpu
@pytest.mark.gpu
@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("c", [3, 1000, 4097, 32000])
@pytest.mark.parametrize(
    "weight, ignore, eps", [(False, False, 0.0), (True, True, 0.0), (True, False, 0.3), (False, True, 0.1)]
)
def test_ce_matches_torch(c, weight, ignore, eps):
    import cupy as cp
    import torch.nn.functional as F

    n = 33
    z, y, dz = _inputs(n, c, "float64", seed=c + 17)
    w = np.random.default_rng(c).uniform(0.2, 3.0, size=c) if weight else None
    if ignore:
        y[::5] = -100
    loss, grad = _run_ce(dz, y, weight=None if w is None else cp.asarray(w),
                         ignore_index=-100 if ignore else None, label_smoothing=eps, grad_scale=0.5)
    tz = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    tl = F.cross_entropy(tz, torch.tensor(y), weight=None if w is None else torch.tensor(w),
                         ignore_index=-100, label_smoothing=eps, reduction="none")
    (0.5 * tl.sum()).backward()
    np.testing.assert_allclose(loss, tl.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad, tz.grad.numpy(), rtol=1e-9, atol=1e-13)


# ---------------------------------------------------------------------------
# softmax_lastaxis_cupy
# ---------------------------------------------------------------------------
@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("c", [1, 3, 33, 1000, 1023, 4097, 32000, 128256])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_softmax_matches_reference(c, dtype, log):
    import cupy as cp

    n = 7
    z, _, dz = _inputs(n, c, dtype, seed=c + 23)
    z[0, ::3] = -np.inf if c > 1 else z[0, 0]
    z[4, :] = -np.inf
    dz = cp.asarray(z)
    before = cp.asnumpy(dz)
    out = _poisoned(dz.shape, dz.dtype)
    res = K.softmax_lastaxis_cupy(dz, log=log, out=out)
    assert res is out
    np.testing.assert_array_equal(_bits(cp.asnumpy(dz)), _bits(before))
    got = cp.asnumpy(res).astype(np.float64)
    ref = _softmax_ref(z, log)
    # every class masked: softmax 0, log_softmax -inf (the reference path's answer)
    assert (got[4] == (-np.inf if log else 0.0)).all()
    rtol = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}[dtype]
    atol = {"float16": 1e-5, "float32": 1e-6, "float64": 1e-14}[dtype]
    if log:
        atol = atol * (1 + np.nanmax(np.abs(np.where(np.isfinite(ref), ref, 0))))
    keep = [0, 1, 2, 3, 5, 6]
    np.testing.assert_allclose(got[keep], ref[keep], rtol=rtol, atol=atol)
    if not log:
        np.testing.assert_allclose(got[keep].sum(axis=1), 1.0, rtol=50 * rtol)
        assert (got[0][np.isneginf(z[0])] == 0).all()
    # without out= it allocates
    again = K.softmax_lastaxis_cupy(dz, log=log)
    np.testing.assert_array_equal(_bits(cp.asnumpy(again)), _bits(cp.asnumpy(res)))


@gpu
@pytest.mark.gpu
def test_softmax_nan_and_inf_rows():
    import cupy as cp

    z = np.array([[1.0, np.nan, 2.0], [1.0, np.inf, 2.0], [1000.0, 1.0, -np.inf]])
    got = cp.asnumpy(K.softmax_lastaxis_cupy(cp.asarray(z), log=True))
    assert np.isnan(got[:2]).all()
    np.testing.assert_allclose(got[2], [0.0, -999.0, -np.inf])


# ---------------------------------------------------------------------------
# The same kernels on the CPU: the CUDA source compiled as C++ against a small
# emulation of the CUDA execution model (one OS thread per CUDA thread, blocks
# one after another, __syncthreads and warp shuffles as barriers, shared memory
# as statics).  It runs the launches of kernels.cuda._launch unchanged, so the
# index arithmetic, the reductions, the shared-memory cache and the non-finite
# handling are checked on machines without a GPU.  Needs g++ (C++20).
# ---------------------------------------------------------------------------
_EMU_PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <math.h>

struct emu_dim3 { unsigned x = 0, y = 0, z = 0; };
thread_local emu_dim3 threadIdx, blockIdx, blockDim;
struct EmuWarp { std::barrier<>* bar; double slot[32]; };
thread_local EmuWarp* emu_warp = nullptr;
thread_local int emu_lane = 0;
static std::barrier<>* emu_block_bar = nullptr;
alignas(16) static unsigned char emu_dyn_smem[256 * 1024];

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__
#define __align__(n) alignas(n)
#define __shared__ static
inline void __syncthreads() { emu_block_bar->arrive_and_wait(); }
template <typename T> T __shfl_xor_sync(unsigned, T v, int off) {
    emu_warp->slot[emu_lane] = (double)v;
    emu_warp->bar->arrive_and_wait();
    T r = (T)emu_warp->slot[emu_lane ^ off];
    emu_warp->bar->arrive_and_wait();
    return r;
}
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
inline float emu_h2f(unsigned short h) { _Float16 v; std::memcpy(&v, &h, 2); return (float)v; }
inline unsigned short emu_f2h(float f) { _Float16 v = (_Float16)f; unsigned short h; std::memcpy(&h, &v, 2); return h; }
// rows.cu's hooks (its defaults are PTX and CUDA's extern __shared__).
#define SL_H2F(h, f) ((f) = emu_h2f(h))
#define SL_F2H(a, h) ((h) = emu_f2h(a))
#define SL_DYN_SMEM_DECL unsigned char* sl_dyn_smem = emu_dyn_smem
"""

_EMU_EPILOGUE = r"""
template <typename... Ts, std::size_t... I>
static void emu_invoke(void (*k)(Ts...), void** p, std::index_sequence<I...>) {
    k(*reinterpret_cast<Ts*>(p[I])...);
}
template <typename... Ts> static void emu_invoke(void (*k)(Ts...), void** p) {
    emu_invoke(k, p, std::index_sequence_for<Ts...>{});
}
typedef void (*emu_fn)(void**);
static std::map<std::string, emu_fn>& emu_table() {
    static std::map<std::string, emu_fn> t = {
%TABLE%
    };
    return t;
}
extern "C" int emu_launch(const char* name, unsigned grid, unsigned block, void** params) {
    auto it = emu_table().find(name);
    if (it == emu_table().end() || block % 32 != 0) return 1;
    emu_fn fn = it->second;
    for (unsigned b = 0; b < grid; ++b) {  // blocks one after another, threads of a block at once
        std::barrier<> bar(block);
        emu_block_bar = &bar;
        std::vector<std::unique_ptr<std::barrier<>>> wb;
        std::vector<EmuWarp> warps(block / 32);
        for (unsigned w = 0; w < block / 32; ++w) {
            wb.emplace_back(new std::barrier<>(32));
            warps[w].bar = wb[w].get();
        }
        std::vector<std::thread> ts;
        ts.reserve(block);
        for (unsigned t = 0; t < block; ++t) {
            ts.emplace_back([&, t] {
                threadIdx.x = t; blockIdx.x = b; blockDim.x = block;
                emu_warp = &warps[t / 32]; emu_lane = t % 32;
                fn(params);
            });
        }
        for (auto& th : ts) th.join();
    }
    return 0;
}
"""

EMU_OPTIN = 232448  # H100 / H200 shared memory per block, opt-in


def _emu_source(names):
    """The emulation: the prelude's hooks, then ``rows.cu`` included as it is."""
    path = resources.files("softmaxlab.kernels") / "rows.cu"
    table = ",\n".join(f'        {{"{n}", [](void** p) {{ emu_invoke(&{n}, p); }}}}' for n in names)
    return (_EMU_PRELUDE + f'#include "{path}"\n' + _EMU_EPILOGUE.replace("%TABLE%", table))


# (N, C) cases for the emulation: every kernel kind, both load widths, several warps per block
EMU_SHAPES = [(5, 1), (6, 3), (9, 33), (5, 1000), (2, 1023), (2, 4097), (1, 9000), (2, 20000), (2, 70001)]
EMU_DTYPES = ["float16", "float32", "float64"]


def _emu_names():
    names = set()
    for dtype in EMU_DTYPES:
        names.update(K._all_kernel_names(dtype, K._MODES["ce"]))
        for mode in (K._MODES["softmax"], K._MODES["log_softmax"]):
            for c in (3, 1000, 4097, 20000):
                for vec in (True, False):
                    names.add(K._kernel_name(K._plan(c, dtype, vec), dtype, mode))
    return sorted(names)


@pytest.fixture(scope="module")
def emu():
    """The CPU emulation as a ctypes library (built once per session, about a minute)."""
    if _GPU_REASON is None and not os.environ.get("SOFTMAXLAB_EMULATE"):
        pytest.skip("a CUDA device is here, so the real kernels are tested; SOFTMAXLAB_EMULATE=1 runs "
                    "the CPU emulation as well")
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not found: the CPU emulation of the CUDA kernels needs it")
    tmp = tempfile.mkdtemp(prefix="softmaxlab-emu-")
    src = os.path.join(tmp, "emu.cpp")
    lib = os.path.join(tmp, "emu.so")
    with open(src, "w") as f:
        f.write(_emu_source(_emu_names()))
    out = subprocess.run([gxx, "-std=c++20", "-O1", "-fPIC", "-shared", "-pthread", "-o", lib, src],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0 and "_Float16" in out.stderr:
        pytest.skip("this g++ has no _Float16")
    assert out.returncode == 0, out.stderr[-4000:]
    dll = ctypes.CDLL(lib)
    dll.emu_launch.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p)]
    dll.emu_launch.restype = ctypes.c_int
    yield dll
    shutil.rmtree(tmp, ignore_errors=True)


def _emu_runner(dll, seen=None):
    def run(name, dtype_name, mode, grid, block, args, smem, device_id):
        assert smem <= 256 * 1024
        keep = []
        for a in args:
            if isinstance(a, np.ndarray):
                keep.append(ctypes.c_void_p(a.ctypes.data))
            elif isinstance(a, np.int64):
                keep.append(ctypes.c_longlong(int(a)))
            elif isinstance(a, np.int32):
                keep.append(ctypes.c_int(int(a)))
            elif isinstance(a, np.float32):
                keep.append(ctypes.c_float(float(a)))
            elif isinstance(a, np.float64):
                keep.append(ctypes.c_double(float(a)))
            else:
                raise TypeError(f"kernel argument of type {type(a).__name__}")
        params = (ctypes.c_void_p * len(keep))(*[ctypes.addressof(o) for o in keep])
        rc = dll.emu_launch(name.encode(), grid[0], block[0], params)
        assert rc == 0, f"{name} is not in the emulation library"
        if seen is not None:
            seen.append((name, grid, block, smem))
    return run


def _ce_emu(dll, z, y, *, weight=None, ignore_index=None, eps=0.0, grad_scale=1.0, want_grad=True,
            seen=None, **tuning):
    """ce_rows_cupy's preparation, with NumPy arrays, launched in the emulation (outputs poisoned)."""
    acc = np.float64 if z.dtype == np.float64 else np.float32
    w = wsum = None
    if weight is not None:
        w = np.ascontiguousarray(weight, dtype=acc)
        wsum = np.asarray([w.sum(dtype=acc)], dtype=acc)
    grad = np.full(z.shape, np.nan, dtype=z.dtype) if want_grad else None
    rows = np.full(z.shape[0], np.nan, dtype=acc)
    K._launch("emu", K._MODES["ce"], z, grad, labels=np.ascontiguousarray(y, dtype=np.int64), weight=w,
              wsum=wsum, ignore_index=ignore_index, eps=eps, grad_scale=grad_scale, row_loss=rows,
              runner=_emu_runner(dll, seen), smem_optin=EMU_OPTIN, **tuning)
    return rows, (grad.astype(np.float64) if grad is not None else None)


def _host_inputs(n, c, dtype, seed, aligned=True):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(n, c))
    if n > 1:
        z[1] += 60.0 if dtype == "float16" else 1000.0
    y = rng.integers(0, c, size=n)
    if aligned:
        return z.astype(dtype), y
    buf = np.empty(n * c + 1, dtype=dtype)  # a C-contiguous array one element off 16-byte alignment
    if buf.ctypes.data % 16 == 0:
        zz = buf[1:].reshape(n, c)
    else:
        buf = np.empty(n * c + 16, dtype=dtype)
        off = (16 - buf.ctypes.data % 16) // buf.itemsize + 1
        zz = buf[off:off + n * c].reshape(n, c)
    zz[...] = z
    return zz, y


@pytest.mark.parametrize("dtype", EMU_DTYPES)
@pytest.mark.parametrize("n, c", EMU_SHAPES, ids=[f"{n}x{c}" for n, c in EMU_SHAPES])
def test_emulated_ce_matches_reference(emu, n, c, dtype):
    z, y = _host_inputs(n, c, dtype, seed=c)
    before = z.copy()
    loss, grad = _ce_emu(emu, z, y)
    np.testing.assert_array_equal(_bits(z), _bits(before))
    _check(dtype, loss, grad, *_ce_ref(z, y))
    rng = np.random.default_rng(c + 1)
    w = rng.uniform(0.1, 2.0, size=c)
    y2 = y.copy()
    y2[::3] = -100
    gs = np.asarray(0.37)  # a 0-d array: the kernel reads it through a pointer
    loss, grad = _ce_emu(emu, z, y2, weight=w, ignore_index=-100, eps=0.2, grad_scale=gs)
    _check(dtype, loss, grad, *_ce_ref(z, y2, weight=w, ignore_index=-100, eps=0.2, grad_scale=0.37))
    loss2, none = _ce_emu(emu, z, y2, weight=w, ignore_index=-100, eps=0.2, want_grad=False)
    assert none is None
    np.testing.assert_array_equal(loss2, loss)


@pytest.mark.parametrize("dtype", EMU_DTYPES)
@pytest.mark.parametrize("c", [4, 1000, 4096, 70000])
def test_emulated_ce_scalar_path(emu, c, dtype):
    z, y = _host_inputs(3, c, dtype, seed=c, aligned=False)
    seen = []
    loss, grad = _ce_emu(emu, z, y, eps=0.1, seen=seen)
    assert ", 1, " in seen[0][0]  # VEC == 1
    _check(dtype, loss, grad, *_ce_ref(z, y, eps=0.1))


@pytest.mark.parametrize("cache", [None, 0, 4096])
@pytest.mark.parametrize("threads", [512, 1024])
def test_emulated_long_rows_cache_and_block_size(emu, cache, threads):
    for dtype in ("float16", "float32"):
        z, y = _host_inputs(2, 70001 if dtype == "float32" else 70000, dtype, seed=threads)
        seen = []
        loss, grad = _ce_emu(emu, z, y, eps=0.05, seen=seen, big_threads=threads,
                             smem_cache_bytes=cache)
        name, _, block, smem = seen[0]
        assert name.startswith("sl_rows_big") and block == (threads,)
        if cache == 0:
            assert smem == 0
        _check(dtype, loss, grad, *_ce_ref(z, y, eps=0.05))


@pytest.mark.parametrize("dtype", EMU_DTYPES)
@pytest.mark.parametrize("c", [2, 1000, 4097, 20000])
def test_emulated_non_finite_rows_and_bad_labels(emu, c, dtype):
    rng = np.random.default_rng(c)
    n = 9
    z = rng.normal(size=(n, c)).astype(dtype)
    y = rng.integers(0, c, size=n)
    z[0, (y[0] + 1) % c] = -np.inf
    z[1, :] = -np.inf
    z[1, y[1]] = 0.5
    z[2, c // 2] = np.nan
    z[3, c - 1] = np.inf
    z[4, :] = -np.inf
    y[5] = c          # out of range: NaN, nothing read
    y[6] = -3
    for eps in (0.0, 0.1):
        loss, grad = _ce_emu(emu, z, y, eps=eps, ignore_index=-100)
        bad = [2, 3, 4, 5, 6]
        assert np.isnan(loss[bad]).all() and np.isnan(grad[bad]).all()
        good = [0, 1, 7, 8]
        rl, rg = _ce_ref(z, y, eps=eps)
        _check(dtype, loss[good], grad[good], rl[good], rg[good])
        if eps == 0.0:
            assert (grad[good][np.isneginf(z[good])] == 0).all()


@pytest.mark.parametrize("dtype", EMU_DTYPES)
@pytest.mark.parametrize("c", [3, 1000, 4097, 20000])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_emulated_softmax(emu, c, dtype, log):
    z, _ = _host_inputs(4, c, dtype, seed=c)
    z[0, ::2] = -np.inf
    z[3, :] = -np.inf
    out = np.full(z.shape, np.nan, dtype=z.dtype)
    K._launch("emu", K._MODES["log_softmax" if log else "softmax"], z, out,
              runner=_emu_runner(emu), smem_optin=EMU_OPTIN)
    got = out.astype(np.float64)
    ref = _softmax_ref(z, log)
    # every class masked: softmax 0, log_softmax -inf (the reference path's answer)
    assert (got[3] == (-np.inf if log else 0.0)).all()
    rtol = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}[dtype]
    atol = {"float16": 1e-5, "float32": 1e-6, "float64": 1e-14}[dtype]
    if log:
        atol *= 1 + np.abs(ref[:3][np.isfinite(ref[:3])]).max()
    np.testing.assert_allclose(got[:3], ref[:3], rtol=rtol, atol=atol)
