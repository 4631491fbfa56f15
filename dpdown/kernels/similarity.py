"""SSIM and PSNR on the CPU: fused, parallel over output rows.

SSIM (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004) compares local statistics under a
Gaussian window ``g`` (weights summing to 1, ``n`` taps, separable):

.. math::

    \\mathrm{SSIM}(x, y) = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
                                {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
    \\quad \\mu_x = g * x,\\ \\sigma_x^2 = g * x^2 - \\mu_x^2,\\ \\sigma_{xy} = g * xy - \\mu_x\\mu_y

at every pixel whose window lies inside the image (scikit-image filters the whole image and
then drops a border of ``(n - 1)/2``: the same pixels), averaged over pixels and channels.
The reference image's ``μ_x`` and ``σ_x²`` depend only on it, so an evaluation computes them
once (:func:`moments`) and scores every candidate against them (:func:`ssim_rows`).

Each output row sums its window's rows first (``n`` contiguous input rows, every channel of a
row as one vector) and then its columns, in float64 (multiply-adds fused where the CPU has
them): the separable filter with no full-size intermediate. ``border`` skips that many
pixels on every side (the super-resolution papers'
"shave") without a copy. A kernel returns one sum per output row, added up by the caller in
a fixed order, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from .jit import jit


def gaussian_taps(sigma: float = 1.5, truncate: float = 3.5) -> np.ndarray:
    """The normalised 1-D Gaussian of ``scipy.ndimage.gaussian_filter`` (radius
    ``int(truncate·σ + 0.5)``), which scikit-image's SSIM uses: 11 taps for σ = 1.5."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 / (sigma * sigma) * x * x)
    return taps / taps.sum()


# the protocol's window: a compile-time constant, so that the window loops unroll
TAPS = gaussian_taps()
STRIP = 1024  # values of a row scored together (docs/benchmarks.md: scoring)


@jit(inline="always", error_model="numpy", fastmath={"contract"})
def _window_cols(sums, channels, out):
    """``out[q] = Σ_t g[t]·sums[q + t·channels]``: the sums over the window's columns, for
    every channel of every output pixel of a row."""
    out[:] = 0.0
    for t in range(TAPS.shape[0]):
        w = TAPS[t]
        shifted = sums[t * channels:t * channels + out.shape[0]]
        for q in range(out.shape[0]):
            out[q] += w * shifted[q]


@jit(bands=True, fastmath={"contract"})
def moments(lo, hi, x, border, mean, variance):
    """``mean = g*x`` and ``variance = g*x² − mean²`` (float64, (H − 2b − n + 1) × (W − 2b −
    n + 1) × C) of the H×W×C image ``x`` inside a border of ``border`` pixels."""
    rows, cols, channels = mean.shape
    span = (cols + TAPS.shape[0] - 1) * channels
    width = cols * channels
    first = border * channels
    plane = x.reshape(x.shape[0], -1)
    for i in range(lo, hi):
        sum_x, sum_xx = np.zeros(span), np.zeros(span)
        for t in range(TAPS.shape[0]):  # the window's rows, each as one vector
            w = TAPS[t]
            row = plane[border + i + t, first:first + span]
            for q in range(span):
                v = np.float64(row[q])
                sum_x[q] += w * v
                sum_xx[q] += w * (v * v)
        mu, mu_xx = np.empty(width), np.empty(width)
        _window_cols(sum_x, channels, mu)
        _window_cols(sum_xx, channels, mu_xx)
        mean_row, variance_row = mean[i].reshape(-1), variance[i].reshape(-1)
        for q in range(width):
            mean_row[q] = mu[q]
            variance_row[q] = mu_xx[q] - mu[q] * mu[q]


@jit(bands=True, fastmath={"contract"})
def ssim_rows(lo, hi, x, y, mean, variance, border, c1, c2, out):
    """``out[i]``: the sum of SSIM over output row ``i`` and every channel, for the
    reference ``x`` (whose :func:`moments` are ``mean`` and ``variance``) and the candidate
    ``y``, both H×W×C. A row is done in strips of STRIP values, whose window sums stay in
    the core's first-level cache."""
    rows, cols, channels = mean.shape
    width = cols * channels
    halo = (TAPS.shape[0] - 1) * channels
    first = border * channels
    plane_x, plane_y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    for i in range(lo, hi):
        sum_y, sum_yy, sum_xy = np.empty(STRIP + halo), np.empty(STRIP + halo), np.empty(STRIP + halo)
        mu_y, mu_yy, mu_xy, ssim = np.empty(STRIP), np.empty(STRIP), np.empty(STRIP), np.empty(STRIP)
        mean_row, variance_row = mean[i].reshape(-1), variance[i].reshape(-1)
        total = 0.0
        for start in range(0, width, STRIP):
            count = min(STRIP, width - start)
            span = count + halo
            sy, syy, sxy = sum_y[:span], sum_yy[:span], sum_xy[:span]
            sy[:] = 0.0
            syy[:] = 0.0
            sxy[:] = 0.0
            for t in range(TAPS.shape[0]):  # the window's rows, each as one vector
                w = TAPS[t]
                row_x = plane_x[border + i + t, first + start:first + start + span]
                row_y = plane_y[border + i + t, first + start:first + start + span]
                for q in range(span):
                    v = np.float64(row_y[q])
                    sy[q] += w * v
                    syy[q] += w * (v * v)
                    sxy[q] += w * (v * np.float64(row_x[q]))
            uy, uyy, uxy = mu_y[:count], mu_yy[:count], mu_xy[:count]
            _window_cols(sy, channels, uy)
            _window_cols(syy, channels, uyy)
            _window_cols(sxy, channels, uxy)
            ux_row, vx_row = mean_row[start:start + count], variance_row[start:start + count]
            for q in range(count):
                ux, vx, u = ux_row[q], vx_row[q], uy[q]
                vy = uyy[q] - u * u
                vxy = uxy[q] - ux * u
                ssim[q] = ((2.0 * ux * u + c1) * (2.0 * vxy + c2)) / ((ux * ux + u * u + c1) * (vx + vy + c2))
            total += ssim[:count].sum()
        out[i] = total


@jit(bands=True)
def squared_error_rows(lo, hi, x, y, border, out):
    """``out[i]``: the sum of ``(x − y)²`` over row ``border + i`` inside the border, every
    channel (float64)."""
    channels = x.shape[2]
    first = border * channels
    width = (x.shape[1] - 2 * border) * channels
    plane_x = x.reshape(x.shape[0], -1)
    plane_y = y.reshape(y.shape[0], -1)
    for i in range(lo, hi):
        d = np.empty(width)
        for q in range(width):
            d[q] = np.float64(plane_x[border + i, first + q]) - np.float64(plane_y[border + i, first + q])
            d[q] *= d[q]
        out[i] = d.sum()
