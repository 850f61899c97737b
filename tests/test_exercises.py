"""Tests for softmaxlab.exercises: the checkers must pass right answers and catch wrong ones."""

from __future__ import annotations

import importlib.util
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import softmaxlab.exercises as _exercises
from softmaxlab.exercises import (
    CheckResult,
    FailedCase,
    _baseline,
    _bigram,
    _crammer_singer,
    _cross_entropy,
    _cross_entropy_grad,
    _hinge,
    _inner_product_backward,
    _inputs,
    _log_softmax,
    _perplexity,
    _sigmoid,
    _softmax,
    _softmax_backward,
    check_baseline_loss,
    check_bigram_loss,
    check_crammer_singer_loss,
    check_cross_entropy,
    check_cross_entropy_grad,
    check_hinge_loss,
    check_inner_product_backward,
    check_log_softmax,
    check_perplexity,
    check_sigmoid,
    check_softmax,
    check_softmax_backward,
)
from softmaxlab.exercises import _references as ref

HAS_TORCH = importlib.util.find_spec("torch") is not None


# --------------------------------------------------------------------------- right answers


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    s = x - x.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def make_cross_entropy(ignore=-100):
    def cross_entropy(logits, labels):
        keep = labels != ignore
        lp = log_softmax(logits)
        picked = lp[np.arange(len(labels)), np.where(keep, labels, 0)]
        return -(picked * keep).sum() / keep.sum()

    return cross_entropy


cross_entropy = make_cross_entropy()


def ce_grad(logits, labels, ignore=-100):
    keep = labels != ignore
    p = softmax(logits)
    p[np.arange(len(labels)), np.where(keep, labels, 0)] -= 1.0
    return p * keep[:, None] / keep.sum()


def hinge(scores, labels):
    n = len(labels)
    m = np.maximum(0.0, scores - scores[np.arange(n), labels][:, None] + 1.0)
    m[np.arange(n), labels] = 0.0
    return m.sum(axis=1).mean()


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bigram_nll(ids, vocab_size, *, axis=1, smooth=0.0):
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
    counts = counts + smooth
    totals = counts.sum(axis=axis)
    picked = counts[ids[:-1], ids[1:]]
    return -np.log(picked / (totals[ids[:-1]] if axis == 1 else totals[ids[1:]]))


def bigram_loss(ids, vocab_size):
    return bigram_nll(ids, vocab_size).mean()


def perplexity(loss):
    return math.exp(loss), loss / math.log(2)


def ip_backward(x, W, dh):
    return dh @ W, dh.T @ x, dh.sum(axis=0)


def softmax_backward(p, g):
    return p * (g - (p * g).sum(axis=-1, keepdims=True))


def crammer_singer(scores, labels, margin=1.0):
    rows = np.arange(len(labels))
    others = scores.astype(float)
    others[rows, labels] = -np.inf
    return np.maximum(0, others.max(axis=1) - scores[rows, labels] + margin).mean()


def names(result):
    return [f.name for f in result.failed]


def hints(result):
    return " ".join(f.hint for f in result.failed)


def failed(result, name):
    for f in result.failed:
        if f.name == name:
            return f
    raise AssertionError(f"case {name!r} did not fail; failed: {names(result)}")


# --------------------------------------------------------------------------- success paths


@pytest.mark.parametrize(
    "checker, fn, n",
    [
        (check_softmax, softmax, 11),
        (check_log_softmax, log_softmax, 12),
        (check_cross_entropy, cross_entropy, 10),
        (check_cross_entropy_grad, ce_grad, 10),
        (check_hinge_loss, hinge, 9),
        (check_sigmoid, sigmoid, 6),
        (check_baseline_loss, math.log, 4),
        (check_bigram_loss, bigram_loss, 7),
        (check_perplexity, perplexity, 6),
        (check_inner_product_backward, ip_backward, 7),
        (check_softmax_backward, softmax_backward, 8),
        (check_crammer_singer_loss, crammer_singer, 14),
    ],
)
def test_correct_solution_passes_and_congratulates(checker, fn, n, capsys):
    result = checker(fn)
    out = capsys.readouterr().out
    assert isinstance(result, CheckResult)
    assert bool(result) is True
    assert result.failed == []
    assert len(result.passed) == n == result.n_cases
    assert f"all {n} cases passed. Well done!" in out
    assert repr(result).endswith(f"passed={n}/{n}, failed=[])")


@pytest.mark.parametrize("checker", [check_cross_entropy, check_cross_entropy_grad])
def test_ignore_index_adds_two_cases_and_right_answer_passes(checker, capsys):
    fn = cross_entropy if checker is check_cross_entropy else ce_grad
    result = checker(fn, ignore_index=True)
    assert result and result.n_cases == 12
    assert any("-100" in name for name in result.passed)
    assert "all 12 cases passed" in capsys.readouterr().out


def test_ignore_index_custom_value():
    result = check_cross_entropy(make_cross_entropy(-1), ignore_index=-1, verbose=False)
    assert result
    assert "some labels are -1 (ignored)" in result.passed
    # a function ignoring -100 does not ignore -1
    assert not check_cross_entropy(cross_entropy, ignore_index=-1, verbose=False)


def test_verbose_false_prints_nothing(capsys):
    check_softmax(softmax, verbose=False)
    check_softmax(lambda x: np.exp(x), verbose=False)
    assert capsys.readouterr().out == ""


def test_results_may_be_lists_or_python_floats():
    assert check_softmax(lambda x: softmax(x).tolist(), verbose=False)
    assert check_cross_entropy(lambda z, y: float(cross_entropy(z, y)), verbose=False)
    # a scalar returned as an array of one element is accepted
    assert check_cross_entropy(lambda z, y: np.array([cross_entropy(z, y)]), verbose=False)


def test_feedback_is_deterministic(capsys):
    def naive(x):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)

    check_softmax(naive)
    first = capsys.readouterr().out
    check_softmax(naive)
    second = capsys.readouterr().out
    assert first == second
    assert "0x" not in first  # no addresses
    assert check_softmax(naive, verbose=False).feedback == first.rstrip("\n")


def test_float32_case_gets_float32_input_and_looser_tolerance():
    seen = []

    def spy(x):
        seen.append(x.dtype)
        return softmax(x.astype(np.float64)).astype(np.float32)

    assert check_softmax(spy, verbose=False)
    assert np.dtype(np.float32) in seen and np.dtype(np.float64) in seen


def test_float32_case_passes_with_float32_arithmetic():
    # computing entirely in float32 must pass the float32 cases (rtol 1e-4)
    result = check_cross_entropy(cross_entropy, verbose=False)
    assert "float32 logits up to 100" in result.passed


# --------------------------------------------------------------------------- softmax mistakes


def test_softmax_naive_exp_overflows(capsys):
    def naive(x):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)

    result = check_softmax(naive)
    out = capsys.readouterr().out
    assert not result
    assert {
        "large logits around 1000",
        "very large logits around 10000",
        "large negative logits around -1000",
        "float32 input with logits up to 100",
    } <= set(names(result))
    assert "2-D batch of 3 rows x 4 classes" in result.passed
    f = failed(result, "large logits around 1000")
    assert np.isnan(f.got).all()
    assert "overflows" in f.hint and "maximum" in f.hint
    assert "softmax: 6 of 11 cases passed, 5 failed." in out
    assert "x Case 'large logits around 1000' failed." in out
    assert "expected: [[0.1839" in out
    assert "got:      [[nan, nan" in out
    assert "the same mistake as in case 'large logits around 1000'" in out


def test_softmax_global_max_caught_only_by_rows_on_different_scales():
    def global_max(x):
        e = np.exp(x - x.max())
        return e / e.sum(axis=-1, keepdims=True)

    result = check_softmax(global_max, verbose=False)
    assert names(result) == ["rows on very different scales"]
    assert "whole array" in result.failed[0].hint


@pytest.mark.parametrize("norm_axis_only", [False, True])
def test_softmax_wrong_axis(norm_axis_only, capsys):
    def axis0(x):
        if norm_axis_only:
            e = np.exp(x - x.max(axis=-1, keepdims=True))
        else:
            e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    result = check_softmax(axis0)
    out = capsys.readouterr().out
    assert not result
    sq = failed(result, "square input (4 x 4): the shape cannot reveal the axis")
    assert "axis 0" in sq.hint and "rows of your result sum to" in sq.hint
    assert "tall input (6 rows x 3 classes)" in names(result)
    # on a 1-D input, axis 0 is the last axis
    assert "1-D input: one example with 5 logits" in result.passed
    assert "axis 0" in out


def test_softmax_missing_keepdims():
    def no_keepdims(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1)

    result = check_softmax(no_keepdims, verbose=False)
    assert not result
    # the square input broadcasts silently to the wrong answer...
    sq = failed(result, "square input (4 x 4): the shape cannot reveal the axis")
    assert "keepdims=True" in sq.hint
    # ...the others raise, and the hint explains the broadcast
    tall = failed(result, "tall input (6 rows x 3 classes)")
    assert tall.got.startswith("ValueError: operands could not be broadcast")
    assert "keepdims=True" in tall.hint
    assert "1-D input: one example with 5 logits" in result.passed


def test_softmax_in_place_mutation(capsys):
    def in_place(x):
        x -= x.max(axis=-1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        return x

    result = check_softmax(in_place)
    out = capsys.readouterr().out
    assert not result and result.passed == []
    f = result.failed[0]
    np.testing.assert_allclose(f.got, f.expected)  # right values, but the input changed
    assert "in place" in f.hint
    assert "in place" in out


def test_softmax_wrong_shape_for_1d_input():
    result = check_softmax(lambda x: softmax(np.atleast_2d(x)), verbose=False)
    assert names(result) == ["1-D input: one example with 5 logits"]
    f = result.failed[0]
    assert "(5,)" in f.hint and "(1, 5)" in f.hint


def test_softmax_axis1_fails_on_1d_input_with_hint():
    def axis1(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    result = check_softmax(axis1, verbose=False)
    assert names(result) == ["1-D input: one example with 5 logits"]
    assert "AxisError" in result.failed[0].got
    assert "axis=-1" in result.failed[0].hint


def test_softmax_raising_function_is_reported_not_propagated(capsys):
    def broken(x):
        raise RuntimeError("not written yet")

    result = check_softmax(broken)
    out = capsys.readouterr().out
    assert not result and len(result.failed) == 11
    assert result.failed[0].got == "RuntimeError: not written yet"
    assert "raised an exception" in result.failed[0].hint
    assert "got:      RuntimeError: not written yet" in out


def test_returning_none_or_tuple_or_forgetting_to_normalise():
    r = check_softmax(lambda x: None, verbose=False)
    assert not r and r.failed[0].got == "None" and "return" in r.failed[0].hint
    r = check_softmax(lambda x: np.exp(x - x.max(axis=-1, keepdims=True)), verbose=False)
    assert "without dividing" in hints(r)


def test_softmax_wrong_signature_hint():
    r = check_softmax(lambda x, axis: softmax(x), verbose=False)
    assert "fn(x)" in r.failed[0].hint


def test_softmax_result_with_nan_never_passes():
    def sometimes_nan(x):
        out = softmax(x)
        if x.shape == (2, 5):
            out = out.copy()
            out[0, 0] = np.nan
        return out

    result = check_softmax(sometimes_nan, verbose=False)
    assert names(result) == ["very large logits around 10000", "equal logits give equal outputs"]


# --------------------------------------------------------------------------- log-softmax mistakes


def test_log_softmax_log_of_softmax_underflows():
    result = check_log_softmax(lambda x: np.log(softmax(x)), verbose=False)
    f = failed(result, "one logit far below the others (log p near -1000)")
    assert np.isneginf(f.got).any()
    assert "log(0)" in f.hint
    assert "2-D batch of 3 rows x 4 classes" in result.passed


def test_log_softmax_naive_and_other_mistakes():
    naive = check_log_softmax(lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True)), verbose=False)
    assert "large logits around 1000" in names(naive)
    assert "overflow" in failed(naive, "large logits around 1000").hint
    shift = check_log_softmax(lambda x: x - x.max(axis=-1, keepdims=True), verbose=False)
    assert "log(sum(exp(x - max)))" in hints(shift)
    negated = check_log_softmax(lambda x: -log_softmax(x), verbose=False)
    assert not negated and "wrong sign" in negated.failed[0].hint
    sm = check_log_softmax(softmax, verbose=False)
    assert "returned the softmax" in sm.failed[0].hint


# --------------------------------------------------------------------------- cross-entropy


def test_cross_entropy_sum_instead_of_mean(capsys):
    def summed(z, y):
        return -log_softmax(z)[np.arange(len(y)), y].sum()

    result = check_cross_entropy(summed)
    out = capsys.readouterr().out
    assert not result
    # N = 1 cannot reveal it
    assert "a single example (1 x 5)" in result.passed
    f = failed(result, "8 examples x 5 classes")
    assert "8 times too large" in f.hint
    assert "4 times too large" in failed(result, "4 examples x 3 classes").hint
    assert "your loss is 8 times too large" in out


def test_cross_entropy_per_example_losses_wrong_shape():
    result = check_cross_entropy(
        lambda z, y: -log_softmax(z)[np.arange(len(y)), y], verbose=False
    )
    f = failed(result, "4 examples x 3 classes")
    assert "one loss per example" in f.hint and f.got.shape == (4,)


def test_cross_entropy_naive_and_log_of_softmax():
    def naive(z, y):
        e = np.exp(z)
        return -np.log(e / e.sum(axis=1, keepdims=True))[np.arange(len(y)), y].mean()

    r = check_cross_entropy(naive, verbose=False)
    assert {"large logits around 1000", "correct class 1000 below the others"} <= set(names(r))

    def log_of_stable_softmax(z, y):
        return -np.log(softmax(z)[np.arange(len(y)), y]).mean()

    r = check_cross_entropy(log_of_stable_softmax, verbose=False)
    # p_y rounds to 0 when the correct logit is far below (in float32 already at a gap of ~100)
    assert names(r) == ["correct class 1000 below the others", "float32 logits up to 100"]
    assert all("log(0)" in f.hint and np.isinf(f.got) for f in r.failed)


def test_cross_entropy_sign_axis_and_indexing_mistakes():
    neg = check_cross_entropy(lambda z, y: -cross_entropy(z, y), verbose=False)
    assert "wrong sign" in failed(neg, "4 examples x 3 classes").hint

    def axis0(z, y):
        s = z - z.max(axis=0, keepdims=True)
        lp = s - np.log(np.exp(s).sum(axis=0, keepdims=True))
        return -lp[np.arange(len(y)), y].mean()

    r = check_cross_entropy(axis0, verbose=False)
    assert "axis 0" in failed(r, "square batch (4 x 4): the shape cannot reveal the axis").hint

    cols = check_cross_entropy(lambda z, y: -log_softmax(z)[:, y].mean(), verbose=False)
    assert "np.arange(N), labels" in failed(cols, "4 examples x 3 classes").hint

    every = check_cross_entropy(lambda z, y: -log_softmax(z).mean(), verbose=False)
    assert "every entry" in failed(every, "4 examples x 3 classes").hint

    probs = check_cross_entropy(
        lambda z, y: -softmax(z)[np.arange(len(y)), y].mean(), verbose=False
    )
    assert "-log p_y, not -p_y" in probs.failed[0].hint


def test_cross_entropy_not_handling_ignore_index(capsys):
    def plain(z, y):
        return -log_softmax(z)[np.arange(len(y)), y].mean()

    result = check_cross_entropy(plain, ignore_index=True)
    out = capsys.readouterr().out
    assert names(result) == [
        "some labels are -100 (ignored)",
        "all labels but one are -100 (ignored)",
    ]
    f = result.failed[0]
    assert f.got.startswith("IndexError")
    assert "-100" in f.hint and "mask" in f.hint
    assert "10 of 12 cases passed" in out


def test_cross_entropy_ignore_index_divides_by_n():
    def over_n(z, y):
        keep = y != -100
        lp = log_softmax(z)[np.arange(len(y)), np.where(keep, y, 0)]
        return -(lp * keep).sum() / len(y)

    result = check_cross_entropy(over_n, ignore_index=True, verbose=False)
    assert len(result.failed) == 2
    assert "kept examples" in result.failed[0].hint and "N = 6" in result.failed[0].hint


def test_cross_entropy_ignore_as_class_zero():
    def clipped(z, y):
        return -log_softmax(z)[np.arange(len(y)), np.clip(y, 0, None)].mean()

    result = check_cross_entropy(clipped, ignore_index=True, verbose=False)
    assert len(result.failed) == 2
    assert "left out of the loss" in result.failed[0].hint


def test_cross_entropy_mutating_logits():
    def mutating(z, y):
        z -= z.max(axis=1, keepdims=True)
        return cross_entropy(z, y)

    r = check_cross_entropy(mutating, verbose=False)
    assert not r and "in place" in r.failed[0].hint


# --------------------------------------------------------------------------- gradient


def test_grad_wrong_sign(capsys):
    result = check_cross_entropy_grad(lambda z, y: -ce_grad(z, y))
    out = capsys.readouterr().out
    assert not result
    assert "wrong sign" in failed(result, "4 examples x 3 classes").hint
    assert "p - onehot" in out


def test_grad_not_divided_by_n():
    def not_divided(z, y):
        return ce_grad(z, y) * len(y)

    result = check_cross_entropy_grad(not_divided, verbose=False)
    assert "a single example (1 x 5)" in result.passed
    assert "8 times too large" in failed(result, "8 examples x 5 classes").hint


def test_grad_probabilities_instead_of_p_minus_onehot():
    result = check_cross_entropy_grad(lambda z, y: softmax(z) / len(y), verbose=False)
    assert "p - onehot" in failed(result, "4 examples x 3 classes").hint


def test_grad_returning_tuple_and_wrong_shape():
    r = check_cross_entropy_grad(lambda z, y: (cross_entropy(z, y), ce_grad(z, y)), verbose=False)
    assert r.failed[0].got == "a tuple of 2 items"
    assert "not a tuple" in r.failed[0].hint
    r = check_cross_entropy_grad(lambda z, y: ce_grad(z, y).T, verbose=False)
    assert "transposed" in failed(r, "4 examples x 3 classes").hint


def test_grad_ignore_index_mistakes():
    def rows_kept(z, y):
        keep = y != -100
        p = softmax(z)
        p[np.arange(len(y)), np.where(keep, y, 0)] -= 1
        return p / keep.sum()

    r = check_cross_entropy_grad(rows_kept, ignore_index=True, verbose=False)
    assert len(r.failed) == 2 and "must be 0" in r.failed[0].hint

    def over_n(z, y):
        keep = y != -100
        p = softmax(z)
        p[np.arange(len(y)), np.where(keep, y, 0)] -= 1
        return p * keep[:, None] / len(y)

    r = check_cross_entropy_grad(over_n, ignore_index=True, verbose=False)
    assert len(r.failed) == 2 and "divided by N" in r.failed[0].hint


def test_grad_mutating_logits():
    def mutating(z, y):
        np.exp(z - z.max(axis=1, keepdims=True), out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(len(y)), y] -= 1
        return z / len(y)

    r = check_cross_entropy_grad(mutating, verbose=False)
    assert not r and "in place" in r.failed[0].hint


# --------------------------------------------------------------------------- hinge


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda s, y: hinge(s, y) + 1.0, "exactly 1 too large"),
        (lambda s, y: hinge(s, y) * len(y), "times too large"),
        (
            lambda s, y: np.where(
                np.arange(s.shape[1]) == y[:, None], 0.0, s - s[np.arange(len(y)), y][:, None] + 1
            ).sum(1).mean(),
            "max(0, .)",
        ),
        (
            lambda s, y: np.where(
                np.arange(s.shape[1]) == y[:, None],
                0.0,
                np.maximum(0, s - s[np.arange(len(y)), y][:, None] + 1),
            ).max(1).mean(),
            "Crammer-Singer",
        ),
        (
            lambda s, y: np.where(
                np.arange(s.shape[1]) == y[:, None],
                0.0,
                np.maximum(0, s - s[np.arange(len(y)), y][:, None] + 1) ** 2,
            ).sum(1).mean(),
            "squared",
        ),
    ],
    ids=["includes-j-eq-y", "sum", "no-clamp", "crammer-singer", "squared"],
)
def test_hinge_mistakes(wrong, words):
    result = check_hinge_loss(wrong, verbose=False)
    assert not result
    assert words in hints(result)


def test_hinge_reference_matches_loop():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(7, 5))
    y = rng.integers(0, 5, size=7)
    total = 0.0
    for i in range(7):
        for j in range(5):
            if j != y[i]:
                total += max(0.0, s[i, j] - s[i, y[i]] + 1.0)
    assert float(ref.hinge(s, y)) == pytest.approx(total / 7, rel=1e-12)


# --------------------------------------------------------------------------- sigmoid, baseline


def test_sigmoid_mistakes():
    r = check_sigmoid(lambda x: np.exp(x) / (1 + np.exp(x)), verbose=False)
    assert "large positive values up to 10000" in names(r)
    assert "overflows" in failed(r, "large positive values up to 10000").hint
    r = check_sigmoid(lambda x: 1 / (1 + np.exp(x)), verbose=False)
    assert "sigmoid(-x)" in r.failed[0].hint
    r = check_sigmoid(lambda x: sigmoid(x).ravel(), verbose=False)
    assert names(r) == ["a 2-D input keeps its shape (3 x 4)", "mixed extremes"]
    assert "elementwise" in r.failed[0].hint


def test_sigmoid_in_place_assignment():
    def in_place(x):
        neg = x < 0
        x[neg] = np.exp(x[neg]) / (1 + np.exp(x[neg]))
        x[~neg] = 1 / (1 + np.exp(-x[~neg]))
        return x

    r = check_sigmoid(in_place, verbose=False)
    assert len(r.failed) == 6
    assert "in place" in r.failed[0].hint and "np.where" in r.failed[0].hint


def test_sigmoid_naive_form_gives_right_values():
    # 1 / (1 + exp(-x)) overflows to 1/inf = 0 for very negative x: a warning, not an error
    assert check_sigmoid(lambda x: 1 / (1 + np.exp(-x)), verbose=False)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (math.log10, "log10"),
        (math.log2, "log2"),
        (lambda k: 1 / k, "probability 1/K"),
        (lambda k: -math.log(k), "wrong sign"),
    ],
)
def test_baseline_mistakes(wrong, words, capsys):
    result = check_baseline_loss(wrong)
    out = capsys.readouterr().out
    assert not result
    assert words in result.failed[0].hint
    assert words in out


# --------------------------------------------------------------------------- bigram, perplexity


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda ids, v: bigram_loss(ids, v) / math.log(2), "in bits"),
        (lambda ids, v: bigram_nll(ids, v, axis=0).mean(), "wrong axis"),
        (lambda ids, v: bigram_nll(ids, v, smooth=1.0).mean(), "add-one smoothing"),
        (lambda ids, v: bigram_nll(ids, v).sum(), "times too large: you summed"),
        (lambda ids, v: bigram_nll(ids, v).sum() / len(ids), "divided by len(ids)"),
        (lambda ids, v: bigram_loss(np.append(ids, ids[0]), v), "wraps around"),
        (lambda ids, v: bigram_loss(ids[:-1], v), "stop one short"),
        (lambda ids, v: -bigram_loss(ids, v), "log-likelihood"),
        (lambda ids, v: bigram_nll(ids, v), "one loss per pair"),
    ],
    ids=["bits", "axis", "add-one", "sum", "over-len", "wrap", "short", "loglik", "per-pair"],
)
def test_bigram_mistakes_are_named(wrong, words):
    result = check_bigram_loss(wrong, verbose=False)
    assert not result
    assert len(result.failed) >= 2, names(result)
    assert all(words in f.hint or "the same mistake" in f.hint for f in result.failed[:1])
    assert words in hints(result)


def test_bigram_reference_matches_a_counting_loop():
    from collections import Counter

    rng = np.random.default_rng(3)
    for n, v in [(2, 3), (10, 4), (200, 7), (50, 60)]:
        ids = rng.integers(0, v, size=n)
        pairs = Counter(zip(ids[:-1].tolist(), ids[1:].tolist()))
        starts = Counter(ids[:-1].tolist())
        nll = [-math.log(pairs[a, b] / starts[a]) for a, b in zip(ids[:-1], ids[1:])]
        assert float(ref.bigram_loss(ids, v)) == pytest.approx(sum(nll) / (n - 1), rel=1e-12)


def test_bigram_cases_cover_the_edges():
    cases = _bigram.exercise().cases
    lengths = [len(c.args[0]) for c in cases]
    assert 2 in lengths
    # a token that never occurs, and V larger than every id used
    assert any(c.args[1] > int(c.args[0].max()) + 1 for c in cases)
    assert any(set(range(c.args[1])) - set(c.args[0].tolist()) for c in cases)
    assert all(c.args[0].dtype == np.int64 for c in cases)


def test_bigram_passes_with_max_id_instead_of_v_and_a_python_loop():
    from collections import Counter

    def loop(ids, vocab_size):
        counts = {}
        for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
            counts.setdefault(a, Counter())[b] += 1
        nll = [-math.log(counts[a][b] / sum(counts[a].values()))
               for a, b in zip(ids[:-1].tolist(), ids[1:].tolist())]
        return sum(nll) / len(nll)

    assert check_bigram_loss(loop, verbose=False)
    assert check_bigram_loss(lambda ids, v: bigram_loss(ids, int(ids.max()) + 1), verbose=False)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda L: (2.0**L, L / math.log(2)), "2 ** loss"),
        (lambda L: (math.exp(L), L / math.log(10)), "ln 10"),
        (lambda L: (math.exp(L), L / math.log10(2)), "log10(2)"),
        (lambda L: (L / math.log(2), math.exp(L)), "swapped"),
        (lambda L: (math.exp(L), L), "the loss in nats"),
    ],
    ids=["exp2", "log10", "log10-of-2", "swapped", "nats"],
)
def test_perplexity_mistakes_are_named(wrong, words):
    result = check_perplexity(wrong, verbose=False)
    assert not result and len(result.failed) >= 4
    assert words in result.failed[0].hint


def test_perplexity_both_parts_wrong_names_both():
    result = check_perplexity(lambda L: (2.0**L, L * math.log(2)), verbose=False)
    hint = result.failed[0].hint
    assert "2 ** loss" in hint and "loss * ln 2" in hint


def test_perplexity_accepts_lists_and_arrays_and_refuses_one_number():
    assert check_perplexity(lambda L: list(perplexity(L)), verbose=False)
    assert check_perplexity(lambda L: np.array(perplexity(L)), verbose=False)
    assert check_perplexity(lambda L: tuple(np.float64(v) for v in perplexity(L)),
                            verbose=False)
    r = check_perplexity(lambda L: math.exp(L), verbose=False)
    assert not r and "pair of two numbers" in r.failed[0].hint
    r = check_perplexity(lambda L: (math.exp(L), None), verbose=False)
    assert not r and "pair of two numbers" in r.failed[0].hint
    assert "uniform guess over 1000" in check_perplexity(perplexity, verbose=False).passed[0]
    assert _perplexity.exercise().cases[0].expected[0] == pytest.approx(1000.0, rel=1e-12)


# --------------------------------------------------------------------------- result objects, arguments


def test_failed_case_fields_and_reprs():
    r = check_baseline_loss(math.log10, verbose=False)
    f = r.failed[0]
    assert isinstance(f, FailedCase)
    assert f.name == "2 classes (a coin toss)"
    assert float(f.expected) == pytest.approx(math.log(2))
    assert float(f.got) == pytest.approx(math.log10(2))
    assert repr(f).startswith("FailedCase('2 classes (a coin toss)', hint=")
    assert repr(r) == (
        "CheckResult('baseline loss ln K', passed=1/4, failed=['2 classes (a coin toss)', "
        "'10 classes (ln 10 = 2.302585)', 'ImageNet, 1000 classes (ln 1000 = 6.907755)'])"
    )


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="check_softmax: argument 'fn' must be a function"):
        check_softmax(np.ones(3))
    with pytest.raises(ValueError, match="check_softmax: argument 'backend' must be"):
        check_softmax(softmax, backend="tpu")
    with pytest.raises(TypeError, match="check_cross_entropy: argument 'ignore_index'"):
        check_cross_entropy(cross_entropy, ignore_index="yes")


def test_inputs_are_fresh_for_every_call():
    """A function that mutates its input must not change the next case's input."""
    seen = []

    def record_then_mutate(x):
        seen.append(x.copy())
        out = softmax(x)
        x[...] = 0.0
        return out

    check_softmax(record_then_mutate, verbose=False)
    check_softmax(record_then_mutate, verbose=False)
    n = len(seen) // 2
    for a, b in zip(seen[:n], seen[n:]):
        np.testing.assert_array_equal(a, b)
    assert not all((a == 0).all() for a in seen)


def test_array_api_strict_backend():
    xp = pytest.importorskip("array_api_strict")

    def strict_softmax(x):
        assert type(x).__module__.startswith("array_api_strict")
        e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    assert check_softmax(strict_softmax, backend="array_api_strict", verbose=False)

    def strict_ce(z, y):
        s = z - xp.max(z, axis=-1, keepdims=True)
        lp = s - xp.log(xp.sum(xp.exp(s), axis=-1, keepdims=True))
        onehot = xp.astype(y[:, None] == xp.arange(z.shape[1])[None, :], z.dtype)
        return -xp.sum(lp * onehot) / z.shape[0]

    assert check_cross_entropy(strict_ce, backend="array_api_strict", verbose=False)


@pytest.mark.gpu
def test_cupy_backend():
    cp = pytest.importorskip("cupy")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception:
        pytest.skip("no CUDA device")

    def gpu_softmax(x):
        assert isinstance(x, cp.ndarray)
        e = cp.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    assert check_softmax(gpu_softmax, backend="cupy", verbose=False)

    def gpu_grad(z, y):
        p = gpu_softmax(z)
        p[cp.arange(len(y)), y] -= 1
        return p / len(y)

    assert check_cross_entropy_grad(gpu_grad, backend="cupy", verbose=False)
    assert not check_softmax(lambda x: cp.exp(x) / cp.exp(x).sum(-1, keepdims=True), backend="cupy", verbose=False)


# --------------------------------------------------------------------------- the references


finite = st.floats(-50, 50, allow_nan=False, width=64)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=finite))
def test_reference_softmax_matches_scipy(x):
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(ref.softmax(x), special.softmax(x, axis=-1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        ref.log_softmax(x), special.log_softmax(x, axis=-1), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(ref.sigmoid(x), special.expit(x), rtol=1e-12, atol=1e-300)


def test_reference_expected_values_are_finite_everywhere():
    for exercise in (
        _softmax.exercise(),
        _log_softmax.exercise(),
        _cross_entropy.exercise(-100),
        _cross_entropy_grad.exercise(-100),
        _hinge.exercise(),
        _sigmoid.exercise(),
        _baseline.exercise(),
        _bigram.exercise(),
        _perplexity.exercise(),
        _inner_product_backward.exercise(),
        _softmax_backward.exercise(),
        _crammer_singer.exercise(),
    ):
        for case in exercise.cases:
            parts = case.expected if isinstance(case.expected, tuple) else (case.expected,)
            assert all(np.all(np.isfinite(p)) for p in parts), (exercise.title, case.name)


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_reference_cross_entropy_matches_torch():
    import torch

    for case in _cross_entropy.exercise(-100).cases:
        z, y = case.args
        zt = torch.tensor(z.astype(np.float64), requires_grad=True)
        loss = torch.nn.functional.cross_entropy(zt, torch.tensor(y), ignore_index=-100)
        loss.backward()
        np.testing.assert_allclose(case.expected, loss.item(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            ref.cross_entropy_grad(z, y, -100), zt.grad.numpy(), rtol=1e-9, atol=1e-12
        )


def test_reference_gradient_matches_central_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 4))
    y = np.array([0, -100, 3, 1, -100])
    g = ref.cross_entropy_grad(z, y, -100)
    h = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = (
            ref.cross_entropy(zp, y, -100) - ref.cross_entropy(zm, y, -100)
        ) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    assert np.all(g[[1, 4]] == 0)


# --------------------------------------------------------------------------- checker bugs (issue 10)

ALL_CHECKERS = [
    (check_softmax, softmax),
    (check_log_softmax, log_softmax),
    (check_cross_entropy, cross_entropy),
    (check_cross_entropy_grad, ce_grad),
    (check_hinge_loss, hinge),
    (check_sigmoid, sigmoid),
    (check_baseline_loss, math.log),
    (check_bigram_loss, bigram_loss),
    (check_perplexity, perplexity),
    (check_inner_product_backward, ip_backward),
    (check_softmax_backward, softmax_backward),
    (check_crammer_singer_loss, crammer_singer),
]
ONE_RESULT = [c for c in ALL_CHECKERS if c[0] is not check_inner_product_backward]


@pytest.mark.parametrize("checker", [check_cross_entropy, check_cross_entropy_grad])
@pytest.mark.parametrize("ignore", [-100, -1, 0, 1, 2, 3, 4, 9, 255])
def test_correct_solution_passes_for_every_ignore_index(checker, ignore):
    """Regression: ignore_index=0 made a case's every label ignored: "expected nan, got nan"."""
    fn = make_cross_entropy(ignore) if checker is check_cross_entropy else (
        lambda z, y: ce_grad(z, y, ignore))
    result = checker(fn, ignore_index=ignore, verbose=False)
    assert result, result.feedback


@pytest.mark.parametrize("checker", [check_cross_entropy, check_cross_entropy_grad])
@pytest.mark.parametrize("ignore", [-100, 0, 3])
def test_every_case_with_all_labels_ignored(checker, ignore, monkeypatch):
    original = _inputs._ce_inputs

    def all_ignored(rng, ign):
        return [(n, x, np.full(len(y), ign), d) for n, x, y, d in original(rng, ign)]

    monkeypatch.setattr(_inputs, "_ce_inputs", all_ignored)
    if checker is check_cross_entropy:
        right, wrong = make_cross_entropy(ignore), lambda z, y: 0.0
        words = "mean is over no examples"
    else:
        right, wrong = (lambda z, y: ce_grad(z, y, ignore)), (lambda z, y: softmax(z))
        words = "every row of the gradient is 0"
    result = checker(right, ignore_index=ignore, verbose=False)
    assert result and result.n_cases == 12
    for case in checker.__globals__["exercise"](ignore).cases:
        assert np.all(np.isnan(case.expected))
    bad = checker(wrong, ignore_index=ignore, verbose=False)
    assert len(bad.failed) == 12 and words in bad.failed[0].hint


def test_gradient_of_nothing_kept_may_be_zero_as_in_pytorch(monkeypatch):
    original = _inputs._ce_inputs
    monkeypatch.setattr(_inputs, "_ce_inputs", lambda rng, ign: [
        (n, x, np.full(len(y), ign), d) for n, x, y, d in original(rng, ign)])
    assert check_cross_entropy_grad(lambda z, y: np.zeros_like(z), ignore_index=True,
                                    verbose=False)


@pytest.mark.torch
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_nothing_kept_matches_torch():
    import torch

    z = np.random.default_rng(0).normal(size=(3, 4))
    zt = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(zt, torch.full((3,), -100))
    loss.backward()
    assert math.isnan(loss.item()) and np.isnan(ref.cross_entropy(z, np.full(3, -100), -100))
    np.testing.assert_array_equal(zt.grad.numpy(), 0.0)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


@pytest.mark.parametrize("checker, fn", ALL_CHECKERS)
def test_exception_that_cannot_be_printed_does_not_crash(checker, fn):
    def raises(*args):
        raise Unprintable()

    result = checker(raises, verbose=False)
    assert len(result.failed) == result.n_cases
    got = result.failed[0].got
    assert got.startswith("Unprintable: (its message could not be printed")
    assert "raised an exception" in result.failed[0].hint
    assert "Unprintable" in result.feedback


@pytest.mark.parametrize("checker, fn", ONE_RESULT)
@pytest.mark.parametrize(
    "make, words",
    [
        (lambda out: (v for v in np.atleast_1d(out)), "iterator"),
        (lambda out: map(float, np.atleast_1d(out)), "iterator"),
        (lambda out: BadRepr(), "return"),
        (lambda out: "0.5", "number"),
        (lambda out: np.asarray(out) + 0j, "complex128"),
        (lambda out: {"loss": out}, "return"),
        (lambda out: (out,), "tuple"),
    ],
    ids=["generator", "map", "object", "string", "complex", "dict", "1-tuple"],
)
def test_odd_results_fail_with_a_hint_not_a_crash(checker, fn, make, words):
    result = checker(lambda *a: make(fn(*a)), verbose=False)
    assert not result
    assert any(words in f.hint or words in str(f.got) for f in result.failed), result.feedback
    assert result.feedback  # formatting never raises


def test_one_item_tuple_is_described_in_the_singular():
    r = check_softmax(lambda x: (softmax(x),), verbose=False)
    assert r.failed[0].got == "a tuple of 1 item"


def test_results_as_object_arrays_and_lists_of_numpy_scalars_pass():
    assert check_softmax(lambda x: np.asarray(softmax(x), dtype=object), verbose=False)
    assert check_sigmoid(lambda x: [np.float64(v) for v in sigmoid(x).ravel()]
                         if x.ndim == 1 else sigmoid(x), verbose=False)


def test_array_api_strict_results_and_lists_of_them_are_read():
    xps = pytest.importorskip("array_api_strict")
    assert check_softmax(lambda x: xps.asarray(softmax(x)), verbose=False)
    assert check_cross_entropy(lambda z, y: xps.asarray(cross_entropy(z, y)), verbose=False)
    # a list of 0-d arrays of another library, which NumPy cannot convert implicitly
    assert check_sigmoid(lambda x: [xps.asarray(float(v)) for v in sigmoid(x).ravel()]
                         if x.ndim == 1 else sigmoid(x), verbose=False)
    assert check_perplexity(lambda L: tuple(xps.asarray(v) for v in perplexity(L)),
                            verbose=False)


def test_huge_finite_loss_gets_a_hint_not_an_overflow_error():
    r = check_cross_entropy(lambda z, y: 1e308, verbose=False)
    assert not r and "off by" in r.failed[0].hint


@pytest.mark.parametrize("checker, fn", ALL_CHECKERS)
def test_verbose_must_be_a_bool(checker, fn):
    with pytest.raises(TypeError, match=r"argument 'verbose' must be True or False; found 'no'"):
        checker(fn, verbose="no")
    assert checker(fn, verbose=np.False_)


def test_bad_argument_messages_use_the_house_wording():
    with pytest.raises(TypeError, match=r"^check_hinge_loss: argument 'fn' must be a function "
                       r"to check, called as fn\(scores, labels\); found int$"):
        check_hinge_loss(3)
    with pytest.raises(ValueError, match=r"^check_sigmoid: argument 'backend' must be None or "
                       r"one of 'numpy', 'cupy', 'array_api_strict'; found 'tpu'$"):
        check_sigmoid(sigmoid, backend="tpu")
    with pytest.raises(ValueError, match=r"found an object of type BadRepr$"):
        check_sigmoid(sigmoid, backend=BadRepr())
    with pytest.raises(TypeError, match=r"argument 'ignore_index' must be False, True "
                       r"\(meaning -100\) or an int label value; found 1.5$"):
        check_cross_entropy_grad(ce_grad, ignore_index=1.5)
    assert check_cross_entropy(cross_entropy, ignore_index=np.True_, verbose=False).n_cases == 12


# --------------------------------------------------------------------------- issue 11: inputs, new mistakes


@pytest.mark.parametrize("checker, fn", ALL_CHECKERS)
def test_failed_case_keeps_its_input_to_rerun(checker, fn):
    calls = []

    def wrong(*args):
        calls.append(args)
        out = fn(*args)
        if isinstance(out, tuple):
            return tuple(np.asarray(v) * 1.5 + 1.0 for v in out)
        return np.asarray(out) * 1.5 + 1.0

    result = checker(wrong, verbose=False)
    case = result.failed_case
    assert case is result.failed[0] and len(result.failed) == result.n_cases
    assert list(case.inputs) == list(exercise_of(checker).params)
    for kept, used in zip(case.inputs.values(), calls[0]):  # the first case ran first
        np.testing.assert_array_equal(kept, used)
    again = wrong(*case.inputs.values())
    for g, e in zip(again if isinstance(again, tuple) else (again,),
                    case.got if isinstance(case.got, tuple) else (case.got,)):
        np.testing.assert_allclose(np.asarray(g, dtype=float).reshape(np.shape(e)), e)


def exercise_of(checker):
    """The Exercise a checker runs (loss checkers: without ignored labels)."""
    make = checker.__globals__["exercise"]
    return make(None) if inspect.signature(make).parameters else make()


def test_inputs_rerun_by_keyword_and_are_fresh_copies():
    def summed(logits, labels):
        return -log_softmax(logits)[np.arange(len(labels)), labels].sum()

    result = check_cross_entropy(summed, verbose=False)
    case = result.failed_case
    assert list(case.inputs) == ["logits", "labels"]
    assert float(summed(**case.inputs)) == pytest.approx(4 * float(case.expected))
    case.inputs["logits"][...] = 0.0  # spoiling the copy does not touch the checker's case
    assert check_cross_entropy(summed, verbose=False).failed_case.inputs["logits"].any()
    assert check_softmax(softmax, verbose=False).failed_case is None


def test_raised_hint_says_where_the_input_is():
    result = check_softmax(lambda x: 1 / 0, verbose=False)
    assert "fn(**result.failed[0].inputs)" in result.failed[0].hint
    with np.errstate(all="ignore"):
        with pytest.raises(ZeroDivisionError):
            (lambda x: 1 / 0)(**result.failed[0].inputs)


def online_log_softmax(rescale):
    def fn(x):
        m = np.full(x.shape[:-1], -np.inf)
        d = np.zeros(x.shape[:-1])
        for j in range(x.shape[-1]):
            m_new = np.maximum(m, x[..., j])
            d = (d * np.exp(m - m_new) if rescale else d) + np.exp(x[..., j] - m_new)
            m = m_new
        return x - (m + np.log(d))[..., None]

    return fn


def test_online_normaliser_without_rescale_is_named():
    """Regression: chapter 7's attempt got the two-pass hint ("exp of your rows sums to")."""
    assert check_log_softmax(online_log_softmax(True), verbose=False)
    result = check_log_softmax(online_log_softmax(False), verbose=False)
    assert len(result.failed) == 10
    assert all("not rescaled" in f.hint for f in result.failed)
    assert "d = d * np.exp(m - m_new)" in result.failed[0].hint
    sm = check_softmax(lambda x: np.exp(online_log_softmax(False)(x)), verbose=False)
    assert not sm and all("not rescaled" in f.hint for f in sm.failed)
    assert check_softmax(lambda x: np.exp(online_log_softmax(True)(x)), verbose=False)


@pytest.mark.parametrize("log, words", [(np.log2, "in bits"), (np.log10, "log10")])
def test_cross_entropy_in_bits_or_log10_is_named(log, words):
    """Regression: a loss in bits got "your loss is off by 0.6321"."""
    def fn(z, y):
        return -log(softmax(z)[np.arange(len(y)), y]).mean()

    result = check_cross_entropy(fn, verbose=False)
    assert failed(result, "4 examples x 3 classes").hint.startswith(f"your loss {'is' if words == 'in bits' else 'uses'} {words}")
    assert "off by" not in failed(result, "8 examples x 5 classes").hint


def test_hinge_margin_zero_and_division_by_nc_are_named():
    def margin0(s, y):
        m = np.maximum(0, s - s[np.arange(len(y)), y][:, None])
        m[np.arange(len(y)), y] = 0
        return m.sum(axis=1).mean()

    r = check_hinge_loss(margin0, verbose=False)
    assert "margin of 0" in failed(r, "4 examples x 3 classes").hint
    assert "every margin satisfied (loss 0)" in r.passed  # invisible there

    def over_nc(s, y):
        m = np.maximum(0, s - s[np.arange(len(y)), y][:, None] + 1)
        m[np.arange(len(y)), y] = 0
        return m.mean()

    r = check_hinge_loss(over_nc, verbose=False)
    assert "divided by N*C = 12" in failed(r, "4 examples x 3 classes").hint
    assert "off by" not in hints(r)


# --------------------------------------------------------------------------- new checkers (issue 11)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda x, W, dh: (dh @ W, x.T @ dh, dh.sum(0)), "transpose"),
        (lambda x, W, dh: (dh @ W, dh.T @ x, dh.mean(0)), "mean of dh"),
        (lambda x, W, dh: (dh @ W, dh.T @ x, dh), "one entry per output"),
        (lambda x, W, dh: (dh @ W, dh.T @ x, dh.sum(1)), "over the outputs"),
        (lambda x, W, dh: (dh @ W.T, dh.T @ x, dh.sum(0)), "dh @ W.T"),
        (lambda x, W, dh: (dh @ W, dh.T @ x / len(x), dh.sum(0)), "divided dW by N"),
        (lambda x, W, dh: (-(dh @ W), dh.T @ x, dh.sum(0)), "wrong sign"),
        (lambda x, W, dh: (dh.T @ x, dh @ W, dh.sum(0)), "(dx, dW, db), in that order"),
        (lambda x, W, dh: (dh @ W, dh.T @ x), "a tuple of three arrays"),
        (lambda x, W, dh: dh @ W, "a tuple of three arrays"),
    ],
    ids=["dW-transposed", "db-mean", "db-not-summed", "db-axis1", "dx-WT", "dW-over-N",
         "dx-sign", "order", "two", "one"],
)
def test_inner_product_backward_mistakes(wrong, words):
    result = check_inner_product_backward(wrong, verbose=False)
    assert not result and words in hints(result), result.feedback
    assert "off by" not in hints(result) and "largest difference" not in hints(result)


def test_inner_product_backward_layout_matches_the_library():
    """The reference is the library's InnerProduct backward (W of shape (M, D))."""
    import softmaxlab as sml

    for case in _inner_product_backward.exercise().cases:
        x, W, dh = (a.astype(np.float64) for a in case.args)
        ip = sml.InnerProduct(W.shape[1], W.shape[0], filler="constant", value=0.0)
        ip.weight.data[...] = W
        ip.forward(x)
        dx = ip.backward(dh)
        for got, want in zip((dx, ip.weight.grad, ip.bias.grad), case.expected):
            np.testing.assert_allclose(sml.to_numpy(got), want, rtol=1e-12, atol=1e-12)


def test_inner_product_backward_reference_by_central_differences():
    rng = np.random.default_rng(2)
    x, W, b, r = (rng.normal(size=s) for s in ((4, 3), (2, 3), (2,), (4, 2)))
    dx, dW, db = ref.inner_product_backward(x, W, r)

    def numeric(f, a):
        g, h = np.zeros_like(a), 1e-6
        for idx in np.ndindex(a.shape):
            ap, am = a.copy(), a.copy()
            ap[idx] += h
            am[idx] -= h
            g[idx] = (f(ap) - f(am)) / (2 * h)
        return g

    def loss(x, W, b):
        return float((r * (x @ W.T + b)).sum())

    np.testing.assert_allclose(dx, numeric(lambda a: loss(a, W, b), x), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(dW, numeric(lambda a: loss(x, a, b), W), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(db, numeric(lambda a: loss(x, W, a), b), rtol=1e-7, atol=1e-8)


def test_inner_product_backward_with_the_bias_argument():
    assert check_inner_product_backward(lambda x, W, b, dh: ip_backward(x, W, dh),
                                        bias_argument=True, verbose=False)
    r = check_inner_product_backward(lambda x, W, b, dh: (dh @ W, x.T @ dh, dh.sum(0)),
                                     bias_argument=True, verbose=False)
    assert "x.T @ dh" in hints(r) and list(r.failed_case.inputs) == ["x", "W", "b", "dh"]
    r = check_inner_product_backward(ip_backward, bias_argument=True, verbose=False)
    assert "fn(x, W, b, dh)" in r.failed[0].hint
    with pytest.raises(TypeError, match="argument 'bias_argument' must be True or False"):
        check_inner_product_backward(ip_backward, bias_argument="yes")


def test_inner_product_backward_part_shapes_are_printed_by_name():
    r = check_inner_product_backward(lambda x, W, dh: (dh @ W, x.T @ dh, dh.sum(0)),
                                     verbose=False)
    f = failed(r, "2 examples, 3 inputs -> 4 outputs")
    assert f.got.startswith("dW: [[") and "dx: [[" in f.describe() and "db: [" in f.describe()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda p, g: p * g, "p * g"),
        (lambda p, g: p * (1 - p) * g, "diagonal"),
        (lambda p, g: p * (g - g.sum(-1, keepdims=True)), "plain sum"),
        (lambda p, g: g - (p * g).sum(-1, keepdims=True), "multiply by p"),
        (lambda p, g: p * (g - (p * g).sum(0, keepdims=True)), "axis 0"),
        (lambda p, g: p * (g - (p * g).sum(-1)), "keepdims"),
        (lambda p, g: -softmax_backward(p, g), "wrong sign"),
        (lambda p, g: p * (g - (p * g).sum()), "whole array"),
    ],
    ids=["p-g", "diagonal", "plain-sum", "no-p", "axis0", "keepdims", "sign", "whole"],
)
def test_softmax_backward_mistakes(wrong, words):
    result = check_softmax_backward(wrong, verbose=False)
    assert not result and words in hints(result), result.feedback
    assert "largest difference" not in hints(result)


def test_softmax_backward_reference_matches_jacobian_library_and_differences():
    import softmaxlab as sml

    for case in _softmax_backward.exercise().cases:
        p, g = (np.atleast_2d(a.astype(np.float64)) for a in case.args)
        full = np.stack([(np.diag(pi) - np.outer(pi, pi)).T @ gi for pi, gi in zip(p, g)])
        np.testing.assert_allclose(np.atleast_2d(case.expected), full, rtol=1e-9, atol=1e-12)
    rng = np.random.default_rng(4)
    z, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    layer = sml.Softmax()
    p = sml.to_numpy(layer.forward(z))
    np.testing.assert_allclose(ref.softmax_backward(p, g), sml.to_numpy(layer.backward(g)),
                               rtol=1e-12, atol=1e-15)
    num, h = np.zeros_like(z), 1e-6
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = ((g * ref.softmax(zp)).sum() - (g * ref.softmax(zm)).sum()) / (2 * h)
    np.testing.assert_allclose(ref.softmax_backward(p, g), num, rtol=1e-6, atol=1e-9)


def test_softmax_backward_cross_entropy_case_gives_p_minus_onehot():
    case = [c for c in _softmax_backward.exercise().cases if "cross-entropy" in c.name][0]
    p, g = case.args
    onehot = (g != 0).astype(float)
    np.testing.assert_allclose(case.expected, p - onehot, atol=1e-12)


def _mask0(s, y, margin=1.0):
    rows = np.arange(len(y))
    others = s.astype(float)
    others[rows, y] = 0.0
    return np.maximum(0, others.max(1) - s[rows, y] + margin).mean()


def _weston_watkins(s, y, margin=1.0):
    m = np.maximum(0, s - s[np.arange(len(y)), y][:, None] + margin)
    m[np.arange(len(y)), y] = 0
    return m.sum(axis=1).mean()


def _squared_cs(s, y, margin=1.0):
    worst = np.where(np.arange(s.shape[1]) == y[:, None], -np.inf, s).max(axis=1)
    return np.mean(np.maximum(0, worst - s[np.arange(len(y)), y] + margin) ** 2)


def _with_correct(s, y, margin=1.0):
    return np.maximum(0, s.max(1) - s[np.arange(len(y)), y] + margin).mean()


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_weston_watkins, "Weston-Watkins"),
        (_mask0, "score to 0"),
        (_with_correct, "j = y into the maximum"),
        (lambda s, y, m=1.0: crammer_singer(s, y, 1.0), "margin of 1 whatever"),
        (lambda s, y, m=1.0: crammer_singer(s, y, 0.0), "left out the margin"),
        (lambda s, y, m=1.0: crammer_singer(s, y, m) * len(y), "times too large"),
        (_squared_cs, "squared"),
        (lambda s, y: crammer_singer(s, y), "fn(scores, labels, margin)"),
    ],
    ids=["weston-watkins", "mask-0", "with-correct", "margin-1", "margin-0", "sum", "squared",
         "no-margin-arg"],
)
def test_crammer_singer_mistakes(wrong, words):
    result = check_crammer_singer_loss(wrong, verbose=False)
    assert not result and words in hints(result), result.feedback


def test_crammer_singer_reference_matches_loop_and_bounds_weston_watkins():
    rng = np.random.default_rng(0)
    for margin in (0.0, 0.5, 1.0, 2.0):
        s = rng.normal(size=(50, 6))
        y = rng.integers(0, 6, size=50)
        loop = [max(0.0, max(s[i, j] for j in range(6) if j != y[i]) - s[i, y[i]] + margin)
                for i in range(50)]
        assert float(ref.crammer_singer(s, y, margin)) == pytest.approx(np.mean(loop), rel=1e-12)
    per_cs = np.array([float(ref.crammer_singer(s[i:i + 1], y[i:i + 1], 1.0)) for i in range(50)])
    per_ww = np.array([float(ref.hinge(s[i:i + 1], y[i:i + 1])) for i in range(50)])
    assert np.all(per_cs <= per_ww + 1e-12)
    two = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    assert float(ref.crammer_singer(*two, 1.0)) == pytest.approx(float(ref.hinge(*two)))


def test_the_book_chapter_4_solution_passes():
    def sol_crammer_singer(scores, labels, margin=1.0):
        n = len(labels)
        correct = scores[np.arange(n), labels]
        others = scores.astype(float)
        others[np.arange(n), labels] = -np.inf
        return np.maximum(0, others.max(axis=1) - correct + margin).mean()

    assert check_crammer_singer_loss(sol_crammer_singer, verbose=False)


def test_public_names_are_unchanged_and_complete():
    import softmaxlab as sml
    import softmaxlab.exercises as package

    before = {"CheckResult", "FailedCase", "check_softmax", "check_log_softmax",
              "check_cross_entropy", "check_cross_entropy_grad", "check_hinge_loss",
              "check_sigmoid", "check_baseline_loss"}
    new = {"check_bigram_loss", "check_perplexity", "check_inner_product_backward",
           "check_softmax_backward", "check_crammer_singer_loss"}
    assert set(package.__all__) == before | new
    for name in package.__all__:
        assert getattr(sml.exercises, name) is getattr(package, name)
        if name.startswith("check_"):
            assert "Examples" in getattr(package, name).__doc__


def test_new_checkers_on_array_api_strict_inputs():
    xp = pytest.importorskip("array_api_strict")

    def ip(x, W, dh):
        assert type(x).__module__.startswith("array_api_strict")
        return dh @ W, dh.T @ x, xp.sum(dh, axis=0)

    def sm_backward(p, g):
        return p * (g - xp.sum(p * g, axis=-1, keepdims=True))

    def cs(scores, labels, margin):
        classes = xp.arange(scores.shape[1])[None, :]
        is_label = classes == labels[:, None]
        correct = xp.sum(xp.where(is_label, scores, 0.0), axis=1)
        worst = xp.max(xp.where(is_label, -xp.inf, scores), axis=1)
        return xp.mean(xp.maximum(worst - correct + margin, 0.0))

    assert check_inner_product_backward(ip, backend="array_api_strict", verbose=False)
    assert check_softmax_backward(sm_backward, backend="array_api_strict", verbose=False)
    assert check_crammer_singer_loss(cs, backend="array_api_strict", verbose=False)
    wrong = check_inner_product_backward(lambda x, W, dh: (dh @ W, x.T @ dh, xp.sum(dh, axis=0)),
                                         backend="array_api_strict", verbose=False)
    assert "transpose" in hints(wrong)
    assert isinstance(wrong.failed_case.inputs["x"], np.ndarray)  # inputs come back as NumPy


@pytest.mark.parametrize("name", [n for n in dir(_exercises) if n.startswith("check_")])
def test_exit_in_a_readers_function_is_a_failure_not_the_end_of_the_program(name):
    import sys

    def calls_exit(*args, **kwargs):
        sys.exit(3)

    result = getattr(_exercises, name)(calls_exit, verbose=False)
    assert not result and not result.passed
    first = result.failed[0]
    assert first.got == "SystemExit: 3"
    assert "called exit() or sys.exit()" in first.hint

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C still stops the check
        getattr(_exercises, name)(interrupted, verbose=False)
