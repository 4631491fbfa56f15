"""The footprint walker on the GPU: the numba.cuda twin of :mod:`.footprint`.

The same rules compile into this kernel, as CUDA device functions: a method written for the
CPU walker runs here unchanged. The channel count, alpha index and accumulator width are
compile-time constants (``CHANNELS``, ``ALPHA``, ``ACC_WIDTH``), as CUDA's per-thread arrays
need. A rule's ``accumulate`` indexes its accumulators and reference values by output column
(``acc[j]``, ``ref[i, j]``): a thread hands it its own one-row accumulator array and a
one-pixel view of ``ref``, with ``i = j = 0``. Where the pixel is (``at``) is unchanged, so
position-keyed rules (random numbers, masks) see the same positions as on the CPU.
"""

from __future__ import annotations

from numba import cuda, float64

from ..jit import Lazy
from ..rules import ACC_WIDTH, ALPHA, CHANNELS, accumulate, finalize
from .shared import load_pixel, store
from .window_cuda import HELPERS as WINDOW_HELPERS
from .window_cuda import _footprint


def _pool(img, scale, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
          col_weight, ref, params, lut, top, final, out):
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


def load(img, y, x, scale, px):
    load_pixel(img, y, x, scale, ALPHA, CHANNELS, px)


def visit(img, scale, y, x, a, b, px, w, state):
    acc, here, params = state
    accumulate(acc, 0, px, CHANNELS, here, 0, w, params, (img, scale, y, x, a, b))


TEMPLATE = Lazy(_pool)
HELPERS = (load, visit) + WINDOW_HELPERS  # callees first
