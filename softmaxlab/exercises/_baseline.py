"""Exercise: the loss of a uniform guess over K classes, ln K (chapters 1 and 6)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run

VARIANTS = [
    Variant(
        lambda k: math.log10(k),
        "you used log10; the cross-entropy uses the natural logarithm (np.log "
        "or math.log).",
    ),
    Variant(
        lambda k: math.log2(k),
        "you used log2 (bits); the cross-entropy uses the natural logarithm (np.log).",
    ),
    Variant(
        lambda k: 1.0 / k,
        "you returned the probability 1/K of each class; the loss is -ln(1/K) = ln K.",
    ),
    Variant(lambda k: -math.log(k), "wrong sign: the loss is -ln(1/K) = +ln K."),
    Variant(
        lambda k: -math.log(1.0 - 1.0 / k),
        "the loss is -ln(p) with p = 1/K, the probability of the correct class.",
    ),
]


def exercise() -> Exercise:
    def case(name, k):
        return Case(name, (k,), np.asarray(math.log(k)), "float64", {"K": k})

    return Exercise(
        "baseline loss ln K",
        "fn(K)",
        [
            case("2 classes (a coin toss)", 2),
            case("10 classes (ln 10 = 2.302585)", 10),
            case("ImageNet, 1000 classes (ln 1000 = 6.907755)", 1000),
            case("a single class (loss 0)", 1),
        ],
        VARIANTS,
        shape_hint=lambda case, got: (
            f"return a single number (shape ()), not an array of shape {got.shape}."
        ),
    )


@checker_doc
def check_baseline_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check the loss of a uniform guess over K classes, ``fn(K) -> ln K``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(K)`` with a Python int ``K >= 1``;
        it must return the cross-entropy of a classifier that gives every class
        probability 1/K, a number.
    {numbers_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        L = -\ln \frac{1}{K} = \ln K

    Cases: K = 2, 10, 1000 (ImageNet: 6.907755) and 1 (loss 0).  Tolerances:
    ``rtol = 1e-6, atol = 1e-9``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_baseline_loss
    >>> result = check_baseline_loss(lambda K: -np.log(1 / K))
    baseline loss ln K: all 4 cases passed. Well done!
    >>> result = check_baseline_loss(np.log10)
    baseline loss ln K: 1 of 4 cases passed, 3 failed.
    <BLANKLINE>
    x Case '2 classes (a coin toss)' failed.
        expected: 0.693147
        got:      0.30103
        hint:     you used log10; the cross-entropy uses the natural logarithm (np.log or
                  math.log).
    <BLANKLINE>
    x Case '10 classes (ln 10 = 2.302585)' failed.
        expected: 2.30259
        got:      1
        hint:     the same mistake as in case '2 classes (a coin toss)'.
    <BLANKLINE>
    x Case 'ImageNet, 1000 classes (ln 1000 = 6.907755)' failed.
        expected: 6.90776
        got:      3
        hint:     the same mistake as in case '2 classes (a coin toss)'.
    <BLANKLINE>
    Passed: 'a single class (loss 0)'.
    """
    return run(exercise(), fn, backend, verbose, "check_baseline_loss")
