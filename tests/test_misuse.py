"""Misuse that used to give a silently wrong answer (issue 10, section 4), one kind per
section, each over many cases; and row selection with a 32-bit index type (section 3)."""

from __future__ import annotations

import math

import array_api_compat.numpy as cnp
import numpy as np
import pytest

import softmaxlab._sampling as sampling
from softmaxlab.datasets import load_digits, make_spirals, minibatches, train_val_split
from softmaxlab.diagnostics import (
    CAFFE_UNDERFLOW_LOSS,
    MESSAGES,
    VERDICT_RULES,
    VERDICTS,
    diagnose,
)
from softmaxlab.gradcheck import gradcheck
from softmaxlab.layers import HingeLoss, InnerProduct, Param, ReLU, Softmax, SoftmaxWithLoss, fill
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.training import train


@pytest.fixture(scope="module")
def spirals():
    return make_spirals(20, 3, seed=0)


# --------------------------------------------------------------------------- one layer twice
@pytest.mark.parametrize("make", [ReLU, Softmax, lambda: InnerProduct(4, 4, seed=0)],
                         ids=["relu", "softmax", "innerproduct"])
@pytest.mark.parametrize("positions", [(0, 1), (0, 2), (1, 3)])
def test_a_layer_object_used_twice_is_refused(make, positions):
    shared = make()
    layers = [InnerProduct(4, 4, seed=k) for k in range(4)]
    for i in positions:
        layers[i] = shared
    i, j = positions
    with pytest.raises(ValueError, match=rf"argument 'layers\[{j}\]' must be a layer object "
                                         rf"not used before.*the same object as layers\[{i}\]"):
        Net(layers, loss=SoftmaxWithLoss())


def test_tied_weights_through_a_shared_param_have_the_right_gradient():
    a, b = InnerProduct(3, 3, seed=0), InnerProduct(3, 3, seed=1)
    b.weight = a.weight  # tie the weights; each layer still has its own cache
    net = Net([a, ReLU(), b], loss=SoftmaxWithLoss())
    assert [p.name for p in net.params] == ["innerproduct0.weight", "innerproduct0.bias",
                                            "innerproduct2.bias"]
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert gradcheck(net, x, labels=np.array([0, 1, 2, 0, 1])).ok
    SGD(net.params, lr=0.1)  # each Param once: accepted


def test_a_param_listed_twice_in_a_solver_is_refused():
    p = Param(np.zeros(2), name="w")
    with pytest.raises(ValueError, match=r"argument 'params\[2\]' must be a Param not listed "
                                         r"before.*params\[0\]"):
        SGD([p, Param(np.zeros(1)), p])


# --------------------------------------------------------------------------- gradcheck of nothing
@pytest.mark.parametrize("f, inputs", [
    (lambda x: (float(x.sum()), None), np.ones(3)),
    (lambda x, y: (float(x.sum() + y.sum()), [None, None]), [np.ones(2), np.ones(3)]),
    (lambda x, y: (float(x.sum() + y.sum()), (None, None)), (np.ones(2), np.ones(3))),
])
def test_gradcheck_of_a_function_without_gradients_is_an_error(f, inputs):
    with pytest.raises(TypeError, match="gradcheck: f must return a gradient for at least one"):
        gradcheck(f, inputs)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_gradcheck_of_empty_inputs_is_an_error(shape):
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda x: (float(x.sum()), np.ones_like(x)), np.ones(shape))


def test_gradcheck_of_a_layer_without_params_and_empty_input_is_an_error():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(ReLU(), np.ones((0, 3)))


# --------------------------------------------------------------------------- diagnose input
@pytest.mark.parametrize("history, hint", [
    ({0: 2.3, 1: 2.2, 2: 2.1}, "a dict iterates over its keys"),
    ({2.3, 2.2, 2.1}, "a set has no order"),
    (frozenset({2.3, 2.2}), "a frozenset has no order"),
    ((v for v in [2.3, 2.2]), "pass list"),
    (iter([2.3, 2.2]), "pass list"),
    ({0: 2.3, 1: 2.2}.values(), "pass list"),
    (2.3, "pass list"),
])
def test_diagnose_refuses_unordered_and_non_sequence_histories(history, hint):
    with pytest.raises(TypeError, match=rf"diagnose: argument 'loss_history' must be a "
                                        rf"sequence of losses in step order.*{hint}"):
        diagnose(history, 10)


@pytest.mark.parametrize("history", [[2.3, 2.2, 2.0], (2.3, 2.2, 2.0), np.array([2.3, 2.2, 2.0])])
def test_diagnose_reads_sequences_and_arrays_alike(history):
    assert diagnose(history, 10).end_loss == diagnose([2.3, 2.2, 2.0], 10).end_loss


# --------------------------------------------------------------------------- dtype drift
@pytest.mark.parametrize("dtype, other", [("float32", np.float64), ("float64", np.float32),
                                          ("float32", np.int64)])
def test_a_layer_keeps_its_dtype_whatever_the_input(dtype, other):
    ip = InnerProduct(3, 2, seed=0, dtype=dtype)
    x = np.ones((4, 3), dtype=other)
    y = ip.forward(x)
    assert y.dtype == dtype
    ip.backward(np.ones((4, 2), dtype=np.float64))
    assert ip.weight.grad.dtype == dtype and ip.bias.grad.dtype == dtype
    opt = SGD(ip.params, lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.step()
    assert ip.weight.data.dtype == dtype and ip.bias.data.dtype == dtype


def test_a_float32_net_trained_on_float64_data_stays_float32(spirals):
    X, y = spirals
    net = Net([InnerProduct(2, 8, seed=0, dtype="float32"), ReLU(),
               InnerProduct(8, 3, seed=1, dtype="float32")], loss=SoftmaxWithLoss())
    train(net, SGD(net.params, lr=0.1, momentum=0.9, weight_decay=1e-3), (X, y),
          iterations=5, batch_size=16)
    assert {str(p.data.dtype) for p in net.params} == {"float32"}
    assert {str(p.grad.dtype) for p in net.params} == {"float32"}


def test_sgd_keeps_the_dtype_of_a_param_given_a_float64_gradient():
    p = Param(np.ones(3, dtype=np.float32))
    p.grad = np.ones(3, dtype=np.float64)
    SGD([p], lr=0.5).step()
    assert p.data.dtype == np.float32


# --------------------------------------------------------------------------- NaN/inf fillers
BAD = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("filler, arg", [("gaussian", "std"), ("constant", "value"),
                                         ("uniform", "low"), ("uniform", "high"),
                                         ("xavier", "std"), ("msra", "value")])
def test_fill_refuses_non_finite_arguments(filler, arg, bad):
    with pytest.raises(ValueError, match=f"fill: argument '{arg}' must be a finite number"):
        fill((2, 3), filler, **{arg: bad}, rng=0)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("arg", ["std", "value", "bias_std", "bias_value"])
@pytest.mark.parametrize("filler", ["gaussian", "xavier"])
def test_innerproduct_refuses_non_finite_filler_arguments(arg, bad, filler):
    with pytest.raises(ValueError, match=f"InnerProduct: argument '{arg}' must be a finite"):
        InnerProduct(3, 2, filler=filler, bias_filler="gaussian", **{arg: bad})


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(filler="gaussian", std=-1.0), ValueError, "argument 'std'.*; found -1.0"),
    (dict(filler="uniform", low=1.0, high=0.0), ValueError, "argument 'high' must be >= low"),
    (dict(filler="gaussian", std="0.1"), TypeError, "argument 'std' must be a real number"),
    (dict(filler="xavier", rng="seed"), TypeError, "argument 'rng' must be None"),
    (dict(filler="xavier", rng=-1), TypeError, "argument 'rng' must be None"),
])
def test_fill_other_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=f"fill: {match}"):
        fill((2, 3), **kwargs)


@pytest.mark.parametrize("shape", [(2, -1), (2.0, 3), "23", 5, (True, 2)])
def test_fill_refuses_bad_shapes(shape):
    with pytest.raises(TypeError, match="fill: argument 'shape' must be a tuple of non-negative"):
        fill(shape, "constant")


# --------------------------------------------------------------------------- a foreign solver
def test_train_refuses_a_solver_over_another_net_s_params(spirals):
    net, other = (Net([InnerProduct(2, 3, seed=s)], loss=SoftmaxWithLoss()) for s in (0, 1))
    with pytest.raises(ValueError, match=r"train: argument 'solver' must be a solver over this "
                                         r"net's parameters.*2 parameter\(s\).*'innerproduct0"):
        train(net, SGD(other.params, lr=0.1), spirals, iterations=2)
    mixed = SGD(net.params[:1] + other.params[1:], lr=0.1)
    with pytest.raises(ValueError, match=r"1 parameter\(s\)"):
        train(net, mixed, spirals, iterations=2)


def test_train_accepts_a_solver_over_part_of_the_net(spirals):
    net = Net([InnerProduct(2, 3, seed=0)], loss=SoftmaxWithLoss())
    bias_before = net.params[1].data
    train(net, SGD(net.params[:1], lr=0.1), spirals, iterations=2)  # the bias is frozen
    assert net.params[1].data is bias_before


# --------------------------------------------------------------------------- bool flags
NOT_BOOLS = ["no", "False", 0, 1, 1.0, None, np.array([True])]


def _bool_calls(spirals):
    X, y = spirals
    net = Net([InnerProduct(2, 3, seed=0)], loss=SoftmaxWithLoss())
    return {
        "train(shuffle)": lambda v: train(net, SGD(net.params), spirals, iterations=1,
                                          shuffle=v),
        "minibatches(shuffle)": lambda v: list(minibatches(X, y, 4, shuffle=v)),
        "minibatches(drop_last)": lambda v: list(minibatches(X, y, 4, drop_last=v)),
        "train_val_split(stratify)": lambda v: train_val_split(X, y, stratify=v),
        "load_digits(normalize)": lambda v: load_digits(normalize=v),
        "InnerProduct(bias)": lambda v: InnerProduct(2, 3, bias=v),
        "gradcheck(check_params)": lambda v: gradcheck(InnerProduct(2, 2), np.ones((1, 2)),
                                                       check_params=v),
        "SoftmaxWithLoss(validate)": lambda v: SoftmaxWithLoss(validate=v),
        "HingeLoss(validate)": lambda v: HingeLoss(validate=v),
        "SoftmaxWithLoss.forward(return_probabilities)": lambda v: SoftmaxWithLoss().forward(
            np.zeros((2, 3)), np.array([0, 1]), return_probabilities=v),
    }


@pytest.mark.parametrize("value", NOT_BOOLS, ids=repr)
def test_every_bool_flag_refuses_non_bools(spirals, value):
    if value is None:
        pytest.importorskip("sklearn")
    for where, call in _bool_calls(spirals).items():
        flag = where[where.index("(") + 1:-1]
        with pytest.raises(TypeError, match=f"argument '{flag}' must be True or False"):
            call(value)


@pytest.mark.parametrize("value", ["no", 0, 1, "auto"], ids=repr)
def test_train_progress_is_a_bool_or_none(spirals, value):
    net = Net([InnerProduct(2, 3, seed=0)], loss=SoftmaxWithLoss())
    with pytest.raises(TypeError, match="train: argument 'progress' must be True or False"):
        train(net, SGD(net.params), spirals, iterations=1, progress=value)


def test_bool_flags_accept_numpy_bools(spirals):
    X, y = spirals
    assert len(list(minibatches(X, y, 8, shuffle=np.False_))) == 8


# --------------------------------------------------------------------------- lr policies
@pytest.mark.parametrize("gamma", [0.001, 0.5, 5.0, 1e3, -0.5, -1e3])
@pytest.mark.parametrize("t", [0, 1, 10, 10**4, 10**6, 10**12])
def test_sigmoid_policy_never_overflows(gamma, t):
    opt = SGD([Param(np.zeros(1))], lr=0.1, lr_policy="sigmoid", gamma=gamma, stepsize=100)
    rate = opt.lr_at(t)
    expected = 0.1 / (1.0 + np.exp(np.float64(-gamma * (t - 100)))) if abs(
        gamma * (t - 100)) < 700 else (0.1 if gamma * (t - 100) > 0 else 0.0)
    assert 0.0 <= rate <= 0.1 and rate == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("policy, kwargs", [
    ("exp", dict(gamma=0.5)), ("step", dict(gamma=0.1, stepsize=1)),
    ("multistep", dict(gamma=1e-3, stepvalues=list(range(0, 2000, 10)))),
    ("inv", dict(gamma=1e3, power=50.0)), ("poly", dict(power=3.0, max_iter=10)),
])
@pytest.mark.parametrize("t", [10**3, 10**6, 10**15])
def test_decaying_policies_reach_zero_quietly(policy, kwargs, t):
    opt = SGD([Param(np.zeros(1))], lr=0.1, lr_policy=policy, **kwargs)
    rate = opt.lr_at(t)
    assert 0.0 <= rate < 1e-20


@pytest.mark.parametrize("policy, kwargs", [("exp", dict(gamma=1.5)),
                                            ("step", dict(gamma=10.0, stepsize=1)),
                                            ("multistep", dict(gamma=1e10,
                                                               stepvalues=list(range(50))))])
def test_a_growing_rate_that_overflows_is_a_clear_error(policy, kwargs):
    opt = SGD([Param(np.zeros(1))], lr=0.1, lr_policy=policy, **kwargs)
    with pytest.raises(ValueError, match=f"SGD.lr_at: the learning rate of lr_policy='{policy}'"
                                         ".*overflows at iteration 10000"):
        opt.lr_at(10**4)


# --------------------------------------------------------------------------- 32-bit indices
@pytest.fixture
def index_type_32(monkeypatch):
    """Pretend the platform's index type is 32 bits (wasm32 NumPy), where ``take``
    refuses int64 indices: every row selection must convert its indices."""
    monkeypatch.setattr(sampling, "index_dtype", lambda xp: np.int32)
    real_take = cnp.take
    seen = []

    def take(a, indices, /, *, axis=None, **kw):
        if indices.dtype != np.int32:
            raise TypeError(f"Cannot cast array data from dtype({indices.dtype.name!r}) to "
                            "dtype('int32') according to the rule 'safe'")
        seen.append(indices.dtype)
        return real_take(a, indices, axis=axis, **kw)

    monkeypatch.setattr(cnp, "take", take)
    return seen


def test_index_dtype_is_the_platform_s():
    assert sampling.index_dtype(np) == np.intp
    assert sampling.index_array(np.array([0, 2], dtype=np.int64), cnp).dtype == np.intp


def test_minibatches_with_32_bit_indices(index_type_32, spirals):
    X, y = spirals
    got = sorted(int(v) for _, yb in minibatches(X, y, 7, seed=3) for v in yb)
    assert got == sorted(int(v) for v in y) and index_type_32


def test_train_val_split_with_32_bit_indices(index_type_32, spirals):
    X, y = spirals
    X_tr, X_va, y_tr, y_va = train_val_split(X, y, 0.25, seed=1)
    assert X_tr.shape[0] + X_va.shape[0] == X.shape[0] and index_type_32


def test_train_with_32_bit_indices(index_type_32, spirals, monkeypatch):
    import softmaxlab.training as training

    monkeypatch.setattr(training, "MAX_EVAL_SAMPLES", 10)  # the subset takes rows too
    net = Net([InnerProduct(2, 3, seed=0)], loss=SoftmaxWithLoss())
    h = train(net, SGD(net.params, lr=0.1), spirals, iterations=4, batch_size=8)
    assert h.iterations == 4 and index_type_32


# --------------------------------------------------------------------------- Caffe's 87.3365
def test_caffe_underflow_constant_is_minus_log_flt_min():
    tiny = np.finfo(np.float32).tiny
    assert CAFFE_UNDERFLOW_LOSS == -math.log(float(tiny))
    # What Caffe computes: -log(max(p, FLT_MIN)) for an underflowed p, in float32.
    clamped = -np.log(np.maximum(np.float32(0.0), tiny))
    assert float(clamped) == pytest.approx(CAFFE_UNDERFLOW_LOSS, rel=1e-6)
    assert round(CAFFE_UNDERFLOW_LOSS, 4) == 87.3365


@pytest.mark.parametrize("history", [
    [CAFFE_UNDERFLOW_LOSS] * 5,
    [2.3, 2.1, 5.0, 40.0] + [CAFFE_UNDERFLOW_LOSS] * 30,
    [2.3] + [float(np.float32(CAFFE_UNDERFLOW_LOSS))] * 50,
    [2.3, 9.0] + [87.3365] * 20,  # as a Caffe log prints it
    [CAFFE_UNDERFLOW_LOSS],
])
@pytest.mark.parametrize("K", [2, 10, 1000])
def test_a_loss_stuck_at_minus_log_flt_min_is_underflow(history, K):
    d = diagnose(history, K)
    assert d.verdict == "underflow" and not d.ok
    assert "FLT_MIN" in d.message and "true class underflows" in d.message
    assert "Lower the learning rate" in d.message


@pytest.mark.parametrize("history", [
    [2.3] + [CAFFE_UNDERFLOW_LOSS] * 10 + [40.0, 20.0, 10.0] * 10,  # left the floor
    [2.3] + [CAFFE_UNDERFLOW_LOSS] * 3 + [float("nan")],  # then NaN: diverging
    [87.0, 86.0, 85.0, 84.0],  # near but not at the floor
])
def test_passing_the_floor_is_not_underflow(history):
    assert diagnose(history, 10).verdict != "underflow"


def test_verdict_rules_and_messages_agree():
    names = [r.name for r in VERDICT_RULES]
    assert len(set(names)) == len(names) and set(names) == set(MESSAGES)
    assert {r.verdict for r in VERDICT_RULES} == set(VERDICTS)
    assert VERDICT_RULES[-1].name == "learning"
    assert all(r.when for r in VERDICT_RULES)


def test_range_messages_never_put_an_infinite_end_inside_the_range():
    from softmaxlab import _validation as V

    cases = [(dict(), "a finite number; found inf"),
             (dict(lo=0.0), r"a finite number in [0.0, inf); found inf"),
             (dict(hi=1.0), r"a finite number in (-inf, 1.0]; found inf"),
             (dict(lo=0.0, hi=1.0, hi_open=True), r"a finite number in [0.0, 1.0); found inf")]
    for kw, msg in cases:
        with pytest.raises(ValueError) as e:
            V.check_real_scalar(math.inf, "f", "x", **kw)
        assert str(e.value).endswith("must be " + msg), str(e.value)
    with pytest.raises(ValueError, match=r"InnerProduct: argument 'value' must be a finite "
                                         r"number; found inf"):
        InnerProduct(4, 5, filler="constant", value=math.inf)


@pytest.mark.parametrize("shape, offset", [((), 0), ((5,), 0), ((3, 4), 0), ((3, 4), 7), ((2, 3, 2), 4)])
def test_check_entries_names_the_first_bad_entry_and_its_value(shape, offset):
    from softmaxlab import _validation as V

    a = np.arange(1.0, 1.0 + math.prod(shape)).reshape(shape)
    V.check_entries(a < 0, a, np, "f", "x", "non-negative")  # nothing bad: no error
    bad_at = tuple(d - 1 for d in shape)
    a[bad_at] = -2.5
    if shape:
        a[(0,) * len(shape)] = 3.0  # a larger value earlier is fine
    with pytest.raises(ValueError) as err:
        V.check_entries(a < 0, a, np, "f", "x", "non-negative", offset=offset)
    where = "" if not shape else " at index " + V.fmt_index((bad_at[0] + offset, *bad_at[1:]))
    assert str(err.value) == f"f: argument 'x' must be non-negative; found -2.5{where}"


def _masked(shape=(4, 2)):
    return np.ma.masked_array(np.zeros(shape), mask=np.zeros(shape, bool))


@pytest.mark.parametrize("call, fn, arg", [
    (lambda m: __import__("softmaxlab").asarray(m), "asarray", "x"),
    (lambda m: InnerProduct(2, 2).forward(m), "InnerProduct.forward", "x"),
    (lambda m: minibatches(m, np.arange(4), 2), "minibatches", "X"),
    (lambda m: minibatches(np.zeros((4, 2)), np.ma.masked_array(np.arange(4)), 2), "minibatches", "y"),
    (lambda m: train_val_split(m, np.arange(4) % 2, 0.5), "train_val_split", "X"),
    (lambda m: Param(m), "Param", "data"),
])
def test_masked_arrays_are_refused_at_every_entry(call, fn, arg):
    with pytest.raises(TypeError, match=rf"^{fn}: argument '{arg}' must be a plain array, not a numpy.ma "
                                        r"masked array"):
        call(_masked())


def test_minibatches_checks_its_arguments_at_the_call_and_takes_lists():
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(np.zeros((4, 2)), np.arange(4), 0)  # before any next()
    with pytest.raises(ValueError, match="one row per sample"):
        minibatches(np.zeros((4, 2)), np.arange(3), 2)
    got = [(xb.tolist(), yb.tolist()) for xb, yb in minibatches([[1, 2], [3, 4], [5, 6]], [0, 1, 0], 2,
                                                               shuffle=False)]
    assert got == [([[1, 2], [3, 4]], [0, 1]), ([[5, 6]], [0])]


def test_a_dtype_the_backend_lacks_is_a_clear_error():
    from softmaxlab._backend import asarray, use_backend

    with use_backend("array_api_strict"), pytest.raises(
            TypeError, match=r"asarray: argument 'dtype' must be a dtype of the current backend "
                             r"array_api_strict; found float16, which it does not have"):
        asarray([1.0], dtype="float16")


@pytest.mark.parametrize("value, ok", [(3, True), (np.int64(3), True), (np.array(3), True),
                                       (np.array(3, dtype=np.int32), True), (True, False),
                                       (np.True_, False), (np.array(True), False), (3.0, False),
                                       (np.array(3.0), False), (np.array([3]), False), ("3", False)])
def test_check_int_takes_0d_integer_arrays_and_refuses_bools_and_floats(value, ok):
    from softmaxlab import _validation as V

    if ok:
        assert V.check_int(value, "f", "n") == 3
        assert InnerProduct(value, 2).weight.shape == (2, 3)
    else:
        with pytest.raises(TypeError, match=r"f: argument 'n' must be an integer; found "):
            V.check_int(value, "f", "n")


@pytest.mark.parametrize("which", ["target", "weight", "probs", "hinge-target", "out",
                                   "linear-weight", "linear-bias", "linear-target"])
def test_an_argument_on_another_device_is_named(which):
    import array_api_strict as xps

    import softmaxlab as sml

    d1 = xps.Device("device1")
    z, y = xps.asarray(np.zeros((2, 3))), xps.asarray(np.array([0, 1]))

    def on1(a):
        return xps.asarray(np.asarray(a), device=d1)

    calls = {
        "target": (lambda: sml.cross_entropy(z, on1([0, 1])), "cross_entropy", "target", "logits"),
        "weight": (lambda: sml.cross_entropy(z, y, weight=on1(np.ones(3))), "cross_entropy", "weight",
                   "logits"),
        "probs": (lambda: sml.cross_entropy(z, on1(np.full((2, 3), 1 / 3))), "cross_entropy", "target",
                  "logits"),
        "hinge-target": (lambda: sml.multiclass_hinge(z, on1([0, 1])), "multiclass_hinge", "target",
                         "scores"),
        "out": (lambda: sml.cross_entropy_with_grad(z, y, out=on1(np.zeros((2, 3)))),
                "cross_entropy_with_grad", "out", "logits"),
        "linear-weight": (lambda: sml.linear_cross_entropy(z, on1(np.ones((4, 3))), y),
                          "linear_cross_entropy", "weight", "hidden"),
        "linear-bias": (lambda: sml.linear_cross_entropy(z, xps.asarray(np.ones((4, 3))), y,
                                                         bias=on1(np.zeros(4))),
                        "linear_cross_entropy", "bias", "hidden"),
        "linear-target": (lambda: sml.linear_cross_entropy(z, xps.asarray(np.ones((4, 3))), on1([0, 1])),
                          "linear_cross_entropy", "target", "hidden"),
    }
    call, fn, arg, of = calls[which]
    with pytest.raises(ValueError, match=rf"^{fn}: argument '{arg}' must be on the device of '{of}'"):
        call()
