"""Misuse of the sanity, calibration, diagnostics, interactive, gradcheck and exercise
modules (the audit's items A1, A2, A9, A10-A13, B17, B18, B22-B25, B31): every bad input
gets a clear error that names the function and the argument, and valid input that
used to be misread is read right."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import softmaxlab as sml
from softmaxlab import interactive as si
from softmaxlab.calibration import (
    MAX_BINS,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from softmaxlab.diagnostics import diagnose
from softmaxlab.exercises import check_softmax
from softmaxlab.gradcheck import gradcheck
from softmaxlab.layers import HingeLoss, InnerProduct, ReLU, SoftmaxWithLoss
from softmaxlab.net import Net
from softmaxlab.sanity import overfit_batch

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 8))
Y = RNG.integers(0, 4, size=16)


def mlp(loss=None, k=4):
    return Net([InnerProduct(8, 32, seed=0), ReLU(), InnerProduct(32, k, seed=1)],
               loss=SoftmaxWithLoss() if loss is None else loss)


def masked(a):
    a = np.asarray(a)
    mask = np.zeros(a.shape, dtype=bool)
    mask.flat[0] = True
    return np.ma.masked_array(a, mask)


# ------------------------------------------------------------------ A1: ignore_index
@pytest.mark.parametrize("ignore_index, rows", [(-1, [14, 15]), (-1, [0]), (-100, [3, 7, 11]),
                                                (99, [5, 6, 7, 8])])
def test_overfit_batch_leaves_ignored_labels_out_of_the_accuracy(ignore_index, rows):
    y = Y.copy()
    y[rows] = ignore_index
    res = overfit_batch(mlp(SoftmaxWithLoss(ignore_index=ignore_index)), X, y)
    assert res.verdict == "passed" and res.accuracy == 1.0


# ------------------------------------------------------------------ A2: label smoothing, hinge
def _smoothed_entropy(eps, k):
    q = np.full(k, eps / k)
    q[0] += 1.0 - eps
    return float(-(q * np.log(q)).sum())


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2, 0.3])
@pytest.mark.parametrize("k", [3, 4, 6])
def test_overfit_batch_target_is_reachable_with_label_smoothing(eps, k):
    y = RNG.integers(0, k, size=16)
    res = overfit_batch(mlp(SoftmaxWithLoss(label_smoothing=eps), k=k), X, y, iterations=300)
    floor = _smoothed_entropy(eps, k)
    assert res.target_loss == pytest.approx(floor + 0.02 * max(math.log(k), 1.0), rel=1e-9)
    assert res.final_loss > floor - 1e-9
    assert res.verdict == "passed", res


@pytest.mark.parametrize("eps, target", [(0.1, 0.1), (0.1, 0.3), (0.3, 0.5)])
def test_overfit_batch_refuses_a_target_below_the_smoothing_floor(eps, target):
    floor = _smoothed_entropy(eps, 4)
    assert target <= floor
    with pytest.raises(ValueError, match=r"^overfit_batch: argument 'target_loss' must be above "
                                         + re.escape(f"{floor:.6g}") + r".*label smoothing"):
        overfit_batch(mlp(SoftmaxWithLoss(label_smoothing=eps)), X, Y, target_loss=target)


@pytest.mark.parametrize("loss, baseline", [
    (HingeLoss(), 3.0), (HingeLoss(margin=2.0), 6.0), (HingeLoss(p=2, margin=2.0), 12.0),
    (SoftmaxWithLoss(), math.log(4)), (SoftmaxWithLoss(loss_weight=0.5), 0.5 * math.log(4)),
])
def test_overfit_batch_baseline_is_the_loss_layers_initial_loss(loss, baseline):
    res = overfit_batch(mlp(loss), X, Y, iterations=3)
    assert res.baseline == pytest.approx(baseline)


# ------------------------------------------------------------------ B24: types of overfit_batch
@pytest.mark.parametrize("kwargs", [
    dict(lr=np.int64(1)), dict(lr=np.array(0.1)), dict(lr=np.float32(0.1)),
    dict(target_loss=np.int64(1)), dict(target_loss=np.array(0.5)),
    dict(momentum=np.float64(0.5)), dict(momentum=np.int64(0), lr=np.float64(1.0)),
])
def test_overfit_batch_takes_numpy_numbers(kwargs):
    res = overfit_batch(mlp(), X, Y, **kwargs)
    assert res.verdict == "passed", res


@pytest.mark.parametrize("kwargs, name", [
    (dict(target_loss=True), "target_loss"), (dict(target_loss=np.bool_(True)), "target_loss"),
    (dict(lr=True), "lr"), (dict(momentum=False), "momentum"), (dict(lr="0.1"), "lr"),
    (dict(target_loss="1"), "target_loss"), (dict(lr=[0.1]), "lr"),
])
def test_overfit_batch_refuses_bools_and_strings_as_numbers(kwargs, name):
    with pytest.raises(TypeError, match=rf"^overfit_batch: argument '{name}' must be a real number"):
        overfit_batch(mlp(), X, Y, **kwargs)


@pytest.mark.parametrize("make_y", [lambda y: np.eye(4)[y], lambda y: np.eye(4, dtype=np.float32)[y],
                                    lambda y: 0.9 * np.eye(4)[y] + 0.025])
def test_overfit_batch_takes_target_probabilities(make_y):
    res = overfit_batch(mlp(), X, make_y(Y))
    assert res.accuracy == 1.0 and res.verdict == "passed", res


@pytest.mark.parametrize("as_list", ["X", "y", "both"])
def test_overfit_batch_takes_lists(as_list):
    Xl = X.tolist() if as_list in ("X", "both") else X
    yl = Y.tolist() if as_list in ("y", "both") else Y
    res = overfit_batch(mlp(), Xl, yl)
    assert res.verdict == "passed"
    assert res.loss == overfit_batch(mlp(), X, Y).loss


# ------------------------------------------------------------------ B25: inplace
@pytest.mark.parametrize("inplace", ["no", "False", 0, 1, None, np.int64(1)])
def test_overfit_batch_inplace_must_be_a_bool(inplace):
    net = mlp()
    before = [p.data.copy() for p in net.params]
    with pytest.raises(TypeError, match=r"^overfit_batch: argument 'inplace' must be True or False"):
        overfit_batch(net, X, Y, iterations=2, inplace=inplace)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.params))


# ------------------------------------------------------------------ A9: masked arrays
_P = sml.softmax(RNG.normal(size=(12, 3)), axis=1)
_YP = RNG.integers(0, 3, size=12)
_Z = RNG.normal(size=(12, 3))


def _gradcheck_fn(x):
    return gradcheck(lambda a: ((a ** 2).sum(), 2 * a), x)


@pytest.mark.parametrize("call, name", [
    (lambda: expected_calibration_error(masked(_P), _YP), "probs"),
    (lambda: expected_calibration_error(_P, masked(_YP)), "labels"),
    (lambda: reliability_bins(masked(_P), _YP), "probs"),
    (lambda: fit_temperature(masked(_Z), _YP), "logits"),
    (lambda: fit_temperature(_Z, masked(_YP)), "labels"),
    (lambda: diagnose(masked([2.3, 2.0, 1.0]), 10), "loss_history"),
    (lambda: _gradcheck_fn(masked(np.array([1.0, 2.0]))), "inputs[0]"),
    (lambda: gradcheck(SoftmaxWithLoss(), masked(np.zeros((2, 3))), labels=np.array([0, 1])), "x"),
    (lambda: gradcheck(SoftmaxWithLoss(), np.zeros((2, 3)), labels=masked(np.array([0, 1]))),
     "labels"),
    (lambda: gradcheck(InnerProduct(3, 2, dtype="float64"), masked(np.zeros((2, 3)))), "x"),
    (lambda: si.temperature_frame(masked([1.0, 2.0, 3.0])), "z"),
    (lambda: si.label_smoothing_frame(masked([1.0, 2.0, 3.0])), "z"),
    (lambda: si.linear_classifier_step(masked(np.zeros((2, 3))), np.zeros(3), *si.blobs(2)), "W"),
    (lambda: si.decision_regions(np.zeros((2, 3)), masked(np.zeros(3))), "b"),
    (lambda: overfit_batch(mlp(), masked(X), Y), "X"),
    (lambda: overfit_batch(mlp(), X, masked(Y)), "y"),
])
def test_masked_arrays_are_refused(call, name):
    with pytest.raises(TypeError, match=rf"argument '{re.escape(name)}' must be a plain array, "
                                        r"not a numpy.ma masked array"):
        call()


# ------------------------------------------------------------------ A10: diagnose's history
@pytest.mark.parametrize("history, found", [
    (np.array([2.3, None, 1.0], dtype=object), "NoneType None at index 1"),
    ([2.3, None, 1.0], "NoneType None at index 1"),
    ([True, False, False], "bool True at index 0"),
    ([2.3, 2.0, np.bool_(False)], "at index 2"),
    ([2.3, 1 + 2j], "complex (1+2j) at index 1"),
    ([2.3, 2.0, np.complex128(1.0)], "at index 2"),
    (np.array([2.3, "x", 1.0], dtype=object), "str 'x' at index 1"),
    (np.array([2.3, 1 + 2j]), "dtype complex128"),
    (np.array([2.3, 1.0], dtype=np.complex64), "dtype complex64"),
    (np.array([True, False, False]), "dtype bool"),
    (np.array(["2.3", "1.0"]), "dtype <U3"),
])
def test_diagnose_refuses_histories_that_are_not_real_numbers(history, found):
    with pytest.raises(TypeError, match=r"^diagnose: argument 'loss_history' must be a 1-D "
                                        r"sequence of numbers.*; found .*" + re.escape(found)):
        diagnose(history, 10)


@pytest.mark.parametrize("history", [
    np.array([2.3, 2.0, 1.0], dtype=object), [2.3, np.float32(2.0), np.array(1.0)],
    [2, np.int64(2), 1.0], np.array([2.3, 2.0, 1.0], dtype=np.float16),
])
def test_diagnose_reads_real_numbers_of_any_kind(history):
    assert diagnose(history, 10).num_steps == 3


# ------------------------------------------------------------------ B18: gradcheck copies
def _mutates_in_place(x):
    value, grad = (x ** 2).sum(), 2 * x
    x += 1.0
    return value, grad


def _mutates_by_assignment(x):
    value, grad = (x ** 2).sum(), 2 * x
    x[...] = 0.0
    return value, grad


@pytest.mark.parametrize("f", [_mutates_in_place, _mutates_by_assignment])
@pytest.mark.parametrize("shape", [(3,), (2, 3), ()])
def test_gradcheck_never_writes_the_callers_arrays(f, shape):
    x = np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape)
    before = x.copy()
    gradcheck(f, x)
    assert np.array_equal(x, before)


def test_gradcheck_never_writes_the_callers_other_inputs():
    def f(a, b):
        value = (a * b).sum()
        grads = (b.copy(), None)
        b *= 2.0
        return value, grads

    a, b = np.ones(3), np.arange(3.0)
    res = gradcheck(f, [a, b])
    assert res.ok and np.array_equal(b, np.arange(3.0))


# ------------------------------------------------------------------ B17: gradcheck's reading
@pytest.mark.parametrize("x", [np.array([1.0, -2.0, 0.5]), np.array([2.0]), np.array([[1.0, 2.0]])])
@pytest.mark.parametrize("wrap", [lambda g: g.tolist(), lambda g: list(g), lambda g: g,
                                  lambda g: (g,), lambda g: [g]])
def test_gradcheck_reads_a_list_as_one_inputs_gradient(x, wrap):
    assert gradcheck(lambda a: ((a ** 3).sum(), wrap(3 * a ** 2)), x).ok


@pytest.mark.parametrize("grad", [lambda a: float(3 * a ** 2), lambda a: np.float64(3 * a ** 2),
                                  lambda a: 3 * a ** 2, lambda a: [float(3 * a ** 2)][0]])
def test_gradcheck_reads_a_number_as_the_gradient_of_a_0d_input(grad):
    assert gradcheck(lambda a: (float(a ** 3), grad(a)), np.array(2.0)).ok


@pytest.mark.parametrize("grads, found", [
    (lambda a, b: b, "one array of shape (3,)"),
    (lambda a, b: [1.0, 2.0, 3.0], "list [1.0, 2.0, 3.0]"),
    (lambda a, b: (b,), "returned 1 gradients for 2 inputs"),
    (lambda a, b: (b, a, a), "returned 3 gradients for 2 inputs"),
])
def test_gradcheck_several_inputs_need_one_gradient_each(grads, found):
    with pytest.raises(ValueError, match=r"^gradcheck: argument 'f' must be a function that "
                                         r"returns .*" + re.escape(found)):
        gradcheck(lambda a, b: ((a * b).sum(), grads(a, b)), [np.ones(3), np.arange(3.0)])


@pytest.mark.parametrize("value, found", [
    (lambda a: [1.0], "list [1.0]"), (lambda a: None, "NoneType None"),
    (lambda a: "1.0", "str '1.0'"), (lambda a: True, "bool True"),
    (lambda a: 1 + 2j, "complex (1+2j)"), (lambda a: a.astype(complex).sum(), "complex128"),
    (lambda a: np.array(["1.0"]), "an array of dtype"),
])
def test_gradcheck_value_must_be_a_real_number(value, found):
    with pytest.raises(TypeError, match=r"^gradcheck: argument 'f' must be a function whose "
                                        r"value .*; found .*" + re.escape(found)):
        gradcheck(lambda a: (value(a), 2 * a), np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("grad, found", [
    (lambda a: [None, None, None], "list [None, None, None]"),
    (lambda a: ["a", "b", "c"], "list ['a', 'b', 'c']"),
    (lambda a: (2 * a).astype(complex), "dtype complex128"),
    (lambda a: 2 * a > 0, "dtype bool"),
])
def test_gradcheck_gradient_must_be_real_numbers(grad, found):
    with pytest.raises(TypeError, match=r"^gradcheck: argument 'f' must be a function whose "
                                        r"gradient of inputs\[0\] is an array of real numbers"
                                        r".*; found .*" + re.escape(found)):
        gradcheck(lambda a: ((a ** 2).sum(), grad(a)), np.array([1.0, 2.0, 3.0]))


# ------------------------------------------------------------------ B22: fit_temperature
@pytest.mark.parametrize("tol, exc", [("a", TypeError), (True, TypeError), (None, TypeError),
                                      (float("nan"), ValueError), (-1e-3, ValueError),
                                      (0.0, ValueError), (float("inf"), ValueError)])
def test_fit_temperature_checks_tol(tol, exc):
    with pytest.raises(exc, match=r"^fit_temperature: argument 'tol' must be"):
        fit_temperature(_Z, _YP, tol=tol)


@pytest.mark.parametrize("bounds, exc", [
    ("15", ValueError), ("0.5", ValueError), (b"15", ValueError), ((True, 5.0), TypeError),
    ((0.1, "5"), TypeError), (("0.1", "5"), TypeError), ((0.1, None), TypeError),
    ((0.1, 5.0, 9.0), ValueError), ({0.1: 1, 5.0: 2}, ValueError),
])
def test_fit_temperature_checks_bounds(bounds, exc):
    with pytest.raises(exc, match=r"^fit_temperature: argument 'bounds' must be"):
        fit_temperature(_Z, _YP, bounds=bounds)


@pytest.mark.parametrize("bounds", [(np.float64(0.1), np.int64(5)), [0.1, 5], np.array([0.1, 5.0])])
def test_fit_temperature_takes_numpy_bounds(bounds):
    assert 0.1 <= fit_temperature(_Z, _YP, bounds=bounds) <= 5


def test_fit_temperature_takes_two_class_scores_that_look_like_probabilities():
    """Two scores in [0, 1] summing to 1 are plausible logits (a margin of +-1 at most)."""
    for z in ([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], [[0.2, 0.8], [0.6, 0.4]]):
        assert fit_temperature(np.asarray(z), np.arange(len(z)) % 2) > 0


@pytest.mark.parametrize("k", [3, 10])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_temperature_refuses_probabilities(k, dtype):
    p = sml.softmax(RNG.normal(size=(20, k)).astype(dtype), axis=1)
    with pytest.raises(ValueError, match=r"^fit_temperature: argument 'logits' must be scores "
                                         r"\(logits\), not probabilities.*np\.log\(probs\)"):
        fit_temperature(p, RNG.integers(0, k, size=20))
    assert fit_temperature(np.log(p), RNG.integers(0, k, size=20)) > 0


# ------------------------------------------------------------------ B23: ECE dtypes and n_bins
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("k", [2, 10, 100])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_takes_the_librarys_own_softmax(dtype, k, seed):
    z = np.random.default_rng(seed).normal(scale=3.0, size=(200, k)).astype(dtype)
    y = np.random.default_rng(seed + 10).integers(0, k, size=200)
    p = sml.softmax(z, axis=1)
    ref = expected_calibration_error(sml.softmax(z.astype(np.float64), axis=1), y)
    assert expected_calibration_error(p, y) == pytest.approx(ref, abs=5e-3)
    assert reliability_bins(p, y).count.sum() == 200


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ece_still_refuses_rows_that_do_not_sum_to_1(dtype):
    p = np.array([[0.5, 0.45], [0.5, 0.5]], dtype=dtype)
    with pytest.raises(ValueError, match=r"rows that sum to 1.*row 0 sums to 0\.9[45]"):
        expected_calibration_error(p, [0, 1])


@pytest.mark.parametrize("n_bins", [MAX_BINS + 1, 10 ** 10, 2 ** 63 - 1, np.int64(10 ** 12)])
@pytest.mark.parametrize("fn", [expected_calibration_error, reliability_bins])
def test_ece_bounds_n_bins(fn, n_bins):
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: argument 'n_bins' must be an integer "
                                         rf"in \[1, {MAX_BINS}\].*found {int(n_bins)}$"):
        fn(_P, _YP, n_bins=n_bins)


def test_ece_takes_max_bins():
    assert reliability_bins(_P, _YP, n_bins=MAX_BINS).count.sum() == _P.shape[0]


# ------------------------------------------------------------------ A11: blobs
@pytest.mark.parametrize("args, kwargs, exc, name", [
    ((2, 2.5), {}, TypeError, "k"), ((2.5, 3), {}, TypeError, "n_per_class"),
    ((True, 3), {}, TypeError, "n_per_class"), ((2, True), {}, TypeError, "k"),
    ((2, "3"), {}, TypeError, "k"), (("2", 3), {}, TypeError, "n_per_class"),
    ((2, 3.0), {}, TypeError, "k"), ((0, 3), {}, ValueError, "n_per_class"),
    ((2, 1), {}, ValueError, "k"), ((2, 9), {}, ValueError, "k"),
    ((2, 3), dict(spread=float("nan")), ValueError, "spread"),
    ((2, 3), dict(spread=float("inf")), ValueError, "spread"),
    ((2, 3), dict(spread=-0.1), ValueError, "spread"),
    ((2, 3), dict(spread="0.4"), TypeError, "spread"),
    ((2, 3), dict(spread=True), TypeError, "spread"),
    ((2, 3), dict(seed="a"), TypeError, "seed"), ((2, 3), dict(seed=1.5), TypeError, "seed"),
    ((2, 3), dict(seed=True), TypeError, "seed"), ((2, 3), dict(seed=-1), ValueError, "seed"),
])
def test_blobs_checks_its_arguments(args, kwargs, exc, name):
    with pytest.raises(exc, match=rf"^blobs: argument '{name}' must be .*; found "):
        si.blobs(*args, **kwargs)


@pytest.mark.parametrize("n, k", [(np.int64(2), np.int64(3)), (1, 2), (5, 8)])
def test_blobs_takes_integers_of_any_kind(n, k):
    X_, y_ = si.blobs(n, k, spread=np.float32(0.3), seed=np.int64(1))
    assert X_.shape == (int(n) * int(k), 2) and np.bincount(y_).tolist() == [int(n)] * int(k)


# ------------------------------------------------------------------ A12: linear_classifier_step
_XB, _YB = si.blobs(3, 3)
_W, _B = np.zeros((2, 3)), np.zeros(3)


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(learning_rate=float("inf")), ValueError, "learning_rate"),
    (dict(learning_rate=float("nan")), ValueError, "learning_rate"),
    (dict(learning_rate=0.0), ValueError, "learning_rate"),
    (dict(learning_rate=True), TypeError, "learning_rate"),
    (dict(learning_rate="0.5"), TypeError, "learning_rate"),
    (dict(weight_decay=float("inf")), ValueError, "weight_decay"),
    (dict(weight_decay=float("nan")), ValueError, "weight_decay"),
    (dict(weight_decay=False), TypeError, "weight_decay"),
    (dict(weight_decay="0"), TypeError, "weight_decay"),
    (dict(margin=float("inf")), ValueError, "margin"),
    (dict(margin="1"), TypeError, "margin"),
    (dict(loss=["softmax"]), ValueError, "loss"),
    (dict(W=np.zeros((3, 3))), ValueError, "X"), (dict(W=np.zeros(2)), ValueError, "W"),
    (dict(W=np.zeros((2, 3, 1))), ValueError, "W"),
    (dict(W=np.array([[np.nan, 0, 0], [0, 0, 0]])), ValueError, "W"),
    (dict(W=[["a", "b", "c"], ["d", "e", "f"]]), TypeError, "W"),
    (dict(b=np.zeros((9, 3))), ValueError, "b"), (dict(b=np.zeros(2)), ValueError, "b"),
    (dict(b=np.array([0.0, np.inf, 0.0])), ValueError, "b"),
    (dict(X=np.zeros((9, 3))), ValueError, "X"),
    (dict(X=np.full((9, 2), np.nan)), ValueError, "X"),
    (dict(y=np.zeros(8, dtype=int)), ValueError, "y"),
    (dict(y=np.zeros(9)), ValueError, "y"),
    (dict(y=np.full(9, 3)), ValueError, "y"),
])
def test_linear_classifier_step_checks_its_arguments(kwargs, exc, name):
    args = dict(W=_W, b=_B, X=_XB, y=_YB)
    for key in ("W", "b", "X", "y"):
        if key in kwargs:
            args[key] = kwargs.pop(key)
    with pytest.raises(exc, match=rf"^linear_classifier_step: argument '{name}' must "):
        si.linear_classifier_step(args["W"], args["b"], args["X"], args["y"], **kwargs)


def test_linear_classifier_step_takes_lists_and_numpy_numbers():
    s = si.linear_classifier_step(_W.tolist(), _B.tolist(), _XB.tolist(), _YB.tolist(),
                                  learning_rate=np.float32(0.5), weight_decay=np.int64(0))
    assert s["b"].shape == (3,) and s["loss"] == pytest.approx(math.log(3))


# ------------------------------------------------------------------ A13: decision_regions
@pytest.mark.parametrize("W, b, kwargs, exc, name", [
    (np.array([[np.nan, 1.0], [0.0, 0.0]]), np.zeros(2), {}, ValueError, "W"),
    (np.zeros((2, 2)), np.array([np.nan, 0.0]), {}, ValueError, "b"),
    (np.zeros((2, 2)), np.zeros(2), dict(extent=float("nan")), ValueError, "extent"),
    (np.zeros((2, 2)), np.zeros(2), dict(extent=float("inf")), ValueError, "extent"),
    (np.zeros((2, 2)), np.zeros(2), dict(extent=0.0), ValueError, "extent"),
    (np.zeros((2, 2)), np.zeros(2), dict(extent="2"), TypeError, "extent"),
    (np.zeros((2, 2)), np.zeros(2), dict(resolution=4.0), TypeError, "resolution"),
    (np.zeros((2, 2)), np.zeros(2), dict(resolution=True), TypeError, "resolution"),
    (np.zeros((2, 2)), np.zeros(2), dict(resolution=-1), ValueError, "resolution"),
    (np.zeros((2, 2)), np.zeros(2), dict(resolution=1), ValueError, "resolution"),
    (np.zeros(2), np.zeros(2), {}, ValueError, "W"),
    (np.zeros((3, 2)), np.zeros(2), {}, ValueError, "W"),
    (np.zeros((2, 2)), np.zeros(3), {}, ValueError, "b"),
    (np.zeros((2, 2)), np.zeros((1, 2)), {}, ValueError, "b"),
])
def test_decision_regions_checks_its_arguments(W, b, kwargs, exc, name):
    with pytest.raises(exc, match=rf"^decision_regions: argument '{name}' must "):
        si.decision_regions(W, b, **kwargs)


@pytest.mark.parametrize("z, exc", [([1 + 1j, 2.0], TypeError), (["a", "b"], TypeError),
                                    ([[1.0, 2.0]], ValueError), ([1.0, np.inf], ValueError)])
def test_interactive_scores_get_clear_errors(z, exc):
    with pytest.raises(exc, match=r"^temperature_frame: argument 'z' must"):
        si.temperature_frame(z)


# ------------------------------------------------------------------ B31: mutation reported
def _softmax_then(after):
    def fn(x):
        x -= x.max(axis=-1, keepdims=True)  # the mutation
        return after(x)
    return fn


@pytest.mark.parametrize("after", [
    lambda x: 1 / 0,                                    # raises
    lambda x: None,                                     # returns no array
    lambda x: np.exp(x).ravel()[:1],                    # the wrong shape
    lambda x: (np.exp(x), np.exp(x)),                   # a tuple
])
def test_checkers_report_a_mutation_also_when_the_function_fails_otherwise(after):
    r = check_softmax(_softmax_then(after), verbose=False)
    assert r.failed
    assert all("changed its input array in place" in f.hint for f in r.failed)


def test_checkers_report_no_mutation_when_there_is_none():
    r = check_softmax(lambda x: 1 / 0, verbose=False)
    assert r.failed and not any("in place" in f.hint for f in r.failed)


@pytest.mark.parametrize("dtype, k, total", [(np.float16, 1000, 1.5), (np.float32, 200_000, 1.01),
                                            (np.float64, 10, 1.0 + 1e-5)])
def test_ece_refuses_rows_that_are_clearly_not_probabilities_in_any_dtype(dtype, k, total):
    p = np.full((3, k), total / k).astype(dtype)
    with pytest.raises(ValueError, match="sums to"):
        expected_calibration_error(p, np.zeros(3, int))


@pytest.mark.parametrize("kw, match", [
    (dict(extent=1e308), r"argument 'extent' must be a finite number in \(0.0, 1e\+150\]"),
    (dict(resolution=10**5), r"argument 'resolution' must be an integer in \[2, 4096\]; found 100000"),
])
def test_decision_regions_bounds_its_grid(kw, match):
    from softmaxlab.interactive import decision_regions

    with pytest.raises(ValueError, match=match):
        decision_regions(np.ones((2, 2)), np.zeros(2), **kw)


def test_fit_temperature_refuses_float16_probabilities_and_ece_takes_large_k_softmax():
    z = np.random.default_rng(0).standard_normal((200, 10)) * 3
    y = np.random.default_rng(0).integers(0, 10, 200)
    with pytest.raises(ValueError, match="not probabilities"):
        fit_temperature(sml.softmax(z.astype(np.float16), axis=1), y)
    torch = pytest.importorskip("torch")
    p = torch.softmax(torch.randn(4, 100_000, generator=torch.Generator().manual_seed(0)) * 3, 1)
    assert 0 <= expected_calibration_error(p, torch.tensor([0, 1, 2, 3])) <= 1
    pb = torch.softmax(torch.randn(50, 10, generator=torch.Generator().manual_seed(1)), 1).bfloat16()
    assert 0 <= expected_calibration_error(pb, torch.zeros(50, dtype=torch.int64)) <= 1
