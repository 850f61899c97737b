"""Exercise: a log-softmax along the last axis (chapter 2; chapter 7's online normaliser)."""

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
from ._inputs import softmax_case, softmax_cases

# --------------------------------------------------------------------------- known mistakes


def _naive(x):
    e = np.exp(x)
    return np.log(e / e.sum(axis=-1, keepdims=True))


def _log_of_softmax(x):
    s = np.exp(ref.shift(x))
    return np.log(s / s.sum(axis=-1, keepdims=True))


def _naive_lse(x):
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _global_max(x):
    s = x - x.max()
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def _axis0(x):
    s = x - x.max(axis=0, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=0, keepdims=True))


def _no_keepdims(x):
    s = ref.shift(x)
    return s - np.log(np.exp(s).sum(axis=-1))


def _online_no_rescale(x):
    m, d = hints.online_no_rescale(x)
    return x - (m + np.log(d))[..., None]


VARIANTS = [
    Variant(_naive, hints.LOG_OVERFLOW),
    Variant(_online_no_rescale, hints.NO_RESCALE),
    Variant(
        _log_of_softmax,
        "you took the log of the softmax: a probability that rounds to 0 gives "
        "log(0) = -inf. Compute the log-softmax directly, x - max - "
        "log(sum(exp(x - max))), which never takes the log of a tiny number.",
    ),
    Variant(
        _naive_lse,
        "your log-sum-exp overflowed: log(sum(exp(x))) is inf when a logit is "
        "above about 709. Shift by the row maximum inside it: logsumexp(x) = m + "
        "log(sum(exp(x - m))) with m = x.max(axis=-1, keepdims=True).",
    ),
    Variant(
        ref.shift,
        "you subtracted the row maximum but not log(sum(exp(x - max))); the "
        "log-softmax is x - max - log(sum(exp(x - max))).",
    ),
    Variant(_global_max, hints.GLOBAL_MAX),
    Variant(_axis0, hints.axis0("log-softmax")),
    Variant(_no_keepdims, hints.KEEPDIMS),
    Variant(ref.softmax, "you returned the softmax; log-softmax is its log."),
    Variant(
        lambda x: -ref.log_softmax(x),
        "your result has the wrong sign: you returned -log p (the per-class loss); "
        "log-softmax values are log p <= 0.",
    ),
]


def _value_hint(case: Case, got: np.ndarray) -> str:
    if np.any(got > 1e-6):
        return (
            "your result has positive entries, but log-probabilities are never above 0 "
            "(log p <= 0 because p <= 1)."
        )
    sums = np.exp(got).sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=1e-4):
        return (
            f"exp of your rows sums to {fmt(sums)}, not 1: subtract "
            "log(sum(exp(x - max))) along the last axis (keepdims=True)."
        )
    return largest_difference(case, got)


def exercise() -> Exercise:
    cases = softmax_cases(np.random.default_rng(20240602), ref.log_softmax)
    cases.insert(
        9,
        softmax_case(
            "one logit far below the others (log p near -1000)",
            [[0.0, -1000.0, 1.0], [5.0, 5.0, -800.0]],
            ref.log_softmax,
        ),
    )
    return Exercise(
        "log-softmax",
        "fn(x)",
        cases,
        VARIANTS,
        nonfinite_hint=hints.LOG_OVERFLOW,
        value_hint=_value_hint,
        shape_hint=hints.same_shape,
        exc_hint=hints.row_exception,
    )


@checker_doc
def check_log_softmax(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check a log-softmax along the last axis, ``fn(x) -> log(softmax(x))``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x)`` with `x` of shape ``(N, K)``
        or ``(K,)``; it must return an array of the same shape and leave `x`
        unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \log \operatorname{softmax}(x)_j = (x_j - m) - \log \sum_k e^{x_k - m},
        \qquad m = \max_k x_k .

    The cases are those of :func:`check_softmax` plus one with a logit 1000 below
    the others, where ``log(softmax(x))`` gives ``log(0) = -inf`` but the answer
    is a finite -1000.  Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64),
    ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_log_softmax
    >>> def log_softmax(x):
    ...     s = x - x.max(axis=-1, keepdims=True)
    ...     return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    >>> result = check_log_softmax(log_softmax)
    log-softmax: all 12 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_log_softmax")
