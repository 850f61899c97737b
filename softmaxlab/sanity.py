r"""Sanity checks to run before training at scale.

:func:`overfit_batch` is the first check of CS231n's and Karpathy's recipes:
a network that works must be able to drive the loss on a *handful* of
examples to about 0 (memorise them).  If it cannot, more data and more
iterations will not help: the model, its gradient or its initialisation is
broken, and the check is seconds long instead of hours.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, convert, plain_array, to_numpy
from .optim import SGD
from .training import _accuracy, _num_classes, train

__all__ = ["OverfitResult", "overfit_batch"]

_ADVICE = {
    "passed": "the network can memorise the batch; train it at scale.",
    "stuck": "the loss did not move: no gradient reaches the weights (a "
             "layer that cuts it, dead ReLUs, weights too small, a frozen "
             "lr_mult) or the learning rate is far too small.",
    "diverged": "the loss became {end}: lower the learning rate.",
    "underfit": "the loss fell but not to the target: too little capacity "
                "(a bottleneck layer), too few iterations, a learning rate "
                "too small, or a bug in the forward or backward pass.",
}


@dataclass(frozen=True)
class OverfitResult:
    """What :func:`overfit_batch` saw.

    Attributes
    ----------
    verdict : str
        ``"passed"``, ``"stuck"``, ``"underfit"`` or ``"diverged"``.
    loss : list of float
        The loss on the batch before every update.
    final_loss, accuracy : float
        Loss and training accuracy on the batch after the last update.
    target_loss : float
        The loss the batch had to get below.
    baseline : float
        The loss of the untrained net, all scores 0: the loss layer's
        :meth:`~softmaxlab.layers.LossLayer.initial_loss` for :math:`K`
        classes and the batch (:math:`\\ln K` for the softmax cross-entropy,
        the uniform guess; :math:`(K - 1)\\Delta^p` for the multiclass hinge),
        times ``|loss_weight|``.
    message : str
        The verdict in words, with what to check.
    """

    verdict: str
    loss: list = field(repr=False)
    final_loss: float
    accuracy: float
    target_loss: float
    baseline: float
    message: str = field(repr=False)

    @property
    def ok(self) -> bool:
        """True if the verdict is ``"passed"``."""
        return self.verdict == "passed"

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{self.verdict}: {self.message}"


def _as_batch_array(a: Any, fn: str, name: str) -> Any:
    """`a` as an array: a masked array refused, a list converted (as :func:`train` does)."""
    a = plain_array(a, fn, name)
    return a if hasattr(a, "shape") else convert(a, fn=fn, name=name)


def _check_batch(net: Any, X: Any, y: Any, fn: str) -> tuple[Any, Any, int]:
    """`X`, `y` as arrays and the number of examples; a clear error for a bad net or batch."""
    for attr in ("forward", "backward", "predict", "params", "zero_grad"):
        if not hasattr(net, attr):
            raise V.argument_error(fn, "net", "a Net with a loss layer "
                                   "(forward, backward, predict, params)",
                                   f"{type(net).__name__} without {attr!r}",
                                   TypeError)
    if getattr(net, "loss_layer", None) is None:
        found = ("Net(..., loss=None)" if hasattr(net, "loss_layer")
                 else f"{type(net).__name__} (a layer: wrap it, Net([layer], loss=SoftmaxWithLoss()))")
        raise V.argument_error(fn, "net", "a Net with a loss layer", found, TypeError)
    if getattr(net.loss_layer, "loss_weight", 1.0) == 0:
        raise V.argument_error(fn, "net", "a net whose loss layer has loss_weight > 0 (with 0 "
                               "the loss is 0 whatever the scores: nothing to fit)",
                               f"{type(net.loss_layer).__name__}(loss_weight=0)")
    X, y = _as_batch_array(X, fn, "X"), _as_batch_array(y, fn, "y")
    n = X.shape[0] if len(X.shape) >= 2 else 0
    if n < 1:
        raise V.argument_error(fn, "X", "an array of shape (N, ...) with "
                               "N >= 1, one example per row",
                               f"{type(X).__name__} of shape {tuple(X.shape)}")
    if not 1 <= len(y.shape) <= 2 or y.shape[0] != n:
        raise V.argument_error(fn, "y", f"{n} labels (one per row of X), or {n} rows "
                               "of target probabilities", f"{type(y).__name__} of shape "
                               f"{tuple(y.shape)}")
    return X, y, n


def _number(value: Any, fn: str, name: str, expected: str, lo: float,
            hi: float = math.inf, *, lo_open: bool = True) -> float:
    """A real number (Python, NumPy or 0-d array; not a bool) in (lo, hi), or [lo, hi)."""
    v = V.check_number(value, fn, name)
    if not (lo < v < hi if lo_open else lo <= v < hi):
        raise V.argument_error(fn, name, expected, repr(value))
    return v


def overfit_batch(net: Any, X: Any, y: Any, *, lr: float = 0.1,
                  momentum: float = 0.9, iterations: int = 200,
                  target_loss: float | None = None,
                  inplace: bool = False) -> OverfitResult:
    r"""Check that `net` can memorise one small batch: the loss must go to ~0.

    Parameters
    ----------
    net : Net
        The network, with its loss layer, as it will be trained.
    X, y : array_like
        A small batch (a few to a few dozen examples), with its labels: integer
        labels of shape (N,) (those equal to the loss layer's ``ignore_index``
        count neither in the loss nor in the accuracy) or target probabilities
        of shape (N, K), one-hot or soft, as :func:`~softmaxlab.training.train`
        takes them (the accuracy then compares the arg-max of each row).
    lr, momentum : float, optional
        Of the :class:`~softmaxlab.optim.SGD` solver (defaults 0.1, 0.9):
        real numbers (Python or NumPy), ``lr > 0`` and ``0 <= momentum < 1``.
    iterations : int, optional
        Full-batch updates (default 200).
    target_loss : float, optional
        The loss the batch must get below; default the lowest loss the loss
        layer can reach plus :math:`0.02 \max(b, 1)`, with :math:`b` the
        ``baseline`` (:math:`0.02 \ln K`, 0.046 for 10 classes, for the plain
        cross-entropy, whose lowest loss is 0).  With label smoothing
        :math:`\varepsilon` (or soft targets) the lowest loss is the entropy of
        the target :math:`q = (1-\varepsilon)\,e_y + \varepsilon / K`, reached
        at :math:`p = q`: a net cannot memorise below it.
    inplace : bool, optional
        Train `net` itself (True); by default (False) a deep copy is trained
        and `net` is left as it was.

    Returns
    -------
    OverfitResult
        ``passed`` (final loss below `target_loss` and every example
        classified correctly), ``diverged`` (the loss became NaN or inf),
        ``stuck`` (the loss fell by less than 5 % of its first value) or
        ``underfit`` (anything else); with the loss curve and a message.

    Raises
    ------
    TypeError
        If `net` has no loss layer interface, `X` or `y` is a ``numpy.ma``
        masked array, `lr`, `momentum` or `target_loss` is not a real number,
        `iterations` is not an integer or `inplace` is not True or False.
    ValueError
        If `X` and `y` do not hold the same number of examples, if `lr`,
        `momentum`, `iterations` or `target_loss` is out of range, or if
        `target_loss` is at or below the lowest loss the loss layer can reach
        (label smoothing).

    Notes
    -----
    A net with :math:`P` free parameters in general position can fit
    :math:`N \ll P` examples exactly, so its loss on them can reach
    :math:`L \approx 0`.  Memorising is not learning, but a network that
    cannot memorise 20 examples will not learn from a million (Karpathy,
    "A recipe for training neural networks", 2019; CS231n, "Babysitting
    the learning process").

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(16, 8)), rng.integers(0, 4, size=16)
    >>> net = sml.Net([sml.InnerProduct(8, 32, seed=0), sml.ReLU(),
    ...                sml.InnerProduct(32, 4, seed=1)],
    ...               loss=sml.SoftmaxWithLoss())
    >>> res = overfit_batch(net, X, y)
    >>> res.verdict, res.accuracy
    ('passed', 1.0)
    """
    fn = "overfit_batch"
    X, y, n = _check_batch(net, X, y, fn)
    lr = _number(lr, fn, "lr", "a number > 0", 0.0)
    momentum = _number(momentum, fn, "momentum", "a number in [0, 1)", 0.0, 1.0,
                       lo_open=False)
    iterations = V.check_count(iterations, fn, "iterations")
    inplace = V.check_bool(inplace, fn, "inplace")
    k = _num_classes(net, y, None)
    baseline = _baseline(net.loss_layer, k, n)
    target_loss = _target(target_loss, baseline, _loss_floor(net.loss_layer, y, k), fn)
    model = net if inplace else copy.deepcopy(net)
    solver = SGD(model.params, lr=lr, momentum=momentum)
    hist = train(model, solver, (X, y), iterations=iterations,
                 batch_size=None, shuffle=False, log_every=iterations,
                 num_classes=k)
    losses = [float(v) for v in hist.loss]
    if not math.isfinite(losses[-1]):
        return _result("diverged", losses, losses[-1], math.nan,
                       target_loss, baseline)
    final = float(model.forward(X, y))
    acc = _batch_accuracy(model, X, y)
    if final < target_loss and acc == 1.0:
        verdict = "passed"
    elif final > 0.95 * losses[0]:
        verdict = "stuck"
    else:
        verdict = "underfit"
    return _result(verdict, losses, final, acc, target_loss, baseline, n)


def _baseline(loss_layer: Any, k: int, n: int) -> float:
    """The loss of the untrained net (all scores 0), from the loss layer when it says."""
    initial = getattr(loss_layer, "initial_loss", None)
    if callable(initial):
        return float(initial(k, batch_size=n))
    return math.log(k) if k > 1 else 0.0  # train() refuses such a loss layer anyway


def _loss_floor(loss_layer: Any, y: Any, k: int) -> float:
    r"""The lowest loss `loss_layer` can reach on labels `y`; 0 unless the target is smoothed
    or soft.

    The smoothed (or soft) target :math:`q` gives the cross-entropy
    :math:`H(q) + \mathrm{KL}(q \,\|\, p) \ge H(q)`, reached at :math:`p = q`: the
    floor is the loss layer's own value at the scores :math:`\ln q` (so that its
    reduction, weights, ignored labels and ``loss_weight`` count as in training).
    """
    eps = getattr(loss_layer, "label_smoothing", None)
    if eps is None or getattr(loss_layer, "axis", 1) not in (1, -1):
        return 0.0  # not a cross-entropy over the columns of (N, K) scores
    y_np = to_numpy(y)
    if y_np.ndim == 2 and y_np.dtype.kind == "f" and y_np.shape[1] == k:
        t = y_np.astype(np.float64)
    elif y_np.ndim == 1 and y_np.dtype.kind in "iu" and eps > 0:
        valid = (y_np >= 0) & (y_np < k)
        ignore = getattr(loss_layer, "ignore_index", None)
        if not np.all(valid | (y_np == ignore)):
            return 0.0  # train() reports the bad label
        t = np.where(valid[:, None], np.eye(k)[np.where(valid, y_np, 0)], 1.0 / k)
    else:
        return 0.0
    q = (1.0 - eps) * t + eps / k
    with np.errstate(divide="ignore"):
        scores = np.log(np.maximum(q, 1e-300))  # q = 0: p ~ 1e-300 adds nothing
    xp = array_namespace(y, fn="overfit_batch")  # where the layer's class weights live too
    return max(float(to_numpy(loss_layer.predict(xp.asarray(scores), y))), 0.0)


def _target(target_loss: Any, baseline: float, floor: float, fn: str) -> float:
    """The loss to get below: the floor plus 2 % of the starting loss by default."""
    if target_loss is None:
        return floor + 0.02 * max(baseline, 1.0)
    target = _number(target_loss, fn, "target_loss", "a number > 0", 0.0)
    if target <= floor:
        raise V.argument_error(
            fn, "target_loss", f"above {floor:.6g}, the lowest loss the net's loss layer "
            "can reach on this batch (label smoothing or soft targets: the entropy of the "
            "target distribution)", repr(target_loss))
    return target


def _batch_accuracy(net: Any, X: Any, y: Any) -> float:
    """Training accuracy: labels equal to the loss layer's ignore_index left out; for
    target probabilities, the arg-max of each row is the class."""
    if len(y.shape) == 1:
        return _accuracy(net, X, y)
    scores = net.predict(X)
    xp = array_namespace(scores, y, fn="overfit_batch")
    axis = getattr(net.loss_layer, "axis", 1)
    hit = xp.argmax(scores, axis=axis) == xp.argmax(y, axis=axis)
    return float(xp.mean(xp.astype(hit, xp.float64)))


def _result(verdict, losses, final, acc, target, baseline,
            n: int | None = None) -> OverfitResult:
    advice = _ADVICE[verdict].format(end=losses[-1])
    if verdict == "diverged":
        head = f"after {len(losses)} steps"
    else:
        head = (f"on {n} examples the loss went from {losses[0]:.4g} to "
                f"{final:.4g} (target < {target:.3g}), accuracy "
                f"{acc:.0%}")
    return OverfitResult(verdict, losses, final, acc, target, baseline,
                         f"{head}: {advice}")
