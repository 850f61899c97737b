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
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import to_numpy

__all__ = ["CAFFE_UNDERFLOW_LOSS", "MESSAGES", "VERDICTS", "VERDICT_RULES", "Diagnosis",
           "VerdictRule", "baseline_loss", "diagnose"]

#: Every verdict :func:`diagnose` can return.
VERDICTS = ("learning", "stalled", "diverging", "bad_init", "plateau", "too_short", "underflow")


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
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
        # Name the type: a float such as 10.0 is refused, and should say so.
        raise V.argument_error(fn, "num_classes", "an integer >= 1",
                               f"{type(num_classes).__name__} {num_classes!r}", TypeError)
    return V.check_int(num_classes, fn, "num_classes", lo=1)


def _check_threshold(value: Any, name: str, *, positive: bool = True) -> float:
    return V.check_real_scalar(value, "diagnose", name, lo=0.0, lo_open=positive)


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


_HISTORY = "a sequence of losses in step order (a list, a tuple, a 1-D array or a TrainingHistory)"


def _as_history(loss_history: Any) -> np.ndarray:
    if hasattr(loss_history, "loss") and not hasattr(loss_history, "shape"):
        loss_history = loss_history.loss  # a TrainingHistory
    if isinstance(loss_history, (str, bytes)):
        raise V.argument_error("diagnose", "loss_history", _HISTORY,
                               f"a string {loss_history!r}", TypeError)
    if not hasattr(loss_history, "shape") and not isinstance(loss_history, Sequence):
        # A dict iterates over its keys and a set in no order: either would be read as a
        # history silently, and wrongly.
        hint = {dict: " (a dict iterates over its keys: pass [d[k] for k in sorted(d)])",
                set: " (a set has no order)", frozenset: " (a frozenset has no order)"}
        kind = next((h for t, h in hint.items() if isinstance(loss_history, t)),
                    " (pass list(...) of it, in step order)")
        raise V.argument_error("diagnose", "loss_history", _HISTORY,
                               type(loss_history).__name__ + kind, TypeError)
    arr = _history_array(loss_history)
    if arr.ndim != 1:
        raise V.argument_error("diagnose", "loss_history", "1-D (one loss per step)",
                               f"shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(
            "diagnose: loss_history is empty; record at least one loss value "
            "(for example the loss of the untrained network) before diagnosing"
        )
    neg = np.flatnonzero(np.isfinite(arr) & (arr < -_NEGATIVE_SLACK))  # non-finite: diverging
    if neg.size:
        i = int(neg[0])
        raise V.argument_error(
            "diagnose", "loss_history",
            "non-negative (a cross-entropy or hinge loss is never negative: was the "
            "log-likelihood passed instead of its negative, or an accuracy instead of a loss?)",
            f"{float(arr[i])!r} at step {i}")
    return arr


_NUMBERS = "a 1-D sequence of numbers (a list of floats, a 1-D array or a TrainingHistory)"


def _history_array(loss_history: Any) -> np.ndarray:
    """The losses as float64: real numbers only (no None, bool, complex or string)."""
    if not hasattr(loss_history, "shape"):
        return np.array([_history_value(v, i) for i, v in enumerate(loss_history)],
                        dtype=np.float64)
    arr = to_numpy(V.plain_array(loss_history, "diagnose", "loss_history"))
    kind = arr.dtype.kind
    if kind == "O" and arr.ndim == 1:
        return np.array([_history_value(v, i) for i, v in enumerate(arr)], dtype=np.float64)
    if kind not in "iufO":
        what = {"b": " (booleans are not losses: pass the loss values)",
                "c": " (a loss is real: the imaginary part would be lost)"}.get(kind, "")
        raise V.argument_error("diagnose", "loss_history", _NUMBERS,
                               f"an array of dtype {arr.dtype}{what}", TypeError)
    return arr.astype(np.float64) if kind != "O" else arr  # object: the ndim check refuses it


def _history_value(v: Any, i: int) -> float:
    """One loss of a list or an object array: a real number (Python or NumPy, or a
    one-element real array), not a bool."""
    if type(v) is float or type(v) is int:  # the usual entry, without the checks below
        return float(v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        a = to_numpy(v)
        if a.size == 1 and a.dtype.kind in "iuf":
            return float(a.reshape(()))
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
        return float(v)
    raise V.argument_error("diagnose", "loss_history", _NUMBERS,
                           f"{type(v).__name__} {v!r} at index {i}"[:200], TypeError)


#: Losses down to this far below zero pass (rounding in another library's loss).
_NEGATIVE_SLACK = 1e-6


#: The loss -ln(FLT_MIN) = 87.3365.  Caffe's ``SoftmaxWithLoss`` clamps the probability
#: of the true class at FLT_MIN (the smallest normal float32), so a net whose scores
#: diverged reports exactly this loss, step after step (Caffe issues #6130 and #4435).
CAFFE_UNDERFLOW_LOSS = -math.log(float(np.finfo(np.float32).tiny))

_INIT_ADVICE = (
    "The initial weights are probably too large, so the untrained network is "
    "confidently wrong. Use smaller initial weights (e.g. a 'xavier' or 'msra' "
    "filler, or a smaller std) and check that the inputs are normalised."
)

#: The message of each verdict rule (:data:`VERDICT_RULES`), as a template filled
#: with the numbers of the history (``{first}``, ``{end}``, ``{bname}``, ...).
MESSAGES: dict[str, str] = {
    "nonfinite_start": (
        "The very first loss is {first}, before any update, so the learning rate is not "
        "the cause. Check the inputs for NaN/inf and the initial weights (too large?), "
        "and that the loss is computed stably."),
    "caffe_underflow": (
        "The loss is stuck at {end:.4f} = -ln(FLT_MIN), the value Caffe's SoftmaxWithLoss "
        "reports when the probability of the true class underflows float32 (Caffe clamps "
        "it at FLT_MIN = 1.175e-38): the scores diverged. Lower the learning rate (try "
        "10x smaller) and check the initial weights and the scale of the inputs."),
    "single_far_above": (
        "The first loss, {first:.4g}, is far above the uniform-guess baseline {bname}. "
        + _INIT_ADVICE),
    "single": (
        "One loss value ({first:.4g}; uniform-guess baseline {bname}). It is a sensible "
        "start, but at least two values are needed to read a trend."),
    "nonfinite": (
        "The loss became {nonfinite_value} at step {first_nonfinite} (baseline {bname}): "
        "training diverged. Lower the learning rate (try 10x smaller)."),
    # The runaway values themselves (end_loss, the peak) stay in the fields: their
    # digits are chaotic and would differ from one machine to the next.
    "rise": (
        "The loss rose far above where it started ({ref:.4g}; smoothed over {window} "
        "steps; baseline {bname}): training is diverging. Lower the learning rate (try "
        "10x smaller)."),
    "bad_start": (
        "The first loss, {first:.4g}, is far above the uniform-guess baseline {bname}, and "
        "after {n} steps the loss ({end:.4g}) is {where}. " + _INIT_ADVICE),
    "stalled": (
        "The loss stays at {end:.4g}, near the uniform-guess baseline {bname}, and "
        "{change} over {n} steps: the network is not learning. Raise the learning rate or "
        "change the initialisation (the weights may be too small)."),
    "plateau": (
        "The loss is flat at {end:.4g}, well below the uniform-guess baseline {bname}: the "
        "network has learned and stopped improving. Lower the learning rate (a decay "
        "schedule) or use a larger model to go further; otherwise stop training."),
    "learning": (
        "The loss fell from {start:.4g} to {end:.4g} ({percent:.0f} % lower; uniform-guess "
        "baseline {bname}): the network is learning.{note}"),
}


@dataclass(frozen=True)
class _Stats:
    """The numbers the verdict rules read (see :func:`diagnose`, Notes)."""

    num_classes: int
    baseline: float
    bname: str
    n: int
    window: int
    first: float
    last: float
    start: float
    end: float
    best: float
    improvement: float
    first_nonfinite: int | None
    nonfinite_value: float
    scale: float
    far_above: bool
    tail: np.ndarray
    tol: dict

    @property
    def ref(self) -> float:
        return min(self.first, self.best)

    @property
    def near_baseline(self) -> bool:
        return self.end >= self.baseline - self.tol["stall_tolerance"] * self.scale


def _stuck_at_caffe_floor(st: _Stats) -> bool:
    # Every value of the last window (all finite) is -ln(FLT_MIN), to float32 rounding.
    return bool(st.tail.size) and bool(
        np.all(np.abs(st.tail - CAFFE_UNDERFLOW_LOSS) <= 1e-5 * CAFFE_UNDERFLOW_LOSS))


@dataclass(frozen=True)
class VerdictRule:
    """One rule of :func:`diagnose`: its name (the key of its message in
    :data:`MESSAGES`), the verdict it gives, and when it applies, in words."""

    name: str
    verdict: str
    when: str
    applies: Callable[[_Stats], bool] = field(repr=False, compare=False)


#: The rules of :func:`diagnose`, in order: the first that applies gives the verdict.
VERDICT_RULES: tuple[VerdictRule, ...] = (
    VerdictRule("nonfinite_start", "bad_init", "the first loss (before any update) is NaN/inf",
                lambda st: st.first_nonfinite == 0),
    VerdictRule("caffe_underflow", "underflow",
                "the last values are all -ln(FLT_MIN) = 87.3365 (Caffe's clamped loss)",
                lambda st: st.first_nonfinite is None and _stuck_at_caffe_floor(st)),
    VerdictRule("single_far_above", "bad_init", "one value, far above the baseline",
                lambda st: st.n < 2 and st.far_above),
    VerdictRule("single", "too_short", "one value", lambda st: st.n < 2),
    VerdictRule("nonfinite", "diverging", "a NaN/inf loss after the first step",
                lambda st: st.first_nonfinite is not None),
    VerdictRule("rise", "diverging",
                "the smoothed end is more than rise_tolerance * max(scale, r) above "
                "r = min(first loss, lowest smoothed loss)",
                lambda st: st.end - st.ref > st.tol["rise_tolerance"] * max(st.scale, st.ref)),
    VerdictRule("bad_start", "bad_init",
                "the first loss is far above the baseline and the smoothed loss has not "
                "come down below it",
                lambda st: st.far_above and st.near_baseline),
    VerdictRule("stalled", "stalled",
                "the smoothed loss fell by less than min_improvement, near or above the "
                "baseline",
                lambda st: st.improvement < st.tol["min_improvement"] and st.near_baseline),
    VerdictRule("plateau", "plateau",
                "the smoothed loss fell by less than min_improvement, well below the baseline",
                lambda st: st.improvement < st.tol["min_improvement"]),
    VerdictRule("learning", "learning", "otherwise", lambda st: True),
)


def _fields(st: _Stats) -> dict:
    """Every value a message template of :data:`MESSAGES` may use."""
    note = (f" It started far above the baseline ({st.first:.4g}): smaller initial weights "
            "would save steps." if st.far_above else "")
    return dict(
        first=st.first, end=st.end, start=st.start, bname=st.bname, n=st.n, window=st.window,
        ref=st.ref, first_nonfinite=st.first_nonfinite, nonfinite_value=st.nonfinite_value,
        where="still above it" if st.end > st.baseline else "only back at about chance level",
        change=_change(st.improvement), percent=100 * st.improvement, note=note)


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
    loss_layer: Any = None,
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
    loss_layer : LossLayer, optional
        Take the baseline from this loss layer's
        :meth:`~softmaxlab.layers.LossLayer.initial_loss` (times the batch size
        of a :class:`~softmaxlab.training.TrainingHistory` for unnormalised
        reductions) instead of `baseline`.
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
        If the history holds something other than real numbers (None, a
        string, a bool, a complex number; the message names its index), is a
        boolean, complex or ``numpy.ma`` masked array, or `num_classes` is
        not an integer.

    Notes
    -----
    ``scale`` is the baseline itself, :math:`\ln K` (:math:`\ln 2` when the
    baseline is smaller, e.g. for :math:`K = 1`), so every tolerance is a
    fraction of the loss of the uniform guess.  Let :math:`\bar L_t` be the mean
    of the loss over `window` consecutive finite values ending at :math:`t`.
    The rules of :data:`VERDICT_RULES` run in this order, the first that
    applies wins (its message is the template of :data:`MESSAGES` of that name):

    1. a NaN/inf value at step 0, before any update: ``bad_init`` (the learning
       rate cannot be the cause: look at the data and the initialisation);
    2. every value of the last window is :math:`-\ln(\text{FLT\_MIN}) = 87.3365`
       (:data:`CAFFE_UNDERFLOW_LOSS`), the loss Caffe reports when the
       probability of the true class underflows (it clamps it at FLT_MIN):
       ``underflow`` -- the scores diverged;
    3. fewer than two values: ``bad_init`` if the single value is far above
       the baseline, else ``too_short``; a NaN/inf value later: ``diverging``;
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
    >>> from softmaxlab.diagnostics import CAFFE_UNDERFLOW_LOSS
    >>> round(CAFFE_UNDERFLOW_LOSS, 4)   # -ln(FLT_MIN): a Caffe log stuck here diverged
    87.3365
    >>> diagnose([2.3, 9.1] + [CAFFE_UNDERFLOW_LOSS] * 3, 10, window=3).verdict
    'underflow'
    """
    K = _check_num_classes(num_classes, "diagnose")
    L = _as_history(loss_history)
    B, bname = _baseline(K, baseline, loss_layer, loss_history)
    tol = {name: _check_threshold(value, name, positive=positive) for name, value, positive in
           (("init_tolerance", init_tolerance, True), ("rise_tolerance", rise_tolerance, True),
            ("min_improvement", min_improvement, False),
            ("stall_tolerance", stall_tolerance, False))}
    if window is None:
        w = max(1, min(50, int(L.size) // 10))
    else:
        w = V.check_int(window, "diagnose", "window", lo=1)
    st = _statistics(L, K, B, bname, w, tol)
    rule = next(r for r in VERDICT_RULES if r.applies(st))
    return Diagnosis(
        verdict=rule.verdict, message=MESSAGES[rule.name].format(**_fields(st)),
        num_classes=K, baseline=B, first_loss=st.first, last_loss=st.last,
        start_loss=st.start, end_loss=st.end, best_loss=st.best,
        relative_improvement=float(st.improvement), first_nonfinite=st.first_nonfinite,
        num_steps=st.n, window=st.window)


def _baseline(K: int, baseline: Any, loss_layer: Any, history: Any) -> tuple[float, str]:
    """The reference loss and its name in messages (``ln(10) = 2.303`` or ``2``)."""
    if loss_layer is not None:
        if baseline is not None:
            raise V.argument_error("diagnose", "baseline", "None when loss_layer is given "
                                   "(the loss layer gives the baseline)", repr(baseline))
        if not callable(getattr(loss_layer, "initial_loss", None)):
            raise V.argument_error("diagnose", "loss_layer", "a loss layer with an "
                                   "initial_loss(num_classes) method", repr(loss_layer),
                                   TypeError)
        batch = getattr(history, "batch_size", 0) or 1  # a TrainingHistory knows it
        baseline = loss_layer.initial_loss(K, batch_size=batch)
    if baseline is not None:
        baseline = _check_threshold(baseline, "baseline", positive=False)
    if baseline is None or math.isclose(baseline, math.log(K), rel_tol=1e-12, abs_tol=1e-15):
        B = math.log(K)
        return B, f"ln({K}) = {B:.4g}"
    return baseline, f"{baseline:.4g}"


def _statistics(L: np.ndarray, K: int, B: float, bname: str, w: int, tol: dict) -> _Stats:
    """The smoothed statistics of a history that the verdict rules read."""
    n = int(L.size)
    bad = np.flatnonzero(~np.isfinite(L))
    first_nonfinite = int(bad[0]) if bad.size else None
    good = L if first_nonfinite is None else L[:first_nonfinite]
    nan = float("nan")
    if good.size:
        w_eff = min(w, good.size)
        smooth = _moving_mean(good, w_eff)
        start, end, best = float(smooth[0]), float(smooth[-1]), float(smooth.min())
        improvement = (start - end) / start if start != 0 else 0.0
        tail = good[-w_eff:]
    else:
        w_eff, start, end, best, improvement, tail = w, nan, nan, nan, nan, good
    scale = max(B, math.log(2.0))
    first = float(L[0])
    return _Stats(
        num_classes=K, baseline=B, bname=bname, n=n, window=w_eff, first=first,
        last=float(L[-1]), start=start, end=end, best=best, improvement=float(improvement),
        first_nonfinite=first_nonfinite,
        nonfinite_value=nan if first_nonfinite is None else float(L[first_nonfinite]),
        scale=scale, far_above=math.isfinite(first) and first > B + tol["init_tolerance"] * scale,
        tail=tail, tol=tol)


def _moving_mean(good: np.ndarray, w: int) -> np.ndarray:
    """Means of `w` consecutive values, each window summed on its own.

    A running sum (differences of a cumulative sum) would lose every later
    window to one huge early loss (1e17 followed by 2.0s reads as 0.0); scaled
    by the largest value, the sums cannot overflow for losses near 1e308.
    """
    m = float(np.max(np.abs(good))) if good.size else 0.0
    scale = m if m > 1e300 else 1.0
    windows = np.lib.stride_tricks.sliding_window_view(good / scale, w)
    return np.add.reduce(windows, axis=1) / w * scale
