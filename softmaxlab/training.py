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
from .datasets import _num_rows, _rng, _take_rows, minibatches
from .diagnostics import Diagnosis, diagnose

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
        inf that stopped it.
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
        one when the run stopped on a NaN/inf loss.
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


# --------------------------------------------------------------------------- helpers
def _pos_int(value: Any, name: str) -> int:
    return V.check_count(value, "train", name, expected="a positive integer")


def _unpack(data: Any, name: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            f"train: {name} must be a pair (X, y) of arrays with one row per sample; "
            f"got {type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
        )
    X, y = data
    X = X if hasattr(X, "shape") else asarray(X)
    y = y if hasattr(y, "shape") else asarray(y)
    n, ny = _num_rows(X, f"{name}[0] (X)", "train"), _num_rows(y, f"{name}[1] (y)", "train")
    if n != ny:
        raise ValueError(
            f"train: {name} must have one label row per sample; got X with {n} rows and "
            f"y with {ny}"
        )
    if n == 0:
        raise ValueError(f"train: {name} is empty (0 samples)")
    xp = array_namespace(X, y, fn="train")
    if V.dtype_kind(X.dtype, xp) == "floating":
        # One pass over the inputs now, rather than a NaN loss some steps later.
        bad = ~xp.isfinite(X)
        if V.any_true(bad, xp):
            idx = V.first_true_index(bad, tuple(X.shape))
            value = float(to_numpy(X[idx]))
            raise ValueError(
                f"train: {name}[0] (X) holds {value!r} at index {V.fmt_index(idx)}; the inputs "
                "must be finite (drop or impute that sample first)")
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


def _infer_num_classes(net: Any, y: Any) -> int:
    k = _net_num_output(net)
    if k is not None:
        return k
    if _has_int_labels(y):
        xp = array_namespace(y, fn="train")
        return int(xp.max(y)) + 1
    return int(y.shape[-1])


def _baseline(loss_layer: Any, num_classes: int, batch_size: int) -> float:
    """The loss of an untrained net with tiny weights, for this loss layer."""
    weight = float(getattr(loss_layer, "loss_weight", 1.0))
    per_sample = math.log(num_classes)
    if type(loss_layer).__name__ == "HingeLoss":  # all scores ~0: every j != y violates
        per_sample = (num_classes - 1) * float(loss_layer.margin) ** int(loss_layer.p)
    if getattr(loss_layer, "reduction", "mean") in ("sum", "none"):
        per_sample *= batch_size
    return abs(weight) * per_sample


def _scores_finite(net: Any, xb: Any) -> bool:
    scores = net.predict(xb)
    xp = array_namespace(scores, fn="train")
    return bool(xp.all(xp.isfinite(scores)))


def _accuracy(net: Any, X: Any, y: Any) -> float:
    scores = net.predict(X)
    xp = array_namespace(scores, y, fn="train")
    axis = getattr(net.loss_layer, "axis", 1)
    pred = xp.argmax(scores, axis=axis)
    ignore = getattr(net.loss_layer, "ignore_index", None)
    hit = xp.astype(pred == y, xp.float64)
    if ignore is None:
        return float(xp.mean(hit))
    keep = xp.astype(y != ignore, xp.float64)
    total = float(xp.sum(keep))
    return float(xp.sum(hit * keep)) / total if total else float("nan")


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


def _progress_bar(show: bool, total: int):
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextBar(total)
    return tqdm(total=total, desc="train", unit="it", file=sys.stderr)


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
    first loss is not finite) instead of an exception from deep inside.

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
        before the first step).
    TypeError
        If `data` is not a pair, or the net has no loss layer.

    Notes
    -----
    The diagnosis compares the loss with the loss of an untrained net:
    :math:`\ln K` for :class:`~softmaxlab.layers.SoftmaxWithLoss`,
    :math:`(K-1)\Delta^p` for :class:`~softmaxlab.layers.HingeLoss` (times
    ``loss_weight``, and times the batch size for ``reduction="sum"``).
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
    if getattr(net, "loss_layer", None) is None:
        raise TypeError(
            "train: net needs a loss layer (build it with Net(layers, loss=SoftmaxWithLoss()))"
        )
    if not callable(getattr(solver, "step", None)):
        raise TypeError(
            f"train: argument 'solver' must be an optimiser with a step() method, such as "
            f"SGD(net.params, lr=0.1); found {type(solver).__name__}"
        )
    if (iterations is None) == (epochs is None):
        raise ValueError(
            "train: give exactly one of iterations= and epochs= (how long to train); "
            f"got iterations={iterations!r}, epochs={epochs!r}"
        )
    X, y, n = _unpack(data, "data")
    bs = n if batch_size is None else min(_pos_int(batch_size, "batch_size"), n)
    per_epoch = math.ceil(n / bs)
    total = (
        _pos_int(iterations, "iterations")
        if iterations is not None
        else _pos_int(epochs, "epochs") * per_epoch
    )
    if val_data is not None:
        Xv, yv, _ = _unpack(val_data, "val_data")
    log_every = max(1, total // 20) if log_every is None else _pos_int(log_every, "log_every")
    if num_classes is None:
        K = _infer_num_classes(net, y)
    else:
        K = _pos_int(num_classes, "num_classes")
        k_net = _net_num_output(net)
        if k_net is not None and K != k_net:
            raise ValueError(
                f"train: argument 'num_classes' must match the net's last layer "
                f"(num_output={k_net}); found {K} (leave num_classes=None to take it from the net)"
            )
    if progress is None:
        progress = total >= LONG_RUN and sys.stderr is not None and sys.stderr.isatty()
    rng = _rng(seed, "train")

    hist = TrainingHistory(num_classes=K, batch_size=bs)
    labelled = _has_int_labels(y)
    if labelled and n > MAX_EVAL_SAMPLES:
        idx = np.sort(np.random.default_rng(0).choice(n, MAX_EVAL_SAMPLES, replace=False))
        X_eval, y_eval = _take_rows(X, idx), _take_rows(y, idx)
    else:
        X_eval, y_eval = X, y
    val_labelled = val_data is not None and _has_int_labels(yv)

    def evaluate(updates: int) -> None:
        hist.eval_iterations.append(updates)
        if labelled:
            hist.accuracy.append(_accuracy(net, X_eval, y_eval))
        if val_data is not None:
            try:
                hist.val_loss.append(float(net.forward(Xv, yv)))
            except (FloatingPointError, ValueError):
                if _scores_finite(net, Xv):
                    raise
                hist.val_loss.append(float("nan"))  # diverged: the next forward stops the run
            if val_labelled:
                hist.val_accuracy.append(_accuracy(net, Xv, yv))

    bar = _progress_bar(bool(progress), total)
    updates = 0
    seen = 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            evaluate(0)
            while updates < total and not hist.stopped_early:
                for xb, yb in minibatches(X, y, bs, shuffle=shuffle, seed=rng):
                    net.zero_grad()
                    hist.lr.append(float(getattr(solver, "current_lr", float("nan"))))
                    try:
                        loss = float(net.forward(xb, yb))
                    except (FloatingPointError, ValueError) as exc:
                        # The loss functions refuse NaN/+inf scores with a ValueError
                        # (and NumPy raises FloatingPointError under seterr("raise")):
                        # that is divergence, not a bug, when the scores are not finite.
                        if isinstance(exc, ValueError) and _scores_finite(net, xb):
                            raise
                        loss = float("nan")
                        hist.stop_reason = f"{type(exc).__name__}: {exc}"
                    hist.loss.append(loss)
                    if not math.isfinite(loss):
                        hist.stopped_early = True
                        if hist.stop_reason is None:
                            hist.stop_reason = f"the loss was {loss} at iteration {len(hist.loss) - 1}"
                        break
                    net.backward()
                    solver.step()
                    updates += 1
                    seen += _num_rows(xb, "xb", "train")
                    if bar is not None:
                        bar.update(1)
                    if updates % log_every == 0 or updates == total:
                        evaluate(updates)
                        if bar is not None:
                            msg = f"loss={loss:.4g}"
                            if hist.accuracy:
                                msg += f" acc={hist.accuracy[-1]:.3f}"
                            if hist.val_accuracy:
                                msg += f" val_acc={hist.val_accuracy[-1]:.3f}"
                            bar.set_postfix_str(msg)
                    if updates >= total:
                        break
    finally:
        if bar is not None:
            bar.close()
    hist.iterations = len(hist.loss)
    hist.epochs = seen / n
    hist.diagnosis = diagnose(hist.loss, K, baseline=_baseline(net.loss_layer, K, bs))
    return hist
