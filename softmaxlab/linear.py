r"""The cross-entropy of a linear layer's scores, without ever holding all of them.

A language model ends with a linear layer onto a vocabulary of :math:`V`
tokens and a softmax cross-entropy.  Written as two steps, the scores
:math:`Z = h W^\top + b` of :math:`N` positions form an :math:`N \times V`
array (8,192 positions and a 128,256-token vocabulary: 4.2 GB of float32), and
the gradient with respect to them as much again.  :func:`linear_cross_entropy`
and :func:`linear_cross_entropy_with_grad` compute the same loss and the
gradients with respect to `hidden`, `weight` and `bias` one *block* of scores
at a time:

* when at least 256 whole rows of :math:`V` scores fit the budget (or all
  :math:`N`), the positions are cut into blocks of rows; each block's scores
  are made, turned into the loss and the gradient, multiplied back into the
  three gradients, and dropped;
* otherwise the vocabulary is cut into tiles, each over every row (or over
  blocks of thousands of rows), and the log-sum-exp of a row is accumulated
  over the tiles with the online normaliser of chapter 7 (Milakov and
  Gimelshein, 2018): a running maximum :math:`m` and a running sum :math:`d`
  of :math:`e^{z_j - m}`, rescaled when the maximum grows.  One sweep gives
  the loss; the gradient needs the finished normaliser, so it sweeps the
  tiles a second time and recomputes their scores.  Thin blocks of a few
  rows would be simpler, but their weight gradient is a sum of thin matrix
  products, several times slower than one tall product per tile.  On NumPy
  the work of a tile is split over threads, and the shift by the row
  maximum skipped where it is not needed (``softmaxlab.kernels.tiles``).

At most `chunk_size` scores exist at any moment, whatever :math:`N` and
:math:`V` are.  This is the idea of Liger-Kernel's fused linear cross-entropy
(blocks of tokens) and of Apple's Cut Cross-Entropy (tiles of the vocabulary).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

from . import _validation as V
from ._backend import arange_on, as_indices, full_on, is_numpy_namespace, to_numpy, zeros_on
from ._docs import fill
from .losses import REDUCTIONS, _reduce_rows

__all__ = ["LinearCrossEntropyGrad", "linear_cross_entropy",
           "linear_cross_entropy_with_grad", "DEFAULT_CHUNK_SIZE", "DEFAULT_CHUNK_MAX",
           "default_chunk_size"]

#: Scores held at once when ``chunk_size=None``: 2**22 (16 MiB of float32),
#: raised up to :data:`DEFAULT_CHUNK_MAX` when that lets one block hold 256
#: whole rows (one sweep instead of two over tiles of the vocabulary).
DEFAULT_CHUNK_SIZE = 2 ** 22

#: The most scores the default budget grows to (32 MiB of float32).
DEFAULT_CHUNK_MAX = 2 ** 23


def default_chunk_size(N: int, V: int) -> int:
    """The `chunk_size` used when none is given, for N positions and V classes.

    :data:`DEFAULT_CHUNK_SIZE`, or the scores of ``min(N, 256)`` whole rows
    when that is more but at most :data:`DEFAULT_CHUNK_MAX`.

    >>> default_chunk_size(4096, 32000), default_chunk_size(2048, 128256)
    (8192000, 4194304)
    """
    want = min(N, _MIN_ROWS) * V
    return want if DEFAULT_CHUNK_SIZE < want <= DEFAULT_CHUNK_MAX else DEFAULT_CHUNK_SIZE


class LinearCrossEntropyGrad(NamedTuple):
    """Gradients of :func:`linear_cross_entropy_with_grad`'s loss.

    A named tuple ``(hidden, weight, bias)``: ``hidden`` of shape ``(N, H)``,
    ``weight`` of shape ``(V, H)``, ``bias`` of shape ``(V,)`` or None when
    the call had no bias.
    """

    hidden: Any
    weight: Any
    bias: Any


class _Args:
    __slots__ = ("xp", "h", "w", "b", "y", "valid", "N", "H", "V", "in_dtype", "cdtype",
                 "eps", "reduction", "chunk", "ignore_index")


def _check_matrix(fn, name, a, xp, layout):
    V.check_float(a, xp, fn, name)
    if a.ndim != 2:
        raise V.argument_error(fn, name, f"a 2-d array of shape {layout}",
                               f"a {a.ndim}-d array of shape {tuple(a.shape)}")


def _first_bad(fn: str, name: str, a, xp, expected: str, test, rows_per_block: int) -> None:
    """Raise, naming the first entry of the 2-d or 1-d `a` where ``test(part)`` is
    True and its value.  Row blocks of `rows_per_block`: the masks never take more
    memory than a block (`weight` can be larger than the gradients held at once)."""
    n = a.shape[0]
    for r0 in range(0, n, rows_per_block):
        part = a[r0:min(r0 + rows_per_block, n), ...]  # array-API slices stay in bounds
        V.check_entries(test(part, r0), part, xp, fn, name, expected, offset=r0)


def _check_inputs_finite(fn: str, A: _Args, h, w) -> None:
    """hidden (at the positions not ignored) and weight finite; a bias finite or
    -inf (a class masked out, as a -inf logit is for cross_entropy)."""
    xp = A.xp
    rows = max(1, A.chunk // max(1, A.H))

    def hidden_bad(part, r0):
        bad = ~xp.isfinite(part)
        if A.valid is None:
            return bad
        return bad & xp.reshape(A.valid[r0:r0 + part.shape[0]], (-1, 1))

    _first_bad(fn, "hidden", h, xp, "finite at the positions that are not ignored",
               hidden_bad, rows)
    _first_bad(fn, "weight", w, xp, "finite", lambda part, r0: ~xp.isfinite(part), rows)
    if A.b is not None:
        _first_bad(fn, "bias", A.b, xp, "finite or -inf (a class masked out)",
                   lambda part, r0: xp.isnan(part) | (part == math.inf), A.V)


def _prepare(fn, hidden, weight, target, bias, ignore_index, label_smoothing, reduction,
             chunk_size, validate) -> _Args:
    if reduction not in REDUCTIONS:
        raise V.argument_error(fn, "reduction", "one of " + ", ".join(map(repr, REDUCTIONS)),
                               repr(reduction))
    A = _Args()
    A.eps = V.check_real_scalar(label_smoothing, fn, "label_smoothing", lo=0.0, hi=1.0)
    validate = V.check_bool(validate, fn, "validate")
    if chunk_size is not None:
        chunk_size = V.check_int(chunk_size, fn, "chunk_size", lo=1)
    if ignore_index is not None and (isinstance(ignore_index, (bool, np.bool_))
                                     or not isinstance(ignore_index, numbers.Integral)):
        raise V.argument_error(fn, "ignore_index", "an integer or None", repr(ignore_index),
                               TypeError)
    A.ignore_index = None if ignore_index is None else int(ignore_index)
    xp, h = V.namespace_and_array(hidden, fn, "hidden", weight, target, bias)
    w = V.as_array(weight, xp, fn, "weight")
    V.same_device(w, h, fn, "weight", "hidden")
    _check_matrix(fn, "hidden", h, xp, "(N, H)")
    _check_matrix(fn, "weight", w, xp, "(V, H) (the layout of torch.nn.Linear.weight)")
    (N, H), (Vn, Hw) = tuple(h.shape), tuple(w.shape)
    if Hw != H:
        raise V.argument_error(fn, "weight", f"of shape (V, {H}), one row of H = {H} "
                               f"entries per class for hidden of shape {(N, H)}",
                               f"shape {(Vn, Hw)}")
    if Vn == 0:
        raise V.argument_error(fn, "weight", "of shape (V, H) with V >= 1 classes",
                               f"shape {(Vn, Hw)}")
    if w.dtype != h.dtype:
        raise V.argument_error(fn, "weight", f"of the dtype of 'hidden' ({V.dtype_name(h.dtype)})",
                               f"dtype {V.dtype_name(w.dtype)}", TypeError)
    A.xp, A.N, A.H, A.V = xp, N, H, Vn
    A.chunk = default_chunk_size(N, Vn) if chunk_size is None else chunk_size
    A.in_dtype, A.cdtype = h.dtype, V.compute_dtype(h, xp)
    if A.cdtype != xp.float32 and A.cdtype != xp.float64:  # longdouble
        raise V.argument_error(fn, "hidden", "float16, float32 or float64 (the blocked "
                               "kernels compute in float32 or float64)",
                               f"dtype {V.dtype_name(h.dtype)}", TypeError, must="have")
    A.h = h if A.cdtype == h.dtype else xp.astype(h, A.cdtype)
    A.w = w if A.cdtype == w.dtype else xp.astype(w, A.cdtype)
    A.b = None
    if bias is not None:
        b = V.as_array(bias, xp, fn, "bias")
        V.same_device(b, h, fn, "bias", "hidden")
        if tuple(b.shape) != (Vn,) or b.dtype != h.dtype:
            raise V.argument_error(fn, "bias", f"an array of shape ({Vn},) and dtype "
                                   f"{V.dtype_name(h.dtype)}, one entry per class",
                                   f"shape {tuple(b.shape)} and dtype {V.dtype_name(b.dtype)}")
        A.b = b if A.cdtype == b.dtype else xp.astype(b, A.cdtype)
    _check_target(fn, A, target, validate)
    if validate:
        _check_inputs_finite(fn, A, h, w)
    if reduction != "none" and reduction != "sum" and N == 0:
        raise V.argument_error(fn, "hidden", f"at least one row for reduction={reduction!r}",
                               "an empty batch")
    A.reduction = reduction
    return A


def _check_target(fn: str, A: _Args, target, validate: bool) -> None:
    """Integer labels of shape (N,), in [0, V - 1] or equal to ignore_index."""
    xp, N, Vn = A.xp, A.N, A.V
    y = V.as_array(target, xp, fn, "target")
    V.same_device(y, A.h, fn, "target", "hidden")
    if V.dtype_kind(y.dtype, xp) == "integer":
        y = V.int64_labels(y, xp)
    if V.dtype_kind(y.dtype, xp) != "integer":
        raise V.argument_error(fn, "target", "integer class labels",
                               f"dtype {V.dtype_name(y.dtype)}", TypeError)
    if tuple(y.shape) != (N,):
        raise V.argument_error(fn, "target", f"of shape ({N},), one label per row of hidden",
                               f"shape {tuple(y.shape)}")
    A.y = y
    A.valid = None if A.ignore_index is None else y != A.ignore_index
    if A.valid is not None and not V.any_true(~A.valid, xp):
        A.valid = None  # nothing ignored: no mask to apply block by block
    if validate and N:
        bad = (y < 0) | (y >= Vn)
        if A.valid is not None:
            bad = bad & A.valid
        if V.any_true(bad, xp):
            pos = V.first_true_index(bad, (N,))[0]
            extra = "" if A.ignore_index is None else f" or ignore_index={A.ignore_index}"
            raise V.argument_error(fn, "target", f"class labels in [0, {Vn - 1}]{extra}",
                                   f"{int(to_numpy(y[pos]))} at position {pos}")


#: A block of whole rows of scores needs at least this many rows: fewer make
#: the weight gradient a sum of thin products, which run far below the speed
#: of one tall product (``benchmarks/results/linear-ce-*``).  Below it the
#: vocabulary is cut into tiles swept twice, each tile over all the rows.
_MIN_ROWS = 256

#: The narrowest tile of the vocabulary when N rows do not fit with it.
_MIN_COLS = 512


def _blocks(A: _Args) -> tuple[int, int]:
    """Rows per block and vocabulary columns per tile, with rows * columns <= chunk.

    Whole rows when at least :data:`_MIN_ROWS` of them (or all N) fit;
    otherwise tiles as tall as the budget allows (every row, or
    ``chunk // 512`` rows when the tile would be narrower than 512 columns).
    """
    if A.V <= A.chunk and (A.chunk // A.V >= min(A.N, _MIN_ROWS)):
        return max(1, min(A.N, A.chunk // A.V)), A.V
    rows = max(1, min(A.N, A.chunk // min(A.V, _MIN_COLS)))
    return rows, max(1, min(A.V, A.chunk // rows))


def _scale(A: _Args):
    """1 / the normaliser of the summed loss (0 when every position is ignored)."""
    xp = A.xp
    if A.reduction in ("none", "sum"):
        return 1.0
    if A.reduction in ("full", "batch_size") or A.valid is None:
        return 1.0 / A.N
    count = xp.sum(xp.astype(A.valid, A.cdtype))
    return xp.where(count > 0, 1.0 / xp.where(count > 0, count, xp.ones_like(count)),
                    xp.zeros_like(count))


def _tile_scores(A: _Args, hb, v0: int, v1: int):
    """Scores of one block of rows against vocabulary columns [v0, v1)."""
    xp = A.xp
    z = xp.matmul(hb, xp.permute_dims(A.w[v0:v1, :], (1, 0)))
    if A.b is not None:
        z = z + A.b[v0:v1]
    return z


def _label_scores(A: _Args, z, yb, v0: int, v1: int):
    """Each row's score of its label where the label lies in [v0, v1); 0 elsewhere."""
    xp = A.xp
    nb, vb = z.shape
    inside = (yb >= v0) & (yb < v1)
    col = xp.where(inside, yb - v0, xp.zeros_like(yb))
    flat = arange_on(yb, 0, nb, xp=xp, dtype=yb.dtype) * vb + col
    zy = xp.take(xp.reshape(z, (-1,)), as_indices(flat, xp))  # int32 on wasm32
    return xp.where(inside, zy, xp.zeros_like(zy))


def _rows_loss(A: _Args, lse, zy, zsum):
    """Per-row loss: (1 - eps) (lse - z_y) + eps (lse - mean_j z_j), never negative."""
    xp = A.xp
    rows = lse - zy
    if A.eps:
        smooth = xp.maximum(lse - zsum / A.V, xp.zeros_like(lse))
        rows = A.eps * smooth if A.eps == 1.0 else (1 - A.eps) * rows + A.eps * smooth
    return rows


def _whole_rows(A: _Args, hb, yb, want_grad: bool):
    """A block whose rows hold the whole vocabulary: the library's fused loss.

    :func:`softmaxlab.cross_entropy_with_grad` (its CUDA kernel on CuPy)
    gives the per-row losses and the gradient of their sum.  (NumPy:
    :func:`softmaxlab.kernels.tiles.rows_block`.)
    """
    from .losses import cross_entropy, cross_entropy_with_grad

    z = _tile_scores(A, hb, 0, A.V)
    kw = dict(ignore_index=A.ignore_index, label_smoothing=A.eps, reduction="none",
              validate=False)
    if not want_grad:
        return cross_entropy(z, yb, **kw), None
    return cross_entropy_with_grad(z, yb, **kw)


def _accumulate(A: _Args, grads, g, hs) -> Any:
    """Add one block's share to the weight and bias gradients; return its share of dL/dh.

    `hs` is the block's hidden rows times the loss scale.  The weight gradient
    is added in slices of rows (``chunk_size / 4H`` of them, at least 512), so
    that no temporary of the weight's size is made.
    """
    xp = A.xp
    gw, gb = grads
    gt = xp.permute_dims(g, (1, 0))
    step = max(_SLICE, A.chunk // (4 * max(A.H, 1)))
    for s0 in range(0, A.V, step):
        s1 = min(s0 + step, A.V)
        _add_product(gw[s0:s1, :], gt[s0:s1, :], hs, first=False)
    if gb is not None:
        gb[...] += xp.sum(g, axis=0)
    return xp.matmul(g, A.w)


#: The fewest rows of the weight gradient updated per matrix product (the
#: temporary holds max(_SLICE, chunk_size / 4H) rows of H entries).
_SLICE = 512


def _block_rows(A: _Args, r0: int, r1: int):
    """Hidden rows [r0, r1), ignored rows (which may hold anything) set to zero."""
    xp = A.xp
    hb = A.h[r0:r1, :]
    if A.valid is not None:
        hb = xp.where(xp.reshape(A.valid[r0:r1], (-1, 1)), hb, xp.zeros_like(hb))
    return hb


def _new_grads(A: _Args):
    xp = A.xp
    # On the inputs' device: array-API libraries with several devices refuse to
    # combine arrays from two of them.
    return (zeros_on(A.h, (A.N, A.H), xp=xp, dtype=A.cdtype),
            zeros_on(A.h, (A.V, A.H), xp=xp, dtype=A.cdtype),
            None if A.b is None else zeros_on(A.h, (A.V,), xp=xp, dtype=A.cdtype))


def _run_rows(A: _Args, nb: int, want_grad: bool, scale):
    """Blocks of whole rows, one sweep: per-row losses and the scaled gradients."""
    xp = A.xp
    if is_numpy_namespace(xp):
        return _run_rows_numpy(A, nb, want_grad, scale)
    grads = _new_grads(A) if want_grad else None
    rows_all = []
    for r0 in range(0, A.N, nb):
        r1 = min(r0 + nb, A.N)
        hb = _block_rows(A, r0, r1)
        rows, g = _whole_rows(A, hb, A.y[r0:r1], want_grad)
        # The fused kernel skips the shift by the row maximum where the scores
        # are moderate, and log(sum exp z) - z_y can then round to -6e-17.
        rows_all.append(xp.maximum(rows, xp.zeros_like(rows)))
        if want_grad:
            gh = grads[0]
            gh[r0:r1, :] = _accumulate(A, grads[1:], g, hb * scale) * scale
    if want_grad and grads[2] is not None:  # the bias gradient was summed unscaled
        grads = (grads[0], grads[1], grads[2] * scale)
    return (xp.concat(rows_all) if rows_all else zeros_on(A.h, (0,), xp=xp, dtype=A.cdtype),
            grads)


def _run_rows_numpy(A: _Args, nb: int, want_grad: bool, scale):
    """:func:`_run_rows` on NumPy: reused buffers, each block's rows on the workers
    (:func:`softmaxlab.kernels.tiles.rows_block`)."""
    from .kernels import tiles as T

    S = T.TileStats(0, A.V, A.cdtype, A.eps)
    bufs = [np.empty(nb * A.V, dtype=A.cdtype) for _ in range(1 + want_grad)]
    loss = np.empty(A.N, dtype=np.float64)
    grads = _new_grads(A) if want_grad else None
    step = max(_SLICE, A.chunk // (4 * max(A.H, 1)))
    y = np.asarray(A.y)
    with T.blas_on_one_thread(S, min(nb, A.N), A.V, whole_rows=True):
        for r0 in range(0, A.N, nb):
            r1 = min(r0 + nb, A.N)
            block_grads = None if grads is None else (grads[0][r0:r1], grads[1])
            cols = T.rows_block(S, _block_rows(A, r0, r1), A.w, A.b, bufs, y, r0, loss,
                                block_grads, scale=float(scale), ignore_index=A.ignore_index,
                                first=r0 == 0, step=step)
            if cols is not None:
                grads[2][...] += cols
    if want_grad and grads[2] is not None:  # the bias gradient was summed unscaled
        grads[2][...] *= np.dtype(A.cdtype).type(scale)
    with np.errstate(over="ignore"):  # a loss beyond float32: inf, reported by _check_rows
        return loss.astype(A.cdtype), grads


def _stats_tile(A: _Args, z, st, r0: int, r1: int, v0: int, v1: int) -> None:
    """Fold one tile of scores into the running row statistics `st` = [m, d, zy,
    zsum]: the online normaliser (a running maximum m and sum d of exp(z - m));
    libraries other than NumPy (NumPy: :mod:`softmaxlab.kernels.tiles`)."""
    xp = A.xp
    m, d, zy, zsum = (a[r0:r1] for a in st)
    zt = _label_scores(A, z, A.y[r0:r1], v0, v1)
    st[2][r0:r1] = zy + zt
    if A.eps:
        st[3][r0:r1] = zsum + xp.sum(z, axis=1)
    mn = xp.maximum(m, xp.max(z, axis=1))
    # Nothing finite yet (the first tiles all -inf, classes masked by the bias):
    # shift by 0, so that d stays 0 rather than exp(-inf + inf) = NaN.
    shift = xp.reshape(xp.where(xp.isfinite(mn), mn, xp.zeros_like(mn)), (-1, 1))
    with V.quiet(xp):  # exp(-inf - m) = 0 on the first tile
        e = xp.exp(z - shift)
        st[1][r0:r1] = d * xp.exp(m - shift[:, 0]) + xp.sum(e, axis=1)
    st[0][r0:r1] = mn


def _tile_grad(A: _Args, z, lse, yb, coef, v0: int, v1: int):
    """dL/dz of one tile, scaled: (softmax - smoothed one-hot) times each row's
    coefficient (the loss scale, 0 at ignored rows)."""
    xp = A.xp
    c = xp.reshape(coef, (-1, 1))
    g = xp.exp(z - xp.reshape(lse, (-1, 1))) * c
    cols = xp.reshape(arange_on(yb, v0, v1, xp=xp, dtype=yb.dtype), (1, -1))
    g = g - xp.where(xp.reshape(yb, (-1, 1)) == cols, (1 - A.eps) * c, xp.zeros_like(g))
    if A.eps:
        g = g - (A.eps / A.V) * c
    return g


def _run_tiles(A: _Args, nb: int, vb: int, want_grad: bool, scale):
    """Tiles of the vocabulary, each over every block of rows, swept twice.

    The first sweep gives each row's log-sum-exp (online normaliser); the
    second recomputes the scores of each tile and, with the finished
    normaliser, its gradient, multiplied into the weight gradient of the tile
    (one tall product over the rows) and the hidden gradient.  On NumPy the
    elementwise work of a tile runs in :mod:`softmaxlab.kernels.tiles`.
    """
    xp = A.xp
    tiles = [(v0, min(v0 + vb, A.V)) for v0 in range(0, A.V, vb)]
    blocks = [(r0, min(r0 + nb, A.N)) for r0 in range(0, A.N, nb)]
    if is_numpy_namespace(xp):
        return _run_tiles_numpy(A, tiles, blocks, want_grad, scale)
    st = [full_on(A.h, (A.N,), -math.inf, xp=xp, dtype=A.cdtype)] + [
        zeros_on(A.h, (A.N,), xp=xp, dtype=A.cdtype) for _ in range(3)]
    for v0, v1 in tiles:
        for r0, r1 in blocks:
            _stats_tile(A, _tile_scores(A, _block_rows(A, r0, r1), v0, v1), st, r0, r1,
                        v0, v1)
    lse = st[0] + xp.log(st[1])
    rows = _masked(A, _rows_loss(A, lse, st[2], st[3]))
    if not want_grad:
        return rows, None
    grads = _new_grads(A)
    gh, gw, gb = grads
    coef = _masked(A, xp.ones_like(rows) * scale)
    for v0, v1 in tiles:
        for r0, r1 in blocks:
            hb = _block_rows(A, r0, r1)
            g = _tile_grad(A, _tile_scores(A, hb, v0, v1), lse[r0:r1], A.y[r0:r1],
                           coef[r0:r1], v0, v1)
            _add_product(gh[r0:r1, :], g, A.w[v0:v1, :], first=v0 == 0)
            _add_product(gw[v0:v1, :], xp.permute_dims(g, (1, 0)), hb, first=r0 == 0)
            if gb is not None:
                gb[v0:v1] += xp.sum(g, axis=0)
    return rows, grads


def _masked(A: _Args, a):
    """`a` with the ignored positions set to 0."""
    xp = A.xp
    return a if A.valid is None else xp.where(A.valid, a, xp.zeros_like(a))


def _run_tiles_numpy(A: _Args, tiles, blocks, want_grad: bool, scale):
    """:func:`_run_tiles` on NumPy: one reused buffer, the tile work on threads."""
    from .kernels import tiles as T

    buf = np.empty(blocks[0][1] * (tiles[0][1] - tiles[0][0]), dtype=A.cdtype)
    S = T.TileStats(A.N, A.V, A.cdtype, A.eps)
    bias = (lambda v0, v1: None) if A.b is None else (lambda v0, v1: A.b[v0:v1])
    y = np.asarray(A.y)
    with T.blas_on_one_thread(S, blocks[0][1], tiles[0][1] - tiles[0][0]):
        for v0, v1 in tiles:
            for r0, r1 in blocks:
                T.stats_tile(S, _block_rows(A, r0, r1), A.w[v0:v1], bias(v0, v1), buf, y, r0,
                             v0)
        coef = _masked(A, np.full(A.N, float(scale)))
        with np.errstate(over="ignore"):  # as in _run_rows_numpy
            rows = _masked(A, T.finish_stats(S, coef).astype(A.cdtype))
        if not want_grad:
            return rows, None
        grads = _new_grads(A)
        gh, gw, gb = grads
        for v0, v1 in tiles:
            for r0, r1 in blocks:
                cols = T.grad_tile(S, _block_rows(A, r0, r1), A.w[v0:v1], bias(v0, v1), buf, y,
                                   r0, v0, gh[r0:r1], gw[v0:v1], first_v=v0 == 0,
                                   first_r=r0 == 0)
                if gb is not None:
                    gb[v0:v1] += cols
    return rows, grads


def _add_product(acc, a, b, *, first: bool) -> None:
    """``acc (+)= a @ b`` (assigned when `first`)."""
    if first:
        acc[...] = a @ b
    else:
        acc += a @ b


def _check_rows(fn: str, A: _Args, rows) -> None:
    """A NaN or +inf loss, with finite inputs: an error where a score overflowed or
    every class is masked.  +inf where the label's own class is masked out (a -inf
    bias) or where the loss exceeds the dtype's range is the right answer, as it
    is for :func:`~softmaxlab.cross_entropy` and PyTorch."""
    xp = A.xp
    bad = xp.isnan(rows) | (rows == math.inf)
    if not V.any_true(bad, xp):
        return
    if A.b is not None and A.eps and V.any_true(A.b == -math.inf, xp):
        # Label smoothing spreads mass over the masked classes too: every loss is +inf.
        bad = bad & ~(rows == math.inf)
    elif A.b is not None:  # +inf at a masked label: no need to look at the row's scores
        by = xp.take(A.b, as_indices(xp.where(bad, A.y, xp.zeros_like(A.y)), xp))
        bad = bad & ~((rows == math.inf) & (by == -math.inf))
    for i in np.flatnonzero(to_numpy(bad)).tolist():
        with np.errstate(over="ignore"):  # the overflow is what this reports
            zh = to_numpy(xp.matmul(A.h[i:i + 1, :], xp.permute_dims(A.w, (1, 0))))[0]
        z = zh if A.b is None else zh + to_numpy(A.b)
        if not np.isfinite(zh).all():
            j = int(np.flatnonzero(~np.isfinite(zh))[0])
            what = (f"hidden[{i}] @ weight[{j}] = {float(zh[j])!r}, which overflows "
                    f"{V.dtype_name(A.cdtype)} (scale hidden or weight down)")
        elif not np.isfinite(z).any():
            what = f"only -inf scores at position {i} (every class masked by a -inf bias)"
        elif float(to_numpy(rows[i])) == math.inf:
            continue  # the label's class masked out, or a loss beyond the dtype's range
        else:
            what = f"a NaN loss at position {i}"
        raise ValueError(
            f"{fn}: the scores hidden @ weight.T + bias must have a finite value for at "
            "least one class and no overflow at every position that is not ignored (a "
            f"-inf bias masks a class out); found {what}")


def _run(fn: str, A: _Args, want_grad: bool, validate: bool):
    """Blocks of whole rows, or tiles of the vocabulary; see the module docstring."""
    xp = A.xp
    nb, vb = _blocks(A)
    scale = _scale(A)
    if vb == A.V or A.N == 0:  # no rows: nothing to cut into tiles
        rows, grads = _run_rows(A, nb, want_grad, scale)
    else:
        rows, grads = _run_tiles(A, nb, vb, want_grad, scale)
    if validate and A.N:
        _check_rows(fn, A, rows)
    loss = _reduce_rows(xp, rows, A.reduction, scale, (A.N,))  # 0-d unless "none"
    if not want_grad:
        return loss, None
    gh, gw, gb = grads
    cast = (lambda a: a) if A.cdtype == A.in_dtype else (lambda a: xp.astype(a, A.in_dtype))
    return loss, LinearCrossEntropyGrad(cast(gh), cast(gw), None if gb is None else cast(gb))


_DOC_PARAMS = r"""

    Parameters
    ----------
    hidden : array
        Shape ``(N, H)``: the inputs of the last linear layer, one row per position; real
        floating (float16 is computed in float32).
    weight : array
        Shape ``(V, H)``: the layer's weight, one row per class (the layout of
        ``torch.nn.Linear(H, V).weight``); same dtype and library as `hidden`.
    target : array
        Shape ``(N,)``, integers: the class (token) of each position.
    bias : array, optional
        Shape ``(V,)``: the layer's bias; none by default.
    ignore_index : int or None, optional
        Positions whose label equals it contribute neither loss nor gradient
        (default -100, PyTorch's); None ignores nothing.
    label_smoothing : float, optional
        :math:`\varepsilon \in [0, 1]`: the target becomes
        :math:`(1-\varepsilon)\,\text{onehot} + \varepsilon / V`.
    reduction : {"none", "sum", "mean", "full", "batch_size"}, optional
        As :func:`softmaxlab.cross_entropy`: ``"mean"`` divides the summed
        loss by the number of non-ignored positions, ``"full"`` and
        ``"batch_size"`` by N, ``"sum"`` by nothing, ``"none"`` gives one loss
        per position (0 at ignored ones).
    chunk_size : int, optional
        The most scores held at once (rows times vocabulary columns of one
        block); by default :func:`default_chunk_size`
        (:data:`DEFAULT_CHUNK_SIZE`, up to :data:`DEFAULT_CHUNK_MAX` when that
        gives 256 whole rows).  Memory beyond the inputs and the gradients is a
        small multiple of ``chunk_size`` entries.
    validate : bool, optional
        Check the labels, that `hidden` (at the positions not ignored) and
        `weight` are finite and `bias` finite or -inf, and that no score
        overflows (default).  ``False`` skips these checks (a pass over the
        labels and the inputs; on a GPU one synchronisation); bad input then
        gives undefined results, NaN included."""

_DOC_NOTES = r"""
    Notes
    -----
    With scores :math:`z = W h + b` of one position, label :math:`y` and
    :math:`\operatorname{lse}(z) = \log \sum_j e^{z_j}`:

    .. math::

        \ell = (1-\varepsilon)\,(\operatorname{lse}(z) - z_y)
               + \varepsilon\,\Big(\operatorname{lse}(z) - \frac1V \sum_j z_j\Big),
        \qquad
        \frac{\partial \ell}{\partial z} = \operatorname{softmax}(z)
               - (1-\varepsilon)\, e_y - \frac{\varepsilon}{V},

    and with :math:`g` these row gradients over the normaliser,
    :math:`\partial L / \partial h = g W`,
    :math:`\partial L / \partial W = g^\top h`,
    :math:`\partial L / \partial b = \sum_n g_n`.  The log-sum-exp is the
    max-shifted one (accumulated over vocabulary tiles with the online
    normaliser when a row does not fit in `chunk_size`), so the loss is never
    negative and no exponential overflows.  The result equals
    ``softmaxlab.cross_entropy(hidden @ weight.T + bias, target, ...)`` up to
    rounding, and PyTorch's ``F.cross_entropy`` on the same scores, except
    that a mean over no position (every label ignored) is 0, not NaN.  Class
    weights are not supported.
"""


@fill({"params": _DOC_PARAMS, "notes": _DOC_NOTES})
def linear_cross_entropy(hidden: Any, weight: Any, target: Any, *, bias: Any = None,
                         ignore_index: int | None = -100, label_smoothing: float = 0.0,
                         reduction: str = "mean", chunk_size: int | None = None,
                         validate: bool = True):
    r"""Softmax cross-entropy of the scores ``hidden @ weight.T + bias``, in blocks.

    The same number as ``cross_entropy(hidden @ weight.T + bias, target)``,
    computed without ever holding more than `chunk_size` scores (see
    :mod:`softmaxlab.linear`).

    %(params)s

    Returns
    -------
    array
        0-d (the reduced loss), or shape ``(N,)`` for ``reduction="none"``;
        same library as `hidden`, float32 for float16 input.

    Raises
    ------
    TypeError
        Non-floating `hidden` or `weight`, a `weight` or `bias` of another
        dtype, non-integer labels, a non-integer `chunk_size` or
        `ignore_index`.
    ValueError
        `weight` not 2-d, its H not that of `hidden`, V = 0; labels outside
        ``[0, V - 1]`` (the message names the first one and its position);
        a `bias` or `target` of the wrong shape; `chunk_size` < 1;
        `label_smoothing` outside [0, 1]; an unknown `reduction`; a NaN or
        infinity in `hidden` at a position that is not ignored or in `weight`,
        a NaN or +inf in `bias` (the message names the first entry); a
        position whose scores all are -inf (every class masked by its bias)
        or whose score overflows the dtype.  A -inf bias masks a class out:
        a position whose label is such a class has loss +inf, as in
        :func:`~softmaxlab.cross_entropy` and PyTorch.

    %(notes)s

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> rng = np.random.default_rng(0)
    >>> h, w = rng.standard_normal((6, 4)), rng.standard_normal((10, 4))
    >>> y = np.array([1, 2, 3, 4, 5, -100])          # the last one ignored
    >>> whole = sml.cross_entropy(h @ w.T, y, ignore_index=-100)
    >>> blocks = sml.linear_cross_entropy(h, w, y, chunk_size=7)
    >>> bool(np.isclose(whole, blocks))
    True

    Scores of all zeros cost :math:`\ln V`:

    >>> round(float(sml.linear_cross_entropy(h, np.zeros((65, 4)), y)), 4)
    4.1744
    """
    fn = "linear_cross_entropy"
    A = _prepare(fn, hidden, weight, target, bias, ignore_index, label_smoothing, reduction,
                 chunk_size, validate)
    return _run(fn, A, False, validate)[0]


@fill({"params": _DOC_PARAMS, "notes": _DOC_NOTES})
def linear_cross_entropy_with_grad(hidden: Any, weight: Any, target: Any, *, bias: Any = None,
                                   ignore_index: int | None = -100,
                                   label_smoothing: float = 0.0, reduction: str = "mean",
                                   chunk_size: int | None = None, validate: bool = True):
    r"""The loss of :func:`linear_cross_entropy` and its gradients, in one sweep.

    For ``reduction="none"`` the gradients are those of the sum of the
    per-position losses.

    %(params)s

    Returns
    -------
    loss : array
        As :func:`linear_cross_entropy`.
    grad : LinearCrossEntropyGrad
        ``grad.hidden`` (N, H), ``grad.weight`` (V, H) and ``grad.bias`` (V,)
        (None without a bias), in the dtype and library of the inputs.

    Raises
    ------
    TypeError, ValueError
        As :func:`linear_cross_entropy`.

    %(notes)s

    Examples
    --------
    The gradients of the blocked loss are those of the materialised scores
    pushed through the linear layer:

    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> gen = np.random.default_rng(1)
    >>> h, w, b = gen.normal(size=(5, 3)), gen.normal(size=(8, 3)), gen.normal(size=8)
    >>> y = np.array([0, 7, 2, 2, 5])
    >>> loss, grad = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=7)
    >>> _, dz = sml.cross_entropy_with_grad(h @ w.T + b, y)
    >>> bool(np.allclose(grad.hidden, dz @ w) and np.allclose(grad.weight, dz.T @ h))
    True
    >>> bool(np.allclose(grad.bias, dz.sum(axis=0)))
    True
    """
    fn = "linear_cross_entropy_with_grad"
    A = _prepare(fn, hidden, weight, target, bias, ignore_index, label_smoothing, reduction,
                 chunk_size, validate)
    return _run(fn, A, True, validate)


