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
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, plain_array
from .layers import Param

__all__ = ["SGD", "LR_POLICIES", "NonFiniteGradientError"]


def _power(base: float, exponent: float) -> float:
    """``base ** exponent`` that gives its limit, inf or 0, instead of raising
    OverflowError (``0.9 ** 10**400`` is 0, not an overflow)."""
    try:
        return base ** exponent
    except OverflowError:
        if abs(base) == 1:
            return 1.0
        return math.inf if (abs(base) > 1) == (exponent > 0) else 0.0


def _logistic(x: float) -> float:
    r""":math:`1 / (1 + e^{-x})` for any x (0 far below, 1 far above; never an OverflowError)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # underflows quietly to 0 for x << 0
    return e / (1.0 + e)


@dataclass(frozen=True)
class _Policy:
    """One learning-rate policy: the options it needs, and the factor of the base rate."""

    options: tuple[str, ...]
    factor: Callable[[Any, int], float]  # (solver, iteration) -> lr / base_lr


#: The learning-rate policies of Caffe's ``SGDSolver::GetLearningRate``, each as a
#: factor of the base rate at iteration t.  ``LR_POLICIES`` and ``SGD.lr_at`` follow.
_POLICIES: dict[str, _Policy] = {
    "fixed": _Policy((), lambda o, t: 1.0),
    "step": _Policy(("gamma", "stepsize"), lambda o, t: _power(o.gamma, t // o.stepsize)),
    "exp": _Policy(("gamma",), lambda o, t: _power(o.gamma, t)),
    "inv": _Policy(("gamma", "power"), lambda o, t: _power(1.0 + o.gamma * t, -o.power)),
    "multistep": _Policy(("gamma", "stepvalues"),
                         lambda o, t: _power(o.gamma, sum(1 for s in o.stepvalues if t >= s))),
    # 0 from max_iter on, where Caffe would raise a negative base to a power.
    "poly": _Policy(("power", "max_iter"),
                    lambda o, t: _power(max(0.0, 1.0 - t / o.max_iter), o.power)),
    "sigmoid": _Policy(("gamma", "stepsize"),
                       lambda o, t: _logistic(o.gamma * (t - o.stepsize))),
}

#: Caffe's learning-rate policies, and the options each needs.
LR_POLICIES: dict[str, tuple[str, ...]] = {k: p.options for k, p in _POLICIES.items()}


def _check_params(params: Any) -> list[Param]:
    fn = "SGD"
    if isinstance(params, Param) or not isinstance(params, Iterable):
        hint = " (pass net.params or layer.params)" if hasattr(params, "params") else ""
        raise V.argument_error(fn, "params", f"an iterable of Param{hint}",
                               type(params).__name__, TypeError)
    params = list(params)
    first: dict[int, int] = {}
    for i, p in enumerate(params):
        if not isinstance(p, Param):
            raise V.argument_error(fn, f"params[{i}]", "a softmaxlab.layers.Param",
                                   type(p).__name__, TypeError)
        j = first.setdefault(id(p), i)
        if j != i:  # it would be updated twice per step
            raise V.argument_error(fn, f"params[{i}]", "a Param not listed before (each is "
                                   "updated once per step)", f"the same object as "
                                   f"params[{j}], {p!r}")
    if not params:
        raise V.argument_error(fn, "params", "a non-empty list of Param (pass net.params)",
                               "an empty one: nothing to optimise")
    return params


def _check_policy(lr_policy: Any, opts: dict) -> dict:
    """The policy's options, checked (missing, type, range); unused options as given."""
    fn = "SGD"
    V.check_choice(lr_policy, tuple(_POLICIES), fn, "lr_policy")
    uses = LR_POLICIES[lr_policy]
    missing = [k for k in uses if opts[k] is None]
    if missing:
        raise ValueError(f"SGD: lr_policy={lr_policy!r} needs " + " and ".join(missing)
                         + f" (it uses {', '.join(uses)}); found none")
    out = dict(opts)
    for k in ("stepsize", "max_iter"):
        v = opts[k]
        if v is not None:
            out[k] = V.check_count(v, "SGD", k, expected="a positive integer")
    if opts["gamma"] is not None:
        g = V.check_number(opts["gamma"], fn, "gamma")
        # sigmoid: gamma < 0 is a decay, > 0 a warm-up; the others need gamma > 0.
        if "gamma" in uses and lr_policy != "sigmoid" and not (g > 0 and math.isfinite(g)):
            raise V.argument_error(fn, "gamma", f"a finite number > 0 for lr_policy="
                                   f"{lr_policy!r} (a rate of 0 or below makes the learning "
                                   "rate vanish or change sign)", repr(opts["gamma"]))
        out["gamma"] = V.check_real_scalar(g, fn, "gamma")
    if opts["power"] is not None:
        pw = V.check_number(opts["power"], fn, "power")
        if not (pw >= 0 and math.isfinite(pw)):
            raise V.argument_error(fn, "power", "a finite number >= 0 (a negative power makes "
                                   "the learning rate grow without bound)", repr(opts["power"]))
        out["power"] = pw
    if opts["stepvalues"] is not None:
        out["stepvalues"] = _check_stepvalues(opts["stepvalues"])
    return out


def _check_stepvalues(stepvalues: Any) -> list[int]:
    if isinstance(stepvalues, (str, bytes)) or not isinstance(stepvalues, Iterable):
        raise V.argument_error("SGD", "stepvalues", "a list of increasing iteration numbers",
                               repr(stepvalues), TypeError)
    values = list(stepvalues)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 0:
            raise V.argument_error("SGD", "stepvalues", "non-negative integers",
                                   f"{v!r} at index {i}", TypeError, must="hold")
    values = [int(v) for v in values]
    if any(b <= a for a, b in zip(values, values[1:])):
        raise V.argument_error("SGD", "stepvalues", "strictly increasing", f"{values}")
    return values


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
        fn = "SGD"
        self.params = _check_params(params)
        lr = V.check_real_scalar(lr, fn, "lr", lo=0.0, lo_open=True)
        momentum = V.check_real_scalar(momentum, fn, "momentum", lo=0.0, hi=1.0, hi_open=True)
        weight_decay = V.check_real_scalar(weight_decay, fn, "weight_decay", lo=0.0)
        V.check_choice(regularization, ("L2", "L1"), fn, "regularization")
        opts = _check_policy(lr_policy, {"gamma": gamma, "stepsize": stepsize,
                                         "stepvalues": stepvalues, "power": power,
                                         "max_iter": max_iter})
        gamma, stepsize, stepvalues = opts["gamma"], opts["stepsize"], opts["stepvalues"]
        power, max_iter = opts["power"], opts["max_iter"]
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
        t = V.check_int(it, "SGD.lr_at", "it", lo=0)
        factor = _POLICIES[self.lr_policy].factor
        try:
            rate = self.lr * factor(self, t)
        except OverflowError:  # an iteration beyond any float: the policy there
            rate = self.lr * factor(self, sys.float_info.max)
        if not math.isfinite(rate):
            raise ValueError(
                f"SGD.lr_at: the learning rate of lr_policy={self.lr_policy!r} with "
                f"gamma={self.gamma!r} grows without bound and overflows at iteration {t}; "
                "use gamma <= 1 for a decaying rate")
        return rate

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
        for i, (p, v) in enumerate(zip(self.params, self.history)):
            name = p.name if p.name is not None else f"params[{i}]"
            _check_step(p, v, name)
            xp = array_namespace(p.data, p.grad, v, fn=f"SGD.step ({name})")
            with V.quiet(xp):  # an overflow is reported below, as an error
                g = p.grad if p.grad.dtype == p.data.dtype else xp.astype(p.grad, p.data.dtype)
                _check_finite(g, xp, f"{name}.grad", "finite in the parameter's dtype "
                              f"{V.dtype_name(p.data.dtype)} (a NaN or inf gradient would be "
                              "written into the weights; the run diverged, or a layer's input "
                              "holds NaN/inf)")
                decay = self.weight_decay * p.decay_mult
                if decay:
                    g = g + decay * (p.data if self.regularization == "L2" else xp.sign(p.data))
                v = self.momentum * v + (rate * p.lr_mult) * g if self.momentum else (rate * p.lr_mult) * g
                new_hist.append(v)
                new_data.append(p.data - v)
                _check_finite(new_data[-1], xp, name, "finite after the update (the step "
                              "overflows: the learning rate is too large for this gradient)")
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


def _check_step(p, v, name: str) -> None:
    """A parameter's gradient is a real floating array of its shape, and the parameter
    kept the shape the solver's momentum buffer was made for."""
    fn = "SGD.step"
    if not hasattr(p.grad, "shape") or not hasattr(p.grad, "dtype"):
        raise V.argument_error(fn, f"{name}.grad", "an array (the layers' backward pass "
                               "adds into it)", type(p.grad).__name__, TypeError)
    plain_array(p.grad, fn, f"{name}.grad")  # a masked array is refused
    kind = V.dtype_kind(p.grad.dtype, array_namespace(p.grad, fn=fn))
    if kind != "floating":
        raise V.argument_error(fn, f"{name}.grad", "a real floating array",
                               f"{kind} dtype {V.dtype_name(p.grad.dtype)}", TypeError)
    if tuple(p.grad.shape) != tuple(p.data.shape):
        raise ValueError(f"SGD.step: gradient of {name!r} has shape {tuple(p.grad.shape)}, "
                         f"expected {tuple(p.data.shape)}")
    if tuple(v.shape) != tuple(p.data.shape):
        raise ValueError(f"SGD.step: parameter {name!r} has shape {tuple(p.data.shape)}, but "
                         f"it had shape {tuple(v.shape)} when this solver started; create a new "
                         "SGD for the reshaped parameters")


def _check_finite(a, xp, name: str, expected: str) -> None:
    """NonFiniteGradientError naming the first NaN or inf entry of `a` (nothing is updated)."""
    try:
        V.check_entries(~xp.isfinite(a), a, xp, "SGD.step", name, expected)
    except ValueError as exc:
        raise NonFiniteGradientError(str(exc)) from None


class NonFiniteGradientError(ValueError):
    """:meth:`SGD.step` found a NaN or infinite gradient entry, or an update that
    overflows (and changed nothing); :func:`~softmaxlab.training.train` stops the
    run on it, as on a NaN loss."""
