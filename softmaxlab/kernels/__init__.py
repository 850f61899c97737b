r"""Fused kernels behind one door: one entry per operation.

Each entry takes the operation's 2-D ``(rows, classes)`` arguments, class axis
last, already validated by the caller, and returns the fused result, or
``None`` when no kernel applies.  One rule decides:

* a NumPy array goes to the CPU kernel (:mod:`softmaxlab.kernels.cpu`),
* a CuPy array goes to the CUDA kernel (:mod:`softmaxlab.kernels.cuda`,
  compiled from ``rows.cu`` on first use),
* anything else (another array library, a dtype or an option the kernel does
  not support) gives ``None``, and the caller takes its reference path, which
  the kernels are tested against.

A kernel honours the reference contract for every input (rows of only
``-inf`` included), so callers never patch its results.

======================  ========================  ==============================
entry                   CPU (NumPy)               CUDA (CuPy)
======================  ========================  ==============================
:func:`ce_rows`         ``cpu.ce_rows_numpy``     ``cuda.ce_rows_cupy``
:func:`softmax_rows`    --                        ``cuda.softmax_lastaxis_cupy``
======================  ========================  ==============================

:mod:`softmaxlab.kernels.tiles` holds the NumPy work of
:mod:`softmaxlab.linear`'s blocks of scores (its only caller): vocabulary
tiles, and blocks of whole rows through ``cpu.ce_rows_numpy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import cpu  # NumPy only: cheap to import, and no import statement per call

__all__ = ["ce_rows", "softmax_rows"]

_CPU_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_CPU_IN_DTYPES = _CPU_DTYPES + (np.dtype(np.float16),)  # float16 is computed in float32
_CUDA_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _library(x: Any) -> str | None:
    """"numpy", "cupy" or None, from the array's type (CuPy is never imported)."""
    t = type(x)
    if t is np.ndarray:
        return "numpy"
    if t.__module__.split(".")[0] == "cupy" and t.__name__ == "ndarray":
        return "cupy"
    return None


def ce_rows(z: Any, labels: Any, *, weight=None, ignore_index=None, label_smoothing=0.0,
            grad_scale=1.0, out=None, want_grad=True, **tuning):
    """Per-row softmax cross-entropy (and gradient) of ``(M, C)`` scores, or None.

    Returns ``(row_loss, grad)`` as the kernels do (`grad` is None without
    `want_grad`; it is `out` when `out` is given), or ``None`` when no kernel
    applies.  Scores in float16 are read by the CUDA kernel as they are and
    computed in float32 on the CPU.  `out`, when given, must be a C-contiguous
    ``(M, C)`` array of `z`'s dtype; the kernel writes the gradient into it
    (on the CPU through a float32 buffer for float16).  `tuning` passes the
    kernel's tuning knobs (``num_threads``, ``block_bytes``,
    ``thread_min_elements`` on the CPU; ``big_threads``, ``smem_cache_bytes``
    on CUDA).
    """
    lib = _library(z)
    if lib == "numpy" and labels is not None and z.dtype in _CPU_IN_DTYPES:
        zc = z
        if z.dtype not in _CPU_DTYPES or not z.flags.c_contiguous:
            zc = np.ascontiguousarray(z, dtype=np.float32 if z.dtype == np.float16 else None)
        direct = out if out is not None and out.dtype == zc.dtype else None
        rows, g = cpu.ce_rows_numpy(zc, labels, weight=weight, ignore_index=ignore_index,
                                    label_smoothing=label_smoothing,
                                    grad_scale=float(grad_scale), out=direct,
                                    want_grad=want_grad, **tuning)
        if out is not None and direct is None:
            out[...] = g
            g = out
        return rows, g
    if lib == "cupy" and labels is not None and z.dtype in _CUDA_DTYPES:
        import cupy

        from .cuda import ce_rows_cupy

        return ce_rows_cupy(cupy.ascontiguousarray(z), labels, weight=weight,
                            ignore_index=ignore_index, label_smoothing=label_smoothing,
                            grad_scale=grad_scale, out=out, want_grad=want_grad, **tuning)
    return None


def softmax_rows(x: Any, *, log: bool = False, out=None, **tuning):
    """Softmax (or log-softmax) of each row of a 2-D array, or None.

    Only CuPy has a fused softmax kernel; NumPy's reference path is already a
    handful of ufuncs.  A row of only ``-inf`` gives 0 (``-inf`` for
    log-softmax), a row with a NaN or ``+inf`` a NaN row, as the reference
    path does before its checks.
    """
    if _library(x) == "cupy" and x.dtype in _CUDA_DTYPES and x.ndim == 2:
        import cupy

        from .cuda import softmax_lastaxis_cupy

        return softmax_lastaxis_cupy(cupy.ascontiguousarray(x), log=log, out=out, **tuning)
    return None
