"""The footprint walker: one parallel loop nest that every pooling method shares.

A method supplies a *rule*, three small functions compiled into the walker:

* ``acc_width(C)`` — how many accumulators an output pixel needs;
* ``accumulate(acc, j, px, ref, i, cov, params)`` — fold one input pixel ``px`` (its C
  working values) with coverage ``cov`` into the accumulators ``acc[j]`` of output pixel
  ``(i, j)``, given its reference values ``ref[i, j]`` (a guidance image, or nothing). It
  indexes ``acc`` and ``ref`` directly: slicing out views per input pixel costs 2×;
* ``finalize(acc, ref, params, out)`` — write the output pixel's C values.

The walker runs the output rows in parallel. For one output row it reads each input row
of the footprint once, left to right, feeding every output pixel of the row in turn, so
the input is read in memory order and each input row is touched by one thread.
"""

from __future__ import annotations

import numpy as np

from .jit import inline, jit, prange, specialise


@inline
def load_pixel(img, y, x, scale, alpha, px):
    """Working values of pixel (y, x) into ``px``: scaled, colour premultiplied by alpha."""
    for c in range(img.shape[2]):
        px[c] = img[y, x, c] * scale
    if alpha >= 0:
        a = px[alpha]
        for c in range(img.shape[2]):
            if c != alpha:
                px[c] *= a


@jit(parallel=True)
def _pool(img, scale, alpha, rows, cols, ref, params, out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_rows, n_cols = out.shape[0], out.shape[1]
    width = acc_width(img.shape[2])  # noqa: F821 (bound by specialise)
    for i in prange(n_rows):
        acc = np.zeros((n_cols, width))
        px = np.empty(img.shape[2])
        for y in range(row_start[i], row_stop[i]):
            wy = row_weight[row_offset[i] + y - row_start[i]]
            for j in range(n_cols):
                first = col_offset[j] - col_start[j]
                for x in range(col_start[j], col_stop[j]):
                    load_pixel(img, y, x, scale, alpha, px)
                    accumulate(acc, j, px, ref, i, wy * col_weight[first + x], params)  # noqa: F821
        for j in range(n_cols):
            finalize(acc[j], ref[i, j], params, out[i, j])  # noqa: F821


def pooling_kernel(name, acc_width, accumulate, finalize):
    """The walker compiled with one method's rule (each argument a plain Python function)."""
    return specialise(_pool, f"pool_{name}", acc_width=inline(acc_width),
                      accumulate=inline(accumulate), finalize=inline(finalize))


def run(kernel, work, footprint, params=(), ref=None, out_channels=None):
    """Apply ``kernel`` over ``footprint`` to the working image; float64 H'×W'×C' out."""
    n_rows, n_cols = footprint.shape
    out = np.empty((n_rows, n_cols, out_channels or work.channels))
    if ref is None:
        ref = np.empty((n_rows, n_cols, 0))
    kernel(work.pixels, work.scale, work.alpha, footprint.rows.as_tuple(),
           footprint.cols.as_tuple(), ref, np.asarray(params, dtype=np.float64), out)
    return out
