"""Tests of softmaxlab.net.Net: composition, gradients, training, summary and errors."""

from __future__ import annotations

import numpy as np
import pytest

from softmaxlab._backend import to_numpy, use_backend
from softmaxlab.gradcheck import gradcheck
from softmaxlab.layers import HingeLoss, InnerProduct, ReLU, Softmax, SoftmaxWithLoss
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.special import softmax


@pytest.fixture
def be(lib):
    """NumPy, array-api-strict and CuPy (skipped without a GPU); parameters on that backend."""
    with use_backend(lib.name):
        yield lib.asarray


def _mlp(loss=None):
    return Net([InnerProduct(4, 6, filler="gaussian", std=0.5, seed=0), ReLU(),
                InnerProduct(6, 3, filler="gaussian", std=0.5, seed=1)],
               loss=SoftmaxWithLoss() if loss is None else loss)


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def test_forward_backward_equal_hand_written_composition(be):
    net = _mlp()
    W1, b1 = (to_numpy(p.data) for p in net.layers[0].params)
    W2, b2 = (to_numpy(p.data) for p in net.layers[2].params)
    x, y = _data()
    # hand-written forward
    a = x @ W1.T + b1
    h = np.maximum(a, 0)
    s = h @ W2.T + b2
    p = softmax(s, axis=1)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    # hand-written backward
    ds = (p - np.eye(3)[y]) / len(y)
    dW2, db2 = ds.T @ h, ds.sum(0)
    dh = ds @ W2
    da = dh * (a > 0)
    dW1, db1, dx = da.T @ x, da.sum(0), da @ W1

    got = net.forward(be(x), be(y))
    assert isinstance(got, float)
    assert got == pytest.approx(loss, rel=1e-12)
    net.zero_grad()
    net.forward(be(x), be(y))
    got_dx = net.backward()
    for got_g, ref in zip([got_dx] + [q.grad for q in net.params], [dx, dW1, db1, dW2, db2]):
        np.testing.assert_allclose(to_numpy(got_g), ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(to_numpy(net.predict(be(x))), s, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(net.predict_proba(be(x))), p, rtol=1e-12)


@pytest.mark.parametrize("loss", [SoftmaxWithLoss(), SoftmaxWithLoss(reduction="sum", loss_weight=0.3),
                                  HingeLoss(p=2)])
def test_gradcheck_whole_net(be, loss):
    x, y = _data()
    res = gradcheck(_mlp(loss), be(x), labels=be(y))
    assert res.ok, res
    assert set(res.errors) == {"x", "innerproduct0.weight", "innerproduct0.bias",
                               "innerproduct2.weight", "innerproduct2.bias"}


def test_training_reaches_low_loss_on_separable_problem():
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 3, 150)
    x = centres[y] + 0.5 * rng.standard_normal((150, 2))
    net = Net([InnerProduct(2, 16, filler="msra", seed=0), ReLU(), InnerProduct(16, 3, seed=1)],
              loss=SoftmaxWithLoss())
    opt = SGD(net.params, lr=0.05, momentum=0.9)
    first = net.forward(x, y)
    for _ in range(300):
        opt.zero_grad()
        net.forward(x, y)
        net.backward()
        opt.step()
    last = net.forward(x, y)
    assert first > 0.5
    assert last < 0.02
    assert (np.argmax(net.predict(x), axis=1) == y).mean() == 1.0
    assert opt.iter == 300


def test_weight_decay_reproduces_sklearn_logistic_regression():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    n, d, k, C = 90, 3, 3, 0.5
    x = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    x = x + 0.8 * np.eye(k, d)[y]
    net = Net([InnerProduct(d, k, filler="constant")], loss=SoftmaxWithLoss())
    opt = SGD(net.params, lr=0.5, momentum=0.9, weight_decay=1.0 / (n * C))
    for _ in range(600):
        opt.zero_grad()
        net.forward(x, y)
        net.backward()
        opt.step()
    ref = sklearn.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(net.layers[0].weight.data, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(net.predict_proba(x), ref.predict_proba(x), atol=1e-6)


def test_predict_does_not_break_backward():
    net = _mlp()
    x, y = _data()
    net.forward(x, y)
    net.predict(np.zeros((3, 4)))
    dx = net.backward()
    assert dx.shape == (8, 4)


def test_reduction_none_loss_is_summed():
    x, y = _data()
    a = _mlp(SoftmaxWithLoss(reduction="none")).forward(x, y)
    b = _mlp(SoftmaxWithLoss(reduction="sum")).forward(x, y)
    assert a == pytest.approx(b, rel=1e-14)


def test_net_without_loss_and_errors():
    net = Net([InnerProduct(4, 3), Softmax()])
    assert net.predict(np.zeros((2, 4))).shape == (2, 3)
    with pytest.raises(RuntimeError, match="no loss layer"):
        net.forward(np.zeros((2, 4)), np.array([0, 1]))
    with pytest.raises(RuntimeError, match="before forward"):
        _mlp().backward()
    with pytest.raises(TypeError, match=r"argument 'layers\[1\]' must be a \(non-loss\) Layer"):
        Net([InnerProduct(4, 3), SoftmaxWithLoss()])
    with pytest.raises(TypeError, match="argument 'loss' must be a loss layer"):
        Net([InnerProduct(4, 3)], loss=ReLU())
    with pytest.raises(ValueError, match=r"InnerProduct 'innerproduct2'.*\(N, 6\).*found \(2, 5\)"):
        Net([InnerProduct(4, 5), ReLU(), InnerProduct(6, 3)]).predict(np.zeros((2, 4)))


def test_summary_repr_and_names():
    net = Net([InnerProduct(64, 10, seed=0), ReLU(), InnerProduct(10, 10, seed=1)],
              loss=SoftmaxWithLoss())
    s = net.summary(input_shape=(32, 64))
    assert "InnerProduct(64 -> 10, filler='xavier')" in s
    assert "(32, 10)" in s and "650" in s and "110" in s
    assert s.splitlines()[-1] == "total parameters: 760"
    assert net.num_params == 760 and len(net) == 3 and net[1].name == "relu1"
    assert repr(net).startswith("Net([\n  InnerProduct(64 -> 10")
    assert repr(net).endswith("loss=SoftmaxWithLoss(reduction='mean'))")
    named = Net([InnerProduct(2, 2, name="fc")])
    assert [p.name for p in named.params] == ["fc.weight", "fc.bias"]


def test_to_backend_moves_whole_net():
    net = _mlp()
    x, y = _data()
    ref = net.forward(x, y)
    with use_backend("array_api_strict"):
        import array_api_strict as xps

        net.to_backend()
        assert net.forward(xps.asarray(x), xps.asarray(y)) == pytest.approx(ref, rel=1e-14)
    with pytest.raises(TypeError, match="cannot mix"):
        net.forward(x, y)


@pytest.mark.torch
@pytest.mark.parametrize("loss_kw", [dict(), dict(ignore_index=1, label_smoothing=0.1)])
def test_gradients_match_torch_autograd(loss_kw):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (reference test)")
    net = _mlp(SoftmaxWithLoss(**loss_kw))
    x, y = _data(n=10, seed=3)
    net.zero_grad()
    loss = net.forward(x, y)
    dx = net.backward()
    tp = [torch.tensor(to_numpy(p.data), requires_grad=True) for p in net.params]
    tx = torch.tensor(x, requires_grad=True)
    s = torch.relu(tx @ tp[0].T + tp[1]) @ tp[2].T + tp[3]
    tl = torch.nn.functional.cross_entropy(
        s, torch.tensor(y), ignore_index=loss_kw.get("ignore_index", -100),
        label_smoothing=loss_kw.get("label_smoothing", 0.0))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
    for p, t in zip(net.params, tp):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)


def _shared_ip_nets():
    ip = InnerProduct(4, 3, seed=0)
    a = Net([ip], loss=SoftmaxWithLoss())
    b = Net([ReLU(), ip], loss=SoftmaxWithLoss())
    return ip, a, b


@pytest.mark.parametrize("other", ["net", "direct", "predict"])
def test_a_layer_shared_with_another_pass_is_refused_at_backward_not_silently_wrong(other):
    """One layer object in two nets (or called directly in between) holds the other
    pass's cache: backward refuses, naming the layer; after a new forward it is right."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    ip, a, b = _shared_ip_nets()
    a.forward(X, y)
    if other == "net":
        b.forward(3 * X, y)
    elif other == "direct":
        ip.forward(3 * X)
    else:
        ip.predict(3 * X)  # keeps nothing: a's pass is still whole
    if other == "predict":
        a.backward()
    else:
        with pytest.raises(RuntimeError, match=r"Net.backward: layer 'innerproduct0' \(InnerProduct\) "
                                               r"ran another forward pass after this net's forward"):
            a.backward()
        ip.zero_grad()
        a.forward(X, y)
        a.backward()
    ref = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss())
    ref.forward(X, y)
    ref.backward()
    np.testing.assert_allclose(ip.weight.grad, ref[0].weight.grad, rtol=1e-12)


@pytest.mark.parametrize("where", ["layer", "loss"])
def test_a_forward_that_raised_leaves_nothing_for_backward(where):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss())
    net.forward(X, y)
    bad = (np.full((8, 5), 1.0), y) if where == "layer" else (10 * X, np.full(8, 7))
    with pytest.raises(ValueError):
        net.forward(*bad)
    with pytest.raises(RuntimeError, match=r"Net.backward: called before forward \(or after a "
                                           r"forward that raised\)"):
        net.backward()
    with pytest.raises(RuntimeError, match="called before forward"):  # the layer that raised
        net[0].backward(np.ones((8, 3))) if where == "layer" else net.loss_layer.backward()
