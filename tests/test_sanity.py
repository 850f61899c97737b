"""Tests of softmaxlab.sanity.overfit_batch: the check passes healthy nets and
flags broken ones (a cut gradient, too little capacity, a diverging learning
rate, dead ReLUs), without touching the caller's net unless asked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmaxlab.layers import InnerProduct, Layer, ReLU, SoftmaxWithLoss
from softmaxlab.net import Net
from softmaxlab.sanity import OverfitResult, overfit_batch

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 8))
Y = RNG.integers(0, 5, size=20)


class CutGradient(Layer):
    """Identity forward, zero backward: no gradient reaches the layers below."""

    def _setup(self, input_shape):
        return input_shape

    def _forward(self, x):
        return x, True

    def _backward(self, dy, cache):
        return dy * 0.0


def mlp(hidden=32, cut=False, bias_value=0.0):
    layers = [InnerProduct(8, hidden, seed=0, bias_value=bias_value), ReLU(),
              InnerProduct(hidden, 5, seed=1)]
    if cut:
        layers.append(CutGradient())
    return Net(layers, loss=SoftmaxWithLoss())


def test_healthy_net_passes():
    res = overfit_batch(mlp(), X, Y)
    assert isinstance(res, OverfitResult)
    assert res.verdict == "passed" and res.ok and bool(res)
    assert res.accuracy == 1.0
    assert res.final_loss < res.target_loss == pytest.approx(0.02 * math.log(5))
    assert res.loss[0] == pytest.approx(mlp().forward(X, Y))
    assert len(res.loss) == 200
    assert str(res).startswith("passed: on 20 examples the loss went from")


def test_cut_gradient_is_stuck():
    res = overfit_batch(mlp(cut=True), X, Y)
    assert res.verdict == "stuck" and not res
    assert res.loss[-1] == pytest.approx(res.loss[0])
    assert "no gradient reaches the weights" in res.message


def test_dead_relus_are_flagged():
    # every hidden unit starts with a bias of -100: all dead, only the last
    # layer's biases can learn (the class frequencies of the batch)
    res = overfit_batch(mlp(bias_value=-100.0), X, Y)
    assert res.verdict == "stuck" and "dead ReLUs" in res.message
    freq = np.bincount(Y, minlength=5) / len(Y)
    entropy = -(freq[freq > 0] * np.log(freq[freq > 0])).sum()
    assert res.final_loss == pytest.approx(entropy, abs=1e-2)


def test_too_little_capacity_underfits():
    res = overfit_batch(mlp(hidden=1), X, Y)
    assert res.verdict == "underfit"
    assert res.accuracy < 1.0
    assert "too little capacity" in res.message


def test_huge_learning_rate_diverges():
    res = overfit_batch(mlp(), 1e3 * X, Y, lr=1e6)
    assert res.verdict == "diverged"
    assert not math.isfinite(res.loss[-1])
    assert "lower the learning rate" in res.message


def test_the_callers_net_is_untouched_unless_inplace():
    net = mlp()
    before = [p.data.copy() for p in net.params]
    overfit_batch(net, X, Y, iterations=5)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.params))
    overfit_batch(net, X, Y, iterations=5, inplace=True)
    assert not np.array_equal(before[0], net.params[0].data)


def test_target_loss_decides():
    res = overfit_batch(mlp(), X, Y, iterations=3, target_loss=100.0)
    assert res.verdict == "underfit"          # loss small enough, accuracy not 1
    assert overfit_batch(mlp(), X, Y, target_loss=1.0).verdict == "passed"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"lr": 0.0}, ValueError, r"argument 'lr' must be a number > 0; found 0\.0"),
    ({"lr": "0.1"}, TypeError, r"argument 'lr' must be a real number; found '0.1'"),
    ({"momentum": 1.0}, ValueError, r"argument 'momentum' must be a number in \[0, 1\)"),
    ({"iterations": 0}, ValueError, r"argument 'iterations' must be an integer >= 1; found 0"),
    ({"target_loss": -1.0}, ValueError, r"argument 'target_loss' must be a number > 0"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match="overfit_batch: " + match):
        overfit_batch(mlp(), X, Y, **kwargs)


def test_bad_net_and_batch():
    with pytest.raises(TypeError, match=r"overfit_batch: argument 'net' must be a Net"):
        overfit_batch(object(), X, Y)
    with pytest.raises(TypeError, match=r"argument 'net' must be a Net with a loss layer; found "
                                        r"Net\(\.\.\., loss=None\)"):  # as train says it
        overfit_batch(Net([InnerProduct(8, 5)]), X, Y)
    with pytest.raises(TypeError, match=r"argument 'net' must be a Net with a loss layer; found "
                                        r"InnerProduct \(a layer: wrap it"):
        overfit_batch(InnerProduct(8, 5), X, Y)
    with pytest.raises(ValueError, match=r"argument 'y' must be 20 labels .*shape \(19,\)"):
        overfit_batch(mlp(), X, Y[:19])
    with pytest.raises(ValueError, match=r"argument 'X' must be an array of shape \(N, \.\.\.\)"):
        overfit_batch(mlp(), X[0], Y[:1])


def test_runs_on_another_backend():
    pytest.importorskip("array_api_strict")
    from softmaxlab import asarray, use_backend

    with use_backend("array_api_strict"):
        net = mlp()
        res = overfit_batch(net, asarray(X), asarray(Y))
    ref = overfit_batch(mlp(), X, Y)
    assert res.verdict == ref.verdict == "passed"
    assert res.loss[:5] == pytest.approx(ref.loss[:5], rel=1e-10)


def test_a_loss_weight_of_zero_is_refused():
    net = Net([InnerProduct(8, 5)], loss=SoftmaxWithLoss(loss_weight=0))
    with pytest.raises(ValueError, match=r"overfit_batch: argument 'net' must be a net whose loss layer "
                                         r"has loss_weight > 0"):
        overfit_batch(net, X, Y)
