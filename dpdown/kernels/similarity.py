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
once (:func:`moments`, in float64, kept as float32) and scores every candidate against them
(:func:`ssim_rows`).

A candidate is scored through its difference from the reference, ``d = y − x``, less a
constant ``m`` (per strip of a row, below), whose window sums are small where the two are
close, so they are summed in float32 (eight values a vector instruction, not four):

.. math::

    \\mu_y = \\mu_x + \\mu_e + m,\\quad \\sigma_{xy} = \\sigma_x^2 + c,\\quad
    \\sigma_y^2 = \\sigma_x^2 + 2c + (g * e^2 - \\mu_e^2),\\quad c = g * xe - \\mu_x\\mu_e,
    \\quad e = d - m .

Summing ``y``, ``y²`` and ``xy`` in float32 instead would lose ``σ_y²`` to cancellation
(``g*y² − μ_y²``: two numbers near 0.25, apart by 1e-4); here the cancellation is in terms
the size of ``e``, which ``m`` (a typical ``d`` of the strip) keeps small even where a
candidate is far from the reference (a saturated image). Over the 3360 scores of the
evaluation's two tables the mean SSIM stayed within 2.1e-8 of the float64 sums' wherever PSNR
was 15 dB or more; below (sum pooling, unnormalised power averages: up to 1.1e-6 off) the
caller sums in float64 (:data:`ssim_rows_float64`, the same code; docs/benchmarks.md:
scoring).

Each output row sums its window's rows first (``n`` input rows, every channel of a row as
one vector) and then its columns (multiply-adds fused where the CPU has them): the separable
filter with no full-size intermediate. The window is symmetric, so both passes add taps
``t`` and ``n − 1 − t`` before weighting them (:func:`_pairs`), two such pairs per pass over
a strip of a row: their terms meet in registers and the sums are stored once a pass, not
once a tap. ``border`` skips that many pixels on every side (the super-resolution papers'
"shave") without a copy. A kernel returns one sum per output row (its float64 values added
by halving, :func:`_total`), added up by the caller in a fixed order, so the result does not
depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from .jit import jit, specialise


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


def _pairs(taps):
    """The symmetric window as pairs of taps ``t`` and ``n − 1 − t`` of equal weight, the
    centre as a pair of itself at half its weight (``w·(v + v)/2 = w·v`` exactly), an even
    number of pairs (a pair of weight 0 added if needed): ``(near, far, weight)``."""
    radius = len(taps) // 2
    near = list(range(radius + 1))
    far = [len(taps) - 1 - t for t in near]
    weight = [taps[t] for t in range(radius)] + [taps[radius] / 2]
    if len(near) % 2:
        near, far, weight = near + [radius], far + [radius], weight + [0.0]
    return np.array(near), np.array(far), np.array(weight)


PAIR_NEAR, PAIR_FAR, PAIR_WEIGHTS = _pairs(TAPS)
SUMS = np.float32  # the type of a candidate's window sums (see the module); ssim_rows_float64 binds np.float64


@jit(inline="always")
def _pair_rows(plane, top, p, col, span):
    """Rows ``top`` + the taps of pairs ``p`` and ``p + 1`` (near, far, near, far) of
    ``plane``, values ``col`` … ``col + span − 1``."""
    return (plane[top + PAIR_NEAR[p], col:col + span], plane[top + PAIR_FAR[p], col:col + span],
            plane[top + PAIR_NEAR[p + 1], col:col + span], plane[top + PAIR_FAR[p + 1], col:col + span])


@jit(inline="always")
def _pair_shifts(sums, p, channels, n):
    """``sums`` shifted by the taps of pairs ``p`` and ``p + 1`` (near, far, near, far) of
    ``channels`` values each, ``n`` values long."""
    a0, a1 = PAIR_NEAR[p] * channels, PAIR_FAR[p] * channels
    b0, b1 = PAIR_NEAR[p + 1] * channels, PAIR_FAR[p + 1] * channels
    return sums[a0:a0 + n], sums[a1:a1 + n], sums[b0:b0 + n], sums[b1:b1 + n]


@jit(inline="always")
def _typical_difference(plane_y, plane_x, row, col, span):
    """A typical ``y − x`` of values ``col`` … ``col + span − 1`` of ``row``: the mean of 8
    of them, evenly spaced (any constant is exact; one near the differences keeps the
    candidate's float32 sums small)."""
    step = max(1, span // 8)
    total = np.float32(0.0)
    for q in range(col, col + span, step):
        total += plane_y[row, q] - plane_x[row, q]
    return total / np.float32((span + step - 1) // step)


@jit(inline="always", error_model="numpy", fastmath={"contract"})
def _window_cols(sums, weights, channels, out):
    """``out[q] = Σ_t g[t]·sums[q + t·channels]``: the sums over the window's columns, for
    every channel of every output pixel of a row, two pairs of taps a pass (``weights``: the
    pairs' weights in the sums' precision)."""
    n = out.shape[0]
    out[:] = 0.0
    for p in range(0, weights.shape[0], 2):
        wa, wb = weights[p], weights[p + 1]
        a0, a1, b0, b1 = _pair_shifts(sums, p, channels, n)
        for q in range(n):
            out[q] += wa * (a0[q] + a1[q]) + wb * (b0[q] + b1[q])


@jit(inline="always", error_model="numpy")
def _total(values):
    """``Σ values`` (and ``values`` overwritten): the second half added to the first until one
    value is left. Unlike a running sum, each step is one vectorised pass; the order is fixed
    by the length alone."""
    n = values.shape[0]
    if n == 0:
        return 0.0
    while n > 1:
        if n % 2:
            values[0] += values[n - 1]
        half = n // 2
        low, high = values[:half], values[half:2 * half]
        for q in range(half):
            low[q] += high[q]
        n = half
    return values[0]


@jit(bands=True, fastmath={"contract"})
def moments(lo, hi, x, border, mean, variance):
    """``mean = g*x`` and ``variance = g*x² − mean²`` ((H − 2b − n + 1) × (W − 2b − n + 1) × C,
    computed in float64, stored in the arrays' type) of the H×W×C image ``x`` inside a border
    of ``border`` pixels, in strips of STRIP values as :func:`ssim_rows`."""
    rows, cols, channels = mean.shape
    width = cols * channels
    halo = (TAPS.shape[0] - 1) * channels
    first = border * channels
    plane = x.reshape(x.shape[0], -1)
    sums = np.empty((2, STRIP + halo))
    mu, mu_xx = np.empty(STRIP), np.empty(STRIP)
    for i in range(lo, hi):
        mean_row, variance_row = mean[i].reshape(-1), variance[i].reshape(-1)
        for start in range(0, width, STRIP):
            count = min(STRIP, width - start)
            span = count + halo
            sx, sxx = sums[0, :span], sums[1, :span]
            sx[:] = 0.0
            sxx[:] = 0.0
            for p in range(0, PAIR_WEIGHTS.shape[0], 2):  # two pairs of the window's rows a pass, rows as vectors
                wa, wb = PAIR_WEIGHTS[p], PAIR_WEIGHTS[p + 1]
                xa0, xa1, xb0, xb1 = _pair_rows(plane, border + i, p, first + start, span)
                for q in range(span):
                    a0, a1, b0, b1 = np.float64(xa0[q]), np.float64(xa1[q]), np.float64(xb0[q]), np.float64(xb1[q])
                    sx[q] += wa * (a0 + a1) + wb * (b0 + b1)
                    sxx[q] += wa * (a0 * a0 + a1 * a1) + wb * (b0 * b0 + b1 * b1)
            m, mxx = mu[:count], mu_xx[:count]
            _window_cols(sx, PAIR_WEIGHTS, channels, m)
            _window_cols(sxx, PAIR_WEIGHTS, channels, mxx)
            mean_out, variance_out = mean_row[start:start + count], variance_row[start:start + count]
            for q in range(count):
                mean_out[q] = m[q]
                variance_out[q] = mxx[q] - m[q] * m[q]


@jit(bands=True, fastmath={"contract"})
def ssim_rows(lo, hi, x, y, mean, variance, top, left, border, c1, c2, out):
    """``out[i]``: the sum of SSIM over output row ``i`` and every channel, for the
    reference ``x`` and the candidate ``y``, both H×W×C float32, inside a border of
    ``border`` pixels, through ``e = y − x − m`` summed in ``SUMS`` (see the module). The
    reference's float32 :func:`moments` at output pixel (i, j) are ``mean[top + i, left + j]``
    and ``variance[top + i, left + j]``: those of a larger image whose top-left crop ``x`` is
    serve as well. A row is done in strips of STRIP values, whose window sums stay in the
    core's first-level cache."""
    channels = x.shape[2]
    width = (x.shape[1] - 2 * border - TAPS.shape[0] + 1) * channels
    halo = (TAPS.shape[0] - 1) * channels
    first = border * channels
    plane_x, plane_y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    weights = np.empty(PAIR_WEIGHTS.shape[0], SUMS)
    weights[:] = PAIR_WEIGHTS
    sums = np.empty((3, STRIP + halo), SUMS)
    mus = np.empty((3, STRIP), SUMS)
    ssim = np.empty(STRIP)
    c1, c2, two = SUMS(c1), SUMS(c2), SUMS(2.0)
    for i in range(lo, hi):
        mean_row = mean[top + i].reshape(-1)[left * channels:left * channels + width]
        variance_row = variance[top + i].reshape(-1)[left * channels:left * channels + width]
        total = 0.0
        for start in range(0, width, STRIP):
            count = min(STRIP, width - start)
            span = count + halo
            sd, sdd, sxd = sums[0, :span], sums[1, :span], sums[2, :span]
            sd[:] = 0.0
            sdd[:] = 0.0
            sxd[:] = 0.0
            m = SUMS(_typical_difference(plane_y, plane_x, border + i + TAPS.shape[0] // 2, first + start, span))
            for p in range(0, PAIR_WEIGHTS.shape[0], 2):  # two pairs of the window's rows a pass, rows as vectors
                wa, wb = weights[p], weights[p + 1]
                ya0, ya1, yb0, yb1 = _pair_rows(plane_y, border + i, p, first + start, span)
                xa0, xa1, xb0, xb1 = _pair_rows(plane_x, border + i, p, first + start, span)
                for q in range(span):
                    a0, a1, b0, b1 = SUMS(xa0[q]), SUMS(xa1[q]), SUMS(xb0[q]), SUMS(xb1[q])
                    da0, da1 = SUMS(ya0[q]) - a0 - m, SUMS(ya1[q]) - a1 - m
                    db0, db1 = SUMS(yb0[q]) - b0 - m, SUMS(yb1[q]) - b1 - m
                    sd[q] += wa * (da0 + da1) + wb * (db0 + db1)
                    sdd[q] += wa * (da0 * da0 + da1 * da1) + wb * (db0 * db0 + db1 * db1)
                    sxd[q] += wa * (a0 * da0 + a1 * da1) + wb * (b0 * db0 + b1 * db1)
            ud, udd, uxd = mus[0, :count], mus[1, :count], mus[2, :count]
            _window_cols(sd, weights, channels, ud)
            _window_cols(sdd, weights, channels, udd)
            _window_cols(sxd, weights, channels, uxd)
            ux_row, vx_row = mean_row[start:start + count], variance_row[start:start + count]
            for q in range(count):
                ux, vx, u = SUMS(ux_row[q]), SUMS(vx_row[q]), ud[q]
                uy = ux + (u + m)
                c = uxd[q] - ux * u
                vxy = vx + c
                vy = vxy + c + (udd[q] - u * u)
                ssim[q] = ((two * ux * uy + c1) * (two * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
            total += _total(ssim[:count])
        out[i] = total


# for a candidate far from the reference (see the module)
ssim_rows_float64 = specialise(ssim_rows, "ssim_rows_float64", SUMS=np.float64)


@jit(bands=True)
def squared_error_rows(lo, hi, x, y, border, out):
    """``out[i]``: the sum of ``(x − y)²`` over row ``border + i`` inside the border, every
    channel (float64)."""
    channels = x.shape[2]
    first = border * channels
    width = (x.shape[1] - 2 * border) * channels
    plane_x = x.reshape(x.shape[0], -1)
    plane_y = y.reshape(y.shape[0], -1)
    d = np.empty(width)
    for i in range(lo, hi):
        row_x, row_y = plane_x[border + i, first:first + width], plane_y[border + i, first:first + width]
        for q in range(width):
            d[q] = np.float64(row_x[q]) - np.float64(row_y[q])
            d[q] *= d[q]
        out[i] = _total(d)
