"""softmaxlab.interactive: the arithmetic behind each frame, and the widgets' wiring.

The frames are checked against NumPy/SciPy written out independently; the
classifier step against a hand-written step and central differences in
float64.  The explorers run with ``IPython.display.display`` replaced by a
recorder (no kernel, no browser): the still is a PNG, the controls are
ipywidgets, and moving a control redraws the same output with a new picture.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax as sp_softmax

import softmaxlab as sml
from softmaxlab import interactive as si

Z = np.array([3.0, 1.0, 0.2, -1.5])


@pytest.mark.parametrize("t", [0.05, 0.5, 1.0, 3.0, 50.0])
def test_temperature_frame_matches_scipy(t):
    f = si.temperature_frame(Z, t)
    ref = sp_softmax(Z / t)
    np.testing.assert_allclose(f["p"], ref, rtol=1e-13, atol=1e-300)
    nz = ref[ref > 0]
    assert f["entropy"] == pytest.approx(-(nz * np.log(nz)).sum(), rel=1e-12, abs=1e-15)
    assert f["max_p"] == ref.max() and f["argmax"] == 0


def test_temperature_limits():
    hot = si.temperature_frame(Z, 1e6)
    assert hot["entropy"] == pytest.approx(np.log(Z.size), rel=1e-9)
    cold = si.temperature_frame(Z, 1e-3)
    assert cold["max_p"] == pytest.approx(1.0) and cold["entropy"] < 1e-12


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("y", [0, 2])
def test_label_smoothing_frame_matches_numpy(eps, y):
    f = si.label_smoothing_frame(Z, y, eps)
    k = Z.size
    q = np.full(k, eps / k)
    q[y] += 1 - eps
    p = sp_softmax(Z)
    np.testing.assert_allclose(f["target"], q, rtol=0, atol=1e-15)
    assert f["target"].sum() == pytest.approx(1.0, abs=1e-15)
    assert f["loss"] == pytest.approx(-(q * np.log(p)).sum(), rel=1e-13)
    np.testing.assert_allclose(f["grad"], p - q, atol=1e-15)


def test_label_smoothing_loss_is_at_least_the_entropy_of_the_target():
    eps = 0.3
    f = si.label_smoothing_frame(Z, 0, eps)
    q = f["target"]
    assert f["loss"] >= -(q * np.log(q)).sum()
    # ... with equality when p = q, i.e. z = log q
    g = si.label_smoothing_frame(np.log(q), 0, eps)
    assert g["loss"] == pytest.approx(-(q * np.log(q)).sum(), rel=1e-13)


def test_blobs_are_seeded_and_shaped():
    X, y = si.blobs(5, 4, seed=3)
    X2, y2 = si.blobs(5, 4, seed=3)
    assert X.shape == (20, 2) and y.shape == (20,) and y.dtype == np.int64
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(np.bincount(y), [5, 5, 5, 5])


def _total_loss(W, b, X, y, loss, margin, lam):
    S = X @ W + b
    if loss == "softmax":
        d = float(sml.cross_entropy(S, y))
    else:
        d = float(sml.multiclass_hinge(S, y, margin=margin))
    return d + 0.5 * lam * float((W * W).sum())


def _central_differences(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("loss", ["softmax", "hinge"])
def test_classifier_step_against_hand_written_step_and_central_differences(loss):
    X, y = si.blobs(6, 3, seed=1)
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 3)), 0.1 * rng.standard_normal(3)
    W0, b0 = W.copy(), b.copy()
    lam, lr, margin = 0.05, 0.3, 1.5
    s = si.linear_classifier_step(W, b, X, y, loss=loss, margin=margin,
                                  weight_decay=lam, learning_rate=lr)
    np.testing.assert_array_equal(W, W0)  # inputs untouched
    np.testing.assert_array_equal(b, b0)
    # hand-written data loss
    S = X @ W + b
    N = len(y)
    if loss == "softmax":
        P = sp_softmax(S, axis=1)
        ref = -np.log(P[np.arange(N), y]).mean()
    else:
        m = np.maximum(0, S - S[np.arange(N), y][:, None] + margin)
        m[np.arange(N), y] = 0
        ref = m.sum(axis=1).mean()
    assert s["data_loss"] == pytest.approx(ref, rel=1e-12)
    assert s["reg_loss"] == pytest.approx(0.5 * lam * (W**2).sum(), rel=1e-14)
    assert s["accuracy"] == pytest.approx((S.argmax(1) == y).mean())
    # the step is -lr times the gradient of the total loss (central differences)
    gW = _central_differences(lambda V: _total_loss(V, b, X, y, loss, margin, lam), W)
    gb = _central_differences(lambda v: _total_loss(W, v, X, y, loss, margin, lam), b)
    np.testing.assert_allclose((W - s["W"]) / lr, gW, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose((b - s["b"]) / lr, gb, rtol=1e-6, atol=1e-8)


def test_sgd_on_the_blobs_reduces_the_loss_and_separates_them():
    X, y = si.blobs(12, 3, seed=0)
    W, b = np.zeros((2, 3)), np.zeros(3)
    first = None
    for _ in range(200):
        s = si.linear_classifier_step(W, b, X, y, weight_decay=1e-3)
        first = s["loss"] if first is None else first
        W, b = s["W"], s["b"]
    assert first == pytest.approx(np.log(3))
    assert s["loss"] < 0.5 * first and s["accuracy"] >= 0.9


def test_decision_regions_are_the_argmax_of_the_scores():
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((2, 4)), rng.standard_normal(4)
    xx, yy, lab = si.decision_regions(W, b, extent=2.0, resolution=17)
    assert xx.shape == yy.shape == lab.shape == (17, 17)
    i, j = 5, 11
    pt = np.array([xx[i, j], yy[i, j]])
    assert lab[i, j] == int(np.argmax(pt @ W + b))
    assert xx[0, 0] == -2.0 and xx[0, -1] == 2.0


@pytest.mark.parametrize("call, match", [
    (lambda: si.temperature_frame([1.0]), "argument 'z'"),
    (lambda: si.temperature_frame([1.0, np.nan]), "argument 'z'"),
    (lambda: si.temperature_frame([1.0, 2.0], 0.0), "temperature"),
    (lambda: si.label_smoothing_frame([1.0, 2.0], 2), "argument 'y'"),
    (lambda: si.label_smoothing_frame([1.0, 2.0], 0, 1.5), "label_smoothing"),
    (lambda: si.blobs(3, 9), "argument 'k'"),
    (lambda: si.linear_classifier_step(np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)),
                                       np.array([0]), loss="svm"), "argument 'loss'"),
    (lambda: si.linear_classifier_step(np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)),
                                       np.array([0]), weight_decay=-1), "weight_decay"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------
# The explorers, with a recording display
# --------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.shown: list = []
        self.updates: list = []

    def display(self, obj, display_id=None):
        self.shown.append(obj)
        if display_id:
            rec = self

            class Handle:
                def update(self, new):
                    rec.updates.append(new)
            return Handle()
        return None


@pytest.fixture
def recorder(monkeypatch):
    pytest.importorskip("ipywidgets")
    pytest.importorskip("matplotlib")
    import IPython.display
    rec = Recorder()
    monkeypatch.setattr(IPython.display, "display", rec.display)
    return rec


def _png_bytes(obj) -> bytes:
    from IPython.display import Image
    assert isinstance(obj, Image) and obj.format == "png"
    assert obj.data[:8] == b"\x89PNG\r\n\x1a\n"
    return obj.data


def _widgets(obj):
    import ipywidgets as w
    if isinstance(obj, w.Box):
        for c in obj.children:
            yield from _widgets(c)
    yield obj


def test_temperature_explorer_still_then_slider_redraws(recorder):
    import ipywidgets as w
    si.temperature_explorer()
    still, slider = recorder.shown
    first = _png_bytes(still)
    assert isinstance(slider, w.FloatLogSlider) and slider.value == 1.0
    slider.value = 5.0
    assert len(recorder.updates) == 1
    assert _png_bytes(recorder.updates[0]) != first


def test_label_smoothing_explorer_redraws(recorder):
    si.label_smoothing_explorer(epsilon=0.1)
    still, slider = recorder.shown
    first = _png_bytes(still)
    slider.value = 0.6
    assert _png_bytes(recorder.updates[-1]) != first


def test_linear_classifier_demo_steps_and_switches_loss(recorder):
    import ipywidgets as w
    si.linear_classifier_demo()
    still, box = recorder.shown
    first = _png_bytes(still)
    ws = list(_widgets(box))
    buttons = {b.description: b for b in ws if isinstance(b, w.Button)}
    assert set(buttons) == {"1 step", "10 steps", "reset"}
    buttons["10 steps"].click()
    after_steps = _png_bytes(recorder.updates[-1])
    assert after_steps != first
    (toggle,) = [c for c in ws if isinstance(c, w.ToggleButtons)]
    toggle.value = "hinge"
    assert _png_bytes(recorder.updates[-1]) != after_steps
    buttons["reset"].click()
    assert len(recorder.updates) == 3


def _log_sliders(recorder):
    import ipywidgets as w
    return [c for obj in recorder.shown for c in _widgets(obj)
            if isinstance(c, w.FloatLogSlider)]


@pytest.mark.parametrize("explorer", [si.temperature_explorer, si.linear_classifier_demo])
def test_log_sliders_have_their_value_on_the_grid(recorder, explorer):
    # the browser snaps a slider to min + k * step and sends the snapped value
    # back: off the grid, T = 1 came back as 0.9976 and the still was redrawn
    explorer()
    sliders = _log_sliders(recorder)
    assert sliders
    for s in sliders:
        k = (np.log10(s.value) - s.min) / s.step
        assert abs(k - round(k)) < 1e-9, (s.description, s.value, s.min, s.step)
    assert recorder.updates == []


def test_a_value_back_from_the_browser_rounded_in_the_last_bits_is_not_redrawn(recorder):
    si.temperature_explorer()
    (slider,) = _log_sliders(recorder)
    slider.value = 10 ** np.log10(slider.value) * (1 + 1e-15)
    assert recorder.updates == []
    slider.value = 1.5
    assert len(recorder.updates) == 1


@pytest.mark.parametrize("call, match", [
    (lambda: si.temperature_explorer(temperature=0.0), "argument 'temperature'"),
    (lambda: si.linear_classifier_demo(weight_decay=0.0), "argument 'weight_decay'"),
    (lambda: si.linear_classifier_demo(learning_rate=-1.0), "argument 'learning_rate'"),
])
def test_log_slider_settings_must_be_positive(recorder, call, match):
    with pytest.raises(ValueError, match=match):
        call()
