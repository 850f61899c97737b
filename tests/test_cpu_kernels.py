"""Tests for the fused NumPy softmax-cross-entropy kernel ``ce_rows_numpy``.

Every result is compared with a plain float64 reference written here (one
formula per line, no blocking, no threads, no fast path), and with PyTorch's
``F.cross_entropy(..., reduction="none")`` when PyTorch is installed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmaxlab.kernels.cpu import THREAD_MIN_ELEMENTS, ce_rows_numpy, default_num_threads

IGN = -100
TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def reference(z, y, weight=None, ignore_index=None, eps=0.0, scale=1.0):
    """Plain float64 loss and gradient, row by row as in the kernel's Notes."""
    z = np.asarray(z, dtype=np.float64)
    N, C = z.shape
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    W = w.sum()
    loss = np.zeros(N)
    grad = np.zeros((N, C))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for i in range(N):
            if ignore_index is not None and y[i] == ignore_index:
                continue
            m = z[i].max()
            log_s = np.log(np.sum(np.exp(z[i] - m)))
            nlogp = log_s - (z[i] - m)  # -log p = lse - z, without rounding lse
            lse = m + log_s
            p = np.exp(-nlogp)
            a = (1 - eps) * w[y[i]]
            main = 0.0 * lse if a == 0 else a * nlogp[y[i]]  # NaN rows stay NaN
            pos = w > 0
            smooth = np.sum(w[pos] * nlogp[pos]) + 0.0 * lse
            loss[i] = main + (eps / C) * smooth if eps else main
            grad[i] = scale * (p * (a + eps * W / C) - (eps / C) * w)
            grad[i, y[i]] -= scale * a
    return loss, grad


def make(rng, N, C, dtype, *, ignore=False, scale=3.0):
    z = (scale * rng.standard_normal((N, C))).astype(dtype)
    y = rng.integers(0, C, N)
    if ignore and N > 1:
        y[rng.random(N) < 0.3] = IGN
    return z, y


def check(z, y, *, weight=None, ignore_index=None, eps=0.0, scale=1.0, **kw):
    """Run the kernel with a NaN-poisoned out buffer; compare with the reference."""
    z_copy = z.copy()
    out = np.full(z.shape, np.nan, dtype=z.dtype)
    loss, grad = ce_rows_numpy(z, y, weight=weight, ignore_index=ignore_index,
                               label_smoothing=eps, grad_scale=scale, out=out, **kw)
    assert grad is out
    assert loss.dtype == np.float64 and loss.shape == (z.shape[0],)
    np.testing.assert_array_equal(z, z_copy)  # logits untouched
    rl, rg = reference(z, y, weight, ignore_index, eps, scale)
    tol = TOL[z.dtype.type]
    np.testing.assert_allclose(loss, rl, **tol)
    np.testing.assert_allclose(grad, rg, rtol=tol["rtol"], atol=tol["atol"] * max(1, abs(scale)))
    return loss, grad


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 2, 3, 10, 1000, 4097])
@pytest.mark.parametrize("N", [1, 2, 7, 256, 1001])
def test_matches_reference_over_shapes(N, C, dtype):
    rng = np.random.default_rng(N * 10007 + C)
    z, y = make(rng, N, C, dtype, ignore=True)
    w = rng.random(C).astype(dtype)
    check(z, np.where(y == IGN, 0, y))
    check(z, y, weight=w, ignore_index=IGN, eps=0.1, scale=1.0 / N)
    check(z, y, ignore_index=IGN, eps=1.0, scale=0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [-300.0, -80.0, 60.0, 90.0, 1000.0, 1e6])
def test_large_offsets_are_shift_invariant(dtype, offset):
    # The fast path (no shift by the row max) covers moderate logits; large
    # ones go through the shifted path.  Both give the reference values.
    rng = np.random.default_rng(1)
    z, y = make(rng, 64, 50, np.float64)
    z = (z + offset).astype(dtype)
    if not np.isfinite(z).all():
        pytest.skip("offset out of range for the dtype")
    check(z, y)
    check(z, y, eps=0.2)


def test_fast_and_shifted_paths_agree():
    # Row maxima near the edge of the fast path on either side.
    rng = np.random.default_rng(2)
    z, y = make(rng, 40, 100, np.float32, scale=1.0)
    z[:20] += 60.0  # near the upper bound (88.7 - log C - 2)
    z[20:] += 90.0  # beyond it: shifted
    check(z, y)


def test_torch_reference():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (reference tests)")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        for N, C in [(7, 10), (256, 1000), (33, 4097)]:
            z, y = make(rng, N, C, dtype, ignore=True)
            w = rng.random(C).astype(dtype)
            for weight in (None, w):
                for eps in (0.0, 0.25):
                    loss, grad = ce_rows_numpy(z, y, weight=weight, ignore_index=IGN,
                                               label_smoothing=eps)
                    zt = torch.tensor(z.astype(np.float64), requires_grad=True)
                    wt = None if weight is None else torch.tensor(weight.astype(np.float64))
                    lt = F.cross_entropy(zt, torch.tensor(y), weight=wt, ignore_index=IGN,
                                         label_smoothing=eps, reduction="none")
                    lt.sum().backward()
                    tol = TOL[dtype]
                    np.testing.assert_allclose(loss, lt.detach().numpy(), **tol)
                    np.testing.assert_allclose(grad, zt.grad.numpy(), **tol)


def test_torch_reference_masked():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (reference tests)")
    F = torch.nn.functional
    z = np.array([[0.5, -np.inf, 2.0, -1.0], [-np.inf, -np.inf, 3.0, 1.0]])
    y = np.array([0, 3])
    for eps in (0.0, 0.1):
        loss, grad = ce_rows_numpy(z, y, label_smoothing=eps)
        zt = torch.tensor(z, requires_grad=True)
        lt = F.cross_entropy(zt, torch.tensor(y), label_smoothing=eps, reduction="none")
        lt.sum().backward()
        np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-13)
        np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-13, atol=1e-16)


# --------------------------------------------------------------------------- edge cases


@pytest.mark.filterwarnings("error")  # no RuntimeWarning may leak out of the kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_bad_rows_give_nan_loss_without_warnings(dtype, eps, weighted):
    rng = np.random.default_rng(4)
    z, y = make(rng, 6, 5, dtype)
    z[1, 2] = np.nan
    z[2, :] = -np.inf
    z[3, 4] = np.inf
    z[4, :] = np.nan
    w = rng.random(5).astype(dtype) + 0.1 if weighted else None
    loss, grad = ce_rows_numpy(z, y, weight=w, label_smoothing=eps)
    bad = [1, 2, 3, 4]
    assert np.isnan(loss[bad]).all()
    assert np.isnan(grad[bad]).all(axis=1).all()
    good = [0, 5]
    rl, rg = reference(z[good], y[good], w, None, eps)
    np.testing.assert_allclose(loss[good], rl, **TOL[dtype])
    np.testing.assert_allclose(grad[good], rg, **TOL[dtype])


@pytest.mark.filterwarnings("error")
def test_bad_rows_that_are_ignored_give_zero():
    z = np.array([[np.nan, 1.0], [-np.inf, -np.inf], [np.inf, 0.0], [1.0, 2.0]])
    y = np.array([IGN, IGN, IGN, 1])
    loss, grad = ce_rows_numpy(z, y, ignore_index=IGN, label_smoothing=0.1)
    np.testing.assert_array_equal(loss[:3], 0.0)
    np.testing.assert_array_equal(grad[:3], 0.0)
    assert np.isfinite(loss[3]) and np.isfinite(grad[3]).all()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_classes(dtype):
    rng = np.random.default_rng(5)
    z, y = make(rng, 50, 8, dtype)
    z[rng.random(z.shape) < 0.3] = -np.inf
    z[np.arange(50), y] = rng.standard_normal(50)  # the label is never masked
    loss, grad = check(z, y)
    assert np.isfinite(loss).all()
    assert (grad[np.isneginf(z)] == 0).all()
    # Smoothing with a masked class of positive weight: loss +inf, gradient finite.
    loss, grad = check(z, y, eps=0.1)
    assert (np.isposinf(loss) == np.isneginf(z).any(axis=1)).all()
    assert np.isfinite(grad).all()


@pytest.mark.filterwarnings("error")
def test_masked_class_with_zero_weight_contributes_zero():
    # PyTorch gives NaN here (0 * -inf in its smoothing sum); the contract says 0.
    z = np.array([[-np.inf, 1.0, 2.0], [0.0, 1.0, -np.inf]])
    w = np.array([0.0, 1.0, 2.0])
    loss, grad = check(z, np.array([1, 2]), weight=w, eps=0.2)
    assert np.isfinite(loss[0]) and np.isposinf(loss[1])
    assert np.isfinite(grad).all()
    # A masked label with weight 0 and no smoothing: loss 0, gradient 0.
    loss, grad = check(z, np.array([0, 1]), weight=w)
    assert loss[0] == 0.0 and (grad[0] == 0).all()


def test_all_rows_ignored():
    z, y = make(np.random.default_rng(6), 9, 4, np.float32)
    y[:] = IGN
    out = np.full_like(z, np.nan)
    loss, grad = ce_rows_numpy(z, y, ignore_index=IGN, label_smoothing=0.1, grad_scale=0.0,
                               out=out)
    np.testing.assert_array_equal(loss, 0.0)
    np.testing.assert_array_equal(grad, 0.0)


def test_single_class_and_empty():
    z = np.array([[3.0], [-2.0]])
    loss, grad = ce_rows_numpy(z, np.array([0, 0]), label_smoothing=0.5)
    np.testing.assert_array_equal(loss, 0.0)
    np.testing.assert_array_equal(grad, 0.0)
    loss, grad = ce_rows_numpy(np.empty((0, 5), np.float32), np.empty(0, np.int64))
    assert loss.shape == (0,) and grad.shape == (0, 5) and grad.dtype == np.float32


def test_want_grad_false_matches_and_allocates_nothing_big():
    z, y = make(np.random.default_rng(7), 300, 1000, np.float32, ignore=True)
    full, _ = ce_rows_numpy(z, y, ignore_index=IGN, label_smoothing=0.1)
    loss, grad = ce_rows_numpy(z, y, ignore_index=IGN, label_smoothing=0.1, want_grad=False)
    assert grad is None
    np.testing.assert_array_equal(loss, full)


def test_out_is_reused_across_calls():
    rng = np.random.default_rng(8)
    out = np.full((100, 30), np.nan, dtype=np.float32)
    for _ in range(3):
        z, y = make(rng, 100, 30, np.float32, ignore=True)
        loss, grad = ce_rows_numpy(z, y, ignore_index=IGN, out=out, grad_scale=0.01)
        assert grad is out
        _, rg = reference(z, y, None, IGN, 0.0, 0.01)
        np.testing.assert_allclose(out, rg, rtol=2e-6, atol=1e-9)


def test_integer_label_dtypes():
    z, y = make(np.random.default_rng(9), 20, 6, np.float64)
    base, _ = ce_rows_numpy(z, y)
    for dt in (np.int8, np.uint8, np.int32, np.uint64):
        loss, _ = ce_rows_numpy(z, y.astype(dt))
        np.testing.assert_array_equal(loss, base)


# --------------------------------------------------------------------------- plain case


@st.composite
def _plain_case(draw):
    N = draw(st.integers(1, 40))
    C = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    z = (rng.normal(size=(N, C)) * draw(st.sampled_from([1.0, 10.0, 30.0, 120.0]))).astype(dtype)
    z += dtype(draw(st.sampled_from([0.0, -60.0, 40.0, 85.0])))  # near the safe range's ends
    if draw(st.booleans()):
        z[rng.random((N, C)) < 0.2] = -np.inf
    y = rng.integers(0, C, N).astype(draw(st.sampled_from([np.int64, np.int32, np.uint8])))
    return z, y


def _bits(a):
    return a.view(np.uint64 if a.dtype.itemsize == 8 else np.uint32)


@settings(max_examples=300, deadline=None)
@given(case=_plain_case(), scale=st.sampled_from([1.0, 1 / 7, 0.0, -2.0, np.inf]),
       want_grad=st.booleans(), block_bytes=st.sampled_from([1, 64, 1 << 19]),
       num_threads=st.sampled_from([1, 2]))
def test_plain_case_is_bit_for_bit_the_general_path(case, scale, want_grad, block_bytes,
                                                    num_threads, monkeypatch_module):
    # Without weights, ignored rows or smoothing the kernel takes a straight
    # path (kernels.cpu._plain_rows); it must give every bit of the general one,
    # the sign of zeros and the rows where it gives up included.
    from softmaxlab.kernels import cpu

    z, y = case
    kw = dict(grad_scale=scale, want_grad=want_grad, block_bytes=block_bytes,
              num_threads=num_threads, ignore_index=IGN)
    with np.errstate(all="raise"):  # the kernel must not warn either
        fast = ce_rows_numpy(z, y, **kw)
    with monkeypatch_module.context() as m:
        m.setattr(cpu, "_is_plain", lambda *a: False)
        general = ce_rows_numpy(z, y, **kw)
    np.testing.assert_array_equal(_bits(fast[0]), _bits(general[0]))
    if want_grad:
        np.testing.assert_array_equal(_bits(fast[1]), _bits(general[1]))
    else:
        assert fast[1] is None and general[1] is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_case_on_long_blocks(dtype, monkeypatch):
    # Blocks of more than 4096 rows (few classes) take their row starts uncached.
    from softmaxlab.kernels import cpu

    z, y = make(np.random.default_rng(4), 6000, 3, dtype, scale=20.0)
    assert cpu.BLOCK_BYTES // (3 * z.itemsize) > 4096
    fast = ce_rows_numpy(z, y, grad_scale=1 / 6000)
    monkeypatch.setattr(cpu, "_is_plain", lambda *a: False)
    general = ce_rows_numpy(z, y, grad_scale=1 / 6000)
    np.testing.assert_array_equal(_bits(fast[0]), _bits(general[0]))
    np.testing.assert_array_equal(_bits(fast[1]), _bits(general[1]))
    check(z, y, scale=1 / 6000)


def test_plain_case_is_taken(monkeypatch):
    # The test above proves nothing unless the common call takes the plain path.
    from softmaxlab.kernels import cpu

    calls = []
    real = cpu._plain_rows
    monkeypatch.setattr(cpu, "_plain_rows", lambda *a: calls.append(real(*a)) or calls[-1])
    z, y = make(np.random.default_rng(3), 64, 10, np.float32)
    ce_rows_numpy(z, y)
    ce_rows_numpy(z, y, ignore_index=IGN)
    assert calls == [True, True]
    z[5, 2] = 200.0  # a row that needs the shift: the plain path gives up
    check(z, y)
    assert calls == [True, True, False]
    ce_rows_numpy(z, y, label_smoothing=0.1)
    y[0] = IGN
    ce_rows_numpy(z, y, ignore_index=IGN)
    assert len(calls) == 3


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as m:
        yield m


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_threads_give_identical_results(dtype, eps):
    rng = np.random.default_rng(10)
    z, y = make(rng, 3001, 700, dtype, ignore=True)
    z[5, 3] = np.nan
    z[2000, :] = -np.inf
    z[2500] += 200.0  # a shifted row in the middle
    w = rng.random(700).astype(dtype)
    assert z.size >= THREAD_MIN_ELEMENTS  # large enough for the default to use the pool
    kw = dict(weight=w, ignore_index=IGN, label_smoothing=eps, grad_scale=1 / 3001)
    l1, g1 = ce_rows_numpy(z, y, num_threads=1, **kw)
    for nt in (2, 3, None):
        l2, g2 = ce_rows_numpy(z, y, num_threads=nt, **kw)
        np.testing.assert_array_equal(l1, l2)
        np.testing.assert_array_equal(g1, g2)
        l3, g3 = ce_rows_numpy(z, y, num_threads=nt, want_grad=False, **kw)
        np.testing.assert_array_equal(l1, l3)
    check(z[:50], y[:50], weight=w, ignore_index=IGN, eps=eps, num_threads=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift_row", [None, 0, 1036])
def test_threads_share_pieces_identically_on_plain_path(dtype, shift_row):
    # Small blocks make many pieces of uneven length; a row that needs the
    # shift (first or last piece) sends every piece back to the general path.
    rng = np.random.default_rng(12)
    z, y = make(rng, 1037, 300, dtype)
    if shift_row is not None:
        z[shift_row] += 500.0
    l1, g1 = ce_rows_numpy(z, y, num_threads=1, block_bytes=4096)
    for nt in (2, 3, 7):
        l2, g2 = ce_rows_numpy(z, y, num_threads=nt, block_bytes=4096)
        np.testing.assert_array_equal(l1, l2)
        np.testing.assert_array_equal(g1, g2)
        l3, _ = ce_rows_numpy(z, y, num_threads=nt, block_bytes=4096, want_grad=False)
        np.testing.assert_array_equal(l1, l3)
    l4, g4 = ce_rows_numpy(z, y, num_threads=1)  # one block: the split is invisible
    np.testing.assert_array_equal(l1, l4)
    np.testing.assert_array_equal(g1, g4)
    check(z[:40], y[:40], num_threads=3, block_bytes=4096)


@pytest.mark.parametrize("N,nt,block", [(1, 2, 1), (10, 3, 4), (1000, 2, 7), (64, 8, 64),
                                        (5000, 3, 1)])
def test_share_rows_covers_each_row_once_in_order(N, nt, block):
    from softmaxlab.kernels.cpu import PIECES_PER_THREAD, _share_rows

    seen = np.zeros(N, dtype=int)

    def fn(tag, r0, r1):
        seen[r0:r1] += 1
        return (tag, r0, r1)

    out = _share_rows(fn, ("t",), N, nt, block)
    assert (seen == 1).all()
    assert [r0 for _, r0, _ in out] == sorted(r0 for _, r0, _ in out)
    assert out[0][1] == 0 and out[-1][2] == N
    assert all(a[2] == b[1] for a, b in zip(out, out[1:]))
    assert all((r0 % block == 0) for _, r0, _ in out)
    if nt > 1 and N >= block * PIECES_PER_THREAD * nt:
        assert len(out) >= PIECES_PER_THREAD * nt - 1


def test_share_rows_raises_a_workers_error():
    from softmaxlab.kernels.cpu import _share_rows

    def fn(r0, r1):
        if r0 >= 500:
            raise RuntimeError("boom")
        return r0

    with pytest.raises(RuntimeError, match="boom"):
        _share_rows(fn, (), 1000, 2, 10)


def test_threads_on_tiny_input():
    z, y = make(np.random.default_rng(11), 3, 4, np.float64)
    a = ce_rows_numpy(z, y, num_threads=8)
    b = ce_rows_numpy(z, y, num_threads=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert default_num_threads() >= 1


# --------------------------------------------------------------------------- bad calls


def _starts(text: str) -> str:
    """A ``match=`` pattern for a message that starts with `text`, taken literally."""
    return "^" + re.escape(text)


def test_bad_arguments():
    z = np.zeros((3, 4), dtype=np.float32)
    y = np.array([0, 1, 2])
    fn = "ce_rows_numpy: argument "
    with pytest.raises(TypeError, match=_starts(
            fn + "'logits' must be a float32 or float64 numpy.ndarray; found ndarray of dtype int32")):
        ce_rows_numpy(z.astype(np.int32), y)
    with pytest.raises(TypeError, match=_starts(
            fn + "'labels' must have an integer dtype; found dtype float64")):
        ce_rows_numpy(z, y.astype(float))
    with pytest.raises(ValueError, match=_starts(
            fn + "'labels' must have shape (3,) to match logits (3, 4); found shape (2,)")):
        ce_rows_numpy(z, y[:2])
    with pytest.raises(ValueError, match=_starts(
            fn + "'logits' must be C-contiguous; found a non-contiguous array")):
        ce_rows_numpy(np.zeros((4, 3), np.float32).T, y)
    with pytest.raises(TypeError, match=_starts(
            fn + "'weight' must be a numpy.ndarray of dtype float32; found ndarray of dtype float64")):
        ce_rows_numpy(z, y, weight=np.ones(4))
    with pytest.raises(ValueError, match=_starts(fn + "'weight' must have shape (4,); found shape (3,)")):
        ce_rows_numpy(z, y, weight=np.ones(3, np.float32))
    with pytest.raises(TypeError, match=_starts(
            fn + "'out' must be a numpy.ndarray of dtype float32; found ndarray of dtype float64")):
        ce_rows_numpy(z, y, out=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=_starts(fn + "'out' must have shape (3, 4); found shape (4, 3)")):
        ce_rows_numpy(z, y, out=np.zeros((4, 3), np.float32))
    read_only = np.zeros_like(z)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=_starts(
            fn + "'out' must be a writeable C-contiguous array; found an array that is read-only")):
        ce_rows_numpy(z, y, out=read_only)
    with pytest.raises(ValueError, match=_starts(
            fn + "'out' must be a writeable C-contiguous array; found an array that is non-contiguous")):
        ce_rows_numpy(z, y, out=np.zeros((4, 3), np.float32).T)
    with pytest.raises(ValueError, match=_starts(fn + "'out' must not overlap 'logits'")):
        ce_rows_numpy(z, y, out=z)
    with pytest.raises(ValueError, match=_starts(
            fn + "'out' must be None when want_grad is False; found ndarray of shape (3, 4)")):
        ce_rows_numpy(z, y, out=np.zeros_like(z), want_grad=False)
    with pytest.raises(ValueError, match=_starts(fn + "'num_threads' must be None or an integer >= 1; found 0")):
        ce_rows_numpy(z, y, num_threads=0)
    with pytest.raises(ValueError, match=_starts(
            fn + "'logits' must have at least one class (C >= 1); found shape (2, 0)")):
        ce_rows_numpy(np.zeros((2, 0)), np.array([0, 0]))


# --------------------------------------------------------------------------- properties


@st.composite
def problems(draw, max_n=6, max_c=7):
    N = draw(st.integers(1, max_n))
    C = draw(st.integers(2, max_c))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    rng = np.random.default_rng(seed)
    z = scale * rng.standard_normal((N, C)) + draw(st.sampled_from([0.0, 50.0, -500.0]))
    y = rng.integers(0, C, N)
    return z, y


@settings(max_examples=60, deadline=None)
@given(problems(), st.booleans())
def test_unweighted_gradient_rows_sum_to_zero(prob, f32):
    z, y = prob
    z = z.astype(np.float32) if f32 else z
    for eps in (0.0, 0.3):
        _, grad = ce_rows_numpy(z, y, label_smoothing=eps)
        np.testing.assert_allclose(grad.astype(np.float64).sum(axis=1), 0.0,
                                   atol=1e-6 if f32 else 1e-14)


@settings(max_examples=40, deadline=None)
@given(problems(max_n=4, max_c=5), st.booleans(), st.sampled_from([0.0, 0.15, 1.0]),
       st.sampled_from([1.0, 0.25]))
def test_gradient_matches_central_differences(prob, weighted, eps, scale):
    z, y = prob
    C = z.shape[1]
    w = np.linspace(0.5, 2.0, C) if weighted else None
    _, grad = ce_rows_numpy(z, y, weight=w, label_smoothing=eps, grad_scale=scale)
    h = 1e-6 * max(1.0, np.abs(z).max())
    num = np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        zp = z.copy()
        zm = z.copy()
        zp[idx] += h
        zm[idx] -= h
        lp, _ = ce_rows_numpy(zp, y, weight=w, label_smoothing=eps, want_grad=False)
        lm, _ = ce_rows_numpy(zm, y, weight=w, label_smoothing=eps, want_grad=False)
        num[idx] = scale * (lp.sum() - lm.sum()) / (2 * h)
    np.testing.assert_allclose(grad, num, atol=1e-6 * max(1.0, np.abs(z).max()))


# --------------------------------------------------------------------------- #
# The door (softmaxlab.kernels): one rule for which kernel runs
# --------------------------------------------------------------------------- #
from softmaxlab import kernels  # noqa: E402


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_door_sends_numpy_to_the_cpu_kernel(dtype):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(7, 5)).astype(dtype)
    y = rng.integers(0, 5, 7)
    rows, g = kernels.ce_rows(z, y, grad_scale=0.5)
    ref_rows, ref_g = ce_rows_numpy(np.ascontiguousarray(z, dtype=np.float32 if dtype == "float16"
                                                         else None), y, grad_scale=0.5)
    np.testing.assert_array_equal(rows, ref_rows)
    np.testing.assert_array_equal(g, ref_g)
    out = np.empty_like(z)  # float16 out: written through a float32 buffer
    rows2, g2 = kernels.ce_rows(z, y, grad_scale=0.5, out=out)
    assert g2 is out
    np.testing.assert_array_equal(g2, ref_g.astype(dtype))


def test_door_gives_none_for_other_libraries_and_dtypes():
    import array_api_strict as xps

    z = np.zeros((3, 4))
    y = np.zeros(3, dtype=np.int64)
    assert kernels.ce_rows(xps.asarray(z), xps.asarray(y)) is None
    assert kernels.ce_rows(z.tolist(), y) is None
    assert kernels.ce_rows(z.astype(np.longdouble), y) is None
    assert kernels.ce_rows(z, None) is None  # probability targets: no kernel
    assert kernels.softmax_rows(z) is None   # NumPy has no fused softmax kernel
    assert kernels.softmax_rows(xps.asarray(z)) is None


def test_door_passes_tuning_knobs_through():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(300, 700)).astype(np.float32)
    y = rng.integers(0, 700, 300)
    a = kernels.ce_rows(z, y)
    for knobs in ({"block_bytes": 4096}, {"thread_min_elements": 1}, {"num_threads": 2}):
        b = kernels.ce_rows(z, y, **knobs)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_cuda_source_is_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from importlib import resources
    from pathlib import Path

    assert (resources.files("softmaxlab.kernels") / "rows.cu").is_file()
    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "*.cu" in cfg["tool"]["setuptools"]["package-data"]["softmaxlab.kernels"]
