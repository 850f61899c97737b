"""softmaxlab against PyTorch's own test data (peer audit).

The samples come from the PyTorch wheel: ``torch.testing._internal.common_nn``
(the NLLLoss / MultiMarginLoss ``*_no_reduce_test`` entries and the
``criterion_tests`` no-batch-dim entries), ``common_modules.module_db``
(CrossEntropyLoss, NLLLoss, MultiMarginLoss) and the OpInfo ``sample_inputs`` of
``nn.functional.cross_entropy``, ``nn.functional.nll_loss``,
``nn.functional.multi_margin_loss``, ``softmax``, ``log_softmax`` and
``logsumexp``, plus hand-written edge cases.  Each runs in float32 and float64 on
the CPU; forward values and the gradient with respect to the scores are compared
(rtol 1e-5 / 1e-10).

Mapping: NLLLoss samples are compared as ``nll_loss(log_softmax(x)) ==
cross_entropy(x)``; ``multi_margin_loss == multiclass_hinge / C`` (deliberate: the
hinge is not divided by C).  Deliberate differences (listed in ``book/api.md``,
"Differences from PyTorch, SciPy, JAX and Caffe") are skipped with the difference as the
reason; everything else must match.
"""

from __future__ import annotations

import sys
import types
import unittest

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import softmaxlab as sml  # noqa: E402


def _import_torch_internal():
    """torch.testing._internal needs `expecttest` only for a TestCase base class;
    a stand-in is used (and removed again) when it is not installed."""
    stub = None
    try:
        import expecttest  # noqa: F401
    except ImportError:
        stub = types.ModuleType("expecttest")
        stub.TestCase = unittest.TestCase
        sys.modules["expecttest"] = stub
    try:
        from torch.testing._internal import common_nn
        from torch.testing._internal.common_methods_invocations import op_db
        from torch.testing._internal.common_modules import module_db
    except Exception as exc:  # pragma: no cover - depends on the torch build
        pytest.skip(f"torch.testing._internal unavailable: {exc!r}", allow_module_level=True)
    finally:
        if stub is not None and sys.modules.get("expecttest") is stub:
            del sys.modules["expecttest"]
    return common_nn, op_db, module_db


common_nn, op_db, module_db = _import_torch_internal()
torch.set_num_threads(1)


class Case:
    """One sample: `kind` in ce, nll, hinge, softmax, log_softmax, logsumexp."""

    def __init__(self, id, kind, x, target=None, kw=None, layout=None, ours_target=None):
        self.id, self.kind, self.x, self.target = id, kind, x, target
        self.kw = dict(kw or {})
        self.layout = layout            # "F" or "strided": how softmaxlab receives the scores
        self.ours_target = ours_target  # softmaxlab's target when it differs from PyTorch's


_KIND = {"NLLLoss": "nll", "CrossEntropyLoss": "ce", "MultiMarginLoss": "hinge"}


def _common_nn_cases():
    import re

    out = []
    for fname in sorted(dir(common_nn)):
        if not (fname.startswith(("nllloss", "multimarginloss")) and fname.endswith("_test")):
            continue
        d = getattr(common_nn, fname)()
        x = d["input"] if "input" in d else d["input_fn"]()
        var, call = d["cpp_var_map"], d["cpp_function_call"]
        kw = {"reduction": "none"}
        for k in ("weight", "weights"):
            if k in var:
                kw["weight"] = var[k].double()
        for pat, key, conv in ((r"ignore_index\((-?\d+)\)", "ignore_index", int),
                               (r"\.p\((\d+)\)", "p", int), (r"margin\(([-\d.]+)\)", "margin", float)):
            m = re.search(pat, call)
            if m:
                kw[key] = conv(m.group(1))
        kind = "nll" if fname.startswith("nll") else "hinge"
        out.append(Case("common_nn-" + d["fullname"], kind, x.double(), var["t"].long(), kw))
    for d in common_nn.criterion_tests:
        if d["fullname"].startswith(tuple(_KIND)):
            mod = d["constructor"]()
            out.append(Case("criterion_tests-" + d["fullname"], _KIND[type(mod).__name__],
                            d["input_fn"]().double(), d["target_fn"](), {"reduction": mod.reduction}))
    return out


def _module_db_cases():
    out = []
    for info in module_db:
        name = info.module_cls.__name__
        if name not in _KIND:
            continue
        samples = info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                          requires_grad=False, training=True)
        for k, mi in enumerate(samples):
            x, t = mi.forward_input.args[:2]
            desc = getattr(mi, "desc", "") or "default"
            out.append(Case(f"module_db-{name}-{desc}-{k}", _KIND[name], x, t,
                            dict(mi.constructor_input.kwargs)))
    return out


def _shp(shape) -> str:
    return "x".join(map(str, shape)) or "0d"


def _dims(d) -> str:
    return ",".join(map(str, d)) if isinstance(d, (tuple, list)) else str(d)


def _opinfo_cases():
    want = {"nn.functional.cross_entropy": "ce", "nn.functional.multi_margin_loss": "hinge",
            "nn.functional.nll_loss": "nll", "softmax": "softmax", "log_softmax": "log_softmax",
            "logsumexp": "logsumexp"}
    out = []
    for op in op_db:
        if op.name not in want:
            continue
        kind = want[op.name]
        vt = ("-" + op.variant_test_name) if op.variant_test_name else ""
        for k, s in enumerate(op.sample_inputs("cpu", torch.float64)):
            kw = dict(s.kwargs)
            shape = _shp(s.input.shape)
            if kind in ("softmax", "log_softmax"):
                kw.pop("dtype", None)
                kw["dim"] = s.args[0]
                out.append(Case(f"opinfo-{op.name}{vt}-{k}-{shape}-dim{_dims(s.args[0])}", kind, s.input,
                                None, kw))
            elif kind == "logsumexp":
                kw["dim"], kw["keepdim"] = s.args[0], s.args[1]
                out.append(Case(f"opinfo-logsumexp-{k}-{shape}-dim{_dims(s.args[0])}-keep{s.args[1]}",
                                kind, s.input, None, kw))
            else:
                t = s.args[0]
                kd = "-".join(f"{a}={'T' if isinstance(b, torch.Tensor) else b}" for a, b in kw.items())
                cid = f"opinfo-{op.name}-{k}-{shape}-t{_shp(t.shape)}{str(t.dtype)[6:]}"
                out.append(Case(cid + (f"-{kd}" if kd else ""), kind, s.input, t, kw))
                w = kw.get("weight")
                if isinstance(w, torch.Tensor) and bool((w < 0).any()):
                    # the same sample with |weight|: the math, apart from the sign check
                    kw2 = dict(kw, weight=w.abs())
                    out.append(Case(cid + (f"-{kd}" if kd else "") + "-absweight", kind, s.input, t, kw2))
                if kw.get("margin", 0) < 0:
                    out.append(Case(cid + "-margin=+3.14", kind, s.input, t, dict(kw, margin=3.14)))
    return out


def _extra_cases():
    """Hand-written edge cases (beyond PyTorch's samples)."""
    g = torch.Generator().manual_seed(1234)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    def lab(hi, *shape):
        return torch.randint(0, hi, shape, generator=g)

    x, y = r(6, 5), torch.tensor([0, 4, 4, 1, 2, 3])
    q = torch.softmax(r(6, 5), 1)
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    ninf = float("-inf")
    xi = torch.tensor([[0.0, ninf, 1.0], [ninf, 0.0, ninf], [2.0, 1.0, ninf]], dtype=torch.float64)
    big = torch.tensor([[1e4, 0, 1], [0, 1e4, 2], [1, 2, -1e4]], dtype=torch.float64)
    c = [
        Case("extra-4d-mean", "ce", r(2, 3, 4, 5), lab(3, 2, 4, 5)),
        Case("extra-4d-weight-ls-ignore-mean", "ce", r(2, 3, 4, 5),
             torch.where(lab(4, 2, 4, 5) == 3, -100, lab(3, 2, 4, 5)),
             {"weight": w[:3], "label_smoothing": 0.2}),
        Case("extra-unbatched-0d-target", "ce", r(5), torch.tensor(3)),
        Case("extra-unbatched-prob", "ce", r(5), q[0]),
        Case("extra-unbatched-hinge", "hinge", r(5), torch.tensor(2)),
        Case("extra-C1", "ce", r(4, 1), torch.zeros(4, dtype=torch.long)),
        Case("extra-C1-smoothing", "ce", r(4, 1), torch.zeros(4, dtype=torch.long), {"label_smoothing": 0.3}),
        Case("extra-C1-hinge", "hinge", r(4, 1), torch.zeros(4, dtype=torch.long)),
        Case("extra-empty-sum", "ce", r(0, 5), lab(5, 0), {"reduction": "sum"}),
        Case("extra-empty-none", "ce", r(0, 5), lab(5, 0), {"reduction": "none"}),
        Case("extra-empty-mean", "ce", r(0, 5), lab(5, 0), {"reduction": "mean"}),
        Case("extra-empty-hinge-mean", "hinge", r(0, 5), lab(5, 0), {"reduction": "mean"}),
        Case("extra-all-ignored-mean", "ce", x, torch.full((6,), -100), {}),
        Case("extra-all-zero-weight-mean", "ce", x, y, {"weight": torch.zeros(5, dtype=torch.float64)}),
        Case("extra-prob-ls-weight-mean", "ce", x, q, {"weight": w, "label_smoothing": 0.3}),
        Case("extra-prob-ls-weight-sum", "ce", x, q, {"weight": w, "label_smoothing": 0.3, "reduction": "sum"}),
        Case("extra-prob-ls-weight-none", "ce", x, q, {"weight": w, "label_smoothing": 0.3, "reduction": "none"}),
        Case("extra-prob-unnormalised", "ce", x, 3 * q),
        Case("extra-ls-1.0", "ce", x, y, {"label_smoothing": 1.0}),
        Case("extra-big-logits-1e4", "ce", big, torch.tensor([0, 2, 1]), {"label_smoothing": 0.1}),
        Case("extra-big-logits-1e4-hinge", "hinge", big, torch.tensor([0, 2, 1]), {"p": 2}),
        Case("extra-ninf-nonlabel", "ce", xi, torch.tensor([0, 1, 0])),
        Case("extra-ninf-nonlabel-ls", "ce", xi, torch.tensor([0, 1, 0]), {"label_smoothing": 0.1}),
        Case("extra-ninf-at-label-none", "ce", xi, torch.tensor([1, 1, 0]), {"reduction": "none"}),
        Case("extra-nan-logit", "ce", torch.tensor([[float("nan"), 0.0, 1.0]], dtype=torch.float64),
             torch.tensor([0])),
        Case("extra-F-order", "ce", r(5, 8), lab(8, 5), {"weight": torch.arange(1.0, 9.0, dtype=torch.float64)},
             layout="F"),
        Case("extra-strided", "ce", r(5, 8), lab(8, 5), {"label_smoothing": 0.1}, layout="strided"),
        Case("extra-strided-hinge", "hinge", r(5, 8), lab(8, 5), {"p": 2, "margin": 0.5}, layout="strided"),
        Case("extra-F-order-4d", "ce", r(2, 3, 4, 5), lab(3, 2, 4, 5), layout="F"),
    ]
    for ii in (-100, 0, 4, 7, -1):
        c.append(Case(f"extra-ignore_index={ii}", "ce", x, y, {"ignore_index": ii, "weight": w}))
    for dt in ("int32", "uint8", "int16"):
        c.append(Case(f"extra-target-{dt}", "ce", x, y, ours_target=y.numpy().astype(dt)))
        c.append(Case(f"extra-target-{dt}-hinge", "hinge", x, y, ours_target=y.numpy().astype(dt)))
    return c


def _seeded(fn):
    torch.manual_seed(0)
    return fn()


CASES = [c for fn in (_common_nn_cases, _module_db_cases, _opinfo_cases, _extra_cases) for c in _seeded(fn)]
assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


# --------------------------------------------------------------------------- #
# Triage: deliberate differences (skip) and defects (strict xfail)
# --------------------------------------------------------------------------- #
_D_MEAN0 = "deliberate: a 'mean' over a zero normaliser is 0, not PyTorch's NaN"
_D_NAN = "deliberate: NaN / +inf in a non-ignored row raises ValueError (PyTorch: NaN)"

_D_EMPTY = ("deliberate: an empty batch with reduction='mean' (or 'full', 'batch_size') raises "
            "ValueError, almost always a slicing mistake (PyTorch: NaN for cross_entropy, "
            "uninitialised memory for multi_margin_loss)")
_D_0D_HINGE = ("deliberate: 0-d scores have no class axis for multiclass_hinge (PyTorch's "
               "multi_margin_loss reads them as one class, loss 0); softmax, log_softmax and "
               "logsumexp take 0-d input")


def _triage(case: Case):
    """The deliberate difference a case meets, as ``(kind, reason)``, or None.

    kind is what softmaxlab does there instead of PyTorch's answer: ``"zero"``
    (a mean over a zero normaliser is 0) or ``"raises"`` (a ValueError).  Such
    cases check that behaviour rather than being skipped, so that they count
    (and a PyTorch reference test never skips under SOFTMAXLAB_REQUIRE_TORCH).
    """
    cid, kw = case.id, case.kw
    if cid.startswith("extra-"):
        return {"extra-all-ignored-mean": ("zero", _D_MEAN0), "extra-all-zero-weight-mean": ("zero", _D_MEAN0),
                "extra-nan-logit": ("raises", _D_NAN), "extra-empty-mean": ("raises", _D_EMPTY),
                "extra-empty-hinge-mean": ("raises", _D_EMPTY)}.get(cid)
    w = kw.get("weight")
    t = case.target
    if (case.kind in ("ce", "nll") and kw.get("reduction", "mean") == "mean" and t is not None
            and not t.is_floating_point() and t.numel()):
        kept = t != kw.get("ignore_index", -100)
        wy = (w[t.clamp(0, case.x.shape[0 if case.x.ndim == 1 else 1] - 1)] if w is not None
              else torch.ones(t.shape, dtype=torch.float64))
        if not bool(kept.any()):  # random samples can hit this
            return ("zero", _D_MEAN0)
        if float((wy * kept).sum()) == 0.0:  # weights of both signs that cancel, or all 0
            return ("zero", _D_MEAN0) if not bool((wy * kept != 0).any()) else ("raises", _D_MEAN0)
    if case.x.ndim == 0 and case.kind == "hinge":
        return ("raises", _D_0D_HINGE)
    return None


def _params():
    return [pytest.param(case, dt, id=f"{case.id}-{dt}") for case in CASES
            for dt in ("float32", "float64")]


# --------------------------------------------------------------------------- #
# Running one sample both ways
# --------------------------------------------------------------------------- #
def _cast(v, dtype):
    return v.detach().to(dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v


def _torch(case: Case, dtype):
    x = case.x.detach().to(dtype).clone().requires_grad_(True)
    t = _cast(case.target, dtype)
    kw = {k: _cast(v, dtype) for k, v in case.kw.items()}
    if case.kind == "ce":
        out = F.cross_entropy(x, t, **kw)
    elif case.kind == "nll":
        out = F.nll_loss(F.log_softmax(x, dim=0 if x.ndim == 1 else 1), t, **kw)
    elif case.kind == "hinge":
        out = F.multi_margin_loss(x, t, **kw)
    elif case.kind == "softmax":
        out = F.softmax(x, **kw)
    elif case.kind == "log_softmax":
        out = F.log_softmax(x, **kw)
    else:
        out = torch.logsumexp(x, **kw)
    grad = None
    if case.kind in ("ce", "nll", "hinge"):
        out.backward(torch.ones_like(out))
        grad = x.grad.numpy()
    return out.detach().numpy(), grad


def _ours(case: Case, dtype):
    x = case.x.detach().to(dtype).numpy()
    if case.layout == "F":
        x = np.asfortranarray(x)
    elif case.layout == "strided":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
        assert not x.flags.c_contiguous
    t = case.ours_target
    if t is None and case.target is not None:
        t = _cast(case.target, dtype).numpy()
    kw = {k: (_cast(v, dtype).numpy() if isinstance(v, torch.Tensor) else v) for k, v in case.kw.items()}
    if case.kind in ("ce", "nll"):
        loss, g = sml.cross_entropy_with_grad(x, t, **kw)
        return np.asarray(loss), g
    if case.kind == "hinge":
        C = x.shape[1] if x.ndim > 1 else (x.shape[0] if x.ndim == 1 else 1)
        loss, g = sml.multiclass_hinge_with_grad(x, t, **kw)
        loss = np.asarray(loss)
        return loss / loss.dtype.type(C), g / g.dtype.type(C)  # MultiMarginLoss == hinge / C
    kw["axis"] = kw.pop("dim")
    if case.kind in ("softmax", "log_softmax"):
        return np.asarray(getattr(sml, case.kind)(x, **kw)), None
    kw["keepdims"] = kw.pop("keepdim")
    if isinstance(kw["axis"], list):
        kw["axis"] = tuple(kw["axis"])
    return np.asarray(sml.logsumexp(x, **kw)), None


def _close(got, ref, rtol, what):
    scale = max(1.0, float(np.max(np.abs(ref[np.isfinite(ref)]), initial=0.0)))
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale, err_msg=what)


@pytest.mark.parametrize(("case", "dtype"), _params())
def test_matches_pytorch(case, dtype):
    tdt = getattr(torch, dtype)
    deliberate = _triage(case)
    if deliberate is not None and deliberate[0] == "raises":
        with pytest.raises(ValueError):
            _ours(case, tdt)
        return
    ref, ref_grad = _torch(case, tdt)
    got, grad = _ours(case, tdt)
    if deliberate is not None:  # "zero": a mean over no weight is 0, with a zero gradient
        assert np.all(got == 0.0), deliberate[1]
        assert grad is None or not np.any(grad), deliberate[1]
        return
    rtol = 1e-5 if dtype == "float32" else 1e-10
    assert got.shape == ref.shape, f"loss shape {got.shape}, PyTorch {ref.shape}"
    assert got.dtype == np.dtype(dtype), f"loss dtype {got.dtype}, expected {dtype}"
    _close(got, ref, rtol, "forward")
    if ref_grad is not None:
        assert grad.shape == ref_grad.shape, f"grad shape {grad.shape}, PyTorch {ref_grad.shape}"
        assert grad.dtype == np.dtype(dtype), f"grad dtype {grad.dtype}, expected {dtype}"
        _close(grad, ref_grad, rtol, "grad")


# --------------------------------------------------------------------------- #
# Deliberate behaviours, checked as such
# --------------------------------------------------------------------------- #
def test_all_ignored_mean_is_zero():
    x = np.random.default_rng(0).standard_normal((3, 4))
    loss, g = sml.cross_entropy_with_grad(x, np.full(3, -100))
    assert float(loss) == 0.0 and not g.any()


@pytest.mark.parametrize("reduction", ["mean", "full", "batch_size"])
def test_empty_batch_mean_is_an_error_and_sum_is_zero(reduction):
    x, y = np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match=rf"reduction='{reduction}' needs at least one position; "
                                         r"found an empty batch of shape \(0,\)"):
        sml.cross_entropy_with_grad(x, y, reduction=reduction)
    loss, g = sml.cross_entropy_with_grad(x, y, reduction="sum")
    assert float(loss) == 0.0 and g.shape == (0, 4)


def test_float16_gives_float32_loss_matching_pytorch_float32():
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float16)
    y = np.array([0, 5, 2, 3])
    loss, g = sml.cross_entropy_with_grad(x, y, label_smoothing=0.2, weight=np.arange(1.0, 7.0))
    xt = torch.from_numpy(x.astype(np.float32)).requires_grad_(True)
    ref = F.cross_entropy(xt, torch.from_numpy(y), label_smoothing=0.2,
                          weight=torch.arange(1.0, 7.0))
    ref.backward()
    assert loss.dtype == np.float32 and g.dtype == np.float16
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(g.astype(np.float32), xt.grad.numpy(), rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("bad", ["Mean", "SUM", None, "elementwise_mean"], ids=repr)
def test_bad_reduction_message(bad):
    with pytest.raises(ValueError, match=r"cross_entropy: argument 'reduction' must be one of .*; found"):
        sml.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction=bad)


@pytest.mark.parametrize("ls", [-0.1, 1.1, float("nan")], ids=repr)
def test_label_smoothing_out_of_range_message(ls):
    with pytest.raises(ValueError, match=r"argument 'label_smoothing' must be a finite number in \[0"):
        sml.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=ls)


@pytest.mark.parametrize("label", [5, -1], ids=str)
def test_out_of_range_label_message(label):
    with pytest.raises(ValueError, match=rf"holds class label {label} at position \(1,\); expected labels"):
        sml.cross_entropy(np.zeros((2, 5)), np.array([0, label]))
