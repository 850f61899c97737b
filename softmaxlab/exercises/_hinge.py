"""Exercise: the mean multiclass SVM (Weston-Watkins) hinge loss, margin 1 (chapter 4)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run

# --------------------------------------------------------------------------- known mistakes


def _margins(s, y):  # z_j - z_y + 1, one row per example
    return s - s[np.arange(len(y)), y][:, None] + 1.0


def _hinged(m, y):  # max(0, m), with each example's correct class set to 0
    m = np.maximum(0, m)
    m[np.arange(len(y)), y] = 0
    return m


def _with_correct(s, y):
    return np.maximum(0, _margins(s, y)).sum(axis=1).mean()


def _summed(s, y):
    return _hinged(_margins(s, y), y).sum()


def _no_clamp(s, y):
    m = _margins(s, y)
    m[np.arange(len(y)), y] = 0
    return m.sum(axis=1).mean()


def _crammer_singer(s, y):
    return _hinged(_margins(s, y), y).max(axis=1).mean()


def _wrong_sign(s, y):
    return _hinged(s[np.arange(len(y)), y][:, None] - s + 1.0, y).sum(axis=1).mean()


def _over_c(s, y):
    return _hinged(_margins(s, y), y).sum() / s.shape[1]


def _margin0(s, y):
    return _hinged(_margins(s, y) - 1.0, y).sum(axis=1).mean()


def _over_nc(s, y):
    return _hinged(_margins(s, y), y).sum() / s.size


def _squared(s, y):
    return (_hinged(_margins(s, y), y) ** 2).sum(axis=1).mean()


def _transposed_pick(s, y):
    return _hinged(s - s[y, np.arange(len(y))][:, None] + 1.0, y).sum(axis=1).mean()


VARIANTS = [
    Variant(
        _with_correct,
        "your loss is exactly 1 too large: you also summed the term j = y, which is "
        "max(0, z_y - z_y + 1) = 1 for every example. Skip the correct class (set its "
        "margin to 0).",
    ),
    Variant(
        _summed,
        "your loss is {N} times too large: you summed over the {N} examples; divide "
        "by their number (take the mean).",
    ),
    Variant(
        _no_clamp,
        "you forgot the max(0, .): margins that are already satisfied (z_j - z_y + 1 "
        "< 0) must add 0, not a negative amount.",
    ),
    Variant(
        _crammer_singer,
        "you kept only the largest violation per example (the Crammer-Singer loss); "
        "the Weston-Watkins loss sums max(0, z_j - z_y + 1) over every j != y.",
    ),
    Variant(
        _wrong_sign,
        "your margins have the wrong sign: use z_j - z_y + 1 (a wrong class j scoring "
        "close to or above the correct class y costs), not z_y - z_j + 1.",
    ),
    Variant(
        _over_c,
        "you divided by the number of classes C = {C}; divide by the number of "
        "examples N = {N}.",
    ),
    Variant(
        _margin0,
        "you used a margin of 0, max(0, z_j - z_y): a correct class that merely "
        "wins then costs nothing; this hinge wants it ahead by the margin 1, "
        "max(0, z_j - z_y + 1).",
    ),
    Variant(
        _over_nc,
        "your loss is {C} times too small: you divided by N*C = {NC} (every entry "
        "of the score matrix), but there is one loss per example; divide by N = {N}.",
    ),
    Variant(_squared, "you squared the hinge; this exercise uses max(0, z_j - z_y + 1) itself."),
    Variant(
        _transposed_pick,
        "scores[labels, np.arange(N)] picks the wrong entries; each example's correct "
        "score is scores[np.arange(N), labels].",
    ),
]


def _cases(rng) -> list[Case]:
    def case(name, s, y, dtype="float64"):
        s = np.asarray(s, dtype=dtype)
        y = np.asarray(y, dtype=np.int64)
        return Case(name, (s, y), ref.hinge(s, y), dtype, {"N": s.shape[0], "C": s.shape[1], "NC": s.size})

    sat = rng.normal(size=(3, 4))
    y_sat = rng.integers(0, 4, size=3)
    sat[np.arange(3), y_sat] += 10.0
    vio = rng.normal(size=(3, 4))
    y_vio = rng.integers(0, 4, size=3)
    vio[np.arange(3), y_vio] -= 10.0
    return [
        case("4 examples x 3 classes", rng.normal(size=(4, 3)), rng.integers(0, 3, 4)),
        case("a single example (1 x 5)", rng.normal(size=(1, 5)), [2]),
        case(
            "square batch (4 x 4): the shape cannot reveal the axis",
            rng.normal(size=(4, 4)),
            [1, 3, 0, 2],
        ),
        case("8 examples x 5 classes", 2 * rng.normal(size=(8, 5)), rng.integers(0, 5, 8)),
        case("every margin satisfied (loss 0)", sat, y_sat),
        case("every margin violated", vio, y_vio),
        case("equal scores: the loss is C - 1", np.zeros((3, 4)), [0, 1, 3]),
        case("large scores around 10000", 1e4 + rng.normal(size=(3, 4)), rng.integers(0, 4, 3)),
        case("float32 scores", 3 * rng.normal(size=(4, 5)), rng.integers(0, 5, 4), "float32"),
    ]


def exercise() -> Exercise:
    return Exercise(
        "multiclass hinge loss",
        "fn(scores, labels)",
        _cases(np.random.default_rng(20240604)),
        VARIANTS,
        nonfinite_hint=(
            "your loss is nan or inf; the hinge loss needs no exp, so look for a "
            "division by 0."
        ),
        value_hint=hints.nonnegative_loss("every term max(0, .) is at least 0"),
        shape_hint=hints.scalar_loss_shape,
        exc_hint=hints.pick_exception,
    )


@checker_doc
def check_hinge_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check a mean multiclass SVM (Weston-Watkins) loss, ``fn(scores, labels) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(scores, labels)`` with `scores` of
        shape ``(N, C)`` and int64 `labels` of shape ``(N,)``.  It must return
        the mean over the examples of ``sum over j != y of max(0, z_j - z_y + 1)``
        (margin 1) as a number, and leave its inputs unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        L = \frac{1}{N} \sum_{i=1}^{N} \sum_{j \ne y_i} \max(0,\; s_{ij} - s_{i y_i} + 1)

    Cases: 4 x 3, a single example, a square 4 x 4 batch, 8 x 5, every margin
    satisfied (loss 0), every margin violated, equal scores (loss C - 1),
    scores around 10000 and float32 scores.  Tolerances: ``rtol = 1e-6, atol =
    1e-9`` (float64), ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_hinge_loss
    >>> def hinge(scores, labels):
    ...     n = len(labels)
    ...     correct = scores[np.arange(n), labels][:, None]
    ...     margins = np.maximum(0, scores - correct + 1)
    ...     margins[np.arange(n), labels] = 0
    ...     return margins.sum(axis=1).mean()
    >>> result = check_hinge_loss(hinge)
    multiclass hinge loss: all 9 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_hinge_loss")
