r"""Caffe-style layers: parameters that carry their gradient, and an explicit lifecycle.

Every layer follows Caffe's lifecycle:

1. **set up** from the input shape (:meth:`Layer.setup`): check the shape and
   return the output shape;
2. **forward** (bottom -> top, :meth:`Layer.forward`): compute the output and
   keep what the backward pass needs;
3. **backward** (top gradient -> bottom gradient, :meth:`Layer.backward`):
   return the gradient with respect to the input and *add* the gradients with
   respect to the parameters into ``Param.grad``.

A :class:`Param` holds a value and its gradient together, like the ``data`` and
``diff`` of a Caffe blob.  As in Caffe (and PyTorch), parameter gradients
**accumulate** across backward passes; clear them with ``zero_grad()`` before
each iteration (:meth:`softmaxlab.net.Net.zero_grad` or
:meth:`softmaxlab.optim.SGD.zero_grad`).

Layers are written once against the array API: the namespace is inferred from
the input (``xp = array_namespace(x)``), so the same code runs on NumPy, CuPy
and array-api-strict.  Parameters are created at construction on the current
backend (:func:`softmaxlab.set_backend`); move a layer with :meth:`Layer.to_backend`.

Loss layers (:class:`SoftmaxWithLoss`, :class:`HingeLoss`) take the scores and
the labels: ``loss = layer.forward(scores, labels)`` returns the loss
(already multiplied by ``loss_weight``, like Caffe's ``Layer::Forward``) and
``layer.backward()`` returns its gradient with respect to the scores (the top
diff is ``loss_weight``).
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _validation as V
from ._backend import array_namespace, asarray, to_numpy
from ._reductions import check_reduction, reduction_for_caffe
from ._reductions import get as reduction_entry
from ._sampling import as_generator
from .losses import cross_entropy_with_grad, multiclass_hinge_with_grad
from .special import softmax as _special_softmax

__all__ = [
    "FILLERS",
    "Param",
    "Layer",
    "LossLayer",
    "NonFiniteScoresError",
    "InnerProduct",
    "ReLU",
    "Softmax",
    "SoftmaxWithLoss",
    "HingeLoss",
    "fill",
]

#: Names of the weight fillers (Caffe's ``filler { type: ... }``).
FILLERS = ("constant", "gaussian", "uniform", "xavier", "msra")
_VARIANCE_NORMS = ("fan_in", "fan_out", "average")


# --------------------------------------------------------------------------- Param
class Param:
    """A learnable parameter: its value and its gradient (Caffe's blob data/diff).

    Parameters
    ----------
    data : array
        The value.  It is kept as given (not copied); updates replace
        ``self.data`` with a new array and never write into the old one.
    name : str, optional
        A name used in messages and summaries (``"ip0.weight"``).
    lr_mult, decay_mult : float, default 1.0
        Per-parameter multipliers of the learning rate and of the weight decay
        (Caffe's ``param { lr_mult decay_mult }``).

    Attributes
    ----------
    data, grad : array
        The value and the gradient (same shape, dtype and library).
        ``grad`` starts at zero and accumulates over backward passes.

    Examples
    --------
    >>> import numpy as np
    >>> p = Param(np.ones((2, 3)), name="w")
    >>> p
    Param('w', shape=(2, 3), dtype=float64)
    >>> float(p.grad.sum())
    0.0
    """

    def __init__(self, data: Any, *, name: str | None = None, lr_mult: float = 1.0,
                 decay_mult: float = 1.0):
        xp, data = V.namespace_and_array(data, "Param", "data", float_like=True)
        V.check_float(data, xp, "Param", "data")
        V.check_entries(~xp.isfinite(data), data, xp, "Param", "data", "finite")
        self.data = data
        self.name = name
        # >= 0: a negative multiplier would climb the loss (or grow the weights).
        self.lr_mult = V.check_real_scalar(lr_mult, "Param", "lr_mult", lo=0.0)
        self.decay_mult = V.check_real_scalar(decay_mult, "Param", "decay_mult", lo=0.0)
        self.grad = xp.zeros_like(data)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self):
        return self.data.dtype

    def zero_grad(self) -> None:
        """Set the gradient to zero (a new array; the old one is not written)."""
        self.grad = array_namespace(self.data, fn="Param.zero_grad").zeros_like(self.data)

    def to_backend(self) -> Param:
        """Move value and gradient to the current backend (in place on this object)."""
        self.data = asarray(to_numpy(self.data))
        self.grad = asarray(to_numpy(self.grad))
        return self

    def __repr__(self) -> str:
        extra = ""
        if self.lr_mult != 1.0:
            extra += f", lr_mult={self.lr_mult:g}"
        if self.decay_mult != 1.0:
            extra += f", decay_mult={self.decay_mult:g}"
        return f"Param({self.name!r}, shape={self.shape}, dtype={_dtype_name(self.dtype)}{extra})"


def _dtype_name(dtype) -> str:
    s = str(dtype)
    return s.rsplit(".", 1)[-1]


# --------------------------------------------------------------------------- fillers
def fill(shape: Sequence[int], filler: str = "xavier", *, std: float = 0.01,
         value: float = 0.0, low: float = 0.0, high: float = 1.0,
         variance_norm: str = "fan_in", rng: Any = None) -> np.ndarray:
    r"""Draw an initial parameter with one of Caffe's fillers (NumPy, float64).

    Parameters
    ----------
    shape : tuple of int
        Shape of the blob; for a weight Caffe's layout ``(num_output, num_input)``.
    filler : {"constant", "gaussian", "uniform", "xavier", "msra"}
        ``constant``: every entry is `value`;
        ``gaussian``: normal with mean 0 and standard deviation `std`;
        ``uniform``: uniform on ``[low, high)``;
        ``xavier``: uniform on :math:`[-a, a]`, :math:`a = \sqrt{3 / n}`;
        ``msra``: normal with mean 0 and standard deviation :math:`\sqrt{2 / n}`.
    variance_norm : {"fan_in", "fan_out", "average"}
        Caffe's ``variance_norm``: :math:`n` is ``fan_in = size / shape[0]``,
        ``fan_out = size / shape[1]`` or their average.  Default ``fan_in``.
    rng : numpy.random.Generator or int or None
        The random generator (or a seed for :func:`numpy.random.default_rng`).

    Returns
    -------
    numpy.ndarray
        A float64 NumPy array; move it with :func:`softmaxlab.asarray`.  Drawing
        in NumPy makes NumPy and CuPy runs start from identical weights.

    Raises
    ------
    ValueError
        If `filler` or `variance_norm` is unknown (the message lists the valid
        names), a number is NaN or infinite, ``std < 0`` or ``high < low``, or
        a dimension of `shape` is negative.
    TypeError
        If `shape` is not a tuple of integers, a number argument is not a real
        number, or `rng` is not None, an integer or a Generator.

    Notes
    -----
    Xavier (Glorot & Bengio, 2010) and MSRA (He et al., 2015) keep the variance
    of the activations constant from layer to layer:

    .. math::

        \operatorname{Var}[W_{ij}] = \frac{1}{n} \ \text{(xavier)}, \qquad
        \operatorname{Var}[W_{ij}] = \frac{2}{n} \ \text{(msra)}.

    Examples
    --------
    >>> w = fill((2, 3), "xavier", rng=0)
    >>> bool(abs(w).max() <= (3 / 3) ** 0.5)
    True
    >>> fill((2,), "constant", value=0.5)
    array([0.5, 0.5])
    """
    fn = "fill"
    V.check_choice(filler, FILLERS, fn, "filler")
    V.check_choice(variance_norm, _VARIANCE_NORMS, fn, "variance_norm")
    shape = _check_shape(shape, fn)
    std = V.check_real_scalar(std, fn, "std", lo=0.0)
    value = V.check_real_scalar(value, fn, "value")
    low = V.check_real_scalar(low, fn, "low")
    high = V.check_real_scalar(high, fn, "high")
    if filler == "uniform" and not high >= low:
        raise V.argument_error(fn, "high", f">= low = {low!r} for the uniform filler",
                               repr(high))
    rng = as_generator(rng, fn, "rng", allow_none=True)
    size = math.prod(shape)
    if size == 0:  # nothing to draw (a fan of 0 would divide by zero)
        return np.zeros(shape, dtype=np.float64)
    fan_in = size / shape[0] if shape and shape[0] else 1.0
    fan_out = size / shape[1] if len(shape) > 1 and shape[1] else 1.0
    n = {"fan_in": fan_in, "fan_out": fan_out, "average": (fan_in + fan_out) / 2}[variance_norm]
    if filler == "constant":
        return np.full(shape, value, dtype=np.float64)
    if filler == "gaussian":
        return rng.normal(0.0, std, size=shape)
    if filler == "uniform":
        return rng.uniform(low, high, size=shape)
    if filler == "xavier":
        a = math.sqrt(3.0 / n)
        return rng.uniform(-a, a, size=shape)
    return rng.normal(0.0, math.sqrt(2.0 / n), size=shape)  # msra


def _check_shape(shape: Any, fn: str, name: str = "shape") -> tuple[int, ...]:
    """A shape: a sequence of non-negative integers."""
    expected = "a tuple of non-negative integers such as (32, 64)"
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise V.argument_error(fn, name, expected, repr(shape), TypeError)
    for i, d in enumerate(shape):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 0:
            raise V.argument_error(fn, name, expected,
                                   f"{tuple(shape)!r}, which holds {d!r} at index {i}",
                                   TypeError)
    return tuple(int(d) for d in shape)


# --------------------------------------------------------------------------- Layer
class _ParamOwner:
    """What a layer and a net share: helpers over their ``params`` list."""

    params: list

    @property
    def num_params(self) -> int:
        """The number of learnable numbers (sum of the parameters' sizes)."""
        return sum(p.size for p in self.params)

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero."""
        for p in self.params:
            p.zero_grad()

    def to_backend(self):
        """Move every parameter to the current backend; returns ``self``."""
        for p in self.params:
            p.to_backend()
        return self


class _LayerBase(_ParamOwner):
    """What a layer and a loss layer share: a name, a cache, parameters, messages."""

    def __init__(self, *, name: str | None = None):
        self.name = name
        self._cache: Any = None
        self._pass: object | None = None  # the Net.forward that filled the cache, if any
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None

    @property
    def params(self) -> list[Param]:
        """The learnable parameters (empty for layers without any)."""
        return []

    def _label(self) -> str:
        return type(self).__name__ + (f" {self.name!r}" if self.name else "")

    def _require_forward(self, run: str) -> None:
        if self._cache is None:
            raise RuntimeError(f"{self._label()}.backward: called before forward; run {run}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Layer(_LayerBase):
    """Base class of every layer: Caffe's setup / forward / backward lifecycle.

    A subclass implements :meth:`_setup` (shape check, returns the output
    shape), :meth:`_forward` ``(x) -> (y, cache)`` and :meth:`_backward`
    ``(dy, cache) -> dx``; the base class keeps the cache between the two
    passes, so :meth:`predict` (inference, no cache) never disturbs a pending
    backward pass.

    Parameters
    ----------
    name : str, optional
        Used in messages and summaries; :class:`~softmaxlab.net.Net` names
        unnamed layers ``"innerproduct0"``, ``"relu1"``, ...
    """

    def __init__(self, *, name: str | None = None):
        super().__init__(name=name)
        self._top_shape: tuple[int, ...] | None = None
        self._top_dtype: Any = None

    # -- lifecycle ---------------------------------------------------------
    def setup(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """Check `input_shape` and return the output shape (Caffe's LayerSetUp + Reshape)."""
        input_shape = _check_shape(input_shape, f"{self._label()}.setup", "input_shape")
        out = tuple(self._setup(input_shape))
        self.input_shape, self.output_shape = input_shape, out
        return out

    def _input(self, x: Any, method: str, name: str = "x") -> Any:
        """`x` as an array of real numbers (lists are converted); a clear error otherwise."""
        fn = f"{self._label()}.{method}"
        xp, x = V.namespace_and_array(x, fn, name)
        V.check_real_numeric(x, xp, fn, name)
        return x

    def forward(self, x: Any) -> Any:
        """Compute the output and keep what :meth:`backward` needs."""
        self._cache = self._pass = None  # a forward that raises leaves nothing to backward
        x = self._input(x, "forward")
        self.setup(tuple(x.shape))
        y, self._cache = self._forward(x)
        self._top_shape, self._top_dtype = tuple(y.shape), y.dtype
        return y

    def predict(self, x: Any) -> Any:
        """The output of :meth:`forward` without caching anything (inference)."""
        x = self._input(x, "predict")
        self._setup(tuple(int(s) for s in x.shape))
        return self._forward(x)[0]

    __call__ = forward

    def backward(self, dy: Any) -> Any:
        """Return the gradient w.r.t. the input; add parameter gradients into ``Param.grad``."""
        self._require_forward("forward(x) first (predict() keeps nothing for the backward "
                              "pass)")
        dy = self._input(dy, "backward", "dy")
        if tuple(dy.shape) != self._top_shape:
            raise V.argument_error(f"{self._label()}.backward", "dy",
                                   f"the gradient of the output, of the output's shape "
                                   f"{self._top_shape}", f"{tuple(dy.shape)}")
        if dy.dtype != self._top_dtype:  # the gradients keep the forward pass's dtype
            xp = array_namespace(dy, fn=f"{self._label()}.backward")
            with V.quiet(xp):
                cast = xp.astype(dy, self._top_dtype)
            V.check_entries(xp.isfinite(dy) & ~xp.isfinite(cast), dy, xp,
                            f"{self._label()}.backward", "dy", "representable in the forward "
                            f"pass's dtype {V.dtype_name(self._top_dtype)}")
            dy = cast
        return self._backward(dy, self._cache)

    # -- hooks -------------------------------------------------------------
    def _setup(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def _forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward(self, dy, cache):  # pragma: no cover - abstract
        raise NotImplementedError



def _as_dtype(x, xp, dtype):
    """`x` in `dtype` (a new array only when the dtype differs)."""
    return x if x.dtype == dtype else xp.astype(x, dtype)


def _as_float(x, xp, dtype=None):
    """Integer/boolean input -> floating (a new array); floating input unchanged."""
    if xp.isdtype(x.dtype, "real floating"):
        return x
    return xp.astype(x, dtype if dtype is not None else xp.float64)


# --------------------------------------------------------------------------- InnerProduct
class InnerProduct(Layer):
    r"""Fully connected layer (Caffe's ``InnerProduct``): :math:`y = x W^\top + b`.

    Parameters
    ----------
    num_input, num_output : int
        Input features and outputs.  The input is ``(N, num_input)``, or
        ``(N, d1, d2, ...)`` with ``d1 * d2 * ... == num_input`` (flattened from
        axis 1, as Caffe does).
    bias : bool, default True
        Whether there is a bias term.
    filler : {"xavier", "msra", "gaussian", "constant", "uniform"}, default "xavier"
        Weight filler (see :func:`fill`); `std` for ``gaussian``, `value` for
        ``constant``, `variance_norm` for ``xavier``/``msra``.
    bias_filler : str, default "constant"
        Bias filler, with `bias_value` (default 0) or `bias_std`.
    seed : int or numpy.random.Generator, optional
        Seeds :func:`numpy.random.default_rng`; weights are drawn first, then the
        bias.  The same seed gives identical weights on every backend.
    dtype : {"float64", "float32"}, default "float64"
        Parameter dtype.  float64 is the default because the library is for
        teaching and gradient checking; use float32 for speed on a GPU.
    lr_mult, decay_mult : float, default 1.0
        Multipliers of the weight's learning rate and weight decay.
    bias_lr_mult : float, default 1.0
    bias_decay_mult : float, default 0.0
        **The bias is not decayed by default** (Caffe decays every blob unless
        the prototxt says ``decay_mult: 0``, which most Caffe models do for the
        bias).  This makes ``weight_decay = 1 / (n C)`` reproduce scikit-learn's
        ``LogisticRegression`` objective, whose penalty leaves the intercept out.
        Pass ``bias_decay_mult=1.0`` for plain Caffe behaviour.

    Attributes
    ----------
    weight : Param
        Shape ``(num_output, num_input)`` (Caffe's layout).
    bias : Param or None
        Shape ``(num_output,)``.

    Notes
    -----
    The backward pass, with :math:`\delta = \partial L / \partial y`:

    .. math::

        \frac{\partial L}{\partial x} = \delta W, \qquad
        \frac{\partial L}{\partial W} = \delta^\top x, \qquad
        \frac{\partial L}{\partial b} = \sum_n \delta_n.

    Examples
    --------
    >>> import numpy as np
    >>> ip = InnerProduct(3, 2, filler="constant", value=1.0)
    >>> ip
    InnerProduct(3 -> 2, filler='constant')
    >>> ip.forward(np.array([[1.0, 2.0, 3.0]]))
    array([[6., 6.]])
    >>> ip.backward(np.array([[1.0, 0.0]]))
    array([[1., 1., 1.]])
    >>> ip.weight.grad
    array([[1., 2., 3.],
           [0., 0., 0.]])
    """

    def __init__(self, num_input: int, num_output: int, *, bias: bool = True,
                 filler: str = "xavier", std: float = 0.01, value: float = 0.0,
                 variance_norm: str = "fan_in", bias_filler: str = "constant",
                 bias_value: float = 0.0, bias_std: float = 0.01, seed: Any = None,
                 dtype: str = "float64", lr_mult: float = 1.0, decay_mult: float = 1.0,
                 bias_lr_mult: float = 1.0, bias_decay_mult: float = 0.0,
                 name: str | None = None):
        super().__init__(name=name)
        fn = "InnerProduct"
        self.num_input = V.check_int(num_input, fn, "num_input", lo=1)
        self.num_output = V.check_int(num_output, fn, "num_output", lo=1)
        self.dtype = V.float_dtype_name(dtype, fn)
        self.filler = V.check_choice(filler, FILLERS, fn, "filler")
        self.bias_filler = V.check_choice(bias_filler, FILLERS, fn, "bias_filler")
        bias = V.check_bool(bias, fn, "bias")
        # Every filler argument is checked here, under its own name, used or not.
        for arg, v in (("std", std), ("bias_std", bias_std)):
            V.check_real_scalar(v, fn, arg, lo=0.0)
        for arg, v in (("value", value), ("bias_value", bias_value)):
            V.check_real_scalar(v, fn, arg)
        V.check_choice(variance_norm, _VARIANCE_NORMS, fn, "variance_norm")
        rng = as_generator(seed, fn, "seed", allow_none=True)
        w = fill((self.num_output, self.num_input), filler, std=std, value=value,
                 variance_norm=variance_norm, rng=rng)
        self.weight = Param(asarray(w, dtype=self.dtype), name="weight",
                            lr_mult=lr_mult, decay_mult=decay_mult)
        self.bias: Param | None = None
        if bias:
            b = fill((self.num_output,), bias_filler, std=bias_std, value=bias_value, rng=rng)
            self.bias = Param(asarray(b, dtype=self.dtype), name="bias",
                              lr_mult=bias_lr_mult, decay_mult=bias_decay_mult)

    @property
    def params(self) -> list[Param]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def _setup(self, input_shape):
        if len(input_shape) < 2 or math.prod(input_shape[1:]) != self.num_input:
            raise V.argument_error(
                self._label(), "x", f"of shape (N, {self.num_input}) (num_input="
                f"{self.num_input}, e.g. (32, {self.num_input}))", f"{input_shape}")
        return (input_shape[0], self.num_output)

    def _forward(self, x):
        xp = array_namespace(x, self.weight.data, fn=f"{self._label()}.forward")
        # The layer computes in its parameters' dtype, whatever the input's (a float32
        # layer fed float64 data stays float32, its gradients and updates too).
        x2 = _as_dtype(xp.reshape(x, (x.shape[0], self.num_input)), xp, self.weight.data.dtype)
        y = xp.matmul(x2, self.weight.data.T)
        if self.bias is not None:
            y = y + self.bias.data
        return y, (x2, tuple(x.shape))

    def _backward(self, dy, cache):
        x2, xshape = cache
        xp = array_namespace(dy, x2, fn=f"{self._label()}.backward")
        dy = _as_dtype(dy, xp, self.weight.data.dtype)
        self.weight.grad = self.weight.grad + xp.matmul(dy.T, x2)
        if self.bias is not None:
            self.bias.grad = self.bias.grad + xp.sum(dy, axis=0)
        dx = xp.matmul(dy, self.weight.data)
        return xp.reshape(dx, xshape)

    def __repr__(self) -> str:
        extra = "" if self.bias is not None else ", bias=False"
        if self.dtype != "float64":
            extra += f", dtype={self.dtype!r}"
        return f"InnerProduct({self.num_input} -> {self.num_output}, filler={self.filler!r}{extra})"


# --------------------------------------------------------------------------- ReLU
class ReLU(Layer):
    r"""Rectified linear unit (Caffe's ``ReLU``, with its optional leak).

    .. math::

        y = \max(x, 0) + \nu \min(x, 0), \qquad
        \frac{\partial L}{\partial x} = \delta \cdot (\mathbb{1}[x > 0] + \nu\, \mathbb{1}[x \le 0]).

    Parameters
    ----------
    negative_slope : float, default 0.0
        :math:`\nu` (Caffe's ``negative_slope``); 0 is the plain ReLU.

    Examples
    --------
    >>> import numpy as np
    >>> r = ReLU()
    >>> r.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> r.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    """

    def __init__(self, negative_slope: float = 0.0, *, name: str | None = None):
        super().__init__(name=name)
        self.negative_slope = V.check_real_scalar(negative_slope, "ReLU", "negative_slope")

    def _forward(self, x):
        xp = array_namespace(x, fn=f"{self._label()}.forward")
        x = _as_float(x, xp)
        pos = x > 0
        y = xp.where(pos, x, x * self.negative_slope)
        return y, pos

    def _backward(self, dy, pos):
        xp = array_namespace(dy, pos, fn=f"{self._label()}.backward")
        return xp.where(pos, dy, dy * self.negative_slope)

    def __repr__(self) -> str:
        if self.negative_slope:
            return f"ReLU(negative_slope={self.negative_slope:g})"
        return "ReLU()"


# --------------------------------------------------------------------------- Softmax
def _softmax(x, axis):
    return _special_softmax(x, axis=axis)


class Softmax(Layer):
    r"""Softmax over one axis (Caffe's ``Softmax``, for inference), with its backward.

    Parameters
    ----------
    axis : int, default -1
        The class axis.

    Notes
    -----
    The backward pass is the Jacobian-vector product of
    :math:`p = \operatorname{softmax}(x)`:

    .. math::

        \frac{\partial L}{\partial x} = p \odot \Bigl(\delta - \sum_k \delta_k p_k\Bigr).

    Examples
    --------
    >>> import numpy as np
    >>> s = Softmax()
    >>> s.forward(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    >>> s.backward(np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """

    def __init__(self, axis: int = -1, *, name: str | None = None):
        super().__init__(name=name)
        self.axis = V.check_int(axis, "Softmax", "axis")

    def _setup(self, input_shape):
        if not input_shape:
            raise V.argument_error(self._label(), "x", "an array with at least one dimension "
                                   "(the class axis)", "a 0-d array", must="be")
        if not -len(input_shape) <= self.axis < len(input_shape):
            n = len(input_shape)
            raise V.argument_error(
                self._label(), "axis", f"in [{-n}, {n - 1}] for an input with {n} "
                f"dimensions {input_shape}", f"{self.axis}, which is out of range")
        return input_shape

    def _forward(self, x):
        xp = array_namespace(x, fn=f"{self._label()}.forward")
        p = _softmax(_as_float(x, xp), self.axis)
        return p, p

    def _backward(self, dy, p):
        xp = array_namespace(dy, p, fn=f"{self._label()}.backward")
        return p * (dy - xp.sum(dy * p, axis=self.axis, keepdims=True))

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis})"


# --------------------------------------------------------------------------- losses
class NonFiniteScoresError(ValueError):
    """The scores given to a loss layer hold NaN or +inf: the run diverged.

    Raised by :meth:`LossLayer.forward` and :meth:`LossLayer.predict` where the
    loss function refuses the scores; :func:`softmaxlab.training.train` catches
    it by type and stops the run with a ``"diverging"`` diagnosis.  A subclass
    of :class:`ValueError`, which the loss functions raise.
    """


class LossLayer(_LayerBase, abc.ABC):
    r"""Base of the loss layers: ``forward(scores, labels) -> loss``, ``backward() -> dscores``.

    A sibling of :class:`Layer` (both share the parameter, name and message
    helpers), with the loss layer's own contract:

    * :meth:`forward` returns the loss multiplied by ``loss_weight`` (as
      Caffe's ``Layer::Forward`` returns it) and :meth:`backward` the gradient
      of that weighted loss with respect to the scores.  For
      ``reduction="none"`` the loss is one value per position and the gradient
      is that of their sum.
    * :meth:`initial_loss` gives the loss of an untrained network (all scores
      about 0) for :math:`K` classes: the baseline that
      :func:`~softmaxlab.training.train` and :func:`~softmaxlab.diagnostics.diagnose`
      read a loss curve against.

    A subclass implements ``_loss_and_grad(scores, labels) -> (loss, dscores)``
    and ``_initial_loss_per_sample(num_classes) -> float``; both are abstract,
    so a new loss layer cannot be created without saying where its loss starts.
    """

    #: The loss family whose reductions the layer accepts, in the reductions table
    #: (:mod:`softmaxlab._reductions`); "hinge" has the ones every loss has.
    _LOSS_FAMILY = "hinge"

    def __init__(self, *, reduction: str = "mean", loss_weight: float = 1.0, axis: int = 1,
                 name: str | None = None):
        super().__init__(name=name)
        fn = type(self).__name__
        self.reduction = check_reduction(reduction, fn, self._LOSS_FAMILY).name
        # >= 0: a negative weight would make training maximise the loss.
        self.loss_weight = V.check_real_scalar(loss_weight, fn, "loss_weight", lo=0.0)
        self.axis = V.check_int(axis, fn, "axis")

    # -- the contract ------------------------------------------------------
    @abc.abstractmethod
    def _loss_and_grad(self, scores, labels):
        """``(loss, dscores)`` of the unweighted loss (the ``*_with_grad`` functions)."""

    @abc.abstractmethod
    def _initial_loss_per_sample(self, num_classes: int) -> float:
        """The unweighted loss of one sample whose scores are all 0, for K classes."""

    def initial_loss(self, num_classes: int, *, batch_size: int = 1) -> float:
        r"""The loss this layer returns for an untrained network (all scores 0).

        Parameters
        ----------
        num_classes : int
            :math:`K \ge 1`.
        batch_size : int, default 1
            Positions per batch; it multiplies the result for the reductions
            without a divisor (``"sum"``, and ``"none"``, whose values the
            net sums).

        Returns
        -------
        float
            The per-sample starting loss (:math:`\ln K` for
            :class:`SoftmaxWithLoss`, :math:`(K - 1)\Delta^p` for
            :class:`HingeLoss`) times ``|loss_weight|``.

        Examples
        --------
        >>> round(SoftmaxWithLoss().initial_loss(10), 6)
        2.302585
        >>> HingeLoss(margin=2.0, p=2, loss_weight=0.5).initial_loss(3)
        4.0
        >>> SoftmaxWithLoss(reduction="sum").initial_loss(2, batch_size=4) == 4 * math.log(2)
        True
        """
        fn = f"{self._label()}.initial_loss"
        k = V.check_int(num_classes, fn, "num_classes", lo=1)
        n = V.check_int(batch_size, fn, "batch_size", lo=1)
        per = float(self._initial_loss_per_sample(k))
        if not reduction_entry(self.reduction).needs_positions:  # "sum", "none": no divisor
            per *= n
        return abs(self.loss_weight) * per

    # -- passes ------------------------------------------------------------
    def forward(self, scores: Any, labels: Any) -> Any:
        """Return the loss (times ``loss_weight``) and keep its gradient for :meth:`backward`."""
        self._cache = self._pass = None  # a forward that raises leaves nothing to backward
        scores = self._scores(scores, labels, "forward")
        self.input_shape = self.output_shape = tuple(scores.shape)
        loss, grad = self._evaluate(scores, labels, "forward")
        self._cache = (grad, scores)
        return loss * self.loss_weight if self.loss_weight != 1.0 else loss

    __call__ = forward

    def predict(self, scores: Any, labels: Any) -> Any:
        """The loss without caching anything."""
        scores = self._scores(scores, labels, "predict")
        loss, _ = self._evaluate(scores, labels, "predict")
        return loss * self.loss_weight if self.loss_weight != 1.0 else loss

    def backward(self, dloss: Any = 1.0) -> Any:
        """Gradient of the weighted loss w.r.t. the scores, times `dloss` (default 1)."""
        self._require_forward("forward(scores, labels) first")
        grad = self._cache[0]
        fn = f"{self._label()}.backward"
        if isinstance(dloss, numbers.Real) and not isinstance(dloss, (bool, np.bool_)):
            scale = self.loss_weight * V.check_real_scalar(dloss, fn, "dloss")
            return grad * scale if scale != 1.0 else grad
        if getattr(dloss, "ndim", None) == 0 and hasattr(dloss, "dtype"):
            xp = array_namespace(dloss, grad, fn=fn)
            V.check_float(dloss, xp, fn, "dloss")
            if not V.any_true(xp.isfinite(dloss), xp):
                raise V.argument_error(fn, "dloss", "finite", repr(float(dloss)))
            if dloss.dtype != grad.dtype:  # the gradient keeps the scores' dtype
                dloss = xp.astype(dloss, grad.dtype)
            return grad * (dloss * self.loss_weight)
        shape = getattr(dloss, "shape", None)
        raise V.argument_error(
            fn, "dloss", "a real number or a 0-d floating array (the gradient of the final "
            "loss with respect to this scalar loss)",
            type(dloss).__name__ + (f" of shape {tuple(shape)}" if shape is not None
                                    else f" {dloss!r}"), TypeError)

    def _scores(self, scores: Any, labels: Any, method: str) -> Any:
        fn = f"{self._label()}.{method}"
        return V.namespace_and_array(scores, fn, "scores", labels)[1]

    def _evaluate(self, scores, labels, method: str):
        """`_loss_and_grad`, with a refusal of NaN/+inf scores raised as NonFiniteScoresError."""
        try:
            return self._loss_and_grad(scores, labels)
        except NonFiniteScoresError:
            raise
        except (ValueError, TypeError) as exc:
            xp = array_namespace(scores, fn=f"{self._label()}.{method}")
            bad = (xp.isnan(scores) | (scores == math.inf)
                   if V.dtype_kind(scores.dtype, xp) == "floating" and type(exc) is ValueError
                   else None)
            if bad is None or not V.any_true(bad, xp):
                if type(exc) not in (ValueError, TypeError):
                    raise
                # The loss function's message, said by the layer the user called.
                raise type(exc)(f"{self._label()}.{method}: " + str(exc).replace(
                    "argument 'target'", "argument 'target' (the labels)")) from exc
            idx = V.first_true_index(bad, tuple(scores.shape))
            raise NonFiniteScoresError(
                f"{self._label()}.{method}: the scores hold "
                f"{float(to_numpy(scores[idx]))!r} at index {V.fmt_index(idx)} (the network "
                f"diverged, or its input holds NaN/inf): {exc}") from exc


class SoftmaxWithLoss(LossLayer):
    r"""Softmax followed by the cross-entropy loss (Caffe's ``SoftmaxWithLoss``).

    Uses :func:`softmaxlab.losses.cross_entropy_with_grad`, which fuses the
    softmax and the logarithm (stable for any logits) and returns the closed
    form gradient :math:`(p - t) \cdot w / \text{normaliser}`.

    Parameters
    ----------
    ignore_index : int, optional
        Label whose positions contribute neither loss nor gradient (Caffe's
        ``ignore_label``).
    reduction : {"mean", "sum", "full", "batch_size", "none"}, optional
        ``mean`` (the default) divides by the (weighted) number of non-ignored
        positions (Caffe ``VALID``), ``full`` by all positions, ``batch_size``
        by N, ``sum`` by nothing.
    normalization : {"VALID", "FULL", "BATCH_SIZE", "NONE"}, optional
        Caffe's name for the same choice; maps to mean / full / batch_size / sum.
        Give either this or `reduction`, not two different ones.
    loss_weight : float, default 1.0
        Multiplies the loss and its gradient (Caffe's ``loss_weight``); >= 0.
    label_smoothing : float, default 0.0
        Mixes the one-hot target with the uniform distribution.
    weight : array, optional
        Per-class weights (as in PyTorch's ``CrossEntropyLoss``).
    axis : int, default 1
        The class axis of the scores.
    validate : bool, default True
        Check the labels (range, shape) on every forward pass; ``False`` skips
        the check (on a GPU it avoids a device-to-host synchronisation).

    Attributes
    ----------
    probabilities : array
        After :meth:`forward`, the softmax of the scores (Caffe's second top);
        computed on first access.

    Examples
    --------
    >>> import numpy as np
    >>> loss = SoftmaxWithLoss()
    >>> float(loss.forward(np.zeros((2, 4)), np.array([0, 3])))  # log 4
    1.3862943611198906
    >>> loss.backward()
    array([[-0.375,  0.125,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]])
    >>> loss.probabilities[0]
    array([0.25, 0.25, 0.25, 0.25])
    """

    _LOSS_FAMILY = "ce"

    def __init__(self, *, ignore_index: int | None = None, reduction: str | None = None,
                 normalization: str | None = None, loss_weight: float = 1.0,
                 label_smoothing: float = 0.0, weight: Any = None, axis: int = 1,
                 validate: bool = True, name: str | None = None):
        fn = "SoftmaxWithLoss"
        if normalization is not None:
            meant = reduction_for_caffe(normalization, fn)
            if reduction is not None and reduction != meant:
                raise V.argument_error(
                    fn, "reduction", f"{meant!r} or left out, since "
                    f"normalization={normalization!r} means reduction={meant!r}",
                    f"{reduction!r} (pass only one of them)")
            reduction = meant
        elif reduction is None:
            reduction = "mean"
        super().__init__(reduction=reduction, loss_weight=loss_weight, axis=axis, name=name)
        ls = V.check_real_scalar(label_smoothing, fn, "label_smoothing", lo=0.0, hi=1.0)
        if ignore_index is not None:
            ignore_index = V.check_int(ignore_index, fn, "ignore_index")
        self.ignore_index, self.label_smoothing, self.weight = ignore_index, ls, weight
        self.validate = V.check_bool(validate, "SoftmaxWithLoss", "validate")
        self._probabilities = None

    def _initial_loss_per_sample(self, num_classes: int) -> float:
        return math.log(num_classes)  # the uniform guess, whatever the smoothing and weights

    def _loss_and_grad(self, scores, labels):
        self._probabilities = None
        return cross_entropy_with_grad(
            scores, labels, axis=self.axis, weight=self.weight, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, reduction=self.reduction,
            validate=self.validate,
        )

    def forward(self, scores: Any, labels: Any, *, return_probabilities: bool = False) -> Any:
        """Loss (times ``loss_weight``); with ``return_probabilities=True`` also the softmax."""
        flag = V.check_bool(return_probabilities, f"{self._label()}.forward",
                            "return_probabilities")
        loss = super().forward(scores, labels)
        if flag:
            return loss, self.probabilities
        return loss

    __call__ = forward

    @property
    def probabilities(self):
        if self._cache is None:
            raise RuntimeError("SoftmaxWithLoss.probabilities: run forward(scores, labels) first")
        if self._probabilities is None:
            self._probabilities = _softmax(self._cache[1], self.axis)
        return self._probabilities

    def __repr__(self) -> str:
        parts = [f"reduction={self.reduction!r}"]
        if self.ignore_index is not None:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing:g}")
        if self.weight is not None:
            parts.append("weight=<array>")
        if self.loss_weight != 1.0:
            parts.append(f"loss_weight={self.loss_weight:g}")
        return f"SoftmaxWithLoss({', '.join(parts)})"


class HingeLoss(LossLayer):
    r"""Multiclass SVM (Weston-Watkins) hinge loss, as in CS231n.

    .. math::

        L_n = \sum_{j \ne y_n} \max(0,\ s_{nj} - s_{n y_n} + \Delta)^p

    Uses :func:`softmaxlab.losses.multiclass_hinge_with_grad`.  (Caffe's own
    ``HingeLoss`` layer is the one-vs-all variant; this is the multiclass one.)

    Parameters
    ----------
    margin : float, default 1.0
        :math:`\Delta`, any finite number (see :func:`~softmaxlab.losses.multiclass_hinge`).
    p : {1, 2}, default 1
        1 is the hinge, 2 the squared hinge.
    reduction : {"mean", "sum", "none"}, default "mean"
    loss_weight : float, default 1.0
    axis : int, default 1
    validate : bool, default True
        Check the labels on every forward pass (see :class:`SoftmaxWithLoss`).

    Examples
    --------
    >>> import numpy as np
    >>> h = HingeLoss()
    >>> float(h.forward(np.array([[3.2, 5.1, -1.7]]), np.array([0])))  # CS231n's cat
    2.9
    """

    def __init__(self, *, margin: float = 1.0, p: int = 1, reduction: str = "mean",
                 loss_weight: float = 1.0, axis: int = 1, validate: bool = True,
                 name: str | None = None):
        super().__init__(reduction=reduction, loss_weight=loss_weight, axis=axis, name=name)
        self.validate = V.check_bool(validate, "HingeLoss", "validate")
        if isinstance(p, (bool, np.bool_)) or p not in (1, 2):
            raise V.argument_error("HingeLoss", "p", "1 (the hinge) or 2 (the squared hinge)",
                                   repr(p))
        self.margin = V.check_real_scalar(margin, "HingeLoss", "margin")
        self.p = int(p)

    def _initial_loss_per_sample(self, num_classes: int) -> float:
        # All scores 0: each of the K - 1 wrong classes violates the margin by margin
        # (a margin <= 0 is met by equal scores: no violation).
        return (num_classes - 1) * max(self.margin, 0.0) ** self.p

    def _loss_and_grad(self, scores, labels):
        return multiclass_hinge_with_grad(
            scores, labels, axis=self.axis, margin=self.margin, p=self.p, reduction=self.reduction,
            validate=self.validate,
        )

    def __repr__(self) -> str:
        s = f"HingeLoss(margin={self.margin:g}, p={self.p}, reduction={self.reduction!r}"
        if self.loss_weight != 1.0:
            s += f", loss_weight={self.loss_weight:g}"
        return s + ")"
