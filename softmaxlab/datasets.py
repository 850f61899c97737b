r"""Small data sets for the book and the tests, and the helpers that cut them up.

Every data set is generated (or loaded) in NumPy with a seeded
:func:`numpy.random.default_rng`, and only then moved to the current backend
with :func:`softmaxlab.asarray`.  NumPy, CuPy and array-api-strict runs therefore
see *identical* numbers.  Labels are always ``int64``.  Nothing is downloaded at
run time: the handwritten digits ship with scikit-learn.

* :func:`load_digits` -- the 8x8 handwritten digits (10 classes, 1,797 images).
* :func:`make_spirals` -- the CS231n toy set: ``num_classes`` interleaved spirals
  in the plane, which no linear classifier separates.
* :func:`make_gaussian_clusters` -- one Gaussian blob per class, for any number of
  classes (1,000 for ImageNet-sized experiments).
* :func:`minibatches` -- a seeded, shuffling minibatch iterator (one epoch).
* :func:`train_val_split` -- a deterministic, optionally stratified split.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, asarray, to_numpy
from ._sampling import as_generator, check_same_rows, num_rows, take_rows
from ._text import CharVocabulary, context_windows, load_tiny_shakespeare

__all__ = [
    "CharVocabulary",
    "context_windows",
    "load_tiny_shakespeare",
    "load_digits",
    "make_spirals",
    "make_gaussian_clusters",
    "minibatches",
    "train_val_split",
]


# --------------------------------------------------------------------------- helpers
def _check_dtype(dtype: Any, fn: str) -> str:
    return V.float_dtype_name(dtype, fn)


def _check_count(value: Any, name: str, fn: str) -> int:
    """A count of at least 1 (sizes, numbers of classes, batch sizes)."""
    return V.check_int(value, fn, name, lo=1)


def _check_real(value: Any, name: str, fn: str) -> float:
    return V.check_real_scalar(value, fn, name, lo=0.0)


def _finish(X: np.ndarray, y: np.ndarray, dtype: str):
    """Move a NumPy data set onto the current backend."""
    return asarray(np.ascontiguousarray(X), dtype=dtype), asarray(
        np.ascontiguousarray(y), dtype="int64"
    )


# --------------------------------------------------------------------------- data sets
def load_digits(*, dtype: Any = "float64", normalize: bool = True):
    r"""The 8x8 handwritten digits of scikit-learn (10 classes, 1,797 images).

    The images are the UCI "Optical Recognition of Handwritten Digits" set, as
    shipped inside scikit-learn (no download).  Each row of `X` is one image,
    flattened row by row into 64 pixel intensities.

    Parameters
    ----------
    dtype : {"float64", "float32"}, optional
        Floating dtype of `X`.
    normalize : bool, optional
        If True (default), divide the pixel counts (integers 0..16) by 16, so
        that every feature lies in :math:`[0, 1]`.  If False, return the raw
        counts as floats.

    Returns
    -------
    X : array, shape (1797, 64)
        Pixel intensities, on the current backend.
    y : array of int64, shape (1797,)
        The digit shown, 0..9.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (it is an optional dependency: install
        it with ``pip install scikit-learn`` or ``pip install 'softmaxlab[book]'``).
    ValueError
        For an unsupported dtype.

    Examples
    --------
    >>> from softmaxlab.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape, str(y.dtype)
    ((1797, 64), (1797,), 'int64')
    >>> float(X.min()), float(X.max()), int(y.max()) + 1
    (0.0, 1.0, 10)
    """
    dtype = _check_dtype(dtype, "load_digits")
    normalize = V.check_bool(normalize, "load_digits", "normalize")
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits: the handwritten digits ship with scikit-learn, which is not "
            "installed. Install it with `pip install scikit-learn` (or the book extra: "
            "`pip install 'softmaxlab[book]'`)."
        ) from exc
    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    if normalize:
        X = X / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    return _finish(X, y, dtype)


def make_spirals(
    n_per_class: int = 100,
    num_classes: int = 3,
    *,
    noise: float = 0.2,
    seed: Any = 0,
    dtype: Any = "float64",
):
    r"""The CS231n spiral data set: `num_classes` interleaved arms in the plane.

    Arm :math:`k` has `n_per_class` points at radii :math:`r_i` evenly spaced in
    :math:`[0, 1]` and angles

    .. math::

        \theta_i = 4k + 4 r_i + \varepsilon_i, \qquad
        \varepsilon_i \sim \mathcal N(0, \mathtt{noise}^2),

    at :math:`x_i = (r_i \sin\theta_i,\; r_i \cos\theta_i)`.  No linear classifier
    separates the arms; a network with one hidden layer does.

    Parameters
    ----------
    n_per_class : int, optional
        Points per class (>= 1).
    num_classes : int, optional
        Number of arms (>= 1).
    noise : float, optional
        Standard deviation of the angular noise (>= 0).
    seed : int or numpy.random.Generator, optional
        Seed of the NumPy generator; the same seed gives the same data on
        every backend.
    dtype : {"float64", "float32"}, optional
        Floating dtype of `X`.

    Returns
    -------
    X : array, shape (n_per_class * num_classes, 2)
    y : array of int64, shape (n_per_class * num_classes,)
        Points are grouped by class: the first `n_per_class` rows are class 0.

    Examples
    --------
    >>> from softmaxlab.datasets import make_spirals
    >>> X, y = make_spirals(50, 3, seed=0)
    >>> X.shape, [int((y == k).sum()) for k in range(3)]
    ((150, 2), [50, 50, 50])
    >>> bool(abs(X).max() <= 1.0)
    True
    """
    fn = "make_spirals"
    n_per_class = _check_count(n_per_class, "n_per_class", fn)
    num_classes = _check_count(num_classes, "num_classes", fn)
    noise = _check_real(noise, "noise", fn)
    dtype = _check_dtype(dtype, fn)
    rng = as_generator(seed, fn)
    N, K = n_per_class, num_classes
    X = np.empty((N * K, 2), dtype=np.float64)
    y = np.empty(N * K, dtype=np.int64)
    r = np.linspace(0.0, 1.0, N)
    for k in range(K):
        t = np.linspace(4.0 * k, 4.0 * (k + 1), N) + noise * rng.standard_normal(N)
        X[k * N : (k + 1) * N, 0] = r * np.sin(t)
        X[k * N : (k + 1) * N, 1] = r * np.cos(t)
        y[k * N : (k + 1) * N] = k
    return _finish(X, y, dtype)


def make_gaussian_clusters(
    n_samples: int,
    num_classes: int,
    dim: int,
    *,
    separation: float = 3.0,
    seed: Any = 0,
    dtype: Any = "float64",
):
    r"""One isotropic Gaussian blob per class, for any number of classes.

    Class :math:`k` has its centre :math:`\mu_k` drawn uniformly on the sphere
    of radius `separation` in :math:`\mathbb R^{\mathtt{dim}}`; a sample of class
    :math:`k` is :math:`x = \mu_k + z` with :math:`z \sim \mathcal N(0, I)`.
    Two random centres lie about :math:`\sqrt 2\,\mathtt{separation}` apart when
    `dim` is large, while the noise has unit standard deviation along any
    direction, so the classes overlap less as `separation` grows.

    The labels are balanced (class sizes differ by at most one) and come in a
    random order.

    Parameters
    ----------
    n_samples : int
        Total number of samples (>= 1).
    num_classes : int
        Number of classes (>= 1), e.g. 1000 for an ImageNet-sized output layer.
    dim : int
        Dimension of each sample (>= 1).
    separation : float, optional
        Distance of every class centre from the origin (>= 0).  0 gives one
        blob for all classes: nothing to learn.
    seed : int or numpy.random.Generator, optional
        Seed of the NumPy generator; the same seed gives the same data on
        every backend.
    dtype : {"float64", "float32"}, optional
        Floating dtype of `X`.

    Returns
    -------
    X : array, shape (n_samples, dim)
    y : array of int64, shape (n_samples,)

    Examples
    --------
    >>> from softmaxlab.datasets import make_gaussian_clusters
    >>> X, y = make_gaussian_clusters(3000, 1000, 16, seed=0)
    >>> X.shape, int(y.min()), int(y.max())
    ((3000, 16), 0, 999)
    """
    fn = "make_gaussian_clusters"
    n_samples = _check_count(n_samples, "n_samples", fn)
    num_classes = _check_count(num_classes, "num_classes", fn)
    dim = _check_count(dim, "dim", fn)
    separation = _check_real(separation, "separation", fn)
    dtype = _check_dtype(dtype, fn)
    rng = as_generator(seed, fn)
    centres = rng.standard_normal((num_classes, dim))
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    centres = separation * centres / np.where(norms > 0, norms, 1.0)
    y = rng.permutation(np.arange(n_samples, dtype=np.int64) % num_classes)
    X = centres[y.astype(np.intp)] + rng.standard_normal((n_samples, dim))
    return _finish(X, y, dtype)


# --------------------------------------------------------------------------- cutting up
def minibatches(
    X: Any,
    y: Any,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: Any = 0,
    drop_last: bool = False,
) -> Iterator[tuple[Any, Any]]:
    r"""Iterate once over ``(X, y)`` in minibatches (one epoch).

    The order is a permutation drawn from ``numpy.random.default_rng(seed)``,
    so it is the same on every backend; the rows are then gathered with the
    array API's ``take`` on the arrays' own namespace (no copy to the host).
    Pass a :class:`numpy.random.Generator` as `seed` to draw a fresh order
    each epoch from one stream (this is what :func:`softmaxlab.training.train`
    does).

    Parameters
    ----------
    X : array, shape (n, ...)
        Inputs, one row per sample.
    y : array, shape (n, ...) or None
        Targets, one row per sample; None yields ``(xb, None)``.
    batch_size : int
        Rows per batch (>= 1).  The last batch is smaller when `batch_size`
        does not divide `n`, unless `drop_last`.
    shuffle : bool, optional
        Shuffle the rows (default) or keep their order.
    seed : int or numpy.random.Generator, optional
        Seed of the shuffling.
    drop_last : bool, optional
        Skip the last, incomplete batch.

    Yields
    ------
    xb, yb : arrays
        Batches of the same namespace and dtype as `X` and `y` (slices of
        them when ``shuffle=False``; the iterator never writes into them).

    Raises
    ------
    ValueError
        If `X` and `y` have different numbers of rows, or `batch_size` < 1.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.datasets import minibatches
    >>> X = np.arange(10.0).reshape(5, 2); y = np.arange(5)
    >>> [yb.tolist() for _, yb in minibatches(X, y, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(int(v) for _, yb in minibatches(X, y, 2, seed=1) for v in yb)
    [0, 1, 2, 3, 4]
    """
    # Checked now, not at the first next(): the iterator itself is _batches.
    fn = "minibatches"
    X, y = _rows_arrays(X, y, fn)
    n = num_rows(X, fn, "X") if y is None else check_same_rows(X, y, fn)
    batch_size = _check_count(batch_size, "batch_size", fn)
    shuffle = V.check_bool(shuffle, fn, "shuffle")
    drop_last = V.check_bool(drop_last, fn, "drop_last")
    order = as_generator(seed, fn).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return _batches(X, y, order, stop, batch_size)


def _rows_arrays(X: Any, y: Any, fn: str) -> tuple[Any, Any]:
    """`X` and `y` (None allowed) as arrays of one library: lists converted, masked
    arrays refused, mixed libraries refused up front."""
    X = V.namespace_and_array(X, fn, "X")[1]
    if y is None:
        return X, None
    y = V.namespace_and_array(y, fn, "y")[1]
    array_namespace(X, y, fn=fn)
    return X, y


def _batches(X: Any, y: Any, order: np.ndarray, stop: int, batch_size: int):
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        if idx.size == 0:
            break
        yield take_rows(X, idx), (None if y is None else take_rows(y, idx))


def train_val_split(
    X: Any,
    y: Any,
    val_fraction: float = 0.2,
    *,
    seed: Any = 0,
    stratify: bool = True,
):
    r"""Split ``(X, y)`` into a training and a validation part, deterministically.

    With `stratify` (default) every class is split on its own, so that each
    class keeps (up to rounding) the same share in both parts: class :math:`k`
    with :math:`n_k` samples sends :math:`\operatorname{round}(f\, n_k)` of them to
    validation, where :math:`f` is `val_fraction`.  Without it, a random
    :math:`\operatorname{round}(f\, n)` samples go to validation.  Both parts keep
    the original row order.

    Parameters
    ----------
    X : array, shape (n, ...)
    y : array of integer labels, shape (n,)
        Labels (needed for stratification; any targets when ``stratify=False``).
    val_fraction : float, optional
        Share of the samples for validation, strictly between 0 and 1.
    seed : int or numpy.random.Generator, optional
        Seed of the NumPy generator that picks the validation rows.
    stratify : bool, optional
        Split each class separately (needs integer labels `y`).

    Returns
    -------
    X_train, X_val, y_train, y_val : arrays
        In the namespace of the inputs (the order of scikit-learn's
        ``train_test_split``).

    Raises
    ------
    ValueError
        If `val_fraction` is not in (0, 1), if either part would be empty, or if
        `X` and `y` have different numbers of rows.
    TypeError
        If ``stratify=True`` and `y` does not hold integer labels.

    Examples
    --------
    >>> from softmaxlab.datasets import make_spirals, train_val_split
    >>> X, y = make_spirals(50, 3)
    >>> X_tr, X_va, y_tr, y_va = train_val_split(X, y, 0.2, seed=0)
    >>> X_tr.shape, X_va.shape, [int((y_va == k).sum()) for k in range(3)]
    ((120, 2), (30, 2), [10, 10, 10])
    """
    fn = "train_val_split"
    X, y = _rows_arrays(X, y, fn)
    n = check_same_rows(X, y, fn)
    f = V.check_real_scalar(val_fraction, fn, "val_fraction", lo=0.0, hi=1.0,
                            lo_open=True, hi_open=True)
    stratify = V.check_bool(stratify, fn, "stratify")
    rng = as_generator(seed, fn)
    is_val = np.zeros(n, dtype=bool)
    if stratify:
        labels = to_numpy(y)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise V.argument_error(
                fn, "y", "a 1-D array of integer labels when stratify=True (pass "
                "stratify=False to split any targets)",
                f"dtype {labels.dtype} and shape {labels.shape}", TypeError)
        for k in np.unique(labels):
            members = np.flatnonzero(labels == k)
            m = int(round(f * members.size))
            is_val[rng.choice(members, size=m, replace=False)] = True
    else:
        m = int(round(f * n))
        is_val[rng.choice(n, size=m, replace=False)] = True
    n_val = int(is_val.sum())
    if n_val == 0 or n_val == n:
        raise V.argument_error(
            fn, "val_fraction", f"a fraction of the {n} samples that leaves both parts "
            "non-empty", f"{f}, which leaves {n - n_val} for training and {n_val} for "
            "validation (use more data or another val_fraction)")
    tr, va = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    return take_rows(X, tr), take_rows(X, va), take_rows(y, tr), take_rows(y, va)
