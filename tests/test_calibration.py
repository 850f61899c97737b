"""Tests of softmaxlab.calibration: reliability bins, ECE and temperature scaling.

The bins are compared with a hand-computed example and a plain loop over the
examples; the temperature with scipy.optimize's bounded minimiser of the same
objective; hypothesis checks the invariants (ECE in [0, 1], counts that add up,
a temperature that never changes the arg-max).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import softmax as scipy_softmax

from softmaxlab.calibration import (
    ReliabilityBins,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)

P4 = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
Y4 = np.array([0, 1, 1, 0])


def _loop_reference(p, y, n_bins):
    """Bins by a plain loop: confidence c goes to bin ceil(c * B) - 1 (0 -> 0)."""
    count = [0] * n_bins
    conf = [0.0] * n_bins
    hits = [0.0] * n_bins
    edges = np.linspace(0, 1, n_bins + 1)
    for row, label in zip(p, y):
        c = row.max()
        b = 0
        while b < n_bins - 1 and c > edges[b + 1]:
            b += 1
        count[b] += 1
        conf[b] += c
        hits[b] += float(row.argmax() == label)
    ece = sum(abs(h - s) for h, s in zip(hits, conf)) / len(y)
    return np.array(count), ece


def test_hand_computed_bins():
    bins = reliability_bins(P4, Y4, n_bins=2)
    assert isinstance(bins, ReliabilityBins)
    assert bins.count.tolist() == [0, 4]
    assert math.isnan(bins.accuracy[0]) and math.isnan(bins.confidence[0])
    # predictions 0, 0, 1, 1 against labels 0, 1, 1, 0: half right
    assert bins.accuracy[1] == 0.5
    assert bins.confidence[1] == pytest.approx((0.9 + 0.8 + 0.7 + 0.55) / 4)
    assert bins.ece == pytest.approx(abs(0.5 - 0.7375))
    assert "ece=0.2375" in repr(bins)


def test_hand_computed_five_bins():
    # confidences 0.9, 0.8, 0.7, 0.55 with B = 5: bins (0.8, 1], (0.6, 0.8], (0.4, 0.6]
    bins = reliability_bins(P4, Y4, n_bins=5)
    assert bins.count.tolist() == [0, 0, 1, 2, 1]
    assert bins.accuracy[2] == 0.0 and bins.accuracy[3] == 0.5
    assert bins.accuracy[4] == 1.0
    expected = (abs(0 - 0.55) + 2 * abs(0.5 - 0.75) + abs(1 - 0.9)) / 4
    assert expected_calibration_error(P4, Y4, n_bins=5) == pytest.approx(expected)


def test_edges_are_right_closed():
    p = np.array([[0.5, 0.5], [0.6, 0.4], [1.0, 0.0]])
    bins = reliability_bins(p, [0, 0, 0], n_bins=5)
    # 0.5 -> (0.4, 0.6], 0.6 -> (0.4, 0.6], 1.0 -> (0.8, 1]
    assert bins.count.tolist() == [0, 0, 2, 0, 1]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(2, 6), n_bins=st.integers(1, 12),
       seed=st.integers(0, 10_000), scale=st.floats(0.0, 8.0))
def test_matches_a_loop_and_invariants(n, k, n_bins, seed, scale):
    rng = np.random.default_rng(seed)
    p = scipy_softmax(scale * rng.normal(size=(n, k)), axis=1)
    y = rng.integers(0, k, size=n)
    bins = reliability_bins(p, y, n_bins=n_bins)
    count, ece = _loop_reference(p, y, n_bins)
    assert bins.count.tolist() == count.tolist()
    assert bins.count.sum() == n
    assert bins.ece == pytest.approx(ece, abs=1e-12)
    assert 0.0 <= bins.ece <= 1.0
    full = bins.count > 0
    assert np.all(bins.confidence[full] >= 1 / k - 1e-12)


def test_perfect_and_worst_calibration():
    # always right with confidence 1: ECE 0; always wrong with confidence 1: ECE 1
    p = np.eye(3)[[0, 1, 2, 0]]
    assert expected_calibration_error(p, [0, 1, 2, 0]) == 0.0
    assert expected_calibration_error(p, [1, 2, 0, 1]) == 1.0


def test_calibrated_by_construction_has_small_ece():
    rng = np.random.default_rng(1)
    p = scipy_softmax(2 * rng.normal(size=(50_000, 4)), axis=1)
    y = (rng.random((50_000, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    assert expected_calibration_error(p, y, n_bins=10) < 0.01


# ---------------------------------------------------------------- temperature
def _scipy_temperature(z, y):
    def nll(t):
        return -scipy_log_softmax(z / t, axis=1)[np.arange(len(y)), y].mean()

    return minimize_scalar(nll, bounds=(0.01, 100), method="bounded",
                           options={"xatol": 1e-10}).x


@pytest.mark.parametrize("true_t, seed", [(0.5, 0), (1.0, 1), (3.0, 2)])
def test_temperature_matches_scipy(true_t, seed):
    rng = np.random.default_rng(seed)
    z = 2 * rng.normal(size=(3000, 6))
    p = scipy_softmax(z, axis=1)
    y = (rng.random((3000, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    t = fit_temperature(true_t * z, y)
    assert t == pytest.approx(_scipy_temperature(true_t * z, y), rel=1e-6)
    assert t == pytest.approx(true_t, rel=0.1)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), k=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_temperature_is_the_minimiser(n, k, seed):
    rng = np.random.default_rng(seed)
    z = 3 * rng.normal(size=(n, k))
    y = rng.integers(0, k, size=n)
    t = fit_temperature(z, y)
    assert 0.01 <= t <= 100
    ref = _scipy_temperature(z, y)

    def nll(t_):
        return -scipy_log_softmax(z / t_, axis=1)[np.arange(n), y].mean()

    assert nll(t) <= nll(ref) + 1e-9
    # the arg-max (and so the accuracy) never changes
    assert np.array_equal((z / t).argmax(1), z.argmax(1))


def test_temperature_hits_the_bounds():
    z = np.array([[5.0, 0.0], [0.0, 5.0]])
    assert fit_temperature(z, [0, 1]) == 0.01         # perfect: sharpen to the bound
    assert fit_temperature(z, [1, 0]) == 100.0        # always wrong: flatten
    assert fit_temperature(z, [0, 1], bounds=(0.5, 2)) == 0.5


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("probs, labels, match", [
    (np.array([0.5, 0.5]), [0], r"argument 'probs' must be a 2-D array"),
    (np.ones((2, 1)), [0, 0], r".*K >= 2.*found shape \(2, 1\)"),
    (np.array([[0.5, 0.6]]), [0], r".*rows that sum to 1.*row 0 sums to 1\.1"),
    (np.array([[1.5, -0.5]]), [0], r".*in \[0, 1\]; found 1\.5 at position \(0, 0\)"),
    (np.array([[np.nan, 0.5]]), [0], r".*found nan at position \(0, 0\)"),
    (P4, [0, 1, 2, 0], r"argument 'labels' must be in 0\.\.1; found 2 at position 2"),
    (P4, [0, 1], r"argument 'labels' must be integer labels of shape \(4,\)"),
    (P4, [0.0, 1.0, 1.0, 0.0], r".*integer labels"),
])
def test_bad_probabilities(probs, labels, match):
    with pytest.raises(ValueError, match="reliability_bins: " + match):
        reliability_bins(probs, labels)
    # the error names the function the reader called
    with pytest.raises(ValueError, match="^expected_calibration_error: " + match):
        expected_calibration_error(probs, labels)


def test_bad_n_bins():
    with pytest.raises(ValueError, match="reliability_bins: argument 'n_bins' must be an integer >= 1; found 0"):
        reliability_bins(P4, Y4, n_bins=0)
    with pytest.raises(TypeError, match="^expected_calibration_error: argument 'n_bins' must be an "
                                        "integer >= 1; found float 2.5"):
        expected_calibration_error(P4, Y4, n_bins=2.5)


@pytest.mark.parametrize("kwargs, logits, match", [
    ({}, np.ones(3), r"argument 'logits' must be a 2-D array"),
    ({}, np.array([[np.inf, 0.0]]), r"argument 'logits' must be finite; found inf"),
    ({"bounds": (2.0, 1.0)}, np.zeros((1, 2)), r"argument 'bounds' must be 0 < lo < hi"),
    ({"bounds": 3}, np.zeros((1, 2)), r"argument 'bounds' must be a pair"),
])
def test_bad_temperature_input(kwargs, logits, match):
    with pytest.raises(ValueError, match="fit_temperature: " + match):
        fit_temperature(logits, [0] * len(np.atleast_2d(logits)), **kwargs)


def test_temperature_checks_labels():
    with pytest.raises(ValueError, match=r"fit_temperature: argument 'labels'"):
        fit_temperature(np.zeros((2, 3)), [0, 3])


def test_other_backends_give_the_same_numbers():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    z = 2 * rng.normal(size=(300, 4))
    y = rng.integers(0, 4, size=300)
    p = scipy_softmax(z, axis=1)
    assert fit_temperature(xps.asarray(z), xps.asarray(y)) == pytest.approx(
        fit_temperature(z, y), rel=1e-12)
    assert expected_calibration_error(xps.asarray(p), xps.asarray(y)) == pytest.approx(
        expected_calibration_error(p, y), abs=1e-12)
    with pytest.raises(TypeError, match="cannot mix arrays"):
        reliability_bins(xps.asarray(p), y)
