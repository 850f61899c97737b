r"""NumPy work on one block of scores for :mod:`softmaxlab.linear` (tiles of the
vocabulary, and blocks of whole rows).

When the rows of the scores :math:`Z = hW^\top + b` do not fit the budget,
:func:`softmaxlab.linear_cross_entropy` cuts the vocabulary into tiles, each
over many rows, and sweeps them twice: once for each row's normaliser (the
online normaliser), once for the gradient.  A plain NumPy composition would
run the elementwise work between the matrix products on one thread, five
passes over the tile in the first sweep (bias, maximum, shift, ``exp``, sum)
and four in the second.  Here a tile's rows are split over the threads of
:mod:`softmaxlab.kernels.cpu`'s pool; with BLAS held to one thread
(:func:`blas_on_one_thread`) each worker also makes its rows' matrix
products; each walks its rows in blocks that stay in its L2 cache, and the
shift by the row maximum is skipped where it is not needed, as in
:func:`softmaxlab.kernels.cpu.ce_rows_numpy`:

* first sweep, per block: ``z += b``; the label's score; ``e = exp(z)`` into a
  scratch block; row sums ``s``.  Rows whose ``s`` is in the safe range of
  :func:`~softmaxlab.kernels.cpu._unshifted_sum_bounds` (for the tile's
  width) contribute ``s`` as it is; a block with any other row (huge or very
  negative scores, inf, NaN) is redone shifted by each row's maximum, from the
  scores, which the scratch block left intact.  The running statistics
  (maximum :math:`m`, sum :math:`d` of :math:`e^{z - m}`) are float64;
* second sweep, per block: ``z += b``; for rows that never needed a shift,
  ``g = exp(z) * (c / d)`` (``c`` the row's loss scale); otherwise
  ``g = exp(z - lse') * c'``, with ``lse'`` the log-sum-exp rounded to the
  scores' dtype and ``c' = c exp(lse' - lse)`` (float64) correcting for that
  rounding; then the label smoothing and the one-hot terms,
  and the block's column sums for the bias gradient.

A row's loss and gradient are those of the max-shifted formula to rounding;
``tests/test_linear.py`` checks them against the materialised scores.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .cpu import (
    THREAD_MIN_ELEMENTS,
    _run_chunks,
    _unshifted_sum_bounds,
    ce_rows_numpy,
    default_num_threads,
)

__all__ = ["TileStats", "blas_on_one_thread", "stats_tile", "grad_tile", "finish_stats",
           "rows_block", "row_threads"]


class TileStats:
    """Running row statistics of the first sweep, then the second sweep's row factors.

    ``m``, ``d``: the online normaliser (float64; ``m`` starts at -inf) of the
    scores *other than the label's*; ``zy``: the label's score and ``has_y``
    whether it was found; ``zsum``: the sum of the scores (label smoothing);
    ``plain``: no tile of the row needed a shift.  After :func:`finish_stats`:
    ``lse_c`` (the log-sum-exp in the compute dtype) and ``c2``, ``coef`` (the
    row's loss scale, 0 at ignored rows), ``q`` (the probability mass off the label),
    ``fast`` (rows whose gradient is ``exp(z) * f``) and ``f``.
    """

    __slots__ = ("m", "d", "zy", "has_y", "zsum", "plain", "lse_c", "c2", "coef", "coef_c", "q", "fast", "f",
                 "dtype", "V", "eps", "nt", "split")

    def __init__(self, N: int, V: int, dtype, eps: float):
        self.m = np.full(N, -np.inf)
        self.d, self.zy, self.zsum = np.zeros(N), np.zeros(N), np.zeros(N)
        self.has_y = np.zeros(N, dtype=bool)
        self.plain = np.ones(N, dtype=bool)
        self.dtype, self.V, self.eps = np.dtype(dtype), V, eps
        self.nt = default_num_threads()
        self.split = False


#: Target size in bytes of one cache block of a tile's scores.  Tuned apart
#: from the fused kernel's :data:`~softmaxlab.kernels.cpu.BLOCK_BYTES`: a tile's
#: blocks also feed matrix products, and ``benchmarks/bench_linear_ce.py`` was
#: measured with 512 KiB.
TILE_BLOCK_BYTES = 1 << 19


def _block_rows(width: int, itemsize: int) -> int:
    """Rows per cache block of a tile `width` columns wide."""
    return max(1, TILE_BLOCK_BYTES // max(1, width * itemsize))


def _threads(S: TileStats, n: int, width: int) -> int:
    """Threads for a tile of n rows: one per cache block at most."""
    return max(1, min(S.nt, n // _block_rows(width, S.dtype.itemsize)))


def _label_rows(yb, v0: int, v1: int):
    """Rows of a block whose label lies in [v0, v1), and its column there."""
    r = np.flatnonzero((yb >= v0) & (yb < v1))
    return r, (yb[r] - v0).astype(np.intp)  # int32 on wasm32


def row_threads(S: TileStats, n: int, width: int) -> int:
    """Threads for a block of n whole rows of `width` scores (the fused kernel's
    rule: one thread below :data:`~softmaxlab.kernels.cpu.THREAD_MIN_ELEMENTS`)."""
    return max(1, min(S.nt, n, n * width // THREAD_MIN_ELEMENTS))


def blas_on_one_thread(S: TileStats, n: int, width: int, *, whole_rows: bool = False):
    """A context in which BLAS runs on its calling thread only, so that the
    workers can each run their rows' matrix products (``S.split``), for tiles
    of n rows by `width` columns; a null context, and ``S.split`` False,
    without threadpoolctl or when such tiles get one thread.

    Why: after a product, OpenBLAS's own threads spin for a while, and
    elementwise work on the pool's threads then gets one core instead of two.
    """
    S.split = False
    if (row_threads if whole_rows else _threads)(S, n, width) > 1:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - a dependency, but run without it
            return contextlib.nullcontext()
        S.split = True
        return threadpool_limits(1, user_api="blas")
    return contextlib.nullcontext()


def _view(buf, n: int, w: int):
    """The first n * w entries of the buffer as an (n, w) array."""
    return buf.reshape(-1)[:n * w].reshape(n, w)


def stats_tile(S: TileStats, hb, wt, bias, buf, y, r0: int, v0: int) -> None:
    """Fold the scores ``hb @ wt.T + bias`` of rows r0.. of the batch and columns
    [v0, v0 + len(wt)) into the running statistics; the scores are made in the
    reused buffer `buf`, by the workers when ``S.split``."""
    n, v1 = hb.shape[0], v0 + wt.shape[0]
    z = _view(buf, n, v1 - v0)
    if not S.split:
        np.matmul(hb, wt.T, out=z)
    _run_chunks(_stats_part, (S, hb, wt, z, y, bias, r0, v0, v1), n, _threads(S, n, v1 - v0))


def _stats_part(S: TileStats, hb, wt, z, y, bias, r0: int, v0: int, v1: int, k0: int,
                k1: int):
    """:func:`stats_tile` on tile rows [k0, k1), one thread."""
    if S.split:
        np.matmul(hb[k0:k1], wt.T, out=z[k0:k1])
    blk = _block_rows(v1 - v0, S.dtype.itemsize)
    s_lo, s_hi = _unshifted_sum_bounds(S.dtype, v1 - v0)
    e = np.empty((min(blk, k1 - k0), v1 - v0), dtype=S.dtype)
    mt, st = np.zeros(k1 - k0), np.empty(k1 - k0)
    with np.errstate(all="ignore"):
        for c0 in range(k0, k1, blk):
            c1 = min(c0 + blk, k1)
            zc, eb, rows, i = z[c0:c1], e[:c1 - c0], slice(r0 + c0, r0 + c1), c0 - k0
            if bias is not None:
                zc += bias
            if S.eps:
                S.zsum[rows] += np.add.reduce(zc, axis=1)
            np.exp(zc, out=eb)
            s = np.add.reduce(eb, axis=1)
            # The label's exponential counts in this test (a NaN fails both).
            if not (np.minimum.reduce(s) >= s_lo and np.maximum.reduce(s) <= s_hi):
                S.plain[rows] &= (s >= s_lo) & (s <= s_hi)
                mt[i:i + c1 - c0] = mx = np.maximum.reduce(zc, axis=1)
                # A row of this tile that is all -inf (classes masked by the bias)
                # is shifted by 0: its terms stay exp(-inf) = 0, not NaN.
                np.subtract(zc, np.where(np.isfinite(mx), mx, 0.0)[:, None], out=eb)
                np.exp(eb, out=eb)
                s = np.add.reduce(eb, axis=1)
            r, col = _label_rows(y[rows], v0, v1)
            if r.size:  # the label's term apart: the loss is log1p(rest / e_y)
                S.zy[r0 + c0 + r] = zc[r, col]
                S.has_y[r0 + c0 + r] = True
                eb[r, col] = 0
                s[r] = np.add.reduce(eb[r], axis=1)
            st[i:i + c1 - c0] = s
        part = slice(r0 + k0, r0 + k1)
        m = S.m[part]
        mn = np.maximum(m, mt)
        shift = np.where(np.isfinite(mn), mn, 0.0)  # nothing finite yet: d stays 0
        S.d[part] = S.d[part] * np.exp(m - shift) + st * np.exp(mt - shift)
        S.m[part] = mn


def finish_stats(S: TileStats, coef):
    r"""Each row's loss (float64), and the factors of the second sweep.

    `coef` is each row's loss scale (0 at ignored rows), float64.  With
    :math:`r = d e^m` the mass off the label, the label's part of the loss
    is :math:`\log(1 + r e^{-z_y})`, taken as ``logaddexp(0, log r - z_y)``:
    never negative, and accurate on confident rows.
    """
    with np.errstate(all="ignore"):
        log_r = S.m + np.log(S.d)
        nll = np.logaddexp(0.0, log_r - S.zy)
        # A label at -inf (its class masked by the bias) adds nothing to the sum.
        lse = np.where(S.has_y & np.isfinite(S.zy), S.zy + nll, log_r)
        rows = nll
        if S.eps:
            smooth = np.maximum(lse - S.zsum / S.V, 0.0)
            rows = S.eps * smooth if S.eps == 1.0 else (1 - S.eps) * nll + S.eps * smooth
        S.lse_c = lse.astype(S.dtype)
        S.coef, S.coef_c = coef, coef.astype(S.dtype)
        # exp(z - lse_c) * c2: z - lse_c is exact for the scores near lse (within a
        # factor of 2), and c2 corrects for the rounding of lse to lse_c.
        S.c2 = (coef * np.exp(S.lse_c.astype(np.float64) - lse)).astype(S.dtype)
        S.q = np.where(S.has_y, -np.expm1(-nll), 0.0)  # r / (r + e^{z_y})
        total = S.d * np.exp(np.where(S.plain, S.m, 0.0)) + np.where(S.has_y, np.exp(
            np.where(S.plain, S.zy, 0.0)), 0.0)
        f = np.where(S.plain, coef / np.where(S.plain, total, 1.0), 0.0).astype(S.dtype)
    tiny = np.finfo(S.dtype).smallest_normal
    S.fast = S.plain & ((coef == 0) | ((f >= tiny) & np.isfinite(f)))
    S.f = f
    return rows


def grad_tile(S: TileStats, hb, wt, bias, buf, y, r0: int, v0: int, gh, gw, *,
              first_v: bool, first_r: bool):
    """One tile of the second sweep: its scores (in `buf`), their scaled dL/dz
    `g`, and ``gh (+)= g @ wt``, ``gw (+)= g.T @ hb`` (assigned the first time:
    `first_v`, `first_r`); returns g's column sums (the bias gradient's share)
    or None without a bias.  `gh` is the hidden gradient's rows of the block,
    `gw` the weight gradient's rows of the tile."""
    n, v1 = hb.shape[0], v0 + wt.shape[0]
    z = _view(buf, n, v1 - v0)
    if not S.split:
        np.matmul(hb, wt.T, out=z)
    parts = _run_chunks(_grad_part, (S, hb, wt, z, y, bias, r0, v0, v1, gh, first_v), n,
                        _threads(S, n, v1 - v0))
    if S.split:  # the weight gradient's columns [c0, c1) on each worker
        _run_chunks(_weight_part, (z, hb, gw, first_r), hb.shape[1],
                    min(_threads(S, n, v1 - v0), hb.shape[1]))
    else:
        _weight_part(z, hb, gw, first_r, 0, hb.shape[1])
        _hidden_part(z, wt, gh, first_v, 0, n)
    return None if bias is None else sum(parts[1:], parts[0])


#: Rows per matrix product when adding into a gradient through a temporary.
_ADD_ROWS = 256


def _add_product(acc, a, b, first: bool, step: int = _ADD_ROWS) -> None:
    """``acc (+)= a @ b``: written into `acc` when `first`, else added through a
    temporary of `step` rows (never one of `acc`'s size)."""
    if first:
        np.matmul(a, b, out=acc)
        return
    tmp = np.empty((min(step, a.shape[0]), b.shape[1]), dtype=acc.dtype)
    for a0 in range(0, a.shape[0], step):
        a1 = min(a0 + step, a.shape[0])
        np.matmul(a[a0:a1], b, out=tmp[:a1 - a0])
        acc[a0:a1] += tmp[:a1 - a0]


def _hidden_part(g, wt, gh, first: bool, k0: int, k1: int) -> None:
    """``gh[k0:k1] (+)= g[k0:k1] @ wt``."""
    _add_product(gh[k0:k1], g[k0:k1], wt, first)


def _weight_part(g, hb, gw, first: bool, c0: int, c1: int, step: int = _ADD_ROWS) -> None:
    """``gw[:, c0:c1] (+)= g.T @ hb[:, c0:c1]``."""
    _add_product(gw[:, c0:c1], g.T, hb[:, c0:c1], first, step)


def _grad_part(S: TileStats, hb, wt, z, y, bias, r0: int, v0: int, v1: int, gh,
               first_v: bool, k0: int, k1: int):
    """:func:`grad_tile`'s elementwise work on tile rows [k0, k1), one thread (and,
    when ``S.split``, those rows' scores and hidden gradient)."""
    if S.split:
        np.matmul(hb[k0:k1], wt.T, out=z[k0:k1])
    blk = _block_rows(v1 - v0, S.dtype.itemsize)
    t = S.dtype.type
    colsum = None if bias is None else np.zeros(v1 - v0, dtype=S.dtype)
    with np.errstate(all="ignore"):
        for c0 in range(k0, k1, blk):
            c1 = min(c0 + blk, k1)
            zc, rows = z[c0:c1], slice(r0 + c0, r0 + c1)
            coef = S.coef_c[rows]
            if bias is not None:
                zc += bias
            if S.fast[rows].all():
                np.exp(zc, out=zc)
                zc *= S.f[rows, None]
            else:
                zc -= S.lse_c[rows, None]
                np.exp(zc, out=zc)
                zc *= S.c2[rows, None]
            if S.eps:
                zc -= (t(S.eps / S.V) * coef)[:, None]
            r, col = _label_rows(y[rows], v0, v1)
            if r.size:  # softmax - (1 - eps) - eps / V at the label, as eps (1 - 1/V) - q
                k = r0 + c0 + r
                zc[r, col] = (S.coef[k] * (S.eps * (1 - 1 / S.V) - S.q[k])).astype(S.dtype)
            if colsum is not None:
                colsum += np.add.reduce(zc, axis=0)
    if S.split:
        _hidden_part(z, wt, gh, first_v, k0, k1)
    return colsum


def rows_block(S: TileStats, hb, w, bias, bufs, y, r0: int, loss, grads, *, scale: float,
               ignore_index, first: bool, step: int):
    """A block of whole rows (rows r0.. of the batch), one sweep: each worker makes
    its rows' scores, runs the fused kernel on them (one thread each), and
    writes its rows of ``gh = g @ w * scale``; then ``gw (+)= g.T @ (hb * scale)``
    by columns.  `bufs` holds the reused score and gradient buffers; `loss`
    gets the rows' losses; `grads` is ``(gh rows of the block, gw)`` or None
    for the loss alone.  Returns the unscaled column sums of g (the bias
    gradient's share) or None."""
    n, V = hb.shape[0], w.shape[0]
    nt = row_threads(S, n, V) if S.split else 1
    z, g = _view(bufs[0], n, V), None if grads is None else _view(bufs[1], n, V)
    gh = None if grads is None else grads[0]
    parts = _run_chunks(_rows_part, (S, hb, w, bias, z, g, y, r0, loss, gh, scale,
                                     ignore_index), n, nt)
    if grads is None:
        return None
    part = functools.partial(_weight_part, step=step)
    _run_chunks(part, (g, hb * scale, grads[1], first), hb.shape[1], min(nt, hb.shape[1]))
    return None if bias is None else sum(parts[1:], parts[0])


def _rows_part(S: TileStats, hb, w, bias, z, g, y, r0: int, loss, gh, scale, ignore_index,
               k0: int, k1: int):
    """:func:`rows_block` on block rows [k0, k1), one worker (or, without the
    split, the caller with BLAS and the kernel threading themselves)."""
    zk = z[k0:k1]
    np.matmul(hb[k0:k1], w.T, out=zk)
    if bias is not None:
        zk += bias
    rows, gk = ce_rows_numpy(zk, y[r0 + k0:r0 + k1], ignore_index=ignore_index,
                             label_smoothing=S.eps, out=None if g is None else g[k0:k1],
                             want_grad=g is not None, num_threads=1 if S.split else None)
    loss[r0 + k0:r0 + k1] = np.maximum(rows, 0.0)
    if g is None:
        return None
    np.matmul(gk, w, out=gh[k0:k1])
    gh[k0:k1] *= S.dtype.type(scale)
    return None if bias is None else np.add.reduce(gk, axis=0)
