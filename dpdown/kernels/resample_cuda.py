"""Separable resampling by tap tables on the GPU: numba.cuda twins of
:mod:`dpdown.kernels.resample`, one thread per output value, the same float64 sums in the
same order. Arrays may live on the GPU already; launches go on the calling thread's stream."""

from __future__ import annotations

import numpy as np
from numba import cuda

from .device import stream
from .jit import Lazy

BLOCK = (128, 2)


def _resample(src, index, weight, low, high, out, axis):
    q, o = cuda.grid(2)  # o: output row; q: value of that row (column × channel)
    channels = out.shape[2]
    if o >= out.shape[0] or q >= out.shape[1] * channels:
        return
    j, c = q // channels, q % channels
    total = 0.0
    for t in range(index.shape[1]):
        value = src[index[o, t], j, c] if axis == 0 else src[o, index[j, t], c]
        total += np.float64(value) * weight[o if axis == 0 else j, t]
    out[o, j, c] = min(max(total, low), high)


resample_kernel = Lazy(_resample)


def apply(axis, src, index, weight, low, high, shape):
    """``src`` resampled along ``axis`` (0: each column, 1: each row) by its tap table into a new
    float32 device array of ``shape``."""
    out = cuda.device_array(shape, np.float32, stream=stream())
    width = shape[1] * shape[2]
    grid = ((width + BLOCK[0] - 1) // BLOCK[0], (shape[0] + BLOCK[1] - 1) // BLOCK[1])
    index = cuda.to_device(index, stream=stream())
    weight = cuda.to_device(weight, stream=stream())
    resample_kernel.compiled("cuda")[grid, BLOCK, stream()](src, index, weight, low, high, out, axis)
    return out
