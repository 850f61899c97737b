"""where= for the cross-entropy, with JAX's and optax's semantics.

optax (``optax/losses/_classification.py``, ``softmax_cross_entropy`` and
``softmax_cross_entropy_with_integer_labels``, v0.2.4+) is not installed here;
the tests check its coded behaviour, and PyTorch row by row:

* a mask of the scores' shape (or one that broadcasts to it) excludes
  classes from the normaliser, ``logsumexp(z, where=where) - z_y``; the
  excluded entries may hold anything (NaN included);
* a mask of the labels' shape (one dimension fewer) is given the class axis,
  so it excludes whole positions; a position with no included class has
  loss 0 (optax: ``jnp.where(jnp.any(where, axis), out, 0.0)``);
* softmaxlab adds what optax leaves to the caller: ``"mean"`` divides by the
  included positions (their class weights), as for ignored labels, and label
  smoothing spreads over the included classes;
* deliberate difference: a target on an excluded class is an error here
  (optax computes ``logsumexp`` of the included entries minus the excluded
  label's score, a number that is not a loss: it can be negative).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmaxlab as sml
from tests.conftest import torch_or_skip


def _torch_rows(z, y, mask, weight, eps):
    """Per-position losses and the gradient of their sum, each position computed
    by PyTorch on its included classes alone (label re-indexed)."""
    torch = torch_or_skip()
    M, C = z.shape
    rows, grad = np.zeros(M), np.zeros((M, C))
    for i in range(M):
        keep = np.flatnonzero(mask[i])
        if keep.size == 0 or y[i] == -100:
            continue
        zi = torch.tensor(z[i, keep][None], dtype=torch.float64, requires_grad=True)
        yi = torch.tensor([int(np.flatnonzero(keep == y[i])[0])])
        wi = None if weight is None else torch.tensor(weight[keep], dtype=torch.float64)
        li = torch.nn.functional.cross_entropy(zi, yi, weight=wi, label_smoothing=eps,
                                               reduction="sum")
        li.backward()
        rows[i] = li.item()
        grad[i, keep] = zi.grad.numpy()[0]
    return rows, grad


def _divisor(y, mask, weight):
    ok = mask.any(axis=1) & (y != -100)
    if weight is None:
        return ok.sum()
    return weight[np.where(ok, y, 0)][ok].sum()


@st.composite
def masked_problem(draw):
    M, C = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    z = draw(hnp.arrays(np.float64, (M, C), elements=st.floats(-30, 30)))
    mask = draw(hnp.arrays(np.bool_, (M, C)))
    # a label on an included class where the position has one, else anything
    y = np.array([draw(st.sampled_from(np.flatnonzero(mask[i]).tolist()))
                  if mask[i].any() else draw(st.integers(0, C - 1)) for i in range(M)])
    if draw(st.booleans()):
        y[draw(st.integers(0, M - 1))] = -100
    weight = draw(st.none() | hnp.arrays(np.float64, (C,), elements=st.floats(0.1, 3)))
    eps = draw(st.sampled_from([0.0, 0.1, 0.5]))
    return z, y, mask, weight, eps


@settings(max_examples=60, deadline=None)
@given(masked_problem())
def test_matches_pytorch_on_the_included_classes(problem):
    z, y, mask, weight, eps = problem
    # excluded entries hold garbage: it must not matter
    z = np.where(mask, z, np.nan)
    ref_rows, ref_grad = _torch_rows(z, y, mask, weight, eps)
    rows = sml.cross_entropy(z, y, where=mask, weight=weight, label_smoothing=eps,
                             reduction="none")
    np.testing.assert_allclose(rows, ref_rows, rtol=1e-12, atol=1e-13)
    loss, g = sml.cross_entropy_with_grad(z, y, where=mask, weight=weight,
                                          label_smoothing=eps)
    d = _divisor(y, mask, weight)
    np.testing.assert_allclose(float(loss), ref_rows.sum() / d if d else 0.0,
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g, ref_grad / d if d else 0 * ref_grad, rtol=1e-11, atol=1e-13)
    assert not np.isnan(g).any()
    assert (g[~mask] == 0).all()


def test_optax_integer_labels_formula():
    """optax: ``logsumexp(z, where) - z_y`` and 0 for a position with no included class."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 5)) * 4
    mask = rng.random((6, 5)) < 0.6
    mask[2] = False
    y = np.array([np.flatnonzero(r)[0] if r.any() else 0 for r in mask])
    lse = sml.logsumexp(z, axis=1, where=mask)
    expected = np.where(mask.any(axis=1), lse - z[np.arange(6), y], 0.0)
    got = sml.cross_entropy(z, y, where=mask, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_optax_soft_labels_formula():
    """optax: ``-sum(labels * log_softmax(z, where), where=where)``."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(5, 4)) * 3
    mask = rng.random((5, 4)) < 0.7
    mask[0] = [True, False, False, False]
    mask[3] = False
    q = rng.random((5, 4)) * mask
    q = np.where(q.sum(axis=1, keepdims=True) > 0, q / np.maximum(q.sum(1, keepdims=True), 1e-300),
                 0.0)
    lp = sml.log_softmax(z, where=mask)
    with np.errstate(invalid="ignore"):  # 0 * -inf at the excluded entries, dropped by where
        expected = -np.sum(np.where(mask, q * lp, 0.0), axis=1)
    got = sml.cross_entropy(z, q, where=mask, reduction="none")
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    # "mean" over the positions with an included class (4 of 5)
    np.testing.assert_allclose(float(sml.cross_entropy(z, q, where=mask)), expected.sum() / 4,
                               rtol=1e-13)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_a_mask_of_positions_is_optax_batch_mask(eps):
    """A (N,) mask for (N, C) scores excludes positions (optax expands it on the class axis),
    even when N == C, where NumPy broadcasting would read it as a mask of classes."""
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(4, 4)), np.array([0, 3, 1, 2])
    keep = np.array([True, False, True, True])
    rows = sml.cross_entropy(z, y, where=keep, label_smoothing=eps, reduction="none")
    full = sml.cross_entropy(z, y, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(rows, np.where(keep, full, 0.0), rtol=1e-14)
    np.testing.assert_allclose(float(sml.cross_entropy(z, y, where=keep, label_smoothing=eps)),
                               full[keep].mean(), rtol=1e-14)
    # the same as ignoring those labels
    y_ign = np.where(keep, y, -100)
    _, g1 = sml.cross_entropy_with_grad(z, y, where=keep, label_smoothing=eps)
    _, g2 = sml.cross_entropy_with_grad(z, y_ign, label_smoothing=eps)
    np.testing.assert_allclose(g1, g2, rtol=1e-14, atol=1e-16)


def test_all_true_is_no_mask_and_broadcast_masks():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(7, 5)), rng.integers(0, 5, 7)
    for eps in (0.0, 0.3):
        a = sml.cross_entropy_with_grad(z, y, label_smoothing=eps)
        b = sml.cross_entropy_with_grad(z, y, label_smoothing=eps, where=np.ones((7, 5), bool))
        np.testing.assert_allclose(float(a[0]), float(b[0]), rtol=1e-14)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-13, atol=1e-17)
    # a (1, C) mask broadcasts over positions: the same classes excluded everywhere
    # (a (C,) one has the labels' rank: a mask of positions, as in optax)
    cls = np.array([True, True, False, True, True])
    y = np.where(y == 2, 0, y)
    got = sml.cross_entropy(z, y, where=cls[None, :], reduction="none")
    sub = z[:, cls]
    remap = np.cumsum(cls) - 1
    np.testing.assert_allclose(got, sml.cross_entropy(sub, remap[y], reduction="none"), rtol=1e-13)
    with pytest.raises(ValueError, match=r"or to its shape without the class axis \(7,\) "
                                         r"\(a mask of positions\); found shape \(5,\)"):
        sml.cross_entropy(z, y, where=cls)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_class_axis_anywhere(axis):
    """(N, C, H, W)-style scores: the mask follows the scores' layout."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(2, 3, 4, 5))
    ax = axis % 4
    C = z.shape[ax]
    mask = rng.random(z.shape) < 0.7
    zm = np.moveaxis(z, ax, -1).reshape(-1, C)
    mm = np.moveaxis(mask, ax, -1).reshape(-1, C)
    y_flat = np.array([np.flatnonzero(r)[0] if r.any() else 0 for r in mm])
    y = y_flat.reshape(np.moveaxis(z, ax, -1).shape[:-1])
    got = sml.cross_entropy(z, y, axis=axis, where=mask, reduction="none")
    ref = sml.cross_entropy(zm, y_flat, axis=1, where=mm, reduction="none")
    np.testing.assert_allclose(got.reshape(-1), ref, rtol=1e-15)
    _, g = sml.cross_entropy_with_grad(z, y, axis=axis, where=mask)
    _, gr = sml.cross_entropy_with_grad(zm, y_flat, where=mm)
    np.testing.assert_allclose(np.moveaxis(g, ax, -1).reshape(-1, C), gr, rtol=1e-13, atol=1e-17)


def test_gradient_by_central_differences():
    rng = np.random.default_rng(6)
    z, w = rng.normal(size=(4, 6)), rng.random(6) + 0.5
    mask = rng.random((4, 6)) < 0.6
    mask[:, 0] = True
    y = np.zeros(4, int)
    for eps in (0.0, 0.25):
        def f(zz, eps=eps):
            return float(sml.cross_entropy(zz, y, where=mask, weight=w, label_smoothing=eps))

        _, g = sml.cross_entropy_with_grad(z, y, where=mask, weight=w, label_smoothing=eps)
        num = np.zeros_like(z)
        h = 1e-6
        for idx in np.ndindex(z.shape):
            zp, zm = z.copy(), z.copy()
            zp[idx] += h
            zm[idx] -= h
            num[idx] = (f(zp) - f(zm)) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_nan_and_inf_in_excluded_entries_do_not_count():
    z = np.array([[1.0, np.nan, 2.0], [np.inf, 0.5, -np.inf], [np.nan, np.nan, np.nan]])
    mask = np.array([[True, False, True], [False, True, True], [False, False, False]])
    y = np.array([0, 1, 2])
    rows = sml.cross_entropy(z, y, where=mask, reduction="none")
    np.testing.assert_allclose(rows[0], math.log(math.exp(1) + math.exp(2)) - 1, rtol=1e-15)
    assert rows[1] == 0.0 and rows[2] == 0.0  # 0.5 against -inf: p = 1
    loss, g = sml.cross_entropy_with_grad(z, y, where=mask)
    assert np.isfinite(float(loss)) and np.isfinite(g).all()
    np.testing.assert_allclose(float(loss), rows.sum() / 2, rtol=1e-15)


def test_float32_and_float16():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(8, 5)) * 3
    mask = rng.random((8, 5)) < 0.7
    mask[:, 1] = True
    y = np.ones(8, int)
    ref = sml.cross_entropy(z, y, where=mask, reduction="none")
    for dt in (np.float32, np.float16):
        got = sml.cross_entropy(z.astype(dt), y, where=mask, reduction="none")
        assert got.dtype == (np.float32 if dt == np.float16 else dt)
        np.testing.assert_allclose(got, ref, rtol=3e-3 if dt == np.float16 else 1e-5, atol=1e-3)
        _, g = sml.cross_entropy_with_grad(z.astype(dt), y, where=mask)
        assert g.dtype == dt


def test_every_library(lib):
    rng = np.random.default_rng(8)
    z = rng.normal(size=(5, 4))
    mask = rng.random((5, 4)) < 0.7
    mask[:, 2] = True
    y = np.full(5, 2)
    ref_l, ref_g = sml.cross_entropy_with_grad(z, y, where=mask, label_smoothing=0.1)
    loss, g = sml.cross_entropy_with_grad(lib.asarray(z), lib.asarray(y), where=lib.asarray(mask),
                                          label_smoothing=0.1)
    assert lib.is_native(loss) and lib.is_native(g)
    np.testing.assert_allclose(lib.numpy(loss), ref_l, rtol=1e-14)
    np.testing.assert_allclose(lib.numpy(g), ref_g, rtol=1e-13, atol=1e-17)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #
def test_label_on_an_excluded_class_is_an_error():
    z = np.zeros((3, 4))
    mask = np.ones((3, 4), bool)
    mask[1, 2] = False
    with pytest.raises(ValueError, match=r"cross_entropy: argument 'target' holds class label 2 "
                                         r"at position \(1,\), a class that 'where' excludes"):
        sml.cross_entropy(z, np.array([0, 2, 1]), where=mask)
    # an ignored label, or a fully excluded position, may sit anywhere
    sml.cross_entropy(z, np.array([0, -100, 1]), where=mask)
    mask[1] = False
    sml.cross_entropy(z, np.array([0, 2, 1]), where=mask)
    # the error names the position in the labels' own layout
    z4 = np.zeros((2, 3, 2))
    m4 = np.ones((2, 3, 2), bool)
    m4[1, 0, 1] = False
    with pytest.raises(ValueError, match=r"label 0 at position \(1, 1\)"):
        sml.cross_entropy_with_grad(z4, np.zeros((2, 2), int), where=m4)


def test_probability_on_an_excluded_class_is_an_error():
    q = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    mask = np.array([[True, True, False], [True, True, False]])
    with pytest.raises(ValueError, match=r"probability 0.5 on class 2 at position \(1,\)"):
        sml.cross_entropy(np.zeros((2, 3)), q, where=mask)


@pytest.mark.parametrize("bad, exc, text", [
    (np.ones((3, 4)), TypeError, "a boolean array"),
    (np.ones((3, 4), dtype=int), TypeError, "int64"),
    (np.ones((3, 5), bool), ValueError, r"broadcastable to the shape of 'logits' \(3, 4\)"),
    (np.ones((2,), bool), ValueError, r"class axis \(3,\) \(a mask of positions\); found shape \(2,\)"),
    (np.ones((1, 3, 4), bool), ValueError, r"found shape \(1, 3, 4\)"),
])
def test_bad_masks(bad, exc, text):
    with pytest.raises(exc, match=r"cross_entropy(_with_grad)?: argument 'where' must .*" + text):
        sml.cross_entropy(np.zeros((3, 4)), np.zeros(3, int), where=bad)
    with pytest.raises(exc, match=text):
        sml.cross_entropy_with_grad(np.zeros((3, 4)), np.zeros(3, int), where=bad)


def test_mask_on_another_device():
    xps = pytest.importorskip("array_api_strict")
    devices = xps.__array_namespace_info__().devices()
    if len(devices) < 2:
        pytest.skip("array-api-strict has one device")
    z = xps.asarray(np.zeros((2, 3)), device=devices[0])
    mask = xps.asarray(np.ones((2, 3), bool), device=devices[1])
    with pytest.raises(ValueError, match=r"argument 'where' must be on the device of 'logits'"):
        sml.cross_entropy(z, xps.asarray(np.zeros(2, dtype=np.int64), device=devices[0]),
                          where=mask)


def test_masked_cross_entropy_on_a_second_device():
    xps = pytest.importorskip("array_api_strict")
    devices = xps.__array_namespace_info__().devices()
    if len(devices) < 2:
        pytest.skip("array-api-strict has one device")
    d = devices[1]
    z = xps.asarray(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), device=d)
    y = xps.asarray(np.array([0, 1]), device=d)
    m = xps.asarray(np.array([[True, False, True], [False, False, False]]), device=d)
    loss, g = sml.cross_entropy_with_grad(z, y, where=m, reduction="sum")
    assert loss.device == d and g.device == d
    np.testing.assert_allclose(float(loss), math.log(math.exp(1) + math.exp(3)) - 1, rtol=1e-15)
