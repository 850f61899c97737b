"""softmaxlab: the loss layer of a neural network, on NumPy or CuPy.

The package reads like the library part of the book's table of contents:

* :mod:`softmaxlab._backend` -- where arrays live (``set_backend``, ``use_backend``, ...)
* :mod:`softmaxlab.special` -- ``logsumexp``, ``softmax``, ``log_softmax``, ``sigmoid``,
  ``log_sigmoid``
* :mod:`softmaxlab.losses` -- ``cross_entropy`` and ``multiclass_hinge`` (+ ``*_with_grad``)
* :mod:`softmaxlab.linear` -- ``linear_cross_entropy``: the loss of a linear layer's scores, in blocks
* :mod:`softmaxlab.layers`, :mod:`softmaxlab.net` -- Caffe-style layers and a sequential ``Net``
* :mod:`softmaxlab.optim`, :mod:`softmaxlab.training` -- ``SGD`` and ``train``
* :mod:`softmaxlab.gradcheck` -- central-difference gradient checks
* :mod:`softmaxlab.diagnostics` -- ``baseline_loss`` (ln K) and ``diagnose``
* :mod:`softmaxlab.sanity` -- ``overfit_batch``, a check before training at scale
* :mod:`softmaxlab.calibration` -- reliability bins, ECE, ``fit_temperature``
* :mod:`softmaxlab.datasets` -- digits, spirals, Gaussian clusters, minibatches
* :mod:`softmaxlab.exercises` -- checkers for the book's exercises
"""

from . import datasets, exercises
from ._backend import (
    BACKENDS,
    array_namespace,
    asarray,
    get_backend,
    set_backend,
    to_numpy,
    use_backend,
)
from .calibration import (
    ReliabilityBins,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from .diagnostics import Diagnosis, baseline_loss, diagnose
from .gradcheck import GradcheckResult, gradcheck
from .layers import (
    HingeLoss,
    InnerProduct,
    Layer,
    LossLayer,
    NonFiniteScoresError,
    Param,
    ReLU,
    Softmax,
    SoftmaxWithLoss,
)
from .linear import (
    LinearCrossEntropyGrad,
    linear_cross_entropy,
    linear_cross_entropy_with_grad,
)
from .losses import (
    REDUCTIONS,
    cross_entropy,
    cross_entropy_with_grad,
    multiclass_hinge,
    multiclass_hinge_with_grad,
)
from .net import Net
from .optim import SGD
from .sanity import OverfitResult, overfit_batch
from .special import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax
from .training import TrainingHistory, train

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "REDUCTIONS",
    "SGD",
    "Diagnosis",
    "GradcheckResult",
    "HingeLoss",
    "InnerProduct",
    "Layer",
    "LinearCrossEntropyGrad",
    "LossLayer",
    "Net",
    "NonFiniteScoresError",
    "OverfitResult",
    "Param",
    "ReLU",
    "ReliabilityBins",
    "Softmax",
    "SoftmaxWithLoss",
    "TrainingHistory",
    "array_namespace",
    "asarray",
    "baseline_loss",
    "cross_entropy",
    "cross_entropy_with_grad",
    "datasets",
    "diagnose",
    "exercises",
    "expected_calibration_error",
    "fit_temperature",
    "get_backend",
    "gradcheck",
    "log_sigmoid",
    "linear_cross_entropy",
    "linear_cross_entropy_with_grad",
    "log_softmax",
    "logsumexp",
    "multiclass_hinge",
    "multiclass_hinge_with_grad",
    "overfit_batch",
    "reliability_bins",
    "set_backend",
    "sigmoid",
    "softmax",
    "to_numpy",
    "train",
    "use_backend",
]
