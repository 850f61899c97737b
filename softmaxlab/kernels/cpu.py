r"""Fast NumPy kernel for fused softmax-cross-entropy, forward and backward.

This is the CPU engine behind :func:`softmaxlab.losses.cross_entropy_with_grad`
for NumPy inputs.  The public functions there validate their arguments, move the
class axis last and reshape to two dimensions; they then call
:func:`ce_rows_numpy`, which does the arithmetic on an ``(N, C)`` block of
logits, one row per example.

How it is fast
--------------
A plain NumPy composition (``z - z.max()``, ``exp``, ``sum``, ``log``, divide,
subtract a one-hot) makes five or six passes over ``N * C`` elements and
allocates a temporary of that size for most of them; at 4096 x 1000 float32
(16 MB) every pass goes to main memory.  Here the rows are cut into blocks of
about 2 MiB (:data:`BLOCK_BYTES`), so that one block of logits and the matching
block of the gradient stay in the core's caches while all the passes run over
them.
Without label smoothing a block takes

1. ``g = exp(z)`` written straight into the gradient buffer (this reads the
   logits from memory: the only pass over them),
2. row sums ``s`` (the label's term and the others apart).  A row whose ``s``
   is in a safe range (see
   :func:`_unshifted_sum_bounds`) needs no shift by its maximum; the rare other
   rows (huge or very negative scores, ``inf``, NaN) are redone shifted,
3. ``g *= scale_i / s_i``, which turns ``exp`` into the gradient, and the
   one-hot subtracted at the labels.

With label smoothing every row is shifted by its maximum first and the
(weighted) row sums of ``z - m`` are taken before the ``exp``.  Every step is a
NumPy ufunc or reduction with an ``out=`` argument, and NumPy releases the GIL
inside them, so inputs of at least :data:`THREAD_MIN_ELEMENTS` elements are
cut into pieces of rows that the caller and a persistent thread pool (created
lazily, once per process) take in turn until none is left (:func:`_share_rows`:
a worker slow to wake on a busy machine leaves its share to the others).  Each
piece also does its own per-row setup (label gather, row coefficients) and its
own row losses, so that almost nothing runs on one thread only.  The ``exp``
is most of the time: on a CPU the exponential, not memory, is the floor.

The common call (no class weights, no ignored row, no label smoothing, no row
that needs the shift) takes a straight path, :func:`_plain_rows`: the same
arithmetic as the general path, bit for bit, without its plan and per-chunk
setup, so that a small batch costs a few dozen microseconds of Python less.

The per-row loss is never computed as ``log p`` nor as ``log s - z_y`` (which
cancels to a negative number on confident rows): the label's term ``e_y`` is
taken out of the row sum before the sum (``rest``, the other terms, loses no
digit to it), and the loss is ``log1p(rest / e_y)`` in float64, as SciPy's
logsumexp does when one term dominates; it is never negative and is accurate to
a few rounding errors.  The gradient at the label is ``-rest / s`` for the same
reason.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _validation as V

__all__ = ["ce_rows_numpy", "default_num_threads"]

#: Default of ``thread_min_elements``: inputs with fewer elements than this run
#: on the calling thread only: below it, handing work to a pool costs more than
#: it saves.
THREAD_MIN_ELEMENTS = 1 << 19

#: Pieces of rows per thread in :func:`_share_rows`: small enough pieces that a
#: thread which starts late (or is slowed by a busy machine) leaves its share to
#: the others, large enough that handing one out costs little.
PIECES_PER_THREAD = 8

#: Default of ``block_bytes``: target size in bytes of one block of logits (the
#: gradient block is as large).  Every block costs about two dozen ufunc calls
#: of Python overhead, so the blocks are as large as the caches allow: on a
#: 2-core AMD EPYC (1 MiB of L2 per core, 32 MiB of L3) 2 MiB blocks were 4 %
#: (256 x 1000) to 28 % (4096 x 1000) faster than 512 KiB ones, and 8 MiB ones
#: slower again (float32 and float64, one run, side by side).
BLOCK_BYTES = 1 << 21

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def default_num_threads() -> int:
    """Number of threads used for large inputs: the CPUs this process may use.

    Returns
    -------
    int
        ``len(os.sched_getaffinity(0))`` where available, else ``os.cpu_count()``
        (at least 1); 1 in the browser (Pyodide), which has no threads.

    Examples
    --------
    >>> default_num_threads() >= 1
    True
    """
    if sys.platform == "emscripten":  # pragma: no cover - Pyodide
        return 1
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n)


def _get_pool(workers: int) -> ThreadPoolExecutor:
    """The module's thread pool, grown to at least ``workers`` threads."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="softmaxlab-ce"
            )
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


@functools.lru_cache(maxsize=256)
def _unshifted_sum_bounds(dtype: np.dtype, C: int):
    """Bounds on a row's unshifted exponential sum ``s`` that make it safe to use.

    With ``m`` the row maximum, ``exp(m) <= s <= C exp(m)``.  ``exp(m)`` must stay
    normal, with C denormal terms negligible (lower bound ``m_lo``), and
    ``C exp(m)`` must not overflow (upper bound ``m_hi``); the same bounds on
    ``s`` are ``C exp(m_lo)`` and ``exp(m_hi)``.  Cached: they depend only on
    the dtype and ``C``.
    """
    finfo = np.finfo(dtype)
    log_c = math.log(C)
    m_lo = log_c + math.log(float(finfo.smallest_normal)) + 20.0
    m_hi = math.log(float(finfo.max)) - log_c - 2.0
    return dtype.type(C * math.exp(m_lo)), dtype.type(math.exp(m_hi))


class _Plan:
    """Everything a worker needs besides its row range (read-only for workers,
    except the per-row outputs, which each worker writes for its rows only)."""

    __slots__ = (
        "logits", "labels", "grad", "row_loss", "eps", "weight", "w64", "W",
        "ignore_index", "grad_scale", "smooth_vec", "block", "dtype", "C",
        "m", "s", "shifted", "sz", "s_lo", "s_hi", "ey", "rest", "epsnum", "tiny", "w_signed",
    )


class _Chunk:
    """Per-row coefficients of one worker's rows ``[r0, r1)``.

    ``a`` is :math:`(1-\\varepsilon) w_{y_i}` (0 for ignored rows), ``coefnum``
    and ``gy`` the gradient's row factors; each is a scalar when it is the same
    for every row (no class weights and no ignored row), else an array.
    """

    __slots__ = ("r0", "ignored", "a", "flat_idx", "zy", "coefnum", "gy", "any_shifted")


def _chunk_setup(plan: _Plan, r0: int, r1: int) -> _Chunk:
    ch = _Chunk()
    ch.r0 = r0
    ch.any_shifted = False
    eps, C = plan.eps, plan.C
    lab = plan.labels[r0:r1]
    if plan.ignore_index is not None:
        ch.ignored = np.flatnonzero(lab == plan.ignore_index)
    else:
        ch.ignored = None
    if ch.ignored is not None and ch.ignored.size:
        safe = lab.astype(np.intp, copy=True)
        safe[ch.ignored] = 0
    else:
        ch.ignored = None
        safe = lab.astype(np.intp, copy=False)
    if plan.weight is None and ch.ignored is None:
        a = 1.0 - eps  # the same for every row
    elif plan.weight is None:
        a = np.full(r1 - r0, 1.0 - eps)
    else:
        a = (1.0 - eps) * plan.w64[safe]
    if ch.ignored is not None:
        a[ch.ignored] = 0.0
    ch.a = a
    ch.flat_idx = np.arange(r0 * C, r1 * C, C, dtype=np.intp)
    ch.flat_idx += safe
    ch.zy = plan.logits.reshape(-1)[ch.flat_idx].astype(np.float64)
    if plan.grad is not None:
        gs = plan.grad_scale
        if isinstance(a, float):
            ch.coefnum = plan.dtype.type(gs * (a + eps * plan.W / C))
            ch.gy = plan.dtype.type(gs * a)
        else:
            coefnum = gs * (a + eps * plan.W / C)
            if ch.ignored is not None:
                coefnum[ch.ignored] = 0.0
            ch.coefnum = coefnum.astype(plan.dtype)
            ch.gy = (gs * a).astype(plan.dtype)
    return ch


def _rows(v, i0: int, i1: int):
    """Rows ``[i0, i1)`` of a per-row factor, or the factor itself if scalar."""
    return v[i0:i1] if isinstance(v, np.ndarray) else v


def _process_rows(plan: _Plan, r0: int, r1: int) -> None:
    """Run the fused kernel over rows ``[r0, r1)``: setup, blocks, row losses."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        rows = min(plan.block, r1 - r0)
        scratch = None
        if plan.grad is None:
            scratch = np.empty((rows, plan.C), dtype=plan.dtype)
        wz = None
        if plan.eps != 0.0 and plan.weight is not None:
            wz = np.empty((rows, plan.C), dtype=plan.dtype)
        ch = _chunk_setup(plan, r0, r1)
        for b0 in range(r0, r1, plan.block):
            b1 = min(b0 + plan.block, r1)
            g = plan.grad[b0:b1] if scratch is None else scratch[: b1 - b0]
            # Block-local flat index of each row's label entry in g.
            at_y = ch.flat_idx[b0 - r0:b1 - r0] - b0 * plan.C
            ch.any_shifted |= _block_exp(plan, b0, b1, g, at_y,
                                         None if wz is None else wz[: b1 - b0])
            _block_grad(plan, ch, b0, b1, g, at_y)
        _row_losses(plan, ch, r0, r1)


def _split_label_term(plan: _Plan, b0: int, b1: int, g: np.ndarray, at_y, rows=None) -> None:
    """From ``g = exp(z - m)``: ``ey`` (the label's term), ``rest`` (the sum of the
    others, summed without it, so no digit of it is lost to the label's term)
    and ``s = ey + rest``; leaves 0 at the label in `g`.  `rows` restricts it
    to some rows of the block (g is then those rows only)."""
    sel = slice(b0, b1) if rows is None else b0 + rows
    flat = g.reshape(-1)
    idx = at_y if rows is None else np.arange(len(rows)) * plan.C + (at_y[rows] % plan.C)
    ey = flat[idx]
    flat[idx] = 0
    rest = np.add.reduce(g, axis=1)
    plan.ey[sel] = ey
    plan.rest[sel] = rest
    plan.s[sel] = ey + rest


def _block_exp(plan: _Plan, b0: int, b1: int, g: np.ndarray, at_y, wz) -> bool:
    """One cache-sized block of rows: fills ``m``, ``ey``, ``rest``, ``s`` (``sz``)
    and ``g = exp(z - m)`` with 0 at the labels.

    Returns whether any row of the block was shifted by its maximum.
    """
    z = plan.logits[b0:b1]
    m = plan.m[b0:b1]
    if plan.eps == 0.0:
        # Fast path, no pass for the maximum: exponentiate unshifted and look at
        # each row's sum s.  Since exp(max z) <= s <= C exp(max z), a row with
        # C exp(m_lo) <= s <= exp(m_hi) neither overflowed nor lost precision to
        # underflow, so it needs no shift.  The rare other rows (large or very
        # negative scores, inf, NaN, all -inf; NaN fails both tests) are redone
        # with the shift by their maximum.  The choice is made row by row, so a
        # row's result does not depend on its neighbours (nor on the block and
        # thread split).
        np.exp(z, out=g)
        _split_label_term(plan, b0, b1, g, at_y)
        s = plan.s[b0:b1]
        ok = (s >= plan.s_lo) & (s <= plan.s_hi)
        if ok.all():
            return False
        redo = np.flatnonzero(~ok)
        zr = z[redo]
        mr = np.maximum.reduce(zr, axis=1)
        m[redo] = mr
        plan.shifted[b0 + redo] = True
        gr = np.subtract(zr, mr[:, None])
        np.exp(gr, out=gr)
        _split_label_term(plan, b0, b1, gr, at_y, rows=redo)
        g[redo] = gr
        return True
    np.maximum.reduce(z, axis=1, out=m)
    plan.shifted[b0:b1] = True
    np.subtract(z, m[:, None], out=g)
    # sum_j w_j (z_j - m); 0 * (-inf) gives NaN here, fixed later.  Not
    # a matmul: BLAS may sum in an order that depends on the block.
    if plan.weight is None:
        np.add.reduce(g, axis=1, out=plan.sz[b0:b1])
    else:
        np.multiply(g, plan.weight, out=wz)
        np.add.reduce(wz, axis=1, out=plan.sz[b0:b1])
    np.exp(g, out=g)
    _split_label_term(plan, b0, b1, g, at_y)
    return True


def _block_grad(plan: _Plan, ch: _Chunk, b0: int, b1: int, g: np.ndarray, at_y) -> None:
    """Turns ``g = exp(z - m)`` (0 at the labels) of one block into the gradient."""
    if plan.grad is None:
        return
    s = plan.s[b0:b1]
    # grad = scale * (p * (a + eps W / C) - a * onehot - (eps / C) * w); at the
    # label, p_y - 1 = -rest / s exactly, so it is written from rest instead of
    # subtracting 1 from a number near 1.
    i0, i1 = b0 - ch.r0, b1 - ch.r0
    coef = np.divide(_rows(ch.coefnum, i0, i1), s)
    np.multiply(g, coef[:, None], out=g)
    gy = _rows(ch.gy, i0, i1)
    at_label = (plan.epsnum * plan.ey[b0:b1] - gy * plan.rest[b0:b1]) / s
    g.reshape(-1)[at_y] = at_label
    if plan.eps != 0.0:
        np.subtract(g, plan.smooth_vec, out=g)


def _label_nll(plan: _Plan, ch: _Chunk, r0: int, r1: int, log_s):
    """``lse - z_y`` of rows ``[r0, r1)`` in float64, accurate to the last bits.

    Where the label's term ``ey`` is a normal number, ``lse - z_y =
    log1p(rest / ey)``, with ``rest / ey = sum_{j != y} exp(z_j - z_y)`` known
    to a few rounding errors whatever the shift: no cancellation, and the
    result is never negative.  (SciPy's logsumexp uses the same log1p of the
    other terms when one term dominates.)  Elsewhere (a label far below the
    maximum, a masked label, a NaN / inf row) the loss is large, infinite or
    NaN, and ``log s + (m - z_y)`` is accurate: both terms are >= 0 on shifted
    rows, and an unshifted row only gets there with a loss above 40.
    """
    ey = plan.ey[r0:r1].astype(np.float64)
    ratio = plan.rest[r0:r1].astype(np.float64) / ey
    good = (ey >= plan.tiny) & (ratio <= 2.0**60)
    if ch.any_shifted:
        m64 = np.where(plan.shifted[r0:r1], plan.m[r0:r1].astype(np.float64), 0.0)
        far = log_s + (m64 - ch.zy)
    else:
        far = log_s - ch.zy
    return np.where(good, np.log1p(np.where(good, ratio, 0.0)), far)


def _row_losses(plan: _Plan, ch: _Chunk, r0: int, r1: int) -> None:
    """The loss of rows ``[r0, r1)`` from their sums (and ``m``, ``sz``)."""
    eps, C, a = plan.eps, plan.C, ch.a
    row_loss = plan.row_loss[r0:r1]
    log_s = np.log(plan.s[r0:r1].astype(np.float64))
    d = _label_nll(plan, ch, r0, r1, log_s)
    if isinstance(a, float):
        if a == 1.0:
            row_loss[...] = d
        elif a == 0.0:
            # 0 * inf must give 0 (eps = 1); NaN rows stay NaN.
            np.multiply(0.0, log_s, out=row_loss)
        else:
            np.multiply(a, d, out=row_loss)
    else:
        np.multiply(a, d, out=row_loss)
        zero_a = a == 0.0
        if zero_a.any():
            # 0 * inf must give 0 (masked label with weight 0); NaN rows stay NaN.
            row_loss[zero_a] = 0.0 * log_s[zero_a]
    if eps != 0.0:
        sz = plan.sz[r0:r1].astype(np.float64)
        m = plan.m[r0:r1]
        bad = np.flatnonzero(np.isnan(sz) & np.isfinite(m) & np.isfinite(log_s))
        if bad.size:
            # A class with weight 0 and logit -inf: its term is 0, not NaN.
            pos = plan.weight != 0
            wpos = plan.w64[pos]
            for i in bad:
                row = plan.logits[r0 + i, pos].astype(np.float64)
                sz[i] = float(np.dot(wpos, row - float(m[i])))
        # sum_j w_j (lse - z_j) = W log S - sum_j w_j (z_j - m): each term >= 0 for
        # weights >= 0, so the rounding of the difference is clamped at 0 then.
        smooth = plan.W * log_s - sz
        row_loss += (eps / C) * (smooth if plan.w_signed else np.maximum(smooth, 0.0))
    if ch.ignored is not None:
        row_loss[ch.ignored] = 0.0
        if plan.grad is not None:
            plan.grad[r0 + ch.ignored] = 0.0


# --------------------------------------------------------------------------- #
# The plain case: no class weights, no ignored row, no label smoothing
# --------------------------------------------------------------------------- #
# Most calls are this case, and most of its rows need no shift.  For it the
# whole kernel is one straight sequence of ufunc calls per block, without the
# plan, the per-chunk setup and the per-row scratch arrays of the general path
# above.  It does the very arithmetic the general path does on such rows (the
# same ufuncs on the same operands, in the same order), so the results agree
# bit for bit; it gives up (returns False) as soon as a row needs the shift by
# its maximum, and the caller then runs the general path over everything.

_TINY = {np.dtype(t): float(np.finfo(t).smallest_normal) for t in (np.float32, np.float64)}


def _row_starts(n: int, C: int) -> np.ndarray:
    """``[0, C, 2C, ...]`` (n entries, read-only): the flat index of each row's
    first entry.  Cached for small blocks (at most 32 KiB each), since a training
    loop asks for the same shape at every step."""
    return _small_row_starts(n, C) if n <= 4096 else np.arange(0, n * C, C, dtype=np.intp)


@functools.lru_cache(maxsize=64)
def _small_row_starts(n: int, C: int) -> np.ndarray:
    a = np.arange(0, n * C, C, dtype=np.intp)
    a.flags.writeable = False
    return a


def _plain_rows(logits, labels, grad, row_loss, consts, r0: int, r1: int) -> bool:
    """The plain kernel over rows ``[r0, r1)``, block by block; False if it gave up.

    `consts` is ``(grad_scale, s_lo, s_hi, tiny, block)``.  Without `grad`
    the exponentials go to a scratch block.
    """
    block = consts[-1]
    scratch = None
    if grad is None:
        scratch = np.empty((min(block, r1 - r0), logits.shape[1]), dtype=logits.dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        for b0 in range(r0, r1, block):
            b1 = min(b0 + block, r1)
            g = grad[b0:b1] if scratch is None else scratch[: b1 - b0]
            if not _plain_block(logits[b0:b1], labels[b0:b1], g, row_loss[b0:b1],
                                scratch is None, *consts[:-1]):
                return False
    return True


def _plain_block(z, lab, g, row_loss, want_grad: bool, gs: float, s_lo, s_hi,
                 tiny: float) -> bool:
    """One block of the plain case: `g` (the gradient, or scratch) and `row_loss`.

    The steps and their operands are those of :func:`_block_exp` (unshifted
    branch), :func:`_split_label_term`, :func:`_block_grad` and
    :func:`_label_nll` with ``a = 1``, ``eps = 0``: see them for the why.
    """
    n, C = z.shape
    at_y = lab.astype(np.intp)  # a copy, even of intp labels
    at_y += _row_starts(n, C)
    flat = g.reshape(-1)
    np.exp(z, out=g)
    ey = flat[at_y]
    flat[at_y] = 0
    rest = np.add.reduce(g, axis=1)
    s = ey + rest
    # Every row in the safe range (a NaN fails both tests), else give up.
    if not (np.minimum.reduce(s) >= s_lo and np.maximum.reduce(s) <= s_hi):
        return False
    if want_grad:
        t = z.dtype.type
        # coefnum = gy = gs * (1 + 0 * W / C) = gs; epsnum = gs * 0 * W / C = gs * 0
        # (0, or NaN for an infinite gs, as in the general path).
        # epsnum * ey is epsnum itself, bit for bit, since 0 <= ey <= s is finite.
        gy = t(gs)
        np.multiply(g, np.divide(gy, s)[:, None], out=g)
        at_label = np.multiply(gy, rest)
        np.subtract(t(gs * 0.0), at_label, out=at_label)
        at_label /= s
        flat[at_y] = at_label
    # ratio = rest / ey in float64 (the inputs cast first, as astype would), in
    # row_loss, then log1p in place; the rows where that form does not apply
    # (see _label_nll) get log s - z_y.
    np.divide(rest, ey, out=row_loss, dtype=np.float64)
    far = None
    if not (np.minimum.reduce(ey) >= tiny and np.maximum.reduce(row_loss) <= 2.0**60):
        far = np.flatnonzero(~((ey >= tiny) & (row_loss <= 2.0**60)))
    np.log1p(row_loss, out=row_loss)
    if far is not None:
        zy = z.reshape(-1)[at_y[far]].astype(np.float64)
        row_loss[far] = np.log(s[far].astype(np.float64)) - zy
    return True


def _is_plain(eps: float, weight, labels, ignore_index) -> bool:
    """Whether a call is the plain case (no weights, smoothing or ignored row)."""
    return eps == 0.0 and weight is None and (
        ignore_index is None or not (labels == ignore_index).any())


def ce_rows_numpy(
    logits,
    labels,
    *,
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    grad_scale=1.0,
    out=None,
    want_grad=True,
    num_threads=None,
    block_bytes=BLOCK_BYTES,
    thread_min_elements=THREAD_MIN_ELEMENTS,
):
    r"""Per-row softmax cross-entropy and its gradient, fused, on NumPy arrays.

    The low-level kernel behind :func:`softmaxlab.losses.cross_entropy_with_grad`
    for NumPy inputs.  It checks only what it needs to stay memory-safe (shapes,
    dtypes, aliasing); label ranges and weight signs are the caller's job.

    Parameters
    ----------
    logits : numpy.ndarray
        Shape ``(N, C)``, float32 or float64, C-contiguous.  Never modified.
    labels : numpy.ndarray
        Shape ``(N,)``, integer.  Each entry is in ``[0, C)`` or equals
        ``ignore_index``.
    weight : numpy.ndarray or None, optional
        Shape ``(C,)``, same dtype as ``logits``, finite class weights (of any sign).
        ``None`` means all ones.
    ignore_index : int or None, optional
        Rows whose label equals it get loss 0 and a zero gradient row, whatever
        their logits (even NaN).
    label_smoothing : float, optional
        :math:`\varepsilon \in [0, 1]`.
    grad_scale : float, optional
        Multiplies the gradient (the caller passes ``1 / normaliser``).
    out : numpy.ndarray or None, optional
        ``(N, C)`` C-contiguous array of ``logits.dtype`` to write the gradient
        into; every element is written.  It must not overlap ``logits`` (the
        kernel reads the logits after it starts writing the gradient).  Reuse
        it across training steps to avoid a fresh ``N * C`` allocation.
    want_grad : bool, optional
        If False, only the loss is computed (no ``N * C`` array is allocated;
        each thread uses a cache-sized scratch block) and ``grad`` is None.
    num_threads : int or None, optional
        Threads to use.  ``None``: 1 for inputs below `thread_min_elements`
        elements,
        else :func:`default_num_threads`.  An explicit value is used as given
        (capped at ``N``), whatever the size.
    block_bytes : int, optional
        Target size in bytes of one block of logits (tuning knob; default
        :data:`BLOCK_BYTES`).
    thread_min_elements : int, optional
        Inputs with fewer elements run on the calling thread only when
        `num_threads` is None (tuning knob; default :data:`THREAD_MIN_ELEMENTS`).

    Returns
    -------
    row_loss : numpy.ndarray
        Shape ``(N,)``, **float64** whatever the input dtype (accumulated in
        float64).  0 for ignored rows; NaN for a row that holds a NaN or
        ``+inf``, or whose entries are all ``-inf``; ``+inf`` where a class
        with positive weight that the loss needs has logit ``-inf`` (the label,
        or any class when ``label_smoothing > 0``), as in PyTorch.
    grad : numpy.ndarray or None
        Shape ``(N, C)``, ``logits.dtype`` (``out`` itself when given).  Zero
        rows for ignored rows, NaN rows for the NaN-loss rows above, finite
        otherwise (also where the loss is ``+inf``).

    Raises
    ------
    TypeError
        If ``logits`` is not a float32/float64 ndarray, ``labels`` not integer,
        or ``weight``/``out`` of another dtype.
    ValueError
        If shapes disagree, an array is not C-contiguous, ``out`` overlaps
        ``logits``, or ``num_threads < 1``.

    Notes
    -----
    For a kept row with label :math:`y`, logits :math:`z`, :math:`p =
    \operatorname{softmax}(z)`, :math:`\ell = \operatorname{logsumexp}(z)`,
    class weights :math:`w` and :math:`W = \sum_j w_j`:

    .. math::

        L = (1-\varepsilon)\, w_y (\ell - z_y)
            + \frac{\varepsilon}{C} \sum_j w_j (\ell - z_j),

        \frac{\partial L}{\partial z} \cdot s = s \Bigl(
            p \bigl((1-\varepsilon) w_y + \varepsilon W / C\bigr)
            - (1-\varepsilon) w_y\, e_y - \frac{\varepsilon}{C} w \Bigr)

    with :math:`s` = ``grad_scale``.  Terms with :math:`w_j = 0` count 0 even
    where :math:`z_j = -\infty`.  This is PyTorch's
    ``F.cross_entropy(z, y, weight, ignore_index=..., label_smoothing=...,
    reduction="none")`` row by row.  With :math:`m = \max_j z_j` and
    :math:`S = \sum_j e^{z_j - m}`, the kernel uses
    :math:`\ell - z_y = \operatorname{log1p}\bigl(\sum_{j \ne y} e^{z_j - z_y}\bigr)`
    (the other terms summed apart from the label's) where :math:`e^{z_y - m}`
    is a normal number, and :math:`\log S - (z_j - m)`, both terms of one
    sign, elsewhere: no cancellation, never negative, and no logarithm of
    :math:`p`.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1000.0, 1.0], [0.0, 0.0]])
    >>> loss, grad = ce_rows_numpy(z, np.array([0, 1]))
    >>> loss
    array([0.        , 0.69314718])
    >>> grad
    array([[ 0. ,  0. ],
           [ 0.5, -0.5]])
    >>> loss, grad = ce_rows_numpy(z, np.array([0, -100]), ignore_index=-100,
    ...                            want_grad=False)
    >>> loss, grad
    (array([0., 0.]), None)
    """
    _check_args(logits, labels, weight, out, want_grad, num_threads)
    N, C = logits.shape
    row_loss = np.empty(N, dtype=np.float64)
    grad = None
    if want_grad:
        grad = out if out is not None else np.empty((N, C), dtype=logits.dtype)
    if N == 0:
        return row_loss, grad
    if C == 0:
        raise V.argument_error("ce_rows_numpy", "logits", "at least one class (C >= 1)",
                               f"shape {logits.shape}", must="have")
    labels, eps, gs = np.asarray(labels), float(label_smoothing), float(grad_scale)
    if num_threads is None:
        nt = default_num_threads() if N * C >= thread_min_elements else 1
    else:
        nt = int(num_threads)
    nt = min(nt, N)
    block = max(1, int(block_bytes) // (C * logits.dtype.itemsize))
    if _is_plain(eps, weight, labels, ignore_index):
        consts = (gs, *_unshifted_sum_bounds(logits.dtype, C), _TINY[logits.dtype], block)
        if all(_share_rows(_plain_rows, (logits, labels, grad, row_loss, consts), N, nt,
                           block)):
            return row_loss, grad
    plan = _make_plan(logits, labels, grad, row_loss, eps,
                      None if weight is None else np.ascontiguousarray(weight), ignore_index,
                      gs, block)
    _share_rows(_process_rows, (plan,), N, nt, block)
    return row_loss, grad


def _found(a, attr: str = "dtype") -> str:
    """What an argument is, for a message: its type, and its dtype (or shape) if it has one."""
    v = getattr(a, attr, None)
    return type(a).__name__ if v is None else f"{type(a).__name__} of {attr} {v}"


def _check_args(logits, labels, weight, out, want_grad, num_threads) -> None:
    """The checks that keep the kernel memory-safe (shapes, dtypes, layout, aliasing)."""
    where = "ce_rows_numpy"
    if not isinstance(logits, np.ndarray) or logits.dtype not in (np.float32, np.float64):
        raise V.argument_error(where, "logits", "a float32 or float64 numpy.ndarray",
                               _found(logits), TypeError)
    if logits.ndim != 2:
        raise V.argument_error(where, "logits", "shape (N, C)", f"shape {logits.shape}", must="have")
    if not logits.flags.c_contiguous:
        raise V.argument_error(where, "logits", "C-contiguous",
                               f"a non-contiguous array with strides {logits.strides}")
    N, C = logits.shape
    dtype = logits.dtype
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise V.argument_error(where, "labels", "an integer dtype", f"dtype {labels.dtype}",
                               TypeError, must="have")
    if labels.shape != (N,):
        raise V.argument_error(where, "labels", f"shape ({N},) to match logits {logits.shape}",
                               f"shape {labels.shape}", must="have")
    if weight is not None:
        if not isinstance(weight, np.ndarray) or weight.dtype != dtype:
            raise V.argument_error(where, "weight", f"a numpy.ndarray of dtype {dtype}",
                                   _found(weight), TypeError)
        if weight.shape != (C,):
            raise V.argument_error(where, "weight", f"shape ({C},)", f"shape {weight.shape}",
                                   must="have")
    if out is not None:
        if not want_grad:
            raise V.argument_error(where, "out", "None when want_grad is False",
                                   _found(out, "shape"))
        if not isinstance(out, np.ndarray) or out.dtype != dtype:
            raise V.argument_error(where, "out", f"a numpy.ndarray of dtype {dtype}",
                                   _found(out), TypeError)
        if out.shape != (N, C):
            raise V.argument_error(where, "out", f"shape {(N, C)}", f"shape {out.shape}", must="have")
        if not out.flags.c_contiguous or not out.flags.writeable:
            flaws = ([] if out.flags.writeable else ["read-only"]) + (
                [] if out.flags.c_contiguous else [f"non-contiguous (strides {out.strides})"])
            raise V.argument_error(where, "out", "a writeable C-contiguous array",
                                   f"an array that is {' and '.join(flaws)}")
        if np.may_share_memory(out, logits):
            raise V.argument_error(
                where, "out", "'logits' (the kernel reads the logits after it starts writing "
                "the gradient)", "an array that shares memory with 'logits'", must="not overlap")
    if num_threads is not None and (not isinstance(num_threads, (int, np.integer))
                                    or num_threads < 1):
        raise V.argument_error(where, "num_threads", "None or an integer >= 1", repr(num_threads))


def _make_plan(logits, labels, grad, row_loss, eps, weight, ignore_index, grad_scale,
               block: int) -> _Plan:
    """Everything the workers share: inputs, outputs, per-row scratch, constants."""
    N, C = logits.shape
    dtype = logits.dtype
    plan = _Plan()
    plan.logits, plan.labels, plan.grad, plan.row_loss = logits, labels, grad, row_loss
    plan.eps, plan.weight, plan.ignore_index, plan.grad_scale = eps, weight, ignore_index, grad_scale
    plan.dtype, plan.C = dtype, C
    if weight is None:
        plan.w64, plan.W, plan.w_signed = None, float(C), False
    else:
        plan.w64 = weight.astype(np.float64)
        plan.W = float(plan.w64.sum())
        plan.w_signed = bool((plan.w64 < 0).any())
    plan.block = block
    plan.m = np.empty(N, dtype=dtype)
    plan.s = np.empty(N, dtype=dtype)
    plan.ey = np.empty(N, dtype=dtype)
    plan.rest = np.empty(N, dtype=dtype)
    plan.tiny = float(np.finfo(dtype).smallest_normal)
    plan.epsnum = dtype.type(grad_scale * eps * plan.W / C)
    plan.shifted = np.zeros(N, dtype=bool)
    plan.sz = np.empty(N, dtype=dtype) if eps != 0.0 else None
    plan.s_lo, plan.s_hi = _unshifted_sum_bounds(dtype, C)
    if grad is not None and eps != 0.0:
        if weight is None:
            plan.smooth_vec = dtype.type(grad_scale * eps / C)
        else:
            plan.smooth_vec = ((grad_scale * eps / C) * plan.w64).astype(dtype)
    return plan


def _run_chunks(fn, args: tuple, N: int, nt: int) -> list:
    """``fn(*args, r0, r1)`` over `nt` contiguous row chunks of ``[0, N)``, one per
    thread (the caller runs the first); the list of their results, in order."""
    if nt <= 1:  # nt is 0 for an empty range (N = 0 rows, e.g. H = 0 features)
        return [fn(*args, 0, N)]
    bounds = [N * k // nt for k in range(nt + 1)]
    pool = _get_pool(nt - 1)
    futures = [pool.submit(fn, *args, bounds[k], bounds[k + 1]) for k in range(1, nt)]
    first = fn(*args, bounds[0], bounds[1])
    return [first] + [f.result() for f in futures]


def _share_rows(fn, args: tuple, N: int, nt: int, block: int) -> list:
    """``fn(*args, r0, r1)`` over pieces of ``[0, N)`` taken by up to `nt` threads.

    The rows are cut into about ``PIECES_PER_THREAD * nt`` pieces, each a whole
    number of `block` rows, and every thread takes the next piece until none is
    left.  The caller starts at once rather than waiting for the workers, and a
    worker that had not started when the caller ran out of pieces is cancelled,
    so a pool slow to wake costs nothing.  Each row's result is computed by the
    same operations whichever piece and thread it falls to, so the results do
    not depend on the split.  Returns the pieces' results, in row order.
    """
    step = block * max(1, -(-N // (block * PIECES_PER_THREAD * nt)))
    if nt == 1 or N <= step:  # one piece: no pool, no hand-off
        return [fn(*args, 0, N)]
    starts = range(0, N, step)
    results = [None] * len(starts)
    order = iter(range(len(starts)))

    def take():
        for k in order:
            results[k] = fn(*args, starts[k], min(starts[k] + step, N))

    pool = _get_pool(nt - 1)
    futures = [pool.submit(take) for _ in range(min(nt, len(starts)) - 1)]
    take()
    for f in futures:
        if not f.cancel():
            f.result()
    return results
