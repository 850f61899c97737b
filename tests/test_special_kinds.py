"""Every function of softmaxlab.special with arrays of every kind.

One rule per kind (issue 10 section 3), checked for every function, not only
the issue's examples: numpy.ma masked arrays are refused; non-native byte order
computes as native; longdouble computes in longdouble; results live on the
input's device (array-api-strict's other devices); results are arrays of the
input's library, a full reduction a 0-d array (never a NumPy scalar).
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sps

import softmaxlab as sml

WHERE_FUNCS = ("softmax", "log_softmax", "logsumexp")


def _call(name, x, xp_ones=None, **kw):
    if name == "logsumexp_b":
        return sml.logsumexp(x, b=xp_ones if xp_ones is not None else np.ones(np.shape(x)), **kw)
    if name == "logsumexp_sign":
        return sml.logsumexp(x, return_sign=True, **kw)[0]
    return getattr(sml, name)(x, **kw)


NAMES = ["softmax", "log_softmax", "logsumexp", "logsumexp_b", "logsumexp_sign", "sigmoid",
         "log_sigmoid"]
REDUCING = {"logsumexp", "logsumexp_b", "logsumexp_sign"}


def _fn(name):
    return name.split("_b")[0].split("_sign")[0] if name.startswith("logsumexp") else name


# --------------------------------------------------------------------------- masked arrays
MASKED = [
    np.ma.masked_array([[1.0, 2.0, 3.0]], mask=[[0, 1, 0]]),
    np.ma.masked_array([1.0, 2.0]),
    np.ma.masked_invalid(np.array([1.0, np.nan], dtype=np.float32)),
    np.ma.masked_array(np.zeros((2, 0))),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", range(len(MASKED)))
def test_masked_arrays_are_refused(name, k):
    x = MASKED[k]
    fn = _fn(name)
    with pytest.raises(TypeError) as info:
        _call(name, x)
    msg = str(info.value)
    assert msg.startswith(f"{fn}: argument 'x' must be a plain array, not a numpy.ma masked "
                          f"array (masks are neither honoured nor ignored; ")
    assert f"found a MaskedArray of shape {x.shape} with {np.ma.count_masked(x)} masked" in msg
    assert ("where=~x.mask" in msg) == (fn in WHERE_FUNCS)


def test_masked_b_is_refused():
    b = np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    with pytest.raises(TypeError, match=r"^logsumexp: argument 'b' must be a plain array, not "
                                        r"a numpy.ma masked array"):
        sml.logsumexp(np.zeros(2), b=b)


def test_the_mask_becomes_where():
    # What the message suggests gives what honouring the mask meant.
    x = np.ma.masked_array([[1.0, 5.0, 2.0]], mask=[[0, 1, 0]])
    np.testing.assert_allclose(sml.softmax(x.data, where=~np.ma.getmaskarray(x)),
                               [[sps.expit(-1.0), 0.0, sps.expit(1.0)]])


# --------------------------------------------------------------------------- byte order
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("code", ["f2", "f4", "f8", "g"])
@pytest.mark.parametrize("order", [">", "<"])
def test_foreign_byte_order_computes_as_native(name, code, order):
    rng = np.random.default_rng(0)
    native = (rng.normal(scale=5.0, size=(3, 5))).astype(code)
    x = native.astype(native.dtype.newbyteorder(order))
    got = _call(name, x)
    want = _call(name, native)
    assert got.dtype == want.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, want)


def test_big_endian_float16_is_computed_in_float32():
    # The example: softmax of 70,000 big-endian float16 zeros was all 0.
    x = np.zeros(70000, dtype=">f2")
    p = sml.softmax(x)
    assert p.dtype == np.float16
    np.testing.assert_array_equal(p, np.float16(1 / 70000))
    assert float(sml.logsumexp(x)) == pytest.approx(math.log(70000), rel=1e-3)
    lp = sml.log_softmax(x)
    assert np.all(np.isfinite(lp))
    np.testing.assert_array_equal(sml.sigmoid(x), np.float16(0.5))


def test_big_endian_b():
    x = np.array([1.0, 2.0])
    b = np.array([2.0, 3.0], dtype=">f8")
    assert float(sml.logsumexp(x, b=b)) == pytest.approx(math.log(2 * math.e + 3 * math.e ** 2))


# --------------------------------------------------------------------------- longdouble
LD_EPS = float(np.finfo(np.longdouble).eps)


def _mp(v):
    return mpmath.mpf(repr(v)) if not isinstance(v, np.longdouble) else \
        mpmath.mpf(np.format_float_scientific(v, unique=True))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid",
                                  "log_sigmoid"])
def test_longdouble_is_computed_in_longdouble(name):
    row = np.array([0.0, -40.0, -3.25, 2.5], dtype=np.longdouble)
    got = _call(name, row)
    assert got.dtype == np.longdouble
    with mpmath.workdps(80):
        xs = [_mp(v) for v in row]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs))
        ref = {"softmax": [mpmath.exp(v - lse) for v in xs],
               "log_softmax": [v - lse for v in xs],
               "logsumexp": [lse],
               "sigmoid": [1 / (1 + mpmath.exp(-v)) for v in xs],
               "log_sigmoid": [-mpmath.log1p(mpmath.exp(-v)) for v in xs]}[name]
        for g, r in zip(np.atleast_1d(got), ref):
            err = abs(_mp(np.longdouble(g)) - r)
            assert err <= 16 * LD_EPS * abs(r) + mpmath.mpf(10) ** -4900, (g, r)


# --------------------------------------------------------------------------- devices
def _strict():
    return pytest.importorskip("array_api_strict")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dev_index", [0, 1, 2])
@pytest.mark.parametrize("shape", [(3, 4), (5,), (2, 0), (0, 3), ()])
def test_results_live_on_the_input_device(name, dev_index, shape):
    xps = _strict()
    dev = xps.__array_namespace_info__().devices()[dev_index]
    if shape == () and name in ("softmax", "log_softmax"):
        kw = {"axis": None}
    elif shape == () and name in REDUCING:
        kw = {"axis": None}
    else:
        kw = {}
    x = xps.asarray(np.random.default_rng(1).normal(size=shape), device=dev)
    ones = xps.ones(shape, device=dev)
    got = _call(name, x, ones, **kw)
    assert got.device == dev
    if name == "logsumexp_sign":
        r, s = sml.logsumexp(x, return_sign=True, **kw)
        assert r.device == dev and s.device == dev
    if name in WHERE_FUNCS:
        mask = xps.asarray(np.ones(shape, dtype=bool), device=dev)
        assert getattr(sml, name)(x, where=mask, **kw).device == dev


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid",
                                  "log_sigmoid"])
def test_float32_on_a_device_without_float64(name):
    xps = _strict()
    devs = [d for d in xps.__array_namespace_info__().devices() if "no_float64" in str(d)]
    if not devs:
        pytest.skip("this array-api-strict has no 'no_float64' device")
    x = xps.asarray(np.array([[1.0, 2.0], [3.0, -np.inf]], dtype=np.float32), device=devs[0])
    got = getattr(sml, name)(x)
    assert got.device == devs[0] and got.dtype == xps.float32
    empty = xps.asarray(np.zeros((2, 0), dtype=np.float32), device=devs[0])
    assert getattr(sml, name)(empty).device == devs[0]


# --------------------------------------------------------------------------- return types
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape, axis", [((4,), -1), ((2, 3), None), ((), None), ((2, 3), 1),
                                         ((2, 3), (0, 1))])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_results_are_arrays_of_the_input_library(lib, name, shape, axis, dtype):
    if lib.name == "array_api_strict" and dtype == "float16":
        pytest.skip("the array API has no float16")
    x = lib.asarray(np.random.default_rng(2).normal(size=shape), dtype=dtype)
    kw = {} if name in ("sigmoid", "log_sigmoid") else {"axis": axis}
    ones = lib.asarray(np.ones(shape), dtype=dtype) if name == "logsumexp_b" else None
    got = _call(name, x, ones, **kw)
    assert lib.is_native(got), type(got)
    if lib.name == "numpy":
        assert type(got) is np.ndarray  # a 0-d array, never np.float64
    assert lib.numpy(got).dtype == np.dtype(dtype)
    if name in REDUCING and (axis is None or shape in ((), (4,)) or axis == (0, 1)):
        assert got.shape == ()
        float(got)  # a 0-d array converts like a scalar
    if name == "logsumexp_sign":
        r, s = sml.logsumexp(x, return_sign=True, **kw)
        assert lib.is_native(r) and lib.is_native(s)
        if lib.name == "numpy":
            assert type(r) is np.ndarray and type(s) is np.ndarray


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid",
                                  "log_sigmoid"])
@pytest.mark.parametrize("x", [[1.0, 2.0], 1.5, [[1, 2], [3, 4]]])
def test_python_input_gives_arrays_of_the_backend(name, x):
    kw = {"axis": None} if np.ndim(x) == 0 and name not in ("sigmoid", "log_sigmoid") else {}
    got = getattr(sml, name)(x, **kw)
    assert type(got) is np.ndarray and got.dtype == np.float64
    with sml.use_backend("array_api_strict"):
        got = getattr(sml, name)(x, **kw)
    assert type(got).__module__.startswith("array_api_strict")


# --------------------------------------------------------------------------- odd layouts
@pytest.mark.parametrize("name", NAMES)
def test_odd_layouts_give_the_same_answer(name):
    base = np.random.default_rng(3).normal(size=(4, 6))
    want = _call(name, base)
    layouts = [np.asfortranarray(base), base[:, ::-1][:, ::-1], np.repeat(base, 2, axis=1)[:, ::2]]
    ro = base.copy()
    ro.flags.writeable = False
    layouts.append(ro)
    for x in layouts:
        np.testing.assert_array_equal(_call(name, x), want)


# --------------------------------------------------------------------------- flags
@pytest.mark.parametrize("fn, flag", [("log_sigmoid", "validate"), ("sigmoid", "validate"),
                                      ("logsumexp", "return_sign"), ("logsumexp", "keepdims"),
                                      ("softmax", "validate"), ("log_softmax", "validate")])
@pytest.mark.parametrize("bad", ["no", 1, None])
def test_flags_must_be_bools(fn, flag, bad):
    with pytest.raises(TypeError, match=rf"^{fn}: argument '{flag}' must be True or False; "
                                        rf"found {bad!r}$"):
        getattr(sml, fn)(np.zeros(2), **{flag: bad})
