"""The footprint walker: one loop nest for any rule, run over bands of output rows.

A method supplies a *rule*, three small functions compiled into the walker:

* ``acc_width(n, params)`` — how many accumulators an output pixel needs, for ``n`` channels;
* ``accumulate(acc, j, px, n, ref, i, cov, params, at)`` — fold one input pixel ``px`` (its
  ``n`` working values) with coverage ``cov`` into the accumulators ``acc[j]`` of output
  pixel ``(i, j)``, given its reference values ``ref[i, j]`` (a guidance image, or nothing).
  It indexes ``acc`` and ``ref`` directly: slicing out views per input pixel costs 2×.
  ``at = (img, scale, y, x, dy, dx)`` says where the pixel is, in the image and inside the
  footprint, for the few rules that need it (a position mask, a neighbourhood, a random
  number keyed by position); the others ignore it and the compiler drops it;
* ``finalize(acc, ref, params, out)`` — the output pixel's working values from ``acc[j]``.

The walker runs over a band of output rows (``lo``–``hi``; :mod:`dpdown.kernels.bands`
runs the bands on every thread). For one output row it reads each input row
of the footprint once, left to right, feeding every output pixel of the row in turn, so
the input is read in memory order and each input row is touched by one thread.

Each rule is compiled once per channel layout actually used (1–4 channels, with or without
alpha; any other count shares one generic variant): with the channel count and the alpha
index known at compile time the per-pixel channel loops unroll. Rules may read the
constants ``CHANNELS`` and ``ALPHA`` (the alpha channel's index, always the last, or -1).
Its CUDA twin is :mod:`dpdown.kernels.walkers.footprint_cuda`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..jit import jit
from ..rules import ALPHA, CHANNELS, acc_width, accumulate, finalize
from .shared import Kernel, Plan, block_fields, layout, load_pixel, store


@jit(bands=True)
def _pool(lo, hi, img, flat, scale, rows, cols, ref, params, lut, top, final, out, flat_out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_cols = out.shape[1]
    n = CHANNELS if CHANNELS > 0 else out.shape[2]
    width = acc_width(n, params)
    for i in range(lo, hi):
        acc = np.zeros((n_cols, width))
        px = np.empty(n)
        for y in range(row_start[i], row_stop[i]):
            wy = row_weight[row_offset[i] + y - row_start[i]]
            for j in range(n_cols):
                first = col_offset[j] - col_start[j]
                # every span holds a pixel (footprints.Axis), so the column loop is entered
                # unguarded and LLVM hoists what a rule reads of params out of it (stochastic's
                # seed: docs/benchmarks.md)
                x = col_start[j]
                while True:
                    load_pixel(img, y, x, scale, ALPHA, n, px)
                    at = (img, scale, y, x, y - row_start[i], x - col_start[j])
                    accumulate(acc, j, px, n, ref, i, wy * col_weight[first + x], params, at)
                    x += 1
                    if x >= col_stop[j]:
                        break
        vals = np.empty(n)
        for j in range(n_cols):
            finalize(acc[j], ref[i, j], params, vals)
            store(out, i, j, vals, n, top, final)


TEMPLATE = _pool
HELPERS = ()  # beyond shared.HELPERS


@dataclasses.dataclass(frozen=True)
class FootprintPlan(Plan):
    """The footprint walker's choices: on the CPU, only the shared ones (a variant serves
    every k); on the GPU, where each thread holds its accumulators and a block of pixels in
    fixed-size arrays, also these."""

    acc_width: int | None = None     # ACC_WIDTH: accumulators per thread (the rule's acc_width); CUDA only
    box_rows: int | None = None      # BOX_ROWS, BOX_COLS: the footprint's size compiled in (shared.block_sizes),
    box_cols: int | None = None      #   0: read at run time; CUDA only
    preload_rows: int | None = None  # PRELOAD_ROWS: rows of a block loaded before they are used; CUDA only
    preload_cols: int | None = None  # PRELOAD_COLS: that array's columns, the block's (at least 1); CUDA only


def footprint_plan(kernel, work, target, footprint, params) -> FootprintPlan:
    """What :class:`FootprintKernel` ``kernel`` compiles in to run over ``footprint`` on
    ``work`` on ``target``. Pure."""
    shared = layout(work, target)
    if target != "cuda":
        return FootprintPlan(**shared)
    return FootprintPlan(**shared, acc_width=int(kernel.rule["acc_width"](shared["channels"], params)),
                         **block_fields(footprint, shared))


class FootprintKernel(Kernel):
    """The footprint walker compiled with one method's rule."""

    walker = "footprint"

    def __init__(self, name, acc_width, accumulate, finalize, **bindings):
        super().__init__(name, dict(acc_width=acc_width, accumulate=accumulate, finalize=finalize), bindings)

    def plan(self, work, target, footprint, params, final):
        return footprint_plan(self, work, target, footprint, params)


def pooling_kernel(name, acc_width, accumulate, finalize, **bindings):
    """The footprint walker for one method's rule (each a plain Python function).

    ``bindings`` set global names inside the rule — constants, or plain functions such as a
    weight chosen per parameter value — so that the choice is made at compile time, not
    per pixel.
    """
    return FootprintKernel(name, acc_width, accumulate, finalize, **bindings)
