"""Tests of softmaxlab.diagnostics: the ln(K) baseline and the reading of loss curves.

The verdicts are checked on real training runs (digits, a small MLP, 100 SGD
steps each) as well as on made-up curves for the edge cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmaxlab.datasets import load_digits
from softmaxlab.diagnostics import VERDICTS, Diagnosis, baseline_loss, diagnose
from softmaxlab.layers import InnerProduct, ReLU, SoftmaxWithLoss
from softmaxlab.losses import cross_entropy
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.training import train

LN10 = math.log(10)


# --------------------------------------------------------------------------- baseline_loss
def test_baseline_loss_values():
    assert baseline_loss(1000) == pytest.approx(6.907755, abs=5e-7)
    assert baseline_loss(10) == pytest.approx(2.302585, abs=5e-7)
    assert baseline_loss(1) == 0.0
    assert baseline_loss(np.int64(2)) == math.log(2)


@settings(max_examples=30, deadline=None)
@given(K=st.integers(1, 2000), n=st.integers(1, 8), seed=st.integers(0, 1000))
def test_baseline_is_the_cross_entropy_of_the_uniform_guess(K, n, seed):
    labels = np.random.default_rng(seed).integers(0, K, size=n)
    logits = np.full((n, K), 0.37)  # any constant logits: uniform probabilities
    assert float(cross_entropy(logits, labels)) == pytest.approx(baseline_loss(K), abs=1e-12)


@pytest.mark.parametrize(
    "K, exc, match",
    [(0, ValueError, ">= 1; found 0"), (-3, ValueError, ">= 1"), (2.5, TypeError, "float"),
     (10.0, TypeError, "float 10.0"), ("10", TypeError, "str"), (True, TypeError, "bool"),
     (None, TypeError, "NoneType")],
)
def test_baseline_loss_bad_input(K, exc, match):
    with pytest.raises(exc, match=f"baseline_loss: argument 'num_classes' must be an integer.*{match}"):
        baseline_loss(K)


# --------------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _mlp(filler="xavier", std=0.01):
    return Net(
        [InnerProduct(64, 32, filler=filler, std=std, seed=0), ReLU(),
         InnerProduct(32, 10, filler=filler, std=std, seed=1)],
        loss=SoftmaxWithLoss(),
    )


def _run(net, lr, data, momentum=0.9):
    return train(net, SGD(net.params, lr=lr, momentum=momentum), data,
                 iterations=100, batch_size=64, seed=0, log_every=100)


def test_real_run_tiny_learning_rate_is_stalled(digits):
    # Small weights (std 0.01) start at ln 10, as the article says; lr 1e-5 never leaves it.
    h = _run(_mlp("gaussian", 0.01), 1e-5, digits)
    d = h.diagnosis
    assert abs(h.loss[0] - LN10) < 1e-3
    assert d.verdict == "stalled", str(d)
    assert "raise the learning rate" in d.message.lower()
    assert abs(d.end_loss - LN10) < 0.01 and abs(d.relative_improvement) < 0.01


def test_real_run_huge_learning_rate_is_diverging(digits):
    h = _run(_mlp(), 50.0, digits)
    d = h.diagnosis
    assert d.verdict == "diverging", str(d)
    assert "lower the learning rate" in d.message.lower()
    assert d.end_loss > 10 * LN10  # rose far above the baseline
    assert d.first_nonfinite is None  # (the stable loss kept it finite)


def test_real_run_good_learning_rate_is_learning(digits):
    h = _run(_mlp(), 0.5, digits)
    d = h.diagnosis
    assert d.verdict == "learning", str(d)
    assert d.end_loss < 0.5 * LN10 and d.relative_improvement > 0.5
    assert h.accuracy[-1] > 0.85


def test_real_run_large_initial_weights_is_bad_init(digits):
    # gaussian weights with std 10 on 64 inputs: logits of size ~40, confidently wrong
    net = Net([InnerProduct(64, 10, filler="gaussian", std=10.0, seed=0)], loss=SoftmaxWithLoss())
    h = _run(net, 0.01, digits)
    d = h.diagnosis
    assert d.first_loss > 10 * LN10
    assert d.verdict == "bad_init", str(d)
    assert "initial weights" in d.message
    assert d.end_loss < d.first_loss  # it does learn, slowly: not diverging


def test_real_run_overflowing_weights_stop_with_diverging(digits):
    h = _run(_mlp(), 1e200, digits, momentum=0.0)
    d = h.diagnosis
    assert h.stopped_early and d.verdict == "diverging"
    assert d.first_nonfinite == len(h.loss) - 1 > 0
    assert math.isnan(d.last_loss)


# --------------------------------------------------------------------------- made-up curves
def test_empty_history_is_a_clear_error():
    with pytest.raises(ValueError, match="diagnose: loss_history is empty"):
        diagnose([], 10)
    with pytest.raises(ValueError, match="empty"):
        diagnose(np.zeros(0), 10)


def test_single_value():
    d = diagnose([2.31], 10)
    assert d.verdict == "too_short" and d.num_steps == 1 and d.first_loss == d.last_loss == 2.31
    assert diagnose([40.0], 10).verdict == "bad_init"
    assert diagnose([float("inf")], 10).verdict == "bad_init"


def test_nan_at_start_is_not_blamed_on_the_learning_rate():
    d = diagnose([float("nan"), 2.3, 2.2], 10)
    assert d.verdict == "bad_init" and d.first_nonfinite == 0
    assert "learning rate is not the cause" in d.message
    assert math.isnan(d.start_loss)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_later_is_diverging(bad):
    d = diagnose([2.3, 2.0, 1.8, bad, 1.0], 10)
    assert d.verdict == "diverging" and d.first_nonfinite == 3
    assert d.end_loss == pytest.approx(np.mean([2.3, 2.0, 1.8][-d.window:]))
    assert "lower the learning rate" in d.message.lower()


def test_rise_after_a_good_start_is_diverging():
    curve = list(np.linspace(2.3, 0.8, 50)) + list(np.linspace(0.8, 2.0, 50))
    d = diagnose(curve, 10)
    assert d.verdict == "diverging" and d.best_loss < 0.9
    # a rise within the tolerance is not
    assert diagnose(list(np.linspace(2.3, 0.8, 50)) + [1.0] * 10, 10).verdict == "learning"


def test_flat_curves():
    rng = np.random.default_rng(0)
    noisy_flat = LN10 + 0.05 * rng.standard_normal(200)
    assert diagnose(noisy_flat, 10).verdict == "stalled"
    assert diagnose(0.4 + 0.02 * rng.standard_normal(200), 10).verdict == "plateau"
    # flat somewhat above the baseline (not far enough for bad_init): still stalled
    assert diagnose([3.0] * 20, 10).verdict == "stalled"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0.0, 0.4))
def test_noisy_minibatch_learning_curve_is_learning(seed, noise):
    rng = np.random.default_rng(seed)
    t = np.arange(300)
    clean = 0.2 + (LN10 - 0.2) * np.exp(-t / 60)
    curve = np.abs(clean + noise * rng.standard_normal(t.size))
    d = diagnose(curve, 10)
    assert d.verdict == "learning", str(d)


def test_bad_init_that_recovered_is_learning_with_a_note():
    curve = [40.0, 20.0, 8.0, 3.0, 1.5, 1.0, 0.7, 0.5, 0.4, 0.35]
    d = diagnose(curve, 10)
    assert d.verdict == "learning" and "started far above" in d.message


def test_thresholds_are_parameters():
    curve = [2.30, 2.25, 2.20, 2.18]  # 5 % lower
    assert diagnose(curve, 10).verdict == "learning"
    assert diagnose(curve, 10, min_improvement=0.2).verdict == "stalled"
    assert diagnose([4.0, 3.9, 3.8], 10).verdict == "bad_init"
    assert diagnose([4.0, 3.9, 3.8], 10, init_tolerance=1.0).verdict != "bad_init"
    assert diagnose([2.3, 2.3, 2.9], 10, window=1).verdict == "diverging"
    assert diagnose([2.3, 2.3, 2.9], 10, window=1, rise_tolerance=0.5).verdict != "diverging"
    # another baseline: a hinge loss starts at (K - 1) * margin = 9
    assert diagnose([9.0, 9.0, 8.99], 10, baseline=9.0).verdict == "stalled"


def test_result_object():
    d = diagnose([2.3, 1.9, 1.2, 0.8, 0.5], 10)
    assert isinstance(d, Diagnosis) and d.verdict in VERDICTS and d.ok
    assert str(d).startswith("learning: ") and d.message in str(d)
    assert d.baseline == pytest.approx(LN10) and d.num_classes == 10
    assert d.first_loss == 2.3 and d.last_loss == 0.5 and d.first_nonfinite is None
    assert d.relative_improvement == pytest.approx((2.3 - 0.5) / 2.3)
    assert "verdict='learning'" in repr(d) and "baseline=2.3026" in repr(d)
    with pytest.raises(AttributeError):
        d.verdict = "stalled"  # frozen
    # arrays work as well as lists, and give the same reading
    assert diagnose(np.array([2.3, 1.9, 1.2, 0.8, 0.5]), 10) == d


def test_k_equals_one_and_thousand():
    assert diagnose([0.0, 0.0, 0.0], 1).verdict == "stalled"
    ln1000 = math.log(1000)
    assert diagnose([ln1000] * 10, 1000).verdict == "stalled"
    assert diagnose([ln1000, 6.0, 5.0, 4.0], 1000).verdict == "learning"
    assert diagnose([20.0, 19.5, 19.0], 1000).verdict == "bad_init"


@pytest.mark.parametrize(
    "history, kwargs, exc, match",
    [
        (np.ones((3, 2)), {}, ValueError, "1-D"),
        ("2.3", {}, TypeError, "string"),
        ([2.3, "x"], {}, TypeError, "sequence of numbers"),
        ([2.3], dict(window=0), ValueError, "window"),
        ([2.3], dict(window=1.5), TypeError, "window"),
        ([2.3], dict(init_tolerance=-1), ValueError, "init_tolerance"),
        ([2.3], dict(rise_tolerance=float("nan")), ValueError, "rise_tolerance"),
        ([2.3], dict(baseline="a"), TypeError, "baseline"),
    ],
)
def test_bad_input(history, kwargs, exc, match):
    with pytest.raises(exc, match=f"diagnose: .*{match}"):
        diagnose(history, 10, **kwargs)


def test_bad_num_classes():
    with pytest.raises(ValueError, match="diagnose: argument 'num_classes'"):
        diagnose([2.3], 0)


@pytest.mark.parametrize("first", [1e17, 5e15, 1e300, 1.7e308])
def test_window_means_survive_one_huge_early_loss(first):
    """The windows are summed one by one: a running sum's differences lost every
    later window to a huge first loss (1e17 then 2.0s read as an end loss of 0)."""
    tail = np.linspace(2.3, 0.01, 300)
    d = diagnose([first, *tail], 10)
    assert d.end_loss == pytest.approx(np.mean(tail[-d.window:]), rel=1e-12)
    assert d.start_loss == pytest.approx(np.mean([first, *tail[:d.window - 1]]), rel=1e-12)
