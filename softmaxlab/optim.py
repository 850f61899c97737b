r"""Stochastic gradient descent as Caffe's ``SGDSolver`` does it.

One :meth:`SGD.step` applies, to every parameter :math:`W` with gradient
:math:`g` (after the backward pass, all parameters together):

.. math::

    g &\leftarrow g + \lambda\, m_d\, W \qquad \text{(L2 weight decay; L1 uses } \operatorname{sign} W) \\
    v &\leftarrow \mu v + \eta_t\, m_\ell\, g \\
    W &\leftarrow W - v

with momentum :math:`\mu`, weight decay :math:`\lambda`, the per-parameter
multipliers :math:`m_\ell` = ``Param.lr_mult`` and :math:`m_d` =
``Param.decay_mult``, and the learning rate :math:`\eta_t` of the policy at
iteration :math:`t` (Caffe's ``SGDSolver::GetLearningRate``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Sequence

from . import _validation as V
from ._backend import array_namespace
from .layers import Param

__all__ = ["SGD", "LR_POLICIES"]

#: Caffe's learning-rate policies, and the options each needs.
LR_POLICIES = {
    "fixed": (),
    "step": ("gamma", "stepsize"),
    "exp": ("gamma",),
    "inv": ("gamma", "power"),
    "multistep": ("gamma", "stepvalues"),
    "poly": ("power", "max_iter"),
    "sigmoid": ("gamma", "stepsize"),
}


class SGD:
    r"""Caffe's SGD solver: momentum, weight decay and learning-rate policies.

    Parameters
    ----------
    params : iterable of Param
        The parameters to update (``net.params``).
    lr : float, default 0.01
        The base learning rate (Caffe's ``base_lr``), > 0.
    momentum : float, default 0.0
        In ``[0, 1)``.
    weight_decay : float, default 0.0
        >= 0; multiplied by each ``Param.decay_mult``.  Note that
        :class:`~softmaxlab.layers.InnerProduct` biases have ``decay_mult=0`` by
        default, so ``weight_decay = 1 / (n C)`` with the mean cross-entropy
        minimises scikit-learn's ``LogisticRegression(C=C)`` objective
        :math:`\frac1n\sum_i \ell_i + \frac{1}{2nC}\lVert W\rVert^2`.
    regularization : {"L2", "L1"}, default "L2"
        Caffe's ``regularization_type``.
    lr_policy : {"fixed", "step", "exp", "inv", "multistep", "poly", "sigmoid"}
        The schedule, with :math:`t` = ``self.iter`` and :math:`\eta` = `lr`:

        * ``fixed``: :math:`\eta`
        * ``step``: :math:`\eta\, \gamma^{\lfloor t / \text{stepsize} \rfloor}`
        * ``exp``: :math:`\eta\, \gamma^{t}`
        * ``inv``: :math:`\eta\, (1 + \gamma t)^{-\text{power}}`
        * ``multistep``: :math:`\eta\, \gamma^{k}`, :math:`k` = number of
          `stepvalues` :math:`\le t`
        * ``poly``: :math:`\eta\, (1 - t / \text{max\_iter})^{\text{power}}`
          (0 from ``max_iter`` on, where Caffe would raise a negative base to
          a power)
        * ``sigmoid``: :math:`\eta / (1 + e^{-\gamma (t - \text{stepsize})})`
    gamma, stepsize, stepvalues, power, max_iter
        The options of the policy (see :data:`LR_POLICIES` for which it needs).

    Attributes
    ----------
    iter : int
        Number of steps taken; the learning rate of the next step is
        :attr:`current_lr`.
    history : list of arrays
        The momentum buffers :math:`v` (Caffe's ``history_``), created at the
        first step.

    Raises
    ------
    ValueError
        For ``lr <= 0``, momentum outside ``[0, 1)``, negative weight decay, an
        unknown policy (the message lists them) or a missing policy option.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.layers import Param
    >>> w = Param(np.array([1.0, -2.0]), name="w")
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, 1.0])
    >>> opt.step(); w.data
    array([ 0.9, -2.1])
    >>> opt.step(); w.data          # v = 0.9 * 0.1 + 0.1 = 0.19
    array([ 0.71, -2.29])
    >>> SGD([w], lr=1.0, lr_policy="step", gamma=0.1, stepsize=10)
    SGD(lr=1, momentum=0, weight_decay=0, lr_policy='step', gamma=0.1, stepsize=10)
    """

    def __init__(self, params: Iterable[Param], lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0, lr_policy: str = "fixed", *,
                 gamma: float | None = None, stepsize: int | None = None,
                 stepvalues: Sequence[int] | None = None, power: float | None = None,
                 max_iter: int | None = None, regularization: str = "L2"):
        if isinstance(params, Param) or not isinstance(params, Iterable):
            hint = " (pass net.params or layer.params)" if hasattr(params, "params") else ""
            raise TypeError(f"SGD: argument 'params' must be an iterable of Param{hint}; "
                            f"found {type(params).__name__}")
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Param):
                raise TypeError(f"SGD: params[{i}] must be a softmaxlab.layers.Param, found {type(p).__name__}")
        if not self.params:
            raise ValueError("SGD: params is empty; pass net.params (nothing to optimise)")
        lr, momentum, weight_decay = (V.check_number(v, "SGD", k) for k, v in
                                      (("lr", lr), ("momentum", momentum),
                                       ("weight_decay", weight_decay)))
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"SGD: lr must be a finite number > 0, found {lr!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), found {momentum!r}")
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"SGD: weight_decay must be >= 0, found {weight_decay!r}")
        if regularization not in ("L2", "L1"):
            raise ValueError(f"SGD: regularization must be 'L2' or 'L1', found {regularization!r}")
        if lr_policy not in LR_POLICIES:
            raise ValueError(
                f"SGD: unknown lr_policy {lr_policy!r}; expected one of "
                + ", ".join(repr(k) for k in LR_POLICIES)
            )
        opts = {"gamma": gamma, "stepsize": stepsize, "stepvalues": stepvalues,
                "power": power, "max_iter": max_iter}
        missing = [k for k in LR_POLICIES[lr_policy] if opts[k] is None]
        if missing:
            raise ValueError(
                f"SGD: lr_policy={lr_policy!r} needs " + " and ".join(missing)
                + f" (it uses {', '.join(LR_POLICIES[lr_policy])})"
            )
        for k, v in (("stepsize", stepsize), ("max_iter", max_iter)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)
                                  or v < 1):
                raise ValueError(f"SGD: {k} must be a positive integer, found {v!r}")
        uses = LR_POLICIES[lr_policy]
        if gamma is not None:
            g = V.check_number(gamma, "SGD", "gamma")
            if "gamma" in uses and lr_policy != "sigmoid" and not (g > 0 and math.isfinite(g)):
                raise ValueError(f"SGD: argument 'gamma' must be a finite number > 0 for "
                                 f"lr_policy={lr_policy!r} (a rate of 0 or below makes the learning "
                                 f"rate vanish or change sign); found {gamma!r}")
            if not math.isfinite(g):
                raise ValueError(f"SGD: argument 'gamma' must be finite; found {gamma!r}")
        if power is not None:
            pw = V.check_number(power, "SGD", "power")
            if not (pw >= 0 and math.isfinite(pw)):
                raise ValueError(f"SGD: argument 'power' must be a finite number >= 0 (a negative "
                                 f"power makes the learning rate grow without bound); found {power!r}")
        if stepvalues is not None:
            if isinstance(stepvalues, (str, bytes)) or not isinstance(stepvalues, Iterable):
                raise TypeError(f"SGD: argument 'stepvalues' must be a list of increasing "
                                f"iteration numbers; found {stepvalues!r}")
            stepvalues = list(stepvalues)
            for i, v in enumerate(stepvalues):
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                    raise TypeError(f"SGD: argument 'stepvalues' must hold non-negative integers; "
                                    f"found {v!r} at index {i}")
            stepvalues = [int(v) for v in stepvalues]
            if any(b <= a for a, b in zip(stepvalues, stepvalues[1:])):
                raise ValueError(f"SGD: stepvalues must be strictly increasing, found {stepvalues}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.regularization, self.lr_policy = regularization, lr_policy
        self.gamma = None if gamma is None else float(gamma)
        self.stepsize = None if stepsize is None else int(stepsize)
        self.stepvalues = stepvalues
        self.power = None if power is None else float(power)
        self.max_iter = None if max_iter is None else int(max_iter)
        self.iter = 0
        self.history: list[Any] = []

    # -- schedule ------------------------------------------------------------
    def lr_at(self, it: int) -> float:
        """The learning rate of the policy at iteration `it` (Caffe's GetLearningRate)."""
        base, pol, t = self.lr, self.lr_policy, V.check_int(it, "SGD.lr_at", "it", lo=0)
        if pol == "fixed":
            return base
        if pol == "step":
            return base * self.gamma ** (t // self.stepsize)
        if pol == "exp":
            return base * self.gamma ** t
        if pol == "inv":
            return base * (1.0 + self.gamma * t) ** (-self.power)
        if pol == "multistep":
            return base * self.gamma ** sum(1 for s in self.stepvalues if t >= s)
        if pol == "poly":
            return base * max(0.0, 1.0 - t / self.max_iter) ** self.power
        return base / (1.0 + math.exp(-self.gamma * (t - self.stepsize)))  # sigmoid

    @property
    def current_lr(self) -> float:
        """The learning rate the next :meth:`step` uses."""
        return self.lr_at(self.iter)

    # -- update --------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter from its gradient, then increment :attr:`iter`.

        Every update is computed before any parameter is changed.  New arrays
        replace ``Param.data``; no array is written in place.
        """
        rate = self.current_lr
        if not self.history:
            self.history = [array_namespace(p.data, fn="SGD.step").zeros_like(p.data)
                            for p in self.params]
        new_data, new_hist = [], []
        for p, v in zip(self.params, self.history):
            xp = array_namespace(p.data, p.grad, v, fn=f"SGD.step ({p.name})")
            if tuple(p.grad.shape) != tuple(p.data.shape):
                raise ValueError(
                    f"SGD.step: gradient of {p.name!r} has shape {tuple(p.grad.shape)}, "
                    f"expected {tuple(p.data.shape)}"
                )
            g = p.grad
            decay = self.weight_decay * p.decay_mult
            if decay:
                g = g + decay * (p.data if self.regularization == "L2" else xp.sign(p.data))
            v = self.momentum * v + (rate * p.lr_mult) * g if self.momentum else (rate * p.lr_mult) * g
            new_hist.append(v)
            new_data.append(p.data - v)
        for p, d in zip(self.params, new_data):
            p.data = d
        self.history = new_hist
        self.iter += 1

    def __repr__(self) -> str:
        s = (f"SGD(lr={self.lr:g}, momentum={self.momentum:g}, weight_decay={self.weight_decay:g}, "
             f"lr_policy={self.lr_policy!r}")
        for k in LR_POLICIES[self.lr_policy]:
            s += f", {k}={getattr(self, k)!r}" if k == "stepvalues" else f", {k}={getattr(self, k):g}"
        if self.regularization != "L2":
            s += f", regularization={self.regularization!r}"
        return s + ")"
