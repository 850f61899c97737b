"""logsumexp with SciPy's semantics: scale factors, signs, b=0 entries, return_sign.

Three references: ``scipy.special.logsumexp`` over many random cases
(hypothesis), SciPy's own test cases (ported from
``scipy/special/tests/test_logsumexp.py``, adapted where softmaxlab differs on
purpose: see ``DELIBERATE`` below), and mpmath for the last bits when one term
dominates (SciPy gh-18295).
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sps
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmaxlab as sml

# What softmaxlab does differently from scipy.special.logsumexp, on purpose:
DELIBERATE = {
    "default axis": "-1 (the class axis, as softmax here and jax.nn.softmax), not None",
    "NaN or +inf in x": "ValueError naming the slice (validate=False: SciPy's NaN/inf)",
    "negative sum without return_sign": "ValueError (validate=False: SciPy's NaN)",
    "integer arrays": "TypeError (lists of integers are read as float64, as SciPy does)",
    "complex input": "TypeError (the library is about real scores)",
    "empty axis with return_sign": "sign 0, as for any sum of no terms (SciPy: -1)",
    "0-d results": "0-d arrays of the input's library (SciPy: NumPy scalars)",
}


def _ref(x, **kw):
    with np.errstate(all="ignore"):
        return sps.logsumexp(x, **kw)


# --------------------------------------------------------------------------- hypothesis vs scipy
@st.composite
def lse_cases(draw, signed=False):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=st.one_of(
        st.floats(-700, 700, allow_nan=False), st.just(-np.inf))))
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), unique=True,
                                   max_size=len(shape)).map(tuple)))
    b = None
    if draw(st.booleans()):
        # b's shape: x's, a broadcastable one (ones and trailing dims), or a scalar.
        bshape = draw(st.sampled_from([shape, shape[1:], tuple(1 for _ in shape), ()]))
        lo = -3.0 if signed else 0.0
        b = draw(hnp.arrays(np.float64, bshape, elements=st.one_of(
            st.floats(lo, 3.0, allow_nan=False), st.just(0.0))))
    keepdims = draw(st.booleans())
    return x, axis, b, keepdims


@settings(max_examples=300, deadline=None)
@given(lse_cases())
def test_matches_scipy_nonnegative_scales(case):
    x, axis, b, keepdims = case
    got = sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims)
    want = _ref(x, axis=axis, b=b, keepdims=keepdims)
    assert type(got) is np.ndarray and got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    r, s = sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
    wr, ws = _ref(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
    np.testing.assert_array_equal(s, ws)
    np.testing.assert_allclose(r, wr, rtol=1e-13, atol=1e-13)


def _condition(x, b, axis):
    """sum |b e^x| / |sum b e^x| per slice: how much the sum cancels."""
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        t = np.broadcast_to(b, np.broadcast_shapes(x.shape, np.shape(b))) * np.exp(x - m)
        return np.sum(np.abs(t), axis=axis) / np.abs(np.sum(t, axis=axis))


@settings(max_examples=300, deadline=None)
@given(lse_cases(signed=True))
def test_matches_scipy_signed_scales(case):
    x, axis, b, keepdims = case
    assume(b is not None)
    cond = np.asarray(_condition(x, b, axis))
    assume(np.all(cond[np.isfinite(cond)] < 1e8))
    r, s = sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
    wr, ws = _ref(x, axis=axis, b=b, keepdims=keepdims, return_sign=True)
    assert r.shape == np.shape(wr) and s.shape == np.shape(ws)
    np.testing.assert_array_equal(s, ws)
    # An absolute error in log|sum| is a relative one in the sum: eps * cond.
    tol = 1e-14 * np.where(np.isfinite(cond), cond, 1.0) + 1e-13
    tol = np.reshape(tol, np.shape(wr)) if np.ndim(wr) else float(tol)
    finite = np.isfinite(wr)
    np.testing.assert_array_equal(np.isfinite(r), finite)
    with np.errstate(invalid="ignore"):
        err = np.abs(np.where(finite, r - wr, 0.0))
    assert np.all(err <= tol * np.maximum(1, np.abs(wr)))
    if np.any(np.asarray(ws) < 0):
        with pytest.raises(ValueError, match=r"logsumexp: argument 'b' must be such that "
                                             r"the sum of b \* exp\(x\) is not negative"):
            sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims)
        got = sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims, validate=False)
        np.testing.assert_array_equal(np.isnan(got), np.asarray(ws) < 0)
    else:
        np.testing.assert_array_equal(sml.logsumexp(x, axis=axis, b=b, keepdims=keepdims), r)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bdtype", ["float32", "float64", "int64", "bool"])
def test_result_dtype_promotes_like_scipy(dtype, bdtype):
    x = np.array([2.0, 1.0], dtype=dtype)
    b = np.array([1, 1], dtype=bdtype)
    got = sml.logsumexp(x, b=b)
    want = sps.logsumexp(x, b=b)
    if bdtype in ("int64", "bool"):
        assert got.dtype == np.dtype(dtype)  # SciPy: float64 from int64 b (integer b
        # carries no floating precision of its own, so x's dtype is kept)
    else:
        assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_float16_with_b_is_computed_in_float32():
    x = np.array([12.0, 11.0], dtype=np.float16)  # exp(12) overflows float16
    got = sml.logsumexp(x, b=np.array([2, 1]))
    assert got.dtype == np.float16
    assert float(got) == pytest.approx(math.log(2 * math.exp(12) + math.exp(11)), rel=1e-3)


# --------------------------------------------------------------------------- SciPy's own cases
def test_scipy_test_logsumexp():
    assert sml.logsumexp(np.asarray([])) == -np.inf
    a = np.arange(200.0)
    np.testing.assert_allclose(sml.logsumexp(a), np.log(np.sum(np.exp(a))), rtol=1e-15)
    np.testing.assert_allclose(sml.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + math.log(2.0))
    n = 1000
    np.testing.assert_allclose(sml.logsumexp(np.full((n,), 10000.0)), 10000.0 + math.log(n))
    x = np.array([1e-40] * 1000000)
    logX = np.stack([np.log(x), np.log(x)])
    X = np.stack([x, x])
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, axis=None)), X.sum(), rtol=1e-7)
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, axis=0)), X.sum(axis=0), rtol=1e-7)
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, axis=1)), X.sum(axis=1), rtol=1e-7)
    assert sml.logsumexp(np.array([-np.inf])) == -np.inf
    assert sml.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    a = np.array([[1e10, 1e-10], [-1e10, -np.inf]])
    np.testing.assert_allclose(sml.logsumexp(a, axis=-1), [1e10, -1e10])
    np.testing.assert_allclose(sml.logsumexp(a, axis=-1, keepdims=True), [[1e10], [-1e10]])
    np.testing.assert_allclose(sml.logsumexp(a, axis=(-1, -2)), 1e10)


@pytest.mark.parametrize("x", [[np.inf], [np.nan], [1.0, np.inf], [np.nan, 1.0]])
def test_scipy_special_values_are_errors_here(x):
    # SciPy gives inf / nan; softmaxlab raises (DELIBERATE), unless validate=False.
    with pytest.raises(ValueError, match=r"logsumexp: argument 'x' contains (NaN|\+inf)"):
        sml.logsumexp(np.array(x))
    got = sml.logsumexp(np.array(x), validate=False)
    np.testing.assert_array_equal(got, _ref(np.array(x)))
    r, s = sml.logsumexp(np.array(x), validate=False, return_sign=True)
    np.testing.assert_array_equal(r, _ref(np.array(x), return_sign=True)[0])


@pytest.mark.parametrize("b, sign_ref", [(None, 1.0), ([-1.0], -1.0)])
def test_scipy_gh23548_sign_of_infinite_x(b, sign_ref):
    # validate=False computes SciPy's answer for +inf entries: inf with the sign of b.
    val, sign = sml.logsumexp(np.array([np.inf]), b=b, return_sign=True, validate=False)
    assert val == np.inf and float(sign) == sign_ref


def test_scipy_test_logsumexp_b():
    a = np.arange(200.0)
    b = np.arange(200.0, 0.0, -1.0)
    np.testing.assert_allclose(sml.logsumexp(a, b=b), np.log(np.sum(b * np.exp(a))), rtol=1e-14)
    np.testing.assert_allclose(sml.logsumexp([1000, 1000], b=[1.2, 1.2]),
                               1000 + math.log(2 * 1.2), rtol=1e-15)
    x = np.array([1e-40] * 100000)
    b = np.linspace(1, 1000, 100000)
    logX, X, B = np.stack((np.log(x),) * 2), np.stack((x, x)), np.stack((b, b))
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, b=B, axis=None)), (B * X).sum(),
                               rtol=1e-7)
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, b=B, axis=0)), (B * X).sum(axis=0))
    np.testing.assert_allclose(np.exp(sml.logsumexp(logX, b=B, axis=1)), (B * X).sum(axis=1),
                               rtol=1e-7)


def test_scipy_test_logsumexp_sign():
    r, s = sml.logsumexp([1, 1, 1], b=[1, -1, -1], return_sign=True)
    assert float(r) == pytest.approx(1.0, rel=1e-15) and float(s) == -1.0


def test_scipy_test_logsumexp_sign_zero():
    r, s = sml.logsumexp([1, 1], b=[1, -1], return_sign=True)
    assert not np.isfinite(r) and not np.isnan(r) and r < 0
    assert s == 0
    assert sml.logsumexp([1, 1], b=[1, -1]) == -np.inf  # log 0, not negative: no error


def test_scipy_test_logsumexp_sign_and_shape():
    a = np.ones((1, 2, 3, 4))
    r, s = sml.logsumexp(a, axis=2, b=np.ones_like(a), return_sign=True)
    assert r.shape == s.shape == (1, 2, 4)
    r, s = sml.logsumexp(a, axis=(1, 3), b=np.ones_like(a), return_sign=True)
    assert r.shape == s.shape == (1, 3)
    assert sml.logsumexp(a, axis=2, b=np.ones_like(a)).shape == (1, 2, 4)
    assert sml.logsumexp(a, axis=(1, 3), b=np.ones_like(a)).shape == (1, 3)


def test_scipy_test_logsumexp_b_zero():
    # An entry with b == 0 adds nothing, even a huge one, a NaN or +inf.
    np.testing.assert_allclose(sml.logsumexp([1, 10000], b=[1, 0]), 1.0)
    np.testing.assert_allclose(sml.logsumexp(np.array([1.0, np.nan, np.inf]), b=[1, 0, 0]), 1.0)
    assert sml.logsumexp(np.array([1.0, 2.0]), b=[0, 0]) == -np.inf
    r, s = sml.logsumexp(np.array([1.0, 2.0]), b=[0, 0], return_sign=True)
    assert r == -np.inf and s == 0


def test_scipy_test_logsumexp_b_shape():
    a = np.zeros((4, 1, 2, 1))
    b = np.ones((3, 1, 5))
    got = sml.logsumexp(a, b=b, axis=None)
    np.testing.assert_allclose(got, sps.logsumexp(a, b=b), rtol=1e-15)
    got = sml.logsumexp(a, b=b)  # the default axis -1 of the broadcast (4, 3, 2, 5)
    assert got.shape == (4, 3, 2)
    np.testing.assert_allclose(got, math.log(5.0), rtol=1e-15)


@pytest.mark.parametrize("arg", [1, [1, 2, 3], 1.5, [[1.0, 2.0]]])
def test_scipy_test_xp_invalid_input_and_array_like(arg):
    want = _ref(np.atleast_1d(np.asarray(arg, dtype=float)), axis=-1)
    np.testing.assert_allclose(sml.logsumexp(np.atleast_1d(np.asarray(arg, dtype=float))),
                               want)
    if np.ndim(arg):
        np.testing.assert_allclose(sml.logsumexp(arg), want)
    np.testing.assert_allclose(sml.logsumexp([1000, 1000]), 1000.0 + math.log(2.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scipy_test_dtypes_a(dtype):
    got = sml.logsumexp(np.array([1000.0, 1000.0], dtype=dtype))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, 1000.0 + math.log(2.0), rtol=1e-6)


@pytest.mark.parametrize("dtype_a", ["float32", "float64"])
@pytest.mark.parametrize("dtype_b", ["float32", "float64", "int32", "int64"])
def test_scipy_test_dtypes_ab(dtype_a, dtype_b):
    a = np.array([2, 1], dtype=dtype_a)
    b = np.array([1, -1], dtype=dtype_b)
    got = sml.logsumexp(a, b=b)
    want = math.log(math.exp(2) - math.exp(1))
    np.testing.assert_allclose(got, want, rtol=1e-6 if "32" in dtype_a + dtype_b else 1e-15)


@pytest.mark.parametrize("dtype", ["int32", "int64", "complex64", "complex128"])
def test_scipy_dtypes_refused_here(dtype):
    with pytest.raises(TypeError, match=r"logsumexp: argument 'x' must have a real floating"):
        sml.logsumexp(np.array([1000, 1000], dtype=dtype))
    with pytest.raises(TypeError, match=r"logsumexp: argument 'b' must hold real numbers"):
        sml.logsumexp(np.array([1.0, 2.0]), b=np.array([1, 2], dtype=np.complex128))


def test_scipy_test_gh18295():
    # One element much larger than the rest: the rest is not rounded away.
    got = sml.logsumexp(np.array([0.0, -40.0]))
    assert float(got) == np.logaddexp(0.0, -40.0) == 4.248354255291589e-18
    np.testing.assert_allclose(got, sps.logsumexp([0.0, -40.0]), rtol=1e-15)


def test_scipy_test_no_writeback():
    a = np.array([5.0, 4.0])
    b = np.array([3.0, 2.0])
    sml.logsumexp(a)
    sml.logsumexp(a, b=b, return_sign=True)
    sml.logsumexp(a, b=b, where=np.array([True, False]))
    np.testing.assert_array_equal(a, [5.0, 4.0])
    np.testing.assert_array_equal(b, [3.0, 2.0])


@pytest.mark.parametrize("x_raw", [[1.0], []])
def test_scipy_test_device(x_raw):
    xps = pytest.importorskip("array_api_strict")
    for d in xps.__array_namespace_info__().devices()[:3]:
        x = xps.asarray(x_raw, device=d)
        assert sml.logsumexp(x).device == d
        assert sml.logsumexp(x, b=x).device == d
        r, s = sml.logsumexp(x, b=x, return_sign=True)
        assert r.device == d and s.device == d


def test_scipy_test_gh22903():
    # The weight of the largest term is negative but the sum is positive.
    a = np.array([3.06409428, 0.37251854, 3.87471931])
    b = np.array([1.88190708, 2.84174795, -0.85016884])
    np.testing.assert_allclose(sml.logsumexp(a, b=b), sml.logsumexp(a, b=b, return_sign=True)[0])
    np.testing.assert_allclose(sml.logsumexp(a, b=b), sps.logsumexp(a, b=b), rtol=1e-15)
    b = np.array([1.88190708, 2.84174795, -3.85016884])  # the sum is negative
    with pytest.raises(ValueError, match=r"found a negative sum in the slice at index \(\)"):
        sml.logsumexp(a, b=b)
    assert np.isnan(sml.logsumexp(a, b=b, validate=False))  # SciPy's answer


@pytest.mark.parametrize("b0", [5e-324, 1e-310, -5e-324, 1e-300])
def test_tiny_weight_on_the_maximum(b0):
    # Regression (found by hypothesis): a subnormal b on the largest entry made
    # rest / weight overflow, and the result was inf.
    x, b = np.array([1.0, 0.0]), np.array([b0, 1.0])
    r, s = sml.logsumexp(x, b=b, return_sign=True)
    wr, ws = _ref(x, b=b, return_sign=True)  # SciPy warns of its overflow
    assert float(s) == ws == 1.0
    assert float(r) == pytest.approx(wr, rel=1e-15)


def test_empty_axis_with_return_sign():
    r, s = sml.logsumexp(np.zeros((2, 0)), return_sign=True)
    np.testing.assert_array_equal(r, [-np.inf, -np.inf])
    np.testing.assert_array_equal(s, [0.0, 0.0])  # SciPy: -1 (DELIBERATE)
    r, s = sml.logsumexp(np.zeros((2, 0)), b=np.ones((2, 0)), axis=None, return_sign=True)
    assert r == -np.inf and s == 0 and r.shape == ()


def test_negative_sum_names_the_slice():
    x = np.zeros((3, 2))
    b = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, -3.0]])
    with pytest.raises(ValueError, match=r"^logsumexp: argument 'b' must be such that the sum "
                                         r"of b \* exp\(x\) is not negative \(its log is not "
                                         r"real; pass return_sign=True for log\|sum\| and its "
                                         r"sign\); found a negative sum in the slice at index "
                                         r"\(2,\) of the non-class axes$"):
        sml.logsumexp(x, b=b)


@pytest.mark.parametrize("bad, found", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_b_is_an_error(bad, found):
    b = np.ones((2, 3))
    b[1, 2] = bad
    with pytest.raises(ValueError, match=rf"^logsumexp: argument 'b' must be finite scale "
                                         rf"factors; found {found} at index \(1, 2\)$"):
        sml.logsumexp(np.zeros((2, 3)), b=b)


def test_b_that_does_not_broadcast():
    with pytest.raises(ValueError, match=r"^logsumexp: argument 'b' must be broadcastable with "
                                         r"the shape of 'x' \(2, 3\); found shape \(2,\)$"):
        sml.logsumexp(np.zeros((2, 3)), b=np.ones(2))


def test_positional_order_is_scipys():
    # logsumexp(a, axis, b, keepdims, return_sign), positionally as in SciPy.
    x = np.random.default_rng(0).normal(size=(2, 3))
    b = np.random.default_rng(1).uniform(size=(2, 3))
    got = sml.logsumexp(x, 1, b, True, True)
    want = sps.logsumexp(x, 1, b, True, True)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-15)
    np.testing.assert_array_equal(got[1], want[1])


def test_b_on_every_library(lib):
    x = np.random.default_rng(2).normal(size=(3, 4))
    b = np.random.default_rng(3).uniform(-1, 1, size=(3, 4))
    b[:, 0] = 5.0  # every row sum positive
    r, s = sml.logsumexp(lib.asarray(x), b=lib.asarray(b), return_sign=True)
    assert lib.is_native(r) and lib.is_native(s)
    wr, ws = sps.logsumexp(x, axis=-1, b=b, return_sign=True)
    np.testing.assert_allclose(lib.numpy(r), wr, rtol=1e-14)
    np.testing.assert_array_equal(lib.numpy(s), ws)
    got = sml.logsumexp(lib.asarray(x), b=lib.asarray(b), axis=None)
    np.testing.assert_allclose(lib.numpy(got), sps.logsumexp(x, b=b), rtol=1e-14)


def test_b_from_another_library_is_refused():
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r"logsumexp: cannot mix arrays from different "
                                        r"libraries.*array_api_strict.*numpy"):
        sml.logsumexp(np.zeros(2), b=xps.asarray([1.0, 1.0]))


def test_b_on_another_device_is_refused():
    xps = pytest.importorskip("array_api_strict")
    devs = xps.__array_namespace_info__().devices()
    with pytest.raises(ValueError, match=r"^logsumexp: argument 'b' must be on the device of "
                                         r"'x' \(.*CPU_DEVICE.*\); found device .*device1"):
        sml.logsumexp(xps.asarray([1.0, 2.0]), b=xps.asarray([1.0, 1.0], device=devs[1]))


# --------------------------------------------------------------------------- precision (mpmath)
def _mp_lse(row, b=None):
    # 400 digits: 1 + e^-740 must not round to 1 inside the reference.
    with mpmath.workdps(400):
        b = [1.0] * len(row) if b is None else b
        s = mpmath.fsum(mpmath.mpf(float(bi)) * mpmath.exp(mpmath.mpf(float(v)))
                        for v, bi in zip(row, b))
        return float(mpmath.log(abs(s))) if s != 0 else -math.inf


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(15.0, 740.0), min_size=1, max_size=6), st.floats(-50.0, 50.0))
def test_one_dominant_term_keeps_the_last_bits(gaps, top):
    # x = [top, top - g1, top - g2, ...]: the rest is tiny next to e^top.  The
    # result is top + log1p(tiny): relative accuracy of the log1p part kept.
    row = np.array([top] + [top - g for g in gaps])
    got = float(sml.logsumexp(row))
    ref = _mp_lse(row)
    # Rounding of the result, plus that of x - max (an absolute error of an ulp
    # of |x| in each exponent, a relative one in the small part).
    tol = 2 * np.spacing(abs(ref)) + abs(ref - top) * 2 * np.spacing(np.max(np.abs(row)))
    assert abs(got - ref) <= tol + 1e-300
    # The part above the maximum (what gh-18295 lost) to a few ulps.
    shifted = row - top
    rest = _mp_lse(shifted)
    small = float(sml.logsumexp(shifted))
    assert small == pytest.approx(rest, rel=1e-15, abs=1e-320)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-100, 100)),
       st.booleans())
def test_accurate_against_mpmath(row, with_b):
    b = np.linspace(0.5, 2.0, row.size) if with_b else None
    got = float(sml.logsumexp(row, b=b))
    ref = _mp_lse(row, b)
    # A few ulps of the largest of the parts added (max, log w, log1p).
    assert abs(got - ref) <= 8 * np.spacing(max(abs(ref), np.max(np.abs(row)), 1.0))


@pytest.mark.parametrize("row", [[0.0, -40.0], [0.0, -20.0, -30.0], [5.0, 5.0, -36.0],
                                 [-1000.0, -1040.0], [700.0, 663.0, 650.0]])
def test_dominant_hand_cases_against_mpmath(row):
    row = np.array(row)
    got = float(sml.logsumexp(row))
    ref = _mp_lse(row)
    assert got == pytest.approx(ref, rel=2.3e-16)
    if row[0] == 0.0:  # the whole result is the small part: relative accuracy
        assert got > 0.0


def test_float32_against_mpmath():
    rng = np.random.default_rng(5)
    for _ in range(50):
        row = rng.normal(scale=20.0, size=rng.integers(1, 40)).astype(np.float32)
        got = float(sml.logsumexp(row))
        assert got == pytest.approx(_mp_lse(row), rel=3e-7, abs=3e-7)
    assert float(sml.logsumexp(np.array([0.0, -20.0], dtype=np.float32))) == pytest.approx(
        2.0611536e-09, rel=1e-6)  # log(1 + e^-20): 0.0 without the log1p form
