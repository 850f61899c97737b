"""The library's indexing where NumPy's index type is 32 bits (wasm32, the browser).

In Pyodide, ``np.take`` with int64 indices raises "Cannot cast array data from
dtype('int64') to dtype('int32') according to the rule 'safe'".  These tests
play that machine here: ``softmaxlab._backend._INTP`` is set to int32 and
``np.take`` refuses indices that are not int32, as it does there.  Chapter 7
(training on array_api_strict) and chapter 8 (``linear_cross_entropy``) failed
that way in the browser before the fixes these tests pin.
"""

from __future__ import annotations

import numpy as np
import pytest

import softmaxlab as sml
from softmaxlab import _backend


@pytest.fixture
def wasm32_take(monkeypatch):
    monkeypatch.setattr(_backend, "_INTP", np.dtype(np.int32))
    real_take = np.take
    seen = []

    def take(a, indices, *args, **kwargs):
        idx = np.asarray(indices)
        if idx.dtype.kind in "iu" and idx.dtype.itemsize > 4:
            raise TypeError("Cannot cast array data from dtype('int64') to "
                            "dtype('int32') according to the rule 'safe'")
        seen.append(idx.dtype)
        return real_take(a, indices, *args, **kwargs)

    monkeypatch.setattr(np, "take", take)
    # array_api_compat's NumPy namespace holds its own reference to np.take
    # (which namespace a call gets can depend on what ran before).
    compat_np = pytest.importorskip("array_api_compat.numpy")
    if getattr(compat_np, "take", None) is real_take:
        monkeypatch.setattr(compat_np, "take", take)
    return seen


def test_the_fixture_refuses_int64(wasm32_take):
    with pytest.raises(TypeError, match="int64"):
        np.take(np.arange(3.0), np.array([0, 1], dtype=np.int64))


def test_index_dtype_of_array_api_strict_follows_intp(wasm32_take):
    xps = pytest.importorskip("array_api_strict")
    assert _backend.index_dtype(xps) == xps.int32
    assert _backend.index_dtype(np) == np.int32


def test_training_on_array_api_strict_with_32_bit_indices(wasm32_take):
    pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 64))
    y = rng.integers(0, 10, size=200).astype(np.int64)
    with sml.use_backend("array_api_strict"):
        X, y = sml.asarray(X), sml.asarray(y)
        net = sml.Net([sml.InnerProduct(64, 10, seed=0)], loss=sml.SoftmaxWithLoss())
        hist = sml.train(net, sml.SGD(net.params, lr=0.5), (X, y),
                         iterations=3, batch_size=32, seed=0)
    assert len(hist.loss) == 3 and np.all(np.isfinite(hist.loss))
    assert wasm32_take and all(dt == np.int32 for dt in wasm32_take)


@pytest.mark.parametrize("chunk", [4, 11, None])  # tiles of the vocabulary, rows, all
@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_linear_cross_entropy_with_32_bit_indices(wasm32_take, backend, chunk):
    pytest.importorskip(backend)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((7, 5))
    w = rng.standard_normal((11, 5))
    y = rng.integers(0, 11, size=7).astype(np.int64)
    with sml.use_backend(backend):
        loss = sml.linear_cross_entropy(sml.asarray(h), sml.asarray(w), sml.asarray(y),
                                        chunk_size=chunk)
    z = h @ w.T
    m = z.max(axis=1, keepdims=True)
    ref = np.mean(np.log(np.exp(z - m).sum(axis=1)) + m[:, 0] - z[np.arange(7), y])
    np.testing.assert_allclose(float(sml.to_numpy(loss)), ref, rtol=1e-12)
    assert all(dt == np.int32 for dt in wasm32_take)
    if backend == "array_api_strict" and chunk == 4:  # the generic tile path gathers
        assert wasm32_take
