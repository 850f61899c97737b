r"""Gradient checking by central differences in float64.

:func:`gradcheck` compares an analytic gradient with the numerical one,

.. math::

    \frac{\partial f}{\partial x_i} \approx
    \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2 \varepsilon},

entry by entry, with the relative error of the CS231n notes,

.. math::

    r_i = \frac{\lvert a_i - n_i \rvert}{\max(\lvert a_i \rvert, \lvert n_i \rvert, \text{tiny})}.

It checks a function that returns its value and gradient (like
:func:`softmaxlab.losses.cross_entropy_with_grad`), any
:class:`~softmaxlab.layers.Layer` (input gradient and every parameter gradient),
a loss layer, or a whole :class:`~softmaxlab.net.Net`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, plain_array, to_numpy
from .layers import Layer, LossLayer
from .net import Net

__all__ = ["gradcheck", "GradcheckResult", "rel_error"]


def rel_error(a: Any, n: Any, tiny: float = 1e-12) -> np.ndarray:
    r"""Entrywise relative error :math:`|a-n| / \max(|a|, |n|, \text{tiny})` (NumPy float64).

    Examples
    --------
    >>> rel_error([1.0, 0.0], [1.001, 0.0])
    array([0.000999, 0.      ])
    """
    a = np.asarray(to_numpy(a), dtype=np.float64)
    n = np.asarray(to_numpy(n), dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` found.

    Attributes
    ----------
    ok : bool
        True when every checked entry has relative error <= ``tol`` **or**
        absolute error <= ``atol`` (the absolute floor absorbs the rounding
        noise of the numerical derivative, about ``1e-16 |f| / eps``, on
        entries whose gradient is close to zero).  ``bool(result)`` is ``ok``.
    max_rel_error : float
        The worst relative error over every checked entry.
    max_abs_error : float
        The worst absolute error.
    where : tuple (str, tuple of int)
        The name of the input or parameter (``"x"``, ``"inputs[0]"``,
        ``"innerproduct0.weight"``) and the index of the worst relative error.
    errors : dict of str to numpy.ndarray
        Relative error of every checked entry, per input/parameter (NaN where
        an entry was not checked).
    """

    ok: bool
    max_rel_error: float
    max_abs_error: float
    where: tuple
    tol: float
    atol: float
    errors: dict = field(default_factory=dict, repr=False)
    analytic: dict = field(default_factory=dict, repr=False)
    numeric: dict = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return (f"GradcheckResult(ok={self.ok}, max_rel_error={self.max_rel_error:.3g}, "
                f"where={self.where}, max_abs_error={self.max_abs_error:.3g}, tol={self.tol:g})")


def _check_float64(name: str, a: Any, what: str) -> None:
    if not (hasattr(a, "dtype") and hasattr(a, "shape")):
        found = f"{type(a).__name__} {a!r}"[:80]
        raise V.argument_error("gradcheck", name, "a float64 array (e.g. "
                               "np.asarray(x, dtype=np.float64))", found, TypeError)
    if V.dtype_name(a.dtype) != "float64":
        raise V.argument_error("gradcheck", name, f"float64 for central differences to be "
                               f"meaningful ({what})", V.dtype_name(a.dtype), TypeError)


def gradcheck(f: Any, inputs: Any, *, labels: Any = None, eps: float = 1e-6,
              tol: float = 1e-6, atol: float = 1e-8, tiny: float = 1e-12,
              check_params: bool = True, max_entries: int | None = None,
              seed: int = 0) -> GradcheckResult:
    r"""Compare analytic and central-difference gradients in float64.

    Parameters
    ----------
    f : callable, Layer, loss layer or Net
        * A **function** ``f(*inputs) -> (value, grads)``: `value` is a real
          number or a real array (a non-scalar value is summed), `grads` its
          gradient with respect to the inputs: one array (or a list of numbers,
          converted) when there is one input, else a tuple (or a list of
          arrays) with one entry per input (``None`` skips that input); a
          tuple is always one entry per input.  This is the signature of the
          ``*_with_grad`` functions of :mod:`softmaxlab.losses`.
        * A **layer**: the scalar is :math:`L = \sum y \odot r` with a fixed
          random projection :math:`r` (seeded by `seed`), the analytic gradients
          come from ``layer.backward(r)``: the input gradient and every
          ``Param.grad`` (each ``Param.grad`` is put back as it was afterwards,
          so a check between training steps loses no accumulated gradient).
        * A **loss layer** or a :class:`~softmaxlab.net.Net`: the scalar is the
          loss ``f.forward(x, labels)``; gradients from ``f.backward()``.
    inputs : array or sequence of arrays
        float64 arrays (NumPy, CuPy or array-api-strict).  For a layer, loss
        layer or net, the single input ``x``.
    labels : array, optional
        The labels, for a loss layer or a net.
    eps : float, default 1e-6
        Step of the central difference.
    tol : float, default 1e-6
        Largest relative error accepted.
    atol : float, default 1e-8
        Entries whose absolute error is below `atol` pass whatever their
        relative error (see :class:`GradcheckResult`).
    tiny : float, default 1e-12
        Floor of the denominator of the relative error.
    check_params : bool, default True
        For layers and nets, also check every parameter gradient.
    max_entries : int, optional
        Check at most this many randomly chosen entries per array (all by default).
    seed : int, default 0
        Seeds the projection and the entry sampling.

    Returns
    -------
    GradcheckResult
        ``.ok``, ``.max_rel_error``, ``.where`` and the per-entry errors.

    Raises
    ------
    TypeError
        If an input or parameter is not float64 or is a ``numpy.ma`` masked
        array; if `f` returns no gradient, a value that is not a real number
        (None, a string, a list) or a gradient that is not real numbers; if a
        tolerance, `max_entries` or `seed` is not a number of the right kind.
    ValueError
        If a gradient's shape differs from its input's, or `f` returns a
        single gradient (or the wrong number of them) for several inputs; if `eps` or `tiny` is
        not > 0, `tol` or `atol` is negative, or `max_entries` is below 1.

    Notes
    -----
    `f` (and a layer's or net's forward pass) always gets fresh copies of the
    inputs, the first call included, and the perturbation loop works on NumPy
    copies moved back to the input's library: the caller's arrays are never
    written, even by an `f` that writes into its arguments.
    Parameters are perturbed by replacing ``Param.data`` and restored afterwards.
    With ``eps = 1e-6`` the truncation error is :math:`O(\varepsilon^2)
    \approx 10^{-12}` and the rounding error about :math:`10^{-16} |f| /
    \varepsilon \approx 10^{-10} |f|`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, -2.0, 0.5])
    >>> res = gradcheck(lambda x: ((x ** 3).sum(), 3 * x ** 2), x)
    >>> res.ok, res.max_rel_error < 1e-8
    (True, True)
    >>> wrong = lambda x: ((x ** 3).sum(), 3 * x ** 2 + (x > 0))   # wrong where x > 0
    >>> bad = gradcheck(wrong, x)
    >>> bad.ok, bad.where
    (False, ('inputs[0]', (2,)))
    """
    fn = "gradcheck"
    opts = dict(eps=V.check_real_scalar(eps, fn, "eps", lo=0.0, lo_open=True),
                tol=V.check_real_scalar(tol, fn, "tol", lo=0.0),
                atol=V.check_real_scalar(atol, fn, "atol", lo=0.0),
                tiny=V.check_real_scalar(tiny, fn, "tiny", lo=0.0, lo_open=True))
    check_params = V.check_bool(check_params, fn, "check_params")
    if max_entries is not None:
        max_entries = V.check_int(max_entries, fn, "max_entries", lo=1)
    opts.update(max_entries=max_entries,
                rng=np.random.default_rng(V.check_int(seed, fn, "seed", lo=0)))
    if isinstance(f, (LossLayer, Net, Layer)):
        saved = [(p, p.grad) for p in f.params]
        try:
            if isinstance(f, Layer):
                return _check_layer(f, inputs, check_params, opts)
            return _check_loss(f, inputs, labels, check_params, opts)
        finally:  # the check's own gradients are not the caller's
            for p, g in saved:
                p.grad = g
    if not callable(f):
        raise V.argument_error(fn, "f", "a function, a Layer or a Net", type(f).__name__,
                               TypeError)
    return _check_function(f, inputs, opts)


def _check_loss(f, inputs, labels, check_params: bool, opts: dict) -> GradcheckResult:
    """A loss layer or a net: the scalar is the loss, the gradients from ``backward()``."""
    if labels is None:
        raise V.argument_error("gradcheck", "labels", f"the labels, to check "
                               f"{type(f).__name__}", "None", TypeError)
    x = _single(inputs)
    labels = plain_array(labels, "gradcheck", "labels")
    _check_float64("x", x, "pass float64 scores" if isinstance(f, LossLayer)
                   else "pass a float64 input")
    params = _params(f, check_params)
    loss_layer = f if isinstance(f, LossLayer) else f.loss_layer
    if loss_layer is None:
        raise V.argument_error("gradcheck", "f", "a net with a loss layer (build it with "
                               "loss=...)", repr(f), TypeError)
    if isinstance(f, Net):
        f.zero_grad()
    f.forward(_copy(x), _copy(labels))
    dx = f.backward()

    def evaluate(over):
        xv = over["x"] if "x" in over else _copy(x)
        scores = xv if isinstance(f, LossLayer) else f.predict(xv)
        return _scalar(loss_layer.predict(scores, _copy(labels)))

    return _compare({"x": x}, {"x": dx}, params, evaluate, **opts)


def _check_layer(f, inputs, check_params: bool, opts: dict) -> GradcheckResult:
    """A layer: the scalar is ``sum(y * r)`` for a fixed random projection r."""
    x = _single(inputs)
    _check_float64("x", x, "pass a float64 input")
    params = _params(f, check_params)
    xp = array_namespace(x, fn="gradcheck")
    y = f.predict(_copy(x))
    r = xp.asarray(opts["rng"].standard_normal(tuple(y.shape)))
    for p in f.params:
        p.zero_grad()
    f.forward(_copy(x))
    dx = f.backward(r)

    def evaluate(over):
        return _scalar(xp.sum(f.predict(over["x"] if "x" in over else _copy(x)) * r))

    return _compare({"x": x}, {"x": dx}, params, evaluate, **opts)


def _check_function(f, inputs, opts: dict) -> GradcheckResult:
    """A function ``f(*inputs) -> (value, grads)``."""
    xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    xs = [plain_array(a, "gradcheck", f"inputs[{i}]") for i, a in enumerate(xs)]
    for i, a in enumerate(xs):
        _check_float64(f"inputs[{i}]", a, "pass float64 arrays")
    out = f(*[_copy(a) for a in xs])  # f may write into its arguments: never the caller's
    if not (isinstance(out, tuple) and len(out) == 2):
        raise V.argument_error("gradcheck", "f", "a function that returns a pair (value, "
                               "grads), e.g. cross_entropy_with_grad",
                               f"one that returns {type(out).__name__}", TypeError)
    _scalar(out[0])
    grads = _gradients(out[1], xs)
    if all(g is None for g in grads):
        # Nothing to compare: reporting ok=True would claim a check that never ran.
        raise TypeError(
            f"gradcheck: f must return a gradient for at least one input; it returned "
            f"{'None' if len(grads) == 1 else 'None for every one of its ' + str(len(xs))} "
            "(for (value, grads), grads holds one array per input, None to skip one)")
    names = [f"inputs[{i}]" for i in range(len(xs))]
    arrays = {n: a for n, a, g in zip(names, xs, grads) if g is not None}
    analytic = {n: _gradient_array(g, n) for n, g in zip(names, grads) if g is not None}

    def evaluate(over):
        return _scalar(f(*[over[n] if n in over else _copy(a) for n, a in zip(names, xs)])[0])

    return _compare(arrays, analytic, [], evaluate, **opts)


def _is_array(a) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def _gradients(grads, xs: list) -> list:
    """The gradients `f` returned, one per input.

    A tuple holds one gradient per input; so does a list of arrays (or None) when
    there are several inputs, or a list of one array of the input's shape.  Any
    other list (of numbers, nested) or an array is the gradient of a single input.
    """
    n = len(xs)
    per_input = isinstance(grads, tuple) or (isinstance(grads, list) and all(
        g is None or _is_array(g) for g in grads) and (n > 1 or (
            len(grads) == 1 and (grads[0] is None
                                 or tuple(grads[0].shape) == tuple(xs[0].shape)))))
    if per_input:
        grads = list(grads)
    elif n == 1:
        grads = [grads]
    else:
        what = (f"one array of shape {tuple(grads.shape)}" if _is_array(grads)
                else f"{type(grads).__name__} {_short(grads)}")
        raise V.argument_error("gradcheck", "f", f"a function that returns a tuple of {n} "
                               "gradients, one per input (None to skip one)",
                               f"one that returned {what}")
    if len(grads) != n:
        raise V.argument_error("gradcheck", "f", "a function that returns one gradient per "
                               "input (None to skip one)",
                               f"one that returned {len(grads)} gradients for {n} inputs")
    return grads


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _gradient_array(g, name: str):
    """The gradient `g` of `name` as an array of real numbers (lists and numbers converted)."""
    given = g
    if isinstance(g, np.generic) or not _is_array(g):
        try:
            g = np.asarray(g)  # None and strings become object and str arrays: refused below
        except (TypeError, ValueError):  # ragged lists
            g = np.asarray(None, dtype=object)
    if V.dtype_kind(g.dtype, array_namespace(g, fn="gradcheck")) not in ("floating", "integer"):
        found = (f"{type(g).__name__} of dtype {V.dtype_name(g.dtype)}" if given is g
                 else f"{type(given).__name__} {_short(given)}")
        raise V.argument_error("gradcheck", "f", f"a function whose gradient of {name} is "
                               "an array of real numbers (or a list of numbers)", found,
                               TypeError)
    return g


def _single(inputs):
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != 1:
            raise V.argument_error("gradcheck", "inputs", "one input x for a layer or a net",
                                   f"{len(inputs)} inputs")
        inputs = inputs[0]
    return plain_array(inputs, "gradcheck", "x")


def _params(f, check_params):
    """The parameters to check (none without `check_params`), all float64 either way:
    a float32 parameter makes the layer compute in float32, which central
    differences cannot resolve even for the input's gradient."""
    params = list(f.params)
    for i, p in enumerate(params):
        _check_float64(p.name or f"params[{i}]", p.data, "build the layer with dtype='float64'")
    return params if check_params else []


def _copy(a):
    """A fresh copy of array `a` (in its own library), for `f` to do with as it likes."""
    if not _is_array(a):
        return a
    return array_namespace(a, fn="gradcheck").asarray(a, copy=True)


def _scalar(v) -> float:
    """The value `f` returned as a float: a real number, or a real array (summed)."""
    if _is_array(v) and not isinstance(v, np.generic):
        xp = array_namespace(v, fn="gradcheck")
        if V.dtype_kind(v.dtype, xp) in ("floating", "integer"):
            return float(xp.sum(v) if v.ndim != 0 else v)
        found = f"an array of dtype {V.dtype_name(v.dtype)}"
    elif isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
        return float(v)
    else:
        found = f"{type(v).__name__} {_short(v)}"
    raise V.argument_error("gradcheck", "f", "a function whose value (the first item of "
                           "its pair) is a real number or an array of real numbers", found,
                           TypeError)


def _compare(arrays, analytic, params, evaluate, *, eps, tol, atol, tiny, max_entries, rng):
    """Numerical gradients of `evaluate` for `arrays` (by name) and `params`; compare."""
    if sum(math.prod(tuple(a.shape)) for a in arrays.values()) + sum(
            p.size for p in params) == 0:
        raise ValueError(
            "gradcheck: there is nothing to check (every input and parameter is empty); "
            "reporting ok=True would claim a check that never ran")
    numeric: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ana_np: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        g = analytic[name]
        if tuple(g.shape) != tuple(a.shape):
            raise ValueError(
                f"gradcheck: the gradient of {name} has shape {tuple(g.shape)}, expected {tuple(a.shape)}"
            )
        xp = array_namespace(a, fn="gradcheck")

        def at(arr_np, _name=name, _xp=xp):
            return evaluate({_name: _xp.asarray(arr_np)})

        numeric[name] = _numdiff(to_numpy(a).astype(np.float64, copy=True), at, eps, max_entries, rng)
        ana_np[name] = to_numpy(g).astype(np.float64)
    for k, p in enumerate(params):
        original = p.data
        xp = array_namespace(original, fn="gradcheck")

        def at(arr_np, _p=p, _xp=xp, _orig=original):
            _p.data = _xp.asarray(arr_np)
            try:
                return evaluate({})
            finally:
                _p.data = _orig

        key = p.name or f"params[{k}]"
        while key in numeric:
            key += "'"
        numeric[key] = _numdiff(to_numpy(original).astype(np.float64, copy=True), at, eps,
                                max_entries, rng)
        ana_np[key] = to_numpy(p.grad).astype(np.float64)
    errors, worst, worst_abs, where, ok = {}, -1.0, 0.0, ("", ()), True
    for name, (n, mask) in numeric.items():
        a = ana_np[name]
        rel = np.full(n.shape, np.nan)
        with np.errstate(invalid="ignore"):
            r = rel_error(a[mask], n[mask], tiny)
            d = np.abs(a[mask] - n[mask])
        r[~np.isfinite(r)] = np.inf  # a NaN or infinite gradient is the worst error
        d[~np.isfinite(d)] = np.inf
        rel[mask] = r
        errors[name] = rel
        if r.size:
            i = int(np.argmax(r))
            if r[i] > worst:
                worst = float(r[i])
                flat = np.flatnonzero(mask)[i]
                where = (name, tuple(int(k) for k in np.unravel_index(flat, n.shape)))
            worst_abs = max(worst_abs, float(d.max()))
            ok = ok and not bool(((r > tol) & (d > atol)).any())
    numeric = {k: v[0] for k, v in numeric.items()}
    return GradcheckResult(ok=ok, max_rel_error=max(worst, 0.0), max_abs_error=worst_abs,
                           where=where, tol=tol, atol=atol, errors=errors,
                           analytic=ana_np, numeric=numeric)


def _numdiff(base: np.ndarray, at: Callable[[np.ndarray], float], eps: float,
             max_entries: int | None, rng) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of `at` around `base` (written back after each entry).

    Returns the derivatives (NaN where not checked) and the mask of checked entries.
    """
    out = np.full(base.shape, np.nan)
    checked = np.zeros(base.shape, dtype=bool)
    idx = np.arange(base.size)
    if max_entries is not None and base.size > max_entries:
        idx = np.sort(rng.choice(base.size, size=int(max_entries), replace=False))
    for i in idx:
        j = np.unravel_index(int(i), base.shape)
        old = base[j]
        base[j] = old + eps
        fp = at(base.copy())
        base[j] = old - eps
        fm = at(base.copy())
        base[j] = old
        out[j] = (fp - fm) / (2.0 * eps)
        checked[j] = True
    return out, checked
