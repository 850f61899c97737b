r"""Checkers for the book's exercises: run the reader's code on cases that catch mistakes.

Each chapter ends with exercises in which the reader writes a function (a softmax,
a cross-entropy loss, its gradient, ...) and checks it with one call::

    from softmaxlab.exercises import check_softmax
    check_softmax(my_softmax)

A checker calls the reader's function on a fixed series of named cases, each built
to reveal one common mistake: overflow at logits of 1000 or 10000 (``exp``
without subtracting the maximum), underflow to ``log(0) = -inf``, the wrong axis
(non-square inputs *and* a square one, where the shape cannot give it away), a
1-D input, forgetting to divide by the number of examples, the wrong sign of a
gradient, ignored labels, float32 inputs, the wrong shape, NaN or inf, changing
the input array in place, or raising an exception.  For every failed case it
prints the case's name, the expected value, what came back and a hint aimed at
the mistake, found where possible by comparing the answer with known wrong
variants ("your loss is 4 times too large ...").

Every checker returns a :class:`CheckResult`, truthy only when every case passed,
and prints its feedback unless ``verbose=False``.  The printed text is
deterministic (numbers rounded to 4 to 6 significant digits, no timings), so
notebooks can show it under nbval.

Inputs
    The reader's function receives NumPy arrays (float64; float32 in the cases
    named "float32"; labels as int64).  With ``backend="cupy"`` (or when the
    current backend, :func:`softmaxlab.get_backend`, is ``"cupy"``) the inputs are
    created with :func:`softmaxlab.asarray` on that backend instead, so a GPU
    version can be checked; ``backend="array_api_strict"`` is accepted too.
    Results may be NumPy, CuPy or array-API arrays, Python numbers or lists.

Tolerances
    A result passes when it has the expected shape and
    ``|got - expected| <= atol + rtol * |expected|`` holds everywhere, with
    ``rtol = 1e-6, atol = 1e-9`` for float64 cases and ``rtol = 1e-4,
    atol = 1e-6`` for float32 cases.  NaN or inf never passes.  The expected
    values come from a float64 reference inside this module, independent of the
    rest of the package.  A scalar result may be a Python number, a 0-d array or
    an array with one element.  The result's dtype is not checked.

Examples
--------
>>> import numpy as np
>>> from softmaxlab.exercises import check_softmax
>>> def naive_softmax(x):
...     e = np.exp(x)
...     return e / e.sum(axis=-1, keepdims=True)
>>> result = check_softmax(naive_softmax, verbose=False)
>>> bool(result)
False
>>> [case.name for case in result.failed]  # doctest: +NORMALIZE_WHITESPACE
['large logits around 1000', 'very large logits around 10000',
 'large negative logits around -1000', 'rows on very different scales',
 'float32 input with logits up to 100']
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._backend import BACKENDS, asarray, get_backend, to_numpy, use_backend

__all__ = [
    "CheckResult",
    "FailedCase",
    "check_softmax",
    "check_log_softmax",
    "check_cross_entropy",
    "check_cross_entropy_grad",
    "check_hinge_loss",
    "check_sigmoid",
    "check_baseline_loss",
    "check_bigram_loss",
    "check_perplexity",
]

#: (rtol, atol) by dtype of the case's inputs.
TOLERANCES = {"float64": (1e-6, 1e-9), "float32": (1e-4, 1e-6)}

_WRAP = 72  # the book's code column is about 74 characters wide


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FailedCase:
    """One failed case of a checker.

    Attributes
    ----------
    name : str
        The case's name, e.g. ``"large logits around 1000"``.
    expected : numpy.ndarray
        The float64 reference value.
    got : numpy.ndarray or str
        What the reader's function returned, as a NumPy array; a string when it
        raised (``"ValueError: ..."``) or returned something that is not an
        array (``"None"``, ``"a tuple of 2 items"``).
    hint : str
        What probably went wrong, and how to fix it.
    """

    name: str
    expected: np.ndarray
    got: Any
    hint: str

    def describe(self, hint: str | None = None) -> str:
        """The feedback block printed for this case (`hint` replaces its hint)."""
        got = self.got if isinstance(self.got, str) else _fmt(self.got)
        lines = [f"x Case {self.name!r} failed."]
        lines.append(_field("expected", _fmt(self.expected)))
        lines.append(_field("got", got))
        lines.append(
            textwrap.fill(
                self.hint if hint is None else hint,
                width=_WRAP,
                initial_indent="    hint:     ",
                subsequent_indent=" " * 14,
                break_on_hyphens=False,
                break_long_words=False,
            )
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        hint = self.hint if len(self.hint) <= 60 else self.hint[:57] + "..."
        return f"FailedCase({self.name!r}, hint={hint!r})"


@dataclass
class CheckResult:
    """The outcome of a checker: which cases passed, which failed and why.

    Truthy only when every case passed.

    Attributes
    ----------
    exercise : str
        What was checked, e.g. ``"softmax"``.
    passed : list of str
        Names of the cases that passed, in the order they ran.
    failed : list of FailedCase
        The failed cases, each with ``name``, ``expected``, ``got`` and ``hint``.

    Examples
    --------
    >>> from softmaxlab.exercises import check_baseline_loss
    >>> import math
    >>> result = check_baseline_loss(math.log, verbose=False)
    >>> result
    CheckResult('baseline loss ln K', passed=4/4, failed=[])
    >>> bool(result)
    True
    """

    exercise: str
    passed: list[str] = field(default_factory=list)
    failed: list[FailedCase] = field(default_factory=list)

    @property
    def n_cases(self) -> int:
        """How many cases ran."""
        return len(self.passed) + len(self.failed)

    def __bool__(self) -> bool:
        return not self.failed

    @property
    def feedback(self) -> str:
        """The text the checker prints."""
        n = self.n_cases
        if not self.failed:
            return f"{self.exercise}: all {n} cases passed. Well done!"
        head = (
            f"{self.exercise}: {len(self.passed)} of {n} cases passed, "
            f"{len(self.failed)} failed."
        )
        blocks = [head]
        first_with: dict[str, str] = {}
        for f in self.failed:
            if f.hint in first_with:
                blocks.append(f.describe(f"the same mistake as in case {first_with[f.hint]!r}."))
            else:
                first_with[f.hint] = f.name
                blocks.append(f.describe())
        if self.passed:
            blocks.append(
                textwrap.fill(
                    "Passed: " + ", ".join(repr(p) for p in self.passed) + ".",
                    width=_WRAP,
                    subsequent_indent="    ",
                    break_on_hyphens=False,
                    break_long_words=False,
                )
            )
        return "\n\n".join(blocks)

    def __repr__(self) -> str:
        names = [f.name for f in self.failed]
        return (
            f"CheckResult({self.exercise!r}, passed={len(self.passed)}/{self.n_cases}, "
            f"failed={names!r})"
        )


# --------------------------------------------------------------------------- formatting


def _num(v: float, digits: int = 6) -> str:
    v = float(v) + 0.0  # no "-0"
    return f"{v:.{digits}g}"


def _fmt(a: Any) -> str:
    a = np.asarray(a)
    if a.dtype.kind in "fc" and a.ndim == 0:
        return _num(a)
    if a.dtype.kind in "iub" and a.ndim == 0:
        return str(a.item())
    if a.dtype.kind not in "fiub":
        return f"an array of dtype {a.dtype}"
    with np.printoptions(threshold=12, edgeitems=2, linewidth=70):
        return np.array2string(
            a,
            separator=", ",
            formatter={"float_kind": lambda v: _num(v, 4), "int_kind": str},
        )


def _field(label: str, text: str) -> str:
    pad = " " * 14
    first, *rest = text.splitlines() or [""]
    out = [f"    {label + ':':<10}{first}"]
    out += [pad + line for line in rest]
    return "\n".join(out)


# --------------------------------------------------------------------------- references
# Plain float64 NumPy with the max shift, independent of the rest of the package.


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _ref_log_softmax(x) -> np.ndarray:
    x = _f64(x)
    s = x - x.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def _ref_softmax(x) -> np.ndarray:
    x = _f64(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mask(labels, ignore):
    labels = np.asarray(labels)
    mask = np.ones(labels.shape, dtype=bool) if ignore is None else labels != ignore
    safe = np.where(mask, labels, 0)
    return mask, safe


def _ref_cross_entropy(logits, labels, ignore=None) -> np.ndarray:
    mask, safe = _mask(labels, ignore)
    lp = _ref_log_softmax(logits)
    nll = -lp[np.arange(len(safe)), safe]
    return np.asarray((nll * mask).sum() / mask.sum())


def _onehot(labels, n_classes) -> np.ndarray:
    return np.eye(n_classes)[np.asarray(labels)]


def _ref_cross_entropy_grad(logits, labels, ignore=None) -> np.ndarray:
    mask, safe = _mask(labels, ignore)
    p = _ref_softmax(logits)
    g = p - _onehot(safe, p.shape[-1])
    return g * mask[:, None] / mask.sum()


def _ref_hinge(scores, labels) -> np.ndarray:
    s = _f64(scores)
    n = len(labels)
    sy = s[np.arange(n), labels][:, None]
    m = np.maximum(0.0, s - sy + 1.0)
    m[np.arange(n), labels] = 0.0
    return np.asarray(m.sum(axis=1).mean())


def _ref_sigmoid(x) -> np.ndarray:
    x = _f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# --------------------------------------------------------------------------- framework


@dataclass
class _Variant:
    """A known wrong answer: computed on the case's inputs, it names the mistake."""

    fn: Callable[..., Any]
    hint: Any  # str (formatted with the case's ctx) or callable(case, got) -> str


@dataclass
class _Case:
    name: str
    args: tuple
    expected: np.ndarray
    dtype: str = "float64"
    ctx: dict = field(default_factory=dict)
    variants: Sequence[_Variant] = ()
    exc_hint: str | None = None


@dataclass
class _Exercise:
    title: str
    signature: str
    cases: list
    variants: Sequence[_Variant] = ()
    nonfinite_hint: str = "your result contains nan or inf where finite values were expected."
    value_hint: Callable[[_Case, np.ndarray], str] | None = None
    shape_hint: Callable[[_Case, np.ndarray], str | None] | None = None
    exc_hint: Callable[[_Case, BaseException], str | None] | None = None
    pair: str | None = None  # the result is a pair of numbers, e.g. "(a, b)"


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _hint_text(hint, case: _Case, got) -> str:
    if callable(hint):
        return hint(case, got)
    return hint.format_map(_SafeDict(case.ctx))


def _resolve_backend(backend, where: str) -> str:
    if backend is None:
        return "cupy" if get_backend() == "cupy" else "numpy"
    if not isinstance(backend, str) or backend.lower() not in BACKENDS:
        raise ValueError(
            f"{where}: backend must be None or one of "
            f"{', '.join(repr(b) for b in BACKENDS)}; got {backend!r}"
        )
    return backend.lower()


def _to_backend(a, backend: str):
    if not isinstance(a, np.ndarray):
        return a
    if backend == "numpy":
        return a.copy()
    with use_backend(backend):
        return asarray(a.copy())


def _as_numpy(out, pair: bool = False) -> tuple[np.ndarray | None, str]:
    """The reader's result as a NumPy array, or (None, description).

    With `pair`, a tuple or list of two numbers becomes an array of shape (2,).
    """
    if out is None:
        return None, "None"
    if pair and isinstance(out, (tuple, list)) and len(out) == 2:
        parts = [_as_numpy(v)[0] for v in out]
        if all(v is not None and v.size == 1 for v in parts):
            return np.array([float(v.reshape(())) for v in parts]), ""
        return None, f"a {type(out).__name__} of 2 items that are not both numbers"
    if isinstance(out, tuple):
        return None, f"a tuple of {len(out)} items"
    if isinstance(out, dict):
        return None, "a dict"
    try:
        arr = to_numpy(out)
    except Exception:
        return None, f"an object of type {type(out).__name__}"
    if arr.dtype.kind not in "fiub":
        return None, f"an object of type {type(out).__name__} (array dtype {arr.dtype})"
    return arr, ""


def _aligned(got: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """`got` in the expected's shape, or None (a scalar may come back with size 1)."""
    if got.shape == expected.shape:
        return got
    if expected.ndim == 0 and got.size == 1:
        return got.reshape(())
    return None


def _close(got: np.ndarray, expected: np.ndarray, dtype: str, equal_nan=False) -> bool:
    rtol, atol = TOLERANCES[dtype]
    with np.errstate(all="ignore"):
        return bool(
            np.all(np.isclose(_f64(got), _f64(expected), rtol=rtol, atol=atol, equal_nan=equal_nan))
        )


def _quiet_call(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args)


def _diagnose(ex: _Exercise, case: _Case, got: np.ndarray) -> str:
    """A hint for a wrong value of the right shape."""
    for v in list(case.variants) + list(ex.variants):
        try:
            wrong = np.asarray(_quiet_call(v.fn, *case.args))
        except Exception:
            continue
        if wrong.shape != case.expected.shape:
            continue
        if _close(wrong, case.expected, case.dtype, equal_nan=True):
            continue  # this mistake is invisible on this case
        if _close(got, wrong, case.dtype, equal_nan=True):
            return _hint_text(v.hint, case, got)
    if not np.all(np.isfinite(got)):
        return _hint_text(ex.nonfinite_hint, case, got)
    if ex.value_hint is not None:
        return ex.value_hint(case, got)
    return _largest_difference(case, got)


def _largest_difference(case: _Case, got: np.ndarray) -> str:
    diff = np.abs(_f64(got) - case.expected)
    if case.expected.ndim == 0:
        return f"your value is off by {_num(diff, 4)}."
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (
        f"the values differ; the largest difference is {_num(diff[idx], 4)} at index "
        f"{tuple(int(i) for i in idx)} (expected {_num(case.expected[idx])}, "
        f"got {_num(_f64(got)[idx])})."
    )


_MUTATION_HINT = (
    "your function changed its input array in place (for example with x -= ..., "
    "x /= ..., np.exp(x, out=x) or an assignment like x[...] = ...), so the caller's "
    "array is now different. Build new arrays instead: x = x - m rather than "
    "x -= m, and np.where(...) rather than assigning into x[...]."
)


def _run_case(ex: _Exercise, case: _Case, fn, backend: str) -> FailedCase | None:
    originals = [a.copy() if isinstance(a, np.ndarray) else None for a in case.args]
    args = [_to_backend(a, backend) for a in case.args]
    try:
        out = _quiet_call(fn, *args)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        if len(msg) > 200:
            msg = msg[:197] + "..."
        hint = None
        if case.exc_hint is not None:
            hint = case.exc_hint
        elif ex.exc_hint is not None:
            hint = ex.exc_hint(case, exc)
        if hint is None and isinstance(exc, TypeError) and "argument" in str(exc):
            hint = f"the checker calls your function as {ex.signature}; check its parameters."
        if hint is None:
            hint = (
                "your function raised an exception on this input; read the message "
                "above and try the case's input yourself."
            )
        return FailedCase(case.name, case.expected, msg, hint)

    mutated = False
    for orig, a in zip(originals, args):
        if orig is None:
            continue
        try:
            after = to_numpy(a)
        except Exception:  # pragma: no cover - defensive
            continue
        if after.shape != orig.shape or not np.array_equal(after, orig, equal_nan=True):
            mutated = True

    got, description = _as_numpy(out, ex.pair is not None)
    if got is None:
        if ex.pair:
            hint = (
                f"return a pair of two numbers, {ex.pair}; the checker calls "
                f"{ex.signature}."
            )
        elif description.startswith("a tuple"):
            hint = (
                f"return a single array (or number), not a tuple; the checker calls "
                f"{ex.signature}."
            )
        elif description == "None":
            hint = "your function returned None: did you forget the return statement?"
        else:
            hint = f"return a NumPy array or a number; the checker calls {ex.signature}."
        return FailedCase(case.name, case.expected, description, hint)

    aligned = None if ex.pair is not None and got.ndim != 1 else _aligned(got, case.expected)
    if aligned is None:
        hint = ex.shape_hint(case, got) if ex.shape_hint is not None else None
        if hint is None:
            hint = (
                f"expected a result of shape {case.expected.shape}, got shape "
                f"{got.shape}."
            )
        return FailedCase(case.name, case.expected, got, hint)

    ok = _close(aligned, case.expected, case.dtype) and bool(np.all(np.isfinite(aligned)))
    if ok and not mutated:
        return None
    hints = []
    if mutated:
        hints.append(_MUTATION_HINT)
    if not ok:
        hints.append(_diagnose(ex, case, aligned))
    hint = " ".join(h[0].upper() + h[1:] if i else h for i, h in enumerate(hints))
    return FailedCase(case.name, case.expected, aligned, hint)


def _run(ex: _Exercise, fn, backend, verbose: bool, where: str) -> CheckResult:
    if not callable(fn):
        raise TypeError(
            f"{where}: fn must be a function to check, called as {ex.signature}; "
            f"got {type(fn).__name__}"
        )
    backend = _resolve_backend(backend, where)
    result = CheckResult(ex.title)
    for case in ex.cases:
        failure = _run_case(ex, case, fn, backend)
        if failure is None:
            result.passed.append(case.name)
        else:
            result.failed.append(failure)
    if verbose:
        print(result.feedback)
    return result


def _ctx(x) -> dict:
    x = np.asarray(x)
    return {"N": x.shape[0] if x.ndim > 1 else 1, "K": x.shape[-1], "C": x.shape[-1]}


# --------------------------------------------------------------------------- docstrings
# The checkers share their `backend`/`verbose` parameters and their Returns and Raises
# sections.  A checker's docstring names a shared section by a line of its own, such as
# "{returns_raises}", and @_checker_doc puts the section's text there (indented to match).


def _returns_raises(type_error: str) -> str:
    return f"""Returns
-------
CheckResult
    Truthy when all cases passed.

Raises
------
TypeError
    {type_error}
ValueError
    If `backend` is not a known backend."""


_DOC_SECTIONS = {
    "backend_verbose": """backend : {None, "numpy", "cupy", "array_api_strict"}, optional
    Where the inputs are created (None: NumPy, or CuPy when the current
    backend is ``"cupy"``).
verbose : bool, default True
    Print the feedback.""",
    "returns_raises": _returns_raises("If `fn` is not callable."),
    "returns_raises_ignore_index": _returns_raises(
        "If `fn` is not callable or `ignore_index` is not a bool or an int."
    ),
}
_DOC_PLACEHOLDER = re.compile(r"^( *)\{(\w+)\}$", re.MULTILINE)


def _checker_doc(fn: Callable) -> Callable:
    """Fill the shared sections into `fn`'s docstring (kept as None under ``python -OO``)."""
    if fn.__doc__ is not None:
        fn.__doc__ = _DOC_PLACEHOLDER.sub(
            lambda m: textwrap.indent(_DOC_SECTIONS[m.group(2)], m.group(1)), fn.__doc__
        )
    return fn


# --------------------------------------------------------------------------- softmax

_OVERFLOW_HINT = (
    "your result has nan or inf: np.exp overflows to inf for logits above about 709 "
    "in float64 (88 in float32) and underflows to 0 for large negative ones, so "
    "exp(x) / sum(exp(x)) becomes inf/inf or 0/0. Subtract each row's maximum "
    "before exp: e = np.exp(x - x.max(axis=-1, keepdims=True)); the result does "
    "not change, because softmax(x - c) = softmax(x)."
)
_GLOBAL_MAX_HINT = (
    "you subtracted the maximum of the whole array, not of each row: rows far below "
    "that maximum underflow to exp(...) = 0, giving 0/0. Use x.max(axis=-1, "
    "keepdims=True)."
)


def _axis0_hint(kind: str):
    def hint(case: _Case, got):
        msg = (
            f"you computed the {kind} over axis 0 (down the columns) instead of along "
            "the last axis (each row is one example)."
        )
        if kind == "softmax":
            sums = got.sum(axis=-1)
            msg += f" The rows of your result sum to {_fmt(sums)}, not 1."
        return msg + " Use axis=-1 with keepdims=True."

    return hint


_KEEPDIMS_HINT = (
    "divide each row by its own sum: x.sum(axis=-1) has shape (N,), which broadcasts "
    "against the columns, not the rows. Use x.sum(axis=-1, keepdims=True) (shape "
    "(N, 1))."
)


def _softmax_value_hint(case: _Case, got: np.ndarray) -> str:
    sums = got.sum(axis=-1)
    if np.any(got < 0):
        return "your result has negative entries, but probabilities are never negative."
    if not np.allclose(sums, 1.0, rtol=1e-4):
        msg = f"the rows of your result sum to {_fmt(sums)}, not 1"
        if got.ndim == 2 and np.allclose(got.sum(axis=0), 1.0, rtol=1e-4):
            msg += ", while its columns sum to 1: did you normalise over axis 0?"
        else:
            msg += ": divide exp(x - max) by its sum along the last axis."
        return msg
    return _largest_difference(case, got)


def _softmax_exc_hint(case: _Case, exc: BaseException) -> str | None:
    if "broadcast" in str(exc):
        return (
            "the shapes did not broadcast: a row sum taken with x.sum(axis=-1) has "
            "shape (N,); keep the reduced axis with keepdims=True (shape (N, 1)) so "
            "each row is divided by its own sum."
        )
    if isinstance(exc, (IndexError, np.exceptions.AxisError)) and np.ndim(case.args[0]) == 1:
        return (
            "this input is 1-D (a single example with K logits); use axis=-1 rather "
            "than axis=1 so both 1-D and 2-D inputs work."
        )
    return None


def _same_shape_hint(case: _Case, got: np.ndarray) -> str:
    exp = case.expected.shape
    if got.shape == exp[::-1]:
        return f"your result is transposed: expected shape {exp}, got {got.shape}."
    if got.size == case.expected.size:
        return (
            f"expected shape {exp} (the input's shape), got {got.shape}: keep the input's "
            "shape (a 1-D input gives a 1-D result)."
        )
    return (
        f"expected shape {exp} (the input's shape), got {got.shape}: return one value "
        "per logit, computed along the last axis."
    )


def _shift(x):
    return x - x.max(axis=-1, keepdims=True)


def _softmax_case(name: str, x, reference, dtype: str = "float64") -> _Case:
    x = np.asarray(x, dtype=dtype)
    return _Case(name, (x,), reference(x), dtype, _ctx(x))


def _softmax_cases(rng, reference) -> list[_Case]:
    def case(name, x, dtype="float64"):
        return _softmax_case(name, x, reference, dtype)

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


def _softmax_exercise() -> _Exercise:
    rng = np.random.default_rng(20240601)

    def naive(x):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)

    def global_max(x):
        e = np.exp(x - x.max())
        return e / e.sum(axis=-1, keepdims=True)

    def axis0(x):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def sum0(x):
        e = np.exp(_shift(x))
        return e / e.sum(axis=0, keepdims=True)

    def no_keepdims(x):
        e = np.exp(_shift(x))
        return e / e.sum(axis=-1)

    def whole(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def unnormalised(x):
        return np.exp(_shift(x))

    def log_instead(x):
        return _ref_log_softmax(x)

    variants = [
        _Variant(naive, _OVERFLOW_HINT),
        _Variant(global_max, _GLOBAL_MAX_HINT),
        _Variant(axis0, _axis0_hint("softmax")),
        _Variant(sum0, _axis0_hint("softmax")),
        _Variant(no_keepdims, _KEEPDIMS_HINT),
        _Variant(
            whole,
            "you divided by the sum over the whole array: normalise each row by its own "
            "sum, x.sum(axis=-1, keepdims=True), so every row sums to 1.",
        ),
        _Variant(
            unnormalised,
            "you returned exp(x - max) without dividing by its row sum; softmax divides "
            "so that every row sums to 1.",
        ),
        _Variant(log_instead, "you returned the log-softmax; softmax is its exp."),
    ]
    return _Exercise(
        "softmax",
        "fn(x)",
        _softmax_cases(rng, _ref_softmax),
        variants,
        nonfinite_hint=_OVERFLOW_HINT,
        value_hint=_softmax_value_hint,
        shape_hint=_same_shape_hint,
        exc_hint=_softmax_exc_hint,
    )


@_checker_doc
def check_softmax(fn: Callable, *, backend: str | None = None, verbose: bool = True) -> CheckResult:
    r"""Check a softmax along the last axis, ``fn(x) -> softmax(x)``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x)`` with `x` of shape ``(N, K)``
        (N examples, K logits each) or ``(K,)``.  It must return an array of the
        same shape whose rows (along the last axis) are the softmax of the rows of
        `x`, and leave `x` unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \operatorname{softmax}(x)_j = \frac{e^{x_j - m}}{\sum_k e^{x_k - m}},
        \qquad m = \max_k x_k .

    Cases: a 3 x 4 batch, a 1-D input, a 1 x 4 row, a square 4 x 4 input (where
    the wrong axis keeps the right shape), a tall 6 x 3 input, logits around
    1000, 10000 and -1000, rows on very different scales (catches a global
    maximum), float32 logits up to 100 and equal logits.  Tolerances: ``rtol =
    1e-6, atol = 1e-9`` (float64), ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_softmax
    >>> def softmax(x):
    ...     e = np.exp(x - x.max(axis=-1, keepdims=True))
    ...     return e / e.sum(axis=-1, keepdims=True)
    >>> result = check_softmax(softmax)
    softmax: all 11 cases passed. Well done!
    >>> bool(result)
    True
    """
    return _run(_softmax_exercise(), fn, backend, verbose, "check_softmax")


# --------------------------------------------------------------------------- log-softmax

_LOG_OVERFLOW_HINT = (
    "your result has nan or inf. Two usual causes: np.exp overflows for logits above "
    "about 709 (88 in float32), and log(softmax(x)) underflows to log(0) = -inf when "
    "a logit is far below the largest one. Compute it in one step, shifted by the "
    "row maximum: s = x - x.max(axis=-1, keepdims=True); "
    "s - np.log(np.exp(s).sum(axis=-1, keepdims=True))."
)


def _log_softmax_value_hint(case: _Case, got: np.ndarray) -> str:
    if np.any(got > 1e-6):
        return (
            "your result has positive entries, but log-probabilities are never above 0 "
            "(log p <= 0 because p <= 1)."
        )
    sums = np.exp(got).sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=1e-4):
        return (
            f"exp of your rows sums to {_fmt(sums)}, not 1: subtract "
            "log(sum(exp(x - max))) along the last axis (keepdims=True)."
        )
    return _largest_difference(case, got)


def _log_softmax_exercise() -> _Exercise:
    rng = np.random.default_rng(20240602)

    def naive(x):
        e = np.exp(x)
        return np.log(e / e.sum(axis=-1, keepdims=True))

    def log_of_softmax(x):
        s = np.exp(_shift(x))
        return np.log(s / s.sum(axis=-1, keepdims=True))

    def naive_lse(x):
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))

    def only_shift(x):
        return _shift(x)

    def global_max(x):
        s = x - x.max()
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))

    def axis0(x):
        s = x - x.max(axis=0, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=0, keepdims=True))

    def no_keepdims(x):
        s = _shift(x)
        return s - np.log(np.exp(s).sum(axis=-1))

    def softmax_instead(x):
        return _ref_softmax(x)

    def negated(x):
        return -_ref_log_softmax(x)

    variants = [
        _Variant(naive, _LOG_OVERFLOW_HINT),
        _Variant(
            log_of_softmax,
            "you took the log of the softmax: a probability that rounds to 0 gives "
            "log(0) = -inf. Compute the log-softmax directly, x - max - "
            "log(sum(exp(x - max))), which never takes the log of a tiny number.",
        ),
        _Variant(
            naive_lse,
            "your log-sum-exp overflowed: log(sum(exp(x))) is inf when a logit is "
            "above about 709. Shift by the row maximum inside it: logsumexp(x) = m + "
            "log(sum(exp(x - m))) with m = x.max(axis=-1, keepdims=True).",
        ),
        _Variant(
            only_shift,
            "you subtracted the row maximum but not log(sum(exp(x - max))); the "
            "log-softmax is x - max - log(sum(exp(x - max))).",
        ),
        _Variant(global_max, _GLOBAL_MAX_HINT),
        _Variant(axis0, _axis0_hint("log-softmax")),
        _Variant(no_keepdims, _KEEPDIMS_HINT),
        _Variant(softmax_instead, "you returned the softmax; log-softmax is its log."),
        _Variant(
            negated,
            "your result has the wrong sign: you returned -log p (the per-class loss); "
            "log-softmax values are log p <= 0.",
        ),
    ]
    cases = _softmax_cases(rng, _ref_log_softmax)
    cases.insert(
        9,
        _softmax_case(
            "one logit far below the others (log p near -1000)",
            [[0.0, -1000.0, 1.0], [5.0, 5.0, -800.0]],
            _ref_log_softmax,
        ),
    )
    return _Exercise(
        "log-softmax",
        "fn(x)",
        cases,
        variants,
        nonfinite_hint=_LOG_OVERFLOW_HINT,
        value_hint=_log_softmax_value_hint,
        shape_hint=_same_shape_hint,
        exc_hint=_softmax_exc_hint,
    )


@_checker_doc
def check_log_softmax(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check a log-softmax along the last axis, ``fn(x) -> log(softmax(x))``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(x)`` with `x` of shape ``(N, K)``
        or ``(K,)``; it must return an array of the same shape and leave `x`
        unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    .. math::

        \log \operatorname{softmax}(x)_j = (x_j - m) - \log \sum_k e^{x_k - m},
        \qquad m = \max_k x_k .

    The cases are those of :func:`check_softmax` plus one with a logit 1000 below
    the others, where ``log(softmax(x))`` gives ``log(0) = -inf`` but the answer
    is a finite -1000.  Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64),
    ``rtol = 1e-4, atol = 1e-6`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_log_softmax
    >>> def log_softmax(x):
    ...     s = x - x.max(axis=-1, keepdims=True)
    ...     return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    >>> result = check_log_softmax(log_softmax)
    log-softmax: all 12 cases passed. Well done!
    """
    return _run(_log_softmax_exercise(), fn, backend, verbose, "check_log_softmax")


# --------------------------------------------------------------------------- cross-entropy


def _ignore_value(ignore_index, where: str) -> int | None:
    if ignore_index is None or ignore_index is False:
        return None
    if ignore_index is True:
        return -100
    if isinstance(ignore_index, (int, np.integer)):
        return int(ignore_index)
    raise TypeError(
        f"{where}: ignore_index must be False, True (meaning -100) or an int label "
        f"value; got {ignore_index!r}"
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
    out.append(("equal logits: the loss is ln C", np.zeros((3, 10)), np.array([0, 4, 9]), "float64"))
    if ignore is not None:
        x = rng.normal(size=(6, 4))
        y = labels_for(6, 4)
        y[[1, 4]] = ignore
        out.append((f"some labels are {ignore} (ignored)", x, y, "float64"))
        x = 2 * rng.normal(size=(5, 3))
        y = labels_for(5, 3)
        y[[0, 1, 3, 4]] = ignore
        out.append((f"all labels but one are {ignore} (ignored)", x, y, "float64"))
    return out


def _ce_ctx(logits, labels, ignore) -> dict:
    mask, _ = _mask(labels, ignore)
    n, c = np.shape(logits)
    return {
        "N": n,
        "C": c,
        "n_valid": int(mask.sum()),
        "ignore": ignore,
        "NC": n * c,
        "per": "non-ignored example" if ignore is not None and not mask.all() else "example",
    }


def _ce_cases(rng, ignore, reference) -> list[_Case]:
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
        cases.append(_Case(name, (x, y), reference(x, y, ignore), dtype, ctx, exc_hint=exc_hint))
    return cases


def _stable_lp(x):
    s = _shift(x)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def _pick(m, y, ignore):
    mask, safe = _mask(y, ignore)
    return m[np.arange(len(safe)), safe], mask


def _ce_exc_hint(case: _Case, exc: BaseException) -> str | None:
    if isinstance(exc, IndexError):
        return (
            "pick each example's correct-class entry with both indices: "
            "logp[np.arange(N), labels]."
        )
    return None


def _ce_shape_hint(case: _Case, got: np.ndarray) -> str | None:
    n = case.ctx["N"]
    if got.shape == (n,):
        return (
            f"you returned one loss per example (shape {got.shape}); the loss is their "
            "mean, a single number."
        )
    return f"the loss is a single number (shape ()), but your result has shape {got.shape}."


def _ce_value_hint(case: _Case, got: np.ndarray) -> str:
    exp = float(case.expected)
    g = float(got)
    if exp != 0 and g != 0 and abs(g / exp - round(g / exp)) < 1e-6 and round(g / exp) > 1:
        return (
            f"your loss is {round(g / exp)} times too large: average over the "
            f"{case.ctx['n_valid']} {case.ctx['per']}s."
        )
    if g < 0:
        return "your loss is negative, but -log p is never negative: check the sign."
    return _loss_off_by(case, got)


def _loss_off_by(case: _Case, got: np.ndarray) -> str:
    return f"your loss is off by {_num(abs(float(got) - float(case.expected)), 4)}."


def _ce_variants(ignore) -> list[_Variant]:
    def mean_picked(m, y):  # the mean of m[i, y_i] over the kept examples
        v, mask = _pick(m, y, ignore)
        return (v * mask).sum() / mask.sum()

    def summed(x, y):
        v, mask = _pick(-_stable_lp(x), y, ignore)
        return (v * mask).sum()

    def over_nc(x, y):
        v, mask = _pick(-_stable_lp(x), y, ignore)
        return (v * mask).sum() / (mask.sum() * x.shape[-1])

    def all_classes(x, y):
        mask, _ = _mask(y, ignore)
        return (-_stable_lp(x) * mask[:, None]).sum() / mask.sum()

    def all_entries(x, y):
        mask, _ = _mask(y, ignore)
        return (-_stable_lp(x) * mask[:, None]).sum() / (mask.sum() * x.shape[-1])

    def negated(x, y):
        return mean_picked(_stable_lp(x), y)

    def column_index(x, y):
        return np.mean(-_stable_lp(x)[:, y])

    def naive(x, y):
        e = np.exp(x)
        return mean_picked(-np.log(e / e.sum(axis=-1, keepdims=True)), y)

    def log_of_softmax(x, y):
        e = np.exp(_shift(x))
        return mean_picked(-np.log(e / e.sum(axis=-1, keepdims=True)), y)

    def axis0(x, y):
        s = x - x.max(axis=0, keepdims=True)
        lp = s - np.log(np.exp(s).sum(axis=0, keepdims=True))
        return mean_picked(-lp, y)

    def probs(x, y):
        return mean_picked(-np.exp(_stable_lp(x)), y)

    def one_minus_p(x, y):
        return mean_picked(1 - np.exp(_stable_lp(x)), y)

    variants = [
        _Variant(
            summed,
            "your loss is {n_valid} times too large: you summed the losses of the "
            "{n_valid} {per}s; divide by their number (take the mean).",
        ),
        _Variant(
            over_nc,
            "your loss is {C} times too small: you divided by N*C (every entry of the "
            "N x C matrix), but there is one loss per example; divide by N only.",
        ),
        _Variant(
            all_classes,
            "you summed -log p over every class; the loss uses only the correct "
            "class of each example: -log p[i, labels[i]].",
        ),
        _Variant(
            all_entries,
            "you averaged -log p over every entry of the N x C matrix; the loss uses "
            "only the correct class of each example: the mean of -log p[i, labels[i]].",
        ),
        _Variant(
            negated,
            "your loss has the wrong sign: the loss is -log p_y (positive), not log p_y.",
        ),
        _Variant(
            column_index,
            "logp[:, labels] picks whole columns (an N x N block); pick one entry per "
            "example with logp[np.arange(N), labels].",
        ),
        _Variant(naive, _LOG_OVERFLOW_HINT),
        _Variant(
            log_of_softmax,
            "you took the log of the softmax: the correct class's probability rounds to "
            "0 here and log(0) = -inf. Use the log-softmax, x - max - "
            "log(sum(exp(x - max))), and pick -logp[i, labels[i]].",
        ),
        _Variant(axis0, _axis0_hint("log-softmax in your loss")),
        _Variant(probs, "the loss is -log p_y, not -p_y: take the log of the probability."),
        _Variant(one_minus_p, "the loss is -log p_y, not 1 - p_y."),
    ]
    if ignore is not None:

        def over_n(x, y):
            v, mask = _pick(-_stable_lp(x), y, ignore)
            return (v * mask).sum() / len(y)

        def clipped(x, y):
            safe = np.clip(y, 0, x.shape[-1] - 1)
            return np.mean(-_stable_lp(x)[np.arange(len(y)), safe])

        def wrapped(x, y):
            return np.mean(-_stable_lp(x)[np.arange(len(y)), y % x.shape[-1]])

        hint_as_class = (
            "the examples labelled {ignore} must be left out of the loss entirely "
            "(keep = labels != {ignore}); yours counts them as a real class."
        )
        variants[:0] = [
            _Variant(
                over_n,
                "you left the ignored examples out of the sum but still divided by N = "
                "{N}; divide by the number of kept examples, {n_valid}.",
            ),
            _Variant(clipped, hint_as_class),
            _Variant(wrapped, hint_as_class),
        ]
    return variants


def _ce_exercise(ignore) -> _Exercise:
    rng = np.random.default_rng(20240603)
    return _Exercise(
        "cross-entropy loss",
        "fn(logits, labels)",
        _ce_cases(rng, ignore, _ref_cross_entropy),
        _ce_variants(ignore),
        nonfinite_hint=_LOG_OVERFLOW_HINT,
        value_hint=_ce_value_hint,
        shape_hint=_ce_shape_hint,
        exc_hint=_ce_exc_hint,
    )


@_checker_doc
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

    (all examples when `ignore_index` is off).  Cases: 4 x 3, a single example,
    a square 4 x 4 batch, 8 x 5, logits around 1000 and 10000, a correct class
    1000 below the others (loss near 1000: ``log(softmax)`` gives inf), float32
    logits up to 100, confident predictions (loss near 0) and equal logits
    (loss ln C).  Tolerances: ``rtol = 1e-6, atol = 1e-9`` (float64),
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
    ignore = _ignore_value(ignore_index, "check_cross_entropy")
    return _run(_ce_exercise(ignore), fn, backend, verbose, "check_cross_entropy")


# --------------------------------------------------------------------------- gradient


def _grad_value_hint(case: _Case, got: np.ndarray) -> str:
    rows = got.sum(axis=-1)
    if not np.allclose(rows, 0.0, atol=1e-6):
        return (
            f"each row of the gradient should sum to 0 (p sums to 1 and so does the "
            f"one-hot), but yours sum to {_fmt(rows)}: subtract the one-hot vector of "
            "the label from the softmax of each row."
        )
    return _largest_difference(case, got)


def _grad_shape_hint(case: _Case, got: np.ndarray) -> str:
    exp = case.expected.shape
    if got.shape == exp[::-1]:
        return f"your gradient is transposed: expected shape {exp}, got {got.shape}."
    return (
        f"the gradient has one entry per logit, shape {exp} like the logits; yours has "
        f"shape {got.shape}."
    )


def _grad_variants(ignore) -> list[_Variant]:
    def softmax(x):
        e = np.exp(_shift(x))
        return e / e.sum(axis=-1, keepdims=True)

    def parts(x, y):
        mask, safe = _mask(y, ignore)
        return mask[:, None], _onehot(safe, x.shape[-1]), mask.sum()

    def not_divided(x, y):
        m, oh, _ = parts(x, y)
        return (softmax(x) - oh) * m

    def wrong_sign(x, y):
        m, oh, n = parts(x, y)
        return (oh - softmax(x)) * m / n

    def wrong_sign_not_divided(x, y):
        m, oh, _ = parts(x, y)
        return (oh - softmax(x)) * m

    def probs_only(x, y):
        m, _, n = parts(x, y)
        return softmax(x) * m / n

    def over_nc(x, y):
        m, oh, n = parts(x, y)
        return (softmax(x) - oh) * m / (n * x.shape[-1])

    def naive(x, y):
        m, oh, n = parts(x, y)
        e = np.exp(x)
        return (e / e.sum(axis=-1, keepdims=True) - oh) * m / n

    def axis0(x, y):
        m, oh, n = parts(x, y)
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return (e / e.sum(axis=0, keepdims=True) - oh) * m / n

    variants = [
        _Variant(
            not_divided,
            "your gradient is {n_valid} times too large: the loss is a mean over "
            "{n_valid} {per}s, so its gradient is (p - onehot) / {n_valid}.",
        ),
        _Variant(
            wrong_sign,
            "your gradient has the wrong sign: the gradient of -log p_y with respect to "
            "the logits is p - onehot, not onehot - p.",
        ),
        _Variant(
            wrong_sign_not_divided,
            "your gradient has the wrong sign and is not divided by the number of "
            "examples: use (p - onehot) / {n_valid}.",
        ),
        _Variant(
            probs_only,
            "you used the probabilities p alone; the gradient is p - onehot (subtract "
            "1 at each example's label), divided by the number of examples.",
        ),
        _Variant(
            over_nc,
            "your gradient is {C} times too small: divide by the number of examples N, "
            "not by N*C.",
        ),
        _Variant(naive, _OVERFLOW_HINT),
        _Variant(axis0, _axis0_hint("softmax in your gradient")),
    ]
    if ignore is not None:

        def over_n(x, y):
            m, oh, _ = parts(x, y)
            return (softmax(x) - oh) * m / len(y)

        def rows_kept(x, y):
            _, oh, n = parts(x, y)
            return (softmax(x) - oh) / n

        def rows_kept_over_n(x, y):
            _, oh, _ = parts(x, y)
            return (softmax(x) - oh) / len(y)

        hint_rows = (
            "the rows of examples labelled {ignore} must be 0: those examples are not "
            "part of the loss. Multiply by keep[:, None] (keep = labels != {ignore}) "
            "and divide by the {n_valid} kept examples."
        )
        variants[:0] = [
            _Variant(
                over_n,
                "you zeroed the ignored rows but divided by N = {N}; divide by the "
                "number of kept examples, {n_valid}.",
            ),
            _Variant(rows_kept, hint_rows),
            _Variant(rows_kept_over_n, hint_rows),
        ]
    return variants


def _grad_exercise(ignore) -> _Exercise:
    rng = np.random.default_rng(20240603)  # the same inputs as the loss checker
    return _Exercise(
        "cross-entropy gradient",
        "fn(logits, labels)",
        _ce_cases(rng, ignore, _ref_cross_entropy_grad),
        _grad_variants(ignore),
        nonfinite_hint=_OVERFLOW_HINT,
        value_hint=_grad_value_hint,
        shape_hint=_grad_shape_hint,
        exc_hint=_ce_exc_hint,
    )


@_checker_doc
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

    The cases are those of :func:`check_cross_entropy`.  Tolerances: ``rtol =
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
    ignore = _ignore_value(ignore_index, "check_cross_entropy_grad")
    return _run(_grad_exercise(ignore), fn, backend, verbose, "check_cross_entropy_grad")


# --------------------------------------------------------------------------- hinge


def _hinge_exercise() -> _Exercise:
    rng = np.random.default_rng(20240604)

    def margins(s, y):  # s_j - s_y + 1, one row per example
        return s - s[np.arange(len(y)), y][:, None] + 1.0

    def hinged(m, y):  # max(0, m), with each example's correct class set to 0
        m = np.maximum(0, m)
        m[np.arange(len(y)), y] = 0
        return m

    def with_correct(s, y):
        return np.maximum(0, margins(s, y)).sum(axis=1).mean()

    def summed(s, y):
        return hinged(margins(s, y), y).sum()

    def no_clamp(s, y):
        m = margins(s, y)
        m[np.arange(len(y)), y] = 0
        return m.sum(axis=1).mean()

    def crammer_singer(s, y):
        return hinged(margins(s, y), y).max(axis=1).mean()

    def wrong_sign(s, y):
        return hinged(s[np.arange(len(y)), y][:, None] - s + 1.0, y).sum(axis=1).mean()

    def over_c(s, y):
        return hinged(margins(s, y), y).sum() / s.shape[1]

    def squared(s, y):
        return (hinged(margins(s, y), y) ** 2).sum(axis=1).mean()

    def transposed_pick(s, y):
        return hinged(s - s[y, np.arange(len(y))][:, None] + 1.0, y).sum(axis=1).mean()

    variants = [
        _Variant(
            with_correct,
            "your loss is exactly 1 too large: you also summed the term j = y, which is "
            "max(0, s_y - s_y + 1) = 1 for every example. Skip the correct class (set its "
            "margin to 0).",
        ),
        _Variant(
            summed,
            "your loss is {N} times too large: you summed over the {N} examples; divide "
            "by their number (take the mean).",
        ),
        _Variant(
            no_clamp,
            "you forgot the max(0, .): margins that are already satisfied (s_j - s_y + 1 "
            "< 0) must add 0, not a negative amount.",
        ),
        _Variant(
            crammer_singer,
            "you kept only the largest violation per example (the Crammer-Singer loss); "
            "the Weston-Watkins loss sums max(0, s_j - s_y + 1) over every j != y.",
        ),
        _Variant(
            wrong_sign,
            "your margins have the wrong sign: use s_j - s_y + 1 (a wrong class j scoring "
            "close to or above the correct class y costs), not s_y - s_j + 1.",
        ),
        _Variant(
            over_c,
            "you divided by the number of classes C = {C}; divide by the number of "
            "examples N = {N}.",
        ),
        _Variant(
            squared,
            "you squared the hinge; this exercise uses max(0, s_j - s_y + 1) itself.",
        ),
        _Variant(
            transposed_pick,
            "scores[labels, np.arange(N)] picks the wrong entries; each example's correct "
            "score is scores[np.arange(N), labels].",
        ),
    ]

    def case(name, s, y, dtype="float64"):
        s = np.asarray(s, dtype=dtype)
        y = np.asarray(y, dtype=np.int64)
        ctx = {"N": s.shape[0], "C": s.shape[1]}
        return _Case(name, (s, y), _ref_hinge(s, y), dtype, ctx)

    sat = rng.normal(size=(3, 4))
    y_sat = rng.integers(0, 4, size=3)
    sat[np.arange(3), y_sat] += 10.0
    vio = rng.normal(size=(3, 4))
    y_vio = rng.integers(0, 4, size=3)
    vio[np.arange(3), y_vio] -= 10.0
    cases = [
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
    return _Exercise(
        "multiclass hinge loss",
        "fn(scores, labels)",
        cases,
        variants,
        nonfinite_hint="your loss is nan or inf; the hinge loss needs no exp, so look for a division by 0.",
        value_hint=_hinge_value_hint,
        shape_hint=_ce_shape_hint,
        exc_hint=_ce_exc_hint,
    )


def _hinge_value_hint(case: _Case, got: np.ndarray) -> str:
    if float(got) < 0:
        return "your loss is negative, but every term max(0, .) is at least 0."
    return _loss_off_by(case, got)


@_checker_doc
def check_hinge_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check a mean multiclass SVM (Weston-Watkins) loss, ``fn(scores, labels) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(scores, labels)`` with `scores` of
        shape ``(N, C)`` and int64 `labels` of shape ``(N,)``.  It must return
        the mean over the examples of ``sum over j != y of max(0, s_j - s_y + 1)``
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
    return _run(_hinge_exercise(), fn, backend, verbose, "check_hinge_loss")


# --------------------------------------------------------------------------- sigmoid

_SIGMOID_OVERFLOW_HINT = (
    "your result has nan or inf: np.exp overflows for arguments above about 709 "
    "(88 in float32), and exp(x) / (1 + exp(x)) is then inf/inf. Use "
    "1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) for x < 0, or with "
    "e = np.exp(-np.abs(x)): np.where(x >= 0, 1 / (1 + e), e / (1 + e))."
)


def _sigmoid_exercise() -> _Exercise:
    rng = np.random.default_rng(20240605)

    def exp_ratio(x):
        e = np.exp(x)
        return e / (1 + e)

    def flipped(x):
        return 1 / (1 + np.exp(x))

    def minus_one(x):
        return 1 / (1 - np.exp(-x))

    variants = [
        _Variant(exp_ratio, _SIGMOID_OVERFLOW_HINT),
        _Variant(
            flipped,
            "you computed sigmoid(-x) = 1 / (1 + exp(x)); the sigmoid is 1 / (1 + "
            "exp(-x)), which tends to 1 for large x.",
        ),
        _Variant(minus_one, "the sigmoid is 1 / (1 + exp(-x)), with a plus sign."),
    ]

    def case(name, x, dtype="float64"):
        x = np.asarray(x, dtype=dtype)
        return _Case(name, (x,), _ref_sigmoid(x), dtype, {})

    return _Exercise(
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
        variants,
        nonfinite_hint=_SIGMOID_OVERFLOW_HINT,
        shape_hint=lambda case, got: (
            f"the sigmoid works elementwise, so the result has the input's shape "
            f"{case.expected.shape}; yours has shape {got.shape}."
        ),
    )


@_checker_doc
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
    return _run(_sigmoid_exercise(), fn, backend, verbose, "check_sigmoid")


# --------------------------------------------------------------------------- baseline


def _baseline_exercise() -> _Exercise:
    variants = [
        _Variant(
            lambda k: math.log10(k),
            "you used log10; the cross-entropy uses the natural logarithm (np.log "
            "or math.log).",
        ),
        _Variant(
            lambda k: math.log2(k),
            "you used log2 (bits); the cross-entropy uses the natural logarithm (np.log).",
        ),
        _Variant(
            lambda k: 1.0 / k,
            "you returned the probability 1/K of each class; the loss is -ln(1/K) = ln K.",
        ),
        _Variant(lambda k: -math.log(k), "wrong sign: the loss is -ln(1/K) = +ln K."),
        _Variant(
            lambda k: -math.log(1.0 - 1.0 / k),
            "the loss is -ln(p) with p = 1/K, the probability of the correct class.",
        ),
    ]

    def case(name, k):
        return _Case(name, (k,), np.asarray(math.log(k)), "float64", {"K": k})

    return _Exercise(
        "baseline loss ln K",
        "fn(K)",
        [
            case("2 classes (a coin toss)", 2),
            case("10 classes (ln 10 = 2.302585)", 10),
            case("ImageNet, 1000 classes (ln 1000 = 6.907755)", 1000),
            case("a single class (loss 0)", 1),
        ],
        variants,
        shape_hint=lambda case, got: (
            f"return a single number (shape ()), not an array of shape {got.shape}."
        ),
    )


@_checker_doc
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
    backend : {None, "numpy", "cupy", "array_api_strict"}, optional
        Accepted for symmetry with the other checkers (the input is a Python
        int whatever the backend).
    verbose : bool, default True
        Print the feedback.

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
    return _run(_baseline_exercise(), fn, backend, verbose, "check_baseline_loss")


# --------------------------------------------------------------------------- bigram loss
# Plain NumPy: a V x V table of pair counts, each row normalised by its own total.


def _bigram_nll(ids, vocab_size, *, fit=None, axis=1, smooth=0.0) -> np.ndarray:
    """-log P(b | a) of each pair (a, b) of `ids`, under counts fitted on `fit` (pairs)."""
    ids = np.asarray(ids, dtype=np.int64)
    a, b = ids[:-1], ids[1:]
    fa, fb = (a, b) if fit is None else fit
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (fa, fb), 1.0)
    counts += smooth
    totals = counts.sum(axis=axis)
    with np.errstate(all="ignore"):
        p = counts[a, b] / (totals[a] if axis == 1 else totals[b])
        return -np.log(p)


def _ref_bigram_loss(ids, vocab_size) -> np.ndarray:
    return np.asarray(_bigram_nll(ids, vocab_size).mean())


def _bigram_variants() -> list[_Variant]:
    def wrapped(ids, v):  # the pair (last, first) counted and scored as well
        ring = np.append(ids, ids[0])
        return _bigram_nll(ring, v).mean()

    def last_dropped(ids, v):  # range(len(ids) - 2): one pair short
        return _bigram_nll(ids[:-1], v).mean()

    def over_len(ids, v):
        return _bigram_nll(ids, v).sum() / len(ids)

    def joint(ids, v):  # count(a, b) / number of pairs
        a, b = ids[:-1], ids[1:]
        counts = np.zeros((v, v))
        np.add.at(counts, (a, b), 1.0)
        return -np.log(counts[a, b] / len(a)).mean()

    def unigram(ids, v):  # count(b) / number of tokens
        counts = np.bincount(ids, minlength=v)
        return -np.log(counts[ids[1:]] / len(ids)).mean()

    return [
        _Variant(
            lambda ids, v: _bigram_nll(ids, v).mean() / math.log(2),
            "your loss is in bits (log base 2): it is ln 2 = 0.6931 times the loss "
            "in nats. Use the natural logarithm, np.log.",
        ),
        _Variant(
            lambda ids, v: _bigram_nll(ids, v, axis=0).mean(),
            "you normalised the count table over the wrong axis: P(b | a) divides "
            "count(a, b) by the total of row a, counts.sum(axis=1, keepdims=True) "
            "(every pair that starts with a), not by the total of column b.",
        ),
        _Variant(
            lambda ids, v: _bigram_nll(ids, v, smooth=1.0).mean(),
            "you added 1 to every count (add-one smoothing); the maximum-likelihood "
            "bigram model uses the counts themselves: count(a, b) / count(a, .).",
        ),
        _Variant(
            lambda ids, v: _bigram_nll(ids, v).sum(),
            "your loss is {n_pairs} times too large: you summed -log P over the "
            "{n_pairs} pairs; divide by their number (take the mean).",
        ),
        _Variant(
            over_len,
            "you divided by len(ids) = {n_tokens}, but a sequence of {n_tokens} "
            "tokens has {n_pairs} pairs (ids[t], ids[t+1]); take the mean over them.",
        ),
        _Variant(
            wrapped,
            "you also counted the pair (ids[-1], ids[0]) that wraps around from the "
            "end to the start; the pairs are (ids[t], ids[t+1]) for t = 0 .. "
            "len(ids) - 2 only, e.g. zip(ids[:-1], ids[1:]).",
        ),
        _Variant(
            last_dropped,
            "your pairs stop one short: there are len(ids) - 1 = {n_pairs} pairs "
            "(ids[t], ids[t+1]) for t = 0 .. len(ids) - 2, so the loop is "
            "range(len(ids) - 1), or zip(ids[:-1], ids[1:]).",
        ),
        _Variant(
            lambda ids, v: -_bigram_nll(ids, v).mean(),
            "your loss has the wrong sign: you returned the mean log-likelihood "
            "log P(b | a); the loss is its negative, -log P(b | a) >= 0.",
        ),
        _Variant(
            joint,
            "you used the joint frequency count(a, b) / (number of pairs); the "
            "model is the conditional P(b | a) = count(a, b) / count(a, .), each "
            "row of the table divided by its own total.",
        ),
        _Variant(
            unigram,
            "you scored each token by its own frequency (a unigram model); the "
            "bigram model conditions on the previous token: count(a, b) / count(a, .).",
        ),
    ]


def _bigram_value_hint(case: _Case, got: np.ndarray) -> str:
    if float(got) < 0:
        return "your loss is negative, but -log P(b | a) is never negative: check the sign."
    return _loss_off_by(case, got)


def _bigram_shape_hint(case: _Case, got: np.ndarray) -> str:
    n_pairs, v = case.ctx["n_pairs"], case.ctx["V"]
    if got.shape == (n_pairs,):
        return (
            f"you returned one loss per pair (shape {got.shape}); the loss is their "
            "mean, a single number."
        )
    if got.shape == (v, v):
        return (
            f"you returned a {v} x {v} table; the checker wants the mean of "
            "-log P(ids[t+1] | ids[t]) over the pairs, a single number."
        )
    return f"the loss is a single number (shape ()), but your result has shape {got.shape}."


def _bigram_exc_hint(case: _Case, exc: BaseException) -> str | None:
    if isinstance(exc, IndexError):
        return (
            "an index was out of range: the table has shape (V, V) = ({V}, {V}), "
            "and the {n_pairs} pairs are (ids[t], ids[t+1]) for t = 0 .. len(ids) - 2."
        ).format_map(case.ctx)
    if isinstance(exc, ZeroDivisionError):
        return (
            "a division by zero: a token that never starts a pair has row total 0, "
            "but no pair ever looks that row up; divide only the rows you use."
        )
    return None


def _bigram_exercise() -> _Exercise:
    rng = np.random.default_rng(20240608)

    def case(name, ids, v):
        ids = np.asarray(ids, dtype=np.int64)
        ctx = {"V": v, "n_tokens": len(ids), "n_pairs": len(ids) - 1}
        return _Case(name, (ids, v), _ref_bigram_loss(ids, v), "float64", ctx)

    markov = np.array([[0.1, 0.6, 0.2, 0.1], [0.5, 0.1, 0.1, 0.3],
                       [0.2, 0.2, 0.5, 0.1], [0.7, 0.1, 0.1, 0.1]])
    walk = [3]
    for _ in range(199):
        walk.append(int(rng.choice(4, p=markov[walk[-1]])))
    return _Exercise(
        "bigram loss",
        "fn(ids, vocab_size)",
        [
            case("9 hand-made tokens, V = 3", [2, 0, 1, 0, 0, 1, 0, 1, 1], 3),
            case("a token that repeats: 1 1 1 0 1 1 2, V = 3", [1, 1, 1, 0, 1, 1, 2], 3),
            case("token 3 never occurs (V = 5)", [0, 4, 1, 4, 0, 2, 4, 4, 1, 4], 5),
            case("V = 50, larger than the ids used", [12, 3, 7, 7, 3, 12, 3, 3], 50),
            case("a sequence of length 2: one pair, loss 0", [2, 0], 3),
            case("a deterministic cycle 0 1 2 0 1 2 0: loss 0", [0, 1, 2, 0, 1, 2, 0], 3),
            case("200 tokens from a Markov chain, V = 4", walk, 4),
        ],
        _bigram_variants(),
        nonfinite_hint=(
            "your loss is nan or inf: every pair in the sequence has a count of at "
            "least 1, so -log P is finite; look for log(0) from a pair looked up in "
            "the wrong place, or 0/0 from a row with no pairs."
        ),
        value_hint=_bigram_value_hint,
        shape_hint=_bigram_shape_hint,
        exc_hint=_bigram_exc_hint,
    )


@_checker_doc
def check_bigram_loss(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check the loss of a counting bigram model, ``fn(ids, vocab_size) -> loss``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(ids, vocab_size)`` with `ids` a 1-D
        int64 array of token ids in ``0 .. V-1`` (at least 2 of them) and
        `vocab_size` the int V.  It must fit the bigram model on the pairs
        ``(ids[t], ids[t+1])``, ``t = 0 .. len(ids) - 2``, by counting, and return
        the mean negative log-likelihood of each next token in nats, a number;
        and leave `ids` unchanged.
    {backend_verbose}

    {returns_raises}

    Notes
    -----
    With :math:`c(a, b)` the number of pairs :math:`(a, b)` in the sequence
    :math:`x_0, \dots, x_{n-1}` and the maximum-likelihood (unsmoothed) model
    :math:`P(b \mid a) = c(a, b) / \sum_{b'} c(a, b')`:

    .. math::

        L = -\frac{1}{n - 1} \sum_{t=0}^{n-2} \ln P(x_{t+1} \mid x_t)

    Every pair scored was counted, so L is finite.  Cases: hand-made sequences
    (with a repeated token), a token that never occurs, V = 50 larger than the
    ids used, a sequence of length 2 and a deterministic cycle (loss 0), and
    200 tokens from a 4-state Markov chain.  Tolerances: ``rtol = 1e-6,
    atol = 1e-9``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_bigram_loss
    >>> def bigram_loss(ids, vocab_size):
    ...     counts = np.zeros((vocab_size, vocab_size))
    ...     np.add.at(counts, (ids[:-1], ids[1:]), 1)
    ...     rows = counts[ids[:-1]]
    ...     p = rows[np.arange(len(ids) - 1), ids[1:]] / rows.sum(axis=1)
    ...     return -np.log(p).mean()
    >>> result = check_bigram_loss(bigram_loss)
    bigram loss: all 7 cases passed. Well done!
    """
    return _run(_bigram_exercise(), fn, backend, verbose, "check_bigram_loss")


# --------------------------------------------------------------------------- perplexity


def _ref_perplexity(loss) -> np.ndarray:
    return np.array([math.exp(loss), loss / math.log(2)])


_PPL_WRONG = [  # (f(loss) -> wrong perplexity, what it is)
    (lambda v: 2.0**v, "2 ** loss, which is the perplexity only for a loss in bits; "
     "the loss is in nats, so the perplexity is exp(loss)"),
    (lambda v: 10.0**v, "10 ** loss; the loss is in nats, so the perplexity is exp(loss)"),
    (lambda v: math.exp(-v), "exp(-loss), the geometric mean of the probabilities; the "
     "perplexity is its inverse, exp(loss)"),
    (lambda v: v, "the loss itself; the perplexity is exp(loss)"),
]
_BITS_WRONG = [
    (lambda v: v / math.log(10), "loss / ln 10 (log10: digits, not bits); bits are "
     "loss / ln 2"),
    (lambda v: v / math.log10(2), "loss / log10(2) = loss / 0.30103; divide by the "
     "natural log of 2 instead, ln 2 = np.log(2) = 0.6931"),
    (lambda v: v * math.log(2), "loss * ln 2; a nat is 1 / ln 2 = 1.4427 bits, so bits "
     "are loss / ln 2"),
    (lambda v: math.log2(v) if v > 0 else -math.inf, "log2(loss); the loss is already a "
     "logarithm: bits are loss / ln 2"),
    (lambda v: v, "the loss in nats; bits are loss / ln 2"),
]


def _perplexity_value_hint(case: _Case, got: np.ndarray) -> str:
    loss = case.args[0]
    expected = case.expected
    if _close(got[::-1], expected, "float64"):
        return (
            "your pair is swapped: return (perplexity, bits_per_token), the "
            "perplexity first."
        )
    parts = []
    for i, (wrongs, what) in enumerate(((_PPL_WRONG, "perplexity is"), (_BITS_WRONG, "bits per token are"))):
        if _close(got[i], expected[i], "float64"):
            continue
        said = f"your {what} off by {_num(abs(got[i] - expected[i]), 4)}"
        for f, text in wrongs:
            wrong = f(loss)
            if not _close(np.asarray(wrong), expected[i], "float64", equal_nan=True) and \
                    _close(got[i], np.asarray(wrong), "float64", equal_nan=True):
                said = f"your {what} {text}"
                break
        parts.append(said)
    return "; ".join(parts) + "."


def _perplexity_exercise() -> _Exercise:
    def case(name, loss):
        return _Case(name, (loss,), _ref_perplexity(loss), "float64", {})

    return _Exercise(
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
        nonfinite_hint="your result has nan or inf; for a finite loss both numbers are finite.",
        value_hint=_perplexity_value_hint,
        shape_hint=lambda case, got: (
            "return a pair of two numbers, (perplexity, bits_per_token); your "
            f"result has shape {got.shape}."
        ),
        pair="(perplexity, bits_per_token)",
    )


@_checker_doc
def check_perplexity(
    fn: Callable, *, backend: str | None = None, verbose: bool = True
) -> CheckResult:
    r"""Check the perplexity and bits per token of a loss, ``fn(loss) -> (ppl, bits)``.

    Parameters
    ----------
    fn : callable
        The reader's function, called as ``fn(mean_loss_nats)`` with a Python
        float, the mean cross-entropy per token in nats.  It must return a pair
        ``(perplexity, bits_per_token)`` of numbers (a tuple, a list or an array
        of 2).
    backend : {None, "numpy", "cupy", "array_api_strict"}, optional
        Accepted for symmetry with the other checkers (the input is a Python
        float whatever the backend).
    verbose : bool, default True
        Print the feedback.

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
    return _run(_perplexity_exercise(), fn, backend, verbose, "check_perplexity")
