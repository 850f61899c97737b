r"""Softmax and its relatives, computed without overflow.

Every function here infers the array library from its input (NumPy in, NumPy
out; CuPy in, CuPy out) and is written once against the array API.  All of them
shift by the maximum along the class axis before exponentiating, so logits of
``1e4`` or ``-1e4`` are fine in float32 and float64.  float16 inputs are
computed in float32 and the result is cast back to float16.

Masking: an entry of ``-inf`` is a masked class (probability 0).  A slice whose
entries are all ``-inf`` has ``logsumexp = -inf``, ``softmax = 0`` everywhere and
``log_softmax = -inf`` everywhere (no NaN).  NaN and ``+inf`` inputs raise
``ValueError`` naming the offending slice.
"""

from __future__ import annotations

import math
from typing import Any

from . import _validation as V
from ._backend import is_cupy_namespace

__all__ = ["logsumexp", "softmax", "log_softmax", "sigmoid"]


def _prepare(x: Any, axis: Any, fn: str):
    xp, x = V.namespace_and_array(x, fn, "x")
    V.check_float(x, xp, fn, "x")
    ax = V.normalize_axis(axis, x.ndim, fn)
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
    return xp, x, ax, out_dtype


def _shifted(x, xp, ax: int, fn: str, validate: bool):
    """``x - m`` with ``m`` the (safe) maximum along `ax`, and ``m`` itself.

    Slices that are entirely ``-inf`` are shifted by 0, so they stay ``-inf``.
    """
    m = xp.max(x, axis=ax, keepdims=True)
    if validate:
        batch_shape = tuple(s for i, s in enumerate(x.shape) if i != ax)
        V.check_row_max(xp.reshape(m, batch_shape), xp, fn, "x", batch_shape)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    return x - m, m


def _softmax_cuda(x, xp, ax: int, out_dtype, fn: str, log: bool, validate: bool):
    """The fused CUDA kernel for CuPy input along the last axis; None if it does not apply.

    The kernel gives a NaN row for a row with a NaN, a ``+inf`` or only
    ``-inf``.  Such rows are rare, so they are looked at afterwards: all-``-inf``
    rows get this module's answer (0 or ``-inf``), the others raise.
    """
    if not is_cupy_namespace(xp) or ax != x.ndim - 1 or x.size == 0:
        return None
    import cupy

    from ._cuda_kernels import softmax_lastaxis_cupy

    shape = tuple(x.shape)
    x2 = cupy.ascontiguousarray(x.reshape(-1, shape[-1]))
    res = softmax_lastaxis_cupy(x2, log=log)
    bad = cupy.isnan(res[:, 0])
    if bool(bad.any()):
        masked = cupy.all(x2 == -math.inf, axis=1)
        if validate:
            V.check_row_max(cupy.max(x2, axis=1).reshape(shape[:-1]), xp, fn, "x", shape[:-1])
        fill = -math.inf if log else 0.0
        res[masked] = fill
    if res.dtype != out_dtype:
        res = res.astype(out_dtype)
    return res.reshape(shape)


def _temperature(x, temperature: Any, fn: str):
    t = V.check_real_scalar(temperature, fn, "temperature", lo=0.0, lo_open=True)
    return x if t == 1.0 else x / t


def logsumexp(x: Any, axis: int = -1, keepdims: bool = False, *, validate: bool = True):
    r"""Log of the sum of exponentials along `axis`, without overflow.

    .. math::

        \operatorname{logsumexp}(x) = m + \log \sum_k e^{x_k - m},
        \qquad m = \max_k x_k .

    Parameters
    ----------
    x : array_like
        Real floating input (float16 is computed in float32).
    axis : int, optional
        The axis to reduce (default: the last).
    keepdims : bool, optional
        Keep the reduced axis with length 1.
    validate : bool, optional
        Check for NaN and ``+inf`` (one small reduction). ``False`` skips it.

    Returns
    -------
    array
        Same library and dtype as `x`. ``-inf`` where every entry of a slice is
        ``-inf`` (and for an empty class axis).

    Raises
    ------
    TypeError
        For integer, boolean or complex input.
    ValueError
        For NaN or ``+inf`` entries, or an out-of-range `axis`.

    Notes
    -----
    Shifting by the maximum makes the largest term :math:`e^0 = 1`, so the sum
    lies in :math:`[1, K]` and neither overflows nor underflows to zero
    (Blanchard, Higham & Higham 2021).

    Examples
    --------
    The naive formula overflows in float64 at 1000; this one does not:

    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> float(sml.logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    >>> sml.logsumexp(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]))
    array([  0., -inf])
    """
    fn = "logsumexp"
    keepdims = V.check_bool(keepdims, fn, "keepdims")
    xp, x, ax, out_dtype = _prepare(x, axis, fn)
    if x.shape[ax] == 0:
        shape = tuple(1 if i == ax else s for i, s in enumerate(x.shape))
        res = xp.full(shape, -math.inf, dtype=x.dtype)
    else:
        with V.quiet(xp):
            z, m = _shifted(x, xp, ax, fn, validate)
            res = xp.log(xp.sum(xp.exp(z), axis=ax, keepdims=True)) + m
    if not keepdims:
        res = xp.squeeze(res, axis=ax)
    return xp.astype(res, out_dtype) if res.dtype != out_dtype else res


def softmax(x: Any, axis: int = -1, temperature: float = 1.0, *, validate: bool = True):
    r"""The softmax (normalised exponential) along `axis`.

    .. math::

        \operatorname{softmax}(x)_j = \frac{e^{x_j / T}}{\sum_k e^{x_k / T}}

    The result lies in :math:`[0, 1]`, sums to 1 along `axis`, is unchanged when
    a constant is added to every entry, and is monotone: a larger score gives a
    larger probability.  For two classes it is the logistic sigmoid of the
    score difference: ``softmax([a, b])[0] == sigmoid(a - b)``.

    Parameters
    ----------
    x : array_like
        Scores (logits); ``-inf`` marks a masked class.
    axis : int, optional
        The class axis (default: the last).
    temperature : float, optional
        :math:`T > 0`. Large :math:`T` flattens the distribution towards
        uniform, small :math:`T` sharpens it towards the arg-max.
    validate : bool, optional
        Check for NaN and ``+inf`` (one small reduction).

    Returns
    -------
    array
        Probabilities, same shape, library and dtype as `x`.  A slice that is
        entirely ``-inf`` gives zeros.

    Raises
    ------
    TypeError
        For integer, boolean or complex input.
    ValueError
        For NaN or ``+inf`` entries, a non-positive `temperature`, or an
        out-of-range `axis`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> sml.softmax(np.array([1.0, 2.0, 3.0])).round(4)
    array([0.09  , 0.2447, 0.6652])
    >>> sml.softmax(np.array([1000.0, 1.0]))  # naive exp(1000) overflows
    array([1., 0.])
    >>> sml.softmax(np.array([1.0, 2.0, 3.0]), temperature=100.0).round(4)
    array([0.33  , 0.3333, 0.3367])
    """
    return _softmax_or_log(x, axis, temperature, validate, log=False)


def log_softmax(x: Any, axis: int = -1, temperature: float = 1.0, *, validate: bool = True):
    r"""The logarithm of :func:`softmax`, computed directly (no log of a rounded 0).

    .. math::

        \log \operatorname{softmax}(x)_j = x_j - \operatorname{logsumexp}(x)

    Parameters
    ----------
    x : array_like
        Scores (logits); ``-inf`` marks a masked class (result ``-inf``).
    axis : int, optional
        The class axis (default: the last).
    temperature : float, optional
        :math:`T > 0`, dividing `x` first.
    validate : bool, optional
        Check for NaN and ``+inf`` (one small reduction).

    Returns
    -------
    array
        Log-probabilities, same shape, library and dtype as `x`.

    Raises
    ------
    TypeError
        For integer, boolean or complex input.
    ValueError
        For NaN or ``+inf`` entries, a non-positive `temperature`, or an
        out-of-range `axis`.

    Examples
    --------
    Taking the log of softmax loses the small probability; this does not:

    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> sml.log_softmax(np.array([1000.0, 1.0]))
    array([   0., -999.])
    >>> with np.errstate(divide="ignore"):
    ...     np.log(sml.softmax(np.array([1000.0, 1.0])))
    array([  0., -inf])
    """
    return _softmax_or_log(x, axis, temperature, validate, log=True)


def _softmax_or_log(x: Any, axis: Any, temperature: Any, validate: bool, *, log: bool):
    """The body shared by :func:`softmax` and :func:`log_softmax`."""
    fn = "log_softmax" if log else "softmax"
    xp, x, ax, out_dtype = _prepare(x, axis, fn)
    x = _temperature(x, temperature, fn)
    if x.shape[ax] == 0:
        return xp.astype(x, out_dtype)
    fast = _softmax_cuda(x, xp, ax, out_dtype, fn, log=log, validate=validate)
    if fast is not None:
        return fast
    with V.quiet(xp):
        z, _ = _shifted(x, xp, ax, fn, validate)
        e = xp.exp(z)
        s = xp.sum(e, axis=ax, keepdims=True)
        s = xp.where(s == 0, xp.ones_like(s), s)  # an all -inf slice: 0 or -inf, not NaN
        res = z - xp.log(s) if log else e / s
    return xp.astype(res, out_dtype) if res.dtype != out_dtype else res


def sigmoid(x: Any, *, validate: bool = True):
    r"""The logistic sigmoid, stable for large :math:`|x|`.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}} = \operatorname{softmax}([x, 0])_0

    It is softmax with two classes: :math:`\operatorname{softmax}([a, b])_0 =
    \sigma(a - b)`.  Computed as :math:`1/(1+e^{-|x|})` or
    :math:`e^{-|x|}/(1+e^{-|x|})` by sign, so :math:`e^{\cdot}` never overflows.

    Parameters
    ----------
    x : array_like
        Real floating input (float16 is computed in float32).
    validate : bool, optional
        Raise on NaN input (one pass over `x`).

    Returns
    -------
    array
        Same shape, library and dtype as `x`; ``sigmoid(inf) = 1``,
        ``sigmoid(-inf) = 0``.

    Raises
    ------
    TypeError
        For integer, boolean or complex input.
    ValueError
        For NaN entries.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> sml.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    fn = "sigmoid"
    xp, x = V.namespace_and_array(x, fn, "x")
    V.check_float(x, xp, fn, "x")
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
    if validate:
        nan = xp.isnan(x)
        if V.any_true(nan, xp):
            idx = V.first_true_index(nan, tuple(x.shape))
            raise ValueError(
                f"sigmoid: argument 'x' contains NaN at index {V.fmt_index(idx)}; "
                "expected finite values or +-inf"
            )
    e = xp.exp(-xp.abs(x))
    one = xp.ones_like(e)
    res = xp.where(x >= 0, one / (one + e), e / (one + e))
    return xp.astype(res, out_dtype) if res.dtype != out_dtype else res

