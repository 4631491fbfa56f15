"""The footprint walkers on the GPU: numba.cuda twins of :mod:`dpdown.kernels.walk`.

The same rules compile into these kernels, as CUDA device functions: a method written for
the CPU walker runs here unchanged. One thread computes one output pixel; ``x`` in the
launch grid is the output column, so the threads of a warp read neighbouring input pixels
of the same rows. The channel count, alpha index and accumulator width are compile-time
constants (``CHANNELS``, ``ALPHA``, ``ACC_WIDTH``), as CUDA's per-thread arrays need.

A rule's ``accumulate`` indexes its accumulators and reference values by output column
(``acc[j]``, ``ref[i, j]``): a thread hands it its own one-row accumulator array and a
one-pixel view of ``ref``, with ``i = j = 0``. Where the pixel is (``at``) is unchanged, so
position-keyed rules (random numbers, masks) see the same positions as on the CPU.

Every copy, allocation and launch here goes on the calling thread's stream
(:func:`dpdown.kernels.device.stream`). This module imports numba.cuda; only a run with
``device="cuda"`` imports it.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float64

from .device import as_device, on_gpu, stream
from .jit import Lazy
from .reductions import TOP
from .rules import (
    ACC_WIDTH,
    ALPHA,
    BOX_COLS,
    BOX_ROWS,
    CHANNELS,
    PRELOAD_COLS,
    PRELOAD_ROWS,
    REDUCE,
    SUMS,
    USE_LUT,
    accumulate,
    finalize,
    finish,
    transform,
    unbound,
)

# bound per variant: the walkers' per-pixel helpers (dpdown.kernels.walk), and a template's
# own pixel loader and visitor (TEMPLATES)
store, load_pixel, _reduce, _insert = (unbound(name) for name in ("store", "load_pixel", "_reduce", "_insert"))
load, visit = unbound("load"), unbound("visit")

BLOCK = (32, 8)  # 32 output columns × 8 output rows per block


def _pool(img, scale, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
          col_weight, ref, params, top, final, out):
    j, i = cuda.grid(2)
    if i >= out.shape[0] or j >= out.shape[1]:
        return
    acc = cuda.local.array((1, ACC_WIDTH), float64)
    for t in range(ACC_WIDTH):
        acc[0, t] = 0.0
    px = cuda.local.array(CHANNELS, float64)
    vals = cuda.local.array(CHANNELS, float64)
    here = ref[i:i + 1, j:j + 1]
    _footprint(img, scale, i, j, row_start, row_stop, row_offset, row_weight, col_start, col_stop,
               col_offset, col_weight, px, (acc, here, params))
    finalize(acc[0], here[0, 0], params, vals)
    store(out, i, j, vals, CHANNELS, top, final)


def _pool_load(img, y, x, scale, px):
    load_pixel(img, y, x, scale, ALPHA, CHANNELS, px)


def _pool_visit(img, scale, y, x, a, b, px, w, state):
    acc, here, params = state
    accumulate(acc, 0, px, CHANNELS, here, 0, w, params, (img, scale, y, x, a, b))


def _separable(img, scale, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
               col_weight, params, lut, top, final, out):
    j, i = cuda.grid(2)
    if i >= out.shape[0] or j >= out.shape[1]:
        return
    px = cuda.local.array(CHANNELS, float64)
    sums = cuda.local.array((CHANNELS, SUMS), float64)
    ranked = cuda.local.array((SUMS, CHANNELS), float64)
    vals = cuda.local.array(CHANNELS, float64)
    total = _footprint(img, scale, i, j, row_start, row_stop, row_offset, row_weight, col_start,
                       col_stop, col_offset, col_weight, px, (params, lut, sums, ranked))
    for c in range(CHANNELS):
        if REDUCE == TOP:
            for s in range(SUMS):
                sums[c, s] = ranked[s, c]
        vals[c] = finish(sums[c], total, params)
    store(out, i, j, vals, CHANNELS, top, final)


def _separable_load(img, y, x, scale, px):
    """Pixel (y, x) into ``px``: its stored values where the terms are looked up in a table
    (``USE_LUT``, integer pixels), else its working values."""
    if USE_LUT:
        for c in range(CHANNELS):
            px[c] = img[y, x, c]
    else:
        load_pixel(img, y, x, scale, ALPHA, CHANNELS, px)


def _separable_visit(img, scale, y, x, a, b, px, w, state):
    """Add the pixel ``px`` (as :func:`_separable_load` gives it), of weight ``w``, to the sums."""
    params, lut, sums, ranked = state
    first = a == 0 and b == 0
    for c in range(CHANNELS):
        if USE_LUT:  # integer pixels: each term looked up, not computed
            for s in range(SUMS):
                sums[c, s] = _reduce(sums[c, s], lut[s, int(px[c])], w, first)
        elif REDUCE == TOP:
            _insert(ranked, c, transform(px[c], 0, params), w, first)
        else:
            for s in range(SUMS):
                sums[c, s] = _reduce(sums[c, s], transform(px[c], s, params), w, first)


def _footprint(img, scale, i, j, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
               col_weight, px, state):
    """Each pixel of output (i, j)'s footprint ``load``-ed into ``px`` and ``visit``-ed with
    its weight (the template's pair, bound per variant); returns the total weight. Full spans
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


def preload_rows(box_rows, box_cols, channels, values=12):
    """Rows of a block that :func:`_window` loads at once: the most that divide the block
    and hold at most ``values`` values (1 without a block: its array still needs a size)."""
    if not box_rows:
        return 1
    return max(d for d in range(1, box_rows + 1) if box_rows % d == 0 and (d == 1 or d * box_cols * channels <= values))


TEMPLATES = {"pool": Lazy(_pool), "separable": Lazy(_separable)}


def footprint_helpers(template):
    """What a template's variant binds, callees first: its ``load`` and ``visit``, then the
    footprint loops that call them."""
    load, visit = {"pool": (_pool_load, _pool_visit), "separable": (_separable_load, _separable_visit)}[template]
    return [("load", load), ("visit", visit), ("_window", _window), ("_footprint", _footprint)]


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


def run(kernel, work, footprint, params, ref, lut, top, final, dtype):
    """:func:`dpdown.kernels.walk.run` on the GPU: the working pixels are already there; the result
    (a device array) stays there for the method's next pass or the copy back."""
    n_rows, n_cols = footprint.shape
    out = empty((n_rows, n_cols, work.out_channels), dtype)
    axes = device_axes(footprint)
    compiled = kernel.variant(work, target="cuda", params=params, footprint=footprint).compiled("cuda")
    # arguments a variant never reads (no parameters, no table, no reference) are allocated
    # for their type, never copied: each small copy has a fixed cost (docs/benchmarks.md)
    params = as_device(params) if params.size else empty((1,))
    launch = compiled[grid((n_rows, n_cols)), BLOCK, stream()]
    if lut is not None:
        launch(work.device_pixels, work.scale, *axes, params, as_device(lut) if lut.size else empty((1, 1)),
               top, final, out)
    else:
        ref = empty((n_rows, n_cols, 0)) if ref is None else as_device(ref)
        launch(work.device_pixels, work.scale, *axes, ref, params, top, final, out)
    return out

