r"""Calibration of predicted probabilities: reliability bins, ECE, temperature.

A classifier is *calibrated* when, among the inputs to which it gives its top
class a probability near :math:`c`, a fraction :math:`c` is classified
correctly.  :func:`reliability_bins` groups the predictions by that top-class
probability (the *confidence*) and measures the accuracy in each group, the
data of a reliability diagram; :func:`expected_calibration_error` condenses
the diagram into one number; :func:`fit_temperature` finds the single scale
:math:`T` of the scores, :math:`\operatorname{softmax}(z / T)`, that minimises
the cross-entropy on held-out data (temperature scaling, Guo et al., 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import dtype_name, to_numpy
from .special import logsumexp, softmax

__all__ = [
    "MAX_BINS",
    "ReliabilityBins",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_bins",
]


#: The most bins :func:`reliability_bins` accepts (each costs memory, and more bins
#: than examples only add empty ones).
MAX_BINS = 1_000_000


@dataclass(frozen=True)
class ReliabilityBins:
    """The data of a reliability diagram (returned by :func:`reliability_bins`).

    Attributes
    ----------
    edges : ndarray
        The ``n_bins + 1`` bin edges, ``0 = edges[0] < ... < edges[-1] = 1``.
    count : ndarray
        Integers, one per bin: the predictions whose confidence falls in each bin.
    confidence, accuracy : ndarray
        One value per bin: mean confidence and fraction correct of each bin (NaN where
        ``count`` is 0).
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def ece(self) -> float:
        """The expected calibration error, the sum of ``count/N * |accuracy - confidence|``."""
        n = int(self.count.sum())
        full = self.count > 0
        gaps = np.abs(self.accuracy[full] - self.confidence[full])
        return float((self.count[full] * gaps).sum() / n)

    def __repr__(self) -> str:
        return (f"ReliabilityBins(n_bins={self.count.size}, "
                f"n={int(self.count.sum())}, ece={self.ece:.4f})")


#: (machine epsilon, smallest subnormal) of the floating dtypes, by name.
_FLOAT_SPACING = {"float16": (2.0**-10, 2.0**-24), "bfloat16": (2.0**-7, 2.0**-133),
                  "float32": (2.0**-23, 2.0**-149), "float64": (2.0**-52, 2.0**-1074)}


def _host_float64(a, xp) -> np.ndarray:
    """`a` as a NumPy float64 array (torch's bfloat16 has no NumPy dtype: via float32)."""
    if dtype_name(a.dtype) == "bfloat16":
        a = xp.astype(a, xp.float32)
    return np.asarray(to_numpy(a)).astype(np.float64)


def _row_sum_tolerance(dtype, k: int) -> float:
    """How far from 1 a row of `k` probabilities stored in `dtype` may sum.

    Each stored probability is rounded to half an eps of itself (the sum moves by
    eps / 2) and the tiny ones to half the smallest subnormal each; the softmax's
    own normaliser, a sum of `k` terms, adds about sqrt(k) eps.
    """
    eps, sub = _FLOAT_SPACING.get(dtype_name(dtype), (0.0, 0.0))
    return max(1e-6, 2 * eps + k * sub + math.sqrt(k) * eps)


def _check_probs(probs: Any, labels: Any, fn: str):
    """`probs` (N, K) rows on the simplex and `labels` (N,) in range, as NumPy."""
    probs, labels = V.plain_array(probs, fn, "probs"), V.plain_array(labels, fn, "labels")
    xp, probs = V.namespace_and_array(probs, fn, "probs", labels)
    V.check_real_numeric(probs, xp, fn, "probs")
    p = _host_float64(probs, xp)
    y = np.asarray(to_numpy(V.as_array(labels, xp, fn, "labels")))
    k = p.shape[-1] if p.ndim else 1
    sum_tol = _row_sum_tolerance(probs.dtype, k)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise V.argument_error(fn, "probs", "a 2-D array of shape (N, K) "
                               "with N >= 1 and K >= 2 (one row per example)",
                               f"shape {tuple(p.shape)}")
    if y.shape != (p.shape[0],) or y.dtype.kind not in "iu":
        raise V.argument_error(fn, "labels", f"integer labels of shape "
                               f"({p.shape[0]},)", f"{y.dtype} of shape "
                               f"{tuple(y.shape)}")
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise V.argument_error(fn, "probs", "probabilities in [0, 1]",
                               f"{float(p[i, j])!r} at position ({i}, {j})")
    sums = p.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > sum_tol)
    if off.size:
        raise V.argument_error(fn, "probs", f"rows that sum to 1 (within {sum_tol:.2g} for "
                               f"{dtype_name(probs.dtype)}; pass softmax(scores), not the "
                               "scores)", f"row {off[0]} sums to {float(sums[off[0]])!r}")
    out = np.flatnonzero((y < 0) | (y >= p.shape[1]))
    if out.size:
        raise V.argument_error(fn, "labels", f"in 0..{p.shape[1] - 1}",
                               f"{int(y[out[0]])} at position {out[0]}")
    return p, y


def reliability_bins(probs: Any, labels: Any, *,
                     n_bins: int = 10) -> ReliabilityBins:
    r"""Bin predictions by confidence and measure the accuracy of each bin.

    Parameters
    ----------
    probs : array_like
        2-D, shape ``(N, K)``.
        Predicted class probabilities, one row per example (rows sum to 1).
    labels : array_like
        Integers, shape ``(N,)``.
        The true classes.
    n_bins : int, optional
        Equal-width bins over [0, 1] (default 10), at most :data:`MAX_BINS`
        (one million).  Bin :math:`b` holds the
        confidences in :math:`((b-1)/B, b/B]`; a confidence of exactly 0
        goes to the first bin.

    Returns
    -------
    ReliabilityBins
        Edges, counts, mean confidence and accuracy per bin (NumPy arrays,
        whatever the input's library: they are a handful of numbers for a
        plot), and the ``ece``.

    Raises
    ------
    ValueError
        If `probs` is not (N, K) with rows on the probability simplex (each
        row summing to 1 within ``max(1e-6, 2 eps + K s + sqrt(K) eps)``, with
        ``eps`` and ``s`` the machine epsilon and the smallest subnormal of the
        dtype of `probs`: float16 rows of
        :func:`~softmaxlab.softmax` pass), if `labels` are out of range or of
        the wrong shape, or if `n_bins` is not in [1, :data:`MAX_BINS`].
    TypeError
        If `n_bins` is not an integer, or `probs` or `labels` is a
        ``numpy.ma`` masked array.

    Notes
    -----
    With the confidence :math:`c_n = \max_j p_{nj}` and the prediction
    :math:`\hat y_n = \arg\max_j p_{nj}`, bin :math:`B_b` has

    .. math::

        \operatorname{conf}(B_b) = \frac{1}{|B_b|} \sum_{n \in B_b} c_n,
        \qquad
        \operatorname{acc}(B_b) = \frac{1}{|B_b|} \sum_{n \in B_b}
        [\hat y_n = y_n].

    A calibrated model has :math:`\operatorname{acc} \approx
    \operatorname{conf}` in every bin (Naeini et al., 2015; Guo et al., 2017).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    >>> bins = reliability_bins(p, np.array([0, 1, 1, 0]), n_bins=2)
    >>> bins.count.tolist(), bins.accuracy.tolist()
    ([0, 4], [nan, 0.5])
    >>> round(bins.ece, 4)      # |0.5 - mean(0.9, 0.8, 0.7, 0.55)|
    0.2375
    """
    return _bins("reliability_bins", probs, labels, n_bins)


def _bins(fn: str, probs: Any, labels: Any, n_bins: Any) -> ReliabilityBins:
    """:func:`reliability_bins`, its errors named after the public function `fn`."""
    n_bins = V.check_count(n_bins, fn, "n_bins")
    if n_bins > MAX_BINS:
        raise V.argument_error(fn, "n_bins", f"an integer in [1, {MAX_BINS}] (MAX_BINS; "
                               "a reliability diagram needs a handful of bins, 10 to 20)",
                               str(n_bins))
    p, y = _check_probs(probs, labels, fn)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins (lo, hi]; 0 joins the first bin
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1,
                  0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, conf, n_bins) / count
        acc = np.bincount(idx, correct, n_bins) / count
    return ReliabilityBins(edges, count, mean_conf, acc)


def expected_calibration_error(probs: Any, labels: Any, *,
                               n_bins: int = 10) -> float:
    r"""Expected calibration error (ECE) of predicted probabilities.

    Parameters
    ----------
    probs : array_like
        2-D, shape ``(N, K)``.
        Predicted class probabilities (rows sum to 1).
    labels : array_like
        Integers, shape ``(N,)``.
        The true classes.
    n_bins : int, optional
        Equal-width confidence bins (default 10), as in
        :func:`reliability_bins`.

    Returns
    -------
    float
        A number in [0, 1]: 0 for a calibrated model.

    Raises
    ------
    ValueError, TypeError
        As :func:`reliability_bins`.

    Notes
    -----
    .. math::

        \mathrm{ECE} = \sum_{b=1}^{B} \frac{|B_b|}{N}\,
        \bigl|\operatorname{acc}(B_b) - \operatorname{conf}(B_b)\bigr| .

    It depends on the number of bins, and a model that always predicts its
    average accuracy as its confidence scores 0 without being useful: read
    it next to the accuracy and the cross-entropy.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    >>> round(expected_calibration_error(p, [0, 1, 1, 0], n_bins=2), 4)
    0.2375
    """
    return _bins("expected_calibration_error", probs, labels, n_bins).ece


def _check_bounds(bounds: Any, fn: str) -> tuple[float, float]:
    """`bounds` as (lo, hi), two real numbers (not bools, not a string) with 0 < lo < hi < inf."""
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, (tuple, list, np.ndarray)) \
            or len(bounds) != 2:
        raise V.argument_error(fn, "bounds", "a pair (lo, hi) of numbers", repr(bounds))
    try:
        lo, hi = (V.check_number(b, fn, "bounds") for b in bounds)
    except TypeError:
        raise V.argument_error(fn, "bounds", "a pair (lo, hi) of real numbers (not bools "
                               "or strings)", repr(bounds), TypeError) from None
    if not (0 < lo < hi < math.inf):
        raise V.argument_error(fn, "bounds", "0 < lo < hi < inf", repr(bounds))
    return lo, hi


def _refuse_probabilities(z: np.ndarray, fn: str, tol: float) -> None:
    """Scores of 3 or more classes whose every row lies in [0, 1] and sums to 1 are
    probabilities, not logits (two scores in [0, 1] summing to 1 are plausible logits)."""
    if (z.shape[1] >= 3 and np.all((z >= 0) & (z <= 1))
            and np.allclose(z.sum(axis=1), 1.0, rtol=0, atol=tol)):
        raise V.argument_error(
            fn, "logits", "scores (logits), not probabilities: pass the scores before the "
            "softmax, or np.log(probs) (log-probabilities are logits)",
            f"{z.shape[0]} row(s) that all lie in [0, 1] and sum to 1")


def _nll_and_derivatives(beta: float, z: np.ndarray, zy: np.ndarray):
    """Mean NLL of softmax(beta z) and its first two derivatives in beta."""
    s = beta * z
    lse = to_numpy(logsumexp(s, axis=1))
    p = to_numpy(softmax(s, axis=1))
    mean_z = (p * z).sum(axis=1)
    var_z = np.maximum((p * z * z).sum(axis=1) - mean_z ** 2, 0.0)
    return (float((lse - beta * zy).mean()), float((mean_z - zy).mean()),
            float(var_z.mean()))


def fit_temperature(logits: Any, labels: Any, *,
                    bounds: tuple[float, float] = (0.01, 100.0),
                    tol: float = 1e-10) -> float:
    r"""The temperature :math:`T` that minimises the cross-entropy of ``softmax(z / T)``.

    Fit it on a validation split, never on the data used to judge it.

    Parameters
    ----------
    logits : array_like
        2-D, shape ``(N, K)``.
        Scores of the held-out examples (not probabilities).
    labels : array_like
        Integers, shape ``(N,)``.
        Their true classes.
    bounds : (float, float), optional
        The search interval for :math:`T` (default ``(0.01, 100)``), two real
        numbers; the
        result is clipped to it, e.g. when the scores already classify the
        split perfectly and the loss keeps falling as :math:`T \to 0`.
    tol : float, optional
        Stop when a Newton step changes :math:`1/T` by less than `tol`, a
        finite number > 0.

    Returns
    -------
    float
        :math:`T > 0`.  :math:`T > 1` softens over-confident probabilities;
        the arg-max, hence the accuracy, does not change.

    Raises
    ------
    ValueError
        If `logits` is not a finite (N, K) array with K >= 2, or holds
        probabilities (K >= 3 and every row in [0, 1], summing to 1 within the
        tolerance of :func:`expected_calibration_error`: pass the scores, or
        their logarithm), if `labels` are out of range, if `bounds` is not a
        pair ``0 < lo < hi < inf`` or `tol` is not a finite number > 0.
    TypeError
        If a bound or `tol` is not a real number (a bool, a string), or
        `logits` or `labels` is a ``numpy.ma`` masked array.

    Notes
    -----
    With :math:`\beta = 1/T` the mean cross-entropy

    .. math::

        J(\beta) = \frac1N \sum_n \Bigl(\operatorname{logsumexp}(\beta z_n)
        - \beta z_{n y_n}\Bigr)

    is convex in :math:`\beta`: :math:`J'(\beta) = \frac1N \sum_n
    (\mathbb E_{p_n}[z] - z_{n y_n})` and :math:`J''(\beta) = \frac1N \sum_n
    \operatorname{Var}_{p_n}[z] \ge 0`, with :math:`p_n =
    \operatorname{softmax}(\beta z_n)`.  The minimiser is found by Newton's
    method on :math:`\beta`, safeguarded by bisection on the sign of
    :math:`J'` (Guo et al., 2017).

    Examples
    --------
    Scores twice as large as they should be are cooled by :math:`T = 2`:

    >>> import numpy as np
    >>> from softmaxlab import softmax
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(20000, 5))
    >>> u = rng.random((20000, 1))                  # sample y ~ softmax(z)
    >>> y = (u > np.cumsum(softmax(z, axis=1), axis=1)).sum(axis=1)
    >>> round(fit_temperature(2 * z, y), 1)
    2.0
    """
    fn = "fit_temperature"
    lo, hi = _check_bounds(bounds, fn)
    tol = V.check_real_scalar(tol, fn, "tol", lo=0.0, lo_open=True)
    logits, labels = V.plain_array(logits, fn, "logits"), V.plain_array(labels, fn, "labels")
    xp, logits = V.namespace_and_array(logits, fn, "logits", labels)
    V.check_real_numeric(logits, xp, fn, "logits")
    z = _host_float64(logits, xp)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise V.argument_error(fn, "logits", "a 2-D array of shape (N, K) "
                               "with N >= 1 and K >= 2",
                               f"shape {tuple(z.shape)}")
    if not np.isfinite(z).all():
        i, j = np.argwhere(~np.isfinite(z))[0]
        raise V.argument_error(fn, "logits", "finite", f"{float(z[i, j])!r} at "
                               f"position ({i}, {j})")
    _refuse_probabilities(z, fn, _row_sum_tolerance(logits.dtype, z.shape[1]))
    uniform = np.full_like(z, 1.0 / z.shape[1])
    y_np = to_numpy(V.as_array(labels, xp, fn, "labels"))
    _, y = _check_probs(uniform, y_np, fn)       # checks the labels
    zy = z[np.arange(z.shape[0]), y]
    b_lo, b_hi = 1.0 / hi, 1.0 / lo              # J' is increasing in beta
    if _nll_and_derivatives(b_lo, z, zy)[1] >= 0:
        return hi
    if _nll_and_derivatives(b_hi, z, zy)[1] <= 0:
        return lo
    beta = min(max(1.0, b_lo), b_hi)
    for _ in range(200):
        _, d1, d2 = _nll_and_derivatives(beta, z, zy)
        if d1 > 0:
            b_hi = beta
        else:
            b_lo = beta
        step = beta - d1 / d2 if d2 > 0 else math.nan
        new = step if b_lo < step < b_hi else 0.5 * (b_lo + b_hi)
        if abs(new - beta) < tol or b_hi - b_lo < tol:
            beta = new
            break
        beta = new
    return 1.0 / beta
