r"""Loss functions on class scores: softmax cross-entropy and the multiclass hinge.

Each loss comes as a plain function and as a ``*_with_grad`` twin that returns
the loss together with its gradient with respect to the scores, computed in the
same pass from the closed form.  That twin is the fused forward/backward that a
Caffe-style loss layer needs.

Reductions
----------
``reduction`` names follow PyTorch; Caffe's ``LossParameter.normalization``
modes map onto them as follows (the table is generated from
``softmaxlab._reductions``, where adding a reduction is one entry).

%(reduction_table)s

A *position* is one entry of the label array: one example for ``(N, C)``
scores, one pixel for ``(N, C, H, W)``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import _docs, kernels
from . import _reductions as R
from . import _validation as V
from ._backend import arange_on, as_indices, full_on, plain_array, to_numpy

__all__ = [
    "REDUCTIONS",
    "cross_entropy",
    "cross_entropy_with_grad",
    "multiclass_hinge",
    "multiclass_hinge_with_grad",
]

#: Valid values of ``reduction`` for :func:`cross_entropy` (from the table in
#: ``softmaxlab._reductions``).
REDUCTIONS = R.REDUCTIONS

#: Default ``ignore_index`` of the cross-entropy: -100, as in
#: ``torch.nn.functional.cross_entropy`` (the padding label of most NLP code).
IGNORE_INDEX = -100


# --------------------------------------------------------------------------- #
# Argument checks shared by both losses
# --------------------------------------------------------------------------- #


def _expected_label_shape_msg(fn: str, logits_shape: tuple, axes: tuple, found: tuple) -> str:
    expected = tuple(s for i, s in enumerate(logits_shape) if i not in axes)
    which = f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}"
    return (
        f"{fn}: argument 'target' has shape {found}, but class labels for scores of "
        f"shape {logits_shape} with the class {which} must have shape {expected} "
        f"(the scores' shape without the class axis; e.g. scores (N, C) = (32, 10) take "
        f"labels (N,) = (32,), scores (N, C, H, W) = (2, 5, 4, 4) take labels (N, H, W) = "
        f"(2, 4, 4)); probability targets must have the scores' shape {logits_shape}"
    )


class _Problem:
    """The checked, reshaped arguments of one loss call.

    Scores are moved to ``(M, C)`` with the class axis last; `labels` is ``(M,)``
    (hard targets) or `probs` is ``(M, C)`` (soft targets).
    """

    __slots__ = ("xp", "z", "zraw", "ignore_index", "labels", "probs", "valid", "weight", "M", "C",
                 "N", "shape", "batch_shape", "moved_shape", "axes", "perm", "inverse", "in_dtype",
                 "cdtype", "ndim",
                 "cmask", "kin", "unbatched_keeps_1")


def _prepare(fn: str, logits, target, *, axis, weight, ignore_index, validate,
             allow_probs: bool, name: str = "logits", unbatched_keeps_1: bool = False) -> _Problem:
    """Check and reshape one loss call's arguments: scores, then the target
    (class labels or probabilities), then the class weights."""
    P = _prepare_scores(fn, logits, target, weight, axis, name)
    P.unbatched_keeps_1 = unbatched_keeps_1
    target = V.as_array(plain_array(target, fn, "target"), P.xp, fn, "target")
    V.same_device(target, P.zraw, fn, "target", name)
    kind = V.dtype_kind(target.dtype, P.xp)
    P.labels = P.probs = P.valid = None
    if kind == "floating":
        _prepare_probs(P, fn, target, ignore_index, validate, allow_probs)
    elif kind == "integer":
        _prepare_labels(P, fn, target, ignore_index, validate)
    else:
        kind = "boolean" if target.dtype == P.xp.bool else V.dtype_name(target.dtype)
        raise TypeError(f"{fn}: argument 'target' must hold integer class labels (or float "
                        f"probabilities of the scores' shape); found {kind} dtype")
    P.ignore_index = _check_ignore_index(fn, ignore_index)
    P.weight = None if weight is None else _prepare_weight(P, fn, weight)
    P.cmask = P.kin = None
    return P


def _apply_where(P: _Problem, fn: str, where, validate: bool) -> None:
    """JAX's and optax's `where`: excluded classes leave the normaliser (their
    scores, whatever they hold, count as ``-inf``); a position with no included
    class contributes nothing and is not counted by ``"mean"``, as an ignored
    one.  The target must not sit on an excluded class."""
    xp = P.xp
    cm = V.where_mask(where, P.zraw, xp, fn, x_name="logits", class_axis=P.axes, shape=P.shape)
    cm = _to_rows(P, cm)
    pos = xp.any(cm, axis=1)
    if validate and P.M:
        _check_target_included(P, fn, cm, pos)
    P.valid = pos if P.valid is None else P.valid & pos
    with V.quiet(xp):
        z = xp.where(cm, P.z, xp.full_like(P.z, -math.inf))
        P.z = xp.where(xp.reshape(pos, (-1, 1)), z, xp.zeros_like(z))
    P.cmask = xp.astype(cm, P.cdtype)
    kin = xp.sum(P.cmask, axis=1)
    P.kin = xp.where(kin > 0, kin, xp.ones_like(kin))


def _check_target_included(P: _Problem, fn: str, cm, pos) -> None:
    """A label, or probability mass, on a class that `where` excludes is an error."""
    xp = P.xp
    if P.labels is not None:
        hit = _onehot(P.labels, P.C, xp, xp.bool) & ~cm
        bad = xp.any(hit, axis=1) & pos
        if P.valid is not None:
            bad = bad & P.valid
        what = "class label {val}"
    else:
        bad = xp.any((P.probs > 0) & ~cm, axis=1) & pos
        what = "probability {val!r} on class {cls}"
    if not V.any_true(bad, xp):
        return
    i = V.first_true_index(bad, (P.M,))[0]
    if P.labels is not None:
        desc = what.format(val=int(to_numpy(P.labels[i])))
    else:
        row_c, row_p = to_numpy(cm[i, :]), to_numpy(P.probs[i, :])
        j = int(np.flatnonzero((row_p > 0) & ~row_c)[0])
        desc = what.format(val=float(row_p[j]), cls=j)
    raise ValueError(
        f"{fn}: argument 'target' holds {desc} at position "
        f"{V.fmt_index(_unflat(i, P.batch_shape))}, a class that 'where' excludes there; expected "
        "the target on included classes only (to drop the position, exclude all its classes "
        "or use ignore_index)")


def _prepare_scores(fn: str, logits, target, weight, axis, name: str) -> _Problem:
    """The scores as ``(M, C)``, class axis last, and the shapes of the call."""
    logits = plain_array(logits, fn, name)
    xp, logits = V.namespace_and_array(logits, fn, name, target, weight, float_like=True)
    V.check_float(logits, xp, fn, name)
    if logits.ndim == 1 and isinstance(axis, numbers.Integral) and not isinstance(axis, bool) \
            and axis == 1:
        axis = 0  # unbatched (C,) scores: the only class axis, as PyTorch infers it
    P = _Problem()
    P.axes = axes = _class_axes(fn, axis, logits.ndim, name)
    P.xp, P.ndim = xp, logits.ndim
    P.in_dtype = logits.dtype
    P.cdtype = V.compute_dtype(logits, xp)
    shape = tuple(logits.shape)
    C = math.prod(shape[a] for a in axes)
    if C == 0:
        which = f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}"
        raise ValueError(f"{fn}: argument {name!r} has 0 classes along {which} (shape {shape}); "
                         "expected at least one class")
    P.shape = shape
    batch_axes = tuple(i for i in range(logits.ndim) if i not in axes)
    P.batch_shape = tuple(shape[i] for i in batch_axes)
    P.C, P.M = C, math.prod(P.batch_shape)
    P.N = P.batch_shape[0] if P.batch_shape else 1
    perm = batch_axes + axes  # the class axes last, in the caller's order (optax's)
    P.perm = None if perm == tuple(range(logits.ndim)) else perm
    P.inverse = None if P.perm is None else tuple(perm.index(i) for i in range(logits.ndim))
    P.moved_shape = tuple(shape[i] for i in perm)
    P.zraw = _to_rows(P, logits)
    P.z = P.zraw if P.cdtype == logits.dtype else xp.astype(P.zraw, P.cdtype)
    return P


def _class_axes(fn: str, axis, ndim: int, name: str) -> tuple:
    """The class axes, in the caller's order: an integer, a tuple of them (flattened
    into one class axis, in that order, as optax does), or None (every axis)."""
    if ndim == 0 or not isinstance(axis, (tuple, list)) and axis is not None:
        return (V.normalize_axis(axis, ndim, fn, array=name),)
    if axis is None:
        return tuple(range(ndim))
    if not axis:
        raise V.argument_error(fn, "axis", "an integer, a non-empty tuple of integers or None",
                               "an empty tuple (no class axis)")
    out: list[int] = []
    for a in axis:
        k = V.normalize_axis(a, ndim, fn, array=name)
        if k in out:
            raise ValueError(f"{fn}: argument 'axis'={tuple(axis)!r} names axis {k} twice; "
                             "expected distinct axes")
        out.append(k)
    return tuple(out)


def _to_rows(P: _Problem, a):
    """An array of the scores' shape as ``(M, C)``: the class axes moved last and merged."""
    xp = P.xp
    if P.perm is not None:
        a = xp.permute_dims(a, P.perm)
    return xp.reshape(a, (P.M, P.C))


def _prepare_probs(P: _Problem, fn: str, target, ignore_index, validate, allow_probs) -> None:
    """Floating targets: class probabilities of the scores' shape, as ``(M, C)``."""
    xp, shape, batch_shape = P.xp, P.shape, P.batch_shape
    tdt, tshape = target.dtype, tuple(target.shape)
    if tshape == batch_shape and tshape != shape:
        raise TypeError(
            f"{fn}: argument 'target' has the shape of class labels {tshape} but a floating "
            f"dtype {V.dtype_name(tdt)}; class labels must be integers (e.g. target.astype('int64')), and "
            f"probability targets must have the scores' shape {shape}")
    if tshape != shape:
        raise ValueError(
            f"{fn}: argument 'target' (probabilities) has shape {tshape}; expected the "
            f"scores' shape {shape} (or integer labels of shape {batch_shape})")
    if not allow_probs:
        raise TypeError(f"{fn}: argument 'target' must hold integer class labels of shape "
                        f"{batch_shape}; found floating dtype {V.dtype_name(tdt)} of shape {tshape}")
    if ignore_index is not None and ignore_index != IGNORE_INDEX:
        raise ValueError(f"{fn}: argument 'ignore_index' applies to class labels only; "
                         f"found ignore_index={ignore_index!r} with probability targets")
    probs = target if tdt == P.cdtype else xp.astype(target, P.cdtype)
    P.probs = _to_rows(P, probs)
    if validate:
        bad = ~xp.isfinite(P.probs) | (P.probs < 0)
        if V.any_true(bad, xp):
            idx = V.first_true_index(bad, (P.M, P.C))
            val = float(to_numpy(P.probs)[idx])
            pos = V.first_true_index(xp.any(bad, axis=1), (P.M,))
            raise ValueError(
                f"{fn}: argument 'target' (probabilities) must be finite and >= 0; found "
                f"{val!r} at position {V.fmt_index(_unflat(pos[0], batch_shape))}, class {idx[1]}")


def _prepare_labels(P: _Problem, fn: str, target, ignore_index, validate) -> None:
    """Integer targets: class labels of the scores' shape without the class axis, as ``(M,)``."""
    xp, C = P.xp, P.C
    tshape = tuple(target.shape)
    if P.batch_shape == () and tshape == (1,):
        # Unbatched (C,) scores with a (1,) label, as PyTorch takes them: its
        # cross_entropy gives a 0-d loss, its multi_margin_loss a (1,) one.
        if P.unbatched_keeps_1:
            P.batch_shape = tshape
        tshape = P.batch_shape
        target = xp.reshape(target, tshape)
    if tshape != P.batch_shape:
        msg = _expected_label_shape_msg(fn, P.shape, P.axes, tshape)
        if tshape == P.shape:
            msg += "; one-hot rows are probabilities: pass them as floats"
        raise ValueError(msg)
    P.labels = lab = V.int64_labels(xp.reshape(target, (P.M,)), xp)
    ignore = _check_ignore_index(fn, ignore_index)
    if ignore is not None:
        P.valid = lab != ignore
    if validate and P.M:
        bad = (lab < 0) | (lab >= C)
        if P.valid is not None:
            bad = bad & P.valid
        if V.any_true(bad, xp):
            pos = V.first_true_index(bad, (P.M,))[0]
            val = int(to_numpy(lab[pos]))
            extra = f" or equal to ignore_index={ignore}" if ignore is not None else ""
            raise ValueError(
                f"{fn}: argument 'target' holds class label {val} at position "
                f"{V.fmt_index(_unflat(pos, P.batch_shape))}; expected labels in [0, {C - 1}] "
                f"for {C} classes{extra}")


def _check_ignore_index(fn: str, ignore_index):
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, numbers.Integral)):
        raise TypeError(f"{fn}: argument 'ignore_index' must be an integer or None; "
                        f"found {ignore_index!r}")
    return None if ignore_index is None else int(ignore_index)


def _prepare_weight(P: _Problem, fn: str, weight):
    """Class weights: ``(C,)`` and finite (of any sign, as in PyTorch), in the compute dtype."""
    xp, C = P.xp, P.C
    w = V.as_array(plain_array(weight, fn, "weight"), xp, fn, "weight")
    V.same_device(w, P.zraw, fn, "weight", "scores" if fn.startswith("multiclass") else "logits")
    if tuple(w.shape) != (C,):
        raise ValueError(f"{fn}: argument 'weight' must have shape ({C},), one weight per "
                         f"class; found shape {tuple(w.shape)}")
    if V.dtype_kind(w.dtype, xp) not in ("floating", "integer"):
        raise TypeError(f"{fn}: argument 'weight' must be real numbers; found dtype "
                        f"{V.dtype_name(w.dtype)}")
    w = xp.astype(w, P.cdtype)
    bad = ~xp.isfinite(w)
    if V.any_true(bad, xp):
        j = V.first_true_index(bad, (C,))[0]
        raise ValueError(f"{fn}: argument 'weight' must be finite; found "
                         f"{float(to_numpy(w)[j])!r} for class {j}")
    return w


def _unflat(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _reshape_back(P: _Problem, g):
    """``(M, C)`` gradient back to the caller's layout."""
    xp = P.xp
    g = xp.reshape(g, P.moved_shape)
    return g if P.inverse is None else xp.permute_dims(g, P.inverse)


def _write_out(P: _Problem, g, out, fn: str):
    xp = P.xp
    g = _reshape_back(P, g)
    if g.dtype != P.in_dtype:
        g = xp.astype(g, P.in_dtype)
    if out is None:
        return g
    _check_out(P, out, fn)
    out[...] = g
    return out


def _check_out(P: _Problem, out, fn: str) -> None:
    shape = P.shape
    lib, olib = (type(a).__module__.split(".")[0] for a in (P.zraw, out))
    if hasattr(out, "__array_namespace__") and olib != lib:
        raise ValueError(f"{fn}: argument 'out' must be an array of the scores' library "
                         f"({lib}); found {type(out).__module__}.{type(out).__name__}")
    if hasattr(out, "__array_namespace__"):
        V.same_device(out, P.zraw, fn, "out", "logits")
    if tuple(getattr(out, "shape", ())) != shape or getattr(out, "dtype", None) != P.in_dtype:
        raise ValueError(f"{fn}: argument 'out' must be an array of shape {shape} and dtype "
                         f"{V.dtype_name(P.in_dtype)}; found {type(out).__name__} of shape "
                         f"{tuple(getattr(out, 'shape', ()))} and dtype "
                         f"{V.dtype_name(getattr(out, 'dtype', None))}")
    if isinstance(out, np.ndarray):
        if not out.flags.writeable:
            raise ValueError(f"{fn}: argument 'out' must be a writeable array; found a "
                             "read-only one")
        if np.may_share_memory(out, P.zraw):
            raise ValueError(f"{fn}: argument 'out' shares memory with 'logits' (the gradient "
                             "would overwrite the scores while they are read); pass a "
                             "separate array")


def _onehot(labels, C: int, xp, dtype):
    """(M, C) one-hot of `labels` (entries outside [0, C) give a zero row)."""
    cls = arange_on(labels, 0, C, xp=xp, dtype=labels.dtype)
    return xp.astype(xp.reshape(labels, (-1, 1)) == xp.reshape(cls, (1, C)), dtype)


# --------------------------------------------------------------------------- #
# Shared docstring sections (filled in by softmaxlab._docs.fill)
# --------------------------------------------------------------------------- #
_DOCS = {
    "ce_params": r"""
logits : array_like
    Class scores, real floating (float16 is computed in float32), with the
    classes along `axis`; ``-inf`` masks a class (probability 0).  A list
    of Python numbers is read as float64, integers included.
target : array_like
    Either integer class labels of the scores' shape without the class axis
    (``(N,)`` for ``(N, C)``, ``(N, H, W)`` for ``(N, C, H, W)``), or class
    probabilities of the scores' shape.
axis : int, tuple of int or None, optional
    The class axis (default 1, as in PyTorch and Caffe).  A tuple of axes is
    read as one class axis of their flattened product, in the order given (as
    optax's ``axis``): a label is then a flat index into it; None makes every
    axis a class axis (one position).
weight : array_like, optional
    Finite per-class weights of shape ``(C,)`` (a rescaling of each class's
    terms, as in PyTorch; negative weights are allowed there too).  With
    ``"mean"``, kept positions whose weights sum to 0 while some are not 0
    (weights of both signs that cancel) are an error: the weighted mean is
    undefined.
ignore_index : int or None, optional
    A label value whose positions contribute nothing (labels only); -100 by
    default, as in PyTorch (None: no label is ignored).  A position is one
    entry of the labels; unbatched ``(C,)`` scores take a 0-d label.
label_smoothing : float, optional
    :math:`\varepsilon \in [0, 1]`: the target becomes
    :math:`(1-\varepsilon)\,\text{onehot} + \varepsilon / C`.
reduction : {"none", "sum", "mean", "full", "batch_size"}, optional
    See the table in :mod:`softmaxlab.losses`.
where : array_like of bool, optional
    The entries to include, as in JAX and optax: a mask that broadcasts
    against the scores (classes to include per position), or one of the
    labels' shape (positions to include).  Excluded classes leave the
    normaliser whatever their scores hold (NaN included) and get a zero
    gradient; label smoothing spreads over the included classes.  A
    position with no included class has loss 0 and is not counted by
    ``"mean"``, as an ignored one.  A target on an excluded class is an
    error.
validate : bool, optional
    Check labels, weights and non-finite scores.  ``False`` skips the
    checks that cost a pass over the data (for benchmarks); bad input then
    gives undefined results.
""",
    "ce_notes": r"""
For a position with label :math:`y`, scores :math:`z`, class weights
:math:`w` (ones when not given) and :math:`p = \operatorname{softmax}(z)`:

.. math::

    \ell = (1-\varepsilon)\, w_y (-\log p_y)
           + \frac{\varepsilon}{C} \sum_j w_j (-\log p_j),
    \qquad
    \frac{\partial \ell}{\partial z} =
        p \Big((1-\varepsilon) w_y + \frac{\varepsilon}{C}\sum_j w_j\Big)
        - (1-\varepsilon) w_y\, e_y - \frac{\varepsilon}{C} w .

The reductions, with their Caffe (``LossParameter.normalization``) and
PyTorch names:

%(reduction_table)s

Without weights the gradient is :math:`p - \tilde e_y`, softmax minus the
smoothed one-hot.  For probability targets :math:`q`,
:math:`\ell = -\sum_j w_j q_j \log p_j`.  The results match
``torch.nn.functional.cross_entropy`` for every option PyTorch supports,
with one deliberate difference: when the normaliser of ``"mean"`` is zero
(every position ignored), the loss is 0 with a zero gradient (Caffe, JAX
and Keras behaviour) instead of PyTorch's NaN.  As in PyTorch,
``ignore_index`` defaults to -100 and unbatched ``(C,)`` scores take a 0-d
label.  float16 scores give a
float32 loss (a float16 sum overflows at 65504) and a float16 gradient.
A masked target class gives an infinite loss, as it should.
""",
    "reduction_table": R.table_rst("ce"),
    "hinge_params": r"""
scores : array_like
    Finite class scores, real floating, classes along `axis` (a list of
    Python numbers is read as float64, integers included).
target : array_like
    Integer class labels of the scores' shape without the class axis.
axis : int, tuple of int or None, optional
    The class axis (default 1); a tuple or None as for :func:`cross_entropy`.
margin : float, optional
    :math:`\Delta`, the margin by which the correct class must win (any finite
    number, as PyTorch's ``margin``: a negative one lets it lose by up to
    :math:`|\Delta|` at no cost).
p : {1, 2}, optional
    1 for the hinge, 2 for the squared hinge.
weight : array_like, optional
    Finite per-class weights of shape ``(C,)``: a position's terms are
    multiplied by the weight of its label, as in PyTorch's
    ``MultiMarginLoss`` (``"mean"`` still divides by the number of
    positions).
reduction : {"none", "sum", "mean"}, optional
    ``"mean"`` divides by the number of positions.
validate : bool, optional
    Check labels and scores (one pass over the data).
""",
}


# --------------------------------------------------------------------------- #
# Cross-entropy
# --------------------------------------------------------------------------- #
def _ce_rows_plain(P: _Problem, eps: float, want_grad: bool):
    """Per-position losses (M,) and the gradient of their sum (M, C).

    Written against the array API; the reference for the fused kernels.
    """
    xp, z, C = P.xp, P.z, P.C
    with V.quiet(xp):
        m = xp.max(z, axis=1, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        zs = z - m
        e = xp.exp(zs)
        s = xp.sum(e, axis=1, keepdims=True)
        lse = xp.log(s)                       # logsumexp - m
        nlp = lse - zs                        # -log p, (M, C); +inf at masked classes
        p = e / xp.where(s == 0, xp.ones_like(s), s)
        w = P.weight
        if P.probs is not None:
            if eps == 0:
                q = P.probs
            elif P.cmask is None:
                q = (1 - eps) * P.probs + eps / C
            else:  # smoothing spreads over the included classes only
                q = (1 - eps) * P.probs + P.cmask * xp.reshape(eps / P.kin, (-1, 1))
            wq = q if w is None else q * xp.reshape(w, (1, C))
            terms = xp.where(wq == 0, xp.zeros_like(nlp), wq * nlp)
            rows = xp.sum(terms, axis=1)
            grad = (p * xp.sum(wq, axis=1, keepdims=True) - wq) if want_grad else None
            # A row with NaN / all -inf logits (s == 0 or NaN): make its loss NaN.
            rows = xp.where(xp.isfinite(xp.reshape(lse, (-1,))), rows,
                            xp.full_like(rows, math.nan))
            return _zero_excluded(P, rows, grad)
        onehot = _onehot(P.labels, C, xp, z.dtype)
        wy = xp.ones_like(m[:, 0]) if w is None else xp.sum(onehot * xp.reshape(w, (1, C)), axis=1)
        if P.valid is not None:
            wy = xp.where(P.valid, wy, xp.zeros_like(wy))
        nlp_y = _label_nll(xp, e, onehot, xp.sum(xp.where(onehot > 0, nlp, xp.zeros_like(nlp)),
                                               axis=1))
        a = wy if eps == 0 else (1 - eps) * wy
        # A label term of weight 0 counts 0 even where its logit is -inf (0 * inf).
        rows = xp.where(a == 0, xp.zeros_like(nlp_y), a * nlp_y)
        if eps > 0:
            wj, share = _smoothing_weights(P, eps)
            smooth = xp.sum(xp.where(wj == 0, xp.zeros_like(nlp), wj * nlp), axis=1)
            rows = rows + share * smooth
        rows = xp.where(xp.isfinite(xp.reshape(lse, (-1,))), rows, xp.full_like(rows, math.nan))
        return _zero_excluded(P, rows, _label_grad(P, p, onehot, wy, eps) if want_grad else None)


def _label_grad(P: _Problem, p, onehot, wy, eps: float):
    """The gradient of the summed losses for class labels: ``p - onehot`` times the
    label's weight, with the smoothing's share (ignored and excluded positions are
    zeroed by the caller)."""
    xp, w, C = P.xp, P.weight, P.C
    if eps == 0:
        grad = (p - onehot) * xp.reshape(wy, (-1, 1))
    else:
        wj, share = _smoothing_weights(P, eps)
        if P.cmask is not None:
            wsum = xp.sum(wj, axis=1)
        else:
            wsum = float(C) if w is None else xp.sum(w)
        coef = (1 - eps) * wy + (eps * wsum / (C if P.cmask is None else P.kin))
        grad = p * xp.reshape(coef, (-1, 1)) - (1 - eps) * xp.reshape(wy, (-1, 1)) * onehot
        smooth_g = share * wj if P.cmask is None else xp.reshape(share, (-1, 1)) * wj
        grad = grad - smooth_g
    return grad


def _smoothing_weights(P: _Problem, eps: float):
    """The class weights the smoothing spreads over, ``(1, C)`` or, with `where`,
    ``(M, C)`` (zero on excluded classes), and each one's share: ``eps / C``, or
    ``eps / K`` for a position with K included classes."""
    xp, C, w = P.xp, P.C, P.weight
    wj = full_on(P.z, (1, C), 1.0, xp=xp) if w is None else xp.reshape(w, (1, C))
    if P.cmask is None:
        return wj, eps / C
    return P.cmask * wj, eps / P.kin


def _zero_excluded(P: _Problem, rows, grad):
    """Rows and gradient with the ignored positions and those `where` excludes set
    to 0 (they may hold NaN or only -inf)."""
    if P.valid is None:
        return rows, grad
    xp = P.xp
    rows = xp.where(P.valid, rows, xp.zeros_like(rows))
    if grad is not None:
        grad = xp.where(xp.reshape(P.valid, (-1, 1)), grad, xp.zeros_like(grad))
    return rows, grad


def _label_nll(xp, e, onehot, far):
    """``-log p_y`` to the last bits: ``log1p(rest / e_y)`` with ``rest`` the sum of
    the other terms of ``e = exp(z - m)``, summed without the label's, wherever
    ``e_y`` is a normal number (SciPy's logsumexp takes the same log1p of the
    other terms when one dominates); `far`, ``log S - (z_y - m)``, elsewhere
    (large, infinite or NaN losses, where it is accurate).  Never negative."""
    zero = xp.zeros_like(e)
    ey = xp.sum(xp.where(onehot > 0, e, zero), axis=1)
    rest = xp.sum(xp.where(onehot > 0, zero, e), axis=1)
    tiny = float(xp.finfo(e.dtype).smallest_normal)  # any library's dtype (torch's bfloat16)
    good = (ey >= tiny) & (rest <= (2.0**60) * ey)
    ratio = xp.where(good, rest / xp.where(good, ey, xp.ones_like(ey)), xp.zeros_like(ey))
    return xp.where(good, xp.log1p(ratio), far)


def _normaliser(P: _Problem, reduction: str, fn: str = "cross_entropy"):
    """The divisor of the summed loss (a Python number or a 0-d array), from the table."""
    entry = R.get(reduction)
    if entry.needs_positions and P.M == 0:
        raise _empty_batch_error(fn, reduction, P.batch_shape)
    return entry.compute(R.Counts(P.M, P.N, lambda: _weighted_count(P, fn)))


def _empty_batch_error(fn: str, reduction: str, batch_shape: tuple) -> ValueError:
    return ValueError(f"{fn}: reduction={reduction!r} needs at least one position; "
                      f"found an empty batch of shape {batch_shape}")


def _weighted_count(P: _Problem, fn: str = "cross_entropy"):
    """PyTorch's "mean" divisor (Caffe's VALID): the summed class weights of the
    non-ignored positions, their count without weights, M for probability targets."""
    xp = P.xp
    if P.probs is not None and P.valid is None:
        return P.M
    if P.weight is None or P.probs is not None:
        if P.valid is None:
            return P.M
        if isinstance(P.valid, np.ndarray):  # host data: an exact count, as 1/M is
            return int(np.count_nonzero(P.valid))
        return xp.sum(xp.astype(P.valid, P.cdtype))
    w = P.weight
    labels = P.labels if P.valid is None else xp.where(P.valid, P.labels,
                                                       xp.zeros_like(P.labels))
    wy = xp.take(w, as_indices(labels, xp), axis=0)
    if P.valid is not None:
        wy = xp.where(P.valid, wy, xp.zeros_like(wy))
    total = xp.sum(wy)
    if V.any_true(w < 0, xp) and float(to_numpy(total)) == 0.0 and V.any_true(wy != 0, xp):
        raise ValueError(
            f"{fn}: argument 'weight' must not cancel over the kept positions with "
            "reduction='mean', which divides by the sum of their labels' weights; found a sum "
            "of 0 from weights of both signs")
    return total


def _cross_entropy(fn, logits, target, *, axis, weight, ignore_index, label_smoothing,
                   reduction, validate, want_grad, out, where=None):
    reduction = R.check_reduction(reduction, fn, "ce").name
    eps = V.check_real_scalar(label_smoothing, fn, "label_smoothing", lo=0.0, hi=1.0)
    validate = V.check_bool(validate, fn, "validate")
    if out is not None and out is logits:
        raise ValueError(f"{fn}: argument 'out' must not be 'logits' itself (the gradient "
                         "would overwrite the scores while they are read)")
    if weight is None and where is None and type(axis) is int and axis in (1, -1):
        fast = _ce_numpy_2d(logits, target, eps, reduction, validate, want_grad, out,
                            ignore_index)
        if fast is not None:
            return fast
    P = _prepare(fn, logits, target, axis=axis, weight=weight, ignore_index=ignore_index,
                 validate=validate, allow_probs=True)
    if where is not None:
        _apply_where(P, fn, where, validate)
    xp = P.xp
    denom = _normaliser(P, reduction, fn)
    # scale = 1/denom, and 0 where denom == 0 (every position ignored).
    if isinstance(denom, int):
        scale = 1.0 / denom if denom else 0.0
    else:
        scale = xp.where(denom != 0, 1.0 / xp.where(denom != 0, denom, xp.ones_like(denom)),
                         xp.zeros_like(denom))

    fused = (_ce_rows_fused(P, eps, scale, want_grad, out)
             if P.labels is not None and P.M and P.cmask is None else None)
    if fused is not None:
        rows, grad = fused
    else:
        rows, grad = _ce_rows_plain(P, eps, want_grad)
        if grad is not None and not (isinstance(scale, float) and scale == 1.0):
            grad = grad * scale
        if grad is not None:
            grad = _write_out(P, grad, out, fn)
    if validate and P.M:
        _check_rows(P, rows, fn)
    return _reduce_rows(xp, rows, reduction, scale, P.batch_shape), grad


def _reduce_rows(xp, rows, reduction: str, scale, batch_shape: tuple):
    """The loss from the per-position losses: as they are, summed, or summed and scaled."""
    if R.is_per_position(reduction):
        return xp.reshape(rows, batch_shape)
    total = np.add.reduce(rows, axis=None) if xp is np else xp.sum(rows)  # np.sum's own call
    total = total if isinstance(scale, float) and scale == 1.0 else total * scale
    return xp.asarray(total)  # a 0-d array of the input's library (NumPy gives a scalar)


_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _ce_numpy_2d(logits, target, eps: float, reduction: str, validate: bool, want_grad: bool,
                 out, ignore_index=None):
    """The most common call, ``(N, C)`` NumPy scores and ``(N,)`` integer labels, with
    no class weights and no ignore_index, without the general path's machinery.

    It gives bit for bit the general path's result (a test checks this) at a
    fraction of its fixed cost per call (about 50 us), which matters for small
    batches.  It returns None whenever anything is unusual, every invalid input
    included, so that the general path handles the call and reports the error.
    """
    if not (type(logits) is np.ndarray and type(target) is np.ndarray and logits.ndim == 2
            and target.ndim == 1 and logits.dtype in _FAST_DTYPES
            and target.dtype.kind in "iu" and logits.flags.c_contiguous):
        return None
    N, C = logits.shape
    if N == 0 or C == 0 or target.shape[0] != N:
        return None
    if out is not None and not (
            type(out) is np.ndarray and out.shape == logits.shape and out.dtype == logits.dtype
            and out.flags.c_contiguous and out.flags.writeable
            and not np.may_share_memory(out, logits)):
        return None
    if ignore_index is not None and (type(ignore_index) is not int or 0 <= ignore_index < C):
        return None  # an ignore_index among the classes: the general path
    # A label outside [0, C) is an error or an ignored position (ignore_index=-100
    # is the default): the general path handles both.
    if (validate or ignore_index is not None) and (
            np.minimum.reduce(target) < 0 or np.maximum.reduce(target) >= C):
        return None
    scale = 1.0 / R.divisor(reduction, R.Counts(N, N))
    rows, grad = kernels.ce_rows(logits, target, label_smoothing=eps, grad_scale=scale,
                                 out=out if want_grad else None, want_grad=want_grad)
    if validate and np.isnan(rows).any():
        return None
    if rows.dtype != logits.dtype:
        rows = rows.astype(logits.dtype)
    return _reduce_rows(np, rows, reduction, scale, (N,)), grad


def _ce_rows_fused(P: _Problem, eps, scale, want_grad, out):
    """The fused kernel's rows and gradient (:mod:`softmaxlab.kernels`), or None."""
    xp = P.xp
    gout = None
    if want_grad and out is not None and P.perm is None:
        _check_out(P, out, "cross_entropy_with_grad")
        if getattr(getattr(out, "flags", None), "c_contiguous", False):
            gout = xp.reshape(out, (P.M, P.C))  # a view: the kernel writes into out
    res = kernels.ce_rows(P.zraw, P.labels, weight=P.weight, ignore_index=P.ignore_index,
                          label_smoothing=eps, grad_scale=scale, out=gout, want_grad=want_grad)
    if res is None:
        return None
    rows, g = res
    if rows.dtype != P.cdtype:
        rows = xp.astype(rows, P.cdtype)
    if g is not None:
        g = out if gout is not None else _write_out(P, g, out, "cross_entropy_with_grad")
    return rows, g


def _check_rows(P: _Problem, rows, fn: str) -> None:
    """A non-ignored position whose loss is NaN had no finite logit (or a NaN / +inf)."""
    xp = P.xp
    bad = xp.isnan(rows)
    if not V.any_true(bad, xp):
        return
    pos = V.first_true_index(bad, (P.M,))[0]
    row = to_numpy(P.z[pos, :])
    if np.isnan(row).any():
        what = f"NaN at class {int(np.flatnonzero(np.isnan(row))[0])}"
    elif np.isposinf(row).any():
        what = f"+inf at class {int(np.flatnonzero(np.isposinf(row))[0])}"
    elif np.isfinite(row).any():  # weights of both signs on -inf logits: inf - inf
        raise ValueError(
            f"{fn}: argument 'weight' must not give -inf logits of position "
            f"{V.fmt_index(_unflat(pos, P.batch_shape))} weights of both signs (with label "
            "smoothing their terms are +inf and -inf, and the loss inf - inf is NaN); found "
            "such logits at classes " + ", ".join(map(str, np.flatnonzero(np.isneginf(row))[:5])))
    else:
        what = "only -inf (every class masked)"
    raise ValueError(
        f"{fn}: argument 'logits' has {what} at position "
        f"{V.fmt_index(_unflat(pos, P.batch_shape))}; a position that is not ignored needs at "
        "least one finite logit and no NaN or +inf (ignore it with ignore_index, or fix the "
        "scores)")


@_docs.fill(_DOCS)
def cross_entropy(logits: Any, target: Any, *, axis: int = 1, weight: Any = None,
                  ignore_index: int | None = -100, label_smoothing: float = 0.0,
                  reduction: str = "mean", where: Any = None, validate: bool = True):
    r"""Softmax cross-entropy between class scores and targets.

    .. math::

        L = -\log \operatorname{softmax}(z)_y = \operatorname{logsumexp}(z) - z_y


    Parameters
    ----------
    %(ce_params)s

    Returns
    -------
    array
        A 0-d array (the reduced loss) or, for ``reduction="none"``, one loss
        per position; same library as `logits`.

    Raises
    ------
    TypeError
        Integer, boolean or complex scores; non-integer labels.
    ValueError
        Labels out of range (the message names the first offending position
        and value); a target whose shape fits neither labels nor probabilities;
        negative or wrongly sized weights; `label_smoothing` outside [0, 1]; an
        unknown `reduction`; a non-ignored position with no finite score or a
        NaN; an empty batch with a reduction that divides; a `where` that does
        not broadcast, or that excludes a position's target class.

    Notes
    -----
    %(ce_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    >>> labels = np.array([0, 1])
    >>> round(float(sml.cross_entropy(logits, labels)), 6)
    0.31854
    >>> sml.cross_entropy(logits, labels, reduction="none").round(4)
    array([0.417, 0.22 ])

    A uniform prediction over 1000 classes costs ln(1000):

    >>> round(float(sml.cross_entropy(np.zeros((4, 1000)), np.arange(4))), 5)
    6.90776
    """
    loss, _ = _cross_entropy("cross_entropy", logits, target, axis=axis, weight=weight,
                             ignore_index=ignore_index, label_smoothing=label_smoothing,
                             reduction=reduction, validate=validate, want_grad=False, out=None,
                             where=where)
    return loss


@_docs.fill(_DOCS)
def cross_entropy_with_grad(logits: Any, target: Any, *, axis: int = 1, weight: Any = None,
                            ignore_index: int | None = -100, label_smoothing: float = 0.0,
                            reduction: str = "mean", where: Any = None, validate: bool = True,
                            out: Any = None):
    r"""Softmax cross-entropy and its gradient with respect to the scores, in one pass.

    The gradient is the closed form (softmax minus the smoothed one-hot, times
    the class weight, over the normaliser), the backward of Caffe's
    ``SoftmaxWithLoss``.  For ``reduction="none"`` it is the gradient of the
    sum of the per-position losses.


    Parameters
    ----------
    %(ce_params)s
    out : array, optional
        An array of the scores' shape and dtype that receives the gradient (so
        a training loop need not allocate one each step).  Must not be `logits`.

    Returns
    -------
    loss : array
        As :func:`cross_entropy`.
    dlogits : array
        :math:`\partial L / \partial z`, same shape, library and dtype as
        `logits` (`out` when given).

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy`; also for an `out` of the wrong shape or dtype.

    Notes
    -----
    %(ce_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> loss, g = sml.cross_entropy_with_grad(np.array([[2.0, 1.0, 0.1]]), np.array([0]))
    >>> g.round(4)  # p - onehot
    array([[-0.341 ,  0.2424,  0.0986]])
    >>> abs(float(g.sum())) < 1e-15
    True
    """
    return _cross_entropy("cross_entropy_with_grad", logits, target, axis=axis, weight=weight,
                          ignore_index=ignore_index, label_smoothing=label_smoothing,
                          reduction=reduction, validate=validate, want_grad=True, out=out,
                          where=where)


# --------------------------------------------------------------------------- #
# Multiclass hinge (Weston-Watkins SVM)
# --------------------------------------------------------------------------- #
def _hinge(fn, scores, target, *, axis, margin, p, weight, reduction, validate, want_grad):
    red = R.check_reduction(reduction, fn, "hinge")
    delta = V.check_real_scalar(margin, fn, "margin")
    validate = V.check_bool(validate, fn, "validate")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{fn}: argument 'p' must be 1 or 2; found {p!r}")
    P = _prepare(fn, scores, target, axis=axis, weight=weight, ignore_index=None,
                 validate=validate, allow_probs=False, name="scores", unbatched_keeps_1=True)
    xp, s, C = P.xp, P.z, P.C
    if validate and P.M:
        bad = ~xp.isfinite(s)
        if V.any_true(bad, xp):
            i, j = V.first_true_index(bad, (P.M, C))
            raise ValueError(
                f"{fn}: argument 'scores' must be finite; found {float(to_numpy(s[i, j]))!r} at "
                f"position {V.fmt_index(_unflat(i, P.batch_shape))}, class {j}")
    if red.needs_positions and P.M == 0:
        raise _empty_batch_error(fn, red.name, P.batch_shape)
    onehot = _onehot(P.labels, C, xp, s.dtype)
    sy = xp.sum(s * onehot, axis=1, keepdims=True)
    marg = s - sy + delta
    marg = xp.where((marg > 0) & (onehot == 0), marg, xp.zeros_like(marg))
    rows = xp.sum(marg if p == 1 else marg * marg, axis=1)
    wy = None
    if P.weight is not None:  # MultiMarginLoss's weight: w_y times the row's terms
        wy = xp.take(P.weight, as_indices(P.labels, xp), axis=0)
        rows = rows * wy
    scale = 1.0 / red.compute(R.Counts(P.M, P.N))
    loss = _reduce_rows(xp, rows, red.name, scale, P.batch_shape)
    grad = None
    if want_grad:
        d = xp.astype(marg > 0, s.dtype) if p == 1 else 2 * marg
        grad = d - onehot * xp.sum(d, axis=1, keepdims=True)
        if wy is not None:
            grad = grad * xp.reshape(wy, (-1, 1))
        if scale != 1.0:
            grad = grad * scale
        grad = _write_out(P, grad, None, fn)
    return loss, grad


@_docs.fill(_DOCS)
def multiclass_hinge(scores: Any, target: Any, *, axis: int = 1, margin: float = 1.0,
                     p: int = 1, weight: Any = None, reduction: str = "mean",
                     validate: bool = True):
    r"""The multiclass SVM (hinge) loss of Weston and Watkins, as in CS231n.

    .. math::

        L = \sum_{j \ne y} \max(0,\; s_j - s_y + \Delta)^p


    Parameters
    ----------
    %(hinge_params)s

    Returns
    -------
    array
        0-d array, or one loss per position for ``reduction="none"``.

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy` for labels, shapes and dtypes; also for
        non-finite scores, a negative margin or `p` not in {1, 2}.

    Notes
    -----
    The SVM is satisfied once the correct class wins by the margin: scores
    that already do contribute exactly 0, however the other classes are
    arranged, while cross-entropy keeps pushing every probability.  At
    initialisation (all scores equal) each example costs
    :math:`(C-1)\Delta^p`.  ``torch.nn.functional.multi_margin_loss`` is this
    loss divided by :math:`C`.

    Examples
    --------
    The CS231n example: scores (3.2, 5.1, -1.7) for the correct class 0:

    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> float(sml.multiclass_hinge(np.array([[3.2, 5.1, -1.7]]), np.array([0])))
    2.9
    """
    loss, _ = _hinge("multiclass_hinge", scores, target, axis=axis, margin=margin, p=p,
                     weight=weight, reduction=reduction, validate=validate, want_grad=False)
    return loss


@_docs.fill(_DOCS)
def multiclass_hinge_with_grad(scores: Any, target: Any, *, axis: int = 1, margin: float = 1.0,
                               p: int = 1, weight: Any = None, reduction: str = "mean",
                               validate: bool = True):
    r"""The multiclass hinge loss and its (sub)gradient with respect to the scores.

    .. math::

        \frac{\partial L}{\partial s_j} = p\,\max(0, s_j - s_y + \Delta)^{p-1}
            \;(j \ne y), \qquad
        \frac{\partial L}{\partial s_y} = -\sum_{j \ne y} \frac{\partial L}{\partial s_j}

    At a kink (a margin exactly 0) the subgradient 0 is used.


    Parameters
    ----------
    %(hinge_params)s

    Returns
    -------
    loss : array
        As :func:`multiclass_hinge`.
    dscores : array
        Same shape, library and dtype as `scores`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> loss, g = sml.multiclass_hinge_with_grad(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    >>> g
    array([[-1.,  1.,  0.]])
    """
    return _hinge("multiclass_hinge_with_grad", scores, target, axis=axis, margin=margin, p=p,
                  weight=weight, reduction=reduction, validate=validate, want_grad=True)


__doc__ = _docs.docformat(__doc__, _DOCS)
