"""Exercise: the backward pass of an InnerProduct layer, (dx, dW, db) (chapter 1)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validation import argument_error
from . import _references as ref
from ._framework import (
    Case,
    CheckResult,
    Exercise,
    Variant,
    checker_doc,
    parts_hint,
    run,
    safe_repr,
)

# --------------------------------------------------------------------------- known mistakes
# Each takes (x, W, dh), h = x W^T + b with W of shape (M, D), and returns one part.


def _dx(x, W, dh):
    return dh @ W


def _dw(x, W, dh):
    return dh.T @ x


PART_VARIANTS = {
    "dx": [
        Variant(lambda x, W, dh: dh @ W.T, "your dx is dh @ W.T; with W of shape (M, D) "
                "(one row per output) it is dx = dh @ W, shape (N, D)"),
        Variant(lambda x, W, dh: -_dx(x, W, dh), "your dx has the wrong sign: dx = dh @ W"),
        Variant(lambda x, W, dh: _dx(x, W, dh) / len(x), "you divided dx by N = {N}; the "
                "backward pass does not average (a mean loss puts its 1/N into dh already)"),
    ],
    "dW": [
        Variant(lambda x, W, dh: x.T @ dh, "your dW is x.T @ dh, the transpose: W has shape "
                "(M, D), one row per output (Caffe's layout), so dW = dh.T @ x"),
        Variant(lambda x, W, dh: _dw(x, W, dh) / len(x), "you divided dW by N = {N}; the "
                "backward pass sums over the examples (a mean loss puts its 1/N into dh "
                "already): dW = dh.T @ x"),
        Variant(lambda x, W, dh: -_dw(x, W, dh), "your dW has the wrong sign: dW = dh.T @ x"),
        Variant(lambda x, W, dh: dh.T @ (x @ W.T), "your dW multiplies dh by the output "
                "x @ W.T; it is dh.T @ x, the top diff times the layer's input"),
    ],
    "db": [
        Variant(lambda x, W, dh: dh.mean(axis=0), "your db is the mean of dh over the "
                "examples; it is the sum, dh.sum(axis=0): every example adds its bias "
                "gradient"),
        Variant(lambda x, W, dh: dh.sum(axis=1), "you summed dh over the outputs (axis 1); "
                "db sums over the examples, dh.sum(axis=0)"),
        Variant(lambda x, W, dh: -dh.sum(axis=0), "your db has the wrong sign: "
                "db = dh.sum(axis=0)"),
    ],
}


def _swapped(x, W, dh):
    dx, dw, db = ref.inner_product_backward(x, W, dh)
    return dw, dx, db


VARIANTS = [
    Variant(_swapped, "you returned (dW, dx, db); the checker wants (dx, dW, db), in that order."),
]


_DB_SHAPE = (
    "db has one entry per output, shape (M,); yours {what}: sum dh over the "
    "examples, db = dh.sum(axis=0)."
)


def _shape_hint(case: Case, named) -> str | None:
    """Shapes named by their letters, so that one mistake reads the same in every case."""
    name, got = named
    n, d, m = case.ctx["N"], case.ctx["D"], case.ctx["M"]
    if name == "dW" and got.shape == (d, m):
        return (
            "your dW has shape (D, M), the transpose of W's (M, D): W holds one row "
            "per output (Caffe's layout), so dW = dh.T @ x."
        )
    if name == "dx" and got.shape == (m, d):
        return "your first array has W's shape (M, D): return (dx, dW, db), in that order."
    if name == "dx" and got.shape == (n, m):
        return "dx has x's shape (N, D), not dh's (N, M): dx = dh @ W."
    what = {(n, m): "has dh's shape (N, M)", (n,): "has one entry per example, (N,)",
            (): "is a single number"}.get(got.shape)
    if name == "db" and what is not None:
        return _DB_SHAPE.format(what=what)
    return None


def _exc_hint(case: Case, exc: BaseException) -> str | None:
    if isinstance(exc, ValueError):
        return (
            "the shapes did not fit: x is (N, D), W is (M, D) and dh is (N, M); "
            "dx = dh @ W is (N, D), dW = dh.T @ x is (M, D) and db = dh.sum(axis=0) "
            "is (M,)."
        )
    return None


def _cases(rng, with_bias: bool) -> list[Case]:
    def case(name, n, d, m, dtype="float64", dh=None):
        x = rng.normal(size=(n, d)).astype(dtype)
        w = rng.normal(size=(m, d)).astype(dtype)
        b = rng.normal(size=m).astype(dtype)
        dh = (rng.normal(size=(n, m)) if dh is None else dh).astype(dtype)
        args = (x, w, b, dh) if with_bias else (x, w, dh)
        ctx = {"N": n, "D": d, "M": m}
        return Case(name, args, ref.inner_product_backward(x, w, dh), dtype, ctx)

    return [
        case("2 examples, 3 inputs -> 4 outputs", 2, 3, 4),
        case("a single example (1 x 5 -> 2)", 1, 5, 2),
        case("a batch of 8 (8 x 6 -> 5)", 8, 6, 5),
        case("square W (3 x 4 -> 4): W.T keeps W's shape", 3, 4, 4),
        case("N = D = M = 3: no shape reveals a transpose", 3, 3, 3),
        case("dh = 1 everywhere: db counts the examples", 5, 2, 3, dh=np.ones((5, 3))),
        case("float32 inputs (4 x 3 -> 2)", 4, 3, 2, "float32"),
    ]


def exercise(with_bias: bool = False) -> Exercise:
    signature = "fn(x, W, b, dh)" if with_bias else "fn(x, W, dh)"
    variants = VARIANTS
    part_variants = PART_VARIANTS
    if with_bias:  # the known mistakes ignore b
        variants = [Variant(_without_b(v.fn), v.hint) for v in VARIANTS]
        part_variants = {k: [Variant(_without_b(v.fn), v.hint) for v in vs]
                         for k, vs in PART_VARIANTS.items()}
    return Exercise(
        "InnerProduct backward",
        signature,
        _cases(np.random.default_rng(20240606), with_bias),
        variants,
        value_hint=parts_hint(part_variants),
        shape_hint=_shape_hint,
        exc_hint=_exc_hint,
        outputs=("dx", "dW", "db"),
        outputs_text="a tuple of three arrays, (dx, dW, db)",
    )


def _without_b(f):
    return lambda x, W, b, dh: f(x, W, dh)


@checker_doc
def check_inner_product_backward(
    fn: Callable, *, bias_argument: bool = False, backend: str | None = None,
    verbose: bool = True,
) -> CheckResult:
    r"""Check the backward pass of ``h = x W^T + b``, ``fn(x, W, dh) -> (dx, dW, db)``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x, W, dh)`` with `x` of shape
        ``(N, D)``, `W` of shape ``(M, D)`` (the layout of
        :class:`softmaxlab.InnerProduct`: one row per output, as in Caffe) and
        the top diff ``dh = dL/dh`` of shape ``(N, M)``.  It must return the tuple
        ``(dx, dW, db)`` of shapes ``(N, D)``, ``(M, D)`` and ``(M,)``, and leave
        its inputs unchanged.
    bias_argument : bool, default False
        Call ``fn(x, W, b, dh)`` instead, with the bias `b` of shape ``(M,)``
        (which the gradients do not depend on).
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    With :math:`h = x W^\top + b` and :math:`\delta = \partial L / \partial h`:

    .. math::

        \frac{\partial L}{\partial x} = \delta W, \qquad
        \frac{\partial L}{\partial W} = \delta^\top x, \qquad
        \frac{\partial L}{\partial b} = \sum_n \delta_n .

    Cases: 2 x 3 -> 4, a single example, a batch of 8, a square W (where
    ``W.T`` has W's shape), N = D = M = 3 (where no shape reveals a transpose),
    a top diff of ones (db = N) and float32 inputs.  Tolerances: ``rtol =
    1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> from softmaxlab.exercises import check_inner_product_backward
    >>> def ip_backward(x, W, dh):
    ...     return dh @ W, dh.T @ x, dh.sum(axis=0)
    >>> result = check_inner_product_backward(ip_backward)
    InnerProduct backward: all 7 cases passed. Well done!
    """
    if not isinstance(bias_argument, (bool, np.bool_)):
        raise argument_error("check_inner_product_backward", "bias_argument",
                             "True or False", safe_repr(bias_argument), TypeError)
    ex = exercise(bool(bias_argument))
    return run(ex, fn, backend, verbose, "check_inner_product_backward")
