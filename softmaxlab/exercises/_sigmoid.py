"""Exercise: an elementwise logistic sigmoid, stable for |x| up to 1e4 (chapter 2)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, run

_OVERFLOW = (
    "your result has nan or inf: np.exp overflows for arguments above about 709 "
    "(88 in float32), and exp(x) / (1 + exp(x)) is then inf/inf. Use "
    "1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0, or with "
    "e = np.exp(-np.abs(x)): np.where(x >= 0, 1 / (1 + e), e / (1 + e))."
)


def _exp_ratio(x):
    e = np.exp(x)
    return e / (1 + e)


VARIANTS = [
    Variant(_exp_ratio, _OVERFLOW),
    Variant(
        lambda x: 1 / (1 + np.exp(x)),
        "you computed sigmoid(-x) = 1 / (1 + exp(x)); the sigmoid is 1 / (1 + "
        "exp(-x)), which tends to 1 for large x.",
    ),
    Variant(lambda x: 1 / (1 - np.exp(-x)), "the sigmoid is 1 / (1 + exp(-x)), with a plus sign."),
]


def _shape_hint(case: Case, got: np.ndarray) -> str:
    return (
        f"the sigmoid works elementwise, so the result has the input's shape "
        f"{case.expected.shape}; yours has shape {got.shape}."
    )


def exercise() -> Exercise:
    rng = np.random.default_rng(20240605)

    def case(name, x, dtype="float64"):
        x = np.asarray(x, dtype=dtype)
        return Case(name, (x,), ref.sigmoid(x), dtype, {})

    return Exercise(
        "sigmoid",
        "fn(x)",
        [
            case("moderate values in [-5, 5]", np.linspace(-5.0, 5.0, 7)),
            case("a 2-D input keeps its shape (3 x 4)", 2 * rng.normal(size=(3, 4))),
            case("large positive values up to 10000", [10.0, 100.0, 710.0, 1000.0, 1e4]),
            case("large negative values down to -10000", [-10.0, -100.0, -710.0, -1000.0, -1e4]),
            case("mixed extremes", [[-1e4, -50.0, 0.0], [50.0, 1e4, -0.5]]),
            case(
                "float32 values up to 100",
                [-100.0, -89.0, -20.0, 0.0, 20.0, 89.0, 100.0],
                "float32",
            ),
        ],
        VARIANTS,
        nonfinite_hint=_OVERFLOW,
        shape_hint=_shape_hint,
    )


@checker_doc
def check_sigmoid(fn: Callable, *, backend: str | None = None, verbose: bool = True) -> CheckResult:
    r"""Check an elementwise logistic sigmoid that is stable for ``|x|`` up to 1e4.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x)`` with `x` a 1-D or 2-D float
        array; it must return ``1 / (1 + exp(-x))`` elementwise, with the shape of
        `x`, without nan or inf, and leave `x` unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}} = \frac{e^{x}}{1 + e^{x}}

    The first form is safe for :math:`x \ge 0`, the second for :math:`x < 0`.
    Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4, atol =
    1e-6`` (float32); results below `atol` count as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_sigmoid
    >>> def sigmoid(x):
    ...     e = np.exp(-np.abs(x))
    ...     return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    >>> result = check_sigmoid(sigmoid)
    sigmoid: all 6 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_sigmoid")
