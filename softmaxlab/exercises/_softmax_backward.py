"""Exercise: the backward pass of a softmax, dL/dz from p and dL/dp (chapter 2)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _hints as hints
from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run
from ._inputs import row_ctx

# --------------------------------------------------------------------------- known mistakes
# Each takes (p, g), p = softmax(z) by rows and g = dL/dp, and returns a wrong dL/dz.


def _weighted(p, g, axis=-1):
    return (p * g).sum(axis=axis, keepdims=True)


VARIANTS = [
    Variant(
        lambda p, g: p * g,
        "you kept only p * g and left out the second term of the Jacobian "
        "diag(p) - p p^T: subtract each row's p-weighted sum of g first, "
        "p * (g - (p * g).sum(axis=-1, keepdims=True)).",
    ),
    Variant(
        lambda p, g: p * (1 - p) * g,
        "you used only the diagonal of the Jacobian, p (1 - p) g; the off-diagonal "
        "entries -p_i p_j count too: dz = p * (g - (p * g).sum(axis=-1, keepdims=True)).",
    ),
    Variant(
        lambda p, g: p * (g - g.sum(axis=-1, keepdims=True)),
        "you subtracted the plain sum of g; the term is its p-weighted sum, "
        "(p * g).sum(axis=-1, keepdims=True).",
    ),
    Variant(
        lambda p, g: g - _weighted(p, g),
        "you forgot to multiply by p: dz = p * (g - (p * g).sum(axis=-1, keepdims=True)).",
    ),
    Variant(lambda p, g: p * (g - _weighted(p, g, 0)), hints.axis0("weighted sum")),
    Variant(
        lambda p, g: p * (g - (p * g).sum()),
        "you summed p * g over the whole array; each row (one example) has its own "
        "sum: (p * g).sum(axis=-1, keepdims=True).",
    ),
    Variant(lambda p, g: p * (g - (p * g).sum(axis=-1)), hints.KEEPDIMS),
    Variant(
        lambda p, g: -ref.softmax_backward(p, g),
        "your result has the wrong sign: dz = p * (g - (p * g).sum(axis=-1, keepdims=True)).",
    ),
    Variant(
        lambda p, g: ref.softmax_backward(p, g) / (len(p) if np.ndim(p) > 1 else 1),
        "you divided by N = {N}; the softmax backward has no 1/N (a mean loss puts it "
        "into g already).",
    ),
]


_value_hint = hints.rows_sum_to_zero(
    "each row of dz should sum to 0 (the probabilities sum to 1 whatever z, so "
    "a common shift of z changes nothing), but yours sum to {sums}."
)


def _cases(rng) -> list[Case]:
    def case(name, z, g, dtype="float64"):
        p = ref.softmax(z).astype(dtype)
        g = np.asarray(g, dtype=dtype)
        return Case(name, (p, g), ref.softmax_backward(p, g), dtype, row_ctx(p))

    z, y = rng.normal(size=(3, 4)), np.array([2, 0, 3])
    ce_g = -ref.onehot(y, 4) / ref.softmax(z)  # the cross-entropy's dL/dp
    sharp = 8.0 * rng.normal(size=(4, 5))
    return [
        case("2-D batch of 3 rows x 4 classes", rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
        case("1-D input: one example with 5 classes", rng.normal(size=5), rng.normal(size=5)),
        case("square batch (4 x 4): the shape cannot reveal the axis",
             2 * rng.normal(size=(4, 4)), rng.normal(size=(4, 4))),
        case("tall batch (6 rows x 3 classes)", rng.normal(size=(6, 3)), rng.normal(size=(6, 3))),
        case("g = 1 everywhere: dz = 0 (softmax ignores a common shift)",
             rng.normal(size=(2, 4)), np.ones((2, 4))),
        case("g = -onehot / p (the cross-entropy's): dz = p - onehot", z, ce_g),
        case("confident rows (p near one-hot)", sharp, rng.normal(size=(4, 5))),
        case("float32 inputs", rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), "float32"),
    ]


def exercise() -> Exercise:
    return Exercise(
        "softmax backward",
        "fn(p, g)",
        _cases(np.random.default_rng(20240607)),
        VARIANTS,
        value_hint=_value_hint,
        shape_hint=hints.same_shape,
        exc_hint=hints.row_exception,
    )


@checker_doc
def check_softmax_backward(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check the backward pass of a softmax, ``fn(p, g) -> dL/dz``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(p, g)`` with ``p = softmax(z)``
        along the last axis and ``g = dL/dp``, both of shape ``(N, K)`` or
        ``(K,)``.  It must return ``dL/dz`` (the product of the transposed
        Jacobian with `g`, row by row) with the same shape, and leave its inputs
        unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    The Jacobian of a row is :math:`J = \operatorname{diag}(p) - p p^\top`, so

    .. math::

        \frac{\partial L}{\partial z_j} = \sum_i J_{ij}\, g_i
        = p_j \Bigl(g_j - \sum_k p_k g_k\Bigr).

    Cases: a 3 x 4 batch, a 1-D input, a square 4 x 4 batch (where the wrong
    axis keeps the shape), a tall 6 x 3 batch, g = 1 (dz = 0), the
    cross-entropy's g = -onehot / p (dz = p - onehot), confident rows and
    float32 inputs.  Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64),
    ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> from softmaxlab.exercises import check_softmax_backward
    >>> def softmax_backward(p, g):
    ...     return p * (g - (p * g).sum(axis=-1, keepdims=True))
    >>> result = check_softmax_backward(softmax_backward)
    softmax backward: all 8 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_softmax_backward")
