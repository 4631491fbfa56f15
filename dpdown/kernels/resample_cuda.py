"""Separable resampling by tap tables on the GPU: numba.cuda twins of
:mod:`dpdown.kernels.resample`, one thread per output value, the same float64 sums in the
same order. Arrays may live on the GPU already; launches go on the calling thread's stream."""

from __future__ import annotations

import numpy as np
from numba import cuda

from .device import stream
from .jit import Lazy

BLOCK = (128, 2)


def _along_columns(src, index, weight, low, high, out):
    q, i = cuda.grid(2)
    channels = out.shape[2]
    if i >= out.shape[0] or q >= out.shape[1] * channels:
        return
    o, c = q // channels, q % channels
    total = 0.0
    for t in range(index.shape[1]):
        total += np.float64(src[i, index[o, t], c]) * weight[o, t]
    out[i, o, c] = min(max(total, low), high)


def _along_rows(src, index, weight, low, high, out):
    q, o = cuda.grid(2)
    channels = out.shape[2]
    if o >= out.shape[0] or q >= out.shape[1] * channels:
        return
    j, c = q // channels, q % channels
    total = 0.0
    for t in range(index.shape[1]):
        total += np.float64(src[index[o, t], j, c]) * weight[o, t]
    out[o, j, c] = min(max(total, low), high)


along_columns_kernel, along_rows_kernel = Lazy(_along_columns), Lazy(_along_rows)


def apply(kernel, src, index, weight, low, high, shape):
    """``kernel`` over a new float32 device array of ``shape``: the resampled ``src``."""
    out = cuda.device_array(shape, np.float32, stream=stream())
    width = shape[1] * shape[2]
    grid = ((width + BLOCK[0] - 1) // BLOCK[0], (shape[0] + BLOCK[1] - 1) // BLOCK[1])
    index = cuda.to_device(index, stream=stream())
    weight = cuda.to_device(weight, stream=stream())
    kernel.compiled("cuda")[grid, BLOCK, stream()](src, index, weight, low, high, out)
    return out
