"""Bad input found by the adversarial audit: each gets a clear error that names
the function, the argument, what was expected and what was found."""

from __future__ import annotations

import math

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
