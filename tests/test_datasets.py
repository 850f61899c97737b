"""Tests of softmaxlab.datasets: the data sets, the minibatch iterator and the split."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmaxlab as sml
from softmaxlab.datasets import (
    load_digits,
    make_gaussian_clusters,
    make_spirals,
    minibatches,
    train_val_split,
)


# --------------------------------------------------------------------------- load_digits
def test_load_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits as sk_load

    ref = sk_load()
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, ref.data / 16.0)
    np.testing.assert_array_equal(y, ref.target)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(np.unique(y).tolist()) == list(range(10))
    Xr, _ = load_digits(normalize=False, dtype="float32")
    assert Xr.dtype == np.float32 and Xr.max() == 16.0
    np.testing.assert_array_equal(Xr, ref.data.astype(np.float32))


def test_load_digits_without_sklearn_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    with pytest.raises(ImportError, match=r"pip install scikit-learn.*softmaxlab\[book\]"):
        load_digits()


@pytest.mark.parametrize("bad", ["int32", "float16", "banana", None])
def test_load_digits_bad_dtype(bad):
    with pytest.raises(ValueError, match="load_digits: argument 'dtype' must be 'float32' or 'float64'"):
        load_digits(dtype=bad)


def test_load_digits_bad_normalize():
    with pytest.raises(TypeError, match="normalize"):
        load_digits(normalize="yes")


# --------------------------------------------------------------------------- spirals
def test_spirals_geometry_is_the_cs231n_construction():
    N, K = 40, 4
    X, y = make_spirals(N, K, noise=0.0)
    assert X.shape == (N * K, 2) and y.dtype == np.int64
    r = np.linspace(0.0, 1.0, N)
    for k in range(K):
        arm = X[y == k]
        assert arm.shape == (N, 2)
        # radius is exactly the linspace; without noise the angle is 4k + 4r
        np.testing.assert_allclose(np.hypot(arm[:, 0], arm[:, 1]), r, atol=1e-15)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), N)
        np.testing.assert_allclose(arm[1:], np.c_[r * np.sin(t), r * np.cos(t)][1:], atol=1e-15)


def test_spirals_seeded_and_noisy():
    a, ya = make_spirals(50, 3, noise=0.2, seed=3)
    b, yb = make_spirals(50, 3, noise=0.2, seed=3)
    c, _ = make_spirals(50, 3, noise=0.2, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)
    # noise changes angles, never radii
    np.testing.assert_allclose(np.hypot(c[:50, 0], c[:50, 1]), np.linspace(0, 1, 50), atol=1e-15)
    assert make_spirals(5, 2, dtype="float32")[0].dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_per_class=0), ValueError, "argument 'n_per_class' must be an integer >= 1; found 0"),
        (dict(num_classes=2.5), TypeError, "argument 'num_classes' must be an integer; found 2.5"),
        (dict(noise=-0.1), ValueError, "noise"),
        (dict(seed=None), TypeError, "seed"),
        (dict(seed="x"), TypeError, "seed"),
    ],
)
def test_spirals_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_spirals(**kwargs)


# --------------------------------------------------------------------------- clusters
def test_gaussian_clusters_balanced_and_separated():
    X, y = make_gaussian_clusters(2000, 5, 8, separation=6.0, seed=1)
    assert X.shape == (2000, 8) and y.dtype == np.int64
    counts = np.bincount(y, minlength=5)
    assert counts.tolist() == [400] * 5
    means = np.stack([X[y == k].mean(0) for k in range(5)])
    # every centre lies on the sphere of radius `separation` (sample mean: sd 1/sqrt(400) per axis)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 6.0, atol=0.3)
    # far apart: the nearest sample mean classifies almost every point
    d = ((X[:, None, :] - means[None]) ** 2).sum(-1)
    assert (d.argmin(1) == y).mean() > 0.98


def test_gaussian_clusters_thousand_classes_and_zero_separation():
    X, y = make_gaussian_clusters(2500, 1000, 4, seed=0)
    counts = np.bincount(y, minlength=1000)
    assert counts.min() == 2 and counts.max() == 3  # sizes differ by at most one
    X0, _ = make_gaussian_clusters(20000, 3, 2, separation=0.0, seed=0)
    np.testing.assert_allclose(X0.mean(0), 0.0, atol=0.05)
    np.testing.assert_allclose(X0.std(0), 1.0, atol=0.05)


def test_gaussian_clusters_seeded():
    a = make_gaussian_clusters(100, 4, 3, seed=7)
    b = make_gaussian_clusters(100, 4, 3, seed=7)
    c = make_gaussian_clusters(100, 4, 3, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "args, kwargs, exc",
    [
        ((0, 3, 2), {}, ValueError),
        ((10, 0, 2), {}, ValueError),
        ((10, 3, 0), {}, ValueError),
        ((10, 3, 2), dict(separation=-1.0), ValueError),
        ((10, 3, 2), dict(separation=float("nan")), ValueError),
        ((10, True, 2), {}, TypeError),
    ],
)
def test_gaussian_clusters_bad_input(args, kwargs, exc):
    with pytest.raises(exc, match="make_gaussian_clusters"):
        make_gaussian_clusters(*args, **kwargs)


# --------------------------------------------------------------------------- minibatches
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_minibatches_cover_every_row_once_and_keep_pairs(n, batch_size, seed, shuffle, drop_last):
    X = np.arange(2.0 * n).reshape(n, 2)
    y = np.arange(n) * 10
    Xc, yc = X.copy(), y.copy()
    batches = list(minibatches(X, y, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last))
    sizes = [len(yb) for _, yb in batches]
    full = n // batch_size
    if drop_last:
        assert sizes == [batch_size] * full
    else:
        assert sizes[:full] == [batch_size] * full and sum(sizes) == n
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.zeros(0, int)
    assert len(np.unique(seen)) == len(seen)  # no row twice
    if not drop_last:
        assert sorted(seen.tolist()) == y.tolist()
    if not shuffle:
        assert seen.tolist() == y[: len(seen)].tolist()
    for xb, yb in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(xb[:, 0], yb / 5)
    np.testing.assert_array_equal(X, Xc)  # the caller's arrays are untouched
    np.testing.assert_array_equal(y, yc)


def test_minibatches_seeds_and_generators():
    X, y = np.zeros((20, 1)), np.arange(20)
    order = lambda seed: np.concatenate([yb for _, yb in minibatches(X, y, 6, seed=seed)])
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    np.testing.assert_array_equal(order(5), np.random.default_rng(5).permutation(20))
    rng = np.random.default_rng(0)
    first, second = order(rng), order(rng)  # one stream: a fresh order each epoch
    assert not np.array_equal(first, second)


def test_minibatches_without_labels():
    out = list(minibatches(np.ones((5, 2)), None, 2, shuffle=False))
    assert [xb.shape[0] for xb, _ in out] == [2, 2, 1] and all(yb is None for _, yb in out)


def test_minibatches_bad_input():
    with pytest.raises(ValueError, match="X with 5 rows and y with 4"):
        next(minibatches(np.ones((5, 2)), np.ones(4), 2))
    with pytest.raises(ValueError, match="argument 'batch_size' must be an integer >= 1; found 0"):
        next(minibatches(np.ones((5, 2)), np.ones(5), 0))
    with pytest.raises(TypeError, match="argument 'batch_size' must be an integer"):
        next(minibatches(np.ones((5, 2)), np.ones(5), 2.0))
    with pytest.raises(ValueError, match="one row per sample"):
        next(minibatches(np.float64(1.0), None, 2))


# --------------------------------------------------------------------------- split
def test_train_val_split_stratified_disjoint_and_deterministic():
    X, y = load_digits()
    ids = np.arange(len(y), dtype=np.float64)
    Xi = np.c_[ids, X]
    a = train_val_split(Xi, y, 0.25, seed=0)
    b = train_val_split(Xi, y, 0.25, seed=0)
    c = train_val_split(Xi, y, 0.25, seed=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])
    X_tr, X_va, y_tr, y_va = a
    tr, va = X_tr[:, 0].astype(int), X_va[:, 0].astype(int)
    assert not set(tr) & set(va) and sorted(np.r_[tr, va].tolist()) == list(range(len(y)))
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)  # original order kept
    np.testing.assert_array_equal(y_tr, y[tr])
    np.testing.assert_array_equal(X_va[:, 1:], X[va])
    # stratified: each class sends round(0.25 n_k) samples to validation
    expected = np.round(0.25 * np.bincount(y)).astype(int)
    np.testing.assert_array_equal(np.bincount(y_va, minlength=10), expected)


def test_train_val_split_unstratified_accepts_any_targets():
    X = np.arange(40.0).reshape(20, 2)
    P = np.full((20, 3), 1 / 3)
    X_tr, X_va, P_tr, P_va = train_val_split(X, P, 0.3, stratify=False, seed=2)
    assert X_va.shape == (6, 2) and P_tr.shape == (14, 3)


@pytest.mark.parametrize(
    "frac, exc, match",
    [(0.0, ValueError, r"argument 'val_fraction' must be a finite number in \(0.0, 1.0\); found 0.0"), (1.0, ValueError, r"in \(0.0, 1.0\); found 1.0"),
     (0.01, ValueError, "leaves both parts non-empty"), ("a", TypeError, "val_fraction")],
)
def test_train_val_split_bad_fraction(frac, exc, match):
    with pytest.raises(exc, match=match):
        train_val_split(np.ones((10, 2)), np.arange(10) % 2, frac)


def test_train_val_split_bad_labels():
    with pytest.raises(TypeError, match="argument 'y' must be a 1-D array of integer labels when stratify=True"):
        train_val_split(np.ones((10, 2)), np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="X with 10 rows and y with 9"):
        train_val_split(np.ones((10, 2)), np.arange(9))


# --------------------------------------------------------------------------- backends
def test_data_lands_on_array_api_strict_with_identical_values():
    xps = pytest.importorskip("array_api_strict")
    makers = [
        lambda: load_digits(dtype="float32"),
        lambda: make_spirals(20, 3, seed=1),
        lambda: make_gaussian_clusters(50, 7, 3, seed=2),
    ]
    for make in makers:
        Xn, yn = make()
        with sml.use_backend("array_api_strict"):
            Xs, ys = make()
        assert type(Xs).__module__.startswith("array_api_strict")
        assert ys.dtype == xps.int64 and Xs.dtype == getattr(xps, Xn.dtype.name)
        np.testing.assert_array_equal(sml.to_numpy(Xs), Xn)
        np.testing.assert_array_equal(sml.to_numpy(ys), yn)


def test_minibatches_and_split_on_array_api_strict():
    pytest.importorskip("array_api_strict")
    Xn, yn = make_spirals(10, 3, seed=0)
    with sml.use_backend("array_api_strict"):
        X, y = make_spirals(10, 3, seed=0)
    got = [(sml.to_numpy(xb), sml.to_numpy(yb)) for xb, yb in minibatches(X, y, 7, seed=3)]
    ref = list(minibatches(Xn, yn, 7, seed=3))
    assert len(got) == len(ref) == 5
    for (xs, ys), (xr, yr) in zip(got, ref):
        np.testing.assert_array_equal(xs, xr)
        np.testing.assert_array_equal(ys, yr)
    parts = train_val_split(X, y, 0.2, seed=0)
    assert all(type(p).__module__.startswith("array_api_strict") for p in parts)
    for s, r in zip(parts, train_val_split(Xn, yn, 0.2, seed=0)):
        np.testing.assert_array_equal(sml.to_numpy(s), r)


def test_mixing_libraries_is_refused():
    pytest.importorskip("array_api_strict")
    with sml.use_backend("array_api_strict"):
        X, _ = make_spirals(5, 2)
    with pytest.raises(TypeError, match="cannot mix"):
        next(minibatches(X, np.zeros(10, dtype=np.int64), 2))


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(2, 30), min_size=1, max_size=5),
    frac=st.floats(0.1, 0.9),
    seed=st.integers(0, 1000),
)
def test_train_val_split_property(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y), dtype=np.float64)[:, None]
    n_val = sum(int(round(frac * n_k)) for n_k in counts)
    if n_val in (0, len(y)):  # one part would be empty: refused with a clear error
        with pytest.raises(ValueError, match="leaves both parts non-empty"):
            train_val_split(X, y, frac, seed=seed)
        return
    X_tr, X_va, y_tr, y_va = train_val_split(X, y, frac, seed=seed)
    ids = np.r_[X_tr[:, 0], X_va[:, 0]].astype(int)
    assert sorted(ids.tolist()) == list(range(len(y)))  # a partition
    for k, n_k in enumerate(counts):
        assert int((y_va == k).sum()) == int(round(frac * n_k))  # stratified
