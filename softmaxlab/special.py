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
    """Namespace, input (float16 promoted), the reduced axes and the output dtype."""
    xp, x = V.namespace_and_array(x, fn, "x", float_like=True)
    V.check_float(x, xp, fn, "x")
    axes = V.normalize_axes(axis, x.ndim, fn)
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
    return xp, x, axes, out_dtype


class _Merged:
    """`x` with several reduced axes moved last and merged into one.

    One reduced axis is used where it is (``x2 is x``).  For several (or none,
    or a 0-d input), the kept axes come first in their order, then the reduced
    ones, reshaped to ``(*kept, K)``; :meth:`full` and :meth:`reduced` map the
    results back.
    """

    def __init__(self, x, xp, axes: tuple):
        self.xp, self.shape, self.axes = xp, tuple(x.shape), axes
        if len(axes) == 1:
            self.x2, self.ax, self.perm = x, axes[0], None
            return
        keep = [i for i in range(x.ndim) if i not in axes]
        self.perm = keep + list(axes)
        self.kept_shape = tuple(self.shape[i] for i in keep)
        y = xp.permute_dims(x, tuple(self.perm)) if self.perm != list(range(x.ndim)) else x
        self.x2 = xp.reshape(y, self.kept_shape + (math.prod(self.shape[i] for i in axes),))
        self.ax = len(keep)

    def full(self, res):
        """A result shaped like ``x2`` back to the shape of `x`."""
        if self.perm is None:
            return res
        xp = self.xp
        res = xp.reshape(res, tuple(self.shape[i] for i in self.perm))
        inverse = [0] * len(self.perm)
        for pos, i in enumerate(self.perm):
            inverse[i] = pos
        return xp.permute_dims(res, tuple(inverse)) if inverse != sorted(inverse) else res

    def reduced(self, res, keepdims: bool):
        """A reduction of ``x2`` along its axis (kept with length 1) back to `x`'s axes."""
        xp = self.xp
        if self.perm is None:
            return res if keepdims else xp.squeeze(res, axis=self.ax)
        if keepdims:
            return xp.reshape(res, tuple(1 if i in self.axes else s
                                         for i, s in enumerate(self.shape)))
        return xp.reshape(res, self.kept_shape)


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


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = -1,
              keepdims: bool = False, *, validate: bool = True):
    r"""Log of the sum of exponentials along `axis`, without overflow.

    .. math::

        \operatorname{logsumexp}(x) = m + \log \sum_k e^{x_k - m},
        \qquad m = \max_k x_k .

    Parameters
    ----------
    x : array_like
        Real floating input (float16 is computed in float32).  A list of
        Python numbers is read as float64, integers included.
    axis : int, tuple of int or None, optional
        The axis to reduce (default: the last); a tuple reduces over several
        axes together and None over all of them, as in ``scipy.special``.
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
        For NaN or ``+inf`` entries, or an out-of-range or repeated `axis`.

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

    Several axes at once, or all of them, as in ``scipy.special.logsumexp``:

    >>> float(sml.logsumexp(np.zeros((2, 3)), axis=None))  # log 6
    1.791759469228055
    >>> sml.logsumexp(np.zeros((2, 3, 4)), axis=(0, 2)).round(4)  # log 8 each
    array([2.0794, 2.0794, 2.0794])
    """
    fn = "logsumexp"
    keepdims = V.check_bool(keepdims, fn, "keepdims")
    validate = V.check_bool(validate, fn, "validate")
    xp, x, axes, out_dtype = _prepare(x, axis, fn)
    mx = _Merged(x, xp, axes)
    x, ax = mx.x2, mx.ax
    if x.shape[ax] == 0:
        shape = tuple(1 if i == ax else s for i, s in enumerate(x.shape))
        res = xp.full(shape, -math.inf, dtype=x.dtype)
    else:
        with V.quiet(xp):
            z, m = _shifted(x, xp, ax, fn, validate)
            res = xp.log(xp.sum(xp.exp(z), axis=ax, keepdims=True)) + m
    res = mx.reduced(res, keepdims)
    return xp.astype(res, out_dtype) if res.dtype != out_dtype else res


def softmax(x: Any, axis: int | tuple[int, ...] | None = -1,
            temperature: float = 1.0, *, validate: bool = True):
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
        Scores (logits), real floating; ``-inf`` marks a masked class.  A list
        of Python numbers is read as float64, integers included.
    axis : int, tuple of int or None, optional
        The class axis (default: the last).  A tuple treats several axes
        together as one class axis and None all of them, as in
        ``scipy.special``.
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
        out-of-range or repeated `axis`.

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


def log_softmax(x: Any, axis: int | tuple[int, ...] | None = -1,
                temperature: float = 1.0, *, validate: bool = True):
    r"""The logarithm of :func:`softmax`, computed directly (no log of a rounded 0).

    .. math::

        \log \operatorname{softmax}(x)_j = x_j - \operatorname{logsumexp}(x)

    Parameters
    ----------
    x : array_like
        Scores (logits), real floating; ``-inf`` marks a masked class (result
        ``-inf``).  A list of Python numbers is read as float64.
    axis : int, tuple of int or None, optional
        The class axis (default: the last).  A tuple treats several axes
        together as one class axis and None all of them, as in
        ``scipy.special``.
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
        out-of-range or repeated `axis`.

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
    validate = V.check_bool(validate, fn, "validate")
    xp, x, axes, out_dtype = _prepare(x, axis, fn)
    x = _temperature(x, temperature, fn)
    mx = _Merged(x, xp, axes)
    x, ax = mx.x2, mx.ax
    if x.shape[ax] == 0:
        return mx.full(xp.astype(x, out_dtype))
    fast = _softmax_cuda(x, xp, ax, out_dtype, fn, log=log, validate=validate)
    if fast is not None:
        return mx.full(fast)
    with V.quiet(xp):
        z, _ = _shifted(x, xp, ax, fn, validate)
        e = xp.exp(z)
        s = xp.sum(e, axis=ax, keepdims=True)
        s = xp.where(s == 0, xp.ones_like(s), s)  # an all -inf slice: 0 or -inf, not NaN
        res = z - xp.log(s) if log else e / s
    res = mx.full(res)
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
        Real floating input (float16 is computed in float32).  A list of
        Python numbers is read as float64, integers included.
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
    validate = V.check_bool(validate, fn, "validate")
    xp, x = V.namespace_and_array(x, fn, "x", float_like=True)
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

