"""Exercise: the gradient of the mean cross-entropy with respect to the logits (chapter 3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, checker_doc, run
from ._inputs import ce_cases, ignore_value, loss_variants

# --------------------------------------------------------------------------- known mistakes
# Each takes (logits, labels, ignore) and returns the wrong gradient it is named for.


def _softmax(x):  # in the input's dtype, as the reader computes it
    e = np.exp(ref.shift(x))
    return e / e.sum(axis=-1, keepdims=True)


def _parts(x, y, ignore):
    kept, safe = ref.mask(y, ignore)
    return kept[:, None], ref.onehot(safe, x.shape[-1]), kept.sum()


def _not_divided(x, y, ignore):
    m, oh, _ = _parts(x, y, ignore)
    return (_softmax(x) - oh) * m


def _wrong_sign(x, y, ignore):
    m, oh, n = _parts(x, y, ignore)
    return (oh - _softmax(x)) * m / n


def _wrong_sign_not_divided(x, y, ignore):
    m, oh, _ = _parts(x, y, ignore)
    return (oh - _softmax(x)) * m


def _probs_only(x, y, ignore):
    m, _, n = _parts(x, y, ignore)
    return _softmax(x) * m / n


def _over_nc(x, y, ignore):
    m, oh, n = _parts(x, y, ignore)
    return (_softmax(x) - oh) * m / (n * x.shape[-1])


def _naive(x, y, ignore):
    m, oh, n = _parts(x, y, ignore)
    e = np.exp(x)
    return (e / e.sum(axis=-1, keepdims=True) - oh) * m / n


def _axis0(x, y, ignore):
    m, oh, n = _parts(x, y, ignore)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True) - oh) * m / n


_MISTAKES = [
    (
        _not_divided,
        "your gradient is {n_valid} times too large: the loss is a mean over "
        "{n_valid} {per}s, so its gradient is (p - onehot) / {n_valid}.",
    ),
    (
        _wrong_sign,
        "your gradient has the wrong sign: the gradient of -log p_y with respect to "
        "the logits is p - onehot, not onehot - p.",
    ),
    (
        _wrong_sign_not_divided,
        "your gradient has the wrong sign and is not divided by the number of "
        "examples: use (p - onehot) / {n_valid}.",
    ),
    (
        _probs_only,
        "you used the probabilities p alone; the gradient is p - onehot (subtract "
        "1 at each example's label), divided by the number of examples.",
    ),
    (
        _over_nc,
        "your gradient is {C} times too small: divide by the number of examples N, "
        "not by N*C.",
    ),
    (_naive, hints.OVERFLOW),
    (_axis0, hints.axis0("softmax in your gradient")),
]

# ignored labels


def _over_n(x, y, ignore):
    m, oh, _ = _parts(x, y, ignore)
    return (_softmax(x) - oh) * m / len(y)


def _rows_kept(x, y, ignore):
    _, oh, n = _parts(x, y, ignore)
    return (_softmax(x) - oh) / n


def _rows_kept_over_n(x, y, ignore):
    _, oh, _ = _parts(x, y, ignore)
    return (_softmax(x) - oh) / len(y)


_ROWS = (
    "the rows of examples labelled {ignore} must be 0: those examples are not "
    "part of the loss. Multiply by keep[:, None] (keep = labels != {ignore}) "
    "and divide by the {n_valid} kept examples."
)
_IGNORE_MISTAKES = [
    (
        _over_n,
        "you zeroed the ignored rows but divided by N = {N}; divide by the "
        "number of kept examples, {n_valid}.",
    ),
    (_rows_kept, _ROWS),
    (_rows_kept_over_n, _ROWS),
]


_value_hint = hints.rows_sum_to_zero(
    "each row of the gradient should sum to 0 (p sums to 1 and so does the "
    "one-hot), but yours sum to {sums}: subtract the one-hot vector of "
    "the label from the softmax of each row."
)


def _shape_hint(case: Case, got: np.ndarray) -> str:
    exp = case.expected.shape
    if got.shape == exp[::-1]:
        return f"your gradient is transposed: expected shape {exp}, got {got.shape}."
    return (
        f"the gradient has one entry per logit, shape {exp} like the logits; yours has "
        f"shape {got.shape}."
    )


def exercise(ignore) -> Exercise:
    rng = np.random.default_rng(20240603)  # the same inputs as the loss checker
    return Exercise(
        "cross-entropy gradient",
        "fn(logits, labels)",
        ce_cases(rng, ignore, ref.cross_entropy_grad, nothing_kept=np.zeros_like),
        loss_variants(_MISTAKES, _IGNORE_MISTAKES, ignore),
        nonfinite_hint=hints.OVERFLOW,
        value_hint=_value_hint,
        shape_hint=_shape_hint,
        exc_hint=hints.pick_exception,
        nan_hint=(
            "every label of this case is {ignore} (ignored): no example is part of "
            "the loss, so every row of the gradient is 0 (PyTorch's answer; nan, the "
            "formula's 0/0, passes too)."
        ),
    )


@checker_doc
def check_cross_entropy_grad(
    fn: Callable,
    *,
    ignore_index: bool | int = False,
    backend: str | None = None,
    verbose: bool = True,
) -> CheckResult:
    r"""Check the gradient of the mean cross-entropy, ``fn(logits, labels) -> dL/dlogits``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(logits, labels)`` with `logits` of
        shape ``(N, C)`` and int64 `labels` of shape ``(N,)``.  It must return
        the gradient of the *mean* loss (see :func:`check_cross_entropy`) with
        respect to `logits`: an array of shape ``(N, C)``, and leave its inputs
        unchanged.
    ignore_index : bool or int, default False
        When True (the label -100) or an int, two more cases have some labels
        equal to that value; their rows of the gradient must be 0 and the others
        divided by the number of kept examples.
    {backend_verbose}

    {returns_raises_ignore_index}

    Notes
    -----
    .. math::

        \frac{\partial L}{\partial z_{ij}} =
        \frac{[i \in V]}{|V|} \bigl(\operatorname{softmax}(z_i)_j - [j = y_i]\bigr)

    When every label of a case is ignored, the mean is over no examples: the
    loss is nan (0/0) and a gradient of nan (the formula's 0/0) or of 0
    (PyTorch's answer) both pass.  The cases are those of
    :func:`check_cross_entropy`.  Tolerances: ``rtol =
    1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_cross_entropy_grad
    >>> def grad(logits, labels):
    ...     e = np.exp(logits - logits.max(axis=1, keepdims=True))
    ...     p = e / e.sum(axis=1, keepdims=True)
    ...     p[np.arange(len(labels)), labels] -= 1
    ...     return p / len(labels)
    >>> result = check_cross_entropy_grad(grad)
    cross-entropy gradient: all 10 cases passed. Well done!
    """
    ignore = ignore_value(ignore_index, "check_cross_entropy_grad")
    return run(exercise(ignore), fn, backend, verbose, "check_cross_entropy_grad")
