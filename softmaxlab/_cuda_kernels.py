"""Moved to :mod:`softmaxlab.kernels.cuda` (behind the door
:mod:`softmaxlab.kernels`); this name stays until :mod:`softmaxlab.special`
calls :func:`softmaxlab.kernels.softmax_rows` instead."""

from .kernels.cuda import ce_rows_cupy, softmax_lastaxis_cupy  # noqa: F401
