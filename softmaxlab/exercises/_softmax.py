"""Exercise: a softmax along the last axis (chapter 2; chapter 7 reuses it)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import (
    Case,
    CheckResult,
    Exercise,
    Variant,
    checker_doc,
    fmt,
    largest_difference,
    run,
)
from ._inputs import softmax_cases

# --------------------------------------------------------------------------- known mistakes


def _naive(x):
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def _global_max(x):
    e = np.exp(x - x.max())
    return e / e.sum(axis=-1, keepdims=True)


def _axis0(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _sum0(x):
    e = np.exp(ref.shift(x))
    return e / e.sum(axis=0, keepdims=True)


def _no_keepdims(x):
    e = np.exp(ref.shift(x))
    return e / e.sum(axis=-1)


def _whole(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def _unnormalised(x):
    return np.exp(ref.shift(x))


def _online_no_rescale(x):
    m, d = hints.online_no_rescale(x)
    return np.exp(x - m[..., None]) / d[..., None]


VARIANTS = [
    Variant(_naive, hints.OVERFLOW),
    Variant(_online_no_rescale, hints.NO_RESCALE),
    Variant(_global_max, hints.GLOBAL_MAX),
    Variant(_axis0, hints.axis0("softmax")),
    Variant(_sum0, hints.axis0("softmax")),
    Variant(_no_keepdims, hints.KEEPDIMS),
    Variant(
        _whole,
        "you divided by the sum over the whole array: normalise each row by its own "
        "sum, x.sum(axis=-1, keepdims=True), so every row sums to 1.",
    ),
    Variant(
        _unnormalised,
        "you returned exp(x - max) without dividing by its row sum; softmax divides "
        "so that every row sums to 1.",
    ),
    Variant(ref.log_softmax, "you returned the log-softmax; softmax is its exp."),
]


def _value_hint(case: Case, got: np.ndarray) -> str:
    sums = got.sum(axis=-1)
    if np.any(got < 0):
        return "your result has negative entries, but probabilities are never negative."
    if not np.allclose(sums, 1.0, rtol=1e-4):
        msg = f"the rows of your result sum to {fmt(sums)}, not 1"
        if got.ndim == 2 and np.allclose(got.sum(axis=0), 1.0, rtol=1e-4):
            msg += ", while its columns sum to 1: did you normalise over axis 0?"
        else:
            msg += ": divide exp(x - max) by its sum along the last axis."
        return msg
    return largest_difference(case, got)


def exercise() -> Exercise:
    return Exercise(
        "softmax",
        "fn(x)",
        softmax_cases(np.random.default_rng(20240601), ref.softmax),
        VARIANTS,
        nonfinite_hint=hints.OVERFLOW,
        value_hint=_value_hint,
        shape_hint=hints.same_shape,
        exc_hint=hints.row_exception,
    )


@checker_doc
def check_softmax(fn: Callable, *, backend: str | None = None, verbose: bool = True) -> CheckResult:
    r"""Check a softmax along the last axis, ``fn(x) -> softmax(x)``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x)`` with `x` of shape ``(N, K)``
        (N examples, K logits each) or ``(K,)``.  It must return an array of the
        same shape whose rows (along the last axis) are the softmax of the rows of
        `x`, and leave `x` unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \operatorname{softmax}(x)_j = \frac{e^{x_j - m}}{\sum_k e^{x_k - m}},
        \qquad m = \max_k x_k .

    Cases: a 3 x 4 batch, a 1-D input, a 1 x 4 row, a square 4 x 4 input (where
    the wrong axis keeps the right shape), a tall 6 x 3 input, logits around
    1000, 10000 and -1000, rows on very different scales (catches a global
    maximum), float32 logits up to 100 and equal logits.  Tolerances: ``rtol =
    1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_softmax
    >>> def softmax(x):
    ...     e = np.exp(x - x.max(axis=-1, keepdims=True))
    ...     return e / e.sum(axis=-1, keepdims=True)
    >>> result = check_softmax(softmax)
    softmax: all 11 cases passed. Well done!
    >>> bool(result)
    True
    """
    return run(exercise(), fn, backend, verbose, "check_softmax")
