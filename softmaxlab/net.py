r"""A sequential network (Caffe's ``Net`` for a chain of layers) ending in a loss layer.

``Net.forward(x, y)`` runs every layer bottom to top and then the loss layer,
returning the loss; ``Net.backward()`` runs from the loss back to the input,
filling every ``Param.grad`` (gradients accumulate: call :meth:`Net.zero_grad`
first, as Caffe's solver calls ``ClearParamDiffs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from . import _validation as V
from ._backend import array_namespace
from .layers import Layer, LossLayer, Param, _check_shape, _ParamOwner, _softmax

__all__ = ["Net"]


class Net(_ParamOwner):
    """A chain of layers followed by an optional loss layer.

    Parameters
    ----------
    layers : sequence of Layer
        Run in order by :meth:`forward` and :meth:`predict`.
    loss : LossLayer, optional
        The loss layer (:class:`~softmaxlab.layers.SoftmaxWithLoss`,
        :class:`~softmaxlab.layers.HingeLoss`).  Without it the net can only
        :meth:`predict`.

    Notes
    -----
    Unnamed layers are named after their type and position (``"innerproduct0"``,
    ``"relu1"``), and their parameters ``"innerproduct0.weight"`` and so on.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxlab.layers import InnerProduct, ReLU, SoftmaxWithLoss
    >>> net = Net([InnerProduct(4, 8, seed=0), ReLU(), InnerProduct(8, 3, seed=1)],
    ...           loss=SoftmaxWithLoss())
    >>> x, y = np.ones((5, 4)), np.array([0, 1, 2, 0, 1])
    >>> loss = net.forward(x, y)
    >>> net.zero_grad(); net.forward(x, y) == loss
    True
    >>> dx = net.backward()
    >>> [p.name for p in net.params]
    ['innerproduct0.weight', 'innerproduct0.bias', 'innerproduct2.weight', 'innerproduct2.bias']
    >>> net.predict(x).shape
    (5, 3)
    """

    def __init__(self, layers: Sequence[Layer], loss: LossLayer | None = None):
        self.layers = _check_layers(layers)
        if loss is not None and not isinstance(loss, LossLayer):
            raise V.argument_error("Net", "loss", "a loss layer (SoftmaxWithLoss, HingeLoss) "
                                   "or None", repr(loss), TypeError)
        self.loss_layer = loss
        self.last_loss: Any = None
        self._pass: object | None = None
        named: set[int] = set()
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}{i}"
            for p in layer.params:
                if id(p) in named:  # a Param shared with an earlier layer keeps its name
                    continue
                named.add(id(p))
                base = p.name.rsplit(".", 1)[-1] if p.name else "param"
                p.name = f"{layer.name}.{base}"
        if loss is not None and loss.name is None:
            loss.name = "loss"

    # -- containers --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    @property
    def params(self) -> list[Param]:
        """Every learnable parameter, in layer order, each once.

        A :class:`~softmaxlab.layers.Param` shared by two layers (tied weights)
        is listed once: both layers add their gradient into its ``grad``, and
        the solver updates it once with the sum.
        """
        seen: set[int] = set()
        out = []
        for p in (p for layer in self.layers for p in layer.params):
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out

    # -- passes ------------------------------------------------------------
    def forward(self, x: Any, y: Any) -> float:
        """Run the layers and the loss layer; return the loss as a Python float.

        The loss as an array (0-d, on the input's device) is kept in
        ``self.last_loss``.
        """
        if self.loss_layer is None:
            raise RuntimeError("Net.forward: this net has no loss layer; use predict(x), "
                               "or build it with Net(layers, loss=SoftmaxWithLoss())")
        token, self._pass = object(), None  # None until the whole pass has run
        h = x
        for layer in self.layers:
            h = layer.forward(h)
            layer._pass = token
        loss = self.loss_layer.forward(h, y)
        self.loss_layer._pass = self._pass = token
        if getattr(loss, "ndim", 0) != 0:  # reduction="none": backward is that of the sum
            loss = array_namespace(loss, fn="Net.forward").sum(loss)
        self.last_loss = loss
        return float(loss)

    __call__ = forward

    def backward(self) -> Any:
        """Back-propagate from the loss to the input; return the gradient w.r.t. the input."""
        if self.loss_layer is None:
            raise RuntimeError("Net.backward: this net has no loss layer")
        if self._pass is None:
            raise RuntimeError("Net.backward: called before forward (or after a forward that "
                               "raised); run net.forward(x, y) first")
        for layer in (*self.layers, self.loss_layer):
            if layer._pass is not self._pass:
                # A layer object shared with another Net (or called directly) holds the
                # cache of that other pass: its gradient would not be this pass's.
                raise RuntimeError(
                    f"Net.backward: layer {layer.name!r} ({type(layer).__name__}) ran another "
                    "forward pass after this net's forward (it is shared with another Net, or "
                    "was called directly); run net.forward(x, y) again before backward")
        d = self.loss_layer.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)
        return d

    def predict(self, x: Any) -> Any:
        """The scores (input of the loss layer), without caching anything for backward."""
        h = x
        for layer in self.layers:
            h = layer.predict(h)
        return h

    def predict_proba(self, x: Any) -> Any:
        """Softmax of the scores over the class axis (the loss layer's, or axis 1)."""
        axis = self.loss_layer.axis if self.loss_layer is not None else 1
        return _softmax(self.predict(x), axis)

    # -- display -----------------------------------------------------------
    def summary(self, input_shape: Sequence[int] | None = None) -> str:
        """A table of the layers, their output shapes (when `input_shape` is given) and parameters.

        Examples
        --------
        >>> from softmaxlab.layers import InnerProduct, ReLU, SoftmaxWithLoss
        >>> net = Net([InnerProduct(64, 10, seed=0), ReLU(), InnerProduct(10, 10, seed=1)],
        ...           loss=SoftmaxWithLoss())
        >>> print(net.summary(input_shape=(32, 64)))
        #  name           layer                                    output    params
        0  innerproduct0  InnerProduct(64 -> 10, filler='xavier')  (32, 10)     650
        1  relu1          ReLU()                                   (32, 10)       0
        2  innerproduct2  InnerProduct(10 -> 10, filler='xavier')  (32, 10)     110
        -  loss           SoftmaxWithLoss(reduction='mean')        ()             0
        total parameters: 760
        """
        rows = []
        shape = None
        if input_shape is not None:
            shape = _check_shape(input_shape, "Net.summary", "input_shape")
        for i, layer in enumerate(self.layers):
            if shape is not None:
                shape = layer.setup(shape)
            rows.append((str(i), layer.name or "", repr(layer),
                         str(shape) if shape is not None else "?", str(layer.num_params)))
        if self.loss_layer is not None:
            rows.append(("-", self.loss_layer.name or "", repr(self.loss_layer),
                         "()" if shape is not None else "?", "0"))
        head = ("#", "name", "layer", "output", "params")
        w = [max(len(r[k]) for r in rows + [head]) for k in range(5)]
        lines = [f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]:<{w[2]}}  "
                 f"{head[3]:<{w[3]}}  {head[4]:>{w[4]}}"]
        for r in rows:
            lines.append(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  "
                         f"{r[3]:<{w[3]}}  {r[4]:>{w[4]}}")
        lines.append(f"total parameters: {self.num_params}")
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        loss = f", loss={self.loss_layer!r}" if self.loss_layer is not None else ""
        return f"Net([\n{inner}\n]{loss})"


def _check_layers(layers: Any) -> list[Layer]:
    """`layers` as a list of distinct (non-loss) Layer objects."""
    if isinstance(layers, (Layer, LossLayer, str)) or not isinstance(layers, Iterable):
        raise V.argument_error(
            "Net", "layers", "a list of layers, e.g. Net([InnerProduct(64, 10)], "
            "loss=SoftmaxWithLoss())", f"{type(layers).__name__} {layers!r}", TypeError)
    layers = list(layers)
    first: dict[int, int] = {}
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise V.argument_error("Net", f"layers[{i}]", "a (non-loss) Layer; pass the loss "
                                   "layer as loss=...", repr(layer), TypeError)
        j = first.setdefault(id(layer), i)
        if j != i:
            # A layer keeps the cache of its last forward pass for its backward pass: a
            # second use would overwrite the first's, and the gradient would be wrong.
            raise V.argument_error(
                "Net", f"layers[{i}]", "a layer object not used before in the list (a layer "
                "keeps what its backward pass needs from one forward pass); create another "
                f"instance, e.g. {type(layer).__name__}(...), and share a Param object to tie "
                "weights", f"the same object as layers[{j}], {layer!r}")
    return layers
