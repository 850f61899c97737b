"""softmaxlab against outside references: scikit-learn's logistic regression, and ln(1000).

1. A multinomial logistic regression (one InnerProduct + SoftmaxWithLoss, L2
   weight decay on W only) trained with softmaxlab's SGD must land on the same
   optimum as scikit-learn's ``LogisticRegression`` (lbfgs, multinomial).
2. An untrained 1,000-class network with small weights must start at the
   uniform-guess loss ln(1000) = 6.907755, as the article says.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from softmaxlab.datasets import load_digits, make_gaussian_clusters, train_val_split
from softmaxlab.diagnostics import baseline_loss, diagnose
from softmaxlab.layers import InnerProduct, ReLU, SoftmaxWithLoss
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.training import train


def _objective(W, b, X, y, C):
    """scikit-learn's objective divided by n*C: mean cross-entropy + ||W||^2 / (2 n C)."""
    z = X @ W.T + b
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = X.shape[0]
    return -logp[np.arange(n), y].mean() + (W**2).sum() / (2 * n * C)


def test_logistic_regression_matches_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # Small matrices: BLAS threads only add contention (tens of seconds on a busy
    # 2-core machine), so both fits run single-threaded.
    with threadpool_limits(limits=1):
        _compare_with_scikit_learn(LogisticRegression)


def _compare_with_scikit_learn(LogisticRegression):
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_val_split(X, y, 0.25, seed=0)
    mu, sd = X_tr.mean(0), X_tr.std(0)
    sd[sd == 0] = 1.0  # constant pixels (always blank) stay 0
    X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    n, C = X_tr.shape[0], 0.1

    # scikit-learn minimises C * sum_i CE_i + ||W||^2 / 2 (intercept not penalised),
    # i.e. (divided by n C) the mean cross-entropy + ||W||^2 / (2 n C).  lbfgs is
    # multinomial by default (newer versions deprecate/remove `multi_class`).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X_tr, y_tr)

    # The same objective in softmaxlab: SGD's L2 term is (weight_decay / 2) ||W||^2,
    # and InnerProduct biases have decay_mult = 0, so weight_decay = 1 / (n C).
    # C = 0.1 (moderate) keeps the problem well conditioned, so that 300 full-batch
    # momentum steps reach the optimum; C = 1 needs about 1,500.
    net = Net([InnerProduct(64, 10, filler="constant", value=0.0)], loss=SoftmaxWithLoss())
    assert net.params[1].decay_mult == 0
    opt = SGD(net.params, lr=2.0, momentum=0.9, weight_decay=1.0 / (n * C))
    hist = train(net, opt, (X_tr, y_tr), iterations=300, batch_size=None, log_every=300)
    assert hist.diagnosis.verdict == "learning"
    W, b = net.params[0].data, net.params[1].data

    # Both optimisers converge to the same (strictly convex) optimum, so the
    # tolerances are set by convergence, not by the model: at the time of
    # writing the objectives agreed to ~1e-14 and the probabilities to ~6e-7.
    # The bounds leave two orders of magnitude for other BLAS/sklearn versions.
    f_ours, f_ref = _objective(W, b, X_tr, y_tr, C), _objective(ref.coef_, ref.intercept_, X_tr, y_tr, C)
    assert f_ours == pytest.approx(f_ref, rel=1e-8, abs=1e-10)
    P, P_ref = net.predict_proba(X_te), ref.predict_proba(X_te)
    assert np.abs(P - P_ref).max() < 1e-4
    np.testing.assert_allclose(W, ref.coef_, atol=1e-3)
    # Test accuracy within 1 percentage point (here it is identical: about 0.958).
    acc, acc_ref = np.mean(P.argmax(1) == y_te), ref.score(X_te, y_te)
    assert abs(acc - acc_ref) <= 0.01
    assert acc > 0.9


def test_untrained_thousand_class_net_starts_at_ln_1000():
    K = 1000
    X, y = make_gaussian_clusters(512, K, 64, seed=0)
    net = Net([InnerProduct(64, 128, filler="gaussian", std=0.01, seed=0), ReLU(),
               InnerProduct(128, K, filler="gaussian", std=0.01, seed=1)],
              loss=SoftmaxWithLoss())
    loss = net.forward(X, y)
    assert baseline_loss(K) == pytest.approx(6.907755, abs=1e-6)
    assert abs(loss - math.log(K)) < 0.01
    # on a random input too, not only on the clusters
    Z = np.random.default_rng(1).standard_normal((256, 64))
    assert abs(net.forward(Z, np.arange(256) % K) - math.log(K)) < 0.01
    # and the diagnosis of a run that stays there is "stalled"
    assert diagnose([loss] * 5, K).verdict == "stalled"


# --------------------------------------------------------------------------- #
# 3. Accuracy of the cross-entropy to the last bits (mpmath), beside PyTorch's
# --------------------------------------------------------------------------- #
import mpmath  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import softmaxlab as sml  # noqa: E402

from .conftest import torch_or_skip  # noqa: E402


def _mp_nll(row, y) -> float:
    """-log softmax(row)_y with 60 significant digits."""
    with mpmath.workdps(60):
        return float(mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v)) - float(row[y]))
                                            for v in row)))


def _confident_rows(seed, n, c, dtype, gap_hi=60.0):
    """Rows whose label wins by a gap of 3 to `gap_hi` (the loss is tiny), shifted."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(n, c))
    y = rng.integers(0, c, n)
    z[np.arange(n), y] = z.max(axis=1) + rng.uniform(3.0, gap_hi, n)
    z += rng.uniform(-400.0, 400.0, (n, 1)) if dtype == "float64" else rng.uniform(-40, 40, (n, 1))
    return z.astype(dtype), y


def _paths(z, y, reduction="none"):
    """The NumPy fast path, the NumPy general path (weights), the array-API reference path."""
    import array_api_strict as xps

    c = z.shape[1]
    yield "fast", np.asarray(sml.cross_entropy(z, y, reduction=reduction))
    yield "weighted", np.asarray(sml.cross_entropy(z, y, weight=np.ones(c, z.dtype),
                                                   reduction=reduction))
    yield "reference", sml.to_numpy(sml.cross_entropy(xps.asarray(z), xps.asarray(y),
                                                      reduction=reduction))


def test_the_issue_example_is_accurate_to_the_last_bits():
    z = np.array([[300.0, 270.0, 269.0], [10.0, -25.0, -26.0]])
    y = np.array([0, 0])
    ref = np.array([_mp_nll(r, 0) for r in z])
    for name, got in _paths(z, y):
        np.testing.assert_allclose(got, ref, rtol=4e-16, err_msg=name)


@pytest.mark.torch
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), c=st.integers(2, 40))
def test_float64_confident_rows_as_accurate_as_pytorch(seed, c):
    """Relative error against mpmath at most 4x PyTorch's (floor: one ulp), every path."""
    torch = torch_or_skip()
    z, y = _confident_rows(seed, 16, c, "float64")
    ref = np.array([_mp_nll(r, t) for r, t in zip(z, y)])
    tl = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(y),
                                           reduction="none").numpy()
    torch_err = np.abs(tl - ref) / ref
    bound = 4 * np.maximum(torch_err, np.finfo(np.float64).eps)
    for name, got in _paths(z, y):
        err = np.abs(got - ref) / ref
        assert (err <= bound).all(), (name, err.max(), torch_err.max())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), c=st.sampled_from([2, 3, 10, 100, 1000]),
       dtype=st.sampled_from(["float32", "float64"]), gap=st.sampled_from([5.0, 20.0, 60.0]))
def test_cross_entropy_is_never_negative(seed, c, dtype, gap):
    """Confident rows in float32 / float64: every per-row loss and every sum is >= 0."""
    z, y = _confident_rows(seed, 300, c, dtype, gap_hi=gap)
    for name, rows in _paths(z, y):
        assert (rows >= 0).all(), (name, rows.min())
    for name, total in _paths(z, y, reduction="sum"):
        assert total >= 0, (name, total)
    loss, grad = sml.cross_entropy_with_grad(z, y, reduction="sum")
    assert loss >= 0
    assert (grad[np.arange(len(y)), y] <= 0).all()  # p_y - 1 <= 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_confident_batch_sums_to_a_non_negative_loss(dtype):
    """The issue's case: 4096 confident rows summed gave -1.5e-5 where PyTorch gives 0."""
    z, y = _confident_rows(1, 4096, 1000, dtype, gap_hi=40.0)
    total = float(sml.cross_entropy(z, y, reduction="sum"))
    ref = sum(_mp_nll(r, t) for r, t in zip(z[:64].astype(np.float64), y[:64]))
    assert total >= 0
    rows64 = np.asarray(sml.cross_entropy(z[:64].astype(np.float64), y[:64], reduction="none"))
    np.testing.assert_allclose(rows64.sum(), ref, rtol=1e-14)
