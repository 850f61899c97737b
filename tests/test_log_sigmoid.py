"""log_sigmoid: mpmath and PyTorch references, extremes, identities, gradient, errors."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmaxlab as sml

from .conftest import torch_or_skip


def _mp_log_sigmoid(v):
    with mpmath.workdps(50):
        return float(-mpmath.log1p(mpmath.exp(-mpmath.mpf(float(v)))))


@settings(max_examples=400, deadline=None)
@given(st.floats(-1e4, 1e4))
def test_float64_against_mpmath(v):
    got = float(sml.log_sigmoid(np.array(v)))
    ref = _mp_log_sigmoid(v)
    assert got == pytest.approx(ref, rel=4.5e-16, abs=1e-320)


@settings(max_examples=300, deadline=None)
@given(st.floats(-100.0, 100.0, width=32))
def test_float32_against_mpmath(v):
    got = sml.log_sigmoid(np.array(v, dtype=np.float32))
    assert got.dtype == np.float32
    ref = _mp_log_sigmoid(np.float32(v))
    # ~2 float32 ulps; results below the smallest normal keep the subnormal's step.
    assert float(got) == pytest.approx(ref, rel=2.5e-7, abs=1.5e-45)


@pytest.mark.parametrize("v, want", [
    (-1000.0, -1000.0), (-1e300, -1e300), (-np.inf, -np.inf), (0.0, -math.log(2.0)),
    (30.0, -9.357622968839737e-14), (40.0, -4.248354255291589e-18),
    (700.0, -9.85967654375977e-305), (745.0, -5e-324),
])
def test_extremes_float64(v, want):
    got = sml.log_sigmoid(np.array(v))
    assert float(got) == want


@pytest.mark.parametrize("v", [1000.0, 1e300, np.inf])
def test_large_positive_is_minus_zero(v):
    # e^-v underflows: the exact value is a tiny negative number, so -0.0.
    got = sml.log_sigmoid(np.array([v]))
    assert got[0] == 0.0 and np.signbit(got[0])


def test_extremes_float32():
    x = np.array([-1000.0, -100.0, 0.0, 20.0, 100.0, 1000.0], dtype=np.float32)
    got = sml.log_sigmoid(x)
    assert got.dtype == np.float32
    assert got[0] == np.float32(-1000.0) and got[1] == np.float32(-100.0)
    assert got[3] == pytest.approx(-2.0611537e-09, rel=1e-6)
    assert got[4] == pytest.approx(-3.7835e-44, rel=0.05)  # float32 subnormal
    assert got[5] == 0.0 and np.signbit(got[5])


def test_float16_is_computed_in_float32():
    x = np.array([-20.0, 0.0, 8.0, 20.0], dtype=np.float16)
    got = sml.log_sigmoid(x)
    assert got.dtype == np.float16
    ref = np.array([_mp_log_sigmoid(v) for v in x.astype(np.float64)])
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=1e-3, atol=6e-8)


@settings(max_examples=200, deadline=None)
@given(st.floats(-700.0, 700.0))
def test_identities(v):
    x = np.array(v)
    # log sigma(x) - log sigma(-x) = x, and exp(log sigma) = sigma.
    d = float(sml.log_sigmoid(x) - sml.log_sigmoid(-x))
    assert d == pytest.approx(v, rel=1e-13, abs=1e-13)
    assert float(np.exp(sml.log_sigmoid(x))) == pytest.approx(float(sml.sigmoid(x)),
                                                              rel=1e-14, abs=1e-300)
    assert float(sml.log_sigmoid(x)) <= 0.0


def test_is_log_softmax_of_x_and_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=30.0, size=50)
    pair = np.stack([x, np.zeros_like(x)], axis=1)
    np.testing.assert_allclose(sml.log_sigmoid(x), sml.log_softmax(pair)[:, 0], rtol=1e-13,
                               atol=1e-15)


def test_gradient_by_central_differences():
    # d/dx log sigma(x) = sigma(-x).
    x = np.linspace(-8.0, 8.0, 33)
    h = 1e-6
    num = (sml.log_sigmoid(x + h) - sml.log_sigmoid(x - h)) / (2 * h)
    np.testing.assert_allclose(num, sml.sigmoid(-x), rtol=1e-8, atol=1e-10)


def test_every_library(lib):
    x = np.array([[-1000.0, -30.0, 0.0], [1.5, 30.0, 1000.0]])
    got = sml.log_sigmoid(lib.asarray(x))
    assert lib.is_native(got)
    np.testing.assert_allclose(lib.numpy(got), [[_mp_log_sigmoid(v) for v in r] for r in x],
                               rtol=5e-16, atol=1e-320)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(dtype):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(scale=s, size=200) for s in (1.0, 10.0, 100.0)] +
                       [np.array([-1e4, -1000.0, -88.0, -30.0, 0.0, 17.0, 30.0, 88.0,
                                  104.0, 1000.0, 1e4, np.inf, -np.inf])]).astype(dtype)
    got = sml.log_sigmoid(x)
    want = torch.nn.functional.logsigmoid(torch.from_numpy(x)).numpy()
    assert got.dtype == want.dtype
    tiny = np.finfo(dtype).smallest_subnormal
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=2 * tiny)


def test_nan_is_an_error():
    with pytest.raises(ValueError, match=r"^log_sigmoid: argument 'x' contains NaN at index "
                                         r"\(1, 0\); expected finite values or \+-inf$"):
        sml.log_sigmoid(np.array([[0.0], [np.nan]]))
    assert np.isnan(sml.log_sigmoid(np.array([np.nan]), validate=False)).all()


@pytest.mark.parametrize("bad", [np.array([1, 2]), np.array([True]), np.array([1j])])
def test_non_float_dtypes_are_type_errors(bad):
    with pytest.raises(TypeError, match=r"^log_sigmoid: argument 'x' must have a real floating "
                                        r"dtype"):
        sml.log_sigmoid(bad)


def test_lists_and_input_unchanged():
    np.testing.assert_allclose(sml.log_sigmoid([0, 1]), [-math.log(2), -math.log1p(math.e ** -1)])
    x = np.array([1.0, -2.0])
    sml.log_sigmoid(x)
    np.testing.assert_array_equal(x, [1.0, -2.0])


def test_exported():
    assert "log_sigmoid" in sml.__all__ and sml.log_sigmoid is sml.special.log_sigmoid
