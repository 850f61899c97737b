"""Exercise: the mean cross-entropy of a batch, with optional ignored labels (chapter 3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, checker_doc, run
from ._inputs import NOTHING_KEPT, ce_cases, ignore_value, loss_variants

# --------------------------------------------------------------------------- known mistakes
# Each takes (logits, labels, ignore) and returns the wrong loss it is named for.


def _pick(m, y, ignore):
    kept, safe = ref.mask(y, ignore)
    return m[np.arange(len(safe)), safe], kept


def _mean_picked(m, y, ignore):  # the mean of m[i, y_i] over the kept examples
    v, kept = _pick(m, y, ignore)
    return (v * kept).sum() / kept.sum()


def _summed(x, y, ignore):
    v, kept = _pick(-ref.log_softmax(x), y, ignore)
    return (v * kept).sum()


def _over_nc(x, y, ignore):
    v, kept = _pick(-ref.log_softmax(x), y, ignore)
    return (v * kept).sum() / (kept.sum() * x.shape[-1])


def _all_classes(x, y, ignore):
    kept, _ = ref.mask(y, ignore)
    return (-ref.log_softmax(x) * kept[:, None]).sum() / kept.sum()


def _all_entries(x, y, ignore):
    kept, _ = ref.mask(y, ignore)
    return (-ref.log_softmax(x) * kept[:, None]).sum() / (kept.sum() * x.shape[-1])


def _negated(x, y, ignore):
    return _mean_picked(ref.log_softmax(x), y, ignore)


def _column_index(x, y, ignore):
    return np.mean(-ref.log_softmax(x)[:, y])


def _naive(x, y, ignore):
    e = np.exp(x)
    return _mean_picked(-np.log(e / e.sum(axis=-1, keepdims=True)), y, ignore)


def _log_of_softmax(x, y, ignore):
    e = np.exp(ref.shift(x))
    return _mean_picked(-np.log(e / e.sum(axis=-1, keepdims=True)), y, ignore)


def _axis0(x, y, ignore):
    s = x - x.max(axis=0, keepdims=True)
    lp = s - np.log(np.exp(s).sum(axis=0, keepdims=True))
    return _mean_picked(-lp, y, ignore)


def _bits(x, y, ignore):
    return _mean_picked(-ref.log_softmax(x), y, ignore) / np.log(2)


def _log10(x, y, ignore):
    return _mean_picked(-ref.log_softmax(x), y, ignore) / np.log(10)


def _probs(x, y, ignore):
    return _mean_picked(-np.exp(ref.log_softmax(x)), y, ignore)


def _one_minus_p(x, y, ignore):
    return _mean_picked(1 - np.exp(ref.log_softmax(x)), y, ignore)


_MISTAKES = [
    (
        _summed,
        "your loss is {n_valid} times too large: you summed the losses of the "
        "{n_valid} {per}s; divide by their number (take the mean).",
    ),
    (
        _over_nc,
        "your loss is {C} times too small: you divided by N*C (every entry of the "
        "N x C matrix), but there is one loss per example; divide by N only.",
    ),
    (
        _all_classes,
        "you summed -log p over every class; the loss uses only the correct "
        "class of each example: -log p[i, labels[i]].",
    ),
    (
        _all_entries,
        "you averaged -log p over every entry of the N x C matrix; the loss uses "
        "only the correct class of each example: the mean of -log p[i, labels[i]].",
    ),
    (_negated, "your loss has the wrong sign: the loss is -log p_y (positive), not log p_y."),
    (
        _column_index,
        "logp[:, labels] picks whole columns (an N x N block); pick one entry per "
        "example with logp[np.arange(N), labels].",
    ),
    (_naive, hints.LOG_OVERFLOW),
    (
        _log_of_softmax,
        "you took the log of the softmax: the correct class's probability rounds to "
        "0 here and log(0) = -inf. Use the log-softmax, x - max - "
        "log(sum(exp(x - max))), and pick -logp[i, labels[i]].",
    ),
    (_axis0, hints.axis0("log-softmax in your loss")),
    (_bits, hints.IN_BITS),
    (_log10, hints.IN_LOG10),
    (_probs, "the loss is -log p_y, not -p_y: take the log of the probability."),
    (_one_minus_p, "the loss is -log p_y, not 1 - p_y."),
]

# ignored labels


def _over_n(x, y, ignore):
    v, kept = _pick(-ref.log_softmax(x), y, ignore)
    return (v * kept).sum() / len(y)


def _clipped(x, y, ignore):
    safe = np.clip(y, 0, x.shape[-1] - 1)
    return np.mean(-ref.log_softmax(x)[np.arange(len(y)), safe])


def _wrapped(x, y, ignore):
    return np.mean(-ref.log_softmax(x)[np.arange(len(y)), y % x.shape[-1]])


_AS_CLASS = (
    "the examples labelled {ignore} must be left out of the loss entirely "
    "(keep = labels != {ignore}); yours counts them as a real class."
)
_IGNORE_MISTAKES = [
    (
        _over_n,
        "you left the ignored examples out of the sum but still divided by N = "
        "{N}; divide by the number of kept examples, {n_valid}.",
    ),
    (_clipped, _AS_CLASS),
    (_wrapped, _AS_CLASS),
]


def _value_hint(case: Case, got: np.ndarray) -> str:
    exp = float(case.expected)
    g = float(got)
    ratio = g / exp if exp != 0 else 0.0
    if 1 < ratio < 1e6 and abs(ratio - round(ratio)) < 1e-6 and round(ratio) > 1:
        return (
            f"your loss is {round(ratio)} times too large: average over the "
            f"{case.ctx['n_valid']} {case.ctx['per']}s."
        )
    return hints.nonnegative_loss("-log p is never negative: check the sign")(case, got)


def exercise(ignore) -> Exercise:
    return Exercise(
        "cross-entropy loss",
        "fn(logits, labels)",
        ce_cases(np.random.default_rng(20240603), ignore, ref.cross_entropy),
        loss_variants(_MISTAKES, _IGNORE_MISTAKES, ignore),
        nonfinite_hint=hints.LOG_OVERFLOW,
        value_hint=_value_hint,
        shape_hint=hints.scalar_loss_shape,
        exc_hint=hints.pick_exception,
        nan_hint=NOTHING_KEPT,
    )


@checker_doc
def check_cross_entropy(
    fn: Callable,
    *,
    ignore_index: bool | int = False,
    backend: str | None = None,
    verbose: bool = True,
) -> CheckResult:
    r"""Check a mean cross-entropy loss, ``fn(logits, labels) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(logits, labels)`` with `logits` of
        shape ``(N, C)`` (float) and `labels` of shape ``(N,)`` (int64 class
        indices in ``0 .. C-1``).  It must return the mean over the examples of
        ``-log softmax(logits)[i, labels[i]]`` as a number (a Python float, a 0-d
        array or an array of one element), and leave its inputs unchanged.
    ignore_index : bool or int, default False
        When True (meaning the label -100, as in PyTorch) or an int, two more
        cases are run in which some labels equal that value; the reader's function
        (still called as ``fn(logits, labels)``) must leave those examples out and
        average over the remaining ones.
    {backend_verbose}

    {returns_raises_ignore_index}

    Notes
    -----
    .. math::

        L = \frac{1}{|V|} \sum_{i \in V} -\log \operatorname{softmax}(z_i)_{y_i},
        \qquad V = \{ i : y_i \ne \text{ignore\_index} \}

    (all examples when `ignore_index` is off); when every label of a case is
    ignored, V is empty and L is nan (0/0), as PyTorch returns.  Cases: 4 x 3, a single example,
    a square 4 x 4 batch, 8 x 5, logits around 1000 and 10000, a correct class
    1000 below the others (loss near 1000: ``log(softmax)`` gives inf), float32
    logits up to 100, confident predictions (loss near 0) and equal logits
    (loss ln K).  Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64),
    ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_cross_entropy
    >>> def cross_entropy(logits, labels):
    ...     s = logits - logits.max(axis=1, keepdims=True)
    ...     logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    ...     keep = labels != -100
    ...     picked = logp[np.arange(len(labels)), np.where(keep, labels, 0)]
    ...     return -(picked * keep).sum() / keep.sum()
    >>> result = check_cross_entropy(cross_entropy, ignore_index=True)
    cross-entropy loss: all 12 cases passed. Well done!
    """
    ignore = ignore_value(ignore_index, "check_cross_entropy")
    return run(exercise(ignore), fn, backend, verbose, "check_cross_entropy")
