r"""Reading the loss: what a cross-entropy value and its history say about training.

A classifier that knows nothing predicts the uniform distribution, every class
with probability :math:`1/K`, and its cross-entropy is

.. math::

    -\ln\frac1K = \ln K \qquad (\ln 10 = 2.302585,\ \ln 1000 = 6.907755).

A freshly initialised network with small weights sits right there.  From this
one number the loss history can be read:

* it falls well below :math:`\ln K`: the network is **learning**;
* it stays near :math:`\ln K`: training has **stalled** -- raise the learning
  rate or change the initialisation;
* it climbs far above where it was, or becomes NaN/inf: training is
  **diverging** -- lower the learning rate;
* it *starts* far above :math:`\ln K`: the initial weights are too large
  (**bad_init**) -- the network is confidently wrong before it has seen any data.

:func:`baseline_loss` gives :math:`\ln K`; :func:`diagnose` reads a whole history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import _validation as V
from ._backend import to_numpy

__all__ = ["VERDICTS", "Diagnosis", "baseline_loss", "diagnose"]

#: Every verdict :func:`diagnose` can return.
VERDICTS = ("learning", "stalled", "diverging", "bad_init", "plateau", "too_short")


def baseline_loss(num_classes: int) -> float:
    r"""The cross-entropy of the uniform prediction over `num_classes` classes: :math:`\ln K`.

    Parameters
    ----------
    num_classes : int
        Number of classes :math:`K \ge 1`.

    Returns
    -------
    float
        :math:`\ln K`: the loss of a classifier that gives every class
        probability :math:`1/K`, whatever the true labels.  An untrained network
        with small weights starts here.

    Raises
    ------
    TypeError
        If `num_classes` is not an integer (a float such as ``10.0`` included).
    ValueError
        If `num_classes` < 1.

    Notes
    -----
    .. math::

        -\frac1N \sum_{n=1}^N \ln p_{n, y_n} = -\ln\frac1K = \ln K
        \quad\text{when } p_{n,k} = \frac1K \text{ for all } n, k.

    Examples
    --------
    >>> from softmaxlab.diagnostics import baseline_loss
    >>> round(baseline_loss(1000), 6)
    6.907755
    >>> round(baseline_loss(10), 6)
    2.302585
    """
    k = _check_num_classes(num_classes, "baseline_loss")
    return math.log(k)


def _check_num_classes(num_classes: Any, fn: str) -> int:
    return V.check_count(num_classes, fn, "num_classes")


def _check_threshold(value: Any, name: str, *, positive: bool = True) -> float:
    if isinstance(value, bool):
        raise TypeError(f"diagnose: {name} must be a number; got the bool {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"diagnose: {name} must be a number; got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(
            f"diagnose: {name} must be a finite number {'>' if positive else '>='} 0; got {v}"
        )
    return v


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` read from a loss history.

    ``str(d)`` prints the verdict and the advice; the fields hold the numbers
    behind them.

    Attributes
    ----------
    verdict : str
        One of :data:`VERDICTS`: ``"learning"``, ``"stalled"``,
        ``"diverging"``, ``"bad_init"``, ``"plateau"`` or ``"too_short"``.
    message : str
        Plain-language reading of the curve and what to do.
    num_classes : int
        :math:`K`.
    baseline : float
        The reference loss, :math:`\\ln K` unless another was given.
    first_loss, last_loss : float
        The first and the last recorded value (the last may be NaN/inf).
    start_loss, end_loss, best_loss : float
        Means over the first and the last `window` finite values, and the
        lowest such moving mean (NaN when no value is finite).
    relative_improvement : float
        ``(start_loss - end_loss) / start_loss`` (0 when `start_loss` is 0;
        negative when the loss rose).
    first_nonfinite : int or None
        Index of the first NaN/inf value, None when all are finite.
    num_steps : int
        Length of the history.
    window : int
        Smoothing window used.
    """

    verdict: str
    message: str
    num_classes: int
    baseline: float
    first_loss: float
    last_loss: float
    start_loss: float
    end_loss: float
    best_loss: float
    relative_improvement: float
    first_nonfinite: int | None
    num_steps: int
    window: int

    def __str__(self) -> str:
        return f"{self.verdict}: {self.message}"

    def __repr__(self) -> str:
        nf = "" if self.first_nonfinite is None else f", first_nonfinite={self.first_nonfinite}"
        return (
            f"Diagnosis(verdict={self.verdict!r}, steps={self.num_steps}, "
            f"baseline={self.baseline:.4f}, first_loss={self.first_loss:.4g}, "
            f"end_loss={self.end_loss:.4g}, "
            f"relative_improvement={self.relative_improvement:.3g}{nf})"
        )

    @property
    def ok(self) -> bool:
        """True for ``"learning"`` and ``"plateau"``: nothing is broken."""
        return self.verdict in ("learning", "plateau")


def _change(improvement: float) -> str:
    pct = 100.0 * improvement
    if pct >= 0.05:
        return f"fell by only {pct:.1f} %"
    if pct <= -0.05:
        return f"rose by {-pct:.1f} %"
    return "did not change"


def _as_history(loss_history: Any) -> np.ndarray:
    if hasattr(loss_history, "loss") and not hasattr(loss_history, "shape"):
        loss_history = loss_history.loss  # a TrainingHistory
    if isinstance(loss_history, (str, bytes)):
        raise TypeError("diagnose: loss_history must be a sequence of numbers; got a string")
    try:
        if hasattr(loss_history, "shape"):
            arr = to_numpy(loss_history)
        else:
            arr = np.asarray([float(to_numpy(v)) for v in loss_history])
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "diagnose: loss_history must be a 1-D sequence of numbers (a list of "
            f"floats, a 1-D array or a TrainingHistory); got {type(loss_history).__name__} "
            f"({exc})"
        ) from None
    if arr.ndim != 1:
        raise ValueError(
            f"diagnose: loss_history must be 1-D (one loss per step); got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(
            "diagnose: loss_history is empty; record at least one loss value "
            "(for example the loss of the untrained network) before diagnosing"
        )
    neg = np.flatnonzero(np.isfinite(arr) & (arr < -_NEGATIVE_SLACK))  # non-finite: diverging
    if neg.size:
        i = int(neg[0])
        raise ValueError(
            f"diagnose: loss_history holds {float(arr[i])!r} at step {i}; a cross-entropy or "
            "hinge loss is never negative (was the log-likelihood passed instead of its "
            "negative, or an accuracy instead of a loss?)"
        )
    return arr


#: Losses down to this far below zero pass (rounding in another library's loss).
_NEGATIVE_SLACK = 1e-6


def diagnose(
    loss_history: Sequence[float] | Any,
    num_classes: int,
    *,
    baseline: float | None = None,
    window: int | None = None,
    init_tolerance: float = 0.5,
    rise_tolerance: float = 0.25,
    min_improvement: float = 0.05,
    stall_tolerance: float = 0.1,
) -> Diagnosis:
    r"""Read a loss history: learning, stalled, diverging or badly initialised?

    Parameters
    ----------
    loss_history : sequence of float, 1-D array or TrainingHistory
        One loss per training step, the first recorded *before* any update (as
        :func:`softmaxlab.training.train` does).  NaN/inf values are allowed:
        they are what this function looks for.
    num_classes : int
        Number of classes :math:`K`.
    baseline : float, optional
        Reference loss of the untrained model.  Default :math:`\ln K`, right for
        the softmax cross-entropy; pass e.g. :math:`(K-1)\,\Delta` for a
        multiclass hinge loss with margin :math:`\Delta`.
    window : int, optional
        Number of values averaged to smooth a noisy minibatch curve.  Default
        ``max(1, min(50, len(loss_history) // 10))``.
    init_tolerance : float, optional
        The first loss counts as "far above the baseline" when it exceeds
        ``baseline + init_tolerance * scale`` (default 0.5: for :math:`K=10`,
        above 3.45; for :math:`K=1000`, above 10.36).
    rise_tolerance : float, optional
        The run is diverging when the smoothed loss at the end is more than
        ``rise_tolerance * max(scale, r)`` above ``r``, the lower of the first
        loss and the lowest smoothed value (default 0.25: 0.58 nats for a run
        that starts at :math:`\ln 10`).
    min_improvement : float, optional
        A run whose smoothed loss fell by less than this fraction of its start
        (default 5 %) is not learning.
    stall_tolerance : float, optional
        A run that does not improve counts as stalled when its loss stays at or
        above ``baseline - stall_tolerance * scale`` (default 0.1), and as a
        plateau when it is flat well below the baseline.

    Returns
    -------
    Diagnosis
        ``.verdict``, ``.message`` and the numbers behind them.

    Raises
    ------
    ValueError
        If the history is empty, not 1-D or holds a negative loss (below
        ``-1e-6``), or a threshold is negative.
    TypeError
        If the history holds something other than numbers, or `num_classes`
        is not an integer.

    Notes
    -----
    ``scale`` is the baseline itself, :math:`\ln K` (:math:`\ln 2` when the
    baseline is smaller, e.g. for :math:`K = 1`), so every tolerance is a
    fraction of the loss of the uniform guess.  Let :math:`\bar L_t` be the mean
    of the loss over `window` consecutive finite values ending at :math:`t`.
    The checks run in this order, the first that applies wins:

    1. fewer than two values: ``bad_init`` if the single value is NaN/inf or far
       above the baseline, else ``too_short``;
    2. a NaN/inf value at step 0, before any update: ``bad_init`` (the learning
       rate cannot be the cause: look at the data and the initialisation);
    3. a NaN/inf value later: ``diverging``;
    4. the smoothed loss at the end is far above the lower of the first loss
       and its lowest smoothed value, :math:`r = \min(L_0, \min_t \bar L_t)`:
       :math:`\bar L_{\text{end}} - r > \text{rise\_tolerance} \cdot \max(\text{scale}, r)`
       (the loss climbed up from where it started or from its best; the
       tolerance grows with the loss level, so the noise of a high, slowly
       falling curve is not mistaken for a rise): ``diverging``;
    5. the first loss is far above the baseline and the smoothed loss has not
       yet come down to the baseline: ``bad_init``;
    6. :math:`(\bar L_{\text{start}} - \bar L_{\text{end}}) / \bar L_{\text{start}}
       < \text{min\_improvement}`: ``stalled`` near or above the baseline,
       ``plateau`` well below it;
    7. otherwise ``learning``.

    Check 4 comes before 5, so a badly initialised run whose loss then explodes
    is reported as diverging (lower the learning rate first); a badly
    initialised run that has already dropped below the baseline is
    ``learning``, with a note about the start in the message.

    Examples
    --------
    >>> from softmaxlab.diagnostics import diagnose
    >>> print(diagnose([2.31, 2.30, 2.30, 2.31, 2.30], num_classes=10))
    stalled: The loss stays at 2.3, near the uniform-guess baseline ln(10) = 2.303,
    and fell by only 0.4 % over 5 steps: the network is not learning. Raise the
    learning rate or change the initialisation (the weights may be too small).
    >>> diagnose([2.3, 1.9, 1.2, 0.8, 0.5], 10).verdict
    'learning'
    >>> diagnose([2.3, 4.1, 9.7, float("nan")], 10).verdict
    'diverging'
    >>> diagnose([41.0, 40.2, 39.5, 38.9], 10).verdict
    'bad_init'
    """
    K = _check_num_classes(num_classes, "diagnose")
    L = _as_history(loss_history)
    if baseline is not None:
        baseline = _check_threshold(baseline, "baseline", positive=False)
    if baseline is None or math.isclose(baseline, math.log(K), rel_tol=1e-12, abs_tol=1e-15):
        B = math.log(K)
        bname = f"ln({K}) = {B:.4g}"
    else:
        B = baseline
        bname = f"{B:.4g}"
    init_tolerance = _check_threshold(init_tolerance, "init_tolerance")
    rise_tolerance = _check_threshold(rise_tolerance, "rise_tolerance")
    min_improvement = _check_threshold(min_improvement, "min_improvement", positive=False)
    stall_tolerance = _check_threshold(stall_tolerance, "stall_tolerance", positive=False)
    n = int(L.size)
    if window is None:
        w = max(1, min(50, n // 10))
    else:
        w = V.check_count(window, "diagnose", "window")
    scale = max(B, math.log(2.0))

    finite = np.isfinite(L)
    bad = np.flatnonzero(~finite)
    first_nonfinite = int(bad[0]) if bad.size else None
    good = L if first_nonfinite is None else L[:first_nonfinite]
    nan = float("nan")
    if good.size:
        w_eff = min(w, good.size)
        with np.errstate(over="ignore", invalid="ignore"):
            c = np.concatenate(([0.0], np.cumsum(good)))
            smooth = (c[w_eff:] - c[:-w_eff]) / w_eff
        if not np.isfinite(smooth).all():  # the running sum overflowed (losses near 1e308)
            m = float(np.max(np.abs(good)))
            c = np.concatenate(([0.0], np.cumsum(good / m)))
            smooth = (c[w_eff:] - c[:-w_eff]) / w_eff * m
        start, end, best = float(smooth[0]), float(smooth[-1]), float(smooth.min())
        improvement = (start - end) / start if start != 0 else 0.0
    else:
        w_eff = w
        start = end = best = improvement = nan
    first, last = float(L[0]), float(L[-1])
    far_above = math.isfinite(first) and first > B + init_tolerance * scale

    def result(verdict: str, message: str) -> Diagnosis:
        return Diagnosis(
            verdict=verdict,
            message=message,
            num_classes=K,
            baseline=B,
            first_loss=first,
            last_loss=last,
            start_loss=start,
            end_loss=end,
            best_loss=best,
            relative_improvement=float(improvement),
            first_nonfinite=first_nonfinite,
            num_steps=n,
            window=w_eff,
        )

    init_advice = (
        "The initial weights are probably too large, so the untrained network is "
        "confidently wrong. Use smaller initial weights (e.g. a 'xavier' or 'msra' "
        "filler, or a smaller std) and check that the inputs are normalised."
    )
    # 1-3: NaN/inf and very short histories.
    if first_nonfinite == 0:
        return result(
            "bad_init",
            f"The very first loss is {first}, before any update, so the learning rate "
            "is not the cause. Check the inputs for NaN/inf and the initial weights "
            "(too large?), and that the loss is computed stably.",
        )
    if n < 2:
        if far_above:
            return result(
                "bad_init",
                f"The first loss, {first:.4g}, is far above the uniform-guess baseline "
                f"{bname}. {init_advice}",
            )
        return result(
            "too_short",
            f"One loss value ({first:.4g}; uniform-guess baseline {bname}). It is a "
            "sensible start, but at least two values are needed to read a trend.",
        )
    if first_nonfinite is not None:
        return result(
            "diverging",
            f"The loss became {L[first_nonfinite]} at step {first_nonfinite} (baseline "
            f"{bname}): training diverged. Lower the learning rate (try 10x smaller).",
        )
    # 4: climbing up from the start or from the best point so far.
    ref = min(first, best)
    if end - ref > rise_tolerance * max(scale, ref):
        return result(
            "diverging",
            # The runaway values themselves (end_loss, the peak) stay in the fields:
            # their digits are chaotic and would differ from one machine to the next.
            f"The loss rose far above where it started ({ref:.4g}; smoothed over {w_eff} "
            f"steps; baseline {bname}): training is diverging. Lower the learning rate "
            "(try 10x smaller).",
        )
    # 5: a bad start that has not recovered: the loss is still above the
    # baseline, or has only fallen back to about it (chance level).
    if far_above and end > B - stall_tolerance * scale:
        where = "still above it" if end > B else "only back at about chance level"
        return result(
            "bad_init",
            f"The first loss, {first:.4g}, is far above the uniform-guess baseline "
            f"{bname}, and after {n} steps the loss ({end:.4g}) is {where}. "
            + init_advice,
        )
    # 6: no progress.
    if improvement < min_improvement:
        if end >= B - stall_tolerance * scale:
            return result(
                "stalled",
                f"The loss stays at {end:.4g}, near the uniform-guess baseline {bname}, "
                f"and {_change(improvement)} over {n} steps: the network "
                "is not learning. Raise the learning rate or change the initialisation "
                "(the weights may be too small).",
            )
        return result(
            "plateau",
            f"The loss is flat at {end:.4g}, well below the uniform-guess baseline "
            f"{bname}: the network has learned and stopped improving. Lower the "
            "learning rate (a decay schedule) or use a larger model to go further; "
            "otherwise stop training.",
        )
    note = (
        f" It started far above the baseline ({first:.4g}): smaller initial weights "
        "would save steps."
        if far_above
        else ""
    )
    return result(
        "learning",
        f"The loss fell from {start:.4g} to {end:.4g} ({100 * improvement:.0f} % lower; "
        f"uniform-guess baseline {bname}): the network is learning." + note,
    )
