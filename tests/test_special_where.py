"""where= for softmax, log_softmax and logsumexp, with JAX's semantics.

JAX (``jax/_src/nn/functions.py``, ``jax/_src/ops/special.py``) is not
installed here; the tests check its documented and coded behaviour:

* an excluded entry of ``softmax`` is 0 and of ``log_softmax`` is ``-inf``,
  whatever its value (NaN and ``+inf`` included);
* the included entries are those of the function applied to the included
  entries alone;
* a slice with no included entry gives softmax 0, log_softmax ``-inf`` and
  logsumexp ``-inf`` (JAX: ``max(..., initial=-inf)`` then ``log(0)``);
* one deliberate difference: a slice whose included entries are all ``-inf``
  gives softmax 0 and log_softmax ``-inf`` here (softmaxlab's rule for masked
  classes, no silent NaN), where JAX computes ``exp(-inf - (-inf))`` = NaN;
* JAX removed the ``initial=`` argument (v0.4.36): it is not accepted here
  either; an empty class axis gives an empty softmax and a logsumexp of
  ``-inf``, as JAX's ``initial=-inf`` reduction does.
"""

import numpy as np
import pytest
import scipy.special as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmaxlab as sml

FUNCS = [sml.softmax, sml.log_softmax, sml.logsumexp]
EXCLUDED = {"softmax": 0.0, "log_softmax": -np.inf}


def _per_row_reference(name, x, mask):
    """The function applied to each row's included entries alone (SciPy)."""
    out = np.empty(x.shape[0]) if name == "logsumexp" else np.full(x.shape, EXCLUDED[name])
    for i in range(x.shape[0]):
        keep = mask[i]
        if not np.any(x[i, keep] > -np.inf):
            # No entry, or only -inf ones: softmaxlab's rule for an all -inf
            # slice (0 / -inf, no NaN); JAX and SciPy give NaN for the latter.
            if name == "logsumexp":
                out[i] = -np.inf
            continue
        with np.errstate(all="ignore"):
            if name == "logsumexp":
                out[i] = sps.logsumexp(x[i, keep])
            else:
                out[i, keep] = getattr(sps, name)(x[i, keep])
    return out




@st.composite
def masked_rows(draw):
    n, k = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    x = draw(hnp.arrays(np.float64, (n, k), elements=st.one_of(
        st.floats(-1e3, 1e3), st.just(-np.inf))))
    mask = draw(hnp.arrays(np.bool_, (n, k)))
    # Excluded entries may hold anything, NaN and +inf included.
    junk = draw(hnp.arrays(np.float64, (n, k), elements=st.sampled_from(
        [np.nan, np.inf, -np.inf, 1e300, 0.0])))
    return np.where(mask, x, junk), mask


@settings(max_examples=200, deadline=None)
@given(masked_rows(), st.sampled_from(FUNCS))
def test_where_is_the_function_of_the_included_entries(case, f):
    x, mask = case
    got = f(x, where=mask)
    want = _per_row_reference(f.__name__, x, mask)
    assert got.shape == want.shape and not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    if f is not sml.logsumexp:
        np.testing.assert_array_equal(got[~mask], EXCLUDED[f.__name__])


@settings(max_examples=100, deadline=None)
@given(masked_rows(), st.sampled_from(FUNCS))
def test_where_equals_minus_inf_for_the_excluded(case, f):
    # Excluding an entry is giving it score -inf (a masked class).
    x, mask = case
    np.testing.assert_array_equal(f(x, where=mask), f(np.where(mask, x, -np.inf)))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_fully_masked_rows(f, lib):
    x = lib.asarray(np.array([[1.0, 2.0, 3.0], [np.nan, np.inf, 0.0]]))
    mask = lib.asarray(np.array([[True, False, True], [False, False, False]]))
    got = lib.numpy(f(x, where=mask))
    if f is sml.logsumexp:
        np.testing.assert_allclose(got, [np.logaddexp(1.0, 3.0), -np.inf])
        r, s = f(x, where=mask, return_sign=True)
        np.testing.assert_array_equal(lib.numpy(s), [1.0, 0.0])
    else:
        np.testing.assert_array_equal(got[1], [EXCLUDED[f.__name__]] * 3)
        assert got[0, 1] == EXCLUDED[f.__name__]
    assert not np.isnan(got).any()


def test_jax_documented_examples():
    # jax.nn.softmax(x, where=...) zeroes the excluded entries and
    # renormalises the others; log_softmax puts -inf there.
    x = np.array([1.0, 2.0, 3.0, 4.0])
    where = np.array([True, False, True, False])
    np.testing.assert_allclose(sml.softmax(x, where=where), [sps.expit(-2.0), 0, sps.expit(2.0), 0])
    lsm = sml.log_softmax(x, where=where)
    np.testing.assert_allclose(lsm[[0, 2]], sps.log_softmax([1.0, 3.0]))
    assert np.all(lsm[[1, 3]] == -np.inf)
    np.testing.assert_allclose(sml.logsumexp(x, where=where), np.logaddexp(1.0, 3.0))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mshape", [(4,), (1, 4), (3, 1), (3, 4), ()])
def test_where_broadcasts_to_x(f, mshape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    mask = rng.uniform(size=mshape) < 0.7
    if mask.ndim == 0:
        mask = np.bool_(True)
    full = np.broadcast_to(mask, x.shape)
    np.testing.assert_array_equal(f(x, where=mask), f(x, where=np.array(full)))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [0, None, (0, 2), -1])
def test_where_with_axes(f, axis):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4))
    mask = rng.uniform(size=x.shape) < 0.6
    np.testing.assert_array_equal(f(x, axis=axis, where=mask),
                                  f(np.where(mask, x, -np.inf), axis=axis))


@pytest.mark.parametrize("f", [sml.softmax, sml.log_softmax], ids=lambda f: f.__name__)
def test_where_with_temperature(f):
    x = np.array([[1.0, 5.0, 2.0], [0.0, 1.0, np.nan]])
    mask = np.array([[True, True, False], [True, True, False]])
    got = f(x, temperature=2.0, where=mask)
    want = f(np.where(mask, x, -np.inf) / 2.0)
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_where_with_b():
    x = np.array([1.0, 2.0, 3.0])
    b = np.array([2.0, -1.0, 0.5])
    where = np.array([True, False, True])
    got = sml.logsumexp(x, b=b, where=where)
    np.testing.assert_allclose(got, np.log(2 * np.e + 0.5 * np.e ** 3), rtol=1e-15)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_included_nan_still_raises(f):
    x = np.array([[0.0, np.nan, 1.0]])
    with pytest.raises(ValueError, match=rf"{f.__name__}: argument 'x' contains NaN"):
        f(x, where=np.array([[True, True, False]]))
    f(x, where=np.array([[True, False, True]]))  # excluded: fine


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_where_on_every_library(f, lib):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5))
    mask = rng.uniform(size=x.shape) < 0.5
    mask[0] = False
    got = f(lib.asarray(x), where=lib.asarray(mask))
    assert lib.is_native(got)
    np.testing.assert_allclose(lib.numpy(got), f(x, where=mask), rtol=1e-14)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_where_as_a_list(f):
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(f(x, where=[True, False, True]),
                                  f(x, where=np.array([True, False, True])))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad, kind", [(np.array([1, 0, 1]), "integer dtype int64"),
                                       (np.array([1.0, 0.0, 1.0]), "floating dtype float64"),
                                       ([1, 0, 1], "integer dtype int64")])
def test_where_must_be_boolean(f, bad, kind):
    with pytest.raises(TypeError, match=rf"^{f.__name__}: argument 'where' must be a boolean "
                                        rf"array \(True for the entries to include\); found "
                                        rf"{kind}$"):
        f(np.zeros(3), where=bad)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_where_that_does_not_broadcast(f):
    with pytest.raises(ValueError, match=rf"^{f.__name__}: argument 'where' must be "
                                         rf"broadcastable to the shape of 'x' \(2, 3\); found "
                                         rf"shape \(2,\)$"):
        f(np.zeros((2, 3)), where=np.array([True, False]))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_where_from_another_library_or_device(f):
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=rf"{f.__name__}: cannot mix arrays"):
        f(np.zeros(2), where=xps.asarray([True, False]))
    dev = xps.__array_namespace_info__().devices()[1]
    with pytest.raises(ValueError, match=rf"^{f.__name__}: argument 'where' must be on the "
                                         rf"device of 'x'"):
        f(xps.asarray([1.0, 2.0]), where=xps.asarray([True, False], device=dev))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_a_masked_where_is_refused(f):
    with pytest.raises(TypeError, match=rf"^{f.__name__}: argument 'where' must be a plain "
                                        rf"array, not a numpy.ma masked array"):
        f(np.zeros(2), where=np.ma.masked_array([True, False], mask=[0, 1]))


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_initial_is_not_accepted(f):
    # JAX removed softmax's initial= in v0.4.36; it is not an argument here.
    with pytest.raises(TypeError, match="initial"):
        f(np.zeros(3), where=np.array([True, False, True]), initial=-np.inf)


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_empty_class_axis_with_where(f):
    got = f(np.zeros((2, 0)), where=np.zeros((2, 0), dtype=bool))
    if f is sml.logsumexp:
        np.testing.assert_array_equal(got, [-np.inf, -np.inf])
    else:
        assert got.shape == (2, 0)


def test_masked_softmax_keeps_the_row_sums():
    rng = np.random.default_rng(3)
    x = rng.normal(scale=5.0, size=(50, 7))
    mask = rng.uniform(size=x.shape) < 0.5
    p = sml.softmax(x, where=mask)
    sums = p.sum(axis=1)
    np.testing.assert_allclose(sums[mask.any(axis=1)], 1.0, rtol=1e-14)
    np.testing.assert_array_equal(sums[~mask.any(axis=1)], 0.0)


def test_where_does_not_modify_the_inputs():
    x = np.array([1.0, np.nan, 3.0])
    mask = np.array([True, False, True])
    for f in FUNCS:
        f(x, where=mask)
    np.testing.assert_array_equal(x, [1.0, np.nan, 3.0])
    np.testing.assert_array_equal(mask, [True, False, True])
