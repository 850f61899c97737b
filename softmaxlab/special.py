r"""Softmax and its relatives, computed without overflow.

Every function here infers the array library from its input (NumPy in, NumPy
out; CuPy in, CuPy out) and is written once against the array API.  All of them
shift by the maximum along the class axis before exponentiating, so logits of
``1e4`` or ``-1e4`` are fine in float32 and float64.  float16 inputs are
computed in float32 and the result is cast back to float16.

Masking: an entry of ``-inf`` is a masked class (probability 0), and so is an
entry left out by ``where=`` (JAX's semantics: whatever its value).  A slice
whose entries are all ``-inf`` or excluded has ``logsumexp = -inf``, ``softmax
= 0`` everywhere and ``log_softmax = -inf`` everywhere (no NaN).  NaN and
``+inf`` among the included entries raise ``ValueError`` naming the offending
slice.

Arrays of every kind, one rule each (``softmaxlab._backend.plain_array``):
``numpy.ma`` masked arrays are refused (pass ``where=~x.mask``), NumPy arrays in
a foreign byte order are computed as native ones (big-endian float16 in
float32), longdouble is computed in longdouble, and every result is an array of
the input's library on the input's device -- a full reduction gives a 0-d
array, never a NumPy scalar.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _backend as B
from . import _validation as V
from . import kernels
from ._backend import is_numpy_namespace

__all__ = ["logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid"]


def _prepare(x: Any, axis: Any, fn: str, *others: Any):
    """Namespace, input (float16 promoted), the reduced axes and the output dtype.

    `others` (``b``, ``where``) take part in the namespace inference, so that
    mixing libraries is the usual TypeError naming both.
    """
    xp, x = _float_input(x, fn, *others)
    axes = V.normalize_axes(axis, x.ndim, fn)
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
    return xp, x, axes, out_dtype


def _float_input(x: Any, fn: str, *others: Any, where_hint: bool = True):
    """The namespace and `x` as a real floating array of it (the array-kind rules applied)."""
    x = B.plain_array(x, fn, "x", where_hint=where_hint)
    xp, x = V.namespace_and_array(x, fn, "x", *others, float_like=True)
    V.check_float(x, xp, fn, "x")
    return xp, x


def _as_result(res, xp):
    """An array of the input's library, never a NumPy scalar (NumPy turns 0-d results
    of arithmetic into scalars)."""
    if is_numpy_namespace(xp) and not isinstance(res, np.ndarray):
        return np.asarray(res)
    return res


def _masked_out(x, mask, xp):
    """`x` with the entries where `mask` is False set to ``-inf`` (excluded)."""
    return x if mask is None else xp.where(mask, x, xp.full_like(x, -math.inf))


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
    """The fused kernel along the last axis (:func:`softmaxlab.kernels.softmax_rows`),
    or None where no kernel applies (then the reference path runs).

    The kernel keeps the reference contract itself (a row of only ``-inf``
    gives 0, or ``-inf`` for log-softmax), so nothing is patched afterwards;
    with `validate`, rows with a NaN or ``+inf`` raise, as on the reference
    path (one small reduction).
    """
    if ax != x.ndim - 1 or x.size == 0:
        return None
    shape = tuple(x.shape)
    x2 = xp.reshape(x, (-1, shape[-1]))
    res = kernels.softmax_rows(x2, log=log)
    if res is None:
        return None
    if validate:
        batch = shape[:-1]
        V.check_row_max(xp.reshape(xp.max(x2, axis=1), batch), xp, fn, "x", batch)
    if res.dtype != out_dtype:
        res = xp.astype(res, out_dtype)
    return xp.reshape(res, shape)


def _temperature(x, temperature: Any, fn: str):
    t = V.check_real_scalar(temperature, fn, "temperature", lo=0.0, lo_open=True)
    return x if t == 1.0 else x / t


def _scale(b: Any, x, xp, fn: str, validate: bool):
    """`x` and the scale factors `b` broadcast together, in their common floating dtype.

    Integer and boolean `b` take `x`'s dtype; floating `b` promotes as in
    ``scipy.special.logsumexp`` (float32 `x` with float64 `b` gives float64).
    """
    b = V.as_array(B.plain_array(b, fn, "b"), xp, fn, "b")
    V.check_real_numeric(b, xp, fn, "b")
    V.same_device(b, x, fn, "b")
    try:
        shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(b.shape)))
    except ValueError:
        raise V.argument_error(fn, "b", f"broadcastable with the shape of 'x' {tuple(x.shape)}",
                               f"shape {tuple(b.shape)}") from None
    dt = xp.result_type(x.dtype, b.dtype) if V.dtype_kind(b.dtype, xp) == "floating" \
        else x.dtype
    x = xp.astype(x, dt) if x.dtype != dt else x
    b = xp.astype(b, dt) if b.dtype != dt else b
    if validate:
        V.check_entries(~xp.isfinite(b), b, xp, fn, "b", "finite scale factors")
    if tuple(x.shape) != shape:
        x = xp.broadcast_to(x, shape)
    if tuple(b.shape) != shape:
        b = xp.broadcast_to(b, shape)
    return x, b


def _lse_parts(z, b, ax: int, xp, fn: str, validate: bool):
    """``log|sum_k b_k e^{z_k}|`` along `ax` (kept) and the sign of the sum.

    Excluded entries are ``-inf`` in `z`.  The maximal entries are summed apart
    (their weight ``w``, the count of ties when `b` is None) from the rest
    ``r``, and the log is ``max + log|w| + log1p(r / w)``: a dominant term
    keeps the small rest that ``log(w + r)`` would round away (SciPy
    gh-18295).  For ``r / w < -1`` the argument of the log is negative:
    ``log|1 + q| = log1p(-q - 2)``.
    """
    m = xp.max(z, axis=ax, keepdims=True)
    if validate:
        batch_shape = tuple(s for i, s in enumerate(z.shape) if i != ax)
        V.check_row_max(xp.reshape(m, batch_shape), xp, fn, "x", batch_shape)
    finite = xp.isfinite(m)
    m0 = xp.where(finite, m, xp.zeros_like(m))
    e = xp.exp(z - m0)
    if b is not None:
        e = b * e
    top = z == m
    zero = xp.zeros_like(e)
    w = xp.sum(xp.where(top, e, zero), axis=ax, keepdims=True)
    r = xp.sum(xp.where(top, zero, e), axis=ax, keepdims=True)
    w0 = w == 0
    w_safe = xp.where(w0, xp.ones_like(w), w)
    q = r / w_safe
    log1p_q = xp.where(q >= -1, xp.log1p(q), xp.log1p(-q - 2))
    # Where the maxima carry no weight, or so little that r / w overflows (a
    # subnormal b), the plain log of the sum is the answer.
    direct = w0 | ~xp.isfinite(q)
    out = xp.where(direct, xp.log(xp.abs(w + r)), xp.log(xp.abs(w_safe)) + log1p_q) + m0
    sign = xp.sign(w + r)
    # An all -inf (or empty-after-masking) slice: log 0 = -inf with sign 0; with
    # validate=False, NaN and +inf maxima come out as themselves.
    # +inf entries whose weights cancel (inf - inf) are NaN, as the sign says.
    out = xp.where(finite, out, xp.where(xp.isnan(sign), sign, m))
    sign = xp.where(finite | (m == math.inf), sign, xp.where(xp.isnan(m), m, xp.zeros_like(m)))
    return out, sign


def _check_positive_sums(sign, xp, fn: str, batch_shape: tuple) -> None:
    neg = xp.reshape(sign < 0, batch_shape)
    if V.any_true(neg, xp):
        idx = V.first_true_index(neg, batch_shape)
        raise V.argument_error(
            fn, "b", "such that the sum of b * exp(x) is not negative (its log is not real; "
            "pass return_sign=True for log|sum| and its sign)",
            f"a negative sum in the slice at index {V.fmt_index(idx)} of the non-class axes")


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = -1, b: Any = None,
              keepdims: bool = False, return_sign: bool = False, *, where: Any = None,
              validate: bool = True):
    r"""Log of the sum of (scaled) exponentials along `axis`, without overflow.

    .. math::

        \operatorname{logsumexp}(x) = \log \sum_k b_k e^{x_k}
        = m + \log |w| + \operatorname{log1p}\Bigl(\frac{1}{w}
          \sum_{k:\,x_k < m} b_k e^{x_k - m}\Bigr),

    with :math:`m = \max_k x_k` and :math:`w` the sum of the :math:`b_k` of the
    maximal entries (:math:`b_k = 1` by default).  The signature and meaning
    are those of ``scipy.special.logsumexp``, plus JAX's `where`.

    Parameters
    ----------
    x : array_like
        Real floating input (float16 is computed in float32).  A list of
        Python numbers is read as float64, integers included.
    axis : int, tuple of int or None, optional
        The axis to reduce (default: the last); a tuple reduces over several
        axes together and None over all of them, as in ``scipy.special``.
    b : array_like, optional
        Scale factors of :math:`e^{x_k}`, broadcastable with `x` (real; they may
        be negative, to subtract).  An entry with ``b == 0`` adds nothing, even
        where `x` is NaN or ``+inf``.
    keepdims : bool, optional
        Keep the reduced axes with length 1.
    return_sign : bool, optional
        Return ``(log|sum|, sign)``, the sign being +1, -1 or 0, as SciPy does.
    where : array_like of bool, optional
        The entries to include (broadcastable to `x`); the others are left out
        of the sum, even where they are NaN, as in ``jax.nn.logsumexp``.
    validate : bool, optional
        Check for NaN and ``+inf`` in the included entries, non-finite `b` and
        negative sums (small reductions).  ``False`` skips the checks: NaN and
        ``+inf`` then propagate and a negative sum gives NaN, as in SciPy.

    Returns
    -------
    res : array
        An array of `x`'s library, on its device (0-d for a full reduction,
        never a NumPy scalar), with the dtype of `x` (or of `x` and `b`
        promoted together).  ``-inf`` where a slice has no included entries
        or only ``-inf`` ones, and for an empty axis.  With `return_sign`,
        the log of the absolute value of the sum.
    sgn : array
        Only with ``return_sign=True`` (then ``(res, sgn)`` is returned): the
        sign of the sum, +1, -1 or 0 (for a sum of no terms), like `res`.

    Raises
    ------
    TypeError
        For integer, boolean or complex `x`; complex `b`; non-boolean `where`;
        a ``numpy.ma`` masked array (pass ``where=~x.mask``).
    ValueError
        For NaN or ``+inf`` included entries, non-finite `b`, a negative sum
        without `return_sign`, shapes that do not broadcast, or an
        out-of-range or repeated `axis`.

    Notes
    -----
    Shifting by the maximum makes the largest term :math:`e^0 = 1`, so the sum
    neither overflows nor underflows to zero; taking the maximal terms apart
    and ``log1p`` of the rest keeps the last bits when one term dominates
    (Blanchard, Higham & Higham 2021; SciPy gh-18295).

    Examples
    --------
    The naive formula overflows in float64 at 1000; this one does not:

    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> float(sml.logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    >>> sml.logsumexp(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]))
    array([  0., -inf])

    One dominant term: the small one is kept (``log(1 + e**-40)``):

    >>> float(sml.logsumexp(np.array([0.0, -40.0])))
    4.248354255291589e-18

    Several axes at once, or all of them, as in ``scipy.special.logsumexp``:

    >>> float(sml.logsumexp(np.zeros((2, 3)), axis=None))  # log 6
    1.791759469228055
    >>> sml.logsumexp(np.zeros((2, 3, 4)), axis=(0, 2)).round(4)  # log 8 each
    array([2.0794, 2.0794, 2.0794])

    Scale factors, signs and masks:

    >>> x = np.array([1.0, 1.0, 1.0])
    >>> r, sign = sml.logsumexp(x, b=np.array([1.0, -1.0, -1.0]), return_sign=True)
    >>> float(r), float(sign)  # log|e - 2e| = 1, negative
    (1.0, -1.0)
    >>> float(sml.logsumexp(np.array([0.0, np.nan]), where=np.array([True, False])))
    0.0
    """
    fn = "logsumexp"
    keepdims = V.check_bool(keepdims, fn, "keepdims")
    return_sign = V.check_bool(return_sign, fn, "return_sign")
    validate = V.check_bool(validate, fn, "validate")
    xp, x = _float_input(x, fn, b, where)
    if b is not None:
        x, b = _scale(b, x, xp, fn, validate)
    axes = V.normalize_axes(axis, x.ndim, fn)
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
        b = None if b is None else xp.astype(b, cdt)
    x = _masked_out(x, V.where_mask(where, x, xp, fn), xp)
    if b is not None:
        x = xp.where(b == 0, xp.full_like(x, -math.inf), x)
    mx = _Merged(x, xp, axes)
    z, ax = mx.x2, mx.ax
    if z.shape[ax] == 0:
        shape = tuple(1 if i == ax else s for i, s in enumerate(z.shape))
        out = B.full_on(z, shape, -math.inf, xp=xp)
        sign = B.zeros_on(z, shape, xp=xp)
    else:
        bz = None if b is None else _Merged(b, xp, axes).x2
        with V.quiet(xp):
            out, sign = _lse_parts(z, bz, ax, xp, fn, validate)
        if not return_sign and b is not None:
            if validate:
                _check_positive_sums(sign, xp, fn, tuple(s for i, s in enumerate(z.shape)
                                                         if i != ax))
            out = xp.where(sign < 0, xp.full_like(out, math.nan), out)
    out = _as_result(_cast(mx.reduced(out, keepdims), out_dtype, xp), xp)
    if not return_sign:
        return out
    return out, _as_result(_cast(mx.reduced(sign, keepdims), out_dtype, xp), xp)


def _cast(res, dtype, xp):
    return xp.astype(res, dtype) if res.dtype != dtype else res


def softmax(x: Any, axis: int | tuple[int, ...] | None = -1,
            temperature: float = 1.0, *, where: Any = None, validate: bool = True):
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
    where : array_like of bool, optional
        The classes to include (broadcastable to `x`), as in
        ``jax.nn.softmax``: an excluded entry gets probability 0 whatever its
        value (NaN included), and a slice with none included is all 0.
    validate : bool, optional
        Check for NaN and ``+inf`` among the included entries (one small
        reduction).

    Returns
    -------
    array
        Probabilities, same shape, library, device and dtype as `x`.  A slice
        that is entirely ``-inf`` (or excluded) gives zeros.

    Raises
    ------
    TypeError
        For integer, boolean or complex input, a non-boolean `where`, or a
        ``numpy.ma`` masked array (pass ``where=~x.mask``).
    ValueError
        For NaN or ``+inf`` included entries, a non-positive `temperature`, a
        `where` that does not broadcast, or an out-of-range or repeated `axis`.

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
    >>> sml.softmax(np.array([1.0, 5.0, 1.0]), where=np.array([True, False, True]))
    array([0.5, 0. , 0.5])
    """
    return _softmax_or_log(x, axis, temperature, where, validate, log=False)


def log_softmax(x: Any, axis: int | tuple[int, ...] | None = -1,
                temperature: float = 1.0, *, where: Any = None, validate: bool = True):
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
    where : array_like of bool, optional
        The classes to include (broadcastable to `x`), as in
        ``jax.nn.log_softmax``: an excluded entry gets ``-inf`` whatever its
        value, and a slice with none included is all ``-inf``.
    validate : bool, optional
        Check for NaN and ``+inf`` among the included entries (one small
        reduction).

    Returns
    -------
    array
        Log-probabilities, same shape, library, device and dtype as `x`.

    Raises
    ------
    TypeError
        For integer, boolean or complex input, a non-boolean `where`, or a
        ``numpy.ma`` masked array (pass ``where=~x.mask``).
    ValueError
        For NaN or ``+inf`` included entries, a non-positive `temperature`, a
        `where` that does not broadcast, or an out-of-range or repeated `axis`.

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
    return _softmax_or_log(x, axis, temperature, where, validate, log=True)


def _softmax_or_log(x: Any, axis: Any, temperature: Any, where: Any, validate: bool, *,
                    log: bool):
    """The body shared by :func:`softmax` and :func:`log_softmax`."""
    fn = "log_softmax" if log else "softmax"
    validate = V.check_bool(validate, fn, "validate")
    xp, x, axes, out_dtype = _prepare(x, axis, fn, where)
    x = _masked_out(_temperature(x, temperature, fn), V.where_mask(where, x, xp, fn), xp)
    mx = _Merged(x, xp, axes)
    x, ax = mx.x2, mx.ax
    if x.shape[ax] == 0:
        return mx.full(_cast(x, out_dtype, xp))
    fast = _softmax_cuda(x, xp, ax, out_dtype, fn, log=log, validate=validate)
    if fast is not None:
        return mx.full(fast)
    with V.quiet(xp):
        z, _ = _shifted(x, xp, ax, fn, validate)
        e = xp.exp(z)
        s = xp.sum(e, axis=ax, keepdims=True)
        s = xp.where(s == 0, xp.ones_like(s), s)  # an all -inf slice: 0 or -inf, not NaN
        if log:
            res = z - xp.log(s)
        else:  # a +inf entry (validate=False): the whole slice NaN, as log_softmax and SciPy
            res = xp.where(xp.isfinite(s), e / s, xp.full_like(e, math.nan))
    return _as_result(_cast(mx.full(res), out_dtype, xp), xp)


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
        Same shape, library, device and dtype as `x`; ``sigmoid(inf) = 1``,
        ``sigmoid(-inf) = 0``.

    Raises
    ------
    TypeError
        For integer, boolean or complex input, or a ``numpy.ma`` masked array.
    ValueError
        For NaN entries.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> sml.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    xp, x, out_dtype = _elementwise_input(x, "sigmoid", validate)
    e = xp.exp(-xp.abs(x))
    one = xp.ones_like(e)
    res = xp.where(x >= 0, one / (one + e), e / (one + e))
    return _as_result(_cast(res, out_dtype, xp), xp)


def log_sigmoid(x: Any, *, validate: bool = True):
    r"""The logarithm of the logistic sigmoid, stable for large :math:`|x|`.

    .. math::

        \log \sigma(x) = -\log(1 + e^{-x})
        = \min(x, 0) - \operatorname{log1p}(e^{-|x|})

    The right-hand form never overflows and keeps the tiny value for large
    positive :math:`x` (:math:`\log\sigma(40) = -4.2 \cdot 10^{-18}`, where
    the log of the rounded :math:`\sigma(40) = 1` gives 0 in float64); for
    large negative :math:`x` it is :math:`x` (:math:`\log\sigma(-1000) =
    -1000`, where the sigmoid itself underflows to 0).  It is
    ``torch.nn.functional.logsigmoid`` and ``jax.nn.log_sigmoid``, and
    :math:`-\log\sigma(z)` is the binary cross-entropy of a logit :math:`z`
    with label 1.

    Parameters
    ----------
    x : array_like
        Scores (logits) of any real floating dtype: float16 is computed in
        float32, the others in their own precision.  Lists of Python numbers,
        integers included, are read as float64.
    validate : bool, optional
        Raise on NaN input (one pass over `x`); ``False`` skips the pass.

    Returns
    -------
    array
        Same shape, library, device and dtype as `x`, never positive:
        ``log_sigmoid(inf) = -0.0``, ``log_sigmoid(-inf) = -inf``.

    Raises
    ------
    TypeError
        For a dtype that is not real floating, or a ``numpy.ma`` masked array.
    ValueError
        For NaN entries, unless ``validate=False`` (then NaN in, NaN out).

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxlab as sml
    >>> sml.log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.00000000e+03, -6.93147181e-01, -0.00000000e+00])
    >>> float(sml.log_sigmoid(np.array(40.0)))  # log(sigmoid(40.0)) gives 0.0
    -4.248354255291589e-18
    """
    xp, x, out_dtype = _elementwise_input(x, "log_sigmoid", validate)
    # -(log1p(e^-|x|) - min(x, 0)): the sign of an underflowed result stays -0.0.
    res = -(xp.log1p(xp.exp(-xp.abs(x))) - xp.minimum(x, xp.zeros_like(x)))
    return _as_result(_cast(res, out_dtype, xp), xp)


def _elementwise_input(x: Any, fn: str, validate: Any):
    """Namespace, `x` in its compute dtype and the output dtype; NaN refused when `validate`."""
    validate = V.check_bool(validate, fn, "validate")
    xp, x = _float_input(x, fn, where_hint=False)
    out_dtype = x.dtype
    cdt = V.compute_dtype(x, xp)
    if cdt != x.dtype:
        x = xp.astype(x, cdt)
    if validate:
        nan = xp.isnan(x)
        if V.any_true(nan, xp):
            idx = V.first_true_index(nan, tuple(x.shape))
            raise ValueError(
                f"{fn}: argument 'x' contains NaN at index {V.fmt_index(idx)}; "
                "expected finite values or +-inf"
            )
    return xp, x, out_dtype
