"""Tests of softmaxlab.optim.SGD: Caffe's update rule and learning-rate policies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmaxlab._backend import to_numpy, use_backend
from softmaxlab.layers import InnerProduct, Param
from softmaxlab.optim import LR_POLICIES, SGD


def _param(values, grad=None, **kw):
    p = Param(np.array(values, dtype=np.float64), name="w", **kw)
    if grad is not None:
        p.grad = np.array(grad, dtype=np.float64)
    return p


# --------------------------------------------------------------------------- policies
@pytest.mark.parametrize("policy,kwargs,expected", [
    ("fixed", {}, {0: 0.1, 1: 0.1, 1000: 0.1}),
    ("step", dict(gamma=0.5, stepsize=3),
     {0: 0.1, 2: 0.1, 3: 0.05, 5: 0.05, 6: 0.025, 10: 0.0125}),
    ("exp", dict(gamma=0.9), {0: 0.1, 1: 0.09, 2: 0.081, 5: 0.1 * 0.9 ** 5}),
    ("inv", dict(gamma=1e-4, power=0.75),
     {0: 0.1, 1: 0.1 * 1.0001 ** -0.75, 1000: 0.1 * 1.1 ** -0.75, 10000: 0.1 * 2.0 ** -0.75}),
    ("multistep", dict(gamma=0.1, stepvalues=[2, 5]),
     {0: 0.1, 1: 0.1, 2: 0.01, 4: 0.01, 5: 0.001, 100: 0.001}),
    ("poly", dict(power=2.0, max_iter=10), {0: 0.1, 5: 0.025, 9: 0.001, 10: 0.0}),
    ("sigmoid", dict(gamma=0.5, stepsize=4), {4: 0.05, 0: 0.1 / (1 + math.exp(2.0))}),
])
def test_lr_policies_match_caffe_formulas(policy, kwargs, expected):
    opt = SGD([_param([0.0])], lr=0.1, lr_policy=policy, **kwargs)
    for it, lr in expected.items():
        assert opt.lr_at(it) == pytest.approx(lr, rel=1e-12, abs=1e-15), it


def test_step_uses_current_lr_then_increments_iter():
    p = _param([0.0])
    opt = SGD([p], lr=1.0, lr_policy="step", gamma=0.5, stepsize=2)
    seen = []
    for _ in range(5):
        p.grad = np.array([1.0])
        before = p.data
        seen.append(opt.current_lr)
        opt.step()
        assert float(before[0] - p.data[0]) == pytest.approx(seen[-1])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert opt.iter == 5


# --------------------------------------------------------------------------- update rule
def test_momentum_hand_computed():
    p = _param([1.0, -2.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    grads = [[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]]
    v = np.zeros(2)
    w = np.array([1.0, -2.0])
    for g in grads:
        p.grad = np.array(g)
        opt.step()
        v = 0.9 * v + 0.1 * np.array(g)
        w = w - v
        np.testing.assert_allclose(p.data, w, rtol=0, atol=1e-15)
    # explicit numbers: v1 = [0.1, 0], v2 = [0.14, -0.1], v3 = [0.126, 0.11]
    np.testing.assert_allclose(p.data, [1 - 0.1 - 0.14 - 0.126, -2 + 0.1 - 0.11], atol=1e-15)


def test_weight_decay_and_multipliers_hand_computed():
    w = _param([2.0, -4.0], grad=[1.0, 1.0])
    b = _param([3.0], grad=[0.5], decay_mult=0.0, lr_mult=2.0)
    opt = SGD([w, b], lr=0.1, weight_decay=0.25)
    opt.step()
    # w -= 0.1 * (g + 0.25 w);  b -= (0.1 * 2) * g (no decay)
    np.testing.assert_allclose(w.data, [2.0 - 0.1 * 1.5, -4.0 - 0.1 * 0.0], atol=1e-15)
    np.testing.assert_allclose(b.data, [3.0 - 0.2 * 0.5], atol=1e-15)


def test_l1_regularization():
    w = _param([2.0, -4.0, 0.0], grad=[0.0, 0.0, 0.0])
    SGD([w], lr=0.1, weight_decay=0.5, regularization="L1").step()
    np.testing.assert_allclose(w.data, [2.0 - 0.05, -4.0 + 0.05, 0.0], atol=1e-15)


def test_innerproduct_bias_undecayed_by_default():
    ip = InnerProduct(2, 2, filler="constant", value=1.0, bias_value=1.0)
    opt = SGD(ip.params, lr=0.1, weight_decay=1.0)
    opt.step()  # zero gradients: only decay acts
    np.testing.assert_allclose(ip.weight.data, 0.9)
    np.testing.assert_allclose(ip.bias.data, 1.0)


def test_momentum_with_decay_and_policy_several_iterations():
    p = _param([1.0])
    opt = SGD([p], lr=0.5, momentum=0.5, weight_decay=0.1, lr_policy="exp", gamma=0.5)
    w, v = 1.0, 0.0
    for t in range(4):
        p.grad = np.array([0.3])
        opt.step()
        v = 0.5 * v + 0.5 * 0.5 ** t * (0.3 + 0.1 * w)
        w -= v
        assert float(p.data[0]) == pytest.approx(w, rel=1e-14)


def test_step_replaces_arrays_and_updates_all_together():
    p, q = _param([1.0], grad=[1.0]), _param([2.0], grad=[1.0])
    old_p, old_q = p.data, q.data
    SGD([p, q], lr=0.5).step()
    assert float(old_p[0]) == 1.0 and float(old_q[0]) == 2.0  # no in-place writes
    assert float(p.data[0]) == 0.5 and float(q.data[0]) == 1.5


@pytest.mark.torch
def test_matches_torch_sgd_for_fixed_lr():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (reference test)")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    grads = rng.standard_normal((6, 5))
    p = _param(w0)
    opt = SGD([p], lr=0.05, momentum=0.9, weight_decay=0.01)
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.05, momentum=0.9, weight_decay=0.01)
    for g in grads:
        p.grad = g
        opt.step()
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p.data, tw.detach().numpy(), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(w=st.floats(-1e3, 1e3), g=st.floats(-1e3, 1e3), lr=st.floats(1e-4, 10.0),
       wd=st.floats(0.0, 1.0))
def test_plain_step_property(w, g, lr, wd):
    p = _param([w], grad=[g])
    SGD([p], lr=lr, weight_decay=wd).step()
    assert float(p.data[0]) == pytest.approx(w - lr * (g + wd * w), rel=1e-12, abs=1e-9)


def test_runs_on_array_api_strict():
    with use_backend("array_api_strict"):
        ip = InnerProduct(3, 2, filler="constant", value=1.0)
        import array_api_strict as xps

        ip.weight.grad = xps.ones((2, 3), dtype=xps.float64)
        opt = SGD(ip.params, lr=0.1, momentum=0.5)
        opt.step()
        opt.step()
    np.testing.assert_allclose(to_numpy(ip.weight.data), 1.0 - 0.1 - 0.15)
    assert type(ip.weight.data).__module__.startswith("array_api_strict")


def test_zero_grad():
    p = _param([1.0], grad=[3.0])
    opt = SGD([p])
    opt.zero_grad()
    assert float(p.grad[0]) == 0.0


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=0.0), r"argument 'lr' must be a finite number in \(0.0, inf\); found 0.0"),
    (dict(lr=-1.0), "argument 'lr' must be"),
    (dict(lr=float("inf")), "argument 'lr' must be"),
    (dict(momentum=1.0), r"argument 'momentum' must be a finite number in \[0.0, 1.0\); found 1.0"),
    (dict(momentum=-0.1), r"argument 'momentum' must be a finite number in \[0.0, 1.0\)"),
    (dict(weight_decay=-1e-4), r"argument 'weight_decay' must be a finite number in \[0.0, inf\)"),
    (dict(lr_policy="cosine"), "argument 'lr_policy' must be one of 'fixed', 'step'.*'poly'.*; found 'cosine'"),
    (dict(lr_policy="step", gamma=0.1), "lr_policy='step' needs stepsize"),
    (dict(lr_policy="inv"), "needs gamma and power"),
    (dict(lr_policy="poly", power=1.0, max_iter=0), "argument 'max_iter' must be a positive integer; found 0"),
    (dict(lr_policy="multistep", gamma=0.1, stepvalues=[5, 2]), "strictly increasing"),
    (dict(regularization="L3"), "argument 'regularization' must be one of 'L2', 'L1'; found 'L3'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD([_param([0.0])], **kwargs)


def test_bad_params():
    with pytest.raises(ValueError, match="argument 'params' must be a non-empty list"):
        SGD([])
    with pytest.raises(TypeError, match=r"argument 'params\[0\]' must be a softmaxlab.layers.Param"):
        SGD([np.zeros(3)])
    p = _param([1.0, 2.0], grad=[1.0])
    with pytest.raises(ValueError, match=r"gradient of 'w' has shape \(1,\), expected \(2,\)"):
        SGD([p]).step()


def test_repr_and_policy_table():
    assert repr(SGD([_param([0.0])], lr=0.1)) == (
        "SGD(lr=0.1, momentum=0, weight_decay=0, lr_policy='fixed')")
    assert repr(SGD([_param([0.0])], lr=0.1, lr_policy="multistep", gamma=0.1,
                    stepvalues=[1, 2])).endswith("gamma=0.1, stepvalues=[1, 2])")
    assert {"fixed", "step", "exp", "inv", "multistep", "poly"} <= set(LR_POLICIES)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("at", [0, 3])
def test_step_refuses_a_non_finite_gradient_and_changes_nothing(bad, at):
    from softmaxlab.optim import NonFiniteGradientError

    w, b = Param(np.arange(4.0), name="w"), Param(np.ones(2), name="b")
    w.grad = np.ones(4)
    w.grad[at] = bad
    b.grad = np.ones(2)
    solver = SGD([b, w], lr=0.1, momentum=0.9)
    with pytest.raises(NonFiniteGradientError, match=rf"SGD.step: argument 'w.grad' must be finite.*; "
                                                     rf"found {bad!r} at index \({at},\)"):
        solver.step()
    np.testing.assert_array_equal(w.data, np.arange(4.0))
    np.testing.assert_array_equal(b.data, np.ones(2))
    assert solver.iter == 0


def test_step_names_a_gradient_that_is_not_an_array_and_a_reshaped_parameter():
    p = Param(np.zeros(3), name="w")
    p.grad = [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match=r"SGD.step: argument 'w.grad' must be an array .*; found list"):
        SGD([p], lr=0.1).step()
    p.grad = np.zeros(3)
    solver = SGD([p], lr=0.1, momentum=0.9)
    solver.step()
    p.data, p.grad = np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match=r"parameter 'w' has shape \(4,\), but it had shape \(3,\) when "
                                         r"this solver started"):
        solver.step()


@pytest.mark.parametrize("arg", ["lr_mult", "decay_mult"])
@pytest.mark.parametrize("value", [-1.0, -1e-9, np.nan])
def test_param_multipliers_are_non_negative(arg, value):
    with pytest.raises(ValueError, match=rf"Param: argument '{arg}' must be a finite number in \[0.0, inf\)"):
        Param(np.zeros(2), **{arg: value})
    assert getattr(Param(np.zeros(2), **{arg: 0}), arg) == 0.0  # 0 freezes (Caffe's lr_mult: 0)


@pytest.mark.parametrize("bad, at", [(np.nan, (1,)), (np.inf, (0,)), (-np.inf, (2,))])
def test_param_data_must_be_finite(bad, at):
    data = np.zeros(3)
    data[at] = bad
    with pytest.raises(ValueError, match=rf"Param: argument 'data' must be finite; found {bad!r} at index \({at[0]},\)"):
        Param(data)


@pytest.mark.parametrize("grad, dtype, lr, exc, match", [
    (np.array([1e39, 1.0]), np.float32, 0.1, "NonFiniteGradientError",
     r"'params\[0\].grad' must be finite in the parameter's dtype float32"),
    (np.array([1e308, 1.0]), np.float64, 10.0, "NonFiniteGradientError",
     r"'params\[0\]' must be finite after the update \(the step overflows"),
    (np.array([1 + 5j, 1.0]), np.float64, 0.1, "TypeError",
     r"'params\[0\].grad' must be a real floating array; found complex dtype complex128"),
    (np.array([True, False]), np.float64, 0.1, "TypeError",
     r"'params\[0\].grad' must be a real floating array; found boolean dtype bool"),
    (np.ma.masked_array([np.nan, 1.0], mask=[1, 0]), np.float64, 0.1, "TypeError",
     r"'params\[0\].grad' must be a plain array, not a numpy.ma masked array"),
])
def test_step_refuses_gradients_that_would_write_nan_or_inf_or_lose_information(grad, dtype, lr, exc,
                                                                               match):
    from softmaxlab import optim

    p = Param(np.zeros(2, dtype))  # unnamed: messages call it params[0]
    p.grad = grad
    with pytest.raises(getattr(optim, exc, None) or TypeError, match=match):
        SGD([p], lr=lr).step()
    np.testing.assert_array_equal(p.data, np.zeros(2, dtype))


@pytest.mark.parametrize("policy, kw, limit", [
    ("inv", dict(gamma=0.1, power=0.75), 0.0), ("poly", dict(power=1.0, max_iter=10), 0.0),
    ("sigmoid", dict(gamma=-0.1, stepsize=10), 0.0), ("sigmoid", dict(gamma=0.1, stepsize=10), 0.1),
    ("exp", dict(gamma=0.9), 0.0), ("step", dict(gamma=0.5, stepsize=3), 0.0),
    ("exp", dict(gamma=1.0), 0.1), ("step", dict(gamma=1.0, stepsize=1), 0.1),
    ("sigmoid", dict(gamma=0.0, stepsize=5), 0.05),
])
@pytest.mark.parametrize("it", [10**20, 10**400])
def test_lr_at_an_iteration_beyond_any_float_is_the_policys_limit(policy, kw, limit, it):
    s = SGD([Param(np.zeros(1))], lr=0.1, lr_policy=policy, **kw)
    assert s.lr_at(it) == pytest.approx(limit, abs=1e-12)
