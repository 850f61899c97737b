"""Tests of softmaxlab.layers: gradient checks of every backward, fillers, seeding, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from softmaxlab._backend import to_numpy, use_backend
from softmaxlab.gradcheck import gradcheck
from softmaxlab.layers import (
    FILLERS,
    HingeLoss,
    InnerProduct,
    Param,
    ReLU,
    Softmax,
    SoftmaxWithLoss,
    fill,
)
from softmaxlab.losses import cross_entropy, multiclass_hinge
from softmaxlab.special import softmax


@pytest.fixture
def be(lib):
    """NumPy, array-api-strict and CuPy (skipped without a GPU); parameters on that backend."""
    with use_backend(lib.name):
        yield lib


def _x(shape, seed=0, away_from_zero=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    if away_from_zero:  # keep ReLU's kink out of reach of the central difference
        x = np.where(np.abs(x) < 0.05, 0.5, x)
    return x


# --------------------------------------------------------------------------- gradchecks
@pytest.mark.parametrize("shape", [(5, 6), (4, 2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_innerproduct_gradcheck_dx_dw_db(be, shape, bias):
    ip = InnerProduct(6, 4, bias=bias, filler="gaussian", std=1.0, seed=1)
    res = gradcheck(ip, be.asarray(_x(shape)))
    assert res.ok, res
    names = set(res.errors)
    assert names == ({"x", "weight", "bias"} if bias else {"x", "weight"})
    assert res.max_rel_error < 1e-6


@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_relu_gradcheck(be, slope):
    res = gradcheck(ReLU(negative_slope=slope), be.asarray(_x((6, 5), away_from_zero=True)))
    assert res.ok, res


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_gradcheck(be, axis):
    res = gradcheck(Softmax(axis=axis), be.asarray(_x((3, 4, 5))))
    assert res.ok, res


@pytest.mark.parametrize("reduction", ["mean", "sum", "full", "batch_size", "none"])
@pytest.mark.parametrize("ignore_index", [None, 2])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_softmax_with_loss_gradcheck(be, reduction, ignore_index, label_smoothing):
    labels = be.asarray(np.array([0, 2, 1, 3, 2, 4]))
    layer = SoftmaxWithLoss(reduction=reduction, ignore_index=ignore_index,
                            label_smoothing=label_smoothing, loss_weight=0.7)
    res = gradcheck(layer, be.asarray(_x((6, 5), seed=3)), labels=labels)
    assert res.ok, res


def test_softmax_with_loss_class_weights_and_spatial(be):
    w = be.asarray(np.array([1.0, 2.0, 0.5]))
    labels = be.asarray(np.array([[0, 1], [2, 2]]))
    layer = SoftmaxWithLoss(weight=w)
    res = gradcheck(layer, be.asarray(_x((2, 3, 2), seed=4)), labels=labels)
    assert res.ok, res


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_gradcheck(be, p, reduction):
    labels = be.asarray(np.array([0, 2, 1, 3, 2]))
    layer = HingeLoss(p=p, reduction=reduction, loss_weight=2.0, margin=0.5)
    res = gradcheck(layer, be.asarray(3 * _x((5, 4), seed=5)), labels=labels)
    assert res.ok, res


# --------------------------------------------------------------------------- values
def test_innerproduct_forward_matches_caffe_layout(be):
    ip = InnerProduct(3, 2, filler="gaussian", std=1.0, bias_filler="gaussian", bias_std=1.0, seed=0)
    W, b = to_numpy(ip.weight.data), to_numpy(ip.bias.data)
    assert W.shape == (2, 3) and b.shape == (2,)
    x = _x((4, 3))
    np.testing.assert_allclose(to_numpy(ip.forward(be.asarray(x))), x @ W.T + b, rtol=1e-14)


def test_innerproduct_accepts_integer_input():
    ip = InnerProduct(2, 1, filler="constant", value=1.0)
    np.testing.assert_array_equal(ip.forward(np.array([[1, 2]])), [[3.0]])


def test_softmax_with_loss_matches_cross_entropy(be):
    x, y = _x((6, 5)), np.array([0, 1, 2, 3, 4, 0])
    layer = SoftmaxWithLoss(label_smoothing=0.1, loss_weight=3.0)
    loss = layer.forward(be.asarray(x), be.asarray(y))
    ref = cross_entropy(x, y, label_smoothing=0.1)
    assert float(loss) == pytest.approx(3.0 * float(ref), rel=1e-12)
    np.testing.assert_allclose(to_numpy(layer.probabilities), softmax(x, axis=1), rtol=1e-12)
    loss2, prob = layer.forward(be.asarray(x), be.asarray(y), return_probabilities=True)
    assert float(loss2) == pytest.approx(float(loss))
    np.testing.assert_allclose(to_numpy(prob), softmax(x, axis=1), rtol=1e-12)


def test_softmax_with_loss_backward_is_closed_form():
    x, y = _x((4, 3)), np.array([0, 1, 2, 1])
    layer = SoftmaxWithLoss(loss_weight=0.5)
    layer.forward(x, y)
    p = softmax(x, axis=1)
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(layer.backward(), 0.5 * (p - onehot) / 4, rtol=1e-12)
    np.testing.assert_allclose(layer.backward(2.0), 1.0 * (p - onehot) / 4, rtol=1e-12)


@pytest.mark.parametrize("norm,red", [("VALID", "mean"), ("FULL", "full"),
                                      ("BATCH_SIZE", "batch_size"), ("NONE", "sum"),
                                      ("valid", "mean")])
def test_caffe_normalization_names(norm, red):
    x, y = _x((5, 3)), np.array([0, 1, -1, 2, -1])
    a = SoftmaxWithLoss(normalization=norm, ignore_index=-1)
    b = SoftmaxWithLoss(reduction=red, ignore_index=-1)
    assert a.reduction == red
    assert float(a.forward(x, y)) == float(b.forward(x, y))


def test_full_vs_valid_normalisers_differ_by_ignored_count():
    x, y = _x((4, 3)), np.array([0, -1, 2, -1])
    valid = float(SoftmaxWithLoss(normalization="VALID", ignore_index=-1).forward(x, y))
    full = float(SoftmaxWithLoss(normalization="FULL", ignore_index=-1).forward(x, y))
    assert valid == pytest.approx(2 * full)


def test_hinge_matches_cs231n_and_function():
    s = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    # CS231n's example: losses 2.9, 0 and 12.9, mean 5.27
    assert float(HingeLoss().forward(s, y)) == pytest.approx((2.9 + 0 + 12.9) / 3)
    assert float(HingeLoss(p=2, reduction="sum").forward(s, y)) == pytest.approx(
        float(multiclass_hinge(s, y, p=2, reduction="sum")))


def test_softmax_layer_rows_sum_to_one_and_jvp():
    x = _x((3, 4))
    s = Softmax()
    p = s.forward(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    dy = _x((3, 4), seed=9)
    J = [np.diag(pi) - np.outer(pi, pi) for pi in p]
    np.testing.assert_allclose(s.backward(dy), np.stack([Ji @ di for Ji, di in zip(J, dy)]),
                               rtol=1e-12, atol=1e-15)


def test_param_grads_accumulate_and_zero():
    ip = InnerProduct(3, 2, seed=0)
    x, dy = _x((4, 3)), _x((4, 2), seed=1)
    ip.forward(x)
    ip.backward(dy)
    g1 = ip.weight.grad.copy()
    ip.forward(x)
    ip.backward(dy)
    np.testing.assert_allclose(ip.weight.grad, 2 * g1)
    ip.zero_grad()
    assert not ip.weight.grad.any() and not ip.bias.grad.any()


def test_no_writes_into_callers_arrays():
    x, dy = _x((4, 3)), _x((4, 2), seed=1)
    x0, dy0 = x.copy(), dy.copy()
    ip = InnerProduct(3, 2, seed=0)
    ip.forward(x)
    ip.backward(dy)
    r = ReLU()
    r.forward(x)
    r.backward(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)
    w = np.ones((2, 2))
    p = Param(w)
    p.zero_grad()
    np.testing.assert_array_equal(w, 1.0)


def test_predict_does_not_disturb_pending_backward():
    ip = InnerProduct(3, 2, seed=0)
    x, dy = _x((4, 3)), _x((4, 2), seed=1)
    ip.forward(x)
    ip.predict(_x((7, 3), seed=2))
    ip.backward(dy)
    np.testing.assert_allclose(ip.weight.grad, dy.T @ x)


# --------------------------------------------------------------------------- fillers
def test_xavier_filler_statistics():
    w = to_numpy(InnerProduct(400, 500, filler="xavier", seed=0).weight.data)
    a = math.sqrt(3 / 400)
    assert w.min() >= -a and w.max() <= a
    assert w.max() > 0.99 * a and w.min() < -0.99 * a
    assert abs(w.mean()) < 3 * a / math.sqrt(3) / math.sqrt(w.size) * 1.5
    assert w.std() == pytest.approx(math.sqrt(1 / 400), rel=0.01)


@pytest.mark.parametrize("norm,n", [("fan_in", 400), ("fan_out", 500), ("average", 450)])
def test_msra_filler_statistics(norm, n):
    w = to_numpy(InnerProduct(400, 500, filler="msra", variance_norm=norm, seed=0).weight.data)
    assert w.std() == pytest.approx(math.sqrt(2 / n), rel=0.01)
    assert abs(w.mean()) < 4 * math.sqrt(2 / n) / math.sqrt(w.size)


def test_gaussian_and_constant_fillers():
    w = to_numpy(InnerProduct(300, 300, filler="gaussian", std=0.05, seed=0).weight.data)
    assert w.std() == pytest.approx(0.05, rel=0.01)
    ip = InnerProduct(3, 2, filler="constant", value=0.25, bias_filler="constant", bias_value=-1.0)
    np.testing.assert_array_equal(to_numpy(ip.weight.data), 0.25)
    np.testing.assert_array_equal(to_numpy(ip.bias.data), -1.0)
    u = fill((200, 200), "uniform", low=-2.0, high=1.0, rng=0)
    assert u.min() >= -2.0 and u.max() < 1.0 and u.mean() == pytest.approx(-0.5, abs=0.02)


def test_default_bias_is_zero_and_undecayed():
    ip = InnerProduct(3, 2, seed=0)
    assert not to_numpy(ip.bias.data).any()
    assert ip.bias.decay_mult == 0.0 and ip.weight.decay_mult == 1.0
    assert InnerProduct(3, 2, bias_decay_mult=1.0).bias.decay_mult == 1.0


# --------------------------------------------------------------------------- seeding
@pytest.mark.parametrize("filler", ["xavier", "msra", "gaussian"])
def test_seeded_reproducibility(filler):
    a = InnerProduct(20, 10, filler=filler, bias_filler=filler, seed=42)
    b = InnerProduct(20, 10, filler=filler, bias_filler=filler, seed=42)
    c = InnerProduct(20, 10, filler=filler, bias_filler=filler, seed=43)
    np.testing.assert_array_equal(to_numpy(a.weight.data), to_numpy(b.weight.data))
    np.testing.assert_array_equal(to_numpy(a.bias.data), to_numpy(b.bias.data))
    assert not np.array_equal(to_numpy(a.weight.data), to_numpy(c.weight.data))


def test_same_seed_same_weights_on_every_backend():
    ref = InnerProduct(20, 10, seed=7)
    with use_backend("array_api_strict"):
        strict = InnerProduct(20, 10, seed=7)
    assert type(strict.weight.data).__module__.startswith("array_api_strict")
    np.testing.assert_array_equal(to_numpy(strict.weight.data), to_numpy(ref.weight.data))
    f32 = InnerProduct(20, 10, seed=7, dtype="float32")
    assert f32.weight.data.dtype == np.float32
    np.testing.assert_array_equal(f32.weight.data, ref.weight.data.astype(np.float32))


def test_to_backend_moves_params():
    ip = InnerProduct(3, 2, seed=0)
    w = to_numpy(ip.weight.data)
    with use_backend("array_api_strict"):
        ip.to_backend()
    assert type(ip.weight.data).__module__.startswith("array_api_strict")
    np.testing.assert_array_equal(to_numpy(ip.weight.data), w)


# --------------------------------------------------------------------------- errors
def test_shape_mismatch_names_layer_expected_and_found():
    ip = InnerProduct(64, 10, name="ip1")
    with pytest.raises(ValueError, match=r"InnerProduct 'ip1'.*\(N, 64\).*found \(5, 63\)"):
        ip.forward(np.zeros((5, 63)))
    with pytest.raises(ValueError, match=r"found \(64,\)"):
        ip.forward(np.zeros(64))


def test_backward_before_forward():
    for layer in (InnerProduct(3, 2), ReLU(), Softmax()):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.zeros((1, 2)))
    for loss in (SoftmaxWithLoss(), HingeLoss()):
        with pytest.raises(RuntimeError, match="before forward"):
            loss.backward()


def test_backward_checks_top_shape():
    ip = InnerProduct(3, 2)
    ip.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"argument 'dy' must be .*output's shape \(4, 2\); found \(4, 3\)"):
        ip.backward(np.zeros((4, 3)))


def test_unknown_filler_lists_valid_ones():
    with pytest.raises(ValueError, match="argument 'filler' must be one of .*'xavier'.*'msra'; found 'glorot'"):
        InnerProduct(3, 2, filler="glorot")
    with pytest.raises(ValueError, match="argument 'bias_filler' must be one of .*; found 'zeros'"):
        InnerProduct(3, 2, bias_filler="zeros")
    with pytest.raises(ValueError, match="fill: argument 'variance_norm' must be one of .*; found 'FAN_IN'"):
        fill((2, 2), "xavier", variance_norm="FAN_IN")
    assert set(FILLERS) >= {"constant", "gaussian", "xavier", "msra"}


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(num_input=0, num_output=2), ValueError,
     "argument 'num_input' must be an integer >= 1; found 0"),
    (dict(num_input=3, num_output=2.5), TypeError,  # a wrong type is a TypeError
     "argument 'num_output' must be an integer; found 2.5"),
    (dict(num_input=3, num_output=2, dtype="float16"), ValueError,
     "argument 'dtype' must be 'float32' or 'float64'; found 'float16'"),
    (dict(num_input=3, num_output=2, dtype=True), ValueError,
     "argument 'dtype' must be 'float32' or 'float64'; found True"),
])
def test_innerproduct_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        InnerProduct(**kwargs)


def test_loss_layer_bad_arguments():
    with pytest.raises(ValueError, match="argument 'reduction' must be one of .*; found 'avg'"):
        SoftmaxWithLoss(reduction="avg")
    with pytest.raises(ValueError, match="argument 'normalization' must be one of .*; found 'BATCH'"):
        SoftmaxWithLoss(normalization="BATCH")
    with pytest.raises(ValueError, match="pass only one of them"):
        SoftmaxWithLoss(normalization="FULL", reduction="sum")
    for norm in ("NONE", "none", "VALID", "FULL", "BATCH_SIZE"):  # an explicit "mean" is no default
        meant = {"NONE": "sum", "VALID": "mean", "FULL": "full", "BATCH_SIZE": "batch_size"}[norm.upper()]
        assert SoftmaxWithLoss(normalization=norm).reduction == meant
        assert SoftmaxWithLoss(normalization=norm, reduction=meant).reduction == meant
        if meant != "mean":
            with pytest.raises(ValueError, match=rf"'reduction' must be '{meant}' or left out.*"
                                                 r"found 'mean' \(pass only one of them\)"):
                SoftmaxWithLoss(normalization=norm, reduction="mean")
    assert SoftmaxWithLoss().reduction == "mean"
    for make in (SoftmaxWithLoss, HingeLoss):
        with pytest.raises(ValueError, match=r"argument 'loss_weight' must be a finite number in "
                                             r"\[0.0, inf\); found -1"):
            make(loss_weight=-1)
        assert make(loss_weight=0).loss_weight == 0.0
    with pytest.raises(ValueError, match=r"argument 'label_smoothing' must be a finite number in \[0.0, 1.0\]"):
        SoftmaxWithLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="argument 'p' must be 1 .* or 2 .*; found 3"):
        HingeLoss(p=3)
    with pytest.raises(ValueError, match="HingeLoss: argument 'reduction' must be one of 'none', 'sum', 'mean'; found 'full'"):
        HingeLoss(reduction="full")
    with pytest.raises(ValueError, match="argument 'loss_weight' must be a finite number.*; found nan"):
        HingeLoss(loss_weight=float("nan"))


def test_softmax_axis_out_of_range():
    with pytest.raises(ValueError, match=r"Softmax: argument 'axis' must be in \[-2, 1\].*; found 2, which is out of range"):
        Softmax(axis=2).forward(np.zeros((2, 3)))


def test_reprs():
    assert repr(InnerProduct(64, 10)) == "InnerProduct(64 -> 10, filler='xavier')"
    assert repr(InnerProduct(4, 3, bias=False, filler="msra", dtype="float32")) == (
        "InnerProduct(4 -> 3, filler='msra', bias=False, dtype='float32')")
    assert repr(ReLU()) == "ReLU()" and repr(ReLU(0.1)) == "ReLU(negative_slope=0.1)"
    assert repr(Softmax()) == "Softmax(axis=-1)"
    assert repr(SoftmaxWithLoss(ignore_index=-1, loss_weight=2)) == (
        "SoftmaxWithLoss(reduction='mean', ignore_index=-1, loss_weight=2)")
    assert repr(HingeLoss(p=2)) == "HingeLoss(margin=1, p=2, reduction='mean')"
    assert repr(Param(np.zeros(3), name="b", decay_mult=0)) == (
        "Param('b', shape=(3,), dtype=float64, decay_mult=0)")


def test_labels_are_validated_unless_told_not_to():
    x = _x((2, 3))
    with pytest.raises(ValueError, match="cross_entropy"):
        SoftmaxWithLoss().forward(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="hinge"):
        HingeLoss().forward(x, np.array([0, 7]))
    ok = SoftmaxWithLoss(validate=False).forward(x, np.array([0, 2]))
    assert float(ok) == pytest.approx(float(SoftmaxWithLoss().forward(x, np.array([0, 2]))))


# --------------------------------------------------------------------------- properties
_finite = st.floats(-30, 30, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, (3, 4), elements=_finite), dy=arrays(np.float64, (3, 4), elements=_finite))
def test_softmax_backward_sums_to_zero_over_classes(x, dy):
    # softmax is invariant to adding a constant to a row, so its gradient has zero row sums
    s = Softmax()
    s.forward(x)
    dx = s.backward(dy)
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-12 * (1 + np.abs(dy).max()))


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, (5, 3), elements=_finite), shift=_finite)
def test_softmax_with_loss_gradient_invariants(x, shift):
    y = np.array([0, 1, 2, 0, 1])
    layer = SoftmaxWithLoss(reduction="sum")
    loss = float(layer.forward(x, y))
    g = layer.backward()
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-12)  # rows of p - onehot sum to 0
    assert loss >= 0.0
    assert float(layer.forward(x + shift, y)) == pytest.approx(loss, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, (4, 3), elements=_finite), a=st.floats(-3, 3))
def test_innerproduct_without_bias_is_linear(x, a):
    ip = InnerProduct(3, 2, bias=False, seed=0)
    np.testing.assert_allclose(ip.predict(a * x), a * ip.predict(x), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("filler", ["xavier", "msra", "gaussian", "uniform", "constant"])
@pytest.mark.parametrize("shape", [(3, 0), (0, 5), (0,), (2, 0, 4)])
@pytest.mark.parametrize("norm", ["fan_in", "fan_out", "average"])
def test_fillers_of_empty_shapes_give_empty_arrays(filler, shape, norm):
    w = fill(shape, filler, variance_norm=norm, rng=0)
    assert w.shape == shape and w.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32", np.float64, "float64"])
def test_innerproduct_takes_a_dtype_in_any_spelling(dtype):
    ip = InnerProduct(3, 2, dtype=dtype, seed=0)
    assert ip.weight.dtype == np.dtype(dtype) and ip.bias.dtype == np.dtype(dtype)


@pytest.mark.parametrize("x", [np.float64(1.0), np.array(2.0)])
def test_softmax_layer_of_a_0d_input_says_it_needs_a_class_axis(x):
    with pytest.raises(ValueError, match=r"Softmax: argument 'x' must be an array with at least one "
                                         r"dimension \(the class axis\); found a 0-d array"):
        Softmax().forward(x)


@pytest.mark.parametrize("make", [lambda: Softmax(), lambda: ReLU(), lambda: InnerProduct(3, 2, dtype="float32")])
def test_backward_keeps_the_forward_dtype_whatever_the_gradient_dtype(make):
    layer = make()
    y = layer.forward(np.ones((2, 3), dtype=np.float32))
    dx = layer.backward(np.ones(y.shape, dtype=np.float64))
    assert dx.dtype == np.float32
    for p in layer.params:
        assert p.grad.dtype == np.float32


def test_loss_layer_backward_keeps_the_scores_dtype_for_a_0d_dloss():
    loss = SoftmaxWithLoss()
    loss.forward(np.zeros((2, 3), np.float32), np.array([0, 1]))
    for dloss in (2.0, np.float64(2.0), np.array(2.0), np.array(2.0, np.float32)):
        assert loss.backward(dloss).dtype == np.float32


@pytest.mark.parametrize("shape", [(2.7, 3.9), "23", (-5, 3), (2, None)])
def test_setup_refuses_a_shape_that_is_not_non_negative_integers(shape):
    with pytest.raises(TypeError, match=r"InnerProduct.setup: argument 'input_shape' must be a tuple of "
                                        r"non-negative integers"):
        InnerProduct(3, 2).setup(shape)


def test_backward_refuses_a_gradient_that_overflows_the_forward_dtype():
    ip = InnerProduct(4, 2, dtype="float32", seed=0)
    ip.forward(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"InnerProduct.backward: argument 'dy' must be representable in "
                                         r"the forward pass's dtype float32; found 1e\+300 at index \(0, 1\)"):
        ip.backward(np.array([[1.0, 1e300], [0, 0], [0, 0]]))
    assert not ip.weight.grad.any()


@pytest.mark.parametrize("labels, exc, match", [
    (np.array([0, 5]), ValueError, r"argument 'target' \(the labels\) holds class label 5"),
    (np.array([0.5, 1.0]), TypeError, r"argument 'target' \(the labels\) has the shape of class labels"),
    (np.array([0, 1, 2]), ValueError, r"argument 'target' \(the labels\) has shape \(3,\)"),
])
@pytest.mark.parametrize("make", [SoftmaxWithLoss, HingeLoss])
def test_loss_layer_errors_name_the_layer_and_the_labels(make, labels, exc, match):
    with pytest.raises(exc, match=rf"^{make.__name__}.forward: .*{match}"):
        make().forward(np.zeros((2, 3)), labels)
