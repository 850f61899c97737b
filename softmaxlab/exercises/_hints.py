"""Hints that several exercises give, each named for the mistake it explains.

A hint is shared on purpose: the softmax, the log-softmax and the cross-entropy
overflow the same way, and the loss checkers all pick ``logp[np.arange(N),
labels]``.  A hint that only one exercise gives lives in that exercise's module.
Templates use the case's context (``{N}``, ``{C}``, ...); functions take
``(case, got)``.
"""

from __future__ import annotations

import numpy as np

from ._framework import Case, exc_text, fmt, largest_difference, num

OVERFLOW = (
    "your result has nan or inf: np.exp overflows to inf for logits above about 709 "
    "in float64 (88 in float32) and underflows to 0 for large negative ones, so "
    "exp(x) / sum(exp(x)) becomes inf/inf or 0/0. Subtract each row's maximum "
    "before exp: e = np.exp(x - x.max(axis=-1, keepdims=True)); the result does "
    "not change, because softmax(x - c) = softmax(x)."
)

LOG_OVERFLOW = (
    "your result has nan or inf. Two usual causes: np.exp overflows for logits above "
    "about 709 (88 in float32), and log(softmax(x)) underflows to log(0) = -inf when "
    "a logit is far below the largest one. Compute it in one step, shifted by the "
    "row maximum: s = x - x.max(axis=-1, keepdims=True); "
    "s - np.log(np.exp(s).sum(axis=-1, keepdims=True))."
)

GLOBAL_MAX = (
    "you subtracted the maximum of the whole array, not of each row: rows far below "
    "that maximum underflow to exp(...) = 0, giving 0/0. Use x.max(axis=-1, "
    "keepdims=True)."
)

KEEPDIMS = (
    "divide each row by its own sum: x.sum(axis=-1) has shape (N,), which broadcasts "
    "against the columns, not the rows. Use x.sum(axis=-1, keepdims=True) (shape "
    "(N, 1))."
)


NO_RESCALE = (
    "your running sum was not rescaled when the running maximum grew: the terms "
    "added under an older, smaller maximum m stay too large by exp(m_new - m). "
    "Before adding the new term, move the old sum onto the new maximum: m_new = "
    "np.maximum(m, x[..., j]); d = d * np.exp(m - m_new) + np.exp(x[..., j] - m_new); "
    "m = m_new."
)

IN_BITS = (
    "your loss is in bits (log base 2): it is 1 / ln 2 = 1.4427 times the loss "
    "in nats. The cross-entropy uses the natural logarithm, np.log."
)

IN_LOG10 = (
    "your loss uses log10: it is 1 / ln 10 = 0.4343 times the loss in nats. The "
    "cross-entropy uses the natural logarithm, np.log."
)


def online_no_rescale(x):
    """The online normaliser without the rescale: (running max m, running sum d)."""
    m = np.full(x.shape[:-1], -np.inf)
    d = np.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m = np.maximum(m, x[..., j])
        d = d + np.exp(x[..., j] - m)
    return m, d


def axis0(kind: str):
    """The hint for a softmax-like `kind` computed down the columns."""

    def hint(case: Case, got):
        msg = (
            f"you computed the {kind} over axis 0 (down the columns) instead of along "
            "the last axis (each row is one example)."
        )
        if kind == "softmax":
            sums = got.sum(axis=-1)
            msg += f" The rows of your result sum to {fmt(sums)}, not 1."
        return msg + " Use axis=-1 with keepdims=True."

    return hint


def row_exception(case: Case, exc: BaseException) -> str | None:
    """A row-wise function that raised: a broadcast without keepdims, or axis=1 on 1-D."""
    if "broadcast" in exc_text(exc):
        return (
            "the shapes did not broadcast: a row sum taken with x.sum(axis=-1) has "
            "shape (N,); keep the reduced axis with keepdims=True (shape (N, 1)) so "
            "each row is divided by its own sum."
        )
    if isinstance(exc, (IndexError, np.exceptions.AxisError)) and np.ndim(case.args[0]) == 1:
        return (
            "this input is 1-D (a single example with K logits); use axis=-1 rather "
            "than axis=1 so both 1-D and 2-D inputs work."
        )
    return None


def same_shape(case: Case, got: np.ndarray) -> str:
    """A row-wise result whose shape is not the input's."""
    exp = case.expected.shape
    if got.shape == exp[::-1]:
        return f"your result is transposed: expected shape {exp}, got {got.shape}."
    if got.size == case.expected.size:
        return (
            f"expected shape {exp} (the input's shape), got {got.shape}: keep the input's "
            "shape (a 1-D input gives a 1-D result)."
        )
    return (
        f"expected shape {exp} (the input's shape), got {got.shape}: return one value "
        "per logit, computed along the last axis."
    )


def pick_exception(case: Case, exc: BaseException) -> str | None:
    """An IndexError from picking each example's correct-class entry."""
    if isinstance(exc, IndexError):
        return (
            "pick each example's correct-class entry with both indices: "
            "logp[np.arange(N), labels]."
        )
    return None


def scalar_loss_shape(case: Case, got: np.ndarray) -> str:
    """A mean loss returned as something other than one number."""
    n = case.ctx["N"]
    if got.shape == (n,):
        return (
            f"you returned one loss per example (shape {got.shape}); the loss is their "
            "mean, a single number."
        )
    return f"the loss is a single number (shape ()), but your result has shape {got.shape}."


def rows_sum_to_zero(why: str):
    """A gradient hint: rows that do not sum to 0 are explained by `why`."""

    def hint(case: Case, got: np.ndarray) -> str:
        rows = got.sum(axis=-1)
        if not np.allclose(rows, 0.0, atol=1e-6):
            return why.format(sums=fmt(rows))
        return largest_difference(case, got)

    return hint


def nonnegative_loss(why: str):
    """A loss hint: negative values are explained by `why`, others by their distance."""

    def hint(case: Case, got: np.ndarray) -> str:
        if float(got) < 0:
            return f"your loss is negative, but {why}."
        return loss_off_by(case, got)

    return hint


def loss_off_by(case: Case, got: np.ndarray) -> str:
    """The last resort for a wrong loss value."""
    return f"your loss is off by {num(abs(float(got) - float(case.expected)), 4)}."
