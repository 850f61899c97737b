r"""The training loop: minibatches, forward, backward, update -- and a record of it all.

:func:`train` runs Caffe's solver loop on a :class:`~softmaxlab.net.Net` with a
solver such as :class:`~softmaxlab.optim.SGD`:

.. code-block:: python

    for xb, yb in minibatches(X, y, batch_size, seed=rng):   # seeded shuffling
        net.zero_grad()
        loss = net.forward(xb, yb)        # recorded; NaN/inf stops the run
        net.backward()
        solver.step()

and returns a :class:`TrainingHistory`: the loss of every iteration, the
accuracy at regular intervals, and :func:`~softmaxlab.diagnostics.diagnose`'s
reading of the loss curve.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, asarray, to_numpy
from ._sampling import as_generator, check_same_rows, num_rows, take_rows
from .datasets import minibatches
from .diagnostics import Diagnosis, diagnose
from .layers import NonFiniteScoresError
from .optim import NonFiniteGradientError

__all__ = ["TrainingHistory", "train"]

#: Runs of at least this many iterations show a progress bar when
#: ``progress=None`` and standard error is a terminal.
LONG_RUN = 1000
#: Training accuracy is measured on at most this many (fixed, seeded) samples.
MAX_EVAL_SAMPLES = 10_000


@dataclass
class TrainingHistory:
    """The record of a :func:`train` run.

    Attributes
    ----------
    loss : list of float
        The minibatch loss of every iteration, measured by the forward pass
        *before* that iteration's update (so ``loss[0]`` is the loss of the
        untrained net).  If the run stopped early, the last value is the NaN or
        inf that stopped it, or the last finite loss when the gradient of the
        update was not finite (``stop_reason`` says so; the diagnosis reads
        that run as diverging).
    lr : list of float
        The solver's learning rate at every iteration.
    eval_iterations : list of int
        Number of updates done at each evaluation (0 = before training, then
        every `log_every` updates and at the end).
    accuracy : list of float
        Training accuracy at each evaluation (empty when the targets are not
        integer labels).
    val_loss, val_accuracy : list of float
        Loss and accuracy on ``val_data`` at each evaluation (empty without
        ``val_data``).
    iterations : int
        Number of iterations run (``len(loss)``): the number of updates, plus
        one when the run stopped on a NaN/inf loss (skipped minibatches of only
        ignored labels are not among them).
    epochs : float
        Passes over the training data (``updates * batch_size / n``, counted
        exactly with the last, smaller batch of each epoch).
    stopped_early : bool
        True when the run stopped on a NaN/inf loss (or on NaN/inf scores,
        which the loss layer refuses: the loss is then recorded as NaN).
    stop_reason : str or None
        Why the run stopped early (the value, or the loss layer's error).
    diagnosis : Diagnosis
        :func:`~softmaxlab.diagnostics.diagnose` of `loss`.
    num_classes : int
    batch_size : int
    """

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_iterations: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    iterations: int = 0
    epochs: float = 0.0
    stopped_early: bool = False
    stop_reason: str | None = None
    diagnosis: Diagnosis | None = None
    num_classes: int = 0
    batch_size: int = 0

    @property
    def final_loss(self) -> float:
        """The last recorded minibatch loss (NaN when nothing was recorded)."""
        return self.loss[-1] if self.loss else float("nan")

    def __repr__(self) -> str:
        parts = [f"iterations={self.iterations}", f"epochs={self.epochs:.3g}"]
        if self.loss:
            parts.append(f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}")
        if self.accuracy:
            parts.append(f"accuracy={self.accuracy[-1]:.3f}")
        if self.val_accuracy:
            parts.append(f"val_accuracy={self.val_accuracy[-1]:.3f}")
        if self.stopped_early:
            parts.append("stopped_early=True")
        if self.diagnosis is not None:
            parts.append(f"verdict={self.diagnosis.verdict!r}")
        return "TrainingHistory(" + ", ".join(parts) + ")"


# --------------------------------------------------------------------------- set-up
def _count(value: Any, name: str) -> int:
    return V.check_int(value, "train", name, lo=1)


def _unpack(data: Any, name: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise V.argument_error(
            "train", name, "a pair (X, y) of arrays with one row per sample",
            type(data).__name__ + (f" of length {len(data)}" if isinstance(data, (tuple, list))
                                   else ""), TypeError)
    X, y = data
    X = X if hasattr(X, "shape") else asarray(X)
    y = y if hasattr(y, "shape") else asarray(y)
    n = check_same_rows(X, y, "train", (f"{name}[0] (X)", f"{name}[1] (y)"))
    if n == 0:
        raise V.argument_error("train", name, "a pair (X, y) with at least one sample",
                               "an empty one (0 samples)")
    xp = array_namespace(X, y, fn="train")
    if V.dtype_kind(X.dtype, xp) == "floating":
        # One pass over the inputs now, rather than a NaN loss some steps later.
        V.check_entries(~xp.isfinite(X), X, xp, "train", f"{name}[0] (X)",
                        "finite (drop or impute that sample first)")
    return X, y, n


def _has_int_labels(y: Any) -> bool:
    xp = array_namespace(y, fn="train")
    return y.ndim == 1 and xp.isdtype(y.dtype, "integral")


def _net_num_output(net: Any) -> int | None:
    for layer in reversed(getattr(net, "layers", [])):
        k = getattr(layer, "num_output", None)
        if k is not None:
            return int(k)
    return None


def _num_classes(net: Any, y: Any, num_classes: Any) -> int:
    k_net = _net_num_output(net)
    if num_classes is not None:
        K = _count(num_classes, "num_classes")
        if k_net is not None and K != k_net:
            raise V.argument_error(
                "train", "num_classes", f"the net's last layer (num_output={k_net})",
                f"{K} (leave num_classes=None to take it from the net)", must="match")
        return K
    if k_net is not None:
        return k_net
    if _has_int_labels(y):
        xp = array_namespace(y, fn="train")
        return int(xp.max(y)) + 1
    return int(y.shape[-1])


def _check_labels(net: Any, y: Any, K: int, name: str) -> None:
    """Integer labels lie in [0, K) (or equal the loss layer's ignore_index): checked
    once over the whole dataset, so that the error names the sample's index rather
    than a position in a shuffled minibatch."""
    if not _has_int_labels(y) or y.shape[0] == 0:
        return
    xp = array_namespace(y, fn="train")
    y = V.int64_labels(y, xp)
    bad = (y < 0) | (y >= K)
    ignore = getattr(getattr(net, "loss_layer", None), "ignore_index", None)
    kept = None if ignore is None else y != ignore
    if kept is not None:
        bad = bad & kept
    if V.any_true(bad, xp):
        i = V.first_true_index(bad, tuple(y.shape))[0]
        also = "" if ignore is None else f" or equal to the loss layer's ignore_index={ignore}"
        raise V.argument_error(
            "train", f"{name}[1] (y)", f"class labels in [0, {K - 1}] for the net's {K} "
            f"classes{also}", f"label {int(to_numpy(y[i]))} at index {i}", must="hold")
    if kept is not None and not V.any_true(kept, xp):
        # Nothing to learn from (or to measure an accuracy on).
        raise V.argument_error(
            "train", f"{name}[1] (y)", "at least one label that is not the loss layer's "
            f"ignore_index={ignore}", f"all {y.shape[0]} labels equal to it", must="hold")


def _check_net_and_solver(net: Any, solver: Any) -> None:
    """The net has a loss layer that knows its starting loss; the solver updates its params."""
    loss_layer = getattr(net, "loss_layer", None)
    if loss_layer is None:
        raise V.argument_error("train", "net", "a net with a loss layer (build it with "
                               "Net(layers, loss=SoftmaxWithLoss()))", "none", TypeError)
    if not callable(getattr(loss_layer, "initial_loss", None)):
        raise V.argument_error(
            "train", "net", "a net whose loss layer has an initial_loss(num_classes) method "
            "(subclass softmaxlab.layers.LossLayer), against which the loss curve is read",
            f"the loss layer {loss_layer!r}", TypeError)
    axis = getattr(loss_layer, "axis", 1)
    if axis not in (1, -1):
        # Rows are samples: minibatches, the accuracy and the labels' check read the
        # classes along axis 1 of the scores ((N, C) or (N, C, H, W) with axis=1).
        raise V.argument_error("train", "net", "a net whose loss layer has its class axis "
                               "right after the samples (axis=1)",
                               f"{type(loss_layer).__name__}(axis={axis})")
    if not callable(getattr(solver, "step", None)):
        raise V.argument_error("train", "solver", "an optimiser with a step() method, such as "
                               "SGD(net.params, lr=0.1)", type(solver).__name__, TypeError)
    ours = {id(p) for p in getattr(net, "params", ())}
    foreign = [p for p in getattr(solver, "params", ()) if id(p) not in ours]
    if foreign:
        raise V.argument_error(
            "train", "solver", "a solver over this net's parameters, e.g. SGD(net.params, "
            "lr=0.1)", f"one that updates {len(foreign)} parameter(s) this net does not have "
            f"(first: {getattr(foreign[0], 'name', None)!r}); training would change nothing "
            "that the net computes with")


@dataclass
class _Plan:
    """What :func:`train` decided before the first step."""

    X: Any
    y: Any
    n: int
    batch_size: int
    total: int
    log_every: int
    num_classes: int
    shuffle: bool
    show_progress: bool
    rng: np.random.Generator
    val: tuple | None


def _plan(net, solver, data, iterations, epochs, batch_size, val_data, seed, shuffle,
          progress, log_every, num_classes) -> _Plan:
    """Check every argument of :func:`train` and work out the run's numbers."""
    _check_net_and_solver(net, solver)
    if (iterations is None) == (epochs is None):
        raise ValueError(
            "train: give exactly one of iterations= and epochs= (how long to train); "
            f"found iterations={iterations!r}, epochs={epochs!r}"
        )
    shuffle = V.check_bool(shuffle, "train", "shuffle")
    if progress is not None:
        progress = V.check_bool(progress, "train", "progress")
    X, y, n = _unpack(data, "data")
    bs = n if batch_size is None else min(_count(batch_size, "batch_size"), n)
    if iterations is not None:
        total = _count(iterations, "iterations")
    else:
        total = _count(epochs, "epochs") * math.ceil(n / bs)
    val = None if val_data is None else _unpack(val_data, "val_data")[:2]
    log_every = max(1, total // 20) if log_every is None else _count(log_every, "log_every")
    if progress is None:
        progress = total >= LONG_RUN and sys.stderr is not None and sys.stderr.isatty()
    K = _num_classes(net, y, num_classes)
    _check_labels(net, y, K, "data")
    if val is not None:
        _check_labels(net, val[1], K, "val_data")
    return _Plan(X=X, y=y, n=n, batch_size=bs, total=total, log_every=log_every,
                 num_classes=K, shuffle=shuffle,
                 show_progress=progress, rng=as_generator(seed, "train"), val=val)


# --------------------------------------------------------------------------- evaluation
def _accuracy(net: Any, X: Any, y: Any) -> float:
    scores = net.predict(X)
    xp = array_namespace(scores, y, fn="train")
    axis = getattr(net.loss_layer, "axis", 1)
    pred = xp.argmax(scores, axis=axis)
    ignore = getattr(net.loss_layer, "ignore_index", None)
    hit = xp.astype(pred == y, xp.float64)
    kept = None if ignore is None else V.int64_labels(y, xp) != ignore
    if kept is None:
        return float(xp.mean(hit))
    keep = xp.astype(kept, xp.float64)
    total = float(xp.sum(keep))
    return float(xp.sum(hit * keep)) / total if total else float("nan")


class _Evaluator:
    """Training accuracy (on a fixed subset) and validation loss and accuracy, on call."""

    def __init__(self, net: Any, plan: _Plan, hist: TrainingHistory):
        self.net, self.hist, self.val = net, hist, plan.val
        self.labelled = _has_int_labels(plan.y)
        self.X, self.y = plan.X, plan.y
        if self.labelled and plan.n > MAX_EVAL_SAMPLES:
            idx = np.sort(np.random.default_rng(0).choice(plan.n, MAX_EVAL_SAMPLES,
                                                          replace=False))
            self.X, self.y = take_rows(plan.X, idx), take_rows(plan.y, idx)
        self.val_labelled = self.val is not None and _has_int_labels(self.val[1])

    def __call__(self, updates: int) -> None:
        hist, net = self.hist, self.net
        hist.eval_iterations.append(updates)
        if self.labelled:
            hist.accuracy.append(_accuracy(net, self.X, self.y))
        if self.val is not None:
            Xv, yv = self.val
            try:
                hist.val_loss.append(float(net.forward(Xv, yv)))
            except (NonFiniteScoresError, FloatingPointError):
                hist.val_loss.append(float("nan"))  # diverged: the next step stops the run
            if self.val_labelled:
                hist.val_accuracy.append(_accuracy(net, Xv, yv))


# --------------------------------------------------------------------------- one step
def _all_ignored(net: Any, yb: Any) -> bool:
    """Whether every label of a minibatch is the loss layer's ignore_index."""
    ignore = getattr(net.loss_layer, "ignore_index", None)
    if ignore is None or not _has_int_labels(yb):
        return False
    xp = array_namespace(yb, fn="train")
    return not V.any_true(V.int64_labels(yb, xp) != ignore, xp)


def _step(net: Any, solver: Any, xb: Any, yb: Any, hist: TrainingHistory) -> float:
    """One iteration: record the loss, then back-propagate and update unless it is NaN/inf.

    Sets ``hist.stopped_early`` (and the reason) when the loss or the scores
    are not finite; the update is then not made.
    """
    net.zero_grad()
    hist.lr.append(float(getattr(solver, "current_lr", float("nan"))))
    try:
        loss = float(net.forward(xb, yb))
    except (NonFiniteScoresError, FloatingPointError) as exc:
        # The loss layer refuses NaN/+inf scores (NumPy raises FloatingPointError under
        # seterr("raise")): that is divergence, and the run stops cleanly on it.
        loss = float("nan")
        hist.stop_reason = f"{type(exc).__name__}: {exc}"
    hist.loss.append(loss)
    if not math.isfinite(loss):
        hist.stopped_early = True
        if hist.stop_reason is None:
            hist.stop_reason = f"the loss was {loss} at iteration {len(hist.loss) - 1}"
        return loss
    net.backward()
    try:
        solver.step()
    except NonFiniteGradientError as exc:  # diverged between the loss and the update
        hist.stopped_early, hist.stop_reason = True, f"{type(exc).__name__}: {exc}"
    return loss


# --------------------------------------------------------------------------- progress
class _TextBar:
    """A one-line progress display on standard error, for when tqdm is missing."""

    def __init__(self, total: int):
        self.total, self.n, self.postfix = total, 0, ""

    def update(self, k: int = 1) -> None:
        self.n += k

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s
        sys.stderr.write(f"\rtrain: {self.n}/{self.total} {s}   ")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write(f"\rtrain: {self.n}/{self.total} {self.postfix}   \n")
        sys.stderr.flush()


class _Progress:
    """The progress bar of a run (tqdm when installed, else a text line), or nothing."""

    def __init__(self, show: bool, total: int):
        self.bar = None
        if show:
            try:
                from tqdm.auto import tqdm  # optional dependency: imported only when shown
            except ImportError:
                self.bar = _TextBar(total)
            else:
                self.bar = tqdm(total=total, desc="train", unit="it", file=sys.stderr)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def report(self, loss: float, hist: TrainingHistory) -> None:
        if self.bar is not None:
            msg = f"loss={loss:.4g}"
            if hist.accuracy:
                msg += f" acc={hist.accuracy[-1]:.3f}"
            if hist.val_accuracy:
                msg += f" val_acc={hist.val_accuracy[-1]:.3f}"
            self.bar.set_postfix_str(msg)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- the loop
def train(
    net: Any,
    solver: Any,
    data: tuple[Any, Any],
    *,
    iterations: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = 64,
    val_data: tuple[Any, Any] | None = None,
    seed: Any = 0,
    shuffle: bool = True,
    progress: bool | None = None,
    log_every: int | None = None,
    num_classes: int | None = None,
) -> TrainingHistory:
    r"""Train `net` with `solver` on `data`; record the loss and stop cleanly on NaN/inf.

    Every iteration takes the next minibatch of a seeded shuffle (a fresh
    order each epoch), runs ``net.zero_grad()``, ``loss = net.forward(xb, yb)``,
    ``net.backward()`` and ``solver.step()``.  A NaN or inf loss is recorded,
    the run stops *before* back-propagating it, and the returned history
    carries the diagnosis (``"diverging"``, or ``"bad_init"`` when the very
    first loss is not finite) instead of an exception from deep inside.  A
    minibatch whose labels are all the loss layer's ``ignore_index`` is skipped
    (no loss recorded, no update: its loss is 0 by definition and would read as
    a sudden fall); it still counts as one of the run's iterations, so that
    ``epochs=E`` makes E passes over the data.

    Parameters
    ----------
    net : Net
        A :class:`~softmaxlab.net.Net` with a loss layer (anything with
        ``zero_grad``, ``forward(x, y) -> float``, ``backward`` and ``predict``).
    solver : SGD
        Updates ``net.params`` on ``step()`` (e.g. :class:`~softmaxlab.optim.SGD`).
    data : (X, y)
        Training inputs, one row per sample, and targets (integer labels or
        class probabilities), as arrays of the net's backend.
    iterations, epochs : int
        How long to train: give exactly one.  ``epochs`` = passes over `data`.
    batch_size : int or None, optional
        Samples per minibatch (default 64); None or a value >= n means
        full-batch gradient descent.
    val_data : (X_val, y_val), optional
        Evaluated (loss and accuracy) at every evaluation point.
    seed : int or numpy.random.Generator, optional
        Seed of the shuffling (only; the net's initial weights are set by the
        net).  The same seed gives the same minibatches on every backend.
    shuffle : bool, optional
        Shuffle each epoch (default); False takes the rows in order.
    progress : bool or None, optional
        Show a progress bar (tqdm when installed, else a text line on standard
        error).  None (default): only for runs of at least 1,000 iterations
        and when standard error is a terminal, so the outputs of notebooks and
        tests stay clean.
    log_every : int, optional
        Evaluate (training accuracy, validation loss and accuracy) and refresh
        the progress bar every `log_every` updates; default about 20
        evaluations per run.
    num_classes : int, optional
        :math:`K` for the diagnosis.  Default: the ``num_output`` of the last
        layer that has one, else the largest label + 1.

    Returns
    -------
    TrainingHistory
        ``.loss``, ``.accuracy``, ``.val_accuracy``, ``.stopped_early``,
        ``.diagnosis``, ``.iterations`` and more.

    Raises
    ------
    ValueError
        If both or neither of `iterations` and `epochs` are given, or a count is
        not positive, or `data` is empty or its X and y differ in length, or
        the X of `data` or `val_data` holds a NaN or an infinity (checked
        before the first step), or the solver updates parameters that are not
        the net's (a solver built on another net's ``params`` would learn
        nothing).
    TypeError
        If `data` is not a pair, the net has no loss layer or its loss layer
        has no ``initial_loss`` method, `shuffle` is not a bool or `progress`
        not a bool or None.

    Notes
    -----
    The diagnosis compares the loss with the loss of an untrained net, which
    the loss layer gives (:meth:`~softmaxlab.layers.LossLayer.initial_loss`):
    :math:`\ln K` for :class:`~softmaxlab.layers.SoftmaxWithLoss`,
    :math:`(K-1)\Delta^p` for :class:`~softmaxlab.layers.HingeLoss` (times
    ``loss_weight``, and times the batch size for ``reduction="sum"``).
    The run stops on a NaN/inf loss, or on the
    :class:`~softmaxlab.layers.NonFiniteScoresError` the loss layer raises
    for NaN/+inf scores (caught by type; any other error propagates).
    Training accuracy is measured with ``net.predict`` on the whole training
    set (on a fixed random subset of 10,000 samples when it is larger), and
    only when the targets are integer labels; labels equal to the loss
    layer's ``ignore_index`` do not count.  NumPy floating-point warnings
    (overflow, invalid value) are silenced inside the loop, since the loop
    itself checks every loss.

    Examples
    --------
    >>> from softmaxlab.datasets import load_digits
    >>> from softmaxlab.layers import InnerProduct, SoftmaxWithLoss
    >>> from softmaxlab.net import Net
    >>> from softmaxlab.optim import SGD
    >>> from softmaxlab.training import train
    >>> X, y = load_digits()
    >>> net = Net([InnerProduct(64, 10, seed=0)], loss=SoftmaxWithLoss())
    >>> hist = train(net, SGD(net.params, lr=0.5), (X, y), epochs=2, batch_size=64)
    >>> hist.iterations, hist.diagnosis.verdict, hist.accuracy[-1] > 0.85
    (58, 'learning', True)
    """
    plan = _plan(net, solver, data, iterations, epochs, batch_size, val_data, seed, shuffle,
                 progress, log_every, num_classes)
    hist = TrainingHistory(num_classes=plan.num_classes, batch_size=plan.batch_size)
    evaluate = _Evaluator(net, plan, hist)
    bar = _Progress(plan.show_progress, plan.total)
    updates = seen = 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            evaluate(0)
            while updates < plan.total and not hist.stopped_early:
                for xb, yb in minibatches(plan.X, plan.y, plan.batch_size,
                                          shuffle=plan.shuffle, seed=plan.rng):
                    if _all_ignored(net, yb):  # its loss, 0 by definition, measures nothing
                        loss = hist.loss[-1] if hist.loss else math.nan  # for the progress bar
                    else:
                        loss = _step(net, solver, xb, yb, hist)
                        if hist.stopped_early:
                            break
                    updates += 1
                    seen += num_rows(xb, "train", "xb")
                    bar.step()
                    if updates % plan.log_every == 0 or updates == plan.total:
                        evaluate(updates)
                        bar.report(loss, hist)
                    if updates >= plan.total:
                        break
    finally:
        bar.close()
    hist.iterations = len(hist.loss)
    hist.epochs = seen / plan.n
    K = plan.num_classes
    read = hist.loss
    if hist.stop_reason is not None and hist.stop_reason.startswith("NonFiniteGradientError"):
        read = [*hist.loss, math.inf]  # the update diverged: as a non-finite next loss
    hist.diagnosis = diagnose(
        read, K, baseline=net.loss_layer.initial_loss(K, batch_size=plan.batch_size))
    return hist
