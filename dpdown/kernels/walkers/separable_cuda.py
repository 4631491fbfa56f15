"""The separable walker on the GPU: the numba.cuda twin of :mod:`.separable`.

One thread reduces its own footprint's terms per channel (a table lookup on integer
pixels, ``USE_LUT``; a ranked insertion for a TOP rule) and finishes them with the rule's
``finish``, as the CPU walker does from its column sums.
"""

from __future__ import annotations

from numba import cuda, float64

from ..jit import Lazy
from ..reductions import TOP
from ..rules import ALPHA, CHANNELS, REDUCE, SUMS, USE_LUT, finish, transform
from .folds import HELPERS as FOLD_HELPERS
from .folds import _insert, _reduce
from .shared import load_pixel, store
from .window_cuda import HELPERS as WINDOW_HELPERS
from .window_cuda import _footprint


def _separable(img, scale, row_start, row_stop, row_offset, row_weight, col_start, col_stop, col_offset,
               col_weight, ref, params, lut, top, final, out):
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


def load(img, y, x, scale, px):
    """Pixel (y, x) into ``px``: its stored values where the terms are looked up in a table
    (``USE_LUT``, integer pixels), else its working values."""
    if USE_LUT:
        for c in range(CHANNELS):
            px[c] = img[y, x, c]
    else:
        load_pixel(img, y, x, scale, ALPHA, CHANNELS, px)


def visit(img, scale, y, x, a, b, px, w, state):
    """Add the pixel ``px`` (as :func:`load` gives it), of weight ``w``, to the sums."""
    params, lut, sums, ranked = state
    first = a == 0 and b == 0
    for c in range(CHANNELS):
        if USE_LUT:  # integer pixels: each term looked up, not computed
            for s in range(SUMS):
                sums[c, s] = _reduce(sums[c, s], lut[s, int(px[c])], w, first, s)
        elif REDUCE == TOP:
            _insert(ranked, c, transform(px[c], 0, params), w, first)
        else:
            for s in range(SUMS):
                sums[c, s] = _reduce(sums[c, s], transform(px[c], s, params), w, first, s)


TEMPLATE = Lazy(_separable)
HELPERS = FOLD_HELPERS + (load, visit) + WINDOW_HELPERS  # callees first
