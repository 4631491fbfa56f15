"""What the CUDA walkers share: the loops over one output pixel's footprint, and launching.

One thread computes one output pixel; ``x`` in the launch grid is the output column, so the
threads of a warp read neighbouring input pixels of the same rows. Each walker's twin
(:mod:`.footprint_cuda`, :mod:`.separable_cuda`) supplies a ``load`` and a ``visit`` for
one pixel, which these loops call. Every copy, allocation and launch here goes on the
calling thread's stream (:func:`dpdown.kernels.device.stream`). This module imports
numba.cuda; only a run with ``device="cuda"`` imports it.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float64

from ..device import as_device, stream
from ..rules import BOX_COLS, BOX_ROWS, CHANNELS, PRELOAD_COLS, PRELOAD_ROWS, load, visit

BLOCK = (32, 8)  # 32 output columns × 8 output rows per block


def _footprint(img, scale, i, j, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
               col_weight, px, state):
    """Each pixel of output (i, j)'s footprint ``load``-ed into ``px`` and ``visit``-ed with
    its weight (the twin's pair, bound per variant); returns the total weight. Full spans
    of a unit-coverage footprint take :func:`_window` with the block size as constants
    (``BOX_ROWS``, ``BOX_COLS``), where its loops unroll; the rest, with run-time sizes."""
    y0, x0 = row_start[i], col_start[j]
    rows, cols = row_stop[i] - y0, col_stop[j] - x0
    if BOX_ROWS > 0 and rows == BOX_ROWS and cols == BOX_COLS:
        return _window(img, scale, y0, x0, BOX_ROWS, BOX_COLS, True, row_weight, 0, col_weight, 0,
                       px, state)
    return _window(img, scale, y0, x0, rows, cols, False, row_weight, row_offset[i], col_weight, col_offset[j],
                   px, state)


def _window(img, scale, y0, x0, rows, cols, unit, row_weight, first_row, col_weight, first_col, px, state):
    """The ``rows``×``cols`` footprint at (y0, x0); ``unit``: every weight 1, and the sizes
    are the block's. There ``PRELOAD_ROWS`` rows of pixels are loaded before any is visited:
    a rule's branches (the slow path of a correctly rounded root) would otherwise keep each
    pixel's loads behind the last pixel's arithmetic."""
    if unit:
        group = cuda.local.array((PRELOAD_ROWS, PRELOAD_COLS, CHANNELS), float64)
        for a0 in range(0, rows, PRELOAD_ROWS):
            for a in range(PRELOAD_ROWS):
                for b in range(cols):
                    load(img, y0 + a0 + a, x0 + b, scale, group[a, b])
            for a in range(PRELOAD_ROWS):
                for b in range(cols):
                    visit(img, scale, y0 + a0 + a, x0 + b, a0 + a, b, group[a, b], 1.0, state)
        return float(rows * cols)
    total = 0.0
    for a in range(rows):
        wy = row_weight[first_row + a]
        for b in range(cols):
            w = wy * col_weight[first_col + b]
            total += w
            load(img, y0 + a, x0 + b, scale, px)
            visit(img, scale, y0 + a, x0 + b, a, b, px, w, state)
    return total


HELPERS = (_window, _footprint)  # bound after a twin's own load and visit, which they call


def grid(shape):
    """Blocks per grid for one thread per pixel of an output of ``shape`` (rows, cols)."""
    return (-(-shape[1] // BLOCK[0]), -(-shape[0] // BLOCK[1]))


def launch(kernel, shape, *args):
    """Run the lazily compiled CUDA kernel ``kernel`` with one thread per pixel of ``shape``."""
    kernel.compiled("cuda")[grid(shape), BLOCK, stream()](*args)


def device_axes(footprint):
    """The footprint's eight arrays in GPU memory: copied once per footprint (a method's
    passes share it), packed into two transfers, since each small copy has a fixed cost."""
    if "axes" not in footprint.on_gpu:
        arrays = footprint.rows.as_tuple() + footprint.cols.as_tuple()
        ints, floats = [a for a in arrays if a.dtype.kind == "i"], [a for a in arrays if a.dtype.kind == "f"]
        packed = {"i": as_device(np.concatenate(ints)), "f": as_device(np.concatenate(floats))}
        views, ends = [], {"i": 0, "f": 0}
        for a in arrays:
            kind = a.dtype.kind
            views.append(packed[kind][ends[kind]:ends[kind] + len(a)])
            ends[kind] += len(a)
        footprint.on_gpu["axes"] = views
    return footprint.on_gpu["axes"]


def empty_like(array):
    return cuda.device_array_like(array, stream=stream())


def empty(shape, dtype=np.float64):
    return cuda.device_array(shape, dtype, stream=stream())


def run(compiled, work, footprint, params, ref, lut, top, final, dtype):
    """Launch a compiled CUDA variant (:func:`dpdown.kernels.walkers.launch.run`): the working
    pixels are already on the GPU; the result (a device array) stays there for the method's
    next pass or the copy back. Arguments a variant never reads (no parameters, no table, no
    reference) are allocated for their type, never copied: each small copy has a fixed cost."""
    n_rows, n_cols = footprint.shape
    out = empty((n_rows, n_cols, work.out_channels), dtype)
    params = as_device(params) if params.size else empty((1,))
    lut = as_device(lut) if lut.size else empty((1, 1))
    ref = empty((n_rows, n_cols, 0)) if ref is None else as_device(ref)
    compiled[grid((n_rows, n_cols)), BLOCK, stream()](work.device_pixels, work.scale, *device_axes(footprint),
                                                       ref, params, lut, top, final, out)
    return out
