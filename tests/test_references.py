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
