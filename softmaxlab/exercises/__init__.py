r"""Checkers for the book's exercises: run the reader's code on cases that catch mistakes.

Each chapter ends with exercises in which the reader writes a function (a softmax,
a cross-entropy loss, its gradient, ...) and checks it with one call::

    from softmaxlab.exercises import check_softmax
    check_softmax(my_softmax)

A checker calls the reader's function on a fixed series of named cases, each built
to reveal one common mistake: overflow at logits of 1000 or 10000 (``exp``
without subtracting the maximum), underflow to ``log(0) = -inf``, the wrong axis
(non-square inputs *and* a square one, where the shape cannot give it away), a
1-D input, forgetting to divide by the number of examples, the wrong sign of a
gradient, ignored labels, float32 inputs, the wrong shape, NaN or inf, changing
the input array in place, or raising an exception.  For every failed case it
prints the case's name, the expected value, what came back and a hint aimed at
the mistake, found where possible by comparing the answer with known wrong
variants ("your loss is 4 times too large ...").

Every checker returns a :class:`CheckResult`, truthy only when every case passed,
and prints its feedback unless ``verbose=False``.  Each failed case keeps its
input: ``case = result.failed_case`` (the first one), then ``fn(**case.inputs)``
runs the function on it again (see :class:`FailedCase`).  The printed text is
deterministic (numbers rounded to 4 to 6 significant digits, no timings), so
notebooks can show it under nbval.

Inputs
    The reader's function receives NumPy arrays (float64; float32 in the cases
    named "float32"; labels as int64).  With ``backend="cupy"`` (or when the
    current backend, :func:`softmaxlab.get_backend`, is ``"cupy"``) the inputs are
    created with :func:`softmaxlab.asarray` on that backend instead, so a GPU
    version can be checked; ``backend="array_api_strict"`` is accepted too.
    Results may be NumPy, CuPy or array-API arrays, Python numbers or lists.

Tolerances
    A result passes when it has the expected shape and
    ``|got - expected| <= atol + rtol * |expected|`` holds everywhere, with
    ``rtol = 1e-6, atol = 1e-9`` for float64 cases and ``rtol = 1e-4,
    atol = 1e-6`` for float32 cases.  NaN or inf never passes.  The expected
    values come from a float64 reference in this package (``_references``),
    independent of the rest of softmaxlab.  A scalar result may be a Python number, a 0-d array or
    an array with one element.  The result's dtype is not checked.

The package
    ``_framework`` runs a checker (cases, known mistakes, results),
    ``_references`` holds the float64 reference solutions, written apart
    from the library, ``_hints`` the hints that several exercises share,
    ``_inputs`` the inputs that several exercises share, and each exercise
    has a module of its own (``_softmax``, ``_cross_entropy``, ...).  Import the
    checkers from here: ``from softmaxlab.exercises import check_softmax``.

Examples
--------
>>> import numpy as np
>>> from softmaxlab.exercises import check_softmax
>>> def naive_softmax(x):
...     e = np.exp(x)
...     return e / e.sum(axis=-1, keepdims=True)
>>> result = check_softmax(naive_softmax, verbose=False)
>>> bool(result)
False
>>> [case.name for case in result.failed]  # doctest: +NORMALIZE_WHITESPACE
['large logits around 1000', 'very large logits around 10000',
 'large negative logits around -1000', 'rows on very different scales',
 'float32 input with logits up to 100']
"""

from __future__ import annotations

from ._baseline import check_baseline_loss
from ._bigram import check_bigram_loss
from ._crammer_singer import check_crammer_singer_loss
from ._cross_entropy import check_cross_entropy
from ._cross_entropy_grad import check_cross_entropy_grad
from ._framework import TOLERANCES, CheckResult, FailedCase  # noqa: F401 (TOLERANCES: public, not in __all__)
from ._hinge import check_hinge_loss
from ._inner_product_backward import check_inner_product_backward
from ._log_softmax import check_log_softmax
from ._perplexity import check_perplexity
from ._sigmoid import check_sigmoid
from ._softmax import check_softmax
from ._softmax_backward import check_softmax_backward

__all__ = [
    "CheckResult",
    "FailedCase",
    "check_softmax",
    "check_log_softmax",
    "check_cross_entropy",
    "check_cross_entropy_grad",
    "check_hinge_loss",
    "check_sigmoid",
    "check_baseline_loss",
    "check_bigram_loss",
    "check_perplexity",
    "check_inner_product_backward",
    "check_softmax_backward",
    "check_crammer_singer_loss",
]
