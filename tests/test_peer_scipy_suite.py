"""SciPy's own shipped tests of logsumexp / softmax / log_softmax, run against softmaxlab.

The test module ``scipy/special/tests/test_logsumexp.py`` (shipped in the SciPy wheel) is
loaded by path under a private name, and its ``logsumexp``, ``softmax`` and ``log_softmax``
are replaced by adapters that call softmaxlab with SciPy's defaults (``axis=None`` where the
SciPy call leaves it out) and turn 0-d array results into NumPy scalars (SciPy's
``xp_assert_*`` from ``_array_api_no_0d`` refuse 0-d arrays; softmaxlab deliberately returns
them).  Only NumPy is used as ``xp``.

Each SciPy test runs twice: calling softmaxlab as it is ("default": ``validate=True``), and
"emulated": ``validate=False`` (documented to give SciPy's NaN / inf) with integer / boolean
``x`` cast to float64 in the adapter, so that the rest of a SciPy test still runs past those
two deliberate differences.  Checks beyond SciPy's suite follow at the end.

Tests hit by a deliberate difference (listed in ``book/api.md``,
"Differences from PyTorch, SciPy, JAX and Caffe") are skipped with the difference as the reason; every other test must pass.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import warnings

import numpy as np
import pytest

scipy = pytest.importorskip("scipy")
pytest.importorskip("scipy.special")

import softmaxlab as sml  # noqa: E402

_PATH = pathlib.Path(scipy.__file__).parent / "special" / "tests" / "test_logsumexp.py"
if not _PATH.exists():  # pragma: no cover - a SciPy built without its tests
    pytest.skip(f"SciPy's test file is not shipped here: {_PATH}", allow_module_level=True)


def _load_scipy_tests():
    name = "_softmaxlab_peer_scipy_test_logsumexp"
    spec = importlib.util.spec_from_file_location(name, _PATH)
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's own pytest marks are not registered here
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:  # pragma: no cover - an incompatible SciPy version
            pytest.skip(f"SciPy's test module does not import: {exc!r}", allow_module_level=True)
    sys.modules.setdefault(name, mod)
    return mod


_sp = _load_scipy_tests()


def _freeze_parametrize(cls):
    """SciPy passes an ``itertools.product`` to parametrize: make it a list, so that the
    two subclasses below both see all the cases (and pytest does not warn)."""
    for attr, fn in vars(cls).items():
        marks = getattr(fn, "pytestmark", None)
        if not attr.startswith("test") or not marks:
            continue
        fn.pytestmark = [pytest.mark.parametrize(m.args[0], list(m.args[1]), *m.args[2:], **m.kwargs).mark
                         if m.name == "parametrize" and len(m.args) >= 2 else m for m in marks]


for _cls in (_sp.TestLogSumExp, _sp.TestSoftmax, _sp.TestLogSoftmax):
    _freeze_parametrize(_cls)

# The adapters' mode, switched per test class by an autouse fixture: "default" calls softmaxlab
# as it is; "emulate" passes validate=False and casts integer / boolean NumPy input `x` to
# float64 first (SciPy's promotion), working around two deliberate differences so that the
# rest of each SciPy test still runs.
_MODE = ["default"]


def _scalar(res):
    """softmaxlab returns 0-d arrays (deliberate); SciPy returns NumPy scalars."""
    if isinstance(res, tuple):
        return tuple(_scalar(r) for r in res)
    if isinstance(res, np.ndarray) and res.ndim == 0:
        return res[()]
    return res


def _x(x):
    if _MODE[0] == "emulate":
        arr = np.asarray(x)
        if arr.dtype.kind in "biu":
            return arr.astype(np.float64)
    return x


def _validate():
    return _MODE[0] != "emulate"


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    return _scalar(sml.logsumexp(_x(a), axis=axis, b=b, keepdims=keepdims, return_sign=return_sign,
                                 validate=_validate()))


def softmax(x, axis=None):
    return _scalar(sml.softmax(_x(x), axis=axis, validate=_validate()))


def log_softmax(x, axis=None):
    return _scalar(sml.log_softmax(_x(x), axis=axis, validate=_validate()))


_sp.logsumexp, _sp.softmax, _sp.log_softmax = logsumexp, softmax, log_softmax


@pytest.fixture
def xp():
    """SciPy's ``xp`` fixture, NumPy only (overrides the project's ``xp``)."""
    return np


@pytest.fixture
def devices():
    return [None]


# -- marks ------------------------------------------------------------------------------------
# Which SciPy tests meet a deliberate difference (skipped, with it as the reason), by
# the adapters' mode, the test's name and its parameters.
COMPLEX = "deliberate difference: complex x (or b) raises TypeError (SciPy computes complex logsumexp)"
INT_X = "deliberate difference: integer x raises TypeError (SciPy promotes it to float64)"
INT_B = "deliberate difference: integer b keeps x's dtype (SciPy: float32 x with int b gives float64)"
NONFINITE = "deliberate difference: NaN / +inf in x raises ValueError with validate=True (SciPy: NaN / inf)"
NEG_SUM = ("deliberate difference: a negative sum without return_sign raises ValueError with "
           "validate=True (SciPy: NaN)")

_INT_X_TESTS = {"test_logsumexp_b", "test_logsumexp_sign", "test_logsumexp_sign_zero",
                "test_logsumexp_b_zero", "test_xp_invalid_input", "test_softmax_int_array",
                "test_log_softmax_int_array"}
_COMPLEX_TESTS = {"test_logsumexp_complex_sign", "test_gh21610", "test_gh21709_small_imaginary"}


def _is_complex(v):
    return isinstance(v, complex)


def _mark_for(mode, name, params):
    """("skip", reason) for one SciPy test in one mode, or None (it must pass)."""
    base = name.split("[")[0]
    default = mode == "default"
    if base in _COMPLEX_TESTS or (base == "test_device" and _is_complex(params.get("x_raw"))):
        return "skip", COMPLEX
    if base == "test_dtypes_a":
        if "complex" in params["dtype"]:
            return "skip", COMPLEX
        return ("skip", INT_X) if default and "int" in params["dtype"] else None
    if base == "test_dtypes_ab":
        a, b = params["dtype_a"], params["dtype_b"]
        if "complex" in a or "complex" in b:
            return "skip", COMPLEX
        if default and "int" in a:
            return "skip", INT_X
        if a == "float32" and "int" in b:
            return "skip", INT_B
        return None
    if base == "test_gh22601_infinite_elements":
        if _is_complex(params["x"]) or _is_complex(params["y"]):
            return "skip", COMPLEX
        return ("skip", NONFINITE) if default and np.inf in (params["x"], params["y"]) else None
    if not default:
        return None
    if base == "test_logsumexp":
        return "skip", f"{INT_X}; and {NONFINITE}"
    if base in _INT_X_TESTS:
        return "skip", INT_X
    if base == "test_gh22903":
        return "skip", NEG_SUM
    if base == "test_gh23548":
        return "skip", NONFINITE
    return None


def _enter(request, mode):
    """Skip a SciPy test that meets a deliberate difference, else set the adapters' mode."""
    callspec = getattr(request.node, "callspec", None)
    mark = _mark_for(mode, request.node.name, callspec.params if callspec else {})
    if mark is not None:
        pytest.skip(mark[1])
    _MODE[0] = mode


class _Default:
    @pytest.fixture(autouse=True)
    def _mode(self, request):
        _enter(request, "default")
        yield
        _MODE[0] = "default"


class _Emulated:
    @pytest.fixture(autouse=True)
    def _mode(self, request):
        _enter(request, "emulate")
        yield
        _MODE[0] = "default"


class TestLogSumExp(_Default, _sp.TestLogSumExp):
    pass


class TestLogSumExpEmulated(_Emulated, _sp.TestLogSumExp):
    pass


class TestSoftmax(_Default, _sp.TestSoftmax):
    pass


class TestSoftmaxEmulated(_Emulated, _sp.TestSoftmax):
    pass


class TestLogSoftmax(_Default, _sp.TestLogSoftmax):
    pass


class TestLogSoftmaxEmulated(_Emulated, _sp.TestLogSoftmax):
    pass


# -- beyond SciPy's suite: agreement with scipy.special, and the defects found ---------------------
import scipy.special as sps  # noqa: E402

_FUNCS = ("logsumexp", "softmax", "log_softmax")


def _both(fname, x, **kw):
    with np.errstate(all="ignore"):
        return np.asarray(getattr(sml, fname)(x, **kw)), np.asarray(getattr(sps, fname)(x, **kw))


@pytest.mark.parametrize("fname", _FUNCS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "longdouble", ">f8", ">f4"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, 0)])
def test_agrees_dtypes_axes(fname, dtype, axis):
    x = (np.arange(24.0).reshape(2, 3, 4) / 7 - 1).astype(dtype)
    ours, ref = _both(fname, x, axis=axis)
    assert ours.dtype == ref.dtype.newbyteorder("=") and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=np.finfo(ref.dtype).eps * 8)


@pytest.mark.parametrize("fname", _FUNCS)
@pytest.mark.parametrize("layout", ["F", "strided", "readonly", "broadcast"])
def test_agrees_layouts(fname, layout):
    base = np.random.default_rng(0).normal(size=(4, 6, 5)) * 10
    x = {"F": np.asfortranarray(base), "strided": base[:, ::2, ::-1],
         "readonly": base.copy(), "broadcast": np.broadcast_to(base[:1], (4, 6, 5))}[layout]
    if layout == "readonly":
        x.flags.writeable = False
    for axis in (None, 0, 1, (0, 2)):
        ours, ref = _both(fname, x, axis=axis)
        np.testing.assert_allclose(ours, ref, rtol=1e-13)


@pytest.mark.parametrize("bshape", [(3,), (2, 1), (1, 3), (3, 2, 3), (4, 1, 1), ()])
@pytest.mark.parametrize("axis", [None, 1, -1])
@pytest.mark.parametrize("return_sign", [False, True])
def test_agrees_b_broadcasting(bshape, axis, return_sign):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.linspace(-0.5, 2.0, int(np.prod(bshape))).reshape(bshape) if return_sign else np.full(bshape, 0.7)
    ours = sml.logsumexp(x, axis=axis, b=b, return_sign=return_sign, keepdims=True)
    ref = sps.logsumexp(x, axis=axis, b=b, return_sign=return_sign, keepdims=True)
    for o, r in zip(ours, ref) if return_sign else [(ours, ref)]:
        assert o.shape == np.shape(r)
        np.testing.assert_allclose(o, r, rtol=1e-13)


def test_softmax_validate_false_plus_inf_like_scipy():
    x = np.array([[np.inf, 2.0, 3.0], [1.0, 2.0, 3.0]])
    with np.errstate(all="ignore"):
        ours, ref = sml.softmax(x, axis=-1, validate=False), sps.softmax(x, axis=-1)
    np.testing.assert_array_equal(ours, ref)  # ref: [[nan, nan, nan], [0.09, 0.24, 0.67]]


def test_log_softmax_validate_false_plus_inf_like_scipy():
    x = np.array([[np.inf, 2.0, 3.0], [1.0, 2.0, 3.0]])
    with np.errstate(all="ignore"):
        ref = sps.log_softmax(x, axis=-1)
    np.testing.assert_array_equal(sml.log_softmax(x, axis=-1, validate=False), ref)


@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_validate_false_cancelling_infinities(return_sign):
    x, b = np.array([np.inf, np.inf, 3.0]), np.array([1.0, -1.0, 1.0])
    ours = sml.logsumexp(x, b=b, return_sign=return_sign, validate=False)
    with np.errstate(all="ignore"):
        ref = sps.logsumexp(x, b=b, return_sign=return_sign)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("fname", _FUNCS)
def test_axis_out_of_range_is_axis_error(fname):
    with pytest.raises(np.exceptions.AxisError):
        getattr(sml, fname)(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize("fname", _FUNCS)
def test_axis_out_of_range_message(fname):
    with pytest.raises(ValueError, match=rf"{fname}: argument 'axis'=2 is out of range"):
        getattr(sml, fname)(np.zeros((2, 3)), axis=2)


def test_dtype_message_mentions_longdouble():
    assert sml.logsumexp(np.ones(2, dtype=np.longdouble)).dtype == np.longdouble
    with pytest.raises(TypeError, match="longdouble"):
        sml.logsumexp(np.array([1, 2]))


@pytest.mark.parametrize("fname", _FUNCS)
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_zero_d_input_like_scipy(fname, axis):
    """A 0-d array is its own only slice, with the default axis too (SciPy: axis None/0/-1)."""
    x = np.array(2.0)
    ours = getattr(sml, fname)(x) if axis == -1 else getattr(sml, fname)(x, axis=axis)
    ref = getattr(sps, fname)(x, axis=None)
    assert ours.shape == () and float(ours) == float(ref)
