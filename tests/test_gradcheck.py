"""Tests of softmaxlab.gradcheck: it passes on right gradients and fails on wrong ones."""

from __future__ import annotations

import re

import numpy as np
import pytest

from softmaxlab._backend import to_numpy, use_backend
from softmaxlab.gradcheck import GradcheckResult, gradcheck, rel_error
from softmaxlab.layers import InnerProduct, Layer, ReLU, SoftmaxWithLoss
from softmaxlab.losses import cross_entropy_with_grad, multiclass_hinge_with_grad
from softmaxlab.net import Net


@pytest.fixture
def be(lib):
    """NumPy, array-api-strict and CuPy (skipped without a GPU); parameters on that backend."""
    with use_backend(lib.name):
        yield lib.asarray


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_rel_error_formula():
    np.testing.assert_allclose(rel_error([1.0, -2.0, 0.0, 1e-20], [1.1, -2.0, 0.0, -1e-20]),
                               [0.1 / 1.1, 0.0, 0.0, 2e-20 / 1e-12])
    assert rel_error([0.0], [1e-13], tiny=1e-12)[0] == pytest.approx(0.1)


def test_function_with_grad_from_losses(be):
    x, y = be(_x((5, 4))), be(np.array([0, 1, 2, 3, 0]))
    res = gradcheck(lambda z: cross_entropy_with_grad(z, y, label_smoothing=0.1), x)
    assert isinstance(res, GradcheckResult) and res.ok and bool(res)
    assert res.max_rel_error < 1e-6 and res.where[0] == "inputs[0]"
    res = gradcheck(lambda z: multiclass_hinge_with_grad(z, y, p=2), x)
    assert res.ok, res


def test_several_inputs_and_skipped_input():
    a, b = _x((3,)), _x((3,), seed=1)
    res = gradcheck(lambda a, b: ((a * b).sum(), (b, a)), [a, b])
    assert res.ok and set(res.errors) == {"inputs[0]", "inputs[1]"}
    res = gradcheck(lambda a, b: ((a * b).sum(), (b, None)), [a, b])
    assert res.ok and set(res.errors) == {"inputs[0]"}


def test_non_scalar_value_is_summed():
    x = _x((4,))
    assert gradcheck(lambda x: (x ** 2, 2 * x), x).ok


def test_detects_wrong_function_gradient():
    x = np.array([1.0, 2.0, 3.0])
    res = gradcheck(lambda x: ((x ** 2).sum(), 2 * x * np.array([1.0, 1.0, 1.01])), x)
    assert not res.ok and not res
    assert res.where == ("inputs[0]", (2,))
    assert res.max_rel_error == pytest.approx(0.01 / 1.01, rel=1e-4)


class _BuggyInnerProduct(InnerProduct):
    """Forgets the factor x in dW for one row: the kind of bug gradcheck exists for."""

    def _backward(self, dy, cache):
        dx = super()._backward(dy, cache)
        self.weight.grad = self.weight.grad * np.array([[1.0], [1.0], [0.5]])
        return dx


class _BuggyReLU(ReLU):
    """Passes the gradient through everywhere (forgets the mask)."""

    def _backward(self, dy, pos):
        return dy


def test_detects_wrong_layer_backward():
    x = _x((4, 5))
    res = gradcheck(_BuggyInnerProduct(5, 3, seed=0), x)
    assert not res.ok
    assert res.where[0] == "weight" and res.where[1][0] == 2
    assert res.max_rel_error > 0.3
    assert gradcheck(InnerProduct(5, 3, seed=0), x).ok
    bad = gradcheck(_BuggyReLU(), x)
    assert not bad.ok and bad.where[0] == "x" and x[bad.where[1]] < 0


def test_detects_wrong_param_gradient_inside_net():
    net = Net([InnerProduct(5, 4, seed=0), _BuggyReLU(), InnerProduct(4, 3, seed=1)],
              loss=SoftmaxWithLoss())
    x, y = _x((6, 5)), np.array([0, 1, 2, 0, 1, 2])
    assert not gradcheck(net, x, labels=y).ok
    good = Net([InnerProduct(5, 4, seed=0), ReLU(), InnerProduct(4, 3, seed=1)],
               loss=SoftmaxWithLoss())
    assert gradcheck(good, x, labels=y).ok


def test_restores_params_and_leaves_inputs_alone(be):
    ip = InnerProduct(3, 2, seed=0)
    w0 = ip.weight.data
    x_np = _x((4, 3))
    x = be(x_np)
    gradcheck(ip, x)
    assert ip.weight.data is w0
    np.testing.assert_array_equal(to_numpy(x), x_np)


def test_max_entries_samples():
    ip = InnerProduct(30, 20, seed=0)
    res = gradcheck(ip, _x((2, 30)), max_entries=10)
    assert res.ok
    assert np.count_nonzero(~np.isnan(res.errors["weight"])) == 10
    assert np.count_nonzero(~np.isnan(res.errors["bias"])) == 10


def test_check_params_false_checks_only_x():
    res = gradcheck(InnerProduct(3, 2, seed=0), _x((2, 3)), check_params=False)
    assert set(res.errors) == {"x"}


def test_errors():
    with pytest.raises(TypeError, match="argument 'inputs\\[0\\]' must be float64.*; found float32"):
        gradcheck(lambda x: (x.sum(), x), np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="weight' must be float64.*dtype='float64'.*; found float32"):
        gradcheck(InnerProduct(3, 2, dtype="float32"), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="argument 'f' must be a function that returns a pair"):
        gradcheck(lambda x: x.sum(), np.zeros(3))
    with pytest.raises(ValueError, match=r"gradient of inputs\[0\] has shape \(2,\), expected \(3,\)"):
        gradcheck(lambda x: (x.sum(), np.ones(2)), np.zeros(3))
    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        gradcheck(lambda a, b: (a.sum(), [a]), [np.zeros(3), np.zeros(3)])
    with pytest.raises(TypeError, match="argument 'labels' must be the labels"):
        gradcheck(SoftmaxWithLoss(), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="argument 'f' must be a function, a Layer or a Net"):
        gradcheck(42, np.zeros(3))


def test_nonfinite_gradient_fails():
    res = gradcheck(lambda x: (x.sum(), np.full(3, np.nan)), np.zeros(3))
    assert not res.ok


def test_layer_base_is_usable_for_custom_layers():
    class Square(Layer):
        def _forward(self, x):
            return x * x, x

        def _backward(self, dy, x):
            return 2 * x * dy

    assert gradcheck(Square(), _x((3, 2))).ok


@pytest.mark.parametrize("bad, found", [("a", "str 'a'"), (3.0, "float 3.0"), (None, "NoneType None"),
                                        ([1.0, 2.0], "float 1.0")])
def test_inputs_that_are_not_arrays_get_a_clear_error(bad, found):
    msg = ("gradcheck: argument '{}' must be a float64 array (e.g. np.asarray(x, "
           "dtype=np.float64)); found " + found)
    with pytest.raises(TypeError, match="^" + re.escape(msg.format("inputs[0]")) + "$"):
        gradcheck(lambda x: ((x ** 2).sum(), 2 * x), bad)
    if not isinstance(bad, list):
        with pytest.raises(TypeError, match="^" + re.escape(msg.format("x")) + "$"):
            gradcheck(SoftmaxWithLoss(), bad, labels=np.array([0]))


@pytest.mark.parametrize("check_params", [True, False])
def test_float32_parameters_are_refused_even_when_not_checked(check_params):
    """A float32 layer computes in float32: central differences would call its correct
    input gradient wrong (ok=False, error 1) with check_params=False."""
    from softmaxlab.layers import InnerProduct, SoftmaxWithLoss
    from softmaxlab.net import Net

    net = Net([InnerProduct(2, 2, dtype="float32")], loss=SoftmaxWithLoss())
    with pytest.raises(TypeError, match=r"gradcheck: argument 'innerproduct0.weight' must be float64"):
        gradcheck(net, np.ones((2, 2)), labels=np.array([0, 1]), check_params=check_params)


@pytest.mark.parametrize("kind", ["net", "layer", "loss"])
def test_gradcheck_puts_every_param_grad_back(kind):
    """A check between training steps must not replace accumulated gradients."""
    from softmaxlab.layers import InnerProduct, SoftmaxWithLoss
    from softmaxlab.net import Net

    x = np.random.default_rng(0).normal(size=(4, 3))
    y = np.array([0, 1, 0, 1])
    ip = InnerProduct(3, 2, seed=0)
    f = {"net": Net([ip], loss=SoftmaxWithLoss()), "layer": ip, "loss": SoftmaxWithLoss()}[kind]
    before = {id(p): np.full(p.shape, 7.0) for p in f.params}
    for p in f.params:
        p.grad = before[id(p)].copy()
    inp = x if kind != "loss" else x[:, :2]
    assert gradcheck(f, inp, labels=None if kind == "layer" else y).ok
    for p in f.params:
        np.testing.assert_array_equal(p.grad, before[id(p)])
