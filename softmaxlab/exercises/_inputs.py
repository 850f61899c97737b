"""Inputs that several exercises share: the softmax-family cases and the loss cases.

The softmax and log-softmax checkers run the same logits; the cross-entropy loss
and gradient checkers run the same logits and labels (drawn from one seed), so
a reader who passes one and fails the other knows the difference is in the new
code.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .._validation import argument_error
from ._framework import Case, Variant, safe_repr
from ._references import mask


def row_ctx(x) -> dict:
    """{N, K, C} of a batch of logits (N = 1 for a 1-D input)."""
    x = np.asarray(x)
    return {"N": x.shape[0] if x.ndim > 1 else 1, "K": x.shape[-1], "C": x.shape[-1]}


def softmax_case(name: str, x, reference, dtype: str = "float64") -> Case:
    x = np.asarray(x, dtype=dtype)
    return Case(name, (x,), reference(x), dtype, row_ctx(x))


def softmax_cases(rng, reference) -> list[Case]:
    """The softmax family's cases: shapes, the axis, overflow, scales, float32."""

    def case(name, x, dtype="float64"):
        return softmax_case(name, x, reference, dtype)

    f = np.array(
        [[0.0, 1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0, 1003.0], [-1000.0, -999.0, -998.0, -996.0]]
    )
    x32 = rng.uniform(-60.0, 60.0, size=(3, 5))
    x32[0, 1], x32[1, 3], x32[2, 0] = 100.0, 95.0, -100.0
    return [
        case("2-D batch of 3 rows x 4 classes", rng.normal(size=(3, 4))),
        case("1-D input: one example with 5 logits", rng.normal(size=5)),
        case("one row as a 2-D input (1 x 4)", rng.normal(size=(1, 4))),
        case("square input (4 x 4): the shape cannot reveal the axis", 2 * rng.normal(size=(4, 4))),
        case("tall input (6 rows x 3 classes)", 3 * rng.normal(size=(6, 3))),
        case("large logits around 1000", 1000.0 + 3 * rng.normal(size=(3, 4))),
        case("very large logits around 10000", 1e4 + 5 * rng.normal(size=(2, 5))),
        case("large negative logits around -1000", -1000.0 + 3 * rng.normal(size=(3, 4))),
        case("rows on very different scales", f),
        case("float32 input with logits up to 100", x32, "float32"),
        case("equal logits give equal outputs", np.full((2, 5), 3.0)),
    ]


# --------------------------------------------------------------------------- losses


def ignore_value(ignore_index, where: str) -> int | None:
    """The label value to ignore (None: off), from the checkers' `ignore_index`."""
    if isinstance(ignore_index, (bool, np.bool_)) or ignore_index is None:
        return -100 if ignore_index else None
    if isinstance(ignore_index, (int, np.integer)):
        return int(ignore_index)
    raise argument_error(
        where, "ignore_index", "False, True (meaning -100) or an int label value",
        safe_repr(ignore_index), TypeError,
    )


def _ce_inputs(rng, ignore: int | None):
    """(name, logits, labels, dtype) tuples shared by the loss and gradient checkers."""

    def labels_for(n, c):
        return rng.integers(0, c, size=n)

    out = []
    x = rng.normal(size=(4, 3))
    out.append(("4 examples x 3 classes", x, labels_for(4, 3), "float64"))
    x = rng.normal(size=(1, 5))
    out.append(("a single example (1 x 5)", x, labels_for(1, 5), "float64"))
    x = 2 * rng.normal(size=(4, 4))
    out.append(
        ("square batch (4 x 4): the shape cannot reveal the axis", x, np.array([0, 2, 1, 3]), "float64")
    )
    x = 2 * rng.normal(size=(8, 5))
    out.append(("8 examples x 5 classes", x, labels_for(8, 5), "float64"))
    x = 1000.0 + 3 * rng.normal(size=(3, 4))
    out.append(("large logits around 1000", x, labels_for(3, 4), "float64"))
    x = 1e4 + 5 * rng.normal(size=(3, 5))
    out.append(("very large logits around 10000", x, labels_for(3, 5), "float64"))
    x = np.array([[0.0, -1000.0, 1.0], [2.0, 0.5, -1000.0], [-1000.0, 3.0, 1.0]])
    out.append(
        ("correct class 1000 below the others", x, np.array([1, 2, 0]), "float64")
    )
    x = rng.uniform(-60.0, 60.0, size=(4, 5))
    x[0, 0], x[1, 2], x[2, 4], x[3, 1] = 100.0, 95.0, -100.0, 90.0
    out.append(("float32 logits up to 100", x, np.array([0, 1, 4, 3]), "float32"))
    y = labels_for(3, 4)
    x = rng.normal(size=(3, 4))
    x[np.arange(3), y] += 40.0
    out.append(("confident correct predictions (loss near 0)", x, y, "float64"))
    out.append(("equal logits: the loss is ln K", np.zeros((3, 10)), np.array([0, 4, 9]), "float64"))
    if ignore is not None:
        out += _ignored_inputs(rng, ignore, labels_for)
    return out


def _ignored_inputs(rng, ignore: int, labels_for) -> list:
    x = rng.normal(size=(6, 4))
    y = labels_for(6, 4)
    y[[1, 4]] = ignore
    some = (f"some labels are {ignore} (ignored)", x, y, "float64")
    x = 2 * rng.normal(size=(5, 3))
    y = labels_for(5, 3)
    y[[0, 1, 3, 4]] = ignore
    return [some, (f"all labels but one are {ignore} (ignored)", x, y, "float64")]


def loss_variants(mistakes: list, ignore_mistakes: list, ignore) -> list[Variant]:
    """Variants from (fn(logits, labels, ignore), hint) tables, the ignored-label ones first."""
    table = (ignore_mistakes if ignore is not None else []) + mistakes
    return [Variant(partial(f, ignore=ignore), hint) for f, hint in table]


def _ce_ctx(logits, labels, ignore) -> dict:
    kept, _ = mask(labels, ignore)
    n, c = np.shape(logits)
    return {
        "N": n,
        "C": c,
        "n_valid": int(kept.sum()),
        "ignore": ignore,
        "NC": n * c,
        "per": "non-ignored example" if ignore is not None and not kept.all() else "example",
    }


NOTHING_KEPT = (
    "every label of this case is {ignore} (ignored), so the mean is over no examples: "
    "0/0 = nan, which is also what PyTorch's cross_entropy returns. Yours returned a "
    "number; divide by the number of kept examples even when it is 0."
)


def ce_cases(rng, ignore, reference, *, nothing_kept=None) -> list[Case]:
    """The loss cases (with two ignored-label cases when `ignore` is set).

    `nothing_kept(logits)`, when given, is a second right answer for a case whose
    labels are all ignored (the reference gives nan there: a mean of nothing).
    """
    cases = []
    for name, x, y, dtype in _ce_inputs(rng, ignore):
        x = np.asarray(x, dtype=dtype)
        y = np.asarray(y, dtype=np.int64)
        ctx = _ce_ctx(x, y, ignore)
        exc_hint = None
        if ignore is not None and ctx["n_valid"] < len(y):
            exc_hint = (
                f"labels equal to {ignore} mark examples to leave out: mask them "
                f"(keep = labels != {ignore}) before indexing, and average over the "
                f"{ctx['n_valid']} kept examples."
            )
        also = (nothing_kept(x),) if nothing_kept and ctx["n_valid"] == 0 else ()
        expected = reference(x, y, ignore)
        cases.append(Case(name, (x, y), expected, dtype, ctx, exc_hint=exc_hint, also=also))
    return cases
