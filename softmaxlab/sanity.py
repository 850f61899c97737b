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
from ._backend import to_numpy
from .optim import SGD
from .training import train

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
        :math:`\\ln K`, the loss of a uniform guess.
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


def _check_batch(net: Any, X: Any, y: Any, fn: str) -> int:
    """The number of examples; a clear error for a bad net or batch."""
    for attr in ("forward", "backward", "predict", "params", "zero_grad"):
        if not hasattr(net, attr):
            raise V.argument_error(fn, "net", "a Net with a loss layer "
                                   "(forward, backward, predict, params)",
                                   f"{type(net).__name__} without {attr!r}",
                                   TypeError)
    if getattr(net, "loss_layer", True) is None:
        raise V.argument_error(fn, "net", "a Net with a loss layer",
                               "Net(..., loss=None)")
    n = getattr(X, "shape", (None,))[0] if hasattr(X, "shape") else None
    if n is None or len(X.shape) < 2 or n < 1:
        raise V.argument_error(fn, "X", "an array of shape (N, ...) with "
                               "N >= 1, one example per row",
                               f"{type(X).__name__} of shape "
                               f"{getattr(X, 'shape', None)}")
    m = getattr(y, "shape", (None,))[0] if hasattr(y, "shape") else None
    if m != n:
        raise V.argument_error(fn, "y", f"{n} labels (one per row of X)",
                               f"{type(y).__name__} of shape "
                               f"{getattr(y, 'shape', None)}")
    return n


def overfit_batch(net: Any, X: Any, y: Any, *, lr: float = 0.1,
                  momentum: float = 0.9, iterations: int = 200,
                  target_loss: float | None = None,
                  inplace: bool = False) -> OverfitResult:
    r"""Check that `net` can memorise one small batch: the loss must go to ~0.

    Parameters
    ----------
    net : Net
        The network, with its loss layer, as it will be trained.
    X, y : array
        A small batch (a few to a few dozen examples), with its labels.
    lr, momentum : float, optional
        Of the :class:`~softmaxlab.optim.SGD` solver (defaults 0.1, 0.9).
    iterations : int, optional
        Full-batch updates (default 200).
    target_loss : float, optional
        The loss the batch must get below; default :math:`0.02 \ln K`
        (0.046 for 10 classes), with :math:`K` the net's number of outputs.
    inplace : bool, optional
        Train `net` itself; by default (False) a deep copy is trained and
        `net` is left as it was.

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
        If `net` has no loss layer interface.
    ValueError
        If `X` and `y` do not hold the same number of examples, or if `lr`,
        `momentum`, `iterations` or `target_loss` is out of range.

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
    n = _check_batch(net, X, y, fn)
    for name, v, lo, hi in (("lr", lr, 0.0, math.inf),
                            ("momentum", momentum, 0.0, 1.0)):
        if (not isinstance(v, (int, float, np.floating))
                or isinstance(v, bool) or not lo <= v < hi
                or (name == "lr" and v == 0)):
            what = "a number > 0" if name == "lr" else "a number in [0, 1)"
            raise V.argument_error(fn, name, what, repr(v))
    iterations = V.check_count(iterations, fn, "iterations")
    k = _num_classes(net, y)
    baseline = math.log(k) if k > 1 else 0.0
    if target_loss is None:
        target_loss = 0.02 * max(baseline, 1.0)
    if (not isinstance(target_loss, (int, float, np.floating))
            or not 0 < target_loss < math.inf):
        raise V.argument_error(fn, "target_loss", "a number > 0",
                               repr(target_loss))
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
    pred = np.argmax(to_numpy(model.predict(X)), axis=-1)
    acc = float(np.mean(pred == to_numpy(y)))
    if final < target_loss and acc == 1.0:
        verdict = "passed"
    elif final > 0.95 * losses[0]:
        verdict = "stuck"
    else:
        verdict = "underfit"
    return _result(verdict, losses, final, acc, target_loss, baseline, n)


def _num_classes(net: Any, y: Any) -> int:
    """K: the last ``num_output`` of the net, else the largest label + 1."""
    for layer in reversed(getattr(net, "layers", [])):
        k = getattr(layer, "num_output", None)
        if k:
            return int(k)
    return int(np.max(to_numpy(y))) + 1


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
