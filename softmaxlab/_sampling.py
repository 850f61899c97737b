"""Shared helpers for drawing and gathering rows: seeded generators, row counts,
and row selection with the platform's index type.

Used by :mod:`softmaxlab.datasets`, :mod:`softmaxlab.training` and
:mod:`softmaxlab.layers` (none of them borrows another's private helpers).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, index_dtype


def as_generator(seed: Any, fn: str, name: str = "seed", *,
                 allow_none: bool = False) -> np.random.Generator:
    """A NumPy Generator from a Generator or a non-negative integer (or None if allowed).

    Results are reproducible by design, so None (fresh entropy) is refused
    unless `allow_none` (the layers' fillers, whose default seed is None).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    ok_none = allow_none and seed is None
    if not ok_none and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
                        or seed < 0):
        what = "None, a non-negative integer" if allow_none else "a non-negative integer"
        hint = "" if allow_none else " (results are reproducible by design: pass an explicit seed)"
        raise V.argument_error(fn, name, f"{what} or a numpy.random.Generator",
                               f"{seed!r}{hint}", TypeError)
    return np.random.default_rng(None if seed is None else int(seed))


def num_rows(a: Any, fn: str, name: str) -> int:
    """The number of rows (samples) of an array; a clear error for a 0-d array or a non-array."""
    shape = getattr(a, "shape", None)
    if shape is None or len(shape) == 0:
        raise V.argument_error(fn, name, "an array with one row per sample",
                               f"{type(a).__name__} with shape {shape}")
    return int(shape[0])


def index_array(idx: np.ndarray, xp, device: Any = None):
    """NumPy indices as an index array of `xp` in its index dtype, on `device`."""
    idx = np.asarray(idx).astype(np.intp, copy=False)
    dt = index_dtype(xp)
    if device is None:
        return xp.asarray(idx, dtype=dt)
    try:
        return xp.asarray(idx, dtype=dt, device=device)
    except TypeError:  # namespaces without a device keyword
        return xp.asarray(idx, dtype=dt)


def take_rows(a: Any, idx: np.ndarray):
    """``a[idx]`` along axis 0 for NumPy indices `idx`, written for any array-API namespace.

    The indices are converted to the namespace's index dtype first: ``take``
    with int64 indices fails where the index type is 32 bits (wasm32 NumPy in
    the browser, 32-bit builds).
    """
    xp = array_namespace(a, fn="softmaxlab.datasets")
    idx = np.asarray(idx)
    if idx.size and np.all(np.diff(idx) == 1):
        return a[int(idx[0]) : int(idx[-1]) + 1, ...]
    return xp.take(a, index_array(idx, xp, getattr(a, "device", None)), axis=0)


def check_same_rows(X: Any, y: Any, fn: str, names: tuple[str, str] = ("X", "y")) -> int:
    """The number of rows of `X`, after checking that `y` has as many."""
    n, ny = num_rows(X, fn, names[0]), num_rows(y, fn, names[1])
    if n != ny:
        raise V.argument_error(fn, names[1], f"an array with one row per sample of {names[0]}",
                               f"X with {n} rows and y with {ny}")
    return n
