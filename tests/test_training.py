"""Tests of softmaxlab.training.train: the loop, its record, and its clean stop on NaN/inf."""

from __future__ import annotations

import math
import re
import sys
import warnings

import numpy as np
import pytest

import softmaxlab as sml
import softmaxlab.training as training
from softmaxlab.datasets import load_digits, make_spirals, minibatches
from softmaxlab.layers import HingeLoss, InnerProduct, ReLU, SoftmaxWithLoss
from softmaxlab.net import Net
from softmaxlab.optim import SGD
from softmaxlab.training import TrainingHistory, train


@pytest.fixture(scope="module")
def spirals():
    return make_spirals(40, 3, seed=0)


def _mlp(din=2, hidden=16, k=3, **kw):
    return Net([InnerProduct(din, hidden, seed=0, **kw), ReLU(),
                InnerProduct(hidden, k, seed=1, **kw)], loss=SoftmaxWithLoss())


def test_history_records_every_iteration(spirals):
    X, y = spirals  # 120 samples
    net = _mlp()
    h = train(net, SGD(net.params, lr=0.5, momentum=0.9), (X, y), iterations=25,
              batch_size=32, log_every=10)
    assert isinstance(h, TrainingHistory)
    assert h.iterations == len(h.loss) == len(h.lr) == 25
    assert all(isinstance(v, float) and math.isfinite(v) for v in h.loss)
    assert h.eval_iterations == [0, 10, 20, 25]
    assert len(h.accuracy) == 4 and all(0.0 <= a <= 1.0 for a in h.accuracy)
    assert h.val_accuracy == [] and h.val_loss == []
    assert not h.stopped_early and h.stop_reason is None
    # 25 updates: 6 epochs of 4 batches (32+32+32+24) = 720 samples, then one batch of 32
    assert h.epochs == pytest.approx((6 * 120 + 32) / 120)
    assert h.diagnosis.verdict == "learning" and h.num_classes == 3 and h.batch_size == 32
    assert h.final_loss == h.loss[-1]
    r = repr(h)
    assert r.startswith("TrainingHistory(iterations=25") and "verdict='learning'" in r
    # the first loss is that of the untrained net on the first minibatch
    fresh = _mlp()
    xb, yb = next(minibatches(X, y, 32, seed=np.random.default_rng(0)))
    assert h.loss[0] == fresh.forward(xb, yb)
    # and the recorded accuracy at the end is the net's accuracy on the training set
    assert h.accuracy[-1] == np.mean(net.predict(X).argmax(1) == y)


def test_the_loop_equals_the_hand_written_one(spirals):
    X, y = spirals
    net_a, net_b = _mlp(), _mlp()
    h = train(net_a, SGD(net_a.params, lr=0.3, momentum=0.9, weight_decay=1e-3),
              (X, y), epochs=3, batch_size=50, seed=4)
    opt = SGD(net_b.params, lr=0.3, momentum=0.9, weight_decay=1e-3)
    rng, losses = np.random.default_rng(4), []
    for _ in range(3):
        for xb, yb in minibatches(X, y, 50, seed=rng):
            net_b.zero_grad()
            losses.append(net_b.forward(xb, yb))
            net_b.backward()
            opt.step()
    assert h.iterations == 9 == len(losses)  # 3 epochs x ceil(120 / 50)
    assert h.loss == losses
    for pa, pb in zip(net_a.params, net_b.params):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_full_batch_is_gradient_descent_in_closed_form():
    X, y = make_spirals(10, 3, seed=1)
    n, K, lr = X.shape[0], 3, 0.7
    net = Net([InnerProduct(2, K, filler="gaussian", std=0.1, seed=0)], loss=SoftmaxWithLoss())
    W, b = net.params[0].data.copy(), net.params[1].data.copy()
    train(net, SGD(net.params, lr=lr), (X, y), iterations=5, batch_size=None)
    Y = np.eye(K)[y]
    for _ in range(5):  # d(mean CE)/dz = (softmax(z) - onehot) / n
        z = X @ W.T + b
        P = np.exp(z - z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / n
        W, b = W - lr * G.T @ X, b - lr * G.sum(0)
    np.testing.assert_allclose(net.params[0].data, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.params[1].data, b, rtol=1e-12, atol=1e-14)


def test_seed_fixes_the_minibatches(spirals):
    def run(seed):
        net = _mlp()
        return train(net, SGD(net.params, lr=0.2), spirals, iterations=8, batch_size=16,
                     seed=seed).loss
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_validation_and_digits():
    X, y = load_digits()
    Xtr, ytr, Xva, yva = X[:1400], y[:1400], X[1400:], y[1400:]
    net = Net([InnerProduct(64, 10, seed=0)], loss=SoftmaxWithLoss())
    h = train(net, SGD(net.params, lr=0.5, momentum=0.9), (Xtr, ytr), epochs=2,
              batch_size=100, val_data=(Xva, yva), log_every=7)
    assert h.iterations == 28 and h.eval_iterations == [0, 7, 14, 21, 28]
    assert len(h.val_accuracy) == len(h.val_loss) == len(h.accuracy) == 5
    assert h.val_accuracy[0] < 0.3 < 0.85 < h.val_accuracy[-1]
    assert h.val_loss[-1] < h.val_loss[0]
    assert h.val_loss[-1] == pytest.approx(net.forward(Xva, yva))
    assert "val_accuracy=" in repr(h)


def test_nan_stops_cleanly_without_warnings(spirals):
    net = _mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning leaks out either
        h = train(net, SGD(net.params, lr=1e200), spirals, iterations=50, batch_size=32)
    assert h.stopped_early and h.iterations < 50
    assert math.isnan(h.loss[-1]) and all(math.isfinite(v) for v in h.loss[:-1])
    assert h.diagnosis.verdict == "diverging" and h.diagnosis.first_nonfinite == h.iterations - 1
    assert h.stop_reason and "stopped_early=True" in repr(h)


def test_nan_in_the_data_is_refused_before_training(spirals):
    X, y = spirals
    Xbad = X.copy()
    Xbad[:] = np.nan
    net = _mlp()
    with pytest.raises(ValueError, match=r"train: argument 'data\[0\] \(X\)' must be finite .*; found nan at index \(0, 0\)"):
        train(net, SGD(net.params, lr=0.1), (Xbad, y), iterations=10, batch_size=32)


def test_nan_in_the_weights_stops_at_once(spirals):
    X, y = spirals
    net = _mlp()
    net.params[0].data[...] = np.nan
    h = train(net, SGD(net.params, lr=0.1), (X, y), iterations=10, batch_size=32)
    assert h.iterations == 1 and h.stopped_early
    assert h.diagnosis.verdict == "bad_init" and "learning rate is not the cause" in h.diagnosis.message
    assert not np.isnan(X).any()  # inputs untouched


def test_other_value_errors_still_raise(spirals):
    X, y = spirals
    net = _mlp()
    with pytest.raises(ValueError):  # label 7 for a 3-class net: a real bug, not divergence
        train(net, SGD(net.params, lr=0.1), (X, np.full_like(y, 7)), iterations=2)


def test_learning_rate_schedule_is_recorded(spirals):
    net = _mlp()
    opt = SGD(net.params, lr=1.0, lr_policy="step", gamma=0.1, stepsize=3)
    h = train(net, opt, spirals, iterations=7, batch_size=40)
    np.testing.assert_allclose(h.lr, [1.0] * 3 + [0.1] * 3 + [0.01])


def test_hinge_loss_baseline_is_used(spirals):
    net = Net([InnerProduct(2, 3, filler="gaussian", std=1e-4, seed=0)], loss=HingeLoss())
    h = train(net, SGD(net.params, lr=1e-6), spirals, iterations=6, batch_size=40)
    assert h.diagnosis.baseline == pytest.approx(2.0)  # (K - 1) * margin
    assert h.diagnosis.verdict == "stalled"


def test_probability_targets_have_no_accuracy(spirals):
    X, y = spirals
    P = np.eye(3)[y] * 0.9 + 0.1 / 3
    net = _mlp()
    h = train(net, SGD(net.params, lr=0.5), (X, P), iterations=5, batch_size=40)
    assert h.accuracy == [] and h.iterations == 5 and h.num_classes == 3


def test_ignored_labels_do_not_count_in_accuracy(spirals):
    X, y = spirals
    y2 = y.copy()
    y2[::2] = -1
    net = Net([InnerProduct(2, 16, seed=0), ReLU(), InnerProduct(16, 3, seed=1)],
              loss=SoftmaxWithLoss(ignore_index=-1))
    h = train(net, SGD(net.params, lr=0.5), (X, y2), iterations=4, batch_size=40)
    keep = y2 != -1
    assert h.accuracy[-1] == np.mean(net.predict(X).argmax(1)[keep] == y2[keep])


# --------------------------------------------------------------------------- progress
def test_progress_is_off_by_default_in_tests(spirals, capsys, monkeypatch):
    monkeypatch.setattr(training, "LONG_RUN", 5)  # "long" run, but stderr is not a TTY
    net = _mlp()
    train(net, SGD(net.params, lr=0.1), spirals, iterations=6)
    train(net, SGD(net.params, lr=0.1), spirals, iterations=6, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_auto_on_a_terminal(spirals, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(training, "LONG_RUN", 5)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    net = _mlp()
    train(net, SGD(net.params, lr=0.1), spirals, iterations=4)  # short: no bar
    assert capsys.readouterr().err == ""
    train(net, SGD(net.params, lr=0.1), spirals, iterations=6)
    err = capsys.readouterr().err
    assert "train" in err and "6/6" in err and "loss=" in err


def test_progress_text_fallback_without_tqdm(spirals, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    net = _mlp()
    train(net, SGD(net.params, lr=0.1), spirals, iterations=4, progress=True, log_every=2)
    err = capsys.readouterr().err
    assert "train: 4/4 loss=" in err and "acc=" in err and err.endswith("\n")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(), ValueError, "exactly one of iterations= and epochs="),
        (dict(iterations=3, epochs=1), ValueError, "exactly one"),
        (dict(iterations=0), ValueError, "argument 'iterations' must be an integer >= 1; found 0"),
        (dict(epochs=1.5), TypeError, "argument 'epochs' must be an integer; found 1.5"),
        (dict(iterations=2, batch_size=0), ValueError, "batch_size"),
        (dict(iterations=2, log_every=-1), ValueError, "log_every"),
        (dict(iterations=2, seed=None), TypeError, "seed"),
        (dict(iterations=2, val_data=(np.ones((3, 2)),)), TypeError, "argument 'val_data' must be a pair"),
    ],
)
def test_bad_arguments(spirals, kwargs, exc, match):
    net = _mlp()
    with pytest.raises(exc, match=f"train: .*{match}"):
        train(net, SGD(net.params, lr=0.1), spirals, **kwargs)


def test_bad_data(spirals):
    X, y = spirals
    net = _mlp()
    opt = SGD(net.params, lr=0.1)
    with pytest.raises(TypeError, match="train: argument 'data' must be a pair"):
        train(net, opt, X, iterations=1)
    with pytest.raises(ValueError, match="X with 120 rows and y with 119"):
        train(net, opt, (X, y[:-1]), iterations=1)
    with pytest.raises(ValueError, match="empty"):
        train(net, opt, (X[:0], y[:0]), iterations=1)
    with pytest.raises(TypeError, match="loss layer"):
        train(Net([InnerProduct(2, 3)]), opt, (X, y), iterations=1)


# --------------------------------------------------------------------------- backends
def test_short_run_on_array_api_strict_matches_numpy():
    pytest.importorskip("array_api_strict")
    runs = {}
    for backend in ("numpy", "array_api_strict"):
        with sml.use_backend(backend):
            X, y = make_spirals(30, 3, seed=0)
            net = _mlp()
            h = train(net, SGD(net.params, lr=0.5, momentum=0.9), (X, y), iterations=12,
                      batch_size=32, val_data=(X, y), log_every=4)
            runs[backend] = (h, net)
    hs, net_s = runs["array_api_strict"]
    hn, _ = runs["numpy"]
    assert type(net_s.params[0].data).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(hs.loss, hn.loss, rtol=1e-12)
    np.testing.assert_allclose(hs.val_accuracy, hn.val_accuracy)
    assert hs.diagnosis.verdict == hn.diagnosis.verdict


def test_diagnose_reads_a_history_directly(spirals):
    from softmaxlab.diagnostics import diagnose

    net = _mlp()
    h = train(net, SGD(net.params, lr=0.5, momentum=0.9), spirals, iterations=20, batch_size=40)
    assert diagnose(h, 3) == diagnose(h.loss, 3) == h.diagnosis


@pytest.mark.parametrize("bad, index", [(3, 0), (-1, 5), (7, 9)])
@pytest.mark.parametrize("where", ["data", "val_data"])
def test_labels_out_of_range_are_refused_with_the_samples_index(bad, index, where):
    # Checked over the whole dataset before the first step: the error names the
    # sample's index, not a position inside a shuffled minibatch.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 4)), np.arange(10) % 3
    yb = y.copy()
    yb[index] = bad
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss())
    data, val = ((X, yb), None) if where == "data" else ((X, y), (X, yb))
    before = [p.data.copy() for p in net.params]
    with pytest.raises(ValueError, match=re.escape(
            f"train: argument '{where}[1] (y)' must hold class labels in [0, 2] for the "
            f"net's 3 classes; found label {bad} at index {index}")):
        train(net, SGD(net.params, lr=0.1), data, val_data=val, iterations=3)
    assert all((p.data == b).all() for p, b in zip(net.params, before))  # nothing ran


def test_labels_equal_to_the_loss_layers_ignore_index_are_accepted():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(10, 4)), np.arange(10) % 3
    y[4] = -100
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss(ignore_index=-100))
    hist = train(net, SGD(net.params, lr=0.1), (X, y), iterations=2)
    assert hist.iterations == 2
    y[5] = -1
    with pytest.raises(ValueError, match=r"or equal to the loss layer's ignore_index=-100; "
                                         r"found label -1 at index 5"):
        train(net, SGD(net.params, lr=0.1), (X, y), iterations=2)


def test_train_stops_cleanly_when_a_gradient_overflows_with_a_finite_loss():
    """Finite scores (tiny weights times huge inputs) but a weight gradient sum that
    overflows: the solver refuses the update and the run stops as diverged."""
    X = np.full((100, 2), 1e307)
    y = np.arange(100) % 2
    ip = InnerProduct(2, 2, bias=False)
    ip.weight.data = np.array([[1e-307, 0.0], [0.0, -1e-307]])
    net = Net([ip], loss=SoftmaxWithLoss(reduction="sum"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        hist = train(net, SGD(net.params, lr=0.1), (X, y), batch_size=100, iterations=5,
                     progress=False)
    assert hist.stopped_early and "NonFiniteGradientError" in hist.stop_reason
    assert len(hist.loss) == 1 and math.isfinite(hist.loss[0])
    assert hist.diagnosis.verdict in ("diverging", "bad_init")
    np.testing.assert_array_equal(ip.weight.data, [[1e-307, 0.0], [0.0, -1e-307]])


@pytest.mark.parametrize("which", ["data", "val_data"])
def test_train_refuses_data_whose_labels_are_all_ignored(which):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    ignored = np.full(6, -1)
    net = Net([InnerProduct(3, 2, seed=0)], loss=SoftmaxWithLoss(ignore_index=-1))
    data, val = ((X, ignored), None) if which == "data" else ((X, y), (X, ignored))
    with pytest.raises(ValueError, match=rf"train: argument '{which}\[1\] \(y\)' must hold at least one "
                                         r"label that is not the loss layer's ignore_index=-1; "
                                         r"found all 6 labels equal to it"):
        train(net, SGD(net.params, lr=0.1), data, val_data=val, iterations=2, progress=False)


@pytest.mark.parametrize("axis", [0, 2, -2])
def test_train_refuses_a_loss_layer_whose_class_axis_is_not_after_the_samples(axis):
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss(axis=axis))
    with pytest.raises(ValueError, match=rf"train: argument 'net' must be a net whose loss layer has "
                                         rf"its class axis right after the samples \(axis=1\); found "
                                         rf"SoftmaxWithLoss\(axis={axis}\)"):
        train(net, SGD(net.params, lr=0.1), (np.ones((5, 4)), np.zeros(5, int)), iterations=2,
              progress=False)


def test_minibatches_of_only_ignored_labels_are_skipped_not_recorded_as_zero():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 4))
    y = np.array([-1] * 5 + [0, 1, 2, 0, 1])
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss(ignore_index=-1))
    hist = train(net, SGD(net.params, lr=0.1), (X, y), iterations=4, batch_size=5, shuffle=False,
                 progress=False)
    assert len(hist.loss) == 2 and all(v > 0 for v in hist.loss)  # batches 1 and 3 had labels
    assert hist.diagnosis.verdict != "diverging"
    net = Net([InnerProduct(4, 3, seed=0)], loss=SoftmaxWithLoss(ignore_index=-1))
    hist = train(net, SGD(net.params, lr=0.1), (X, y), epochs=3, batch_size=5, shuffle=True,
                 progress=False)
    assert hist.epochs == 3.0 and 3 <= hist.iterations <= 6  # skipped batches still make the epochs
