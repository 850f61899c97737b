"""The checking framework: cases, known wrong answers, running a reader's function, results.

An exercise is an :class:`Exercise`: a title, the call signature, a list of
:class:`Case` objects (inputs and the float64 expected value) and a list of
:class:`Variant` objects (known wrong answers, each with the hint that names the
mistake).  :func:`run` calls the reader's function on every case and returns a
:class:`CheckResult`.  Nothing here knows about any particular exercise; the
hints that several exercises share live in :mod:`._hints`, the reference
solutions in :mod:`._references`.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._backend import BACKENDS, asarray, get_backend, to_numpy, use_backend
from .._validation import argument_error

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
    expected : numpy.ndarray or tuple of numpy.ndarray
        The float64 reference value (a tuple for a checker whose function
        returns several arrays, such as ``(dx, dW, db)``).
    got : numpy.ndarray, tuple of numpy.ndarray or str
        What the reader's function returned, as NumPy arrays; a string when it
        raised (``"ValueError: ..."``) or returned something that is not an
        array (``"None"``, ``"a tuple of 2 items"``).
    hint : str
        What probably went wrong, and how to fix it.
    inputs : dict
        The case's input, by the names of the checker's call signature, as NumPy
        arrays (fresh copies) or Python numbers: ``fn(**inputs)`` runs the
        reader's function on it again (``fn(*inputs.values())`` when the
        function names its parameters differently).

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.exercises import check_cross_entropy
    >>> def summed(logits, labels):
    ...     s = logits - logits.max(axis=1, keepdims=True)
    ...     logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    ...     return -logp[np.arange(len(labels)), labels].sum()
    >>> case = check_cross_entropy(summed, verbose=False).failed_case
    >>> case.name, list(case.inputs)
    ('4 examples x 3 classes', ['logits', 'labels'])
    >>> round(float(summed(**case.inputs) / case.expected), 6)
    4.0
    """

    name: str
    expected: Any
    got: Any
    hint: str
    inputs: dict = field(default_factory=dict, repr=False, compare=False)
    outputs: tuple = field(default=(), repr=False, compare=False)

    def describe(self, hint: str | None = None) -> str:
        """The feedback block printed for this case (`hint` replaces its hint)."""
        got = self.got if isinstance(self.got, str) else fmt_parts(self.outputs, self.got)
        lines = [f"x Case {self.name!r} failed."]
        lines.append(_field("expected", fmt_parts(self.outputs, self.expected)))
        lines.append(_field("got", got))
        lines.append(_wrap(self.hint if hint is None else hint, "    hint:     ", " " * 14))
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
        The failed cases, each with ``name``, ``expected``, ``got``, ``hint``
        and ``inputs`` (the case's arguments: ``fn(**case.inputs)`` reruns it);
        ``failed_case`` is the first of them.

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
    def failed_case(self) -> FailedCase | None:
        """The first failed case (None when all passed); its ``inputs`` rerun it."""
        return self.failed[0] if self.failed else None

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
            passed = "Passed: " + ", ".join(repr(p) for p in self.passed) + "."
            blocks.append(_wrap(passed, "", "    "))
        return "\n\n".join(blocks)

    def __repr__(self) -> str:
        names = [f.name for f in self.failed]
        return (
            f"CheckResult({self.exercise!r}, passed={len(self.passed)}/{self.n_cases}, "
            f"failed={names!r})"
        )


# --------------------------------------------------------------------------- formatting


def num(v: float, digits: int = 6) -> str:
    """A number rounded to `digits` significant digits (never "-0")."""
    v = float(v) + 0.0
    return f"{v:.{digits}g}"


def fmt(a: Any) -> str:
    """An array or number as the feedback prints it (4 significant digits in arrays)."""
    a = np.asarray(a)
    if a.dtype.kind in "fc" and a.ndim == 0:
        return num(a)
    if a.dtype.kind in "iub" and a.ndim == 0:
        return str(a.item())
    if a.dtype.kind not in "fiub":
        return f"an array of dtype {a.dtype}"
    with np.printoptions(threshold=12, edgeitems=2, linewidth=70):
        return np.array2string(
            a,
            separator=", ",
            formatter={"float_kind": lambda v: num(v, 4), "int_kind": str},
        )


def fmt_parts(names: tuple, value: Any) -> str:
    """A result as printed: one value, or the named parts of a tuple ("dx: ...")."""
    if not isinstance(value, tuple):
        return fmt(value)
    if len(value) > 1 and all(np.ndim(v) == 0 for v in value):  # a pair prints as [a, b]
        return fmt(np.array([float(v) for v in value]))
    lines = []
    for name, v in zip(names, value):
        first, *rest = fmt(v).splitlines()
        lines.append(f"{name}: {first}")
        lines += [" " * (len(name) + 2) + line for line in rest]
    return "\n".join(lines)


def _field(label: str, text: str) -> str:
    pad = " " * 14
    first, *rest = text.splitlines() or [""]
    out = [f"    {label + ':':<10}{first}"]
    out += [pad + line for line in rest]
    return "\n".join(out)


def _wrap(text: str, first: str, rest: str) -> str:
    return textwrap.fill(
        text,
        width=_WRAP,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


# --------------------------------------------------------------------------- exercises


@dataclass
class Variant:
    """A known wrong answer: computed on the case's inputs, it names the mistake."""

    fn: Callable[..., Any]
    hint: Any  # str (formatted with the case's ctx) or callable(case, got) -> str


@dataclass
class Case:
    """One input of an exercise, with its float64 expected value."""

    name: str
    args: tuple
    expected: np.ndarray
    dtype: str = "float64"
    ctx: dict = field(default_factory=dict)
    variants: Sequence[Variant] = ()
    exc_hint: str | None = None
    also: tuple = ()  # other answers that are right too (e.g. PyTorch's convention)


@dataclass
class Exercise:
    """What a checker runs: the cases, the known mistakes and the hint makers."""

    title: str
    signature: str
    cases: list
    variants: Sequence[Variant] = ()
    nonfinite_hint: str = "your result contains nan or inf where finite values were expected."
    value_hint: Callable[[Case, np.ndarray], str] | None = None
    shape_hint: Callable[[Case, np.ndarray], str | None] | None = None
    exc_hint: Callable[[Case, BaseException], str | None] | None = None
    nan_hint: str | None = None  # a finite answer where the expected value is nan
    outputs: tuple = ()  # the names of the parts of a tuple result, e.g. ("dx", "dW", "db")
    outputs_text: str = ""  # how the hints ask for them: "a tuple of 3 arrays, (dx, dW, db)"

    @property
    def params(self) -> tuple:
        """The names of the arguments, from the signature: ``fn(x, y)`` gives (x, y)."""
        inside = self.signature[self.signature.index("(") + 1 : self.signature.rindex(")")]
        return tuple(p.strip() for p in inside.split(",") if p.strip())


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def hint_text(hint, case: Case, got) -> str:
    """A hint: a template filled with the case's context, or a function's answer."""
    if callable(hint):
        return hint(case, got)
    return hint.format_map(_SafeDict(case.ctx))


# --------------------------------------------------------------------------- arrays


def resolve_backend(backend, where: str) -> str:
    """The backend the inputs are created on (None: NumPy, or CuPy when current)."""
    if backend is None:
        return "cupy" if get_backend() == "cupy" else "numpy"
    if not isinstance(backend, str) or backend.lower() not in BACKENDS:
        known = ", ".join(repr(b) for b in BACKENDS)
        raise argument_error(where, "backend", f"None or one of {known}", safe_repr(backend))
    return backend.lower()


def check_arguments(fn, verbose, where: str, signature: str) -> None:
    """Refuse a `fn` that is not callable and a `verbose` that is not a bool."""
    if not callable(fn):
        raise argument_error(
            where, "fn", f"a function to check, called as {signature}",
            type(fn).__name__, TypeError,
        )
    if not isinstance(verbose, (bool, np.bool_)):
        raise argument_error(where, "verbose", "True or False", safe_repr(verbose), TypeError)


def safe_repr(value: Any) -> str:
    """``repr(value)`` shortened, or a description when its ``__repr__`` raises."""
    try:
        text = repr(value)
    except Exception:
        return f"an object of type {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def exc_text(exc: BaseException) -> str:
    """``"TypeError: message"``, also for an exception whose ``__str__`` raises."""
    try:
        msg = str(exc)
    except Exception as inner:
        msg = f"(its message could not be printed: str() raised {type(inner).__name__})"
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _to_backend(a, backend: str):
    if not isinstance(a, np.ndarray):
        return a
    if backend == "numpy":
        return a.copy()
    with use_backend(backend):
        return asarray(a.copy())


def as_numpy(out) -> tuple[np.ndarray | None, str]:
    """The reader's result as a NumPy array, or (None, description)."""
    if out is None:
        return None, "None"
    if isinstance(out, tuple):
        return None, f"a tuple of {len(out)} item{'s' if len(out) != 1 else ''}"
    if isinstance(out, dict):
        return None, "a dict"
    if isinstance(out, Iterator):
        return None, f"a {type(out).__name__} (an iterator, not an array)"
    arr = _numpy_or_none(out)
    if arr is None:
        return None, f"an object of type {type(out).__name__}"
    if arr.dtype.kind == "O":  # Python objects: numbers, or backend scalars in a list
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except Exception:
            return None, f"an object of type {type(out).__name__} (array dtype object)"
    if arr.dtype.kind not in "fiub":
        return None, f"an object of type {type(out).__name__} (array dtype {arr.dtype})"
    return arr, ""


def _numpy_or_none(out) -> np.ndarray | None:
    """Any array, number or list of them as NumPy (lists may hold CuPy scalars)."""
    try:
        return to_numpy(out)
    except Exception:
        pass
    if isinstance(out, list):
        try:
            parts = [to_numpy(v) for v in out]
            return np.array(parts, dtype=np.float64)
        except Exception:
            return None
    return None


def _aligned(got: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """`got` in the expected's shape, or None (a scalar may come back with size 1)."""
    if got.shape == expected.shape:
        return got
    if expected.ndim == 0 and got.size == 1:
        return got.reshape(())
    return None


def close(got: np.ndarray, expected: np.ndarray, dtype: str, equal_nan=False) -> bool:
    """Whether `got` is within the dtype's tolerance of `expected` everywhere."""
    rtol, atol = TOLERANCES[dtype]
    with np.errstate(all="ignore"):
        return bool(
            np.all(
                np.isclose(
                    _f64(got), _f64(expected), rtol=rtol, atol=atol, equal_nan=equal_nan
                )
            )
        )


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def quiet_call(fn, *args):
    """``fn(*args)`` with NumPy's warnings and floating-point errors silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args)


# --------------------------------------------------------------------------- diagnosis


def _parts(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def same(a, b, dtype: str) -> bool:
    """Two answers (arrays or tuples of them) of the same shapes, close everywhere, NaN == NaN."""
    a, b = _parts(a), _parts(b)
    return len(a) == len(b) and all(
        np.shape(u) == np.shape(v) and close(u, v, dtype, equal_nan=True) for u, v in zip(a, b)
    )


def _as_answer(value):
    return tuple(np.asarray(v) for v in value) if isinstance(value, tuple) else np.asarray(value)


def matching_variant(variants, case: Case, got, expected=None) -> Variant | None:
    """The first known mistake that is visible on this case and gives `got`."""
    expected = case.expected if expected is None else expected
    for v in variants:
        try:
            wrong = _as_answer(quiet_call(v.fn, *case.args))
        except Exception:
            continue
        if [np.shape(w) for w in _parts(wrong)] != [np.shape(e) for e in _parts(expected)]:
            continue
        if same(wrong, expected, case.dtype):
            continue  # this mistake is invisible on this case
        if same(got, wrong, case.dtype):
            return v
    return None


def diagnose(ex: Exercise, case: Case, got) -> str:
    """A hint for a wrong value of the right shape."""
    expected = _parts(case.expected)
    if ex.nan_hint is not None and any(
        np.any(np.isnan(e) & ~np.isnan(g)) for g, e in zip(_parts(got), expected)
    ):
        return hint_text(ex.nan_hint, case, got)
    v = matching_variant(list(case.variants) + list(ex.variants), case, got)
    if v is not None:
        return hint_text(v.hint, case, got)
    if not all(np.all(np.isfinite(g)) for g in _parts(got)):
        return hint_text(ex.nonfinite_hint, case, got)
    if ex.value_hint is not None:
        return ex.value_hint(case, got)
    return largest_difference(case, got)


def largest_difference(case: Case, got: np.ndarray, expected=None, name: str = "") -> str:
    """Where `got` is furthest from the expected value, and by how much."""
    expected = case.expected if expected is None else expected
    diff = np.abs(_f64(got) - expected)
    if expected.ndim == 0:
        return f"your {name or 'value'} is off by {num(diff, 4)}."
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = f"{name}: the" if name else "the"
    return (
        f"{where} values differ; the largest difference is {num(diff[idx], 4)} at index "
        f"{tuple(int(i) for i in idx)} (expected {num(expected[idx])}, "
        f"got {num(_f64(got)[idx])})."
    )


def parts_hint(part_variants: dict, fallback: Callable | None = None) -> Callable:
    """A value hint for a tuple result: each wrong part named by its own known mistakes.

    `part_variants` maps a part's name (in the order of ``Exercise.outputs``) to
    variants computing that part alone; a wrong part that none matches is
    described by ``fallback(case, name, got, expected)`` (default: its largest
    difference).  The parts' texts are joined with "; ".
    """

    def hint(case: Case, got: tuple) -> str:
        texts = []
        for name, g, e in zip(part_variants, got, case.expected):
            if _matches(g, e, case.dtype):
                continue
            v = matching_variant(part_variants[name], case, g, e)
            if v is not None:
                texts.append(hint_text(v.hint, case, g).rstrip("."))
            elif fallback is not None:
                texts.append(fallback(case, name, g, e))
            else:
                texts.append(largest_difference(case, g, e, name).rstrip("."))
        return "; ".join(texts) + "."

    return hint


_MUTATION_HINT = (
    "your function changed its input array in place (for example with x -= ..., "
    "x /= ..., np.exp(x, out=x) or an assignment like x[...] = ...), so the caller's "
    "array is now different. Build new arrays instead: x = x - m rather than "
    "x -= m, and np.where(...) rather than assigning into x[...]."
)


# --------------------------------------------------------------------------- running


def _raised(ex: Exercise, case: Case, exc: BaseException) -> FailedCase:
    msg = exc_text(exc)
    hint = None
    if isinstance(exc, SystemExit):
        hint = ("your function called exit() or sys.exit(), which would end the whole "
                "program (or restart a notebook's kernel); return the result instead.")
    elif case.exc_hint is not None:
        hint = case.exc_hint
    elif ex.exc_hint is not None:
        hint = ex.exc_hint(case, exc)
    if hint is None and isinstance(exc, TypeError) and "argument" in msg:
        hint = f"the checker calls your function as {ex.signature}; check its parameters."
    if hint is None:
        hint = (
            "your function raised an exception on this input; read the message "
            "above and try the case's input yourself: the checker's result keeps "
            "it, as in fn(**result.failed[0].inputs)."
        )
    return FailedCase(case.name, case.expected, msg, hint)


def _mutated(originals: list, args: list) -> bool:
    for orig, a in zip(originals, args):
        if orig is None:
            continue
        try:
            after = to_numpy(a)
        except Exception:  # pragma: no cover - defensive
            continue
        if after.shape != orig.shape or not np.array_equal(after, orig, equal_nan=True):
            return True
    return False


def _not_an_array(ex: Exercise, case: Case, description: str) -> FailedCase:
    if ex.outputs:
        hint = f"return {ex.outputs_text}; the checker calls {ex.signature}."
    elif description.startswith("a tuple"):
        hint = (
            f"return a single array (or number), not a tuple; the checker calls "
            f"{ex.signature}."
        )
    elif description == "None":
        hint = "your function returned None: did you forget the return statement?"
    elif "iterator" in description:
        hint = (
            "your function returned an iterator (a generator expression or map(...)), "
            "which the checker cannot compare; build the array, e.g. np.array(list(...)), "
            "or use array operations instead of a loop."
        )
    elif "array dtype" in description:
        hint = (
            f"your result is {description.split('(', 1)[1].rstrip(')')}, not real numbers; "
            f"return a float array or a number."
        )
    else:
        hint = f"return a NumPy array or a number; the checker calls {ex.signature}."
    return FailedCase(case.name, case.expected, description, hint)


def _wrong_shape(ex: Exercise, case: Case, got: np.ndarray, name: str = "") -> FailedCase:
    """A result (or the part `name` of a tuple result) of the wrong shape.

    The exercise's ``shape_hint`` gets ``(case, got)``, or ``(case, (name, got))``
    for a part.
    """
    hint = None
    if ex.shape_hint is not None:
        hint = ex.shape_hint(case, (name, got) if name else got)
    if hint is None:
        expected = case.expected[ex.outputs.index(name)] if name else case.expected
        what = f"{name} of" if name else "a result of"
        hint = f"expected {what} shape {np.shape(expected)}, got shape {np.shape(got)}."
    shown = fmt_parts((name,), (got,)) if name and np.ndim(got) else (
        f"{name}: {fmt(got)}" if name else got)
    return FailedCase(case.name, case.expected, shown, hint)


def _read_one(ex: Exercise, case: Case, out, expected, name: str = ""):
    """(the result as NumPy in the expected shape, None) or (None, why it is not)."""
    got, description = as_numpy(out)
    if got is None:
        if name:
            description = f"{name} is {description}"
        return None, _not_an_array(ex, case, description)
    aligned = _aligned(got, expected)
    if aligned is None:
        return None, _wrong_shape(ex, case, got, name)
    return aligned, None


def _read(ex: Exercise, case: Case, out):
    """The result aligned with the expected value (a tuple for several outputs)."""
    if not ex.outputs:
        return _read_one(ex, case, out, case.expected)
    k = len(ex.outputs)
    if isinstance(out, np.ndarray) and out.ndim == 1 and all(
        np.ndim(e) == 0 for e in case.expected
    ):
        out = list(out)  # an array of k numbers
    if not isinstance(out, (tuple, list)) or len(out) != k:
        got, description = as_numpy(out)
        if got is not None:
            description = (
                f"a single number, {fmt(got)}" if got.ndim == 0
                else f"one array of shape {got.shape}"
            )
        elif isinstance(out, list):
            description = f"a list of {len(out)} items"
        return None, _not_an_array(ex, case, description)
    parts = []
    for name, value, expected in zip(ex.outputs, out, case.expected):
        got, failure = _read_one(ex, case, value, expected, name)
        if failure is not None:
            return None, failure
        parts.append(got)
    return tuple(parts), None


def _judge(ex: Exercise, case: Case, got, mutated: bool) -> FailedCase | None:
    ok = any(_matches(got, e, case.dtype) for e in (case.expected, *case.also))
    if ok and not mutated:
        return None
    hints = []
    if mutated:
        hints.append(_MUTATION_HINT)
    if not ok:
        hints.append(diagnose(ex, case, got))
    return FailedCase(case.name, case.expected, got, _join_hints(hints))


def _join_hints(hints: list) -> str:
    """Hints in one text, each after the first starting with a capital."""
    return " ".join(h[0].upper() + h[1:] if i else h for i, h in enumerate(hints))


def _matches(got, expected, dtype: str) -> bool:
    """Close everywhere; NaN matches only where the reference is NaN (0/0: a mean of nothing)."""
    if not same(got, expected, dtype):
        return False
    return all(
        np.all(np.isfinite(g) | np.isnan(e)) for g, e in zip(_parts(got), _parts(expected))
    )


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def run_case(ex: Exercise, case: Case, fn, backend: str) -> FailedCase | None:
    """Run `fn` on one case: None when it passed, else what failed and why."""
    originals = [a.copy() if isinstance(a, np.ndarray) else None for a in case.args]
    args = [_to_backend(a, backend) for a in case.args]
    try:
        out = quiet_call(fn, *args)
    except (Exception, SystemExit) as exc:  # exit() in a reader's function is a failure too;
        failure = _raised(ex, case, exc)     # Ctrl-C (KeyboardInterrupt) still stops the check
    else:
        got, failure = _read(ex, case, out)
    mutated = _mutated(originals, args)
    if failure is None:
        failure = _judge(ex, case, got, mutated)
    elif mutated:  # it raised, or returned no array or the wrong shape: say both
        failure = replace(failure, hint=_join_hints([_MUTATION_HINT, failure.hint]))
    if failure is None:
        return None
    inputs = {name: _copy(a) for name, a in zip(ex.params, case.args)}
    return replace(failure, inputs=inputs, outputs=ex.outputs)


def run(ex: Exercise, fn, backend, verbose: bool, where: str) -> CheckResult:
    """Run `fn` on every case of `ex`; print the feedback when `verbose`."""
    check_arguments(fn, verbose, where, ex.signature)
    backend = resolve_backend(backend, where)
    result = CheckResult(ex.title)
    for case in ex.cases:
        failure = run_case(ex, case, fn, backend)
        if failure is None:
            result.passed.append(case.name)
        else:
            result.failed.append(failure)
    if verbose:
        print(result.feedback)
    return result


# --------------------------------------------------------------------------- docstrings
# The checkers share their `backend`/`verbose` parameters and their Returns and Raises
# sections.  A checker's docstring names a shared section by a line of its own, such as
# "{returns_raises}", and @checker_doc puts the section's text there (indented to match).


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
    "numbers_verbose": """backend : {None, "numpy", "cupy", "array_api_strict"}, optional
    Accepted for symmetry with the other checkers (the inputs are Python
    numbers whatever the backend).
verbose : bool, default True
    Print the feedback.""",
    "returns_raises": _returns_raises(
        "If `fn` is not callable or `verbose` is not True or False."
    ),
    "returns_raises_ignore_index": _returns_raises(
        "If `fn` is not callable, `verbose` is not True or False or\n"
        "    `ignore_index` is not a bool or an int."
    ),
}
_DOC_PLACEHOLDER = re.compile(r"^( *)\{(\w+)\}$", re.MULTILINE)


def checker_doc(fn: Callable) -> Callable:
    """Fill the shared sections into `fn`'s docstring (kept as None under ``python -OO``)."""
    if fn.__doc__ is not None:
        fn.__doc__ = _DOC_PLACEHOLDER.sub(
            lambda m: textwrap.indent(_DOC_SECTIONS[m.group(2)], m.group(1)), fn.__doc__
        )
    return fn
