"""cross_entropy and multiclass_hinge: PyTorch and hand references, gradients, errors."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmaxlab as sml

from .conftest import torch_or_skip

RNG = np.random.default_rng(2024)


def _case(shape, axis, soft=False, ignore=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=shape)
    C = shape[axis]
    bshape = tuple(s for i, s in enumerate(shape) if i != axis)
    if soft:
        t = rng.random(shape)
        t /= t.sum(axis=axis, keepdims=True)
    else:
        t = rng.integers(0, C, size=bshape)
        if ignore is not None and t.size:
            t.reshape(-1)[:: 3] = ignore
    return x, t


def _ref_rows(x, t, axis, weight=None, ignore=None, eps=0.0):
    """Independent float64 reference: per-position loss (labels), loops over positions."""
    z = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    lab = t.reshape(-1)
    C = z.shape[1]
    w = np.ones(C) if weight is None else weight
    rows, wys = [], []
    for zi, y in zip(z, lab):
        if ignore is not None and y == ignore:
            rows.append(0.0)
            wys.append(0.0)
            continue
        lse = math.log(sum(math.exp(v - zi.max()) for v in zi)) + zi.max()
        nlp = lse - zi
        rows.append((1 - eps) * w[y] * nlp[y] + eps / C * float(np.sum(w * nlp)))
        wys.append(w[y])
    return np.array(rows), np.array(wys)


# --------------------------------------------------------------------------- hand reference
@pytest.mark.parametrize("shape,axis", [((6, 5), 1), ((3, 4, 2, 2), 1), ((5, 3), 0), ((4, 2, 7), 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 1])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_every_reduction_against_a_loop_reference(lib, shape, axis, weighted, ignore, eps):
    x, t = _case(shape, axis, ignore=ignore)
    w = np.linspace(0.5, 2.0, shape[axis]) if weighted else None
    rows, wys = _ref_rows(x, t, axis, w, ignore, eps)
    bshape = t.shape
    N = bshape[0] if bshape else 1
    expected = {
        "none": rows.reshape(bshape),
        "sum": rows.sum(),
        "mean": rows.sum() / wys.sum(),
        "full": rows.sum() / rows.size,
        "batch_size": rows.sum() / N,
    }
    kw = dict(axis=axis, ignore_index=ignore, label_smoothing=eps)
    wa = None if w is None else lib.asarray(w)
    for red, ref in expected.items():
        got = sml.cross_entropy(lib.asarray(x), lib.asarray(t), weight=wa, reduction=red, **kw)
        np.testing.assert_allclose(lib.numpy(got), ref, rtol=1e-12, err_msg=red)
        loss2, _ = sml.cross_entropy_with_grad(lib.asarray(x), lib.asarray(t), weight=wa,
                                               reduction=red, **kw)
        np.testing.assert_allclose(lib.numpy(loss2), ref, rtol=1e-12, err_msg=red)


def test_uniform_scores_give_ln_k():
    for K in (2, 10, 1000, 21841):
        loss = sml.cross_entropy(np.zeros((3, K)), np.array([0, 1, K - 1]))
        assert float(loss) == pytest.approx(math.log(K), rel=1e-14)
    assert float(sml.cross_entropy(np.zeros((1, 1000)), np.array([7]))) == pytest.approx(6.907755278982137)


def test_perfect_classifier_has_zero_loss():
    z = np.array([[0.0, -1e4, -1e4], [-1e4, 50.0, -1e4]])
    assert float(sml.cross_entropy(z, np.array([0, 1]))) == 0.0


# --------------------------------------------------------------------------- PyTorch
TORCH_SHAPES = [((8, 5), 1), ((3, 4, 3, 2), 1), ((5,), 0), ((2, 6, 4), 1), ((1, 1), 1)]


@pytest.mark.parametrize("shape,axis", TORCH_SHAPES)
def test_matches_torch_every_option_combination(lib, shape, axis):
    torch = torch_or_skip()
    F = torch.nn.functional
    combos = itertools.product(["none", "sum", "mean"], [0.0, 0.1, 1.0], [False, True],
                               [None, 2, -100], [False, True])
    n = 0
    for red, eps, weighted, ignore, soft in combos:
        if soft and ignore is not None:
            continue  # PyTorch does not support ignore_index with probabilities
        if ignore == 2 and shape[axis] <= 2:
            ignore = 0
        x, t = _case(shape, axis, soft=soft, ignore=ignore, seed=n)
        n += 1
        w = RNG.random(shape[axis]) + 0.1 if weighted else None
        tx = torch.tensor(x, requires_grad=True)
        tkw = dict(reduction=red, label_smoothing=eps)
        if w is not None:
            tkw["weight"] = torch.tensor(w)
        if ignore is not None:
            tkw["ignore_index"] = ignore
        ref = F.cross_entropy(tx, torch.tensor(t), **tkw)
        ref.sum().backward()
        loss, g = sml.cross_entropy_with_grad(
            lib.asarray(x), lib.asarray(t), axis=axis, weight=None if w is None else lib.asarray(w),
            ignore_index=ignore, label_smoothing=eps, reduction=red)
        where = f"red={red} eps={eps} w={weighted} ignore={ignore} soft={soft}"
        refl = ref.detach().numpy()
        if red == "mean" and not np.isfinite(refl):  # all ignored: our documented 0
            assert float(lib.numpy(loss)) == 0.0, where
            assert not lib.numpy(g).any(), where
            continue
        np.testing.assert_allclose(lib.numpy(loss), refl, rtol=1e-6, atol=1e-12, err_msg=where)
        np.testing.assert_allclose(lib.numpy(g), tx.grad.numpy(), rtol=1e-6, atol=1e-12,
                                   err_msg=where)
        assert lib.numpy(g).shape == x.shape
    assert n > 20


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch_large_batch_fast_path(fast_lib, dtype):
    """The fused kernels (NumPy / CuPy) on sizes that take their blocked paths."""
    torch = torch_or_skip()
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(1537, 1003)) * 4).astype(dtype)
    t = rng.integers(0, 1003, size=1537)
    t[::5] = -100
    w = (rng.random(1003) + 0.5).astype(dtype)
    for eps, weight in [(0.0, None), (0.1, w)]:
        tx = torch.tensor(x, requires_grad=True)
        ref = torch.nn.functional.cross_entropy(
            tx, torch.tensor(t), weight=None if weight is None else torch.tensor(weight),
            label_smoothing=eps)
        ref.backward()
        loss, g = sml.cross_entropy_with_grad(
            fast_lib.asarray(x), fast_lib.asarray(t), label_smoothing=eps, ignore_index=-100,
            weight=None if weight is None else fast_lib.asarray(weight))
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert g.dtype == x.dtype
        np.testing.assert_allclose(fast_lib.numpy(loss), ref.item(), rtol=tol)
        np.testing.assert_allclose(fast_lib.numpy(g), tx.grad.numpy(), rtol=tol, atol=tol * 1e-3)


def test_hinge_matches_torch_multi_margin_loss(lib):
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 6))
    t = rng.integers(0, 6, size=9)
    for p, margin in [(1, 1.0), (2, 1.0), (1, 0.5), (2, 3.0)]:
        tx = torch.tensor(x, requires_grad=True)
        ref = torch.nn.functional.multi_margin_loss(tx, torch.tensor(t), p=p, margin=margin,
                                                    reduction="sum") * 6  # torch divides by C
        ref.backward()
        loss, g = sml.multiclass_hinge_with_grad(lib.asarray(x), lib.asarray(t), p=p,
                                                 margin=margin, reduction="sum")
        np.testing.assert_allclose(lib.numpy(loss), ref.item(), rtol=1e-12)
        np.testing.assert_allclose(lib.numpy(g), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- gradients
def _central_diff(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 4), c=st.integers(1, 5), eps=st.sampled_from([0.0, 0.25]),
    red=st.sampled_from(["none", "sum", "mean", "full", "batch_size"]),
    weighted=st.booleans(), ignore=st.booleans(), soft=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gradient_matches_central_differences(n, c, eps, red, weighted, ignore, soft, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=2.0, size=(n, c))
    if soft:
        t = rng.random((n, c))
        t /= t.sum(axis=1, keepdims=True)
        ign = None
    else:
        t = rng.integers(0, c, size=n)
        ign = int(t[0]) if ignore else None
    w = rng.random(c) + 0.2 if weighted else None
    kw = dict(weight=w, ignore_index=ign, label_smoothing=eps, reduction=red)

    def f(z):
        return float(np.sum(sml.cross_entropy(z, t, **kw)))

    _, g = sml.cross_entropy_with_grad(x, t, **kw)
    np.testing.assert_allclose(g, _central_diff(f, x.copy()), rtol=1e-6, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(2, 5), p=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**16))
def test_hinge_gradient_matches_central_differences(n, c, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c))
    t = rng.integers(0, c, size=n)
    _, g = sml.multiclass_hinge_with_grad(x, t, p=p)
    num = _central_diff(lambda z: float(sml.multiclass_hinge(z, t, p=p)), x.copy())
    np.testing.assert_allclose(g, num, atol=1e-6)  # random scores: no kinks within h


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.floats(-1e4, 1e4), st.integers(0, 2**16))
def test_gradient_rows_sum_to_zero_and_loss_is_shift_invariant(n, c, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=5, size=(n, c))
    t = rng.integers(0, c, size=n)
    l1, g = sml.cross_entropy_with_grad(x, t)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-12)
    l2 = sml.cross_entropy(x + shift, t)
    assert float(l2) == pytest.approx(float(l1), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("big", [1e4, -1e4])
def test_extreme_logits_stay_finite(lib, dtype, big):
    x = np.array([[big, 0.0, -big], [big, big, big], [0.0, big, 1.0]])
    t = np.array([0, 1, 2])
    loss, g = sml.cross_entropy_with_grad(lib.asarray(x, dtype), lib.asarray(t))
    assert np.isfinite(lib.numpy(loss)) and np.all(np.isfinite(lib.numpy(g)))
    if big > 0:  # row 2: the correct class loses by 1e4 - 1
        rows = lib.numpy(sml.cross_entropy(lib.asarray(x, dtype), lib.asarray(t), reduction="none"))
        assert rows[2] == pytest.approx(big - 1.0, rel=1e-6)


# --------------------------------------------------------------------------- special cases
def test_all_ignored_mean_is_zero_with_zero_gradient(lib):
    x = lib.asarray(np.random.default_rng(0).normal(size=(3, 4)))
    t = lib.asarray(np.array([-100, -100, -100]))
    loss, g = sml.cross_entropy_with_grad(x, t, ignore_index=-100)
    assert float(lib.numpy(loss)) == 0.0
    assert not lib.numpy(g).any()
    # An ignored position may hold any scores, even all -inf or NaN.
    x2 = lib.asarray(np.array([[-np.inf, -np.inf], [np.nan, 0.0], [1.0, 2.0]]))
    loss, g = sml.cross_entropy_with_grad(x2, lib.asarray(np.array([-1, -1, 1])), ignore_index=-1)
    assert np.isfinite(lib.numpy(loss)) and np.all(np.isfinite(lib.numpy(g)))


def test_masked_classes_get_zero_probability_and_gradient(lib):
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]])
    t = np.array([2, 0])
    loss, g = sml.cross_entropy_with_grad(lib.asarray(x), lib.asarray(t))
    g = lib.numpy(g)
    assert g[0, 1] == 0.0 and g[1, 2] == 0.0
    ref = (math.log(1 + math.e) - 1 + math.log(math.exp(2) + 1) - 2) / 2
    assert float(lib.numpy(loss)) == pytest.approx(ref, rel=1e-14)


def test_masked_target_class_gives_infinite_loss_not_nan():
    loss, g = sml.cross_entropy_with_grad(np.array([[0.0, -np.inf]]), np.array([1]))
    assert loss == np.inf and np.all(np.isfinite(g))


def test_float16_scores_give_float32_loss_and_float16_gradient():
    x = np.random.default_rng(1).normal(size=(8, 5)).astype(np.float16)
    t = np.arange(8) % 5
    loss, g = sml.cross_entropy_with_grad(x, t)
    assert loss.dtype == np.float32 and g.dtype == np.float16
    ref = sml.cross_entropy(x.astype(np.float64), t)
    assert float(loss) == pytest.approx(float(ref), rel=1e-6)


def test_out_receives_the_gradient_and_inputs_are_untouched(lib):
    x = np.random.default_rng(0).normal(size=(5, 7))
    t = np.array([0, 1, 2, 3, 4])
    xa = lib.asarray(x.copy())
    out = lib.asarray(np.full((5, 7), np.nan))
    loss, g = sml.cross_entropy_with_grad(xa, lib.asarray(t), out=out)
    assert g is out
    _, ref = sml.cross_entropy_with_grad(x, t)
    np.testing.assert_allclose(lib.numpy(out), ref, rtol=1e-14)
    np.testing.assert_array_equal(lib.numpy(xa), x)
    # Class axis not last: out keeps the caller's layout.
    out2 = lib.asarray(np.full((7, 5), np.nan))
    sml.cross_entropy_with_grad(lib.asarray(x.T.copy()), lib.asarray(t), axis=0, out=out2)
    np.testing.assert_allclose(lib.numpy(out2), ref.T, rtol=1e-14)


def test_out_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"'out' must be an array of shape \(2, 3\) and dtype float64"):
        sml.cross_entropy_with_grad(x, np.array([0, 1]), out=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="'out' must be an array"):
        sml.cross_entropy_with_grad(x, np.array([0, 1]), out=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="must not be 'logits' itself"):
        sml.cross_entropy_with_grad(x, np.array([0, 1]), out=x)


@pytest.mark.parametrize("make_out", [
    lambda shape: np.full((shape[0], 2 * shape[1]), np.nan)[:, ::2],    # strided
    lambda shape: np.full(shape[::-1], np.nan).T,                        # Fortran order
])
@pytest.mark.parametrize("shape, axis", [((5, 7), 1), ((4, 3, 2), 1), ((5, 7), 0)])
def test_out_need_not_be_contiguous(make_out, shape, axis):
    # Any writeable array of the right shape and dtype receives the gradient.
    x = np.random.default_rng(1).normal(size=shape)
    t = np.random.default_rng(2).integers(0, shape[axis], [s for i, s in enumerate(shape)
                                                          if i != axis])
    out = make_out(shape) if len(shape) == 2 else np.full(shape[::-1], np.nan).T
    assert not out.flags.c_contiguous
    loss, g = sml.cross_entropy_with_grad(x, t, axis=axis, out=out)
    ref_loss, ref = sml.cross_entropy_with_grad(x, t, axis=axis)
    assert g is out and loss == ref_loss
    np.testing.assert_array_equal(out, ref)


def test_out_sharing_memory_with_logits_or_read_only_is_refused():
    x = np.random.default_rng(3).normal(size=(4, 3))
    t = np.array([0, 1, 2, 0])
    for out in (x[:], x[::-1], x.T.copy().T[:, :]):
        if np.shares_memory(out, x):
            with pytest.raises(ValueError, match=r"^cross_entropy_with_grad: argument 'out' "
                                                 r"shares memory with 'logits'"):
                sml.cross_entropy_with_grad(x, t, out=out)
    ro = np.zeros((4, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^cross_entropy_with_grad: argument 'out' must be a "
                                         r"writeable array; found a read-only one$"):
        sml.cross_entropy_with_grad(x, t, out=ro)


def test_out_of_another_library_is_refused():
    xp = pytest.importorskip("array_api_strict")
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"^cross_entropy_with_grad: argument 'out' must be an "
                                         r"array of the scores' library \(numpy\); found "
                                         r"array_api_strict"):
        sml.cross_entropy_with_grad(x, np.array([0, 1]), out=xp.zeros((2, 3), dtype=xp.float64))
    with pytest.raises(ValueError, match=r"library \(array_api_strict\); found numpy.ndarray"):
        sml.cross_entropy_with_grad(xp.asarray(x), xp.asarray([0, 1]), out=np.zeros((2, 3)))


def test_probability_targets_with_one_hot_equal_labels(lib):
    x, t = _case((6, 4), 1)
    onehot = np.eye(4)[t]
    a = sml.cross_entropy_with_grad(lib.asarray(x), lib.asarray(t), label_smoothing=0.2)
    b = sml.cross_entropy_with_grad(lib.asarray(x), lib.asarray(onehot), label_smoothing=0.2)
    np.testing.assert_allclose(lib.numpy(a[0]), lib.numpy(b[0]), rtol=1e-13)
    np.testing.assert_allclose(lib.numpy(a[1]), lib.numpy(b[1]), rtol=1e-12, atol=1e-15)


def test_single_class_has_zero_loss():
    loss, g = sml.cross_entropy_with_grad(np.array([[3.0], [-2.0]]), np.array([0, 0]))
    assert float(loss) == 0.0 and not g.any()


def test_empty_batch():
    x = np.zeros((0, 3))
    t = np.zeros((0,), dtype=np.int64)
    assert float(sml.cross_entropy(x, t, reduction="sum")) == 0.0
    assert sml.cross_entropy(x, t, reduction="none").shape == (0,)
    for red in ("mean", "full", "batch_size"):
        with pytest.raises(ValueError, match=rf"reduction='{red}' needs at least one position"):
            sml.cross_entropy(x, t, reduction=red)


def test_python_lists_are_accepted():
    loss = sml.cross_entropy([[1.0, 2.0], [0.0, 0.0]], [1, 0])
    ref = sml.cross_entropy(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([1, 0]))
    assert float(loss) == float(ref)


# --------------------------------------------------------------------------- bad input
X = np.zeros((4, 3))
Y = np.array([0, 1, 2, 1])


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(target=np.array([0, 1, 3, 1])), ValueError,
     r"cross_entropy(_with_grad)?: argument 'target' holds class label 3 at position \(2,\); expected labels in \[0, 2\] for 3 classes"),
    (dict(target=np.array([0, -1, 2, 1])), ValueError, r"class label -1 at position \(1,\)"),
    (dict(target=np.array([0, 1, 7, 5]), ignore_index=5), ValueError,
     r"class label 7 at position \(2,\).* or equal to ignore_index=5"),
    (dict(target=np.array([0.0, 1.0, 2.0, 1.0])), TypeError,
     r"argument 'target' has the shape of class labels \(4,\) but a floating dtype float64; class labels must be integers"),
    (dict(target=np.array([True, False, True, True])), TypeError, r"'target' must hold integer class labels.*boolean"),
    (dict(target=np.array([0, 1, 2])), ValueError,
     r"argument 'target' has shape \(3,\), but class labels for scores of shape \(4, 3\) with the class axis 1 must have shape \(4,\).*e\.g\. scores \(N, C\)"),
    (dict(target=np.eye(3)[[0, 1, 2, 1]].astype(int)), ValueError, r"one-hot rows are probabilities: pass them as floats"),
    (dict(target=np.full((4, 2), 0.5)), ValueError, r"'target' \(probabilities\) has shape \(4, 2\); expected the scores' shape \(4, 3\)"),
    (dict(target=np.array([[1.0, 0, 0]] * 3 + [[-0.5, 1.5, 0]])), ValueError,
     r"'target' \(probabilities\) must be finite and >= 0; found -0.5 at position \(3,\), class 0"),
    (dict(weight=np.array([1.0, np.nan, 1.0])), ValueError, r"'weight' must be finite; found nan for class 1"),
    (dict(target=np.array([0, 1, 0, 1]), weight=np.array([1.0, -1.0, 1.0])), ValueError,
     r"'weight' must not cancel over the kept positions with reduction='mean'.*weights of both signs"),
    (dict(weight=np.array([1.0, 1.0])), ValueError, r"'weight' must have shape \(3,\), one weight per class; found shape \(2,\)"),
    (dict(label_smoothing=1.5), ValueError, r"'label_smoothing' must be a finite number in \[0.0, 1.0\]; found 1.5"),
    (dict(label_smoothing=-0.1), ValueError, r"'label_smoothing'"),
    (dict(reduction="avg"), ValueError, r"'reduction' must be one of 'none', 'sum', 'mean', 'full', 'batch_size'; found 'avg'"),
    (dict(logits=np.zeros((4, 3), dtype=np.int64)), TypeError, r"'logits' must have a real floating dtype.*integer dtype int64"),
    (dict(logits=np.zeros((4, 3), dtype=np.complex128)), TypeError, r"'logits' must have a real floating dtype.*complex"),
    (dict(logits=np.array([[0.0, 1, 2], [np.nan, 0, 0], [0, 0, 0], [0, 0, 0]])), ValueError,
     r"'logits' has NaN at class 0 at position \(1,\); a position that is not ignored needs at least one finite logit"),
    (dict(logits=np.array([[0.0, 1, 2], [0, 0, 0], [-np.inf] * 3, [0, 0, 0]])), ValueError,
     r"'logits' has only -inf \(every class masked\) at position \(2,\)"),
    (dict(logits=np.array([[0.0, np.inf, 2], [0, 0, 0], [0, 0, 0], [0, 0, 0]])), ValueError, r"\+inf at class 1 at position \(0,\)"),
    (dict(axis=2), np.exceptions.AxisError, r"'axis'=2 is out of range"),
    (dict(logits=np.zeros((4, 0)), target=np.zeros(4, dtype=int)), ValueError, r"0 classes along axis 1"),
    (dict(ignore_index=1.5), TypeError, r"'ignore_index' must be an integer or None; found 1.5"),
    (dict(target=np.full((4, 3), 1 / 3), ignore_index=0), ValueError, r"'ignore_index' applies to class labels only"),
])
def test_bad_input_gets_a_clear_error(kwargs, exc, pattern):
    args = dict(logits=X, target=Y)
    args.update(kwargs)
    logits, target = args.pop("logits"), args.pop("target")
    for fn in (sml.cross_entropy, sml.cross_entropy_with_grad):
        with pytest.raises(exc, match=pattern):
            fn(logits, target, **args)


def test_spatial_label_position_is_reported_in_label_coordinates():
    x = np.zeros((2, 3, 2, 2))
    t = np.zeros((2, 2, 2), dtype=np.int64)
    t[1, 0, 1] = 9
    with pytest.raises(ValueError, match=r"class label 9 at position \(1, 0, 1\)"):
        sml.cross_entropy(x, t)


def test_validate_false_skips_checks():
    # With validate=False, NaN scores propagate instead of raising (documented).
    loss = sml.cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]), validate=False)
    assert np.isnan(loss)


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(p=3), ValueError, r"multiclass_hinge: argument 'p' must be 1 or 2; found 3"),
    (dict(margin=np.nan), ValueError, r"'margin' must be a finite number; found nan"),
    (dict(reduction="full"), ValueError, r"'reduction' must be one of 'none', 'sum', 'mean'"),
    (dict(scores=np.array([[0.0, np.inf, 0], [0, 0, 0]])), ValueError, r"'scores' must be finite; found inf at position \(0,\), class 1"),
    (dict(target=np.array([0, 3])), ValueError, r"class label 3 at position \(1,\)"),
    (dict(target=np.full((2, 3), 1 / 3)), TypeError, r"must hold integer class labels"),
])
def test_hinge_bad_input(kwargs, exc, pattern):
    args = dict(scores=np.zeros((2, 3)), target=np.array([0, 1]))
    args.update(kwargs)
    s, t = args.pop("scores"), args.pop("target")
    with pytest.raises(exc, match=pattern):
        sml.multiclass_hinge(s, t, **args)


# --------------------------------------------------------------------------- hinge behaviour
def test_hinge_is_satisfied_once_the_margin_is_met():
    s = np.array([[5.0, 3.9, -20.0]])  # correct class wins by 1.1 > margin 1
    loss, g = sml.multiclass_hinge_with_grad(s, np.array([0]))
    assert float(loss) == 0.0 and not g.any()
    ce, ceg = sml.cross_entropy_with_grad(s, np.array([0]))
    assert float(ce) > 0 and np.abs(ceg).sum() > 0  # softmax keeps pushing


@pytest.mark.parametrize("C", [2, 3, 10, 1000])
def test_hinge_at_initialisation_is_c_minus_one(lib, C):
    s = lib.asarray(np.zeros((4, C)))
    t = lib.asarray(np.array([0, 1, 0, 1]))
    assert float(lib.numpy(sml.multiclass_hinge(s, t))) == C - 1
    assert float(lib.numpy(sml.multiclass_hinge(s, t, p=2, margin=2.0))) == 4 * (C - 1)


def test_hinge_reductions_and_axis(lib):
    rng = np.random.default_rng(9)
    s = rng.normal(size=(3, 5, 4))
    t = rng.integers(0, 5, size=(3, 4))
    none = lib.numpy(sml.multiclass_hinge(lib.asarray(s), lib.asarray(t), reduction="none"))
    ref = np.zeros((3, 4))
    for i in range(3):
        for k in range(4):
            y = t[i, k]
            ref[i, k] = sum(max(0.0, s[i, j, k] - s[i, y, k] + 1.0) for j in range(5) if j != y)
    np.testing.assert_allclose(none, ref, rtol=1e-14)
    total = lib.numpy(sml.multiclass_hinge(lib.asarray(s), lib.asarray(t), reduction="sum"))
    assert float(total) == pytest.approx(ref.sum())
    moved = np.moveaxis(s, 1, -1)
    m = lib.numpy(sml.multiclass_hinge(lib.asarray(moved), lib.asarray(t), axis=-1))
    assert float(m) == pytest.approx(ref.mean())


# --------------------------------------------------------------------------- NumPy fast path
@st.composite
def _fast_case(draw):
    N = draw(st.integers(1, 12))
    C = draw(st.integers(1, 9))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.normal(size=(N, C)) * draw(st.sampled_from([1.0, 30.0, 500.0]))).astype(dtype)
    if draw(st.booleans()):  # masked classes, some rows entirely
        x[rng.random((N, C)) < 0.3] = -np.inf
    y = rng.integers(0, C, N).astype(draw(st.sampled_from([np.int64, np.int32, np.uint8])))
    return x, y


@settings(max_examples=200, deadline=None)
@given(case=_fast_case(), eps=st.sampled_from([0.0, 0.1, 1.0]),
       reduction=st.sampled_from(["none", "sum", "mean", "full", "batch_size"]),
       validate=st.booleans(), use_out=st.booleans(), axis=st.sampled_from([1, -1]))
def test_numpy_fast_path_is_bit_for_bit_the_general_path(case, eps, reduction, validate,
                                                         use_out, axis, monkeypatch_module):
    # The common (N, C) NumPy call skips the general machinery; it must not
    # change a single bit of any result, nor which calls raise and how.
    from softmaxlab import losses

    x, y = case

    def run():
        out = np.full_like(x, np.nan) if use_out else None
        try:
            loss, grad = sml.cross_entropy_with_grad(x, y, axis=axis, label_smoothing=eps,
                                                     reduction=reduction, validate=validate,
                                                     out=out)
            loss_only = sml.cross_entropy(x, y, axis=axis, label_smoothing=eps,
                                          reduction=reduction, validate=validate)
        except ValueError as e:
            return ("raised", str(e))
        assert out is None or grad is out
        return (np.asarray(loss), np.asarray(loss_only), grad, type(loss), np.asarray(loss).dtype)

    fast = run()
    with monkeypatch_module.context() as m:
        m.setattr(losses, "_ce_numpy_2d", lambda *a, **k: None)
        general = run()
    assert len(fast) == len(general)
    for a, b in zip(fast, general):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype and a.shape == b.shape
        else:
            assert a == b


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as m:
        yield m


def test_numpy_fast_path_is_taken_and_defers_errors(monkeypatch):
    # It does run for the common call (else the test above proves nothing) ...
    from softmaxlab import losses

    calls = []
    real = losses._ce_numpy_2d

    def spy(*a, **k):
        r = real(*a, **k)
        calls.append(r is not None)
        return r

    monkeypatch.setattr(losses, "_ce_numpy_2d", spy)
    x = np.random.default_rng(0).normal(size=(4, 3))
    sml.cross_entropy_with_grad(x, np.array([0, 1, 2, 0]))
    assert calls == [True]
    # ... and hands every invalid call to the general path, which reports it.
    with pytest.raises(ValueError, match="holds class label 3 at position"):
        sml.cross_entropy_with_grad(x, np.array([0, 1, 3, 0]))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"has NaN at class 1 at position \(2,\)"):
        sml.cross_entropy(x, np.array([0, 1, 2, 0]))
    assert calls == [True, False, False]


# --------------------------------------------------------------------------- #
# The reductions table (softmaxlab._reductions)
# --------------------------------------------------------------------------- #
from softmaxlab import _reductions as R  # noqa: E402


def test_reductions_are_the_table_names():
    assert sml.REDUCTIONS == tuple(r.name for r in R.TABLE if "ce" in r.losses)
    assert R.names_for("hinge") == ("none", "sum", "mean")
    assert [r.name for r in R.TABLE if r.per_position] == ["none"]


@pytest.mark.parametrize("entry", R.TABLE, ids=lambda r: r.name)
@pytest.mark.parametrize("ignore", [None, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_table_entry_divides_the_summed_loss_by_its_divisor(entry, ignore, weighted):
    """The reduced loss is the summed one over the entry's divisor, computed by hand."""
    x, t = _case((3, 4, 5), 1, ignore=ignore, seed=7)
    w = np.array([0.5, 1.0, 2.0, 3.0]) if weighted else None
    kw = dict(weight=w, ignore_index=ignore)
    total = float(sml.cross_entropy(x, t, reduction="sum", **kw))
    loss = sml.cross_entropy(x, t, reduction=entry.name, **kw)
    if entry.per_position:
        assert loss.shape == t.shape
        np.testing.assert_allclose(float(loss.sum()), total, rtol=1e-12)
        return
    keep = np.ones(t.shape, bool) if ignore is None else t != ignore
    wy = (np.ones(4) if w is None else w)[np.where(keep, t, 0)] * keep
    by_hand = {"sum": 1.0, "mean": wy.sum(), "full": t.size, "batch_size": t.shape[0]}
    np.testing.assert_allclose(float(loss), total / by_hand[entry.name], rtol=1e-12)


@pytest.mark.parametrize("entry", R.TABLE, ids=lambda r: r.name)
def test_hinge_accepts_exactly_its_table_entries(entry):
    x, t = _case((4, 3), 1)
    if "hinge" in entry.losses:
        sml.multiclass_hinge(x, t, reduction=entry.name)
    else:
        with pytest.raises(ValueError, match="multiclass_hinge: argument 'reduction' must be one"):
            sml.multiclass_hinge(x, t, reduction=entry.name)


@pytest.mark.parametrize("bad", ["avg", "MEAN", None, 1, ("mean",)])
def test_unknown_reduction_names_the_valid_ones(bad):
    x, t = _case((4, 3), 1)
    with pytest.raises(ValueError, match=r"cross_entropy: argument 'reduction' must be one of "
                                         r"'none', 'sum', 'mean', 'full', 'batch_size'; found"):
        sml.cross_entropy(x, t, reduction=bad)


def test_caffe_names_round_trip():
    for r in R.TABLE:
        if r.caffe is not None:
            assert R.reduction_for_caffe(r.caffe) == r.name
            assert R.reduction_for_caffe(r.caffe.lower()) == r.name
        assert R.caffe_name(r.name) == r.caffe
    assert R.reduction_for_caffe("NONE") == "sum"  # Caffe's NONE sums: no normaliser
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss: argument 'normalization' must be "
                                         r"one of 'NONE', 'VALID', 'FULL', 'BATCH_SIZE'; found 'X'"):
        R.reduction_for_caffe("X")
    with pytest.raises(ValueError, match="found None"):
        R.reduction_for_caffe(None)


def test_table_rst_lists_every_entry_of_the_loss():
    text = R.table_rst("ce")
    for r in R.TABLE:
        assert f'``"{r.name}"``' in text
    assert '"full"' not in R.table_rst("hinge")
    lines = text.splitlines()
    assert lines[0] == lines[2] == lines[-1] and set(lines[0]) == {"=", " "}


@pytest.mark.parametrize("obj", [sml.losses, sml.cross_entropy, sml.cross_entropy_with_grad,
                                 sml.multiclass_hinge, sml.multiclass_hinge_with_grad])
def test_docstrings_are_filled_and_carry_the_generated_table(obj):
    doc = obj.__doc__
    assert "%(" not in doc
    if obj in (sml.losses, sml.cross_entropy, sml.cross_entropy_with_grad):
        for line in R.table_rst("ce").splitlines():
            assert line.strip() in doc
    assert "Parameters" in doc or obj is sml.losses


def test_docformat_indents_sections_and_refuses_unknown_names():
    from softmaxlab import _docs

    doc = "Head.\n\n    %(a)s\n    tail %(b)s stays\n"
    out = _docs.docformat(doc, {"a": "x : int\n    The x.\n\n%(c)s", "c": "nested", "b": "no"})
    assert out == "Head.\n\n    x : int\n        The x.\n\n    nested\n    tail %(b)s stays\n"
    with pytest.raises(KeyError):
        _docs.docformat("    %(missing)s\n", {})
    assert _docs.docformat(None, {}) is None


# --------------------------------------------------------------------------- #
# PyTorch / JAX conventions and every kind of array (issue 10)
# --------------------------------------------------------------------------- #
CE_FNS = [sml.cross_entropy, lambda *a, **k: sml.cross_entropy_with_grad(*a, **k)[0]]
HINGE_FNS = [sml.multiclass_hinge, lambda *a, **k: sml.multiclass_hinge_with_grad(*a, **k)[0]]


@pytest.mark.parametrize("fn", CE_FNS)
@pytest.mark.parametrize("shape,axis", [((8, 5), 1), ((3, 4, 2, 2), 1), ((6, 3), 0)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "full"])
def test_ignore_index_defaults_to_minus_100(fn, shape, axis, reduction):
    x, t = _case(shape, axis, ignore=-100, seed=3)
    np.testing.assert_allclose(fn(x, t, axis=axis, reduction=reduction),
                               fn(x, t, axis=axis, reduction=reduction, ignore_index=-100))
    with pytest.raises(ValueError, match="class label -100"):
        fn(x, t, axis=axis, reduction=reduction, ignore_index=None)


@pytest.mark.torch
@pytest.mark.parametrize("validate", [True, False])
def test_padding_labels_match_torch_default(validate):
    torch = torch_or_skip()
    rng = np.random.default_rng(11)
    for n, c in [(16, 7), (300, 50), (5, 1)]:
        for dtype in ("float32", "float64"):
            x = rng.normal(size=(n, c)).astype(dtype)
            t = rng.integers(0, c, n)
            t[::4] = -100
            ref = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
            got = sml.cross_entropy(x, t, validate=validate)
            np.testing.assert_allclose(float(got), float(ref), rtol=1e-5)


def test_probability_targets_accept_the_default_ignore_index():
    x, t = _case((4, 3), 1, soft=True)
    sml.cross_entropy(x, t)
    with pytest.raises(ValueError, match="applies to class labels only"):
        sml.cross_entropy(x, t, ignore_index=2)


@pytest.mark.torch
@pytest.mark.parametrize("c", [1, 2, 5, 1000])
def test_unbatched_scores_with_a_0d_label_match_torch(c):
    torch = torch_or_skip()
    rng = np.random.default_rng(c)
    for _ in range(5):
        x = rng.normal(scale=3.0, size=c)
        y = np.asarray(rng.integers(0, c))
        for reduction in ("none", "sum", "mean"):
            ref = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.tensor(int(y)),
                                                    reduction=reduction)
            got = sml.cross_entropy(x, y, reduction=reduction)
            assert np.shape(got) == ()
            # atol: ours is the more accurate one on confident rows (see test_references)
            np.testing.assert_allclose(float(got), float(ref), rtol=1e-12, atol=1e-15)
        loss, g = sml.cross_entropy_with_grad(x, y)
        xt = torch.from_numpy(x).requires_grad_(True)
        torch.nn.functional.cross_entropy(xt, torch.tensor(int(y))).backward()
        np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-10, atol=1e-15)
        hinge = sml.multiclass_hinge(x, y)
        ref = torch.nn.functional.multi_margin_loss(torch.from_numpy(x)[None],
                                                    torch.tensor([int(y)])) * c
        np.testing.assert_allclose(float(hinge), float(ref), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("seed", range(4))
def test_hinge_class_weights_match_torch_multi_margin_loss(p, reduction, seed):
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 20), rng.integers(2, 9)
    x = rng.normal(scale=2.0, size=(n, c))
    y = rng.integers(0, c, n)
    w = rng.uniform(0.0, 3.0, c)
    margin = float(rng.uniform(0.0, 2.0))
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = torch.nn.functional.multi_margin_loss(xt, torch.from_numpy(y), p=p, margin=margin,
                                                weight=torch.from_numpy(w), reduction=reduction)
    ref.sum().backward()
    loss, g = sml.multiclass_hinge_with_grad(x, y, p=p, margin=margin, weight=w,
                                             reduction=reduction)
    np.testing.assert_allclose(loss, ref.detach().numpy() * c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, xt.grad.numpy() * c, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="argument 'weight' must be finite; found inf for class 0"):
        sml.multiclass_hinge(x, y, weight=np.r_[np.inf, w[1:]])


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("seed", range(6))
def test_weights_of_any_sign_match_torch(reduction, eps, seed):
    """PyTorch takes any finite class weights (its OpInfo samples draw them from
    [-9, 9]); so does softmaxlab, on the fused kernel and the reference path, and
    for the hinge and its margin of any sign."""
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 12)), int(rng.integers(2, 7))
    x = rng.normal(scale=3.0, size=(n, c))
    x[rng.random((n, c)) < 0.1] = -np.inf if seed % 2 else 0.0
    x[:, 0] = np.where(np.isinf(x[:, 0]), 0.0, x[:, 0])  # a finite logit in every row
    y = rng.integers(0, c, n)
    w = rng.uniform(-9.0, 9.0, c)
    w[c - 1] = 0.0
    x[:, c - 1] = np.where(np.isinf(x[:, c - 1]), 1.0, x[:, c - 1])  # 0 * -inf: PyTorch's NaN, our 0
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = F.cross_entropy(xt, torch.from_numpy(y), weight=torch.from_numpy(w), label_smoothing=eps,
                          reduction=reduction)
    ref.sum().backward()
    want, want_g = ref.detach().numpy(), xt.grad.numpy()
    for where in (None, np.ones((n, c), bool)):  # the fused kernel, and the reference path
        kw = dict(weight=w, label_smoothing=eps, reduction=reduction, where=where)
        loss, g = sml.cross_entropy_with_grad(x, y, **kw)
        np.testing.assert_allclose(loss, want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-12)
    if eps == 0.0:
        margin = float(rng.uniform(-2.0, 2.0))
        xf = np.where(np.isinf(x), -50.0, x)
        xt = torch.from_numpy(xf).requires_grad_(True)
        ref = F.multi_margin_loss(xt, torch.from_numpy(y), margin=margin, weight=torch.from_numpy(w),
                                  reduction=reduction)
        ref.sum().backward()
        loss, g = sml.multiclass_hinge_with_grad(xf, y, margin=margin, weight=w, reduction=reduction)
        np.testing.assert_allclose(loss, ref.detach().numpy() * c, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g, xt.grad.numpy() * c, rtol=1e-10, atol=1e-12)


REDUCED = [(f, r) for f in CE_FNS + HINGE_FNS for r in ("sum", "mean")]


@pytest.mark.parametrize("fn,reduction", REDUCED)
def test_reduced_losses_are_0d_arrays_of_the_input_library(fn, reduction):
    import array_api_strict as xps

    x, t = _case((6, 4), 1)
    got = fn(x, t, reduction=reduction)
    assert type(got) is np.ndarray and got.shape == ()
    got = fn(xps.asarray(x), xps.asarray(t), reduction=reduction)
    assert type(got).__module__.startswith("array_api_strict") and got.shape == ()
    got = fn(x.tolist(), t.tolist(), reduction=reduction)
    assert type(got) is np.ndarray and got.shape == ()


@pytest.mark.parametrize("fn", CE_FNS + HINGE_FNS)
@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_results_stay_on_the_input_device(fn, reduction, weighted):
    import array_api_strict as xps

    dev = xps.Device("device1")
    x, t = _case((5, 4), 1, seed=2)
    w = xps.asarray(np.linspace(0.5, 2.0, 4), device=dev) if weighted else None
    got = fn(xps.asarray(x, device=dev), xps.asarray(t, device=dev), weight=w,
             reduction=reduction)
    assert got.device == dev
    ref = fn(x, t, weight=None if w is None else np.linspace(0.5, 2.0, 4), reduction=reduction)
    np.testing.assert_allclose(sml.to_numpy(got), ref, rtol=1e-12)


@pytest.mark.parametrize("fn", CE_FNS + HINGE_FNS)
@pytest.mark.parametrize("order", [">", "<"])
@pytest.mark.parametrize("dtype", ["f2", "f4", "f8"])
def test_any_byte_order_computes_as_native(fn, order, dtype):
    x, t = _case((7, 5), 1, seed=4)
    xs = (x * (0.5 if dtype == "f2" else 1)).astype(order + dtype)
    ref = fn(xs.astype("=" + dtype), t, reduction="none")
    got = fn(xs, t.astype(order + "i8"), reduction="none")
    np.testing.assert_array_equal(got, ref)
    assert got.dtype.isnative


def test_big_endian_float16_is_computed_in_float32():
    x = np.zeros((1, 70_000), dtype=">f2")
    loss = sml.cross_entropy(x, np.array([0]), reduction="sum")
    np.testing.assert_allclose(float(loss), math.log(70_000), rtol=1e-6)


@pytest.mark.parametrize("fn", CE_FNS)
def test_longdouble_scores_work(fn):
    x, t = _case((4, 3), 1, seed=5)
    got = fn(x.astype(np.longdouble), t, reduction="none")
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), fn(x, t, reduction="none"),
                               rtol=1e-15)


@pytest.mark.parametrize("fn", CE_FNS + HINGE_FNS)
@pytest.mark.parametrize("arg", ["scores", "target", "weight"])
def test_masked_arrays_are_refused(fn, arg):
    x, t = _case((4, 3), 1)
    w = np.ones(3)
    args = {"scores": x, "target": t, "weight": w}
    args[arg] = np.ma.masked_array(args[arg], mask=np.zeros(np.shape(args[arg]), bool))
    with pytest.raises(TypeError, match=r"argument '\w+' must be a plain array, not a numpy.ma "
                                        r"masked array.*filled"):
        fn(args["scores"], args["target"], weight=args["weight"])


@pytest.mark.parametrize("fn", CE_FNS + HINGE_FNS)
def test_index_arrays_are_converted_to_intp(fn, monkeypatch):
    """On a 32-bit NumPy, take() refuses int64 indices: every index passes through intp."""
    from softmaxlab import losses

    seen = []
    real = losses.as_indices

    def spy(i, xp):
        out = real(i, xp)
        seen.append((i.dtype, out.dtype))
        return out

    monkeypatch.setattr(losses, "as_indices", spy)
    x, t = _case((6, 4), 1, ignore=-100 if fn in CE_FNS else None)
    fn(x, t.astype(np.int32), weight=np.linspace(1, 2, 4))
    assert seen and all(o == np.intp for _, o in seen)  # int32 labels went in (widened to int64)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("tshape", [(), (1,)])
def test_unbatched_scores_take_a_0d_or_1_element_label_as_pytorch(reduction, tshape):
    """(C,) scores with a (1,) label: F.cross_entropy gives a 0-d loss and
    F.multi_margin_loss a (1,) one (its common_nn "1d" cases); both match.  (The
    gradient is compared with the batched (1, C) call's: PyTorch's own backward
    of multi_margin_loss refuses this case.)"""
    torch = torch_or_skip()
    F = torch.nn.functional
    x = np.random.default_rng(1).normal(size=7)
    y = np.full(tshape, 4)
    for ours, theirs, scale in [(sml.cross_entropy_with_grad, F.cross_entropy, 1),
                                (sml.multiclass_hinge_with_grad, F.multi_margin_loss, 7)]:
        ref = theirs(torch.from_numpy(x), torch.from_numpy(y), reduction=reduction)
        xt = torch.from_numpy(x[None]).requires_grad_(True)
        theirs(xt, torch.from_numpy(y.reshape(1)), reduction=reduction).sum().backward()
        loss, g = ours(x, y, reduction=reduction)
        assert loss.shape == tuple(ref.shape) and g.shape == x.shape
        np.testing.assert_allclose(loss, ref.numpy() * scale, rtol=1e-12)
        np.testing.assert_allclose(g, xt.grad.numpy()[0] * scale, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("axis", [(2, 3), (3, 2), (1, 3), None, [3, 1]])
@pytest.mark.parametrize("soft", [False, True])
def test_tuple_or_none_class_axes_flatten_in_the_order_given(axis, soft):
    """optax's axis: several class axes are one flattened class axis, in the given
    order (a label is a flat index into it); None makes every axis a class axis."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 3, 4, 5))
    axes = tuple(range(4)) if axis is None else tuple(axis)
    batch = [i for i in range(4) if i not in axes]
    z2 = np.transpose(z, batch + list(axes)).reshape(math.prod(z.shape[i] for i in batch) or 1, -1)
    C = z2.shape[1]
    if soft:
        t2 = rng.random(z2.shape)
        t2 /= t2.sum(axis=1, keepdims=True)
        t = np.transpose(t2.reshape([z.shape[i] for i in batch + list(axes)]),
                         np.argsort(batch + list(axes)))
    else:
        t2 = rng.integers(0, C, z2.shape[0])
        t = t2.reshape([z.shape[i] for i in batch])
    loss, g = sml.cross_entropy_with_grad(z, t, axis=axis, reduction="none")
    want, want_g = sml.cross_entropy_with_grad(z2, t2, reduction="none")
    np.testing.assert_allclose(np.reshape(loss, -1), want, rtol=1e-13)
    back = np.transpose(want_g.reshape([z.shape[i] for i in batch + list(axes)]),
                        np.argsort(batch + list(axes)))
    np.testing.assert_allclose(g, back, rtol=1e-13, atol=1e-16)
    # where= with these axes: all classes included is no mask; a mask of positions
    # (the batch shape) drops the excluded positions.
    full = sml.cross_entropy(z, t, axis=axis, where=np.ones(z.shape, bool), reduction="none")
    np.testing.assert_allclose(full, loss, rtol=1e-13)
    if batch:
        keep = np.arange(z2.shape[0]).reshape([z.shape[i] for i in batch]) % 2 == 0
        got = sml.cross_entropy(z, t, axis=axis, where=keep, reduction="sum")
        np.testing.assert_allclose(got, want[keep.reshape(-1)].sum(), rtol=1e-13)


@pytest.mark.parametrize("axis, exc, pattern", [
    ((), ValueError, r"argument 'axis' must be an integer, a non-empty tuple of integers or None"),
    ((1, -3), ValueError, r"argument 'axis'=\(1, -3\) names axis 1 twice"),
    ((1, 4), np.exceptions.AxisError, r"argument 'axis'=4 is out of range"),
    ((1, 2.0), TypeError, r"argument 'axis' must be an integer; found 2.0"),
])
def test_bad_tuple_class_axes(axis, exc, pattern):
    with pytest.raises(exc, match=pattern):
        sml.cross_entropy(np.zeros((2, 3, 4, 5)), np.zeros((2, 4), int), axis=axis)


@pytest.mark.parametrize("case", [
    dict(z=[[0.0, -np.inf, 1.0]], y=[1], weight=[1.0, 0.0, 2.0]),
    dict(z=[[0.0, -np.inf]], y=[1], label_smoothing=1.0),
    dict(z=[[0.0, -np.inf, 2.0], [1.0, 1.0, -np.inf]], y=[1, 2], weight=[1.0, 0.0, 0.0],
         label_smoothing=0.3),
])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_a_label_term_of_weight_0_at_minus_inf_counts_0_on_every_path(case, reduction):
    """The fused kernel, the reference path (where=) and other libraries agree: a
    label term whose coefficient is 0 adds 0 even at a -inf logit (0 * inf)."""
    import array_api_strict as xps

    kw = {k: np.asarray(v) if k == "weight" else v for k, v in case.items() if k not in "zy"}
    z, y = np.asarray(case["z"]), np.asarray(case["y"])
    want, want_g = sml.cross_entropy_with_grad(z, y, reduction=reduction, **kw)
    got, g = sml.cross_entropy_with_grad(z, y, reduction=reduction, where=np.ones(z.shape, bool), **kw)
    kx = {k: xps.asarray(v) if k == "weight" else v for k, v in kw.items()}
    got_x, g_x = sml.cross_entropy_with_grad(xps.asarray(z), xps.asarray(y), reduction=reduction, **kx)
    for a, ga in ((got, g), (sml.to_numpy(got_x), sml.to_numpy(g_x))):
        np.testing.assert_allclose(a, want, rtol=1e-14, atol=0)
        np.testing.assert_allclose(ga, want_g, rtol=1e-14, atol=1e-300)


@pytest.mark.torch
def test_torch_bfloat16_is_computed_in_float32_like_float16():
    torch = torch_or_skip()
    z = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]])
    y = torch.tensor([2, 0])
    loss, g = sml.cross_entropy_with_grad(z.bfloat16(), y)
    ref = torch.nn.functional.cross_entropy(z.bfloat16().float(), y)
    assert loss.dtype == torch.float32 and g.dtype == torch.bfloat16
    assert float(loss) == pytest.approx(float(ref), rel=1e-6)


@pytest.mark.parametrize("axis", [1, np.int64(1), np.int32(1), 0, -1])
def test_unbatched_scores_take_the_default_class_axis_as_any_integer(axis):
    x = np.array([0.5, 1.0, -2.0, 0.0])
    assert float(sml.cross_entropy(x, np.array(1), axis=axis)) == pytest.approx(
        float(sml.cross_entropy(x[None], np.array([1]))), rel=1e-15)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint16", "uint32", "uint64", "int32"])
def test_labels_of_any_integer_dtype_on_torch_and_on_another_device(dtype):
    import array_api_strict as xps

    z = np.random.default_rng(0).normal(size=(3, 4))
    want = sml.cross_entropy(z, np.array([0, 1, 3]))
    d1 = xps.Device("device1")
    if dtype in ("uint8", "int8", "int16", "int32", "uint16", "uint32", "uint64"):
        got = sml.cross_entropy(xps.asarray(z, device=d1),
                                xps.asarray(np.array([0, 1, 3], dtype=dtype), device=d1))
        assert float(got) == pytest.approx(float(want), rel=1e-15)
    torch = pytest.importorskip("torch")
    tdt = getattr(torch, dtype)
    got = sml.cross_entropy(torch.from_numpy(z), torch.tensor([0, 1, 3]).to(tdt))
    assert float(got) == pytest.approx(float(want), rel=1e-15)


def test_weights_of_both_signs_on_minus_inf_logits_with_smoothing_name_the_weights():
    z = np.array([[-1.76, -np.inf, -0.24, -np.inf, 0.93]])
    w = np.array([0.0, -0.063, 0.49, 0.04, 0.176])
    with pytest.raises(ValueError, match=r"cross_entropy: argument 'weight' must not give -inf logits of "
                                         r"position \(0,\) weights of both signs .*classes 1, 3"):
        sml.cross_entropy(z, np.array([2]), weight=w, label_smoothing=0.25)
    assert sml.cross_entropy(z, np.array([2]), weight=np.abs(w), label_smoothing=0.25) == np.inf
