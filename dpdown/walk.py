"""The footprint walker: one parallel loop nest that every pooling method shares.

A method supplies a *rule*, three small functions compiled into the walker:

* ``acc_width(n)`` — how many accumulators an output pixel needs, for ``n`` channels;
* ``accumulate(acc, j, px, n, ref, i, cov, params)`` — fold one input pixel ``px`` (its
  ``n`` working values) with coverage ``cov`` into the accumulators ``acc[j]`` of output
  pixel ``(i, j)``, given its reference values ``ref[i, j]`` (a guidance image, or nothing).
  It indexes ``acc`` and ``ref`` directly: slicing out views per input pixel costs 2×;
* ``finalize(acc, ref, params, out)`` — write the output pixel's values from ``acc[j]``.

The walker runs the output rows in parallel. For one output row it reads each input row
of the footprint once, left to right, feeding every output pixel of the row in turn, so
the input is read in memory order and each input row is touched by one thread.

Each rule is compiled once per channel layout actually used (1–4 channels, with or without
alpha; any other count shares one generic variant): with the channel count and the alpha
index known at compile time the per-pixel channel loops unroll, which makes the walker
about 1.7× faster. Rules may read the constants ``CHANNELS`` and ``ALPHA`` (the alpha
channel's index, always the last channel, or -1).
"""

from __future__ import annotations

import numpy as np

from .jit import Lazy, inline, jit, prange, specialise


@inline
def load_pixel(img, y, x, scale, alpha, n, px):
    """Working values of pixel (y, x) into ``px``: scaled, colour premultiplied by alpha."""
    for c in range(n):
        px[c] = img[y, x, c] * scale
    if alpha >= 0:
        for c in range(n):
            if c != alpha:
                px[c] *= px[alpha]


@jit(parallel=True)
def _pool(img, scale, rows, cols, ref, params, out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_rows, n_cols = out.shape[0], out.shape[1]
    n = CHANNELS if CHANNELS > 0 else img.shape[2]  # noqa: F821 (bound per variant)
    width = acc_width(n)  # noqa: F821
    for i in prange(n_rows):
        acc = np.zeros((n_cols, width))
        px = np.empty(n)
        for y in range(row_start[i], row_stop[i]):
            wy = row_weight[row_offset[i] + y - row_start[i]]
            for j in range(n_cols):
                first = col_offset[j] - col_start[j]
                for x in range(col_start[j], col_stop[j]):
                    load_pixel(img, y, x, scale, ALPHA, n, px)  # noqa: F821
                    accumulate(acc, j, px, n, ref, i, wy * col_weight[first + x], params)  # noqa: F821
        for j in range(n_cols):
            finalize(acc[j], ref[i, j], params, out[i, j])  # noqa: F821


class PoolingKernel:
    """The walker compiled with one method's rule, one variant per channel layout."""

    def __init__(self, name, acc_width, accumulate, finalize, **bindings):
        self.name = name
        self.rule = dict(acc_width=acc_width, accumulate=accumulate, finalize=finalize)
        self.bindings = bindings
        self._variants = {}

    def variant(self, channels, alpha):
        key = (channels if channels <= 4 else 0, alpha)
        if key not in self._variants:
            constants = dict(self.bindings, CHANNELS=key[0], ALPHA=alpha)
            rule = {name: Lazy(f, bindings=constants, inline="always") for name, f in self.rule.items()}
            tag = f"pool_{self.name}_c{key[0]}" + ("a" if alpha >= 0 else "")
            self._variants[key] = specialise(_pool, tag, CHANNELS=key[0], ALPHA=alpha, **rule)
        return self._variants[key]


def pooling_kernel(name, acc_width, accumulate, finalize, **bindings):
    """The walker for one method's rule (each a plain Python function).

    ``bindings`` set global names inside the rule, e.g. a weight function chosen per
    parameter value, so that the choice is made at compile time, not per pixel.
    """
    return PoolingKernel(name, acc_width, accumulate, finalize, **bindings)


def run(kernel, work, footprint, params=(), ref=None, out_channels=None):
    """Apply ``kernel`` over ``footprint`` to the working image; float64 H'×W'×C' out."""
    n_rows, n_cols = footprint.shape
    out = np.empty((n_rows, n_cols, out_channels or work.channels))
    if ref is None:
        ref = np.empty((n_rows, n_cols, 0))
    kernel.variant(work.channels, work.alpha)(
        work.pixels, work.scale, footprint.rows.as_tuple(), footprint.cols.as_tuple(), ref,
        np.asarray(params, dtype=np.float64), out)
    return out
