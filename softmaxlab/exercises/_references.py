"""The reference solutions: plain float64 NumPy and :mod:`math`, written apart from the library.

The checkers compare the reader's answer with these, so they must not share code
with :mod:`softmaxlab.special` or :mod:`softmaxlab.losses` (a bug there would
then pass unnoticed).  Each is the textbook formula with the max shift; the
tests compare them with SciPy, PyTorch, explicit loops and central differences.
"""

from __future__ import annotations

import math

import numpy as np


def f64(x) -> np.ndarray:
    """`x` as a float64 NumPy array."""
    return np.asarray(x, dtype=np.float64)


def shift(x):
    """Each row minus its maximum (the last axis)."""
    return x - x.max(axis=-1, keepdims=True)


def log_softmax(x) -> np.ndarray:
    x = f64(x)
    s = shift(x)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def softmax(x) -> np.ndarray:
    e = np.exp(shift(f64(x)))
    return e / e.sum(axis=-1, keepdims=True)


def mask(labels, ignore):
    """(kept, safe): which labels count, and the labels with ignored ones set to 0."""
    labels = np.asarray(labels)
    kept = np.ones(labels.shape, dtype=bool) if ignore is None else labels != ignore
    return kept, np.where(kept, labels, 0)


def onehot(labels, n_classes) -> np.ndarray:
    return np.eye(n_classes)[np.asarray(labels)]


def cross_entropy(logits, labels, ignore=None) -> np.ndarray:
    kept, safe = mask(labels, ignore)
    nll = -log_softmax(logits)[np.arange(len(safe)), safe]
    with np.errstate(invalid="ignore"):  # every label ignored: the mean of nothing
        return np.asarray((nll * kept).sum() / kept.sum())


def cross_entropy_grad(logits, labels, ignore=None) -> np.ndarray:
    kept, safe = mask(labels, ignore)
    p = softmax(logits)
    with np.errstate(invalid="ignore"):
        return (p - onehot(safe, p.shape[-1])) * kept[:, None] / kept.sum()


def hinge(scores, labels) -> np.ndarray:
    s = f64(scores)
    n = len(labels)
    sy = s[np.arange(n), labels][:, None]
    m = np.maximum(0.0, s - sy + 1.0)
    m[np.arange(n), labels] = 0.0
    return np.asarray(m.sum(axis=1).mean())


def sigmoid(x) -> np.ndarray:
    x = f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bigram_nll(ids, vocab_size, *, fit=None, axis=1, smooth=0.0) -> np.ndarray:
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


def bigram_loss(ids, vocab_size) -> np.ndarray:
    return np.asarray(bigram_nll(ids, vocab_size).mean())


def perplexity(loss) -> tuple:
    """(perplexity, bits per token) of a mean loss in nats."""
    return np.asarray(math.exp(loss)), np.asarray(loss / math.log(2))


def inner_product_backward(x, W, dh) -> tuple:
    """(dx, dW, db) of h = x W^T + b, W of shape (M, D) (Caffe's layout), given dL/dh."""
    x, W, dh = f64(x), f64(W), f64(dh)
    return dh @ W, dh.T @ x, dh.sum(axis=0)


def softmax_backward(p, g) -> np.ndarray:
    """dL/dz = J^T g for p = softmax(z) along the last axis: p * (g - sum(p * g))."""
    p, g = f64(p), f64(g)
    return p * (g - (p * g).sum(axis=-1, keepdims=True))


def crammer_singer(scores, labels, margin) -> np.ndarray:
    """The mean of max(0, max_{j != y} s_j - s_y + margin) over the examples."""
    s = f64(scores)
    rows = np.arange(len(labels))
    others = s.copy()
    others[rows, labels] = -np.inf
    return np.asarray(np.maximum(0.0, others.max(axis=1) - s[rows, labels] + margin).mean())
