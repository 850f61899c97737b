"""Exercise: perplexity and bits per token from a loss in nats (chapter 8)."""

from __future__ import annotations

import math
from collections.abc import Callable

from . import _references as ref
from ._framework import Case, CheckResult, Exercise, Variant, checker_doc, num, parts_hint, run

_SWAPPED = "your pair is swapped: return (perplexity, bits_per_token), the perplexity first."

PART_VARIANTS = {
    "perplexity": [
        Variant(lambda v: 2.0**v, "your perplexity is 2 ** loss, which is the perplexity "
                "only for a loss in bits; the loss is in nats, so the perplexity is exp(loss)"),
        Variant(lambda v: 10.0**v, "your perplexity is 10 ** loss; the loss is in nats, so "
                "the perplexity is exp(loss)"),
        Variant(lambda v: math.exp(-v), "your perplexity is exp(-loss), the geometric mean "
                "of the probabilities; the perplexity is its inverse, exp(loss)"),
        Variant(lambda v: v, "your perplexity is the loss itself; the perplexity is exp(loss)"),
    ],
    "bits_per_token": [
        Variant(lambda v: v / math.log(10), "your bits per token are loss / ln 10 (log10: "
                "digits, not bits); bits are loss / ln 2"),
        Variant(lambda v: v / math.log10(2), "your bits per token are loss / log10(2) = "
                "loss / 0.30103; divide by the natural log of 2 instead, ln 2 = np.log(2) = "
                "0.6931"),
        Variant(lambda v: v * math.log(2), "your bits per token are loss * ln 2; a nat is "
                "1 / ln 2 = 1.4427 bits, so bits are loss / ln 2"),
        Variant(lambda v: math.log2(v) if v > 0 else -math.inf, "your bits per token are "
                "log2(loss); the loss is already a logarithm: bits are loss / ln 2"),
        Variant(lambda v: v, "your bits per token are the loss in nats; bits are loss / ln 2"),
    ],
}
_SAID = {"perplexity": "perplexity is", "bits_per_token": "bits per token are"}


def _off_by(case: Case, name: str, got, expected) -> str:
    return f"your {_SAID[name]} off by {num(abs(float(got) - float(expected)), 4)}"


def exercise() -> Exercise:
    def case(name, loss):
        return Case(name, (loss,), ref.perplexity(loss), "float64", {})

    return Exercise(
        "perplexity and bits",
        "fn(mean_loss_nats)",
        [
            case("ln 1000 = 6.907755 (a uniform guess over 1000 tokens)", math.log(1000)),
            case("ln 2 (a fair coin: perplexity 2, 1 bit)", math.log(2)),
            case("1 nat (perplexity e, 1.4427 bits)", 1.0),
            case("a loss of 0 (perplexity 1, 0 bits)", 0.0),
            case("ln 65 (uniform over Tiny Shakespeare's 65 characters)", math.log(65)),
            case("a character model at 1.5 nats", 1.5),
        ],
        [Variant(lambda v: ref.perplexity(v)[::-1], _SWAPPED)],
        nonfinite_hint="your result has nan or inf; for a finite loss both numbers are finite.",
        value_hint=parts_hint(PART_VARIANTS, _off_by),
        outputs=("perplexity", "bits_per_token"),
        outputs_text="a pair of two numbers, (perplexity, bits_per_token)",
    )


@checker_doc
def check_perplexity(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check perplexity and bits per token, ``fn(mean_loss_nats) -> (perplexity, bits)``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(mean_loss_nats)`` with a Python
        float, the mean cross-entropy per token in nats.  It must return a pair
        ``(perplexity, bits_per_token)`` of numbers (a tuple, a list or an array
        of 2).
    {numbers_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \text{perplexity} = e^{L}, \qquad \text{bits per token} = \frac{L}{\ln 2}

    A uniform guess over V tokens has L = ln V and perplexity V.  Cases: ln 1000,
    ln 2, 1, 0, ln 65 and 1.5.  Tolerances: ``rtol = 1e-6, atol = 1e-9``.

    Examples
    --------
    >>> import math
    >>> from softmaxlab.exercises import check_perplexity
    >>> result = check_perplexity(lambda L: (math.exp(L), L / math.log(2)))
    perplexity and bits: all 6 cases passed. Well done!
    """
    return run(exercise(), fn, backend, verbose, "check_perplexity")
