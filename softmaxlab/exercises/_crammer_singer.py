"""Exercise: the mean Crammer-Singer multiclass hinge loss with margin Δ (chapter 4)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run

# --------------------------------------------------------------------------- known mistakes
# Each takes (scores, labels, margin) and returns the wrong loss it is named for.


def _correct(s, y):
    return s[np.arange(len(y)), y]


def _masked(s, y, fill):  # the scores with each example's correct class set to `fill`
    out = s.astype(np.float64)
    out[np.arange(len(y)), y] = fill
    return out


def _worst(s, y):
    return _masked(s, y, -np.inf).max(axis=1)


def _cs(s, y, margin):  # per example
    return np.maximum(0.0, _worst(s, y) - _correct(s, y) + margin)


def _weston_watkins(s, y, margin):
    m = np.maximum(0.0, s - _correct(s, y)[:, None] + margin)
    m[np.arange(len(y)), y] = 0.0
    return m.sum(axis=1).mean()


VARIANTS = [
    Variant(
        _weston_watkins,
        "you summed the violations over every j != y (the Weston-Watkins loss of "
        "check_hinge_loss); Crammer-Singer keeps only the largest one: "
        "max(0, max_{{j != y}} z_j - z_y + Δ).",
    ),
    Variant(
        lambda s, y, m: np.maximum(0.0, s.max(axis=1) - _correct(s, y) + m).mean(),
        "you let j = y into the maximum: its term is z_y - z_y + Δ = Δ, so no example "
        "costs less than Δ. Mask the correct class with -np.inf before the row maximum.",
    ),
    Variant(
        lambda s, y, m: np.maximum(0.0, _masked(s, y, 0.0).max(axis=1) - _correct(s, y) + m).mean(),
        "you set the correct class's score to 0 before the maximum: when every wrong "
        "score is below 0, the maximum picks that 0. Mask it with -np.inf instead.",
    ),
    Variant(
        lambda s, y, m: (_worst(s, y) - _correct(s, y) + m).mean(),
        "you forgot the max(0, .): an example whose margin is satisfied costs 0, "
        "not a negative amount.",
    ),
    Variant(
        lambda s, y, m: _cs(s, y, 1.0).mean(),
        "you used a margin of 1 whatever the argument; this case passes margin = "
        "{margin}: max(0, max_{{j != y}} z_j - z_y + margin).",
    ),
    Variant(
        lambda s, y, m: _cs(s, y, 0.0).mean(),
        "you left out the margin: the correct class must lead the best wrong class by "
        "Δ = {margin}, max(0, max_{{j != y}} z_j - z_y + margin).",
    ),
    Variant(
        lambda s, y, m: np.maximum(0.0, _worst(s, y) - _correct(s, y) - m).mean(),
        "you subtracted the margin; the loss is max(0, max_{{j != y}} z_j - z_y + Δ).",
    ),
    Variant(
        lambda s, y, m: _cs(s, y, m).sum(),
        "your loss is {N} times too large: you summed over the {N} examples; divide "
        "by their number (take the mean).",
    ),
    Variant(
        lambda s, y, m: _cs(s, y, m).sum() / s.shape[1],
        "you divided by the number of classes C = {C}; divide by the number of "
        "examples N = {N}.",
    ),
    Variant(
        lambda s, y, m: (_cs(s, y, m) ** 2).mean(),
        "you squared the hinge; this exercise uses max(0, .) itself.",
    ),
    Variant(
        lambda s, y, m: np.maximum(0.0, _correct(s, y) - _worst(s, y) + m).mean(),
        "your margin has the wrong sign: use max_{{j != y}} z_j - z_y + Δ (the best "
        "wrong class scoring close to or above the correct one costs).",
    ),
]


def _cases(rng) -> list[Case]:
    def case(name, s, y, margin=1.0, dtype="float64"):
        s = np.asarray(s, dtype=dtype)
        y = np.asarray(y, dtype=np.int64)
        ctx = {"N": s.shape[0], "C": s.shape[1], "margin": margin}
        return Case(name, (s, y, margin), ref.crammer_singer(s, y, margin), dtype, ctx)

    def labelled(n, c, scale=1.0, shift=0.0):
        return shift + scale * rng.normal(size=(n, c)), rng.integers(0, c, n)

    sat, y_sat = labelled(3, 4)
    sat[np.arange(3), y_sat] += 10.0
    vio, y_vio = labelled(3, 4)
    vio[np.arange(3), y_vio] -= 10.0
    neg, y_neg = labelled(4, 4, 0.5, -5.0)
    neg[np.arange(4), y_neg] += 4.0  # the correct class leads, below 0 all the same
    return [
        case("4 examples x 3 classes", *labelled(4, 3)),
        case("a single example (1 x 5)", rng.normal(size=(1, 5)), [2]),
        case("square batch (4 x 4): the shape cannot reveal the axis",
             rng.normal(size=(4, 4)), [1, 3, 0, 2]),
        case("8 examples x 5 classes", *labelled(8, 5, 2.0)),
        case("every margin satisfied (loss 0)", sat, y_sat),
        case("every margin violated", vio, y_vio),
        case("equal scores: the loss is the margin", np.zeros((3, 4)), [0, 1, 3]),
        case("every score below 0", neg, y_neg),
        case("margin 2", *labelled(5, 4), margin=2.0),
        case("margin 0.5", *labelled(5, 4), margin=0.5),
        case("margin 0: max(0, max_j z_j - z_y)", *labelled(5, 4), margin=0.0),
        case("large scores around 10000", *labelled(3, 4, 1.0, 1e4)),
        case("large negative scores around -10000", *labelled(4, 3, 1.0, -1e4)),
        case("float32 scores", *labelled(4, 5, 3.0), dtype="float32"),
    ]


def exercise() -> Exercise:
    return Exercise(
        "Crammer-Singer hinge loss",
        "fn(scores, labels, margin)",
        _cases(np.random.default_rng(20240609)),
        VARIANTS,
        nonfinite_hint=(
            "your loss is nan or inf: the correct class is masked with -inf, so the "
            "row maximum must come from a wrong class (every row has one when C >= 2); "
            "look for -inf - (-inf) or a division by 0."
        ),
        value_hint=hints.nonnegative_loss("max(0, .) is never negative"),
        shape_hint=hints.scalar_loss_shape,
        exc_hint=hints.pick_exception,
    )


@checker_doc
def check_crammer_singer_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check a mean Crammer-Singer hinge loss, ``fn(scores, labels, margin) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(scores, labels, margin)`` with
        `scores` of shape ``(N, C)``, int64 `labels` of shape ``(N,)`` and the
        margin Δ a Python float (1.0 in most cases; 2, 0.5 and 0 in three).  It
        must return the mean over the examples of
        ``max(0, max over j != y of z_j - z_y + margin)`` as a number, and leave
        its inputs unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    Crammer and Singer's multiclass SVM charges only the worst violation of
    each example (chapter 4; :func:`check_hinge_loss` checks the Weston-Watkins
    sum):

    .. math::

        L = \frac{1}{N} \sum_{i=1}^{N}
        \max\Bigl(0,\; \max_{j \ne y_i} s_{ij} - s_{i y_i} + \Delta\Bigr)

    Cases: 4 x 3, a single example, a square 4 x 4 batch, 8 x 5, every margin
    satisfied (loss 0), every margin violated, equal scores (loss Δ), every
    score below 0 (catches the correct class masked with 0 instead of -inf),
    margins 2, 0.5 and 0, scores around 10000 and -10000 and float32 scores.
    Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4,
    atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_crammer_singer_loss
    >>> def crammer_singer(scores, labels, margin=1.0):
    ...     rows = np.arange(len(labels))
    ...     others = scores.astype(float)
    ...     others[rows, labels] = -np.inf
    ...     worst = others.max(axis=1)
    ...     return np.maximum(0, worst - scores[rows, labels] + margin).mean()
    >>> result = check_crammer_singer_loss(crammer_singer)
    Crammer-Singer hinge loss: all 14 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_crammer_singer_loss")
