"""softmaxlab against its JAX and optax peers (jax.nn, jax.scipy.special, optax.losses).

Ported from optax's own ``optax/losses/_classification_test.py`` (SoftmaxCrossEntropyTest,
SoftmaxCrossEntropyWithIntegerLabelsTest, HingeTest, PerceptronTest) and from the documented
semantics of ``jax.nn.softmax`` / ``log_softmax`` / ``logsumexp`` (``where=``, tuple axes, ``b``,
``return_sign``) and ``jax.nn.log_sigmoid``, with the mask cases stressed: partially and fully
masked slices, masks that broadcast, masks of positions, ``where`` with ``axis=None`` and tuples.

Two sets of tests share one table of cases:

* ``test_live_*`` compute the peer's numbers (and ``jax.grad`` of the summed optax loss against
  the ``*_with_grad`` twins) now; they skip when jax or optax is not installed (CI).
* ``test_table_*`` compare with the same peer numbers recorded as literals (computed with jax
  0.10.2 and optax 0.2.8 in float64, 12 significant digits), so the comparison runs without JAX.

Deliberate differences (listed in ``book/api.md``, "Differences from PyTorch, SciPy,
JAX and Caffe") are ``skip``; everything else must match.
float32: rtol 1e-5; float64: rtol 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import softmaxlab as S

INF = math.inf
NAN = math.nan

# --------------------------------------------------------------------------- #
# Inputs (literals, so that the recorded table needs no random generator)
# --------------------------------------------------------------------------- #
FLOATS = {
    "X2": [[0.103, 4.079, 3.674, -1.531], [-0.894, -1.582, 1.709, -0.168],
           [2.241, -5.542, 4.7, -0.289]],
    "X3": [[[2.041, -0.41, -1.137, 1.389], [2.474, -0.608, -0.458, 2.057],
            [-2.611, -4.543, 1.185, -2.012]],
           [[-5.761, -2.442, -1.403, -3.58], [-4.477, 0.11, 2.692, -0.699],
            [-2.231, 1.155, 2.152, -0.9]]],
    "B2": [[0.545, 1.043, -0.207, -0.814], [0.348, 0.248, 1.099, -1.285],
           [-0.662, -0.838, -1.734, 0.126]],
    "XS": [-30.0, -5.5, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.5, 30.0],
    "Z4": [[[[1.056, -1.478], [2.771, 1.644]], [[1.255, 0.803], [1.911, -2.664]],
            [[1.228, 1.206], [-3.535, 0.694]]],
           [[[-0.501, 1.563], [-0.878, -0.036]], [[0.686, -1.753], [1.197, -0.21]],
            [[0.985, -1.044], [2.172, 1.21]]]],
    # optax's SoftmaxCrossEntropyTest / ...WithIntegerLabelsTest fixtures
    "YS": [[10.0, 1.0, -2.0], [1.0, 4.0, 0.2]],
    "TS": [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    "YS0": [10.0, 1.0, -2.0],
    "TS0": [0.0, 1.0, 0.0],
    "ZH": [[-1.492, 0.594], [-0.033, -0.407], [-1.469, 0.775], [0.616, -0.186],
           [-0.443, -2.57], [-0.972, 2.413]],
    "HF": [[10.0, 3.0], [11.0, -2.0]],  # optax HingeTest / PerceptronTest
    "HF0": [10.0, 3.0],
    "H3": [[3.0, 0.0, -5.0], [0.0, 0.5, -3.0]],  # at most one violator: WW == CS
    "H3TIE": [[1.0, 1.0, 1.0]],  # two violators: WW sums (2), CS takes the max (1)
    "XINF": [[-INF, -INF, -INF], [0.0, -INF, 1.0]],
}
INTS = {
    "TI": [1, 0], "TI0": 1,
    "L2": [1, 3, 0],
    "LX3_0": [[0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 0, 0]],  # X3, class axis 0 (C=2)
    "LX3_1": [[2, 0, 1, 2], [0, 1, 2, 1]],                # X3, class axis 1 (C=3)
    "LX3_2": [[3, 0, 2], [1, 3, 0]],                      # X3, class axis 2 (C=4)
    "L4": [[3, 0, 2], [1, 2, 0]],                         # Z4, classes (2, 3) flattened
    "LH": [0, 1, 1, 0, 0, 1], "LHF": [1, 0], "LHF0": 1, "LH3": [0, 0], "LH3TIE": [1],
    "XI": [1, 2, 3],
}
MASKS = {
    "M2_PART": [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]],
    "M2_ROW": [[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0]],  # a fully masked row
    "M2_COL": [1, 0, 1, 1],                                # broadcasts over rows
    "M2_COLV": [[1], [0], [1]],                            # broadcasts over columns
    "M3_B": [[[1, 0, 1, 1]], [[0, 1, 1, 1]]],              # (2, 1, 4)
    "M3_FULL": [[[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]],
                [[0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 1, 0]]],
    "MASK": [1, 0],                                        # optax's mask of positions
    "PLM": [[1, 0, 0], [0, 0, 0]],                         # optax's per_logit_mask
    "PLM2": [[1, 1, 0], [1, 0, 1]],
    "PLM3": [[0, 1, 1], [0, 0, 0]],
    "M1": [1, 0, 1, 1, 0, 1, 1, 0, 0, 1],                  # optax test_mask (size 10)
    "PM_X3_0": [[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 1]],
    "PM_X3_1": [[1, 1, 0, 1], [0, 1, 1, 1]],
    "PM_X3_2": [[1, 0, 1], [1, 1, 0]],
    "M4": [[[[1, 1], [0, 1]], [[1, 0], [1, 1]], [[0, 1], [1, 1]]],
           [[[1, 1], [1, 0]], [[0, 0], [0, 0]], [[1, 1], [1, 1]]]],
}


def _onehot(labels, C, axis):
    return np.moveaxis(np.eye(C, dtype=bool)[np.asarray(labels)], -1, axis)


def _derived():
    """Targets and masks derived from the literals by exact NumPy operations."""
    x3 = np.array(FLOATS["X3"])
    out = {}
    for ax in range(3):
        q = np.abs(np.cos(3.0 * x3)) + 0.05
        out[f"QX3_{ax}"] = q / q.sum(axis=ax, keepdims=True)
        lab = np.array(INTS[f"LX3_{ax}"])
        m = np.array(MASKS["M3_FULL"], bool) | _onehot(lab, x3.shape[ax], ax)
        first = tuple(0 if i != ax else slice(None) for i in range(3))
        m[first] = False  # one position with no included class
        out[f"CM_X3_{ax}"] = m
        qm = np.where(m, out[f"QX3_{ax}"], 0.0)
        s = qm.sum(axis=ax, keepdims=True)
        out[f"QMX3_{ax}"] = np.where(s > 0, qm / np.where(s > 0, s, 1.0), 0.0)
    x2 = np.array(FLOATS["X2"])
    out["CM_X2"] = np.array(MASKS["M2_PART"], bool) | _onehot(INTS["L2"], 4, -1)
    out["OH_X2"] = _onehot(INTS["L2"], 4, -1).astype(float)
    q = np.abs(np.sin(2.0 * x2)) + 0.05
    out["Q2"] = q / q.sum(-1, keepdims=True)
    q4 = np.abs(np.cos(np.array(FLOATS["Z4"]))) + 0.05
    out["Q4"] = q4 / q4.sum(axis=(2, 3), keepdims=True)
    out["Q4ALL"] = q4 / q4.sum()
    out["BABS"] = np.abs(np.array(FLOATS["B2"]))
    out["P1"] = np.linspace(0.02, 0.2, 10) / np.linspace(0.02, 0.2, 10).sum()
    out["Z1"] = np.linspace(-2.0, 3.0, 10) ** 2 / 4.0
    return out


DERIVED = _derived()


def arg(name, dtype):
    """An input by name: floats in `dtype`, integer labels, boolean masks."""
    if name in FLOATS or (name in DERIVED and DERIVED[name].dtype.kind == "f"):
        return np.asarray(FLOATS[name] if name in FLOATS else DERIVED[name], dtype=dtype)
    if name in INTS:
        return np.asarray(INTS[name], dtype=np.int64)
    return np.asarray(MASKS[name] if name in MASKS else DERIVED[name], dtype=bool)


def kwargs(kw, dtype):
    return {k: (arg(v[1:], dtype) if isinstance(v, str) and v.startswith("@") else v)
            for k, v in kw.items()}


# --------------------------------------------------------------------------- #
# The cases
# --------------------------------------------------------------------------- #
DELIB_TARGET = ("deliberate (JAX/optax): a target on an excluded (masked-out) class raises; "
                "optax returns logsumexp over the included classes minus the label's logit")
DELIB_HINGE = ("deliberate: multiclass_hinge is the Weston-Watkins/CS231n sum over j != y; "
               "optax.multiclass_hinge_loss is the Crammer-Singer max: they differ with two or more "
               "violating classes")
DELIB_ALLINF = ("deliberate: an all -inf slice gives softmax 0 / log_softmax -inf; jax.nn gives NaN")


def _special_cases():
    cases = []
    for fn in ("softmax", "log_softmax", "logsumexp"):
        for m in ("M2_PART", "M2_ROW", "M2_COL", "M2_COLV"):
            for ax in (-1, 0, None, (0, 1)):
                cases.append((f"{fn}-X2-{m}-axis{ax}", fn, "X2", {"axis": ax, "where": "@" + m}))
        for m in ("M3_B", "M3_FULL"):
            for ax in (-1, 1, (0, 2), (1, 2), None):
                cases.append((f"{fn}-X3-{m}-axis{ax}", fn, "X3", {"axis": ax, "where": "@" + m}))
        cases.append((f"{fn}-X3-nomask-axis(0, 2)", fn, "X3", {"axis": (0, 2)}))
        cases.append((f"{fn}-X2-bool_-False", fn, "X2", {"axis": -1, "where": np.bool_(False)}))
    for ax in ((0, 2), None, 1):
        cases.append((f"logsumexp-X3-M3_B-keepdims-axis{ax}", "logsumexp", "X3",
                      {"axis": ax, "where": "@M3_B", "keepdims": True}))
    for m in ("M2_PART", "M2_ROW", "M2_COL"):
        for ax in (-1, 0, None):
            cases.append((f"logsumexp-b-sign-{m}-axis{ax}", "logsumexp", "X2",
                          {"axis": ax, "b": "@B2", "where": "@" + m, "return_sign": True}))
            cases.append((f"logsumexp-babs-{m}-axis{ax}", "logsumexp", "X2",
                          {"axis": ax, "b": "@BABS", "where": "@" + m}))
    cases.append(("log_sigmoid-XS", "log_sigmoid", "XS", {}))
    cases.append(("sigmoid-XS", "sigmoid", "XS", {}))
    cases.append(("softmax-XINF", "softmax", "XINF", {"axis": -1}))
    cases.append(("log_softmax-XINF", "log_softmax", "XINF", {"axis": -1}))
    return cases


SPECIAL_CASES = _special_cases()
SPECIAL_MARKS = {"softmax-XINF": pytest.mark.skip(reason=DELIB_ALLINF),
                 "log_softmax-XINF": pytest.mark.skip(reason=DELIB_ALLINF)}


def _loss_cases():
    c = []
    ce = "ce"
    # optax fixtures
    c += [("ce-int-YS", ce, "YS", "TI", {"axis": -1}),
          ("ce-prob-YS", ce, "YS", "TS", {"axis": -1}),
          ("ce-int-YS0-unbatched", ce, "YS0", "TI0", {"axis": -1}),
          ("ce-prob-YS0-unbatched", ce, "YS0", "TS0", {"axis": -1}),
          ("ce-int-YS-mask", ce, "YS", "TI", {"axis": -1, "where": "@MASK"}),
          ("ce-prob-YS-mask", ce, "YS", "TS", {"axis": -1, "where": "@MASK"}),
          ("ce-int-YS-PLM2", ce, "YS", "TI", {"axis": -1, "where": "@PLM2"}),
          ("ce-prob-YS-PLM2", ce, "YS", "TS", {"axis": -1, "where": "@PLM2"}),
          ("ce-int-YS-PLM3-fullrow", ce, "YS", "TI", {"axis": -1, "where": "@PLM3"}),
          ("ce-prob-YS-PLM3-fullrow", ce, "YS", "TS", {"axis": -1, "where": "@PLM3"}),
          ("ce-int-YS-PLM-optax-per-logit", ce, "YS", "TI", {"axis": -1, "where": "@PLM"}),
          ("ce-prob-optax-test_mask", ce, "Z1", "P1", {"axis": -1, "where": "@M1"})]
    for ax in range(3):
        for tgt in (f"LX3_{ax}", f"QX3_{ax}"):
            kind = "int" if tgt.startswith("L") else "prob"
            c.append((f"ce-{kind}-X3-axis{ax}", ce, "X3", tgt, {"axis": ax}))
            c.append((f"ce-{kind}-X3-axis{ax}-posmask", ce, "X3", tgt,
                      {"axis": ax, "where": f"@PM_X3_{ax}"}))
        c.append((f"ce-int-X3-axis{ax}-classmask", ce, "X3", f"LX3_{ax}",
                  {"axis": ax, "where": f"@CM_X3_{ax}"}))
        c.append((f"ce-prob-X3-axis{ax}-classmask", ce, "X3", f"QMX3_{ax}",
                  {"axis": ax, "where": f"@CM_X3_{ax}"}))
    for eps in (0.1, 1.0):
        c.append((f"ce-int-X2-smooth{eps}", ce, "X2", "L2", {"axis": -1, "label_smoothing": eps}))
        c.append((f"ce-int-X2-smooth{eps}-classmask", ce, "X2", "L2",
                  {"axis": -1, "label_smoothing": eps, "where": "@CM_X2"}))
        c.append((f"ce-prob-X2-smooth{eps}", ce, "X2", "Q2", {"axis": -1, "label_smoothing": eps}))
        c.append((f"ce-onehot-X2-smooth{eps}-classmask", ce, "X2", "OH_X2",
                  {"axis": -1, "label_smoothing": eps, "where": "@CM_X2"}))
    # tuple axes / axis=None (optax)
    c += [("ce-int-Z4-axis(2, 3)", ce, "Z4", "L4", {"axis": (2, 3)}),
          ("ce-int-Z4-axis(-2, -1)", ce, "Z4", "L4", {"axis": (-2, -1)}),
          ("ce-int-Z4-axis(2, 3)-mask", ce, "Z4", "L4", {"axis": (2, 3), "where": "@M4"}),
          ("ce-prob-Z4-axis(2, 3)", ce, "Z4", "Q4", {"axis": (2, 3)}),
          ("ce-prob-Z4-axisNone", ce, "Z4", "Q4ALL", {"axis": None})]
    # hinge / perceptron: the same meaning for C = 2 and with at most one violator
    c += [("hinge-ZH", "hinge", "ZH", "LH", {"margin": 1.0}),
          ("perceptron-ZH", "hinge", "ZH", "LH", {"margin": 0.0}),
          ("hinge-optax-batched", "hinge", "HF", "LHF", {"margin": 1.0}),
          ("hinge-optax-unbatched", "hinge", "HF0", "LHF0", {"margin": 1.0}),
          ("perceptron-optax-batched", "hinge", "HF", "LHF", {"margin": 0.0}),
          ("perceptron-optax-unbatched", "hinge", "HF0", "LHF0", {"margin": 0.0}),
          ("hinge-H3-one-violator", "hinge", "H3", "LH3", {"margin": 1.0}),
          ("perceptron-H3", "hinge", "H3", "LH3", {"margin": 0.0}),
          ("hinge-H3TIE-two-violators", "hinge", "H3TIE", "LH3TIE", {"margin": 1.0})]
    return c


LOSS_CASES = _loss_cases()
LOSS_MARKS = {
    "ce-int-YS-PLM-optax-per-logit": pytest.mark.skip(reason=DELIB_TARGET),
    "ce-prob-optax-test_mask": pytest.mark.skip(reason=DELIB_TARGET + " (probability mass)"),
    "hinge-H3TIE-two-violators": pytest.mark.skip(reason=DELIB_HINGE),
}


def _params(cases, marks):
    return [pytest.param(c, id=c[0], marks=[marks[c[0]]] if c[0] in marks else [])
            for c in cases]


# --------------------------------------------------------------------------- #
# softmaxlab's side
# --------------------------------------------------------------------------- #
def ours_special(case, dtype):
    _, fn, x, kw = case
    return getattr(S, fn)(arg(x, dtype), **kwargs(kw, dtype))


def ours_loss(case, dtype):
    """Per-position losses and the gradient of their sum."""
    _, kind, z, t, kw = case
    z, t, kw = arg(z, dtype), arg(t, dtype), kwargs(kw, dtype)
    if kind == "ce":
        loss = S.cross_entropy(z, t, reduction="none", **kw)
        _, grad = S.cross_entropy_with_grad(z, t, reduction="sum", **kw)
    else:
        loss = S.multiclass_hinge(z, t, axis=-1, reduction="none", **kw)
        _, grad = S.multiclass_hinge_with_grad(z, t, axis=-1, reduction="sum", **kw)
    return loss, grad


# --------------------------------------------------------------------------- #
# The peers' side (imports jax/optax only when called)
# --------------------------------------------------------------------------- #
def peer_special(case, dtype):
    """The jax.nn value of a case, as JAX arrays (traced inside :func:`peer_values`)."""
    import jax

    _, fn, x, kw = case
    return getattr(jax.nn, fn)(arg(x, dtype), **kwargs(kw, dtype))


def _smoothed(t, z, axis, eps, where):
    """optax's target for ``label_smoothing``: onehot smoothed over the (included) classes."""
    C = z.shape[axis]
    q = _onehot(t, C, axis).astype(z.dtype) if t.dtype.kind == "i" else t
    if where is None:
        return (1 - eps) * q + eps / C
    m = np.broadcast_to(where, z.shape).astype(z.dtype)
    return (1 - eps) * q + eps * m / np.maximum(m.sum(axis=axis, keepdims=True), 1)


def peer_loss(case, dtype):
    import jax
    import jax.numpy as jnp
    import optax

    _, kind, z, t, kw = case
    z, t, kw = arg(z, dtype), arg(t, dtype), kwargs(kw, dtype)
    if kind == "ce":
        axis, where = kw.get("axis", -1), kw.get("where")
        eps = kw.get("label_smoothing", 0.0)
        if eps:
            t = _smoothed(t, z, axis, eps, where)
        if t.dtype.kind == "i":
            def f(zz):
                return optax.losses.softmax_cross_entropy_with_integer_labels(
                    zz, t, axis=axis, where=where)
        else:
            def f(zz):
                return optax.losses.softmax_cross_entropy(zz, t, axis=axis, where=where)
    else:
        hinge = (optax.losses.multiclass_hinge_loss if kw["margin"] == 1.0
                 else optax.losses.multiclass_perceptron_loss)

        def f(zz):
            return hinge(zz, t)
    val, vjp = jax.vjp(f, jnp.asarray(z))
    return val, vjp(jnp.ones_like(val))[0]  # the gradient of the summed losses


# --------------------------------------------------------------------------- #
# Comparisons
# --------------------------------------------------------------------------- #
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]


def assert_same(ours, expected, dtype, what=""):
    ours = np.asarray(ours)
    expected = np.asarray(expected, dtype=np.float64)
    assert ours.dtype == dtype, f"{what}: dtype {ours.dtype}, expected {np.dtype(dtype)}"
    assert ours.shape == expected.shape, f"{what}: shape {ours.shape}, expected {expected.shape}"
    np.testing.assert_allclose(ours.astype(np.float64), expected, err_msg=what, **TOL[dtype])


@pytest.fixture(scope="module")
def peers():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    import jax

    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


@pytest.fixture(scope="module")
def peer_values(peers):
    """Every case's peer values, per dtype, from one jitted function per table (eager JAX,
    or one compilation per case, would take about a minute)."""
    import jax

    out = {}
    for dtype in (np.float32, np.float64):
        def every_case(dtype=dtype):
            return ({c[0]: peer_special(c, dtype) for c in SPECIAL_CASES},
                    {c[0]: peer_loss(c, dtype) for c in LOSS_CASES})

        special, loss = jax.tree.map(np.asarray, jax.jit(every_case)())
        out[dtype] = {"special": special, "loss": loss}
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _params(SPECIAL_CASES, SPECIAL_MARKS))
def test_live_special(peer_values, case, dtype):
    ours, peer = ours_special(case, dtype), peer_values[dtype]["special"][case[0]]
    if isinstance(peer, tuple):
        for k, (o, p) in enumerate(zip(ours, peer)):
            assert_same(o, p, dtype, f"{case[0]}[{k}]")
    else:
        assert_same(ours, peer, dtype, case[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _params(LOSS_CASES, LOSS_MARKS))
def test_live_loss_and_grad(peer_values, case, dtype):
    (loss, grad), (ploss, pgrad) = ours_loss(case, dtype), peer_values[dtype]["loss"][case[0]]
    assert_same(loss, ploss, dtype, case[0] + " loss")
    assert_same(grad, pgrad, dtype, case[0] + " grad")


def test_live_mean_counts_included_positions(peers):
    """"mean" with `where`: the sum of optax's per-position losses over the included positions."""
    import jax
    import jax.numpy as jnp
    import optax

    z, y, m = arg("X3", np.float64), arg("LX3_2", np.float64), arg("PM_X3_2", np.float64)

    def f(zz):
        per = optax.losses.softmax_cross_entropy_with_integer_labels(zz, y, axis=2, where=m)
        return jnp.sum(per) / m.sum()

    loss, grad = S.cross_entropy_with_grad(z, y, axis=2, where=m)
    ploss, pgrad = jax.jit(jax.value_and_grad(f))(jnp.asarray(z))
    assert_same(loss, ploss, np.float64)
    assert_same(grad, pgrad, np.float64)


@pytest.mark.skip(reason="deliberate (SciPy): integer arrays x raise TypeError; jax.nn promotes "
                         "them to float")
def test_live_integer_input(peers):
    import jax

    assert_same(S.softmax(arg("XI", np.float64)), jax.nn.softmax(np.array(INTS["XI"])), np.float64)


# --------------------------------------------------------------------------- #
# Where the peers agree or differ without a defect: checked on our side only
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dt", ["int32", "float32"])
def test_non_boolean_where_is_refused(fn, dt):
    """jax.nn refuses a non-boolean `where` too (ValueError from jnp.max); ours names it."""
    w = np.array(MASKS["M2_PART"]).astype(dt)
    with pytest.raises(TypeError, match=f"{fn}: argument 'where' must be a boolean array"):
        getattr(S, fn)(arg("X2", np.float64), where=w)


def test_non_boolean_where_is_refused_by_cross_entropy():
    with pytest.raises(TypeError, match="cross_entropy: argument 'where' must be a boolean array"):
        S.cross_entropy(arg("YS", np.float64), arg("TI", np.float64), axis=-1,
                        where=np.array([1, 0]))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "logsumexp"])
def test_where_with_more_dimensions_than_x(fn):
    """jax.nn broadcasts x up to a larger mask (output (2, 3, 4)); ours refuses, naming the shapes.
    Not a defect (jax.nn documents no shape for `where`), recorded as a difference."""
    with pytest.raises(ValueError, match=rf"{fn}: argument 'where' must be broadcastable to the "
                                         r"shape of 'x' \(3, 4\); found shape \(2, 3, 4\)"):
        getattr(S, fn)(arg("X2", np.float64), where=np.ones((2, 3, 4), bool))


# --------------------------------------------------------------------------- #
# The same comparisons against the recorded peer values (no JAX needed)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _params(SPECIAL_CASES, SPECIAL_MARKS))
def test_table_special(case, dtype):
    expected, ours = EXPECTED_SPECIAL[case[0]], ours_special(case, dtype)
    if isinstance(expected, tuple):
        for k, (o, e) in enumerate(zip(ours, expected)):
            assert_same(o, e, dtype, f"{case[0]}[{k}]")
    else:
        assert_same(ours, expected, dtype, case[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _params(LOSS_CASES, LOSS_MARKS))
def test_table_loss_and_grad(case, dtype):
    ploss, pgrad = EXPECTED_LOSS[case[0]]
    loss, grad = ours_loss(case, dtype)
    assert_same(loss, ploss, dtype, case[0] + " loss")
    assert_same(grad, pgrad, dtype, case[0] + " grad")


def test_table_covers_every_case():
    assert set(EXPECTED_SPECIAL) == {c[0] for c in SPECIAL_CASES}
    assert set(EXPECTED_LOSS) == {c[0] for c in LOSS_CASES}


# --------------------------------------------------------------------------- #
# Recorded with jax 0.10.2 / optax 0.2.8 (jax_enable_x64, float64 inputs), 12 significant digits.
# Regenerate: python /tmp/audit_jax/gen_table.py (prints this section).
# --------------------------------------------------------------------------- #
EXPECTED_SPECIAL = {
    'softmax-X2-M2_PART-axis-1': [[0.0272129022329, 0.0, 0.967476570074, 0.00531052769355], [0.0,
        0.0358812360496, 0.96411876395, 0.0], [0.925860961089, 0.000385861830126, 0.0, 0.0737531770813]],
    'softmax-X2-M2_PART-axis0': [[0.105457913783, 0.0, 0.877073049167, 0.224088048657], [0.0,
        0.981293490046, 0.122926950833, 0.0], [0.894542086217, 0.0187065099544, 0.0, 0.775911951343]],
    'softmax-X2-M2_PART-axisNone': [[0.0195781862858, 0.0, 0.696046175227, 0.00382063256504], [0.0,
        0.0036306656345, 0.0975549688145, 0.0], [0.166071098662, 6.9211793945e-05, 0.0,
        0.0132290610172]],
    'softmax-X2-M2_PART-axis(0, 1)': [[0.0195781862858, 0.0, 0.696046175227, 0.00382063256504], [0.0,
        0.0036306656345, 0.0975549688145, 0.0], [0.166071098662, 6.9211793945e-05, 0.0,
        0.0132290610172]],
    'softmax-X2-M2_ROW-axis-1': [[0.0111048592497, 0.591926684089, 0.394801372016, 0.00216708464514],
        [0.0, 0.0, 0.0, 0.0], [0.0787828827472, 0.0, 0.921217117253, 0.0]],
    'softmax-X2-M2_ROW-axis0': [[0.105457913783, 1.0, 0.263860322158, 1.0], [0.0, 0.0, 0.0, 0.0],
        [0.894542086217, 0.0, 0.736139677842, 0.0]],
    'softmax-X2-M2_ROW-axisNone': [[0.00505767176488, 0.269591069069, 0.179810991484,
        0.000986991602087], [0.0, 0.0, 0.0, 0.0], [0.042901476899, 0.0, 0.501651799181, 0.0]],
    'softmax-X2-M2_ROW-axis(0, 1)': [[0.00505767176488, 0.269591069069, 0.179810991484,
        0.000986991602087], [0.0, 0.0, 0.0, 0.0], [0.042901476899, 0.0, 0.501651799181, 0.0]],
    'softmax-X2-M2_COL-axis-1': [[0.0272129022329, 0.0, 0.967476570074, 0.00531052769355],
        [0.0603464364834, 0.0, 0.814929737853, 0.124723825664], [0.0782915432438, 0.0, 0.915471829125,
        0.00623662763147]],
    'softmax-X2-M2_COL-axis0': [[0.101507997968, 0.0, 0.254450346959, 0.119468160632], [0.0374549018939,
        0.0, 0.0356627139778, 0.466869557088], [0.861037100138, 0.0, 0.709886939063, 0.41366228228]],
    'softmax-X2-M2_COL-axisNone': [[0.00661348604268, 0.0, 0.235123499068, 0.00129060474623],
        [0.00244027540553, 0.0, 0.0329539424761, 0.00504355355489], [0.0560986026519, 0.0,
        0.655967276328, 0.00446875972666]],
    'softmax-X2-M2_COL-axis(0, 1)': [[0.00661348604268, 0.0, 0.235123499068, 0.00129060474623],
        [0.00244027540553, 0.0, 0.0329539424761, 0.00504355355489], [0.0560986026519, 0.0,
        0.655967276328, 0.00446875972666]],
    'softmax-X2-M2_COLV-axis-1': [[0.0111048592497, 0.591926684089, 0.394801372016, 0.00216708464514],
        [0.0, 0.0, 0.0, 0.0], [0.0782889887692, 3.26277203109e-05, 0.915441959366, 0.00623642414453]],
    'softmax-X2-M2_COLV-axis0': [[0.105457913783, 0.999933683135, 0.263860322158, 0.224088048657], [0.0,
        0.0, 0.0, 0.0], [0.894542086217, 6.63168649999e-05, 0.736139677842, 0.775911951343]],
    'softmax-X2-M2_COLV-axisNone': [[0.00504035627996, 0.26866809496, 0.179195389156,
        0.000983612529859], [0.0, 0.0, 0.0, 0.0], [0.0427545990646, 1.78184074442e-05, 0.499934340128,
        0.0034057894742]],
    'softmax-X2-M2_COLV-axis(0, 1)': [[0.00504035627996, 0.26866809496, 0.179195389156,
        0.000983612529859], [0.0, 0.0, 0.0, 0.0], [0.0427545990646, 1.78184074442e-05, 0.499934340128,
        0.0034057894742]],
    'softmax-X3-M3_B-axis-1': [[[0.63992970469, 0.0, 0.0266651730523, 0.333405122258], [0.584005967309,
        0.0, 0.0311218828624, 0.384872149829], [0.0211224314404, 0.0, 0.940428457464, 0.0384491110954]],
        [[0.0, 0.241146981196, 0.681575226031, 0.0772777927729], [0.0, 0.0681716141555, 0.901471351539,
        0.0303570343054], [0.0, 0.26053661945, 0.706090506193, 0.0333728743571]]],
    'softmax-X3-M3_B-axis1': [[[0.39193880359, 0.0, 0.0759419601863, 0.335157409072], [0.604321121225,
        0.0, 0.149750318935, 0.653668471944], [0.00374007518555, 0.0, 0.774307720879, 0.0111741189843]],
        [[0.0, 0.0198722816845, 0.0104137205465, 0.0299247186915], [0.0, 0.255015896032, 0.62523289978,
        0.53362046734], [0.0, 0.725111822284, 0.364353379674, 0.436454813969]]],
    'softmax-X3-M3_B-axis(0, 2)': [[[0.621299847528, 0.0, 0.0258888872173, 0.323698915843],
        [0.323434155455, 0.0, 0.0172359196022, 0.213149874669], [0.00469084717454, 0.0, 0.208849354536,
        0.00853873781788]], [[0.0, 0.00702035517622, 0.0198422561308, 0.00224973810499], [0.0,
        0.0304168142311, 0.40221853295, 0.0135447030925], [0.0, 0.202676923294, 0.549282675367,
        0.0259614618109]]],
    'softmax-X3-M3_B-axis(1, 2)': [[[0.214840564296, 0.0, 0.00895217206457, 0.111932520213],
        [0.33125755733, 0.0, 0.0176528314326, 0.21830566017], [0.00205011562013, 0.0, 0.0912767583459,
        0.00373182052735]], [[0.0, 0.00300805867655, 0.00850194459089, 0.000963960377621], [0.0,
        0.0386016457947, 0.510451134791, 0.0171894343437], [0.0, 0.109759862663, 0.297464506722,
        0.0140594520411]]],
    'softmax-X3-M3_B-axisNone': [[[0.118891759065, 0.0, 0.00495408996757, 0.0619429308812],
        [0.183316376139, 0.0, 0.00976899399034, 0.120809326844], [0.00113452435373, 0.0,
        0.0505121292946, 0.00206517194955]], [[0.0, 0.00134341313535, 0.00379700839231,
        0.000430509232864], [0.0, 0.0172396763437, 0.227969874649, 0.00767688212555], [0.0,
        0.049019270264, 0.132849046046, 0.00627901732606]]],
    'softmax-X3-M3_FULL-axis-1': [[[0.63992970469, 0.0, 0.0266651730523, 0.333405122258], [0.0, 0.0,
        0.0, 0.0], [0.337250408635, 0.04885348451, 0.0, 0.613896106855]], [[0.0, 0.261342990672,
        0.738657009328, 0.0], [0.000744449807429, 0.0, 0.966701878854, 0.0325536713389], [0.0, 0.0, 1.0,
        0.0]]],
    'softmax-X3-M3_FULL-axis1': [[[0.990547700708, 0.0, 1.0, 0.967735773157], [0.0, 0.0, 0.0, 0.0],
        [0.0094522992916, 1.0, 0.0, 0.0322642268435]], [[0.0, 1.0, 0.0104137205465, 0.0], [1.0, 0.0,
        0.62523289978, 1.0], [0.0, 0.0, 0.364353379674, 0.0]]],
    'softmax-X3-M3_FULL-axis(0, 2)': [[[0.622700761158, 0.0, 0.0259472617608, 0.324428795667], [0.0,
        0.0, 0.0, 0.0], [0.00832904073012, 0.00120652978284, 0.0, 0.0151613327876]], [[0.0,
        0.00703618474917, 0.019886996665, 0.0], [0.000744449807429, 0.0, 0.966701878854,
        0.0325536713389], [0.0, 0.0, 0.975303096699, 0.0]]],
    'softmax-X3-M3_FULL-axis(1, 2)': [[[0.628548695217, 0.0, 0.0261909387968, 0.327475585268], [0.0,
        0.0, 0.0, 0.0], [0.00599792456465, 0.000868848509325, 0.0, 0.0109180076441]], [[0.0,
        0.00359382234384, 0.0101575407006, 0.0], [0.000469642437926, 0.0, 0.609852031127,
        0.020536758044], [0.0, 0.0, 0.355390205346, 0.0]]],
    'softmax-X3-M3_FULL-axisNone': [[[0.211188693404, 0.0, 0.00880000258629, 0.110029885514], [0.0, 0.0,
        0.0, 0.0], [0.00201526765004, 0.000291928028563, 0.0, 0.0036683868513]], [[0.0,
        0.00238631900973, 0.00674466630424, 0.0], [0.0003118453196, 0.0, 0.404945307744,
        0.013636527193], [0.0, 0.0, 0.235981170395, 0.0]]],
    'softmax-X3-nomask-axis(0, 2)': [[[0.589572216558, 0.0508254501958, 0.0245668314288,
        0.307168733536], [0.318608875355, 0.0146137702855, 0.016978778733, 0.209969914139],
        [0.00465574813568, 0.000674423258224, 0.207286649264, 0.00847484712194]], [[0.000241085705854,
        0.00666184995657, 0.0188289808457, 0.00213485177329], [0.00030512439119, 0.0299630289832,
        0.39621787702, 0.0133426310937], [0.00680802875108, 0.201160402942, 0.545172694109,
        0.0257672064188]]],
    'softmax-X2-bool_-False': [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    'log_softmax-X2-M2_PART-axis-1': [[-3.60406407135, -INF, -0.0330640713497, -5.23806407135], [-INF,
        -3.32754079284, -0.0365407928413, -INF], [-0.0770312056219, -7.86003120562, -INF,
        -2.60703120562]],
    'log_softmax-X2-M2_PART-axis0': [[-2.24944332715, -INF, -0.131164995703, -1.49571623], [-INF,
        -0.018883689802, -2.0961649957, -INF], [-0.111443327149, -3.9788836898, -INF, -0.25371623]],
    'log_softmax-X2-M2_PART-axisNone': [[-3.93333927713, -INF, -0.362339277131, -5.56733927713], [-INF,
        -5.61833927713, -2.32733927713, -INF], [-1.79533927713, -9.57833927713, -INF, -4.32533927713]],
    'log_softmax-X2-M2_PART-axis(0, 1)': [[-3.93333927713, -INF, -0.362339277131, -5.56733927713],
        [-INF, -5.61833927713, -2.32733927713, -INF], [-1.79533927713, -9.57833927713, -INF,
        -4.32533927713]],
    'log_softmax-X2-M2_ROW-axis-1': [[-4.50037249621, -0.524372496211, -0.929372496211, -6.13437249621],
        [-INF, -INF, -INF, -INF], [-2.54105952974, -INF, -0.0820595297354, -INF]],
    'log_softmax-X2-M2_ROW-axis0': [[-2.24944332715, 0.0, -1.33233539858, 0.0], [-INF, -INF, -INF,
        -INF], [-0.111443327149, -INF, -0.306335398583, -INF]],
    'log_softmax-X2-M2_ROW-axisNone': [[-5.28684902709, -1.31084902709, -1.71584902709, -6.92084902709],
        [-INF, -INF, -INF, -INF], [-3.14884902709, -INF, -0.68984902709, -INF]],
    'log_softmax-X2-M2_ROW-axis(0, 1)': [[-5.28684902709, -1.31084902709, -1.71584902709,
        -6.92084902709], [-INF, -INF, -INF, -INF], [-3.14884902709, -INF, -0.68984902709, -INF]],
    'log_softmax-X2-M2_COL-axis-1': [[-3.60406407135, -INF, -0.0330640713497, -5.23806407135],
        [-2.80765338068, -INF, -0.204653380681, -2.08165338068], [-2.54731568637, -INF, -0.088315686368,
        -5.07731568637]],
    'log_softmax-X2-M2_COL-axis0': [[-2.28761768589, -INF, -1.36864956238, -2.12470538134],
        [-3.28461768589, -INF, -3.33364956238, -0.761705381341], [-0.149617685891, -INF,
        -0.342649562383, -0.882705381341]],
    'log_softmax-X2-M2_COL-axisNone': [[-5.01864437493, -INF, -1.44764437493, -6.65264437493],
        [-6.01564437493, -INF, -3.41264437493, -5.28964437493], [-2.88064437493, -INF, -0.421644374929,
        -5.41064437493]],
    'log_softmax-X2-M2_COL-axis(0, 1)': [[-5.01864437493, -INF, -1.44764437493, -6.65264437493],
        [-6.01564437493, -INF, -3.41264437493, -5.28964437493], [-2.88064437493, -INF, -0.421644374929,
        -5.41064437493]],
    'log_softmax-X2-M2_COLV-axis-1': [[-4.50037249621, -0.524372496211, -0.929372496211,
        -6.13437249621], [-INF, -INF, -INF, -INF], [-2.54734831462, -10.3303483146, -0.0883483146206,
        -5.07734831462]],
    'log_softmax-X2-M2_COLV-axis0': [[-2.24944332715, -6.63190640604e-05, -1.33233539858, -1.49571623],
        [-INF, -INF, -INF, -INF], [-0.111443327149, -9.62106631906, -0.306335398583, -0.25371623]],
    'log_softmax-X2-M2_COLV-axisNone': [[-5.29027850893, -1.31427850893, -1.71927850893,
        -6.92427850893], [-INF, -INF, -INF, -INF], [-3.15227850893, -10.9352785089, -0.693278508928,
        -5.68227850893]],
    'log_softmax-X2-M2_COLV-axis(0, 1)': [[-5.29027850893, -1.31427850893, -1.71927850893,
        -6.92427850893], [-INF, -INF, -INF, -INF], [-3.15227850893, -10.9352785089, -0.693278508928,
        -5.68227850893]],
    'log_softmax-X3-M3_B-axis-1': [[[-0.446396945083, -INF, -3.62439694508, -1.09839694508],
        [-0.537844078211, -INF, -3.46984407821, -0.954844078211], [-3.85741970175, -INF,
        -0.061419701753, -3.25841970175]], [[-INF, -1.42234865091, -0.383348650913, -2.56034865091],
        [-INF, -2.6857270155, -0.103727015503, -3.4947270155], [-INF, -1.34501185396, -0.348011853964,
        -3.40001185396]]],
    'log_softmax-X3-M3_B-axis1': [[[-0.93664956467, -INF, -2.57778591221, -1.09315497969],
        [-0.50364956467, -INF, -1.89878591221, -0.425154979688], [-5.58864956467, -INF, -0.255785912208,
        -4.49415497969]], [[-INF, -3.91842939839, -4.56463105901, -3.50907042803], [-INF,
        -1.36642939839, -0.469631059011, -0.628070428033], [-INF, -0.321429398388, -1.00963105901,
        -0.829070428033]]],
    'log_softmax-X3-M3_B-axis(0, 2)': [[[-0.475941467321, -INF, -3.65394146732, -1.12794146732],
        [-1.12875972376, -INF, -4.06075972376, -1.54575972376], [-5.36214207861, -INF, -1.56614207861,
        -4.76314207861]], [[-INF, -4.95894146732, -3.91994146732, -6.09694146732], [-INF,
        -3.49275972376, -0.910759723764, -4.30175972376], [-INF, -1.59614207861, -0.599142078606,
        -3.65114207861]]],
    'log_softmax-X3-M3_B-axis(1, 2)': [[[-1.53785908736, -INF, -4.71585908736, -2.18985908736],
        [-1.10485908736, -INF, -4.03685908736, -1.52185908736], [-6.18985908736, -INF, -2.39385908736,
        -5.59085908736]], [[-INF, -5.80646036625, -4.76746036625, -6.94446036625], [-INF,
        -3.25446036625, -0.672460366252, -4.06346036625], [-INF, -2.20946036625, -1.21246036625,
        -4.26446036625]]],
    'log_softmax-X3-M3_B-axisNone': [[[-2.12954178749, -INF, -5.30754178749, -2.78154178749],
        [-1.69654178749, -INF, -4.62854178749, -2.11354178749], [-6.78154178749, -INF, -2.98554178749,
        -6.18254178749]], [[-INF, -6.61254178749, -5.57354178749, -7.75054178749], [-INF,
        -4.06054178749, -1.47854178749, -4.86954178749], [-INF, -3.01554178749, -2.01854178749,
        -5.07054178749]]],
    'log_softmax-X3-M3_FULL-axis-1': [[[-0.446396945083, -INF, -3.62439694508, -1.09839694508], [-INF,
        -INF, -INF, -INF], [-1.08692957223, -3.01892957223, -INF, -0.487929572228]], [[-INF,
        -1.34192159388, -0.302921593882, -INF], [-7.20286512594, -INF, -0.0338651259387,
        -3.42486512594], [-INF, -INF, 0.0, -INF]]],
    'log_softmax-X3-M3_FULL-axis1': [[[-0.00949725579169, -INF, 0.0, -0.0327961905815], [-INF, -INF,
        -INF, -INF], [-4.66149725579, 0.0, -INF, -3.43379619058]], [[-INF, 0.0, -4.56463105901, -INF],
        [0.0, -INF, -0.469631059011, 0.0], [-INF, -INF, -1.00963105901, -INF]]],
    'log_softmax-X3-M3_FULL-axis(0, 2)': [[[-0.473689194753, -INF, -3.65168919475, -1.12568919475],
        [-INF, -INF, -INF, -INF], [-4.78800698788, -6.72000698788, -INF, -4.18900698788]], [[-INF,
        -4.95668919475, -3.91768919475, -INF], [-7.20286512594, -INF, -0.0338651259387, -3.42486512594],
        [-INF, -INF, -0.0250069878842, -INF]]],
    'log_softmax-X3-M3_FULL-axis(1, 2)': [[[-0.464341775485, -INF, -3.64234177549, -1.11634177549],
        [-INF, -INF, -INF, -INF], [-5.11634177549, -7.04834177549, -INF, -4.51734177549]], [[-INF,
        -5.62853892316, -4.58953892316, -INF], [-7.66353892316, -INF, -0.494538923162, -3.88553892316],
        [-INF, -INF, -1.03453892316, -INF]]],
    'log_softmax-X3-M3_FULL-axisNone': [[[-1.5550032636, -INF, -4.7330032636, -2.2070032636], [-INF,
        -INF, -INF, -INF], [-6.2070032636, -8.1390032636, -INF, -5.6080032636]], [[-INF, -6.0380032636,
        -4.9990032636, -INF], [-8.0730032636, -INF, -0.904003263601, -4.2950032636], [-INF, -INF,
        -1.4440032636, -INF]]],
    'log_softmax-X3-nomask-axis(0, 2)': [[[-0.528358061744, -2.97935806174, -3.70635806174,
        -1.18035806174], [-1.14379102453, -4.22579102453, -4.07579102453, -1.56079102453],
        [-5.36965266459, -7.30165266459, -1.57365266459, -4.77065266459]], [[-8.33035806174,
        -5.01135806174, -3.97235806174, -6.14935806174], [-8.09479102453, -3.50779102453,
        -0.925791024534, -4.31679102453], [-4.98965266459, -1.60365266459, -0.606652664588,
        -3.65865266459]]],
    'log_softmax-X2-bool_-False': [[-INF, -INF, -INF, -INF], [-INF, -INF, -INF, -INF], [-INF, -INF,
        -INF, -INF]],
    'logsumexp-X2-M2_PART-axis-1': [3.70706407135, 1.74554079284, 2.31803120562],
    'logsumexp-X2-M2_PART-axis0': [2.35244332715, -1.5631163102, 3.8051649957, -0.0352837699997],
    'logsumexp-X2-M2_PART-axisNone': 4.03633927713,
    'logsumexp-X2-M2_PART-axis(0, 1)': 4.03633927713,
    'logsumexp-X2-M2_ROW-axis-1': [4.60337249621, -INF, 4.78205952974],
    'logsumexp-X2-M2_ROW-axis0': [2.35244332715, 4.079, 5.00633539858, -1.531],
    'logsumexp-X2-M2_ROW-axisNone': 5.38984902709,
    'logsumexp-X2-M2_ROW-axis(0, 1)': 5.38984902709,
    'logsumexp-X2-M2_COL-axis-1': [3.70706407135, 1.91365338068, 4.78831568637],
    'logsumexp-X2-M2_COL-axis0': [2.39061768589, -INF, 5.04264956238, 0.593705381341],
    'logsumexp-X2-M2_COL-axisNone': 5.12164437493,
    'logsumexp-X2-M2_COL-axis(0, 1)': 5.12164437493,
    'logsumexp-X2-M2_COLV-axis-1': [4.60337249621, -INF, 4.78834831462],
    'logsumexp-X2-M2_COLV-axis0': [2.35244332715, 4.07906631906, 5.00633539858, -0.0352837699997],
    'logsumexp-X2-M2_COLV-axisNone': 5.39327850893,
    'logsumexp-X2-M2_COLV-axis(0, 1)': 5.39327850893,
    'logsumexp-X3-M3_B-axis-1': [[2.48739694508, 3.01184407821, 1.24641970175], [-1.01965134909,
        2.7957270155, 2.50001185396]],
    'logsumexp-X3-M3_B-axis1': [[2.97764956467, -INF, 1.44078591221, 2.48215497969], [-INF,
        1.47642939839, 3.16163105901, -0.0709295719671]],
    'logsumexp-X3-M3_B-axis(0, 2)': [2.51694146732, 3.60275972376, 2.75114207861],
    'logsumexp-X3-M3_B-axis(1, 2)': [3.57885908736, 3.36446036625],
    'logsumexp-X3-M3_B-axisNone': 4.17054178749,
    'logsumexp-X3-M3_FULL-axis-1': [[2.48739694508, -INF, -1.52407042777], [-1.10007840612,
        2.72586512594, 2.152]],
    'logsumexp-X3-M3_FULL-axis1': [[2.05049725579, -4.543, -1.137, 1.42179619058], [-4.477, -2.442,
        3.16163105901, -0.699]],
    'logsumexp-X3-M3_FULL-axis(0, 2)': [2.51468919475, 2.72586512594, 2.17700698788],
    'logsumexp-X3-M3_FULL-axis(1, 2)': [2.50534177549, 3.18653892316],
    'logsumexp-X3-M3_FULL-axisNone': 3.5960032636,
    'logsumexp-X3-nomask-axis(0, 2)': [2.56935806174, 3.61779102453, 2.75865266459],
    'logsumexp-X2-bool_-False': [-INF, -INF, -INF],
    'logsumexp-X3-M3_B-keepdims-axis(0, 2)': [[[2.51694146732], [3.60275972376], [2.75114207861]]],
    'logsumexp-X3-M3_B-keepdims-axisNone': [[[4.17054178749]]],
    'logsumexp-X3-M3_B-keepdims-axis1': [[[2.97764956467, -INF, 1.44078591221, 2.48215497969]], [[-INF,
        1.47642939839, 3.16163105901, -0.0709295719671]]],
    'logsumexp-b-sign-M2_PART-axis-1': ([2.04506568215, 1.81176389564, 1.81376801548], [-1.0, 1.0,
        -1.0]),
    'logsumexp-babs-M2_PART-axis-1': [2.19030310783, 1.81176389564, 1.84407771998],
    'logsumexp-b-sign-M2_PART-axis0': ([1.72641688979, -3.04290967945, 0.735945527999, -2.50459940493],
        [-1.0, 1.0, -1.0, -1.0]),
    'logsumexp-babs-M2_PART-axis0': [1.92113938933, -2.91390129484, 2.6552094329, -1.30763328755],
    'logsumexp-b-sign-M2_PART-axisNone': (2.04665310461, -1.0),
    'logsumexp-babs-M2_PART-axisNone': 3.06252247,
    'logsumexp-b-sign-M2_ROW-axis-1': ([3.98708225672, -INF, 5.2825588703], [1.0, 0.0, -1.0]),
    'logsumexp-babs-M2_ROW-axis-1': [4.25653411527, -INF, 5.2825588703],
    'logsumexp-b-sign-M2_ROW-axis0': ([1.72641688979, 4.12110117602, 5.29233001413, -1.73679491298],
        [-1.0, 1.0, -1.0, -1.0]),
    'logsumexp-babs-M2_ROW-axis0': [1.92113938933, 4.12110117602, 5.29233001413, -1.73679491298],
    'logsumexp-b-sign-M2_ROW-axisNone': (4.96267400661, -1.0),
    'logsumexp-babs-M2_ROW-axisNone': 5.58888773708,
    'logsumexp-b-sign-M2_COL-axis-1': ([2.04506568215, 1.63438676648, 5.28207938269], [-1.0, 1.0, -1.0]),
    'logsumexp-babs-M2_COL-axis-1': [2.19030310783, 1.98771991991, 5.28303812811],
    'logsumexp-b-sign-M2_COL-axis0': ([1.70076586076, -INF, 5.26132060813, 0.155282611196], [-1.0, 0.0,
        -1.0, -1.0]),
    'logsumexp-babs-M2_COL-axis0': [1.94176906325, -INF, 5.32240668785, 0.305084082861],
    'logsumexp-b-sign-M2_COL-axisNone': (5.29522248794, -1.0),
    'logsumexp-babs-M2_COL-axisNone': 5.36225026995,
    'log_sigmoid-XS': [-30.0, -5.50407844327, -1.31326168752, -0.69364730556, -0.69314718056,
        -0.69264730556, -0.313261687518, -0.00407844327057, -9.35762296884e-14],
    'sigmoid-XS': [9.35762296884e-14, 0.0040701377159, 0.26894142137, 0.499750000021, 0.5,
        0.500249999979, 0.73105857863, 0.995929862284, 1.0],
    'softmax-XINF': [[NAN, NAN, NAN], [0.26894142137, 0.0, 0.73105857863]],
    'log_softmax-XINF': [[NAN, NAN, NAN], [-1.31326168752, -INF, -0.313261687518]],
}
EXPECTED_LOSS = {
    'ce-int-YS': ([9.00012954563, 3.06967329082], [[0.999870462766, -0.999876606182, 6.14341644905e-06],
        [-0.953563676448, 0.932698491288, 0.0208651851592]]),
    'ce-prob-YS': ([9.00012954563, 3.06967329082], [[0.999870462766, -0.999876606182,
        6.14341644905e-06], [-0.953563676448, 0.932698491288, 0.0208651851592]]),
    'ce-int-YS0-unbatched': (9.00012954563, [0.999870462766, -0.999876606182, 6.14341644905e-06]),
    'ce-prob-YS0-unbatched': (9.00012954563, [0.999870462766, -0.999876606182, 6.14341644905e-06]),
    'ce-int-YS-mask': ([9.00012954563, 0.0], [[0.999870462766, -0.999876606182, 6.14341644905e-06],
        [0.0, 0.0, 0.0]]),
    'ce-prob-YS-mask': ([9.00012954563, -0.0], [[0.999870462766, -0.999876606182, 6.14341644905e-06],
        [0.0, 0.0, 0.0]]),
    'ce-int-YS-PLM2': ([9.00012340219, 0.371100665948], [[0.999876605424, -0.999876605424, 0.0],
        [-0.310025518872, 0.0, 0.310025518872]]),
    'ce-prob-YS-PLM2': ([9.00012340219, 0.371100665948], [[0.999876605424, -0.999876605424, 0.0],
        [-0.310025518872, 0.0, 0.310025518872]]),
    'ce-int-YS-PLM3-fullrow': ([0.0485873515737, 0.0], [[0.0, -0.0474258731776, 0.0474258731776], [0.0,
        0.0, 0.0]]),
    'ce-prob-YS-PLM3-fullrow': ([0.0485873515737, -0.0], [[0.0, -0.0474258731776, 0.0474258731776],
        [0.0, 0.0, 0.0]]),
    'ce-int-YS-PLM-optax-per-logit': ([9.0, 0.0], [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),
    'ce-prob-optax-test_mask': (1.08955860668, [0.0710222978557, 0.0, -0.0145623072934,
        -0.0389865681241, 0.0, -0.0709166382556, -0.0760915605524, 0.0, 0.0, 0.12953477637]),
    'ce-int-X3-axis0': ([[0.000408832744449, 2.15516683926, 0.834965727841, 0.00692605407293],
        [6.95195721872, 1.11524927346, 3.19195938923, 2.81760808389], [0.521089613866, 0.00334705643676,
        1.28924435203, 1.39635190998]], [[[-0.00040874918373, 0.884116144976, 0.566110648497,
        -0.00690212423873], [0.99904323927, -0.67216645149, -0.9589087218, 0.94025131423],
        [0.406126897066, 0.00334146128753, -0.724521130491, -0.752501785214]], [[0.00040874918373,
        -0.884116144976, -0.566110648497, 0.00690212423873], [-0.99904323927, 0.67216645149,
        0.9589087218, -0.94025131423], [-0.406126897066, -0.00334146128753, 0.724521130491,
        0.752501785214]]]),
    'ce-int-X3-axis0-posmask': ([[0.000408832744449, 0.0, 0.834965727841, 0.00692605407293],
        [6.95195721872, 1.11524927346, 0.0, 2.81760808389], [0.0, 0.00334705643676, 1.28924435203,
        1.39635190998]], [[[-0.00040874918373, 0.0, 0.566110648497, -0.00690212423873], [0.99904323927,
        -0.67216645149, 0.0, 0.94025131423], [0.0, 0.00334146128753, -0.724521130491, -0.752501785214]],
        [[0.00040874918373, 0.0, -0.566110648497, 0.00690212423873], [-0.99904323927, 0.67216645149,
        0.0, -0.94025131423], [0.0, -0.00334146128753, 0.724521130491, 0.752501785214]]]),
    'ce-prob-X3-axis0': ([[0.388139047256, 1.32281366928, 0.660549003629, 1.7332934946], [4.16183032058,
        0.563663221686, 1.54161751816, 1.01526916378], [0.547070245252, 1.99549179208, 0.788986848625,
        0.858813005147]], [[[0.0492875100462, 0.474493521958, -0.0895913222263, 0.340525414608],
        [0.597643886926, 0.0960592473617, -0.434990667492, 0.286282185018], [0.33775681447,
        -0.34628028944, -0.207191757789, -0.269103489496]], [[-0.0492875100462, -0.474493521958,
        0.0895913222263, -0.340525414608], [-0.597643886926, -0.0960592473617, 0.434990667492,
        -0.286282185018], [-0.33775681447, 0.34628028944, 0.207191757789, 0.269103489496]]]),
    'ce-prob-X3-axis0-posmask': ([[0.388139047256, -0.0, 0.660549003629, 1.7332934946], [4.16183032058,
        0.563663221686, -0.0, 1.01526916378], [-0.0, 1.99549179208, 0.788986848625, 0.858813005147]],
        [[[0.0492875100462, 0.0, -0.0895913222263, 0.340525414608], [0.597643886926, 0.0960592473617,
        0.0, 0.286282185018], [0.0, -0.34628028944, -0.207191757789, -0.269103489496]],
        [[-0.0492875100462, 0.0, 0.0895913222263, -0.340525414608], [-0.597643886926, -0.0960592473617,
        0.0, -0.286282185018], [0.0, 0.34628028944, 0.207191757789, 0.269103489496]]]),
    'ce-int-X3-axis0-classmask': ([[0.0, 0.0, 0.834965727841, 0.0], [0.0, 0.0, 3.19195938923, 0.0],
        [0.521089613866, 0.00334705643676, 1.28924435203, 0.0]], [[[0.0, 0.0, 0.566110648497, 0.0],
        [0.0, 0.0, -0.9589087218, 0.0], [0.406126897066, 0.00334146128753, -0.724521130491, 0.0]],
        [[0.0, 0.0, -0.566110648497, 0.0], [0.0, 0.0, 0.9589087218, 0.0], [-0.406126897066,
        -0.00334146128753, 0.724521130491, 0.0]]]),
    'ce-prob-X3-axis0-classmask': ([[-0.0, -0.0, 0.660549003629, -0.0], [-0.0, -0.0, 1.54161751816,
        -0.0], [0.547070245252, 1.99549179208, 0.788986848625, -0.0]], [[[0.0, 0.0, -0.0895913222263,
        0.0], [0.0, 0.0, -0.434990667492, 0.0], [0.33775681447, -0.34628028944, -0.207191757789, 0.0]],
        [[0.0, 0.0, 0.0895913222263, 0.0], [0.0, 0.0, 0.434990667492, 0.0], [-0.33775681447,
        0.34628028944, 0.207191757789, 0.0]]]),
    'ce-int-X3-axis1': ([[5.58864956467, 0.607809614126, 1.89878591221, 4.49415497969], [3.65674417039,
        1.36642939839, 1.00963105901, 0.628070428033]], [[[0.39193880359, -0.455457678464,
        0.0759419601863, 0.335157409072], [0.604321121225, 0.446726104346, -0.850249681065,
        0.653668471944], [-0.996259924814, 0.00873157411729, 0.774307720879, -0.988825881016]],
        [[-0.974183570061, 0.0198722816845, 0.0104137205465, 0.0299247186915], [0.0932245508918,
        -0.744984103968, 0.62523289978, -0.46637953266], [0.880959019169, 0.725111822284,
        -0.635646620326, 0.436454813969]]]),
    'ce-int-X3-axis1-posmask': ([[5.58864956467, 0.607809614126, 0.0, 4.49415497969], [0.0,
        1.36642939839, 1.00963105901, 0.628070428033]], [[[0.39193880359, -0.455457678464, 0.0,
        0.335157409072], [0.604321121225, 0.446726104346, 0.0, 0.653668471944], [-0.996259924814,
        0.00873157411729, 0.0, -0.988825881016]], [[0.0, 0.0198722816845, 0.0104137205465,
        0.0299247186915], [0.0, -0.744984103968, 0.62523289978, -0.46637953266], [0.0, 0.725111822284,
        -0.635646620326, 0.436454813969]]]),
    'ce-prob-X3-axis1': ([[1.01735783593, 2.47232462647, 1.49510278784, 2.14573951239], [1.1505127878,
        1.51171995472, 1.96014698101, 1.21627577123]], [[[-0.265827225527, 0.229934051025,
        -0.379712429813, 0.119072427615], [0.30710103051, 0.200675531122, 0.0394110724034,
        0.257131129754], [-0.0412738049822, -0.430609582147, 0.34030135741, -0.37620355737]],
        [[-0.00571213417094, -0.197471811709, -0.279294479265, -0.137449385649], [-0.313041159747,
        -0.135896881383, 0.478201921399, 0.228360485087], [0.318753293917, 0.333368693093,
        -0.198907442134, -0.0909110994379]]]),
    'ce-prob-X3-axis1-posmask': ([[1.01735783593, 2.47232462647, -0.0, 2.14573951239], [-0.0,
        1.51171995472, 1.96014698101, 1.21627577123]], [[[-0.265827225527, 0.229934051025, 0.0,
        0.119072427615], [0.30710103051, 0.200675531122, 0.0, 0.257131129754], [-0.0412738049822,
        -0.430609582147, 0.0, -0.37620355737]], [[0.0, -0.197471811709, -0.279294479265,
        -0.137449385649], [0.0, -0.135896881383, 0.478201921399, 0.228360485087], [0.0, 0.333368693093,
        -0.198907442134, -0.0909110994379]]]),
    'ce-int-X3-axis1-classmask': ([[0.0, 0.0159075045639, 0.410203107873, 3.43379619058],
        [1.52845670197, 0.0750385078903, 1.00963105901, 0.0]], [[[0.0, -0.0157816484491, 0.336484528767,
        0.967735773157], [0.0, 0.0, -0.336484528767, 0.0], [0.0, 0.0157816484491, 0.0,
        -0.967735773157]], [[-0.783129895613, 0.072292238428, 0.0104137205465, 0.0], [0.783129895613,
        -0.072292238428, 0.62523289978, 0.0], [0.0, 0.0, -0.635646620326, 0.0]]]),
    'ce-prob-X3-axis1-classmask': ([[-0.0, 2.4242878738, 0.956833512954, 2.21598260689],
        [0.336926335887, 0.98692648312, 1.96014698101, -0.0]], [[[0.0, 0.566938015048, -0.468567614209,
        0.609660623585], [0.0, 0.0, 0.468567614209, 0.0], [0.0, -0.566938015048, 0.0, -0.609660623585]],
        [[0.144853255541, -0.285030635878, -0.279294479265, 0.0], [-0.144853255541, 0.285030635878,
        0.478201921399, 0.0], [0.0, 0.0, -0.198907442134, 0.0]]]),
    'ce-int-X3-axis2': ([[1.1520956475, 0.564278444113, 0.0644747874557], [1.43103766064, 3.49542099092,
        4.73979075089]], [[[0.606472649347, 0.0522823914845, 0.0252710540358, -0.684026094867],
        [-0.431229601641, 0.0260880364288, 0.0303099740486, 0.374831591164], [0.0210579990754,
        0.00305042367719, -0.0624402477691, 0.0383318250165]], [[0.00865136938087, -0.760939270414,
        0.67567866699, 0.0766092340427], [0.000693734669672, 0.0681243211433, 0.900845969609,
        -0.969664025422], [-0.991259525069, 0.258259405659, 0.699918939825, 0.0330811795854]]]),
    'ce-int-X3-axis2-posmask': ([[1.1520956475, 0.0, 0.0644747874557], [1.43103766064, 3.49542099092,
        0.0]], [[[0.606472649347, 0.0522823914845, 0.0252710540358, -0.684026094867], [0.0, 0.0, 0.0,
        0.0], [0.0210579990754, 0.00305042367719, -0.0624402477691, 0.0383318250165]],
        [[0.00865136938087, -0.760939270414, 0.67567866699, 0.0766092340427], [0.000693734669672,
        0.0681243211433, 0.900845969609, -0.969664025422], [0.0, 0.0, 0.0, 0.0]]]),
    'ce-prob-X3-axis2': ([[2.00964435815, 1.57538393563, 2.61088232224], [1.41125641472, 3.86027311258,
        2.41675917778]], [[[0.26121364337, -0.0756214113746, -0.312242263938, 0.126650031942],
        [0.341085499726, -0.119900983058, -0.0889700885002, -0.132214428168], [-0.006316591141,
        -0.203888797956, 0.565100254355, -0.354894865258]], [[-0.0289312902891, -0.144655761912,
        0.306785851493, -0.133198799292], [-0.276940832718, -0.327536036069, 0.793514195813,
        -0.189037327027], [-0.23583847158, 0.00585060228653, 0.438167281899, -0.208179412606]]]),
    'ce-prob-X3-axis2-posmask': ([[2.00964435815, -0.0, 2.61088232224], [1.41125641472, 3.86027311258,
        -0.0]], [[[0.26121364337, -0.0756214113746, -0.312242263938, 0.126650031942], [0.0, 0.0, 0.0,
        0.0], [-0.006316591141, -0.203888797956, 0.565100254355, -0.354894865258]], [[-0.0289312902891,
        -0.144655761912, 0.306785851493, -0.133198799292], [-0.276940832718, -0.327536036069,
        0.793514195813, -0.189037327027], [0.0, 0.0, 0.0, 0.0]]]),
    'ce-int-X3-axis2-classmask': ([[0.0, 0.0, 0.0644747874557], [1.34192159388, 3.42486512594,
        4.39541050892]], [[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0210579990754,
        0.00305042367719, -0.0624402477691, 0.0383318250165]], [[0.0, -0.738657009328, 0.738657009328,
        0.0], [0.000744449807429, 0.0, 0.966701878854, -0.967446328661], [-0.987666183855, 0.0,
        0.987666183855, 0.0]]]),
    'ce-prob-X3-axis2-classmask': ([[-0.0, -0.0, 2.61088232224], [0.83265386129, 4.55823666431,
        2.12958358351]], [[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [-0.006316591141,
        -0.203888797956, 0.565100254355, -0.354894865258]], [[0.0, -0.248505197402, 0.248505197402,
        0.0], [-0.458657098147, 0.0, 0.789100136064, -0.330443037917], [-0.470708181253, 0.0,
        0.470708181253, 0.0]]]),
    'ce-int-X2-smooth0.1': ([0.774147496211, 2.11810647721, 2.74369831462], [[-0.0138951407503,
        -0.333073315911, 0.369801372016, -0.0228329153549], [0.0335700692103, 0.00443615856349,
        0.765941336871, -0.803947564645], [-0.846711011231, -0.0249673722797, 0.890441959366,
        -0.0187635758555]]),
    'ce-int-X2-smooth0.1-classmask': ([0.774147496211, 2.03574278727, 0.420797872289],
        [[-0.0138951407503, -0.333073315911, 0.369801372016, -0.0228329153549], [0.0, -0.00206583524264,
        0.806815583759, -0.804749748516], [-0.00747237224474, -0.0329474715032, 0.0, 0.0404198437479]]),
    'ce-prob-X2-smooth0.1': ([1.59641122725, 2.23877318092, 5.85227367941], [[-0.112944812586,
        0.176192526461, 0.00997995397812, -0.0732276678535], [-0.479247712278, -0.0317359535202,
        0.604627339994, -0.0936436741954], [-0.282825003548, -0.368474770006, 0.865887821281,
        -0.214588047726]]),
    'ce-onehot-X2-smooth0.1-classmask': ([0.774147496211, 2.03574278727, 0.420797872289],
        [[-0.0138951407503, -0.333073315911, 0.369801372016, -0.0228329153549], [0.0, -0.00206583524264,
        0.806815583759, -0.804749748516], [-0.00747237224474, -0.0329474715032, 0.0, 0.0404198437479]]),
    'ce-int-X2-smooth1.0': ([3.02212249621, 2.17728147721, 4.51084831462], [[-0.23889514075,
        0.341926684089, 0.144801372016, -0.247832915355], [-0.19142993079, -0.220563841437,
        0.540941336871, -0.128947564645], [-0.171711011231, -0.24996737228, 0.665441959366,
        -0.243763575855]]),
    'ce-int-X2-smooth1.0-classmask': ([3.02212249621, 1.89684278727, 3.51469787229], [[-0.23889514075,
        0.341926684089, 0.144801372016, -0.247832915355], [0.0, -0.302065835243, 0.506815583759,
        -0.204749748516], [0.592527627755, -0.332947471503, 0.0, -0.259580156252]]),
    'ce-prob-X2-smooth1.0': ([3.02212249621, 2.17728147721, 4.51084831462], [[-0.23889514075,
        0.341926684089, 0.144801372016, -0.247832915355], [-0.19142993079, -0.220563841437,
        0.540941336871, -0.128947564645], [-0.171711011231, -0.24996737228, 0.665441959366,
        -0.243763575855]]),
    'ce-onehot-X2-smooth1.0-classmask': ([3.02212249621, 1.89684278727, 3.51469787229],
        [[-0.23889514075, 0.341926684089, 0.144801372016, -0.247832915355], [0.0, -0.302065835243,
        0.506815583759, -0.204749748516], [0.592527627755, -0.332947471503, 0.0, -0.259580156252]]),
    'ce-int-Z4-axis(2, 3)': ([[1.54455574574, 1.27627962533, 5.70808630642], [0.347918916946,
        0.640332678183, 1.7336048616]], [[[[0.118533963727, 0.00940460566123], [0.658654773628,
        -0.786593343016]], [[-0.720926370045, 0.177589668082], [0.537794035734, 0.00554266622842]],
        [[0.388646026805, 0.380189180614], [-0.996680981945, 0.227845774526]]], [[[0.0896431117366,
        -0.293843868811], [0.0614876512542, 0.142713105821]], [[0.316215075518, 0.0275891505879],
        [-0.472882965467, 0.129078739361]], [[-0.823353525267, 0.0232231683788], [0.578911963844,
        0.221218393044]]]]),
    'ce-int-Z4-axis(-2, -1)': ([[1.54455574574, 1.27627962533, 5.70808630642], [0.347918916946,
        0.640332678183, 1.7336048616]], [[[[0.118533963727, 0.00940460566123], [0.658654773628,
        -0.786593343016]], [[-0.720926370045, 0.177589668082], [0.537794035734, 0.00554266622842]],
        [[0.388646026805, 0.380189180614], [-0.996680981945, 0.227845774526]]], [[[0.0896431117366,
        -0.293843868811], [0.0614876512542, 0.142713105821]], [[0.316215075518, 0.0275891505879],
        [-0.472882965467, 0.129078739361]], [[-0.823353525267, 0.0232231683788], [0.578911963844,
        0.221218393044]]]]),
    'ce-int-Z4-axis(2, 3)-mask': ([[0.469694825969, 1.0807638041, 5.21600715306], [0.193936266211, 0.0,
        1.7336048616]], [[[[0.347255372478, 0.027551595671], [0.0, -0.374806968149]], [[-0.660663759775,
        0.0], [0.653924221112, 0.00673953866252]], [[0.0, 0.621880608098], [-0.994571037075,
        0.372690428976]]], [[[0.104566058743, -0.176289599219], [0.0717235404759, 0.0]], [[0.0, 0.0],
        [0.0, 0.0]], [[-0.823353525267, 0.0232231683788], [0.578911963844, 0.221218393044]]]]),
    'ce-prob-Z4-axis(2, 3)': ([[1.3532214515, 2.82610071753, 2.911456664], [2.28426159478,
        1.66085154851, 1.87163864385]], [[[[-0.18441307094, -0.0702834004899], [0.110071716108,
        0.144624755322]], [[0.130500426195, -0.129200480645], [0.379700248495, -0.381000194045]],
        [[0.23928637579, 0.222846730753], [-0.37329194093, -0.0888411656128]]], [[[-0.250835155654,
        0.684930471542], [-0.191434098476, -0.242661217412]], [[-0.0135411828799, -0.064957611706],
        [0.360934251043, -0.282435456457]], [[-0.10062316632, -0.231006014051], [0.295768030182,
        0.0358611501882]]]]),
    'ce-prob-Z4-axisNone': (4.16570357002, [[[[0.000750908488149, -0.00695786885887], [0.147265038487,
        0.061453928638]], [[0.0221309647888, -0.0221971812482], [0.0645647881395, -0.0651301617239]],
        [[0.0190654160865, 0.0166052395378], [-0.0681797263504, -0.0305426047665]]],
        [[[-0.0570896078731, 0.060599885628], [-0.0428759363115, -0.0608398606788]], [[-0.0311173753492,
        -0.013936666952], [0.0156086097205, -0.0614254291745]], [[-0.00618035514924, -0.0341635591738],
        [0.0755415371312, 0.0170500169642]]]]),
    'hinge-ZH': ([3.086, 1.374, -1.11022302463e-16, 0.198, -5.55111512313e-17, 0.0], [[-1.0, 1.0], [1.0,
        -1.0], [0.0, 0.0], [-1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]),
    'perceptron-ZH': ([2.086, 0.374, 0.0, 0.0, 0.0, 0.0], [[-1.0, 1.0], [1.0, -1.0], [0.0, 0.0], [0.0,
        0.0], [0.0, 0.0], [0.0, 0.0]]),
    'hinge-optax-batched': ([8.0, 0.0], [[1.0, -1.0], [0.0, 0.0]]),
    'hinge-optax-unbatched': (8.0, [1.0, -1.0]),
    'perceptron-optax-batched': ([7.0, 0.0], [[1.0, -1.0], [0.0, 0.0]]),
    'perceptron-optax-unbatched': (7.0, [1.0, -1.0]),
    'hinge-H3-one-violator': ([0.0, 1.5], [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]]),
    'perceptron-H3': ([0.0, 0.5], [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]]),
    'hinge-H3TIE-two-violators': ([1.0], [[0.5, -1.0, 0.5]]),
}
