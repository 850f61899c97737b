"""softmax, log_softmax, logsumexp, sigmoid: references, invariants, edge cases, errors."""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmaxlab as sml

FUNCS = {
    "softmax": (sml.softmax, sps.softmax),
    "log_softmax": (sml.log_softmax, sps.log_softmax),
    "logsumexp": (sml.logsumexp, sps.logsumexp),
}


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("shape,axis", [((7,), -1), ((4, 9), 1), ((4, 9), 0), ((2, 3, 5), 1),
                                        ((2, 3, 5), -1), ((1, 1), 1)])
def test_matches_scipy(lib, name, shape, axis):
    ours, ref = FUNCS[name]
    x = np.random.default_rng(0).normal(scale=10.0, size=shape)
    got = lib.numpy(ours(lib.asarray(x), axis=axis))
    np.testing.assert_allclose(got, ref(x, axis=axis), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("shape,axis", [
    ((4, 9), None), ((2, 3, 5), None), ((2, 3, 5), (0, 2)), ((2, 3, 5), (2, 0)),
    ((2, 3, 5), (-1, -2)), ((2, 3, 5), [0, 1]), ((2, 3, 4, 5), (1, 3)), ((2, 3, 5), (1,)),
    ((2, 3, 5), (0, 1, 2)), ((3, 4), ()), ((), None), ((6,), None), ((2, 0, 3), (0, 2)),
    ((2, 0, 3), (0, 1)),
])
def test_matches_scipy_several_axes(lib, name, shape, axis):
    # scipy.special reduces over a tuple of axes, or all of them for axis=None.
    ours, ref = FUNCS[name]
    x = np.random.default_rng(2).normal(scale=10.0, size=shape)
    got = lib.numpy(ours(lib.asarray(x), axis=axis))
    if x.size == 0:
        # scipy 1.17 raises on these empty inputs.  A sum of no terms is 0 and
        # its log -inf; softmax of an empty array is that empty array.
        kept = tuple(s for i, s in enumerate(shape) if i not in axis)
        want = np.full(kept, -np.inf) if name == "logsumexp" else np.empty(shape)
    else:
        want = ref(x, axis=tuple(axis) if isinstance(axis, list) else axis)
    assert got.shape == np.shape(want)
    # log_softmax of the largest entry is x - lse with x close to lse: both
    # results carry an absolute error of about one ulp of lse there.
    atol = 1e-15 if name == "log_softmax" else 1e-300
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=atol)


@pytest.mark.parametrize("axis", [None, (0, 2), (2, 0), (1,), (), -1])
def test_logsumexp_keepdims_several_axes(lib, axis):
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    got = lib.numpy(sml.logsumexp(lib.asarray(x), axis=axis, keepdims=True))
    want = sps.logsumexp(x, axis=axis, keepdims=True)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_several_axes_are_one_class_axis():
    # softmax over (1, 2) equals softmax over the last axis of the merged array,
    # masked classes and an all -inf slice included.
    x = np.random.default_rng(4).normal(size=(3, 2, 5)).astype(np.float32)
    x[0, 1, 2] = -np.inf
    x[2] = -np.inf
    merged = x.reshape(3, 10)
    np.testing.assert_array_equal(sml.softmax(x, axis=(1, 2)), sml.softmax(merged).reshape(3, 2, 5))
    np.testing.assert_array_equal(sml.log_softmax(x, axis=(2, 1)),
                                  sml.log_softmax(merged).reshape(3, 2, 5))
    np.testing.assert_array_equal(sml.logsumexp(x, axis=(1, 2)), sml.logsumexp(merged))
    assert sml.softmax(x, axis=(1, 2)).dtype == np.float32
    np.testing.assert_allclose(sml.softmax(x, axis=None).sum(), 1.0, rtol=1e-6)
    assert float(sml.softmax(np.array(3.0), axis=None)) == 1.0


def test_several_axes_report_the_bad_slice():
    x = np.zeros((3, 2, 5))
    x[1, 0, 4] = np.nan
    with pytest.raises(ValueError, match=r"softmax: argument 'x' contains NaN in the slice at index \(1,\)"):
        sml.softmax(x, axis=(1, 2))
    with pytest.raises(ValueError, match=r"logsumexp: argument 'x' contains NaN in the slice at index \(\)"):
        sml.logsumexp(x, axis=None)


@pytest.mark.parametrize("axis,exc,msg", [
    ((0, 0), ValueError, r"softmax: argument 'axis'=\(0, 0\) names axis 0 twice"),
    ((0, -2), ValueError, r"softmax: argument 'axis'=\(0, -2\) names axis 0 twice"),
    ((0, 2), ValueError, r"softmax: argument 'axis'=\(0, 2\) holds 2, which is out of range "
                         r"for an array with 2 dimensions; expected integers in \[-2, 1\]"),
    ((0, 1.0), TypeError, r"softmax: argument 'axis' must be an integer, a tuple of integers "
                          r"or None; found \(0, 1.0\), which holds 1.0"),
    ((True,), TypeError, r"softmax: argument 'axis' must be an integer, a tuple"),
    ("1", TypeError, r"softmax: argument 'axis' must be an integer, a tuple of integers or None; "
                     r"found '1'"),
])
def test_bad_several_axes(axis, exc, msg):
    with pytest.raises(exc, match=msg):
        sml.softmax(np.zeros((2, 3)), axis=axis)


def test_logsumexp_keepdims(lib):
    x = np.random.default_rng(1).normal(size=(3, 4))
    got = lib.numpy(sml.logsumexp(lib.asarray(x), axis=0, keepdims=True))
    np.testing.assert_allclose(got, sps.logsumexp(x, axis=0, keepdims=True), rtol=1e-14)


def _mp_log_softmax(row):
    mpmath.mp.dps = 50
    row = [mpmath.mpf(float(v)) for v in row]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in row))
    return [float(v - lse) for v in row], float(lse)


@pytest.mark.parametrize("row", [
    [1000.0, 1.0],
    [-1000.0, -1000.5, -1003.0],
    [1e4, -1e4, 0.0],
    [0.0, 1e-20, -1e-20],
    [30.0, 30.0, 30.0, -745.0],
    [709.0, 709.5, 700.0],
])
def test_high_precision_hand_cases(row):
    ref_lsm, ref_lse = _mp_log_softmax(row)
    x = np.array(row)
    np.testing.assert_allclose(sml.log_softmax(x), ref_lsm, rtol=1e-15, atol=1e-12)
    assert sml.logsumexp(x) == pytest.approx(ref_lse, rel=1e-15)
    np.testing.assert_allclose(sml.softmax(x), np.exp(ref_lsm), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("big", [1e4, -1e4, 3.0e38 / 2])
def test_extreme_magnitudes_stay_finite(lib, dtype, big):
    if dtype == "float64" or abs(big) < 3e38:
        x = lib.asarray(np.array([[big, big - 1.0, big - 2.0], [big, 0.0, -big]]), dtype=dtype)
    else:
        pytest.skip("not representable")
    p = lib.numpy(sml.softmax(x))
    lp = lib.numpy(sml.log_softmax(x))
    lse = lib.numpy(sml.logsumexp(x))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lse))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.all(lp[0] > -3.5)


def test_float16_is_computed_in_float32():
    x = np.array([10.0, 0.0, -10.0], dtype=np.float16)
    p = sml.softmax(x)
    assert p.dtype == np.float16
    ref = sps.softmax(x.astype(np.float64))
    np.testing.assert_allclose(p.astype(np.float64), ref, rtol=2e-3, atol=6e-8)  # float16 ulp
    # exp(12) overflows float16 (max 65504); computing in float32 it does not matter.
    y = np.array([12.0, 11.0], dtype=np.float16)
    assert np.isfinite(sml.logsumexp(y))
    assert sml.logsumexp(y).dtype == np.float16


# --------------------------------------------------------------------------- masking
def test_minus_inf_is_a_masked_class(lib):
    x = lib.asarray(np.array([[0.0, -np.inf, 0.0]]))
    np.testing.assert_allclose(lib.numpy(sml.softmax(x)), [[0.5, 0.0, 0.5]])
    lp = lib.numpy(sml.log_softmax(x))
    assert lp[0, 1] == -np.inf and lp[0, 0] == pytest.approx(-math.log(2))


def test_all_masked_slice_is_zero_probability_not_nan(lib):
    x = lib.asarray(np.array([[-np.inf, -np.inf], [0.0, 1.0]]))
    p = lib.numpy(sml.softmax(x))
    np.testing.assert_array_equal(p[0], [0.0, 0.0])
    assert np.all(lib.numpy(sml.log_softmax(x))[0] == -np.inf)
    assert lib.numpy(sml.logsumexp(x))[0] == -np.inf
    assert not np.isnan(p).any()


def test_empty_inputs():
    assert sml.softmax(np.zeros((0, 3))).shape == (0, 3)
    assert sml.log_softmax(np.zeros((2, 0))).shape == (2, 0)
    np.testing.assert_array_equal(sml.logsumexp(np.zeros((2, 0))), [-np.inf, -np.inf])
    assert sml.logsumexp(np.zeros((0, 4))).shape == (0,)


# --------------------------------------------------------------------------- properties
finite_rows = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False))


@settings(max_examples=80, deadline=None)
@given(finite_rows, st.floats(-1e3, 1e3))
def test_shift_invariance(x, c):
    np.testing.assert_allclose(sml.softmax(x + c), sml.softmax(x), atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(finite_rows)
def test_rows_sum_to_one_and_lie_in_unit_interval(x):
    p = sml.softmax(x)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(finite_rows)
def test_log_softmax_is_x_minus_logsumexp(x):
    np.testing.assert_allclose(sml.log_softmax(x), x - sml.logsumexp(x, keepdims=True),
                               rtol=1e-12, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(finite_rows)
def test_monotone(x):
    # A larger score never gets a smaller probability.
    p = sml.softmax(x)
    order = np.argsort(x, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    assert np.all(np.diff(ps, axis=-1) >= -1e-15)


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4))
def test_two_class_softmax_is_sigmoid_of_difference(a, b):
    p = sml.softmax(np.array([a, b]))
    assert p[0] == pytest.approx(float(sml.sigmoid(np.array(a - b))), rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(finite_rows, st.floats(0.05, 20.0))
def test_temperature_is_division(x, t):
    np.testing.assert_allclose(sml.softmax(x, temperature=t), sps.softmax(x / t, axis=-1),
                               rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(sml.log_softmax(x, temperature=t), sps.log_softmax(x / t, axis=-1),
                               rtol=1e-10, atol=1e-9)


def test_temperature_limits():
    z = np.array([1.0, 3.0, 2.0])
    np.testing.assert_allclose(sml.softmax(z, temperature=1e-3), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(sml.softmax(z, temperature=1e6), [1 / 3] * 3, atol=1e-5)


def test_softmax_jacobian_by_central_differences():
    rng = np.random.default_rng(3)
    z = rng.normal(size=5)
    p = sml.softmax(z)
    jac = np.diag(p) - np.outer(p, p)
    h = 1e-6
    num = np.empty((5, 5))
    for k in range(5):
        e = np.zeros(5)
        e[k] = h
        num[:, k] = (sml.softmax(z + e) - sml.softmax(z - e)) / (2 * h)
    np.testing.assert_allclose(num, jac, atol=1e-9)


# --------------------------------------------------------------------------- sigmoid
def test_sigmoid_reference_and_extremes(lib):
    x = np.array([-1e4, -745.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1e4, np.inf, -np.inf])
    got = lib.numpy(sml.sigmoid(lib.asarray(x)))
    np.testing.assert_allclose(got, sps.expit(x), rtol=1e-15, atol=1e-300)  # subnormals
    assert np.all(np.isfinite(got))


def test_sigmoid_float32_and_float16():
    x = np.array([-100.0, -1.0, 0.0, 1.0, 100.0], dtype=np.float32)
    assert sml.sigmoid(x).dtype == np.float32
    np.testing.assert_allclose(sml.sigmoid(x), sps.expit(x.astype(np.float64)), rtol=1e-6, atol=1e-44)
    h = sml.sigmoid(x.astype(np.float16))
    assert h.dtype == np.float16 and np.all(np.isfinite(h))


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("f", [sml.softmax, sml.log_softmax, sml.logsumexp])
def test_nan_input_names_function_and_slice(f, lib):
    x = lib.asarray(np.array([[0.0, 1.0], [2.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=rf"{f.__name__}: argument 'x' contains NaN .*index \(1,\)"):
        f(x)


@pytest.mark.parametrize("f", [sml.softmax, sml.log_softmax, sml.logsumexp])
def test_plus_inf_input_is_an_error(f):
    with pytest.raises(ValueError, match=r"contains \+inf .*index \(0,\)"):
        f(np.array([[np.inf, 0.0]]))


@pytest.mark.parametrize("f", [sml.softmax, sml.log_softmax, sml.logsumexp, sml.sigmoid])
@pytest.mark.parametrize("bad", [np.array([1, 2]), np.array([True, False]),
                                 np.array([1 + 2j, 0j])])
def test_non_float_dtypes_are_type_errors(f, bad):
    with pytest.raises(TypeError, match=rf"{f.__name__}: argument 'x' must have a real floating dtype.*found"):
        f(bad)


@pytest.mark.parametrize("t", [0.0, -1.0, np.inf, np.nan])
def test_bad_temperature(t):
    with pytest.raises(ValueError, match=r"softmax: argument 'temperature' must be a finite number in \(0.0, inf\)"):
        sml.softmax(np.array([1.0, 2.0]), temperature=t)
    with pytest.raises(TypeError, match="temperature"):
        sml.log_softmax(np.array([1.0, 2.0]), temperature="hot")


def test_bad_axis():
    with pytest.raises(np.exceptions.AxisError,
                       match=r"softmax: argument 'axis'=2 is out of range .*2 dimensions"):
        sml.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(IndexError, match=r"holds -3, which is out of range"):  # AxisError, as NumPy
        sml.logsumexp(np.zeros((2, 3)), axis=(0, -3))
    with pytest.raises(TypeError, match="axis"):
        sml.logsumexp(np.zeros((2, 3)), axis=1.0)
    with pytest.raises(ValueError, match=r"softmax: argument 'x' must have at least one dimension "
                                         r"\(for axis=2\); found a 0-d array"):
        sml.softmax(np.array(1.0), axis=2)
    with pytest.raises(np.exceptions.AxisError, match=r"holds 1, .* expected integers in \{0, -1\}"):
        sml.logsumexp(np.array(1.0), axis=(1,))


@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,), (), None])
@pytest.mark.parametrize("v", [1.5, -700.0, -np.inf])
def test_0d_input_is_its_own_only_slice(axis, v):
    """As torch.softmax(t, 0) and scipy.special.softmax(x, axis=0) of a 0-d array:
    softmax 1 (0 for -inf: an excluded slice), log_softmax 0 (-inf), logsumexp x."""
    x = np.array(v)
    p, lp, lse = sml.softmax(x, axis=axis), sml.log_softmax(x, axis=axis), sml.logsumexp(x, axis=axis)
    assert p.shape == lp.shape == lse.shape == ()
    assert float(lse) == v
    assert (float(p), float(lp)) == ((1.0, 0.0) if np.isfinite(v) else (0.0, -np.inf))
    if np.isfinite(v):
        assert float(p) == sps.softmax(x, axis=None) and float(lse) == sps.logsumexp(x)


def test_sigmoid_nan_is_an_error():
    with pytest.raises(ValueError, match=r"sigmoid: argument 'x' contains NaN at index \(0, 1\)"):
        sml.sigmoid(np.array([[0.0, np.nan]]))


def test_validate_false_skips_the_check():
    out = sml.softmax(np.array([np.nan, 1.0]), validate=False)
    assert np.isnan(out).all()


def test_inputs_are_not_modified(lib):
    x = np.array([[3.0, 1.0, -2.0]])
    xa = lib.asarray(x.copy())
    sml.softmax(xa), sml.log_softmax(xa), sml.logsumexp(xa), sml.sigmoid(xa)
    np.testing.assert_array_equal(lib.numpy(xa), x)


def test_validate_false_gives_scipys_nan_for_inf_slices():
    """With validate=False a +inf entry makes its whole softmax slice NaN (as
    log_softmax and SciPy give), and +inf entries whose weights cancel make
    logsumexp NaN with a NaN sign (SciPy's answer), not +inf."""
    x = np.array([[np.inf, 2.0, 3.0], [1.0, 2.0, 3.0]])
    p = sml.softmax(x, validate=False)
    with np.errstate(invalid="ignore"):
        assert np.isnan(p[0]).all() and np.array_equal(p[1], sps.softmax(x[1]))
        np.testing.assert_array_equal(p, sps.softmax(x, axis=1))
        x, b = np.array([np.inf, np.inf, 3.0]), np.array([1.0, -1.0, 1.0])
        assert np.isnan(sml.logsumexp(x, b=b, validate=False)) and np.isnan(sps.logsumexp(x, b=b))
    out, sign = sml.logsumexp(x, b=b, validate=False, return_sign=True)
    assert np.isnan(out) and np.isnan(sign)
    assert float(sml.logsumexp(x, b=np.array([1.0, 1.0, 1.0]), validate=False)) == np.inf
