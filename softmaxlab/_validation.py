"""Shared argument checks: every message names the function, the argument, what
was expected and what was found."""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
from typing import Any

import numpy as np

# Array conversion and dtype queries live in _backend; these names stay
# importable from here for the modules that still take them from _validation.
from ._backend import (  # noqa: F401
    as_array,
    device_of,
    dtype_kind,
    dtype_name,
    namespace_and_array,
    plain_array,
    to_numpy,
)


def argument_error(fn: str, name: str, expected: str, found: str,
                   exc: type[Exception] = ValueError, *, must: str = "be") -> Exception:
    """The one wording of a bad-argument error, for ``raise``.

    ``raise argument_error("softmax", "axis", "an integer", "'1'", TypeError)``
    raises ``TypeError("softmax: argument 'axis' must be an integer; found '1'")``.
    `expected` completes "must be ..." (``must="have"``: "must have ...") and
    `found` completes "found ...": name the offending value, type, shape or
    index there.
    """
    return exc(f"{fn}: argument {name!r} must {must} {expected}; found {found}")


def check_real_numeric(x, xp, fn: str, name: str):
    """Reject complex and non-numeric arrays (integers and booleans pass)."""
    kind = dtype_kind(x.dtype, xp)
    if kind in ("complex", "non-numeric"):
        raise argument_error(fn, name, "real numbers (a floating, integer or boolean dtype)",
                             f"{kind} dtype {dtype_name(x.dtype)}", TypeError, must="hold")


def check_bool(value: Any, fn: str, name: str) -> bool:
    """A Python or NumPy bool (not a truthy string or number)."""
    if not isinstance(value, (bool, np.bool_)):
        raise argument_error(fn, name, "True or False", repr(value), TypeError)
    return bool(value)


def check_int(value: Any, fn: str, name: str, *, lo: int | None = None) -> int:
    """An integer (Python or NumPy, or a 0-d integer array; not a bool, not a float)
    that is >= `lo` when given."""
    if isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_:
        raise argument_error(fn, name, "an integer", repr(value), TypeError)
    if not isinstance(value, numbers.Integral):
        v = None
        if getattr(value, "ndim", None) == 0:  # a 0-d integer array (NumPy's has __index__)
            try:
                v = operator.index(value)
            except TypeError:
                v = None
        if v is None:
            raise argument_error(fn, name, "an integer", repr(value), TypeError)
        value = v
    if lo is not None and value < lo:
        raise argument_error(fn, name, f"an integer >= {lo}", repr(value))
    return int(value)


def check_count(value: Any, fn: str, name: str, *, minimum: int = 1,
                expected: str = "an integer >= 1", too_small: str | None = None) -> int:
    """An integer (Python or NumPy, not a bool) of at least `minimum`: a size or a count.

    The messages read ``"{fn}: argument '{name}' must be {expected}; found ..."``
    (:func:`argument_error`), with `too_small` in place of `expected` for an
    integer below `minimum`.
    """
    if isinstance(value, (bool, np.bool_)):
        raise argument_error(fn, name, expected, f"the bool {value!r}", TypeError)
    try:
        v = operator.index(value)
    except TypeError:
        raise argument_error(fn, name, expected, f"{type(value).__name__} {value!r}",
                             TypeError) from None
    if v < minimum:
        raise argument_error(fn, name, too_small or expected, str(v))
    return v


def check_float(x, xp, fn: str, name: str):
    """Reject integer, boolean and complex arrays with a TypeError."""
    dt = x.dtype
    kind = dtype_kind(dt, xp)
    if kind != "floating":
        raise argument_error(
            fn, name, "a real floating dtype (float16, float32, float64 or longdouble)",
            f"{kind} dtype {dtype_name(dt)}. Convert it first, e.g. x.astype('float32').",
            TypeError, must="have")


def float_dtype_name(dtype: Any, fn: str, name: str = "dtype") -> str:
    """``"float32"`` or ``"float64"`` from a dtype argument: a name, ``np.float32``,
    ``np.dtype("float64")``, ..."""
    try:
        found = None if dtype is None or isinstance(dtype, bool) else np.dtype(dtype).name
    except TypeError:
        found = None
    if found not in ("float32", "float64"):
        raise argument_error(fn, name, "'float32' or 'float64'", repr(dtype))
    return found


def compute_dtype(x, xp):
    """float16 (and bfloat16, where a library has it) is computed in float32; other
    floating dtypes as they are."""
    f16 = getattr(xp, "float16", None)  # the array API standard has no float16
    if f16 is not None and x.dtype == f16 or dtype_name(x.dtype) == "bfloat16":
        return xp.float32
    return x.dtype


def normalize_axis(axis: Any, ndim: int, fn: str, name: str = "axis", *,
                   array: str = "x") -> int:
    """`axis` as a non-negative axis of an `ndim`-d array (`array` names the array).

    Out of range is :class:`numpy.exceptions.AxisError` (a ValueError and an
    IndexError), as for NumPy and SciPy.
    """
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise argument_error(fn, name, "an integer", repr(axis), TypeError)
    if ndim == 0:
        raise ValueError(
            f"{fn}: argument {array!r} must have at least one dimension (for {name}="
            f"{int(axis)}); found a 0-d array"
        )
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{fn}: argument {name!r}={axis} is out of range for an array with {ndim} "
            f"dimension{'s' if ndim != 1 else ''}; expected an integer in [{-ndim}, {ndim - 1}]"
        )
    return int(axis) % ndim


def normalize_axes(axis: Any, ndim: int, fn: str, name: str = "axis") -> tuple:
    """`axis` as a sorted tuple of distinct non-negative axes of an `ndim`-d array.

    Accepts an integer, a tuple or list of integers (possibly empty), or None
    (every axis), as ``scipy.special.logsumexp`` and ``softmax`` do.
    """
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (tuple, list)):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{fn}: argument {name!r} must be an integer, a tuple of integers "
                            f"or None; found {axis!r}")
        if ndim == 0 and axis in (0, -1):
            return ()  # a 0-d array is its own only slice (as in PyTorch and SciPy)
        return (normalize_axis(axis, ndim, fn, name),)
    out = []
    for a in axis:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{fn}: argument {name!r} must be an integer, a tuple of integers "
                            f"or None; found {axis!r}, which holds {a!r}")
        if ndim == 0 and a in (0, -1):
            continue
        if not -ndim <= a < ndim:
            dims = (f"[{-ndim}, {ndim - 1}]" if ndim else
                    "{0, -1} (a 0-d array is its own only slice)")
            raise np.exceptions.AxisError(
                f"{fn}: argument {name!r}={tuple(axis)!r} holds {a}, which is out of range for "
                f"an array with {ndim} dimension{'s' if ndim != 1 else ''}; expected integers "
                f"in {dims}")
        a = int(a) % ndim
        if a in out:
            raise ValueError(f"{fn}: argument {name!r}={tuple(axis)!r} names axis {a} twice; "
                             "expected distinct axes")
        out.append(a)
    return tuple(sorted(out))


def check_number(value: Any, fn: str, name: str) -> float:
    """A real number (Python or NumPy, or a 0-d real array; not a bool) as a float.

    Only the type is checked; NaN and inf pass (callers check the range).
    """
    if type(value) is float or type(value) is int:  # the usual call, without the ABC check
        return float(value)
    if getattr(value, "ndim", None) == 0 and getattr(value, "dtype", None) is not None \
            and getattr(value.dtype, "kind", "f") in "iuf":
        value = value.item() if hasattr(value, "item") else float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise argument_error(fn, name, "a real number", repr(value), TypeError)
    return float(value)


def check_real_scalar(value: Any, fn: str, name: str, *, lo=None, hi=None,
                      lo_open=False, hi_open=False) -> float:
    """A finite real Python number within [lo, hi] (open ends where asked)."""
    v = check_number(value, fn, name)
    bad = not math.isfinite(v)
    if lo is not None:
        bad |= v <= lo if lo_open else v < lo
    if hi is not None:
        bad |= v >= hi if hi_open else v > hi
    if bad:
        if lo is None and hi is None:
            raise argument_error(fn, name, "a finite number", repr(value))
        lb = "(" if lo_open or lo is None else "["  # an infinite end is never in the range
        rb = ")" if hi_open or hi is None else "]"
        rng = f"{lb}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{rb}"
        raise argument_error(fn, name, f"a finite number in {rng}", repr(value))
    return v


def first_true_index(mask, shape: tuple) -> tuple:
    """Index (a tuple) of the first True of a boolean array, in `shape`."""
    m = to_numpy(mask).reshape(-1)
    flat = int(np.flatnonzero(m)[0])
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def check_entries(bad, a, xp, fn: str, name: str, expected: str, *, offset: int = 0) -> None:
    """Raise :func:`argument_error` naming the first entry of `a` where the boolean
    mask `bad` (shaped like `a`) is True, with its value.

    `offset` is added to the first index: `a` is then a block of rows of the
    argument, starting at row `offset`.  One host synchronisation when nothing
    is bad.
    """
    if not any_true(bad, xp):
        return
    shape = tuple(a.shape)
    idx = first_true_index(bad, shape)
    value = float(to_numpy(a[idx])) if shape else float(to_numpy(a))
    if shape:
        idx = (idx[0] + offset, *idx[1:])
    where = f" at index {fmt_index(idx)}" if shape else ""
    raise argument_error(fn, name, expected, f"{value!r}{where}")


def int64_labels(labels, xp):
    """Integer labels as int64, the one dtype they are compared in: a narrow dtype
    cannot hold the class numbers and ignore_index they meet (uint8 labels for 300
    classes wrap around, -100 overflows them on array-API libraries), and some
    libraries cannot compare unsigned ones (torch's uint16 to uint64)."""
    return labels if labels.dtype == xp.int64 else xp.astype(labels, xp.int64)


def fmt_index(idx: tuple) -> str:
    return "(" + ", ".join(str(i) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def any_true(mask, xp) -> bool:
    """Host-side bool of xp.any(mask) (one synchronisation on a GPU)."""
    if isinstance(mask, np.ndarray):
        return bool(mask.any())
    return bool(xp.any(mask))


@contextlib.contextmanager
def quiet(xp):
    """Silence NumPy's floating-point warnings where inf/NaN are handled on purpose."""
    # array-api-strict computes with NumPy underneath; CuPy never warns.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        yield


def check_row_max(m, xp, fn: str, name: str, batch_shape: tuple) -> None:
    """Raise for rows whose maximum is NaN (a NaN somewhere) or +inf.

    `m` holds the maximum along the class axis, shaped like the batch.  Checking
    the maximum instead of the whole array costs one small reduction.
    """
    bad = xp.isnan(m) | (m == math.inf)
    if any_true(bad, xp):
        idx = first_true_index(bad, batch_shape)
        value = to_numpy(m).reshape(batch_shape)[idx] if batch_shape else to_numpy(m)
        what = "NaN" if math.isnan(float(value)) else "+inf"
        raise ValueError(
            f"{fn}: argument {name!r} contains {what} in the slice at index "
            f"{fmt_index(idx)} of the non-class axes; expected finite values "
            f"(or -inf for masked classes)"
        )


def check_choice(value: Any, choices, fn: str, name: str) -> Any:
    """`value` if it is one of the strings `choices`; the house error otherwise."""
    if isinstance(value, str) and value in choices:
        return value
    raise argument_error(fn, name, "one of " + ", ".join(repr(c) for c in choices),
                         repr(value))


def same_device(a, x, fn: str, name: str, x_name: str = "x") -> None:
    """Raise unless array `a` (argument `name`) lives on the device of `x`."""
    da, dx = device_of(a), device_of(x)
    if da != dx:
        raise argument_error(fn, name, f"on the device of {x_name!r} ({dx})", f"device {da}")


def where_mask(where: Any, x, xp, fn: str, *, x_name: str = "x",
               class_axis: int | tuple | None = None, shape: tuple | None = None):
    """`where` as a boolean array of `x`'s shape (None stays None).

    JAX's rule: `where` broadcasts against `x`.  With `class_axis` (the
    cross-entropy's, as in optax) a mask with one dimension fewer than `x` is
    a mask of positions, given the class axis before broadcasting (with a
    tuple of class axes, one dimension fewer per axis).  `shape` stands for
    ``x.shape`` when `x` was reshaped (its device still counts).
    """
    axes = (class_axis,) if isinstance(class_axis, int) else class_axis
    if where is None:
        return None
    w = as_array(plain_array(where, fn, "where"), xp, fn, "where")
    kind = dtype_kind(w.dtype, xp)
    if kind != "boolean":
        raise argument_error(fn, "where", "a boolean array (True for the entries to "
                             "include)", f"{kind} dtype {dtype_name(w.dtype)}", TypeError)
    same_device(w, x, fn, "where", x_name)
    shape = tuple(x.shape) if shape is None else tuple(shape)
    found = f"shape {tuple(w.shape)}"
    if axes is not None and w.ndim == len(shape) - len(axes):
        for a in sorted(axes):
            w = xp.expand_dims(w, axis=a)
    if tuple(w.shape) != shape:
        expected = f"broadcastable to the shape of {x_name!r} {shape}"
        if axes is not None:
            batch = tuple(s for i, s in enumerate(shape) if i not in axes)
            which = "axis" if len(axes) == 1 else "axes"
            expected += (f", or to its shape without the class {which} {batch} (a mask of "
                         "positions)")
        if w.ndim > len(shape):
            raise argument_error(fn, "where", expected, found)
        try:
            w = xp.broadcast_to(w, shape)
        except (ValueError, TypeError):
            raise argument_error(fn, "where", expected, found) from None
    return w
