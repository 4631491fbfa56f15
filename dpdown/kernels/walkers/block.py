"""The block walker: where the footprints tile the image in blocks, an output value straight
from its block's values.

Where the footprints tile the image in blocks (windows with stride = k, coverage at an
integer ratio: ``Axis.block`` on both axes) and pixels are plain, a weighted mean whose
weights depend on the value and on one guide value per block (Lite-DPP; SoftPool, guide-
less) computes each output value straight from its block's values, with no row buffers and
no intermediate image. Its *block rule* is ``guide(flat, y0, x0, rows, cols, n, c, scale,
params)`` — ``flat`` holds one image row per row — and ``weight(stored, v, g, params)``, of
the stored value and its working value ``v``; the sums go column by column, in the
separable walker's order, so both give the same numbers. The block size is compiled in
(``BOX_ROWS``, ``BOX_COLS``), so LLVM unrolls the block and vectorises across output
pixels, reading a row of blocks as one interleaved group of ``block columns × channels``
values. It does so for groups of up to ``INTERLEAVED_GROUP`` values and reads larger ones
value by value, slower than the separable walker (docs/benchmarks.md), so :func:`tiling`
leaves those to the walkers.
Blocks cut short by the image's edge take the same rule with their size read at run time.
``INTEGER`` says the stored values decode linearly and are unsigned: a rule may sum them
as integers (``SUM_TYPE``), exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import colour
from ..jit import inline, jit
from ..rules import BOX_COLS, BOX_ROWS, CHANNELS, decode, guide, weight
from . import shared
from .shared import Kernel, Plan, encode, layout

INTERLEAVED_GROUP = 8


def _no_guide(flat, y0, x0, rows, cols, n, c, scale, params):
    return 0.0


@inline
def _block_mean(flat, y0, x0, rows, cols, n, c, scale, params):
    """``Σ w·v / Σ w`` over channel ``c`` of the ``rows × cols`` block at ``(y0, x0)``."""
    g = guide(flat, y0, x0, rows, cols, n, c, scale, params)
    num = den = 0.0
    for b in range(cols):
        column_num = column_den = 0.0
        for a in range(rows):
            stored = flat[y0 + a, (x0 + b) * n + c]
            v = decode(stored, scale)
            w = weight(stored, v, g, params)
            column_num += w * v
            column_den += w
        num += column_num
        den += column_den
    return num / den


@jit(bands=True)
def _blocks_pass(lo, hi, img, flat, scale, rows, cols, ref, params, lut, top, final, out, flat_out):
    n = CHANNELS if CHANNELS > 0 else img.shape[2]
    n_cols = out.shape[1]
    height, width = img.shape[0], img.shape[1]
    for i in range(lo, hi):
        y0 = i * BOX_ROWS
        block_rows = min(BOX_ROWS, height - y0)
        whole = 0  # output pixels of this row whose block the image's edge does not cut
        if block_rows == BOX_ROWS:
            whole = n_cols if n_cols * BOX_COLS <= width else n_cols - 1
        row = flat_out[i]  # a row of a 2-d array: into a reshaped row, LLVM vectorises no table lookup
        for j in range(whole):
            for c in range(n):
                value = _block_mean(flat, y0, j * BOX_COLS, BOX_ROWS, BOX_COLS, n, c, scale, params)
                row[j * n + c] = encode(value, c, top, final)
        for j in range(whole, n_cols):
            x0 = j * BOX_COLS
            for c in range(n):
                value = _block_mean(flat, y0, x0, block_rows, min(BOX_COLS, width - x0), n, c, scale, params)  # noqa
                row[j * n + c] = encode(value, c, top, final)


TEMPLATE = _blocks_pass
HELPERS = (_block_mean,)


@dataclasses.dataclass(frozen=True)
class BlockPlan(Plan):
    """The block walker's choices (CPU only), beside the shared ones."""

    box_rows: int = 0          # BOX_ROWS, BOX_COLS: the block's size, compiled in (tiling)
    box_cols: int = 0
    integer: bool = False      # INTEGER: the stored values are unsigned and decode linearly
    sum_type: type = np.float64  # SUM_TYPE: what a rule sums them in: int64 where INTEGER, exactly


def block_plan(work, footprint) -> BlockPlan:
    """What a :class:`BlockKernel` compiles in to run over ``footprint`` (which
    :func:`tiling` allows) on ``work``. Pure."""
    box_rows, box_cols = tiling(work, footprint)
    integer = work.pixels.dtype.kind == "u" and colour.transfer(work)[0] == colour.NONE
    return BlockPlan(**layout(work, "cpu"), box_rows=box_rows, box_cols=box_cols, integer=integer,
                     sum_type=np.int64 if integer else np.float64)


class BlockKernel(Kernel):
    """The block pass compiled with one method's block rule: one variant per channel layout,
    transfer and block size."""

    walker = "block"
    targets = ("cpu",)

    def __init__(self, name, guide, weight, **bindings):
        super().__init__(name, dict(guide=guide or _no_guide, weight=weight), bindings)

    def plan(self, work, target, footprint, params, final):
        assert target == "cpu"
        return block_plan(work, footprint)


def tiling(work, footprint):
    """``(rows, cols)`` of the blocks the footprints tile the image in, where a block rule
    applies: plain pixels on the CPU, both sizes in COMPILED_BLOCKS, a block's row of at most
    INTERLEAVED_GROUP values; else None."""
    blocks = footprint.rows.block, footprint.cols.block
    plain = work.device == "cpu" and work.alpha < 0 and not work.channel_pool[0]
    fits = set(blocks) <= shared.COMPILED_BLOCKS and blocks[1] * work.channels <= INTERLEAVED_GROUP
    return blocks if plain and fits else None


def block_kernel(name, guide, weight, **bindings):
    """The block pass for one method's block rule (see above; ``guide`` None: no guide); run
    it with :func:`dpdown.kernels.walkers.launch.run` where :func:`tiling` allows."""
    return BlockKernel(name, guide, weight, **bindings)
