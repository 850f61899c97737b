r"""Fused CUDA kernels for CuPy arrays: softmax cross-entropy (loss and gradient
in one launch) and softmax / log-softmax along the last axis.

This is the GPU path behind :func:`softmaxlab.losses.cross_entropy_with_grad`
for CuPy inputs.  The caller validates its arguments and hands over a 2-D
C-contiguous ``(N, C)`` array with the class axis last; the functions here do
the arithmetic, one CUDA thread block (or one warp) per row.

Importing this module does **not** import CuPy: the kernels are the CUDA file
``rows.cu`` beside this module (package data), compiled by NVRTC through
:class:`cupy.RawModule` on first use, and cached by CuPy (in memory and in
``~/.cupy/kernel_cache``).

Kernel design
-------------
For a row ``z`` of ``C`` logits the loss and the gradient need

* ``lse = logsumexp(z)``, computed with the *online softmax* recurrence
  (Milakov & Gimelshein, 2018): every thread keeps a running maximum ``m`` and
  a sum ``d`` of ``exp(z_j - m)``; when a larger value arrives the sum is
  rescaled, ``d <- d * exp(m_old - m_new) + exp(z_j - m_new)``; the pairs
  ``(m, d)`` of the threads are merged by warp shuffles and shared memory;
* then one more sweep over the row that writes ``p_j = exp(z_j - lse)`` into
  the gradient (and sums the label-smoothing term, which is a sum of
  non-negative terms ``w_j * (lse - z_j)``, so it does not cancel).

How often each logit is read from global memory:

* ``C`` up to 16384 (8192 for float64): **once**.  The row is loaded into
  registers (``ITEMS`` values per thread, 16-byte vector loads), and both
  sweeps run over the registers.  Up to 1024 columns (512 for float64) a
  single warp owns a row (four rows per 128-thread block; no
  ``__syncthreads``), above that a block of 128 or 512 threads does.
* larger ``C``: one block of 1024 threads per row (512 for float64, and a
  the ``big_threads`` argument), an online pass over the row in chunks, and a
  second sweep.  The first ``cache`` elements of the row
  are kept in dynamic shared memory (up to the device's opt-in limit, about
  227 KB on H100/H200: all of a 32000-column float32 row, about 45 % of a
  128256-column one), so only the rest is read a second time, and that rest
  is re-read first, while it is still in L2.

Loads and stores are 16 bytes wide (``float4``-sized: 4 float32, 8 float16,
2 float64) when ``C`` is a multiple of that width and both arrays are 16-byte
aligned; otherwise one element at a time (still coalesced).  float16 is
converted to float32 for all arithmetic; float32 and float64 accumulate in
their own precision.  Offsets are 64-bit, so ``N * C`` may exceed ``2**31``.

Non-finite input
----------------
``-inf`` entries are masked classes: their probability is exactly 0.  A row
holding a NaN or ``+inf``, or only ``-inf``, gives a NaN row loss and a NaN
gradient row; softmax gives a NaN row for a NaN or ``+inf`` and 0 (log-softmax
``-inf``) for a row of only ``-inf``, as the reference path does.  A label
outside ``[0, C)`` that is not ``ignore_index`` gives a NaN row loss and a NaN
gradient row; it is never used to read memory.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import numpy as np

from .. import _validation as V

__all__ = ["ce_rows_cupy", "softmax_lastaxis_cupy"]

# ---------------------------------------------------------------------------
# The CUDA source.  Plain CUDA C++, no #include: NVRTC (through CuPy) compiles
# it as it is; half precision is handled as raw 16-bit words converted with
# the PTX cvt instruction, so cuda_fp16.h is not needed either.
# ---------------------------------------------------------------------------
_SOURCE_FILE = "rows.cu"


@functools.lru_cache(maxsize=1)
def kernel_source() -> str:
    """The CUDA source of the kernels (``rows.cu``, shipped with the package)."""
    return (resources.files(__package__) / _SOURCE_FILE).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Launch plans
# ---------------------------------------------------------------------------
#: dtype name -> (traits struct, elements per 16-byte vector, max ITEMS per thread)
_TRAITS = {
    "float16": ("F16", 8, 32),
    "float32": ("F32", 4, 32),
    "float64": ("F64", 2, 16),
}
_MODES = {"ce": 0, "softmax": 1, "log_softmax": 2}
#: Default threads per block of the long-row kernel for float16 / float32 (the
#: ``big_threads`` argument: 512 or 1024; float64 always uses 512).  1024 threads
#: hold one row per SM with the largest shared-memory cache; 512 let two rows
#: share an SM (overlapping one row's loads with the other's stores) with half
#: the cache each.  bench_gpu.py times both.
BIG_THREADS = 1024
_WARP_ROWS_PER_BLOCK = 4


def _big_variants(dtype_name: str) -> tuple[int, ...]:
    """Block sizes of the long-row kernel compiled for a dtype."""
    return (512,) if dtype_name == "float64" else (512, 1024)


def _big_threads(dtype_name: str, big_threads: int = BIG_THREADS) -> int:
    """Threads per block of the long-row kernel (512 for float64: more registers each)."""
    return 512 if dtype_name == "float64" else big_threads


def _reg_tiers(dtype_name: str) -> tuple[tuple[int, int], ...]:
    """(threads per row, items per thread) of the register kernels, smallest first."""
    _, vec, cap = _TRAITS[dtype_name]
    small = max(4, vec)
    return ((32, small), (32, cap), (128, cap), (512, cap))


def _plan(n_cols: int, dtype_name: str, vectorised: bool, big_threads: int = BIG_THREADS) -> tuple:
    """Pick the kernel for rows of ``n_cols`` elements.

    Returns ``("reg", VEC, RT, ITEMS)`` or ``("big", VEC, BT)``.
    """
    _, vec, _ = _TRAITS[dtype_name]
    v = vec if vectorised else 1
    for rt, items in _reg_tiers(dtype_name):
        if n_cols <= rt * items:
            return ("reg", v, rt, items)
    return ("big", v, _big_threads(dtype_name, big_threads))


def _kernel_name(plan: tuple, dtype_name: str, mode: int) -> str:
    tr = _TRAITS[dtype_name][0]
    if plan[0] == "reg":
        _, v, rt, items = plan
        return f"sl_rows_reg<{tr}, {v}, {rt}, {items}, {mode}>"
    _, v, bt = plan
    return f"sl_rows_big<{tr}, {v}, {bt}, {mode}>"


def _all_kernel_names(dtype_name: str, mode: int) -> list[str]:
    """Every instantiation a (dtype, mode) pair may launch (compiled together)."""
    _, vec, _ = _TRAITS[dtype_name]
    names = []
    for v in (vec, 1):
        for rt, items in _reg_tiers(dtype_name):
            names.append(_kernel_name(("reg", v, rt, items), dtype_name, mode))
        for bt in _big_variants(dtype_name):
            names.append(_kernel_name(("big", v, bt), dtype_name, mode))
    return names


def kernel_instantiations() -> list[str]:
    """All template instantiations the Python side can launch, for every dtype and mode."""
    return [n for d in _TRAITS for m in _MODES.values() for n in _all_kernel_names(d, m)]


@functools.cache
def _module(dtype_name: str, mode: int):
    import cupy

    return cupy.RawModule(code=kernel_source(), name_expressions=_all_kernel_names(dtype_name, mode))


@functools.cache
def _smem_optin(device_id: int) -> int:
    """Largest dynamic shared memory one block may opt in to on this device."""
    import cupy

    try:
        props = cupy.cuda.runtime.getDeviceProperties(device_id)
        return int(props.get("sharedMemPerBlockOptin", 0)) or int(props["sharedMemPerBlock"])
    except Exception:  # pragma: no cover - very old CuPy
        return 48 * 1024


_SMEM_OPTED: dict = {}  # (kernel name, device) -> dynamic shared bytes opted in


@functools.cache
def _kernel(name: str, dtype_name: str, mode: int):
    return _module(dtype_name, mode).get_function(name)


# ---------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------
def _check_2d(fn: str, arg: str, a: Any, cupy) -> str:
    if not isinstance(a, cupy.ndarray):
        raise V.argument_error(fn, arg, "a cupy.ndarray", type(a).__name__, TypeError)
    if a.ndim != 2:
        raise V.argument_error(fn, arg, "2-D (N, C)", f"shape {a.shape}")
    name = np.dtype(a.dtype).name
    if name not in _TRAITS:
        raise V.argument_error(fn, arg, "dtype float16, float32 or float64", f"dtype {name}",
                               TypeError, must="have")
    if not a.flags.c_contiguous:
        raise V.argument_error(fn, arg, "C-contiguous", f"a non-contiguous array with strides "
                               f"{a.strides} (call cupy.ascontiguousarray first)")
    return name


def _check_out(fn: str, out: Any, shape: tuple, dtype, cupy, src=None, src_name: str = "") -> None:
    if not isinstance(out, cupy.ndarray):
        raise V.argument_error(fn, "out", "a cupy.ndarray or None", type(out).__name__, TypeError)
    if src is not None and out.nbytes and src.nbytes:
        lo, hi = src.data.ptr, src.data.ptr + src.nbytes
        if out.data.ptr < hi and lo < out.data.ptr + out.nbytes:
            raise V.argument_error(
                fn, "out", f"the input array {src_name!r} (the kernel reads it after writing)",
                f"an array that shares memory with {src_name!r}", must="not overlap")
    if out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise V.argument_error(
            fn, "out", f"a C-contiguous {np.dtype(dtype).name} array of shape {shape}",
            f"{np.dtype(out.dtype).name} of shape {out.shape}"
            f"{'' if out.flags.c_contiguous else ' (not C-contiguous)'}")


def _ptr(a) -> int:
    """Device (CuPy) or host (NumPy, for the CPU emulation in the tests) address of an array."""
    data = a.data
    return data.ptr if hasattr(data, "ptr") else a.ctypes.data


def _cupy_runner(name, dtype_name, mode, grid, block, args, smem, device_id):
    """Launch a compiled kernel with CuPy (opting in to > 48 KiB of shared memory when needed)."""
    kern = _kernel(name, dtype_name, mode)
    if smem > 48 * 1024:
        key = (name, device_id)
        if _SMEM_OPTED.get(key, 0) < smem:
            kern.max_dynamic_shared_size_bytes = smem
            _SMEM_OPTED[key] = smem
    kern(grid, block, args, shared_mem=smem)


def _launch(fn: str, mode: int, x, out, *, labels=None, weight=None, wsum=None, ignore_index=None,
            eps=0.0, grad_scale=1.0, row_loss=None, runner=None, smem_optin=None,
            big_threads=BIG_THREADS, smem_cache_bytes=None) -> None:
    """Launch the kernel that fits ``x`` (validated, non-empty).

    ``runner`` and ``smem_optin`` replace CuPy and the device query; the tests
    use them to run the same launches through a CPU emulation of CUDA.
    ``big_threads`` and ``smem_cache_bytes`` are the tuning knobs of
    :func:`ce_rows_cupy`.
    """
    n, c = x.shape
    dtype_name = np.dtype(x.dtype).name
    _, vec, _ = _TRAITS[dtype_name]
    acc = np.float64 if dtype_name == "float64" else np.float32
    write_out = out is not None
    vectorised = c % vec == 0 and _ptr(x) % 16 == 0 and (not write_out or _ptr(out) % 16 == 0)
    plan = _plan(c, dtype_name, vectorised, big_threads)
    name = _kernel_name(plan, dtype_name, mode)
    if runner is None:
        runner = _cupy_runner
        device_id = x.device.id
        if smem_optin is None:
            smem_optin = _smem_optin(device_id)
    else:
        device_id = -1

    dummy = x  # any pointer for arguments a mode does not read
    gs_ptr, has_gs_ptr, gs_val = dummy, 0, acc(0)
    if isinstance(grad_scale, (int, float, np.generic)):
        gs_val = acc(grad_scale)
    else:  # a 0-d device array: read by the kernel, no host sync
        gs_ptr, has_gs_ptr = grad_scale.astype(acc).reshape(1), 1
    args = (
        x, np.int64(n), np.int32(c),
        labels if labels is not None else dummy,
        weight if weight is not None else dummy, np.int32(weight is not None),
        np.int64(ignore_index if ignore_index is not None else 0), np.int32(ignore_index is not None),
        acc(eps), gs_val, gs_ptr, np.int32(has_gs_ptr),
        wsum if wsum is not None else dummy,
        out if write_out else dummy, np.int32(write_out),
        row_loss if row_loss is not None else dummy,
    )
    if plan[0] == "reg":
        _, _, rt, _ = plan
        if rt == 32:
            grid = ((n + _WARP_ROWS_PER_BLOCK - 1) // _WARP_ROWS_PER_BLOCK,)
            block = (32 * _WARP_ROWS_PER_BLOCK,)
        else:
            grid, block = (n,), (rt,)
        runner(name, dtype_name, mode, grid, block, args, 0, device_id)
        return
    _, v, bt = plan
    item = x.dtype.itemsize * v
    budget = smem_cache_bytes
    if budget is None:  # all the device allows; half of it when two blocks share an SM
        per_sm = 2 if (bt <= 512 and dtype_name != "float64") else 1  # as in __launch_bounds__
        budget = max(0, int(smem_optin) // per_sm - 2048)
    cache_vecs = min(c // v, budget // item)
    smem = cache_vecs * item
    runner(name, dtype_name, mode, (n,), (bt,), args + (np.int32(cache_vecs),), smem, device_id)


def ce_rows_cupy(logits, labels, *, weight=None, ignore_index=None, label_smoothing=0.0,
                 grad_scale=1.0, out=None, want_grad=True, big_threads=BIG_THREADS,
                 smem_cache_bytes=None):
    r"""Per-row softmax cross-entropy and its gradient, fused in one CUDA launch.

    Parameters
    ----------
    logits : cupy.ndarray, shape (N, C)
        float16, float32 or float64, C-contiguous, class axis last.  Never modified.
    labels : cupy.ndarray, shape (N,)
        Integer class labels in ``[0, C)`` or equal to `ignore_index`.  A label
        outside that range is not used to read memory: its row loss is NaN.
    weight : cupy.ndarray, shape (C,), optional
        Class weights (converted to float32, or float64 for float64 logits).
    ignore_index : int, optional
        Rows with this label have loss 0 and a zero gradient row.
    label_smoothing : float
        ``eps`` in ``[0, 1]``.
    grad_scale : float or 0-d cupy.ndarray
        Multiplies the gradient (``1 / normaliser`` of the reduction; 0.0 when
        every row is ignored).  A device scalar avoids a host synchronisation.
    out : cupy.ndarray, shape (N, C), optional
        C-contiguous array of the logits' dtype that receives the gradient.
    want_grad : bool
        If False, no gradient is written and ``None`` is returned in its place.
    big_threads : {1024, 512}, optional
        Threads per block of the long-row kernel (C above 16384) for float16 and
        float32 (float64 always uses 512).  A tuning knob for the benchmarks.
    smem_cache_bytes : int or None, optional
        Bytes of dynamic shared memory the long-row kernel may use as a row
        cache; None: as much as the device allows (its opt-in limit less 2 KiB,
        halved for 512-thread blocks, two of which share an SM); 0 turns the
        cache off (every logit of a long row is then read twice).

    Returns
    -------
    row_loss : cupy.ndarray, shape (N,)
        float32 (float64 for float64 logits).
    grad : cupy.ndarray, shape (N, C), or None
        Gradient of ``grad_scale * row_loss.sum()`` with respect to the logits,
        in the logits' dtype (`out` when given).

    Raises
    ------
    TypeError, ValueError
        For arrays of the wrong type, dtype, shape or layout (the cheap checks
        only; the values are the caller's to validate).

    Notes
    -----
    For a row :math:`z` with label :math:`y`, :math:`p = \operatorname{softmax}(z)`,
    :math:`\ell = \operatorname{logsumexp}(z)`, class weights :math:`w` (ones if
    None), :math:`W = \sum_j w_j` and smoothing :math:`\varepsilon`:

    .. math::

        L = (1-\varepsilon)\, w_y (\ell - z_y)
            + \frac{\varepsilon}{C} \sum_{j:\, w_j \ne 0} w_j (\ell - z_j),

        \frac{\partial L}{\partial z} = p \Big((1-\varepsilon) w_y
            + \frac{\varepsilon W}{C}\Big) - (1-\varepsilon) w_y e_y
            - \frac{\varepsilon}{C} w,

    the same as ``torch.nn.functional.cross_entropy(..., reduction="none")``
    per row.  One launch reads each logit once from global memory for
    ``C <= 16384`` (8192 for float64) and writes each gradient element once;
    see the module docstring for the kernels.  A row with NaN or ``+inf``, or
    only ``-inf``, gets a NaN loss and a NaN gradient row.

    Examples
    --------
    >>> import cupy as cp                                   # doctest: +SKIP
    >>> z = cp.asarray([[1000.0, 1.0]], dtype=cp.float32)   # doctest: +SKIP
    >>> loss, g = ce_rows_cupy(z, cp.asarray([1]))          # doctest: +SKIP
    >>> float(loss[0]), g.tolist()                          # doctest: +SKIP
    (999.0, [[1.0, -1.0]])
    """
    import cupy

    fn = "ce_rows_cupy"
    dtype_name = _check_2d(fn, "logits", logits, cupy)
    n, c = logits.shape
    if c < 1:
        raise V.argument_error(fn, "logits", "at least one class (C >= 1)", f"shape {logits.shape}",
                               must="have")
    if not isinstance(labels, cupy.ndarray) or labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise V.argument_error(
            fn, "labels", f"an integer cupy.ndarray of shape ({n},)",
            f"{type(labels).__name__} of dtype {labels.dtype} and shape {labels.shape}"
            if hasattr(labels, "dtype") and hasattr(labels, "shape") else type(labels).__name__,
            TypeError)
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise V.argument_error(fn, "label_smoothing", "a number in [0, 1]", repr(label_smoothing))
    acc = np.float64 if dtype_name == "float64" else np.float32
    wsum = None
    if weight is not None:
        if not isinstance(weight, cupy.ndarray) or weight.shape != (c,):
            raise V.argument_error(fn, "weight", f"a cupy.ndarray of shape ({c},)",
                                   f"{type(weight).__name__} of shape {weight.shape}"
                                   if hasattr(weight, "shape") else type(weight).__name__)
        weight = cupy.ascontiguousarray(weight, dtype=acc)
        wsum = weight.sum(dtype=acc).reshape(1)
    if out is not None:
        _check_out(fn, out, (n, c), logits.dtype, cupy, src=logits, src_name="logits")
    grad = None
    if want_grad:
        grad = out if out is not None else cupy.empty((n, c), dtype=logits.dtype)
    row_loss = cupy.empty((n,), dtype=acc)
    if n == 0:
        return row_loss, grad
    if isinstance(grad_scale, np.ndarray):  # a host array: pass its value
        grad_scale = float(grad_scale)
    elif isinstance(grad_scale, cupy.ndarray) and grad_scale.size != 1:
        raise V.argument_error(fn, "grad_scale", "a number or a 0-d array",
                               f"an array of shape {grad_scale.shape}")
    labels64 = cupy.ascontiguousarray(labels, dtype=cupy.int64)
    _launch(fn, _MODES["ce"], logits, grad, labels=labels64, weight=weight, wsum=wsum,
            ignore_index=ignore_index, eps=eps, grad_scale=grad_scale, row_loss=row_loss,
            **_tuning(fn, big_threads, smem_cache_bytes))
    return row_loss, grad


def softmax_lastaxis_cupy(x, *, log=False, out=None, big_threads=BIG_THREADS,
                          smem_cache_bytes=None):
    r"""Softmax (or log-softmax) along the last axis of a 2-D CuPy array, one fused launch.

    Parameters
    ----------
    x : cupy.ndarray, shape (N, C)
        float16, float32 or float64, C-contiguous.  float16 is computed in float32.
    log : bool
        Return log-softmax instead of softmax.
    out : cupy.ndarray, shape (N, C), optional
        C-contiguous array of ``x``'s dtype for the result.
    big_threads, smem_cache_bytes : optional
        Tuning knobs, as in :func:`ce_rows_cupy`.

    Returns
    -------
    cupy.ndarray, shape (N, C)
        ``exp(x - logsumexp(x))`` or ``x - logsumexp(x)``, row by row.

    Raises
    ------
    TypeError, ValueError
        For arrays of the wrong type, dtype, shape or layout.

    Notes
    -----
    .. math::

        \operatorname{softmax}(x)_j = \exp\Big(x_j - \max_k x_k
            - \log \sum_k e^{x_k - \max_k x_k}\Big)

    with the maximum and the sum found in one pass (online softmax).  ``-inf``
    entries give 0 (softmax) and ``-inf`` (log-softmax), a row of only
    ``-inf`` too (every class masked, as in :func:`softmaxlab.softmax`); a
    row with NaN or ``+inf`` gives a NaN row.

    Examples
    --------
    >>> import cupy as cp                                               # doctest: +SKIP
    >>> softmax_lastaxis_cupy(cp.asarray([[1000.0, 1.0]]), log=True)    # doctest: +SKIP
    array([[   0., -999.]])
    """
    import cupy

    fn = "softmax_lastaxis_cupy"
    _check_2d(fn, "x", x, cupy)
    if out is not None:
        _check_out(fn, out, x.shape, x.dtype, cupy, src=x, src_name="x")
    else:
        out = cupy.empty(x.shape, dtype=x.dtype)
    if x.size == 0:
        return out
    _launch(fn, _MODES["log_softmax" if log else "softmax"], x, out,
            **_tuning(fn, big_threads, smem_cache_bytes))
    return out


def _tuning(fn: str, big_threads, smem_cache_bytes) -> dict:
    """The checked tuning knobs of a launch."""
    if big_threads not in (512, 1024) or isinstance(big_threads, bool):
        raise V.argument_error(fn, "big_threads", "512 or 1024", repr(big_threads))
    if smem_cache_bytes is not None and (isinstance(smem_cache_bytes, bool) or not isinstance(
            smem_cache_bytes, (int, np.integer)) or smem_cache_bytes < 0):
        raise V.argument_error(fn, "smem_cache_bytes", "None or an integer >= 0",
                               repr(smem_cache_bytes))
    return {"big_threads": int(big_threads), "smem_cache_bytes": smem_cache_bytes}
