"""Bad input found by the adversarial audit: each gets a clear error that names
the function, the argument, what was expected and what was found."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import softmaxlab as sml
from softmaxlab.losses import (
    cross_entropy,
    cross_entropy_with_grad,
    multiclass_hinge,
    multiclass_hinge_with_grad,
)
from softmaxlab.special import log_softmax, logsumexp, sigmoid, softmax

X = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
Y = np.array([2, 0])


# --------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("fn", [logsumexp, softmax, log_softmax, sigmoid])
@pytest.mark.parametrize("bad, found", [
    (None, "NoneType None"),
    ("abc", "str 'abc'"),
    ({"a": 1}, r"dict \{'a': 1\}"),
])
def test_special_non_numbers_say_what_was_found(fn, bad, found):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: argument 'x' must be an array or a "
                                        rf"\(nested\) list of numbers; found {found}"):
        fn(bad)


@pytest.mark.parametrize("fn", [logsumexp, softmax, log_softmax, sigmoid])
def test_special_ragged_list_names_function(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: argument 'x' must be .* rows of equal "
                                         r"length; found list that NumPy cannot convert"):
        fn([[1.0, 2.0], [3.0]])


def test_object_array_is_not_called_integer():
    with pytest.raises(TypeError, match="softmax: argument 'x' must have a real floating dtype.*"
                                        "found non-numeric dtype object"):
        softmax(np.array([[1.0, 2.0]], dtype=object))


@pytest.mark.parametrize("fn", [cross_entropy, multiclass_hinge])
def test_loss_none_scores(fn):
    name = "logits" if fn is cross_entropy else "scores"
    with pytest.raises(TypeError, match=rf"{fn.__name__}: argument '{name}' must be an array.*"
                                        "found NoneType None"):
        fn(None, Y)


def test_loss_ragged_target():
    with pytest.raises(ValueError, match="cross_entropy: argument 'target' must be .*equal length"):
        cross_entropy(X, [[0, 1], [2]])


def test_asarray_ragged_and_non_numbers():
    with pytest.raises(ValueError, match="asarray: argument 'x' must be .*equal length; found list"):
        sml.asarray([[1, 2], [3]])
    with pytest.raises(TypeError, match="asarray: argument 'x' .*found NoneType None"):
        sml.asarray(None)
    with pytest.raises(TypeError, match="asarray: argument 'dtype' must be a NumPy dtype or its "
                                        "name.*found 'floaty'"):
        sml.asarray([1.0], dtype="floaty")


@pytest.mark.parametrize("bad, found", [({"a": 1}, "dict"), (None, "NoneType"), ("abc", "str")])
def test_to_numpy_rejects_non_arrays(bad, found):
    with pytest.raises(TypeError, match=f"to_numpy: argument 'x' must be an array.*found {found}"):
        sml.to_numpy(bad)


def test_to_numpy_still_takes_scalars_lists_and_arrays():
    assert sml.to_numpy(2.5) == 2.5
    np.testing.assert_array_equal(sml.to_numpy([[1, 2], [3, 4]]), [[1, 2], [3, 4]])
    s = np.array(["a", "b"])  # an existing array is passed through, whatever its dtype
    assert sml.to_numpy(s) is s


# --------------------------------------------------------------------------- losses
@pytest.mark.parametrize("fn", [multiclass_hinge, multiclass_hinge_with_grad])
def test_hinge_names_its_argument_scores(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: argument 'scores' must have a real "
                                        "floating dtype.*found integer dtype int64"):
        fn(np.array([[1, 2, 3]]), np.array([0]))


def test_cross_entropy_with_grad_empty_batch_names_itself():
    with pytest.raises(ValueError, match=r"^cross_entropy_with_grad: reduction='mean' needs at "
                                         r"least one position; found an empty batch of shape \(0,\)"):
        cross_entropy_with_grad(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_logsumexp_keepdims_must_be_bool():
    with pytest.raises(TypeError, match="logsumexp: argument 'keepdims' must be True or False; "
                                        "found 'yes'"):
        logsumexp(X, keepdims="yes")
    assert logsumexp(X, keepdims=np.bool_(True)).shape == (2, 1)


# --------------------------------------------------------------------------- layers and Net
from softmaxlab.layers import HingeLoss, InnerProduct, ReLU, Softmax, SoftmaxWithLoss  # noqa: E402
from softmaxlab.net import Net  # noqa: E402


@pytest.mark.parametrize("make", [lambda: InnerProduct(3, 2, seed=0), ReLU, Softmax])
@pytest.mark.parametrize("method", ["forward", "predict"])
def test_layer_input_none_names_layer_and_argument(make, method):
    layer = make()
    with pytest.raises(TypeError, match=rf"{type(layer).__name__}\.{method}: argument 'x' must be "
                                        "an array.*found NoneType None"):
        getattr(layer, method)(None)


def test_layer_takes_lists_like_the_functions_do():
    ip = InnerProduct(3, 2, seed=0)
    np.testing.assert_array_equal(ip.forward(X.tolist()), ip.forward(X))
    np.testing.assert_array_equal(ip.backward([[1.0, 1.0], [1.0, 1.0]]), ip.backward(np.ones((2, 2))))
    s = SoftmaxWithLoss()
    assert float(s.forward(X.tolist(), Y.tolist())) == pytest.approx(float(cross_entropy(X, Y)))


def test_layer_rejects_complex_input():
    with pytest.raises(TypeError, match=r"ReLU\.forward: argument 'x' must hold real numbers.*"
                                        "found complex dtype complex128"):
        ReLU().forward(np.array([1 + 1j]))


def test_layer_backward_none():
    r = ReLU()
    r.forward(X)
    with pytest.raises(TypeError, match=r"ReLU\.backward: argument 'dy' must be an array.*NoneType"):
        r.backward(None)


@pytest.mark.parametrize("cls", [SoftmaxWithLoss, HingeLoss])
@pytest.mark.parametrize("dloss, exc, found", [
    ("a", TypeError, "found str 'a'"),
    (None, TypeError, "found NoneType None"),
    (np.array([1.0, 2.0]), TypeError, r"found ndarray of shape \(2,\)"),
    (float("nan"), ValueError, "found nan"),
    (np.array(np.inf), ValueError, "found inf"),
])
def test_loss_layer_backward_dloss(cls, dloss, exc, found):
    layer = cls()
    layer.forward(X, Y)
    with pytest.raises(exc, match=rf"{cls.__name__}\.backward: argument 'dloss' must .*{found}"):
        layer.backward(dloss)


@pytest.mark.parametrize("cls", [SoftmaxWithLoss, HingeLoss])
def test_loss_layer_backward_scalars_still_scale(cls):
    layer = cls()
    layer.forward(X, Y)
    g = layer.backward()
    np.testing.assert_allclose(layer.backward(2.0), 2 * g)
    np.testing.assert_allclose(layer.backward(np.float32(2.0)), 2 * g)
    np.testing.assert_allclose(layer.backward(np.array(2.0)), 2 * g)


@pytest.mark.parametrize("cls", [SoftmaxWithLoss, HingeLoss])
def test_loss_layer_scores_none(cls):
    with pytest.raises(TypeError, match=rf"{cls.__name__}\.forward: argument 'scores' must be an "
                                        "array.*found NoneType None"):
        cls().forward(None, Y)


@pytest.mark.parametrize("make, match", [
    (lambda: ReLU("a"), "ReLU: argument 'negative_slope' must be a real number; found 'a'"),
    (lambda: ReLU(float("nan")), "ReLU: argument 'negative_slope' must be a finite number.*found nan"),
    (lambda: Softmax(axis=1.5), "Softmax: argument 'axis' must be an integer; found 1.5"),
    (lambda: SoftmaxWithLoss(axis=1.5), "SoftmaxWithLoss: argument 'axis' must be an integer; found 1.5"),
    (lambda: SoftmaxWithLoss(loss_weight="a"), "SoftmaxWithLoss: argument 'loss_weight' must be a "
                                               "real number; found 'a'"),
    (lambda: SoftmaxWithLoss(label_smoothing="a"), "argument 'label_smoothing' must be a real number"),
    (lambda: HingeLoss(margin="a"), "HingeLoss: argument 'margin' must be a real number; found 'a'"),
    (lambda: HingeLoss(margin=np.inf), r"HingeLoss: argument 'margin' must be a finite number; found inf"),
    (lambda: InnerProduct(3, 2, seed="a"), "InnerProduct: argument 'seed' must be None, a non-negative "
                                           "integer or a numpy.random.Generator; found 'a'"),
])
def test_layer_constructor_arguments(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("bad", [None, InnerProduct(3, 2, seed=0), "ip"])
def test_net_layers_must_be_a_list(bad):
    with pytest.raises(TypeError, match="Net: argument 'layers' must be a list of layers.*found"):
        Net(bad)


def test_net_summary_input_shape():
    net = Net([InnerProduct(3, 2, seed=0)], loss=SoftmaxWithLoss())
    with pytest.raises(TypeError, match=r"Net\.summary: argument 'input_shape' must be a tuple of "
                                        "non-negative integers.*found 'a'"):
        net.summary("a")
    assert "(8, 2)" in net.summary((8, 3))


def test_net_accepts_lists():
    net = Net([InnerProduct(3, 4, seed=0)], loss=SoftmaxWithLoss())
    assert net.forward(X.tolist(), Y.tolist()) == net.forward(X, Y)


# --------------------------------------------------------------------------- SGD and Param
from softmaxlab.layers import Param  # noqa: E402
from softmaxlab.optim import SGD  # noqa: E402


def _p():
    return Param(np.array([1.0, 2.0]), name="w")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr="a"), TypeError, "SGD: argument 'lr' must be a real number; found 'a'"),
    (dict(momentum=None), TypeError, "SGD: argument 'momentum' must be a real number; found None"),
    (dict(lr_policy="exp", gamma=-1.0), ValueError,
     "SGD: argument 'gamma' must be a finite number > 0 for lr_policy='exp'.*found -1.0"),
    (dict(lr_policy="step", gamma=0.0, stepsize=5), ValueError, "argument 'gamma' must be .*> 0"),
    (dict(lr_policy="poly", power=-1.0, max_iter=10), ValueError,
     "SGD: argument 'power' must be a finite number >= 0.*found -1.0"),
    (dict(lr_policy="multistep", gamma=0.1, stepvalues="ab"), TypeError,
     "SGD: argument 'stepvalues' must be a list of increasing iteration numbers; found 'ab'"),
    (dict(lr_policy="multistep", gamma=0.1, stepvalues=[5, 2.5]), TypeError,
     "SGD: argument 'stepvalues' must hold non-negative integers; found 2.5 at index 1"),
    (dict(lr_policy="step", gamma=0.1, stepsize="5"), TypeError,  # a wrong type: TypeError
     "SGD: argument 'stepsize' must be a positive integer; found str '5'"),
    (dict(lr_policy="step", gamma=0.1, stepsize=10.0), TypeError,
     "SGD: argument 'stepsize' must be a positive integer; found float 10.0"),
    (dict(lr_policy="step", gamma=0.1, stepsize=0), ValueError,
     "SGD: argument 'stepsize' must be a positive integer; found 0"),
])
def test_sgd_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SGD([_p()], **kwargs)


def test_sgd_sigmoid_may_decrease():
    # Caffe's sigmoid policy with gamma < 0 is a decreasing schedule: allowed.
    opt = SGD([_p()], lr=1.0, lr_policy="sigmoid", gamma=-0.1, stepsize=10)
    assert opt.lr_at(0) > opt.lr_at(20) > 0


@pytest.mark.parametrize("params, found", [
    (None, "found NoneType"),
    (InnerProduct(3, 2, seed=0), r"\(pass net.params or layer.params\); found InnerProduct"),
    (Param(np.zeros(2)), "found Param"),
])
def test_sgd_params_must_be_iterable(params, found):
    with pytest.raises(TypeError, match=f"SGD: argument 'params' must be an iterable of Param.*{found}"):
        SGD(params)


@pytest.mark.parametrize("it, exc", [(-1, ValueError), (2.5, TypeError), ("a", TypeError)])
def test_sgd_lr_at_iteration(it, exc):
    opt = SGD([_p()], lr=0.1, lr_policy="poly", power=1.0, max_iter=10)
    with pytest.raises(exc, match=f"SGD.lr_at: argument 'it' must be an integer.*found {it!r}"):
        opt.lr_at(it)


@pytest.mark.parametrize("data, exc, match", [
    (None, TypeError, "Param: argument 'data' must be an array.*found NoneType None"),
    (np.array([1, 2]), TypeError, "Param: argument 'data' must have a real floating dtype.*int64"),
])
def test_param_data(data, exc, match):
    with pytest.raises(exc, match=match):
        Param(data)


def test_param_list_and_multipliers():
    assert Param([1.0, 2.0]).shape == (2,)
    with pytest.raises(TypeError, match="Param: argument 'lr_mult' must be a real number; found 'a'"):
        Param(np.zeros(2), lr_mult="a")


# --------------------------------------------------------------------------- train
from softmaxlab.training import train  # noqa: E402

XT = np.arange(20.0).reshape(10, 2) / 10
YT = np.arange(10) % 2


def _net():
    return Net([InnerProduct(2, 2, seed=0)], loss=SoftmaxWithLoss())


def test_train_solver_none():
    with pytest.raises(TypeError, match=r"train: argument 'solver' must be an optimiser with a "
                                        r"step\(\) method.*found NoneType"):
        train(_net(), None, (XT, YT), iterations=2)


def test_train_num_classes_must_match_the_net():
    net = _net()
    with pytest.raises(ValueError, match=r"train: argument 'num_classes' must match the net's last "
                                         r"layer \(num_output=2\); found 1"):
        train(net, SGD(net.params, lr=0.1), (XT, YT), iterations=2, num_classes=1)
    h = train(net, SGD(net.params, lr=0.1), (XT, YT), iterations=2, num_classes=2)
    assert h.num_classes == 2


# --------------------------------------------------------------------------- gradcheck
from softmaxlab.gradcheck import gradcheck  # noqa: E402


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(eps=0), ValueError, r"gradcheck: argument 'eps' must be a finite number in \(0.0, inf\); found 0"),
    (dict(eps=-1e-6), ValueError, "argument 'eps' must be .*found -1e-06"),
    (dict(tol=-1), ValueError, r"gradcheck: argument 'tol' must be a finite number in \[0.0, inf\); found -1"),
    (dict(atol=float("nan")), ValueError, "argument 'atol' .*found nan"),
    (dict(max_entries=0), ValueError, "gradcheck: argument 'max_entries' must be an integer >= 1; found 0"),
    (dict(max_entries=-1), ValueError, "argument 'max_entries' must be an integer >= 1; found -1"),
    (dict(max_entries=2.5), TypeError, "argument 'max_entries' must be an integer; found 2.5"),
    (dict(check_params="no"), TypeError, "argument 'check_params' must be True or False; found 'no'"),
    (dict(seed="a"), TypeError, "gradcheck: argument 'seed' must be an integer; found 'a'"),
])
def test_gradcheck_settings(kwargs, exc, match):
    # before: eps=0 divided by zero, tol<0 / max_entries=0 reported ok=True having checked nothing
    with pytest.raises(exc, match=match):
        gradcheck(InnerProduct(3, 2, seed=0), X, **kwargs)


# --------------------------------------------------------------------------- diagnose
def test_diagnose_huge_finite_losses_do_not_turn_into_nan():
    # before: the running sum overflowed and the verdict read "fell from 1e+308 to nan
    # (nan % lower) ... the network is learning"
    with np.errstate(all="raise"):
        d = sml.diagnose([1e308, 1e308, 1e308], 10)
    assert d.verdict == "bad_init"
    assert d.end_loss == pytest.approx(1e308) and math.isfinite(d.relative_improvement)
    assert "nan" not in d.message


# validate must be a bool: a truthy string or a number used to pass silently.
_X, _Y = np.zeros((2, 3)), np.array([0, 2])


@pytest.mark.parametrize("name, call", [
    ("logsumexp", lambda v: logsumexp(_X, validate=v)),
    ("softmax", lambda v: softmax(_X, validate=v)),
    ("log_softmax", lambda v: log_softmax(_X, validate=v)),
    ("sigmoid", lambda v: sigmoid(_X, validate=v)),
    ("cross_entropy", lambda v: cross_entropy(_X, _Y, validate=v)),
    ("cross_entropy_with_grad", lambda v: sml.cross_entropy_with_grad(_X, _Y, validate=v)),
    ("multiclass_hinge", lambda v: multiclass_hinge(_X, _Y, validate=v)),
    ("multiclass_hinge_with_grad", lambda v: multiclass_hinge_with_grad(_X, _Y, validate=v)),
    ("SoftmaxWithLoss", lambda v: SoftmaxWithLoss(validate=v)),
    ("HingeLoss", lambda v: HingeLoss(validate=v)),
])
@pytest.mark.parametrize("bad", ["no", 0, None])
def test_validate_must_be_a_bool(name, call, bad):
    with pytest.raises(TypeError, match=rf"^{name}: argument 'validate' must be True or False; "
                                        rf"found {re.escape(repr(bad))}$"):
        call(bad)
    call(np.bool_(False))  # NumPy's bool is a bool


# A list of Python integers carries no dtype the caller chose: functions that
# need floats read it as float64, as scipy.special does.  Integer *arrays* are
# still refused (above), and so are lists of booleans.
@pytest.mark.parametrize("call, ref", [
    (lambda: softmax([1, 2, 3]), lambda: softmax(np.array([1.0, 2.0, 3.0]))),
    (lambda: log_softmax([[1, 2], [3, 5]]), lambda: log_softmax(np.array([[1.0, 2], [3, 5]]))),
    (lambda: logsumexp([1000, 1000]), lambda: logsumexp(np.array([1000.0, 1000.0]))),
    (lambda: sigmoid(3), lambda: sigmoid(np.array(3.0))),
    (lambda: cross_entropy([[1, 2], [3, 4]], [0, 1]),
     lambda: cross_entropy(np.array([[1.0, 2], [3, 4]]), np.array([0, 1]))),
    (lambda: multiclass_hinge([[1, 2], [3, 4]], [0, 1]),
     lambda: multiclass_hinge(np.array([[1.0, 2], [3, 4]]), np.array([0, 1]))),
    (lambda: sml.Param([1, 2]).data, lambda: np.array([1.0, 2.0])),
])
def test_integer_lists_are_read_as_floats(call, ref):
    got, want = call(), ref()
    assert np.asarray(got).dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_boolean_lists_are_still_refused():
    with pytest.raises(TypeError, match="softmax: argument 'x' must have a real floating dtype.*"
                                        "found boolean dtype"):
        softmax([True, False])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", ["data", "val_data"])
def test_train_refuses_non_finite_inputs_up_front(bad, which):
    # A NaN in the data used to end training after one step with a NaN loss.
    from softmaxlab.datasets import make_spirals

    X, y = make_spirals(n_per_class=10, num_classes=3, seed=0)
    Xb = X.copy()
    Xb[7, 1] = bad
    net = sml.Net([InnerProduct(2, 3, seed=0)], SoftmaxWithLoss())
    kw = dict(data=(Xb, y)) if which == "data" else dict(data=(X, y), val_data=(Xb, y))
    with pytest.raises(ValueError, match=rf"^train: argument '{which}\[0\] \(X\)' must be finite "
                                         rf".*; found {re.escape(repr(bad))} at index \(7, 1\)$"):
        sml.train(net, sml.SGD(net.params, lr=0.1), iterations=2, **kw)


def test_diagnose_refuses_negative_losses():
    # A log-likelihood (or an accuracy) passed by mistake used to be read as a plateau.
    with pytest.raises(ValueError, match=r"^diagnose: argument 'loss_history' must be non-negative "
                                         r"\(a cross-entropy or hinge loss is never negative.*; "
                                         r"found -1.0 at step 3$"):
        sml.diagnose([2.3, 2.0, 1.0, -1.0, -2.0], 10)
    # Rounding just below zero in another library's loss is not an error.
    assert sml.diagnose([2.3, 1.0, 0.1, -1e-9], 10).verdict == "learning"


def test_messages_name_dtypes_the_same_way_on_every_backend():
    # array-api-strict spells its dtypes "array_api_strict.float64"; the messages
    # say "float64" for every library, so a notebook prints the same text anywhere.
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r"but a floating dtype float64; class labels"):
        cross_entropy(xps.zeros((2, 3)), xps.asarray([0.0, 2.0]))
    with pytest.raises(TypeError, match=r"found integer dtype int64\. Convert"):
        softmax(xps.asarray([1, 2]))
    with pytest.raises(ValueError, match=r"dtype float64; found Array of shape \(2, 3\) and "
                                         r"dtype float32$"):
        cross_entropy_with_grad(xps.zeros((2, 3)), xps.asarray([0, 1]),
                                out=xps.zeros((2, 3), dtype=xps.float32))
