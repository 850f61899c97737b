"""linear_cross_entropy(_with_grad): against the materialised scores, PyTorch,
central differences; every option, awkward chunk sizes, edge cases, bad input."""

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmaxlab as sml
from softmaxlab import linear as L

from .conftest import torch_or_skip

REDUCTIONS = ["mean", "sum", "none", "full", "batch_size"]


def _case(N, H, V, *, seed=0, ignore=(), bias=True, scale=2.0):
    rng = np.random.default_rng(seed)
    h = rng.normal(scale=scale, size=(N, H))
    w = rng.normal(size=(V, H))
    b = rng.normal(size=V) if bias else None
    y = rng.integers(0, V, size=N)
    for i in ignore:
        y[i] = -100
    return h, w, b, y


def _materialised(h, w, b, y, **kw):
    """The composition the function replaces: scores, then cross_entropy_with_grad."""
    z = h @ w.T + (0 if b is None else b)
    loss, dz = sml.cross_entropy_with_grad(z, y, ignore_index=-100, **kw)
    return loss, dz @ w, dz.T @ h, None if b is None else dz.sum(axis=0)


def _check_against_materialised(h, w, b, y, chunk, lib=None, rtol=1e-10, atol=1e-12, **kw):
    ref = _materialised(h, w, b, y, **kw)
    args = (h, w, y) if lib is None else tuple(lib.asarray(a) for a in (h, w, y))
    bb = b if lib is None or b is None else lib.asarray(b)
    loss, g = sml.linear_cross_entropy_with_grad(*args, bias=bb, chunk_size=chunk, **kw)
    loss_only = sml.linear_cross_entropy(*args, bias=bb, chunk_size=chunk, **kw)
    if lib is not None:
        assert lib.is_native(loss) and lib.is_native(g.hidden) and lib.is_native(g.weight)
    tn = sml.to_numpy
    np.testing.assert_allclose(tn(loss), ref[0], rtol=rtol, atol=atol)
    np.testing.assert_allclose(tn(loss_only), ref[0], rtol=rtol, atol=atol)
    np.testing.assert_allclose(tn(g.hidden), ref[1], rtol=rtol, atol=atol)
    np.testing.assert_allclose(tn(g.weight), ref[2], rtol=rtol, atol=atol)
    if b is None:
        assert g.bias is None
    else:
        np.testing.assert_allclose(tn(g.bias), ref[3], rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("chunk", [None, 1, 3, 7, 10, 29, 10_000])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_materialised_scores_every_chunk_and_reduction(lib, chunk, reduction):
    # N = 13 and V = 11 are primes: no chunk size divides them.
    h, w, b, y = _case(13, 4, 11, ignore=(2, 7))
    _check_against_materialised(h, w, b, y, chunk, lib, reduction=reduction)


@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("chunk", [None, 5, 17])
@pytest.mark.parametrize("bias", [True, False])
def test_label_smoothing_with_and_without_bias(lib, eps, chunk, bias):
    h, w, b, y = _case(9, 3, 8, ignore=(0,), bias=bias, seed=1)
    _check_against_materialised(h, w, b, y, chunk, lib, label_smoothing=eps)


def test_without_ignore_index_every_label_counts():
    h, w, b, y = _case(6, 2, 5, seed=2)
    loss = sml.linear_cross_entropy(h, w, y, bias=b, ignore_index=None, chunk_size=4)
    ref = sml.cross_entropy(h @ w.T + b, y)
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    # A custom ignore_index drops its label.
    y2 = y.copy()
    y2[1] = 3
    loss = sml.linear_cross_entropy(h, w, y2, ignore_index=3, chunk_size=4)
    np.testing.assert_allclose(loss, sml.cross_entropy(h @ w.T, y2, ignore_index=3),
                               rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("chunk", [None, 6, 23])
def test_matches_torch_autograd_for_the_three_gradients(reduction, eps, chunk):
    torch = torch_or_skip()
    F = torch.nn.functional
    h, w, b, y = _case(17, 5, 13, ignore=(3, 4, 16), seed=3)
    th, tw, tb = (torch.tensor(a, requires_grad=True) for a in (h, w, b))
    ref = F.cross_entropy(th @ tw.T + tb, torch.tensor(y), reduction=reduction,
                          label_smoothing=eps, ignore_index=-100)
    ref.sum().backward()
    loss, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, reduction=reduction,
                                                 label_smoothing=eps, chunk_size=chunk)
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, t in ((g.hidden, th), (g.weight, tw), (g.bias, tb)):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_language_model_sized_float32(dtype):
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    N, H, V = 300, 32, 2000
    h = rng.standard_normal((N, H)).astype(dtype)
    w = (rng.standard_normal((V, H)) / np.sqrt(H)).astype(dtype)
    b = (0.1 * rng.standard_normal(V)).astype(dtype)
    y = rng.integers(0, V, N)
    th, tw, tb = (torch.tensor(a, requires_grad=True) for a in (h, w, b))
    ref = torch.nn.functional.cross_entropy(th @ tw.T + tb, torch.tensor(y))
    ref.backward()
    for chunk in (None, 4096, 1000):      # whole rows; tiles of the vocabulary
        loss, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=chunk)
        assert loss.dtype == dtype and g.weight.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(loss, ref.item(), rtol=tol)
        for mine, t in ((g.hidden, th), (g.weight, tw), (g.bias, tb)):
            np.testing.assert_allclose(mine, t.grad.numpy(), rtol=50 * tol,
                                       atol=tol * float(np.abs(t.grad.numpy()).max()))


def test_gradients_by_central_differences_float64():
    h, w, b, y = _case(5, 3, 7, ignore=(1,), seed=5)
    kw = dict(label_smoothing=0.1, chunk_size=4)
    _, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, **kw)
    step = 1e-6
    for name, arr, grad in (("hidden", h, g.hidden), ("weight", w, g.weight),
                            ("bias", b, g.bias)):
        num = np.zeros_like(arr)
        for idx in itertools.product(*map(range, arr.shape)):
            args = {"hidden": h, "weight": w, "bias": b}
            up, dn = arr.copy(), arr.copy()
            up[idx] += step
            dn[idx] -= step
            f = [float(sml.linear_cross_entropy(
                **{**args, name: a}, target=y, **kw)) for a in (up, dn)]
            num[idx] = (f[0] - f[1]) / (2 * step)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8, err_msg=name)
    assert np.all(g.hidden[1] == 0)   # the ignored row gets no gradient


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 12), H=st.integers(1, 5), V=st.integers(1, 12),
       chunk=st.one_of(st.none(), st.integers(1, 40)), eps=st.sampled_from([0.0, 0.3]),
       reduction=st.sampled_from(REDUCTIONS), bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_property_any_shape_and_chunk_agrees_with_materialised(N, H, V, chunk, eps,
                                                               reduction, bias, seed):
    ignore = tuple(range(0, N, 3)) if seed % 2 else ()
    h, w, b, y = _case(N, H, V, seed=seed, ignore=ignore, bias=bias)
    _check_against_materialised(h, w, b, y, chunk, rtol=1e-9, label_smoothing=eps,
                                reduction=reduction)
    loss = sml.linear_cross_entropy(h, w, y, bias=b, chunk_size=chunk, reduction="none")
    assert np.all(loss >= 0)


# --------------------------------------------------------------------------- edge cases
def test_one_class_costs_nothing():
    h, w, b, y = _case(4, 3, 1, seed=6)
    for chunk in (None, 1):
        loss, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=chunk)
        assert 0.0 <= float(loss) < 1e-15          # ln 1 = 0, up to rounding
        for a in g:
            np.testing.assert_allclose(a, 0.0, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk", [None, 2])
def test_every_position_ignored_gives_zero_loss_and_gradients(reduction, chunk):
    h, w, b, y = _case(4, 3, 5, ignore=range(4), seed=7)
    h[0, 0] = np.nan                      # an ignored row may hold anything
    loss, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, reduction=reduction,
                                                 chunk_size=chunk)
    assert np.all(np.asarray(loss) == 0)
    assert np.all(g.hidden == 0) and np.all(g.weight == 0) and np.all(g.bias == 0)


def test_zero_weights_cost_ln_V_and_the_loss_is_never_negative():
    h = np.random.default_rng(8).standard_normal((6, 4))
    loss = sml.linear_cross_entropy(h, np.zeros((65, 4)), np.arange(6), chunk_size=30)
    assert abs(float(loss) - np.log(65)) < 1e-12
    # A certain prediction: the loss is 0 up to rounding, never below.
    w = np.zeros((3, 1))
    w[0, 0] = 1.0
    rows = sml.linear_cross_entropy(np.array([[800.0], [2000.0]]), w, np.array([0, 0]),
                                    reduction="none", chunk_size=1)
    assert np.all(rows >= 0) and np.all(rows < 1e-300)


def test_large_scores_do_not_overflow_in_either_path():
    h = np.array([[1000.0, 0.0], [0.0, -1000.0]], dtype=np.float32)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    y = np.array([1, 2])
    ref = sml.cross_entropy(h @ w.T, y)
    for chunk in (None, 1, 2):
        loss = sml.linear_cross_entropy(h, w, y, chunk_size=chunk)
        assert np.isfinite(loss)
        np.testing.assert_allclose(loss, ref, rtol=1e-6)


def test_float16_is_computed_in_float32():
    h, w, b, y = _case(8, 4, 6, seed=9, scale=1.0)
    h16, w16, b16 = (a.astype(np.float16) for a in (h, w, b))
    loss, g = sml.linear_cross_entropy_with_grad(h16, w16, y, bias=b16, chunk_size=5)
    assert loss.dtype == np.float32
    assert g.hidden.dtype == g.weight.dtype == g.bias.dtype == np.float16
    ref = _materialised(*(a.astype(np.float32) for a in (h16, w16, b16)), y)
    np.testing.assert_allclose(loss, ref[0], rtol=1e-6)
    np.testing.assert_allclose(g.weight.astype(np.float32), ref[2], rtol=2e-3, atol=1e-3)


def test_empty_batch_with_sum_and_none():
    h, w = np.zeros((0, 3)), np.ones((4, 3))
    y = np.zeros(0, dtype=np.int64)
    assert float(sml.linear_cross_entropy(h, w, y, reduction="sum")) == 0.0
    assert sml.linear_cross_entropy(h, w, y, reduction="none").shape == (0,)
    with pytest.raises(ValueError, match="at least one row for reduction='mean'"):
        sml.linear_cross_entropy(h, w, y)


def test_inputs_are_not_written():
    h, w, b, y = _case(7, 3, 5, seed=10)
    copies = [a.copy() for a in (h, w, b, y)]
    sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=6)
    for a, c in zip((h, w, b, y), copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("N,V,chunk,expect", [
    (100, 10, 35, (3, 10)),          # whole rows: 3 rows of 10 scores
    (100, 10, 1000, (100, 10)),      # everything in one block
    (100, 1000, 100, (1, 100)),      # a row does not fit: tiles of 100 columns
    (3, 1000, 100, (1, 100)),
    (3, 1000, 2000, (3, 666)),
    (600, 1000, 300_000, (300, 1000)),   # at least 256 whole rows
    # fewer than 256 whole rows fit: tiles over every row (at least 512 columns wide)
    (4096, 32000, 2**22, (4096, 1024)),
    (2048, 128256, 2**22, (2048, 2048)),
    (65536, 128256, 2**22, (8192, 512)),
])
def test_blocks_never_exceed_chunk_size(N, V, chunk, expect):
    A = L._prepare("t", np.zeros((N, 2)), np.zeros((V, 2)), np.zeros(N, dtype=int), None,
                   -100, 0.0, "mean", chunk, True)
    rows, cols = L._blocks(A)
    assert (rows, cols) == expect and rows * cols <= max(chunk, 1)


def test_returned_grad_is_a_named_tuple():
    h, w, b, y = _case(3, 2, 4, seed=11)
    _, g = sml.linear_cross_entropy_with_grad(h, w, y)
    assert isinstance(g, sml.LinearCrossEntropyGrad) and g.bias is None
    hidden, weight, bias = g
    assert hidden.shape == (3, 2) and weight.shape == (4, 2)


# --------------------------------------------------------------------------- bad input
FN = "linear_cross_entropy"


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(weight=np.ones((5, 4))), ValueError,
     r"argument 'weight' must be of shape \(V, 3\).*; found shape \(5, 4\)"),
    (dict(weight=np.ones(15)), ValueError,
     r"argument 'weight' must be a 2-d array of shape \(V, H\).*; found a 1-d array"),
    (dict(weight=np.ones((1, 5, 3))), ValueError, "found a 3-d array of shape"),
    (dict(weight=np.ones((0, 3))), ValueError, "V >= 1 classes; found shape"),
    (dict(weight=np.ones((5, 3), dtype=np.float32)), TypeError,
     r"argument 'weight' must be of the dtype of 'hidden' \(float64\); found dtype float32"),
    (dict(hidden=np.ones(3)), ValueError, "argument 'hidden' must be a 2-d array"),
    (dict(hidden=np.ones((4, 3), dtype=np.int64)), TypeError,
     "argument 'hidden' must have a real floating dtype"),
    (dict(target=np.array([0, 1, 5, 2])), ValueError,
     r"argument 'target' must be class labels in \[0, 4\] or ignore_index=-100; "
     r"found 5 at position 2"),
    (dict(target=np.array([0, -1, 2, 2])), ValueError, "found -1 at position 1"),
    (dict(target=np.array([0, 1, 2])), ValueError,
     r"argument 'target' must be of shape \(4,\).*; found shape \(3,\)"),
    (dict(target=np.array([0.0, 1, 2, 3])), TypeError,
     "argument 'target' must be integer class labels; found dtype float64"),
    (dict(bias=np.ones(4)), ValueError,
     r"argument 'bias' must be an array of shape \(5,\) and dtype float64.*found shape \(4,\)"),
    (dict(chunk_size=0), ValueError, "argument 'chunk_size' must be an integer >= 1; found 0"),
    (dict(chunk_size=2.5), TypeError, "argument 'chunk_size' must be an integer; found 2.5"),
    (dict(chunk_size=True), TypeError, "argument 'chunk_size' must be an integer"),
    (dict(reduction="avg"), ValueError, "argument 'reduction' must be one of 'none'"),
    (dict(label_smoothing=1.5), ValueError, "argument 'label_smoothing' must be a finite"),
    (dict(ignore_index=1.0), TypeError, "argument 'ignore_index' must be an integer or None"),
    (dict(validate="yes"), TypeError, "argument 'validate' must be True or False"),
])
@pytest.mark.parametrize("fn", [sml.linear_cross_entropy, sml.linear_cross_entropy_with_grad])
def test_bad_input_names_function_argument_and_value(fn, kwargs, exc, msg):
    args = dict(hidden=np.ones((4, 3)), weight=np.ones((5, 3)), target=np.array([0, 1, 2, 3]))
    args.update(kwargs)
    with pytest.raises(exc, match=f"^{fn.__name__}: .*{msg}"):
        fn(**args)


def test_labels_out_of_range_without_ignore_index():
    with pytest.raises(ValueError, match=r"labels in \[0, 2\]; found -100 at position 0$"):
        sml.linear_cross_entropy(np.ones((1, 2)), np.ones((3, 2)), np.array([-100]),
                                 ignore_index=None)


@pytest.mark.parametrize("chunk", [None, 2])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_errors_naming_the_entry(chunk, bad):
    h, w, b, y = _case(4, 3, 5, seed=12)
    h2 = h.copy()
    h2[2, 1] = bad
    with pytest.raises(ValueError, match=re.escape(
            f"{FN}: argument 'hidden' must be finite at the positions that are not ignored; "
            f"found {bad!r} at index (2, 1)")):
        sml.linear_cross_entropy(h2, w, y, chunk_size=chunk)
    w2 = w.copy()
    w2[4, 0] = bad
    with pytest.raises(ValueError, match=re.escape(
            f"{FN}_with_grad: argument 'weight' must be finite; found {bad!r} at index (4, 0)")):
        sml.linear_cross_entropy_with_grad(h, w2, y, chunk_size=chunk)
    if bad != -np.inf:  # -inf masks a class out
        b2 = b.copy()
        b2[3] = bad
        with pytest.raises(ValueError, match=re.escape(
                f"{FN}: argument 'bias' must be finite or -inf (a class masked out); "
                f"found {bad!r} at index (3,)")):
            sml.linear_cross_entropy(h, w, y, bias=b2, chunk_size=chunk)
    # At an ignored position the hidden state is not used: padding may hold anything.
    y2 = y.copy()
    y2[2] = -100
    h0 = h.copy()
    h0[2] = 0.0
    for fn in (sml.linear_cross_entropy, sml.linear_cross_entropy_with_grad):
        got, want = fn(h2, w, y2, bias=b, chunk_size=chunk), fn(h0, w, y2, bias=b, chunk_size=chunk)
        if fn is sml.linear_cross_entropy:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1].weight, want[1].weight)
            assert np.isfinite(got[1].hidden).all() and (got[1].hidden[2] == 0).all()


@pytest.mark.parametrize("chunk", [None, 2])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_a_minus_inf_bias_masks_a_class_as_in_cross_entropy_and_torch(chunk, reduction):
    torch = torch_or_skip()
    h, w, b, y = _case(6, 3, 5, seed=13)
    b[[0, 3]] = -np.inf  # class 0 is some positions' label: their loss is +inf
    y[:2] = 0
    loss, g = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=chunk,
                                                 reduction=reduction)
    z = h @ w.T + b
    np.testing.assert_allclose(loss, sml.cross_entropy(z, y, reduction=reduction), rtol=1e-12)
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y),
                                            reduction=reduction)
    np.testing.assert_allclose(loss, ref.numpy(), rtol=1e-12)
    assert np.isposinf(np.asarray(loss)).any()
    # the gradient stays finite: softmax minus the one-hot, 0 at the masked classes
    _, dz = sml.cross_entropy_with_grad(z, y, reduction=reduction)
    np.testing.assert_allclose(g.hidden, dz @ w, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g.weight, dz.T @ h, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g.bias, dz.sum(axis=0), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("chunk", [None, 2])
def test_scores_that_are_all_masked_or_overflow_are_errors(chunk):
    h, w, b, y = _case(4, 3, 5, seed=14)
    with pytest.raises(ValueError, match=re.escape(
            "found only -inf scores at position 0 (every class masked by a -inf bias)")):
        sml.linear_cross_entropy(h, w, y, bias=np.full(5, -np.inf), chunk_size=chunk)
    big_h = np.full((2, 3), 1e20, np.float32)
    big_w = np.full((4, 3), 1e20, np.float32)
    with np.errstate(over="ignore"), pytest.raises(ValueError, match=re.escape(
            "found hidden[0] @ weight[0] = inf, which overflows float32")):
        sml.linear_cross_entropy(big_h, big_w, np.array([0, 1]), chunk_size=chunk)
    # Finite scores whose loss exceeds float32: +inf, as cross_entropy and PyTorch give.
    hb = np.array([[1e19, 0.0], [1.0, 0.0]], np.float32)
    wb = np.array([[3e19, 0.0], [-3e19, 0.0]], np.float32)
    got = sml.linear_cross_entropy(hb, wb, np.array([1, 0]), reduction="none", chunk_size=chunk)
    with np.errstate(over="ignore"):
        want = sml.cross_entropy(hb @ wb.T, np.array([1, 0]), reduction="none")
    np.testing.assert_array_equal(got, want)
    assert np.isposinf(got[0]) and np.isfinite(got[1])


def test_mixing_libraries_is_refused(lib):
    if lib.name == "numpy":
        pytest.skip("needs a second library")
    with pytest.raises(TypeError):
        sml.linear_cross_entropy(lib.asarray(np.ones((2, 3))), np.ones((4, 3)),
                                 lib.asarray(np.array([0, 1])))


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_tiles_of_several_rows(lib, eps, reduction):
    """Tiles of 3 rows by 666 columns (chunk 2000, V = 1000 > 512): blocks of rows
    and tiles of the vocabulary both more than one, the last of each shorter."""
    h, w, b, y = _case(8, 3, 1000, ignore=(5,))
    A = L._prepare("t", h, w, y, b, -100, eps, reduction, 2000, True)
    assert L._blocks(A) == (3, 666)
    _check_against_materialised(h, w, b, y, 2000, lib, reduction=reduction, label_smoothing=eps)


# ------------------------------------------------------------ the NumPy tile kernel
# softmaxlab.kernels.tiles: the tile's rows split over threads (the workers
# running their own matrix products when threadpoolctl is there), the shift by
# the row maximum skipped where the row sums are safe, the label's term apart.
# Chunk 307200 with N = 600 and V = 1500: tiles of 600 rows by 512 columns, cache
# blocks of 256 rows, so two or three workers each.

_TILE_CHUNK = 307200


def _tile_case(scores, *, seed=0, ignore=()):
    """hidden = the scores, weight = the identity: the scores are exact."""
    N, V = scores.shape
    rng = np.random.default_rng(seed)
    y = rng.integers(0, V, size=N)
    for i in ignore:
        y[i] = -100
    return scores, np.eye(V), y


def _tiled(N, V, chunk=_TILE_CHUNK):
    A = L._prepare("t", np.zeros((N, 1)), np.zeros((V, 1)), np.zeros(N, dtype=int), None,
                   -100, 0.0, "mean", chunk, True)
    return L._blocks(A)


def test_tile_kernel_case_is_tiled_over_threads():
    from softmaxlab.kernels import tiles as T
    assert _tiled(600, 1500) == (600, 512)
    S = T.TileStats(600, 1500, np.float64, 0.0)
    S.nt = 2
    assert T._threads(S, 600, 512) == 2 and T._block_rows(512, 8) == 128


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("blas_split", [True, False])
@pytest.mark.parametrize("eps,reduction", [(0.0, "mean"), (0.1, "sum"), (0.0, "none")])
def test_tile_kernel_threads_and_blas_modes_agree_with_materialised(
        monkeypatch, threads, blas_split, eps, reduction):
    from softmaxlab.kernels import tiles as T
    monkeypatch.setattr(T, "default_num_threads", lambda: threads)
    if not blas_split:  # threadpoolctl missing: BLAS threads itself, the pool the rest
        monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)
    h, w, b, y = _case(600, 7, 1500, ignore=(3, 599), seed=threads)
    _check_against_materialised(h, w, b, y, _TILE_CHUNK, rtol=1e-9, reduction=reduction,
                                label_smoothing=eps)


def _row_kinds(N, V, rng):
    """Rows of every kind the unshifted sum must notice: moderate, huge (exp
    overflows), very negative (exp underflows), one huge entry in one tile, a
    confident label, mixed within a cache block."""
    z = rng.normal(scale=3.0, size=(N, V))
    z[10:20] += 500.0
    z[30:40] -= 400.0
    z[50:60, 700] = 300.0
    z[70:80, :512] -= 1000.0
    z[90:300:7] *= 40.0
    return z


@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_tile_kernel_rows_of_every_kind_float64(eps):
    rng = np.random.default_rng(5)
    z, w, y = _tile_case(_row_kinds(600, 1500, rng), ignore=(12, 33))
    y[50:60] = 700  # the huge entry is the label
    # The weight gradient sums 600 rows of scores up to 1e3: rounding of 1e-11 absolute.
    _check_against_materialised(z, w, None, y, _TILE_CHUNK, rtol=1e-11, atol=1e-9,
                                label_smoothing=eps, reduction="none")


def test_tile_kernel_rows_of_every_kind_float32_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(6)
    z64, w, y = _tile_case(_row_kinds(600, 1500, rng))
    z = z64.astype(np.float32)
    loss, g = sml.linear_cross_entropy_with_grad(z, w.astype(np.float32), y,
                                                 chunk_size=_TILE_CHUNK, reduction="sum")
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(zt, torch.tensor(y), reduction="sum")
    ref.backward()
    np.testing.assert_allclose(float(loss), ref.item(), rtol=2e-6)
    np.testing.assert_allclose(g.hidden, zt.grad.numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.sampled_from([1.0, 30.0, 300.0]),
       shift=st.sampled_from([0.0, 80.0, -150.0]))
def test_tile_kernel_confident_rows_as_accurate_as_the_fused_kernel(seed, scale, shift):
    """Float64 scores through the tiles give each row's loss as the fused kernel
    does (log1p of the rest over the label's term), to a few roundings: never
    negative, and confident rows keep their digits (loss 1e-13 not 0 or -1e-16)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=(600, 1500)) + shift
    z, w, y = _tile_case(z, seed=seed)
    z[np.arange(0, 600, 3), y[::3]] += 40.0  # a third of the rows confident
    rows = sml.linear_cross_entropy(z, w, y, chunk_size=_TILE_CHUNK, reduction="none")
    ref = sml.cross_entropy(z, y, reduction="none")
    assert (rows >= 0).all()
    np.testing.assert_allclose(rows, ref, rtol=1e-12, atol=0)


def test_tile_kernel_float32_losses_never_negative_and_gradients_sum_to_zero():
    rng = np.random.default_rng(8)
    z = rng.normal(scale=2.0, size=(600, 1500)).astype(np.float32)
    y = rng.integers(0, 1500, size=600)
    z[np.arange(600), y] += 25.0  # every row confident
    w = np.eye(1500, dtype=np.float32)
    rows = sml.linear_cross_entropy(z, w, y, chunk_size=_TILE_CHUNK, reduction="none")
    assert rows.dtype == np.float32 and (rows >= 0).all()
    ref = sml.cross_entropy(z.astype(np.float64), y, reduction="none")
    np.testing.assert_allclose(rows, ref, rtol=1e-5)
    _, g = sml.linear_cross_entropy_with_grad(z, w, y, chunk_size=_TILE_CHUNK, reduction="sum")
    _, dz = sml.cross_entropy_with_grad(z.astype(np.float64), y, reduction="sum")
    np.testing.assert_allclose(g.hidden, dz, rtol=1e-5, atol=1e-7)  # the label's entry too


def test_tile_kernel_gradient_factor_below_the_normal_range_takes_the_shift():
    """float32 scores near 80 everywhere: exp(z) is finite, but 1 / (N * sum) is
    below float32's normal range, so the rows take exp(z - lse) * c instead."""
    rng = np.random.default_rng(9)
    z = (80.0 + rng.normal(scale=0.5, size=(600, 1500))).astype(np.float32)
    y = rng.integers(0, 1500, size=600)
    w = np.eye(1500, dtype=np.float32)
    _, g = sml.linear_cross_entropy_with_grad(z, w, y, chunk_size=_TILE_CHUNK)
    _, dz = sml.cross_entropy_with_grad(z.astype(np.float64), y)
    np.testing.assert_allclose(g.hidden, dz, rtol=1e-4, atol=1e-10)


def test_tile_kernel_blas_threads_are_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()
              if i["user_api"] == "blas"]
    h, w, b, y = _case(600, 7, 1500)
    sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=_TILE_CHUNK)
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info()
             if i["user_api"] == "blas"]
    assert after == before


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("blas_split", [True, False])
@pytest.mark.parametrize("eps,reduction,chunk", [(0.0, "mean", None), (0.1, "sum", 450_000),
                                                 (0.0, "none", 256 * 1500)])
def test_whole_row_blocks_on_threads_agree_with_materialised(
        monkeypatch, threads, blas_split, eps, reduction, chunk):
    """Blocks of whole rows (600 x 1500 scores: one block by default, 300 or 256
    rows otherwise) with each worker's rows through the fused kernel."""
    from softmaxlab.kernels import tiles as T
    monkeypatch.setattr(T, "default_num_threads", lambda: threads)
    if not blas_split:
        monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)
    h, w, b, y = _case(600, 7, 1500, ignore=(3, 599), seed=threads)
    assert _tiled(600, 1500, chunk or L.default_chunk_size(600, 1500))[1] == 1500
    _check_against_materialised(h, w, b, y, chunk, rtol=1e-9, reduction=reduction,
                                label_smoothing=eps)
    loss_only = sml.linear_cross_entropy(h, w, y, bias=b, chunk_size=chunk, reduction="none")
    assert loss_only.shape == (600,) and loss_only[3] == 0 and (loss_only >= 0).all()


# --------------------------------------------------------------------------- return types, devices
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("chunk", [None, 5])  # whole rows; tiles of the vocabulary
@pytest.mark.parametrize("ignore", [(), (1,)])
def test_reduced_loss_is_a_0d_array_like_cross_entropy(reduction, chunk, ignore):
    h, w, b, y = _case(6, 3, 7, ignore=ignore)
    for dtype in (np.float16, np.float32, np.float64):
        hh, ww, bb = (a.astype(dtype) for a in (h, w, b))
        loss = sml.linear_cross_entropy(hh, ww, y, bias=bb, reduction=reduction, chunk_size=chunk)
        loss2, _ = sml.linear_cross_entropy_with_grad(hh, ww, y, bias=bb, reduction=reduction,
                                                      chunk_size=chunk)
        ref = sml.cross_entropy(hh @ ww.T + bb, y, reduction=reduction)
        for got in (loss, loss2):
            assert type(got) is np.ndarray and got.shape == ref.shape, type(got)
            assert got.dtype == ref.dtype
    got = sml.linear_cross_entropy(h.tolist(), w.tolist(), y.tolist(), reduction=reduction)
    assert type(got) is np.ndarray


@pytest.mark.parametrize("chunk", [None, 5])
@pytest.mark.parametrize("ignore", [(), (2,)])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_results_stay_on_the_inputs_device(chunk, ignore, smoothing):
    xps = pytest.importorskip("array_api_strict")
    dev = xps.Device("device1")
    h, w, b, y = _case(6, 3, 7, ignore=ignore)
    on = [xps.asarray(a, device=dev) for a in (h, w, y, b)]
    for reduction in ("mean", "none"):
        kw = dict(bias=on[3], chunk_size=chunk, reduction=reduction, label_smoothing=smoothing)
        loss, g = sml.linear_cross_entropy_with_grad(*on[:3], **kw)
        assert loss.device == dev and g.hidden.device == dev
        assert g.weight.device == dev and g.bias.device == dev
        assert sml.linear_cross_entropy(*on[:3], **kw).device == dev
        ref, gr = sml.linear_cross_entropy_with_grad(h, w, y, bias=b, chunk_size=chunk,
                                                     reduction=reduction,
                                                     label_smoothing=smoothing)
        np.testing.assert_allclose(sml.to_numpy(loss), ref, rtol=1e-12)
        for a, r in zip(g, gr):
            np.testing.assert_allclose(sml.to_numpy(a), r, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chunk", [None, 1, 7])
@pytest.mark.parametrize("with_bias", [False, True])
def test_no_features_h_0_gives_the_loss_of_the_bias_alone(chunk, with_bias):
    """H = 0: every score is the bias (or 0), as for F.linear; it crashed in the
    thread split of the weight gradient (a division by the 0 columns)."""
    y = np.array([0, 1, 2, 1])
    b = np.array([0.0, 1.0, 2.0, -1.0, 0.5]) if with_bias else None
    loss, g = sml.linear_cross_entropy_with_grad(np.zeros((4, 0)), np.zeros((5, 0)), y, bias=b,
                                                 chunk_size=chunk)
    z = np.zeros((4, 5)) + (0.0 if b is None else b)
    want, gz = sml.cross_entropy_with_grad(z, y)
    np.testing.assert_allclose(loss, want, rtol=1e-14)
    assert g.hidden.shape == (4, 0) and g.weight.shape == (5, 0)
    if with_bias:
        np.testing.assert_allclose(g.bias, gz.sum(axis=0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("masked", [slice(48, 64), slice(0, 16), slice(20, 37), slice(0, 63)])
@pytest.mark.parametrize("chunk", [None, 16, 5, 48, 1])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_a_range_of_classes_masked_by_a_minus_inf_bias(lib, masked, chunk, eps):
    """A vocabulary tile whose scores are all -inf (a masked range of classes) adds
    nothing: it gave NaN when it was the first tile or needed the shift."""
    rng = np.random.default_rng(0)
    h, w = rng.normal(size=(8, 4)), rng.normal(size=(64, 4))
    b = np.zeros(64)
    b[masked] = -np.inf
    free = np.setdiff1d(np.arange(64), np.arange(64)[masked])
    y = rng.choice(free, 8)
    _check_against_materialised(h, w, b, y, chunk, lib=lib, label_smoothing=eps)


@pytest.mark.parametrize("chunk", [None, 5, 3])
@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_a_label_masked_by_its_bias_with_smoothing_is_inf(lib, chunk, eps):
    rng = np.random.default_rng(1)
    h, w = rng.normal(size=(2, 3)), rng.normal(size=(10, 3))
    b = np.zeros(10)
    b[4] = -np.inf
    y = np.array([4, 1])
    want = sml.cross_entropy(h @ w.T + b, y, label_smoothing=eps, reduction="none")
    got = sml.linear_cross_entropy(lib.asarray(h), lib.asarray(w), lib.asarray(y), bias=lib.asarray(b),
                                   label_smoothing=eps, chunk_size=chunk, reduction="none")
    np.testing.assert_array_equal(sml.to_numpy(got), want)
    assert np.isinf(want).all()


@pytest.mark.parametrize("chunk", [None, 7, 1])
def test_an_empty_batch_gives_zero_loss_and_zero_weight_gradient(chunk):
    loss, g = sml.linear_cross_entropy_with_grad(np.zeros((0, 5)), np.ones((13, 5)), np.zeros(0, int),
                                                 bias=np.zeros(13), chunk_size=chunk, reduction="sum")
    assert float(loss) == 0.0 and g.hidden.shape == (0, 5)
    assert not g.weight.any() and not g.bias.any()


def test_longdouble_is_refused_with_the_dtypes_it_takes():
    h, w = np.ones((5, 4), np.longdouble), np.ones((40, 4), np.longdouble)
    if np.dtype(np.longdouble) == np.float64:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(TypeError, match=r"linear_cross_entropy: argument 'hidden' must have float16, "
                                        r"float32 or float64"):
        sml.linear_cross_entropy(h, w, np.zeros(5, int))
