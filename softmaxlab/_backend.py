"""The array backend: where new arrays live, and which namespace a call uses.

Two ideas, kept apart:

* The *backend* (``"numpy"`` or ``"cupy"``; ``"array_api_strict"`` for testing)
  decides where **new** arrays are created: :func:`asarray`, the data sets and
  parameter initialisation.  It is set with :func:`set_backend`, temporarily with
  :func:`use_backend`, or by the environment variable ``SOFTMAXLAB_BACKEND``.
* Every numerical function infers the array namespace from its **inputs**
  (NumPy in, NumPy out; CuPy in, CuPy out), whatever the backend says.

CuPy is imported only when the CuPy backend is asked for, or when a CuPy array is
passed in (in which case the caller has imported it already).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "BACKENDS",
    "set_backend",
    "get_backend",
    "use_backend",
    "asarray",
    "to_numpy",
    "array_namespace",
    "is_numpy_namespace",
    "is_cupy_namespace",
]

#: Valid backend names. ``"array_api_strict"`` is a testing backend: a minimal,
#: strict implementation of the array API that catches NumPy-only idioms.
BACKENDS = ("numpy", "cupy", "array_api_strict")

_ENV_VAR = "SOFTMAXLAB_BACKEND"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "softmaxlab_backend", default=None
)
_explicit_default: list[str | None] = [None]


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(
            f"{where}: unknown backend {name!r}; expected one of "
            f"{', '.join(repr(b) for b in BACKENDS)}"
        )
    return name.lower()


#: The CuPy module whose device check passed (the query costs a driver call, and
#: ``asarray`` on the CuPy backend would repeat it on every call).
_cupy_checked: list[Any] = [None]


def _import_cupy(where: str):
    """Import CuPy and check that a CUDA device is there; clear errors if not.

    The check runs once per CuPy module: a success is remembered (a failure is
    not, so a machine that gains a device is seen the next time).
    """
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError(
            f"{where}: the 'cupy' backend needs CuPy, which is not installed. "
            "Install the wheel matching your CUDA toolkit: "
            "pip install 'softmaxlab[cuda12]' (cupy-cuda12x) or "
            "pip install 'softmaxlab[cuda13]' (cupy-cuda13x)."
        ) from exc
    if _cupy_checked[0] is cupy:
        return cupy
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError, or a missing driver library
        raise RuntimeError(
            f"{where}: CuPy {cupy.__version__} is installed but no CUDA device "
            f"could be used ({type(exc).__name__}: {exc}). Use the 'numpy' backend "
            "on this machine."
        ) from exc
    if n < 1:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            f"{where}: CuPy {cupy.__version__} is installed but found no CUDA device. "
            "Use the 'numpy' backend on this machine."
        )
    _cupy_checked[0] = cupy
    return cupy


def _import_strict(where: str):
    try:
        import array_api_strict
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            f"{where}: the 'array_api_strict' backend needs the package "
            "array-api-strict (pip install array-api-strict)."
        ) from exc
    return array_api_strict


def set_backend(name: str) -> None:
    """Set the backend on which new arrays are created.

    Parameters
    ----------
    name : {"numpy", "cupy", "array_api_strict"}
        ``"cupy"`` imports CuPy and checks that a CUDA device is available.

    Raises
    ------
    ValueError
        If `name` is not a known backend (the message lists the valid ones).
    ImportError
        If the CuPy backend is asked for but CuPy is not installed.
    RuntimeError
        If CuPy is installed but no CUDA device can be used.

    Examples
    --------
    >>> import softmaxlab as sml
    >>> sml.set_backend("numpy")
    >>> sml.get_backend()
    'numpy'
    """
    name = _check_name(name, "set_backend")
    _load(name, "set_backend")
    _explicit_default[0] = name
    _current.set(None)


def get_backend() -> str:
    """Return the name of the current backend.

    The current backend is, in order: the innermost :func:`use_backend` block,
    the last :func:`set_backend`, the environment variable
    ``SOFTMAXLAB_BACKEND``, and otherwise ``"numpy"``.
    """
    name = _current.get()
    if name is not None:
        return name
    if _explicit_default[0] is not None:
        return _explicit_default[0]
    env = os.environ.get(_ENV_VAR)
    if env:
        name = _check_name(env.strip(), f"environment variable {_ENV_VAR}")
        _load(name, f"environment variable {_ENV_VAR}")
        return name
    return "numpy"


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Context manager that switches the backend inside a ``with`` block.

    Examples
    --------
    >>> import softmaxlab as sml
    >>> with sml.use_backend("numpy"):
    ...     x = sml.asarray([1.0, 2.0])
    >>> type(x).__module__
    'numpy'
    """
    name = _check_name(name, "use_backend")
    _load(name, "use_backend")
    token = _current.set(name)
    try:
        yield name
    finally:
        _current.reset(token)


def _load(name: str, where: str):
    if name == "numpy":
        return np
    if name == "cupy":
        return _import_cupy(where)
    return _import_strict(where)


def backend_module(name: str | None = None):
    """The raw module of a backend (``numpy``, ``cupy`` or ``array_api_strict``)."""
    name = get_backend() if name is None else _check_name(name, "backend_module")
    return _load(name, "backend_module")


def asarray(x: Any, dtype: Any = None):
    """Create an array on the current backend (a copy only where needed).

    `dtype` may be a NumPy dtype or its name (``"float32"``); it is translated
    to the backend's own dtype.

    Examples
    --------
    >>> import softmaxlab as sml
    >>> sml.asarray([[1, 2], [3, 4]], dtype="float32").dtype
    dtype('float32')
    """
    return convert(x, dtype, fn="asarray", name="x")


def _type_name(x: Any) -> str:
    return type(x).__name__


def _check_convertible(x: Any, fn: str, name: str) -> None:
    """Raise a clear error for Python objects that are not numbers or nested lists of them.

    Arrays of any library pass unchecked; everything else is tried with NumPy
    first, so ragged lists, ``None``, strings and dicts are named in the message
    instead of surfacing as NumPy's own error or as a silent object array.
    """
    from array_api_compat import is_array_api_obj

    if is_array_api_obj(x):
        return
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{fn}: argument {name!r} must be an array or a (nested) list of numbers with "
            f"rows of equal length; found {_type_name(x)} that NumPy cannot convert ({exc})"
        ) from None
    if a.dtype.kind in "OUSV":
        raise TypeError(
            f"{fn}: argument {name!r} must be an array or a (nested) list of numbers; "
            f"found {_type_name(x)} {_short_repr(x)}"
        )


def _short_repr(x: Any) -> str:
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."


def convert(x: Any, dtype: Any = None, *, fn: str = "asarray", name: str = "x"):
    """:func:`asarray` whose messages name the calling function `fn` and argument `name`."""
    x = plain_array(x, fn, name)  # a masked array refused, a foreign byte order made native
    _check_convertible(x, fn, name)
    mod = backend_module()
    if dtype is not None:
        dtype = _backend_dtype(mod, dtype, fn)
    if mod is np:
        return np.asarray(to_numpy(x) if _is_foreign(x) else x, dtype=dtype)
    if _is_foreign(x, mod):
        x = to_numpy(x)
    return mod.asarray(x, dtype=dtype)


def _backend_dtype(mod, dtype, fn: str = "asarray"):
    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"{fn}: argument 'dtype' must be a NumPy dtype or its name "
                        f"(e.g. 'float32'); found {dtype!r}") from None
    if mod is np:
        return np.dtype(name)
    if mod.__name__ == "cupy":
        return np.dtype(name)
    if not hasattr(mod, name):  # e.g. array_api_strict has no float16
        raise TypeError(f"{fn}: argument 'dtype' must be a dtype of the current backend "
                        f"{mod.__name__}; found {name}, which it does not have")
    return getattr(mod, name)


def _is_foreign(x: Any, mod=np) -> bool:
    """True when `x` is an array of another library than `mod`."""
    m = type(x).__module__.split(".")[0]
    return m in ("cupy", "array_api_strict", "numpy") and m != mod.__name__.split(".")[0]


def to_numpy(x: Any) -> np.ndarray:
    """Bring any array (NumPy, CuPy, array-api-strict) back as a NumPy array.

    Python scalars and lists are converted with :func:`numpy.asarray`.

    Examples
    --------
    >>> import softmaxlab as sml
    >>> sml.to_numpy(sml.asarray([1.5, 2.5]))
    array([1.5, 2.5])
    """
    mod = type(x).__module__.split(".")[0]
    if mod not in ("cupy", "array_api_strict", "numpy"):
        _check_convertible(x, "to_numpy", "x")
    if mod == "cupy":
        return x.get()
    if mod == "array_api_strict":
        # Move to the CPU device, then hand the buffer over with DLPack, the
        # array API's way (NumPy's implicit conversion refuses other devices).
        cpu = type(x).__array_namespace__(x).__array_namespace_info__().default_device()
        if x.device != cpu:
            x = x.to_device(cpu)
        return np.from_dlpack(x)
    return np.asarray(x)


# --------------------------------------------------------------------- array kinds
# One rule per kind of array, for every public function: call plain_array on
# each array argument first, build new arrays with the *_on helpers (on the
# device of an input), and index with as_indices.

def plain_array(x: Any, fn: str, name: str, *, where_hint: bool = False) -> Any:
    """`x` ready to compute with: a masked array refused, a foreign byte order made native.

    * ``numpy.ma`` masked arrays raise ``TypeError``: the project neither
      honours a mask nor silently computes with the masked values.  The message
      names `fn` and `name` and suggests ``where=`` (when `where_hint`, for the
      functions that take one) or ``.filled(...)``.
    * NumPy arrays in non-native byte order (``'>f4'`` on a little-endian
      machine) become native copies (:func:`native_byte_order`), so that
      big-endian float16 is computed in float32 like native float16 and the
      fast paths that test ``dtype == float32`` take them.

    Anything else (lists, scalars, arrays of other libraries) is returned as it is.

    Examples
    --------
    >>> import numpy as np
    >>> plain_array(np.array([1.0, 2.0], dtype=">f8"), "f", "x").dtype.isnative
    True
    """
    if not isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.ma.MaskedArray):
        from ._validation import argument_error  # _validation imports this module

        n = int(np.ma.count_masked(x))
        how = ("pass the mask as where=~x.mask, or fill the masked entries first with "
               "x.filled(value)") if where_hint else \
            "fill the masked entries first with x.filled(value)"
        raise argument_error(
            fn, name, f"a plain array, not a numpy.ma masked array (masks are neither "
            f"honoured nor ignored; {how})",
            f"a MaskedArray of shape {x.shape} with {n} masked "
            f"entr{'y' if n == 1 else 'ies'}", TypeError)
    return native_byte_order(x)


def native_byte_order(x: np.ndarray) -> np.ndarray:
    """A NumPy array in the machine's byte order (a copy only where it is not).

    Examples
    --------
    >>> import numpy as np
    >>> native_byte_order(np.zeros(2, dtype=">f2")).dtype == np.float16
    True
    """
    dt = x.dtype
    return x if dt.isnative else x.astype(dt.newbyteorder("="))


def device_of(x: Any) -> Any:
    """The device of array `x` (``"cpu"`` for NumPy), as ``array_api_compat.device``."""
    from array_api_compat import device

    return device(x)


def _create(xp, like, make):
    """Run ``make(kwargs)`` so that the new array lands on the device of `like`.

    CuPy's namespace ignores ``device=`` (array-api-compat documents it), so the
    device is entered as a context instead; every other library takes ``device=``.
    """
    dev = device_of(like)
    if is_cupy_namespace(xp):
        with dev:
            return make({})
    return make({"device": dev})


def full_on(like: Any, shape: Any, fill_value: Any, *, xp, dtype: Any = None):
    """``xp.full(shape, fill_value)`` on the device of `like`, with its dtype by default."""
    dtype = like.dtype if dtype is None else dtype
    return _create(xp, like, lambda kw: xp.full(shape, fill_value, dtype=dtype, **kw))


def zeros_on(like: Any, shape: Any, *, xp, dtype: Any = None):
    """``xp.zeros(shape)`` on the device of `like`, with its dtype by default."""
    dtype = like.dtype if dtype is None else dtype
    return _create(xp, like, lambda kw: xp.zeros(shape, dtype=dtype, **kw))


def empty_on(like: Any, shape: Any, *, xp, dtype: Any = None):
    """``xp.empty(shape)`` on the device of `like`, with its dtype by default."""
    dtype = like.dtype if dtype is None else dtype
    return _create(xp, like, lambda kw: xp.empty(shape, dtype=dtype, **kw))


def arange_on(like: Any, start: Any, stop: Any = None, step: Any = 1, *, xp,
              dtype: Any = None):
    """``xp.arange(start, stop, step)`` on the device of `like`.

    The dtype defaults to the platform's index type (:func:`index_dtype`), so
    the result can index or ``take`` directly, on 32-bit builds too.
    """
    dtype = index_dtype(xp, like) if dtype is None else dtype
    return _create(xp, like, lambda kw: xp.arange(start, stop, step, dtype=dtype, **kw))


def index_dtype(xp, like: Any = None) -> Any:
    """The integer dtype `xp` indexes with: ``intp`` for NumPy and CuPy.

    ``intp`` is 32 bits on 32-bit builds of NumPy (wasm32 in Pyodide
    included), where ``take`` refuses int64 indices.  Other libraries give
    their ``"indexing"`` default dtype (array API inspection), on the device
    of `like` when given.
    """
    if is_numpy_namespace(xp) or is_cupy_namespace(xp):
        return _INTP
    info = xp.__array_namespace_info__()
    device = None if like is None else device_of(like)
    dt = info.default_dtypes(device=device)["indexing"]
    # array_api_strict says int64 everywhere but hands the indices to NumPy,
    # whose take refuses int64 where intp is 32 bits (wasm32: chapter 7).
    if getattr(xp, "__name__", "") == "array_api_strict" and _INTP.itemsize < 8:
        return getattr(xp, f"int{8 * _INTP.itemsize}")
    return dt


#: NumPy's index type (a name of its own so that tests can play wasm32).
_INTP = np.dtype(np.intp)


def as_indices(i: Any, xp) -> Any:
    """Integer array `i` in :func:`index_dtype` (no copy when it already is)."""
    dt = index_dtype(xp, i)
    return i if i.dtype == dt else xp.astype(i, dt)


def array_namespace(*arrays: Any, fn: str = "softmaxlab"):
    """The array-API namespace shared by `arrays` (``None`` entries are skipped).

    Raises ``TypeError`` naming both array types when NumPy and CuPy (or any two
    libraries) are mixed in one call.  Inputs that are not arrays (lists,
    Python scalars) are ignored for the inference; when no argument is an
    array, the current backend's namespace is returned.
    """
    # Fast path: NumPy arrays only (the common CPU case; saves ~10 us per call).
    if all(a is None or type(a) is np.ndarray for a in arrays) and any(
            a is not None for a in arrays):
        return _numpy_namespace()
    from array_api_compat import array_namespace as _ns
    from array_api_compat import is_array_api_obj

    arrs = [a for a in arrays if a is not None and is_array_api_obj(a)]
    if not arrs:
        return _ns(asarray(0.0))
    libs: dict[str, str] = {}
    for a in arrs:
        t = type(a)
        libs.setdefault(t.__module__.split(".")[0], f"{t.__module__}.{t.__qualname__}")
    if len(libs) > 1:
        raise TypeError(
            f"{fn}: cannot mix arrays from different libraries in one call; got "
            + " and ".join(sorted(libs.values()))
            + ". Move them to one backend first (softmaxlab.asarray or softmaxlab.to_numpy)."
        )
    return _ns(*arrs)


@functools.cache
def _numpy_namespace():
    """array-api-compat's NumPy namespace (what ``array_namespace`` gives NumPy)."""
    from array_api_compat import array_namespace as _ns

    return _ns(np.empty(0))


def is_numpy_namespace(xp) -> bool:
    """Whether `xp` is NumPy (or array-api-compat's NumPy wrapper)."""
    return xp.__name__ in ("numpy", "array_api_compat.numpy")


def is_cupy_namespace(xp) -> bool:
    """Whether `xp` is CuPy (or array-api-compat's CuPy wrapper)."""
    return xp.__name__ in ("cupy", "array_api_compat.cupy")


# --------------------------------------------------------------------- conversion
# Array conversion and dtype queries (moved here from _validation, which keeps
# the names importable): every public function turns its array arguments into
# arrays of one namespace with these.

def as_array(x: Any, xp, fn: str, name: str):
    """`x` as an array of namespace `xp` (lists and scalars are converted)."""
    if type(x) is np.ndarray and x.dtype.isnative:
        return x
    if isinstance(x, np.ndarray):
        return plain_array(x, fn, name)
    from array_api_compat import is_array_api_obj

    if is_array_api_obj(x):
        return x
    _check_convertible(x, fn, name)
    try:
        return xp.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        from ._validation import argument_error  # _validation imports this module

        raise argument_error(fn, name, "an array or array_like", type(x).__name__,
                             TypeError) from exc


def namespace_and_array(x: Any, fn: str, name: str = "x", *others: Any,
                        float_like: bool = False):
    """The namespace inferred from `x` (and `others`), and `x` as an array of it.

    With ``float_like=True``, a Python list or number of integers (``[1, 2, 3]``)
    becomes a float64 array, as ``scipy.special`` reads it: it carries no dtype
    the caller chose.  Arrays are never converted.
    """
    converted = False
    if isinstance(x, np.ndarray) and (type(x) is not np.ndarray or not x.dtype.isnative):
        x = plain_array(x, fn, name)  # a masked array refused, a foreign byte order made native
    if type(x) is not np.ndarray:
        from array_api_compat import is_array_api_obj

        if not is_array_api_obj(x):
            x, converted = convert(x, fn=fn, name=name), True
    xp = array_namespace(x, *others, fn=fn)
    if converted and float_like and dtype_kind(x.dtype, xp) == "integer":
        x = xp.astype(x, xp.float64)
    return xp, x


def dtype_name(dt) -> str:
    """A dtype's plain name (``float64``), the same for every array library."""
    if dt is None:
        return "None"
    name = getattr(dt, "name", None)
    return name if isinstance(name, str) else str(dt).rsplit(".", 1)[-1]


_NP_KINDS = {"b": "boolean", "f": "floating", "i": "integer", "u": "integer", "c": "complex"}


def dtype_kind(dt, xp) -> str:
    """'floating', 'integer', 'boolean', 'complex' or 'non-numeric' for a dtype of `xp`."""
    if isinstance(dt, np.dtype):  # NumPy and CuPy: read the kind code directly
        return _NP_KINDS.get(dt.kind, "non-numeric")
    if dt == xp.bool:
        return "boolean"
    for kind, name in (("real floating", "floating"), ("integral", "integer"),
                       ("complex floating", "complex")):
        try:
            if xp.isdtype(dt, kind):
                return name
        except (TypeError, ValueError):  # object/string dtypes in NumPy's wrapper
            break
    return "non-numeric"
