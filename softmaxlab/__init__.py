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

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "array_namespace",
    "asarray",
    "get_backend",
    "set_backend",
    "to_numpy",
    "use_backend",
]
