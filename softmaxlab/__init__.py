"""softmaxlab: the loss layer of a neural network, on NumPy or CuPy."""

from ._backend import (
    BACKENDS,
    array_namespace,
    asarray,
    get_backend,
    set_backend,
    to_numpy,
    use_backend,
)
from .losses import (
    REDUCTIONS,
    cross_entropy,
    cross_entropy_with_grad,
    multiclass_hinge,
    multiclass_hinge_with_grad,
)
from .special import log_softmax, logsumexp, sigmoid, softmax

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "REDUCTIONS",
    "cross_entropy",
    "cross_entropy_with_grad",
    "multiclass_hinge",
    "multiclass_hinge_with_grad",
    "array_namespace",
    "asarray",
    "get_backend",
    "log_softmax",
    "logsumexp",
    "set_backend",
    "sigmoid",
    "softmax",
    "to_numpy",
    "use_backend",
]
