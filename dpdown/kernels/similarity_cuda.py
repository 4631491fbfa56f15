"""SSIM and PSNR on the GPU: numba.cuda twins of :mod:`dpdown.kernels.similarity`.

One thread computes one value of one output pixel (``x`` in the launch grid runs along the
row, every channel of a pixel side by side, so a warp reads neighbouring values): its
window's sums directly over the 11×11 footprint: the reference's statistics in float64
(:func:`_window_sums`), a candidate's through its difference from the reference in float32,
less the difference at the window's centre (:func:`_difference_sums`; the CPU's ``m``).
Per-pixel values are then summed per row by one block per row in a fixed tree order
(:func:`row_sums`), so the result does not depend on scheduling. Arrays may live on the GPU
already; every launch goes on the calling thread's stream. This module imports numba.cuda;
only ``device="cuda"`` imports it.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float64

from .device import stream, to_host
from .jit import Lazy, inline
from .similarity import TAPS

BLOCK = (128, 2)
SUM_THREADS = 256
WEIGHTS32 = np.outer(TAPS, TAPS).astype(np.float32)  # the 2-D window, for a candidate's float32 sums


@inline
def _window_sums(x, top, left, c):
    """``(g*x, g*x²)`` over the 11×11 window at (top, left), channel ``c``, in float64."""
    a = 0.0
    b = 0.0
    for t in range(TAPS.shape[0]):
        for s in range(TAPS.shape[0]):
            w = TAPS[t] * TAPS[s]
            v = np.float64(x[top + t, left + s, c])
            a += w * v
            b += w * (v * v)
    return a, b


@inline
def _difference_sums(x, y, top, left, c, m):
    """``(g*e, g*e², g*x·e)`` of ``e = y − x − m`` over the 11×11 window at (top, left),
    channel ``c``, in float32."""
    a = np.float32(0.0)
    b = np.float32(0.0)
    ab = np.float32(0.0)
    for t in range(TAPS.shape[0]):
        for s in range(TAPS.shape[0]):
            w = WEIGHTS32[t, s]
            v = x[top + t, left + s, c]
            e = y[top + t, left + s, c] - v - m
            a += w * e
            b += w * (e * e)
            ab += w * (v * e)
    return a, b, ab


def _moments(x, border, mean, variance):
    q, i = cuda.grid(2)
    rows, cols, channels = mean.shape
    if i >= rows or q >= cols * channels:
        return
    j, c = q // channels, q % channels
    mu, mu_xx = _window_sums(x, border + i, border + j, c)
    mean[i, j, c] = mu
    variance[i, j, c] = mu_xx - mu * mu


def _ssim(x, y, mean, variance, top, left, border, c1, c2, values):
    q, i = cuda.grid(2)
    rows, width = values.shape
    if i >= rows or q >= width:
        return
    channels = x.shape[2]
    j, c = q // channels, q % channels
    centre = TAPS.shape[0] // 2
    m = y[border + i + centre, border + j + centre, c] - x[border + i + centre, border + j + centre, c]
    ud, udd, uxd = _difference_sums(x, y, border + i, border + j, c, m)
    ux = mean[top + i, left + j, c]
    vx = variance[top + i, left + j, c]
    uy = ux + (ud + m)
    cov = uxd - ux * ud
    vxy = vx + cov
    vy = vxy + cov + (udd - ud * ud)
    two, k1, k2 = np.float32(2.0), np.float32(c1), np.float32(c2)
    values[i, q] = ((two * ux * uy + k1) * (two * vxy + k2)) / ((ux * ux + uy * uy + k1) * (vx + vy + k2))


def _squared_error(x, y, border, values):
    q, i = cuda.grid(2)
    rows, width = values.shape
    if i >= rows or q >= width:
        return
    channels = x.shape[2]
    j, c = q // channels, q % channels
    d = np.float64(x[border + i, border + j, c]) - np.float64(y[border + i, border + j, c])
    values[i, q] = d * d


def _row_sums(values, out):
    i = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    partial = cuda.shared.array(SUM_THREADS, float64)
    total = 0.0
    for q in range(tid, values.shape[1], SUM_THREADS):
        total += values[i, q]
    partial[tid] = total
    cuda.syncthreads()
    half = SUM_THREADS // 2
    while half > 0:
        if tid < half:
            partial[tid] += partial[tid + half]
        cuda.syncthreads()
        half //= 2
    if tid == 0:
        out[i] = partial[0]


moments_kernel, ssim_kernel = Lazy(_moments), Lazy(_ssim)
squared_error_kernel, row_sums_kernel = Lazy(_squared_error), Lazy(_row_sums)


def _launch(kernel, rows, width, *args):
    grid = ((width + BLOCK[0] - 1) // BLOCK[0], (rows + BLOCK[1] - 1) // BLOCK[1])
    kernel.compiled("cuda")[grid, BLOCK, stream()](*args)


def row_sums(values) -> np.ndarray:
    """The sums of the rows of a 2-D device array, on the host."""
    out = cuda.device_array(values.shape[0], np.float64, stream=stream())
    row_sums_kernel.compiled("cuda")[values.shape[0], SUM_THREADS, stream()](values, out)
    return to_host(out)


def moments(x, border, shape):
    """:func:`dpdown.kernels.similarity.moments` of the device image ``x``: float32 device arrays."""
    mean = cuda.device_array(shape, np.float32, stream=stream())
    variance = cuda.device_array(shape, np.float32, stream=stream())
    _launch(moments_kernel, shape[0], shape[1] * shape[2], x, border, mean, variance)
    return mean, variance


def ssim_rows(x, y, mean, variance, top, left, border, c1, c2) -> np.ndarray:
    """:func:`dpdown.kernels.similarity.ssim_rows` on the GPU: the per-row sums, on the host."""
    window = TAPS.shape[0]
    rows, width = x.shape[0] - 2 * border - window + 1, (x.shape[1] - 2 * border - window + 1) * x.shape[2]
    values = cuda.device_array((rows, width), np.float64, stream=stream())
    _launch(ssim_kernel, rows, width, x, y, mean, variance, top, left, border, c1, c2, values)
    return row_sums(values)


def squared_error_rows(x, y, border) -> np.ndarray:
    """:func:`dpdown.kernels.similarity.squared_error_rows` on the GPU, on the host."""
    rows, width = x.shape[0] - 2 * border, (x.shape[1] - 2 * border) * x.shape[2]
    values = cuda.device_array((rows, width), np.float64, stream=stream())
    _launch(squared_error_kernel, rows, width, x, y, border, values)
    return row_sums(values)
