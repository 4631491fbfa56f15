"""Stacks of images between the layouts callers hold them in and the one the kernels read.

The kernels read a stack as N×H×W×C (frames, each H×W×C, one below the other: a tall
(N·H)×W×C image). A batch of feature maps as PyTorch lays it out, N×C×H×W, is turned into
that layout and the result back: a copy in the array's own dtype, made where the array is
(NumPy on the host; a kernel on the GPU, one thread per pixel of a frame, with no copy
through the host).
"""

from __future__ import annotations

import numpy as np

from .device import on_gpu, stream
from .jit import Lazy

cuda = None  # numba.cuda, bound when a template is compiled for the GPU (jit.Lazy.python_function)

THREADS = (32, 8)  # pixels of a frame per block: 32 columns × 8 rows


def _to_channels_last(src, dst):
    x, y, n = cuda.grid(3)
    if n < dst.shape[0] and y < dst.shape[1] and x < dst.shape[2]:
        for c in range(dst.shape[3]):
            dst[n, y, x, c] = src[n, c, y, x]


def _to_channels_first(src, dst):
    x, y, n = cuda.grid(3)
    if n < src.shape[0] and y < src.shape[1] and x < src.shape[2]:
        for c in range(src.shape[3]):
            dst[n, c, y, x] = src[n, y, x, c]


_KERNELS = {"last": Lazy(_to_channels_last), "first": Lazy(_to_channels_first)}


def channels_last(stack):
    """An N×C×H×W stack as N×H×W×C (C-contiguous), on the stack's device."""
    if not on_gpu(stack):
        return np.ascontiguousarray(np.moveaxis(stack, 1, -1))
    n, c, h, w = stack.shape
    return _launch("last", stack, (n, h, w, c), (n, h, w))


def channels_first(stack):
    """An N×H×W×C stack as N×C×H×W (C-contiguous), on the stack's device."""
    if not on_gpu(stack):
        return np.ascontiguousarray(np.moveaxis(stack, -1, 1))
    n, h, w, c = stack.shape
    return _launch("first", stack, (n, c, h, w), (n, h, w))


def _launch(direction, src, shape, frames):
    from numba import cuda as numba_cuda

    dst = numba_cuda.device_array(shape, src.dtype, stream=stream())
    n, h, w = frames
    blocks = (-(-w // THREADS[0]), -(-h // THREADS[1]), n)
    _KERNELS[direction].compiled("cuda")[blocks, THREADS + (1,), stream()](src, dst)
    return dst
