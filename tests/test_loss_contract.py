"""Tests of the loss layers' own contract: a sibling of Layer, initial_loss(K) as the
baseline that train and diagnose read, and NonFiniteScoresError for diverged scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmaxlab.datasets import make_spirals
from softmaxlab.diagnostics import diagnose
from softmaxlab.layers import (
    HingeLoss,
    InnerProduct,
    Layer,
    LossLayer,
    NonFiniteScoresError,
    SoftmaxWithLoss,
    _LayerBase,
)
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.training import train


class SquaredError(LossLayer):
    """A toy loss layer: 0.5 * sum over classes of (score - onehot)^2, averaged over rows."""

    def _initial_loss_per_sample(self, num_classes):
        return 0.5  # all scores 0: only the true class is off, by 1

    def _loss_and_grad(self, scores, labels):
        t = np.eye(scores.shape[1])[labels]
        n = scores.shape[0] if self.reduction == "mean" else 1
        loss = 0.5 * ((scores - t) ** 2).sum(axis=1)
        loss = loss if self.reduction == "none" else loss.sum() / n
        return np.asarray(loss), (scores - t) / n


def test_loss_layers_are_siblings_of_layer():
    for cls in (SoftmaxWithLoss, HingeLoss, SquaredError):
        assert issubclass(cls, LossLayer) and issubclass(cls, _LayerBase)
        assert not issubclass(cls, Layer)
    assert not issubclass(Layer, LossLayer)


def test_a_loss_layer_without_a_starting_loss_cannot_be_made():
    class NoBaseline(LossLayer):
        def _loss_and_grad(self, scores, labels):
            return np.asarray(0.0), np.zeros_like(scores)

    with pytest.raises(TypeError, match="_initial_loss_per_sample"):
        NoBaseline()


def test_train_reads_the_toy_layer_s_own_baseline():
    X, y = make_spirals(20, 3, seed=0)
    net = Net([InnerProduct(2, 3, filler="gaussian", std=1e-6, seed=0)],
              loss=SquaredError(loss_weight=2.0))
    h = train(net, SGD(net.params, lr=1e-9), (X, y), iterations=6, batch_size=60)
    assert h.diagnosis.baseline == pytest.approx(1.0)  # 0.5 * loss_weight, not ln 3
    assert h.loss[0] == pytest.approx(1.0, abs=1e-4)
    assert h.diagnosis.verdict == "stalled"


def test_train_refuses_a_loss_layer_that_does_not_know_its_start():
    class Duck:
        layers: list = []
        params: list = []

        class loss_layer:  # noqa: N801 - a stand-in object
            axis = 1

    with pytest.raises(TypeError, match="initial_loss"):
        train(Duck(), SGD([InnerProduct(2, 3).weight]), (np.zeros((4, 2)), np.zeros(4, int)),
              iterations=1)


@pytest.mark.parametrize("K", [1, 2, 3, 10, 1000])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "full", "batch_size"])
@pytest.mark.parametrize("loss_weight", [1.0, 0.5, 3.0])
def test_softmax_initial_loss_is_the_loss_at_zero_scores(K, reduction, loss_weight):
    N = 7
    layer = SoftmaxWithLoss(reduction=reduction, loss_weight=loss_weight)
    labels = np.arange(N) % K
    loss = float(np.sum(layer.forward(np.zeros((N, K)), labels)))
    assert layer.initial_loss(K, batch_size=N) == pytest.approx(loss, rel=1e-12, abs=1e-15)
    if reduction == "mean":
        assert layer.initial_loss(K) == pytest.approx(loss_weight * math.log(K))


@pytest.mark.parametrize("K", [2, 3, 10, 100])
@pytest.mark.parametrize("margin", [0.0, 0.5, 1.0, 2.5])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hinge_initial_loss_is_the_loss_at_zero_scores(K, margin, p, reduction):
    N = 5
    layer = HingeLoss(margin=margin, p=p, reduction=reduction, loss_weight=0.5)
    loss = float(np.sum(layer.forward(np.zeros((N, K)), np.arange(N) % K)))
    assert layer.initial_loss(K, batch_size=N) == pytest.approx(loss, rel=1e-12, abs=1e-15)
    if reduction == "mean":
        assert layer.initial_loss(K) == pytest.approx(0.5 * (K - 1) * margin ** p)


def test_initial_loss_bad_input():
    with pytest.raises(ValueError, match="initial_loss: argument 'num_classes' must be an "
                                         "integer >= 1; found 0"):
        SoftmaxWithLoss().initial_loss(0)
    with pytest.raises(TypeError, match="argument 'batch_size' must be an integer; found 2.0"):
        HingeLoss().initial_loss(3, batch_size=2.0)


def test_diagnose_takes_the_baseline_from_a_loss_layer():
    d = diagnose([2.0, 2.0, 2.0], 3, loss_layer=HingeLoss())
    assert d.baseline == 2.0 and d.verdict == "stalled"
    d = diagnose([2.0, 2.0, 2.0], 3, loss_layer=SoftmaxWithLoss())
    assert d.baseline == pytest.approx(math.log(3))
    with pytest.raises(ValueError, match="argument 'baseline' must be None when loss_layer"):
        diagnose([2.0], 3, baseline=1.0, loss_layer=HingeLoss())
    with pytest.raises(TypeError, match="argument 'loss_layer' must be a loss layer"):
        diagnose([2.0], 3, loss_layer=object())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("layer", [SoftmaxWithLoss(), HingeLoss()], ids=["softmax", "hinge"])
@pytest.mark.parametrize("method", ["forward", "predict"])
def test_non_finite_scores_raise_their_own_type(bad, layer, method):
    scores = np.zeros((3, 4))
    scores[1, 2] = bad
    with pytest.raises(NonFiniteScoresError, match=r"scores hold .* at index \(1, 2\)"):
        getattr(layer, method)(scores, np.array([0, 1, 2]))


def test_other_loss_errors_are_not_non_finite_scores():
    with pytest.raises(ValueError) as info:
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0, 5]))
    assert not isinstance(info.value, NonFiniteScoresError)
    assert issubclass(NonFiniteScoresError, ValueError)


def test_train_stops_on_non_finite_scores_by_type_without_re_predicting(monkeypatch):
    X, y = make_spirals(20, 3, seed=0)
    net = Net([InnerProduct(2, 3, seed=0)], loss=SoftmaxWithLoss())
    net.params[0].data = net.params[0].data * np.nan
    calls = []
    real = Net.predict
    monkeypatch.setattr(Net, "predict", lambda self, x: calls.append(1) or real(self, x))
    h = train(net, SGD(net.params, lr=0.1), (X, y), iterations=3, batch_size=60)
    assert h.stopped_early and h.stop_reason.startswith("NonFiniteScoresError")
    assert h.diagnosis.verdict == "bad_init"
    assert len(calls) == 1  # the accuracy before training; none on the error path
