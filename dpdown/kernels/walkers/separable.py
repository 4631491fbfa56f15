"""The separable walker, for rules whose footprints can be reduced column by column.

Methods whose output is a function of per-channel sums of per-pixel terms (avg, sum, Lp,
power-average, stochastic's expectation) or of a per-channel max/min never need the pixels
of a footprint together: their footprints are separable, so each output row first reduces
its input rows into one row buffer (contiguous, vectorised), then reduces the buffer along
the columns. A separable rule supplies ``transform(v, s, params)`` — the term pixel value
``v`` adds to sum ``s`` of ``SUMS`` — and ``finish(sums, total, params)``, the output from
the sums and the total coverage; ``REDUCE`` is SUM, MAX_OF or MIN_OF, or MAX_AND_SUM (the
first sum a max, the others sums: mixed pooling).

``REDUCE = TOP`` keeps instead the ``TOP_R`` largest (value, coverage) pairs of each
channel — separable too: the r largest of a footprint are among the r largest of each of
its columns. Values rank in descending order, equal values by larger coverage, so that
the result does not depend on the order pixels are visited in. The ``SUMS = 2·TOP_R``
sums handed to ``finish`` are the values, largest first, then their coverages; slots a
small footprint leaves empty have coverage 0.

Ranking needs no arithmetic, so where pixels are plain (no alpha, no channel pooling)
MAX, MIN and — when every coverage is 1 — TOP rank the image's own values (``RAW``):
decoding is monotone, so it commutes with ranking and only the winners are decoded. On
uint8 that is 8–16 values per vector instruction instead of scalar float64 compares.
Likewise a plain sum of an integer image whose every coverage is 1 and whose decoding is
linear adds integers (``INT_SUM``), exactly, and scales the footprint's total once: the
stored values themselves (avg, sum: ``INT_SUM = 1``) or their squares (``2``: Lp and
power-average at p = 2, whose term is ``v²``; a rule says so with ``int_power``).

When that output is the last pass, in the image's own unsigned dtype, a rule that says
how (``exact``: the rounded mean, the clipped sum, the winner) writes each output value
straight from those integers (``EXACT``), rounding half to even as np.rint does — but
exactly, where float64 may land either side of a tie.

Where every column's coverage is 1 no weight is read. Where besides the columns are
tiled in blocks of ``k`` (window stride = k, coverage at an integer ratio:
``Axis.block``), ``k`` is compiled in for the common sizes (``BOX``,
``COMPILED_BLOCKS``): the column loops unroll and LLVM turns the strided reads of
interleaved channels into vector shuffles (docs/benchmarks.md has the gains), and a whole
block's rows are added or ranked as integers (``INT_SUM``, ``RAW``) in one pass. Blocks cut
short by the image's edge take the loop sized at run time; both run the same
``_pixel_values``/``_exact_pixel``. In whole blocks of an image without alpha, the output
values are computed from scalars, not the per-pixel ``sums``/``vals`` arrays, which lets
LLVM vectorise across them: one or two float sums handed to ``finish`` as a tuple
(``SCALAR``), and for a TOP rule with r ≤ 2 and a ``pair`` finish (ordinal's default) the
columns' sorted pairs merged as scalars (``PAIR``).

A *guided* separable rule (``GUIDED``: DPP) has terms that also depend on a guide value
per output pixel and channel, ``guided(v, g, s, params)``. Where no input column belongs
to two footprints (windows with stride ≥ k, coverage at an integer ratio) each column has
one guide value per output row, spread over the row once (``guide``), and the terms are
summed like any separable rule's: one contiguous, vectorised loop per input row.

A rule whose two terms are ``w·v`` and ``w`` (``weighted``: SoftPool, DPP) has ``w`` made
once per value (``WEIGHTED``), looked up or computed: LLVM does not merge the two
computations of it that the terms would each make.

Its CUDA twin is :mod:`dpdown.kernels.walkers.separable_cuda`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import colour
from ..jit import Lazy, inline, jit, specialise
from ..reductions import MAX_OF, MIN_OF, SUM, TOP
from ..rules import (  # the names a variant binds, declared in rules.py
    ALPHA,
    BOX_COLS,
    BOX_ROWS,
    CHANNEL_POOL,
    CHANNELS,
    CONSTANT_WEIGHTS,
    EXACT,
    GUIDED,
    INT_SUM,
    PAIR,
    RAW,
    RAW_SLOTS,
    REDUCE,
    SCALAR,
    SUM_TYPE,
    SUMS,
    TOP_R,
    USE_LUT,
    WEIGHTED,
    WEIGHTS,
    decode,
    exact,
    finish,
    guided,
    pair,
    transform,
)
from .folds import _insert, _reduce
from .shared import COMPILED_BLOCKS_WITH_ALPHA, Kernel, Plan, block_fields, encode, layout, load_pixel, store


@inline
def _exact_pixel(column_sums, raw, at, step, width, count, limit):
    """An output value of an unsigned image straight from the integers (``EXACT``): the
    ``width`` columns' sums or winners from ``at`` on, ``step`` apart, over ``count`` pixels."""
    if INT_SUM:
        acc = column_sums[at]
        for d in range(1, width):
            acc += column_sums[at + d * step]
    else:
        acc = raw[0, at]
        for d in range(1, width):
            acc = _reduce(acc, raw[0, at + d * step], 1.0, False, 0)
    return exact(acc, count, limit)


@inline
def _pixel_values(x0, x1, unit, col_weight, first_weight, total, n_rows, scale, params, buf, raw, column_sums,
                  merged, ranked, sums, vals):
    """The working values ``vals`` of the output pixel over columns ``x0:x1`` from the row
    buffers (``n_rows`` input rows reduced into them). ``unit``: every coverage is 1, no
    weights to read — with ``x1 - x0`` compiled in (``BOX``) the column loops unroll."""
    n = vals.shape[0]
    for c in range(n):
        if RAW and REDUCE == TOP:  # merge the columns' slots, then decode the winners
            filled = min(n_rows, TOP_R)
            seen = 0
            for x in range(x0, x1):
                for s in range(filled):
                    value = raw[s, x * n + c]
                    if seen >= TOP_R:  # full: a fixed, unrolled network
                        if value <= merged[TOP_R - 1]:  # so are the column's next
                            break
                        for t in range(TOP_R):
                            held = merged[t]
                            merged[t] = max(held, value)
                            value = min(held, value)
                    else:
                        for t in range(seen):
                            held = merged[t]
                            merged[t] = max(held, value)
                            value = min(held, value)
                        merged[seen] = value
                    seen += 1
            for s in range(TOP_R):
                sums[s] = transform(decode(merged[s], scale), 0, params) if s < seen else 0.0
                sums[TOP_R + s] = 1.0 if s < seen else 0.0
        elif INT_SUM:
            whole = 0
            for x in range(x0, x1):
                whole += column_sums[x * n + c]
            sums[0] = whole * (scale * scale if INT_SUM == 2 else scale)
        elif RAW:
            best = raw[0, x0 * n + c]
            for x in range(x0 + 1, x1):
                best = _reduce(best, raw[0, x * n + c], 1.0, False, 0)
            sums[0] = transform(decode(best, scale), 0, params)
        elif REDUCE == TOP:  # merge the columns' ranked slots
            for x in range(x0, x1):
                wx = 1.0 if unit else col_weight[first_weight + x]
                for s in range(TOP_R):
                    _insert(ranked, 0, buf[s, x * n + c], buf[TOP_R + s, x * n + c] * wx,
                            x == x0 and s == 0)
            for s in range(SUMS):
                sums[s] = ranked[s, 0]
        else:
            for s in range(SUMS):
                acc = _reduce(0.0, buf[s, x0 * n + c], 1.0 if unit else col_weight[first_weight + x0], True, s)
                for x in range(x0 + 1, x1):
                    acc = _reduce(acc, buf[s, x * n + c], 1.0 if unit else col_weight[first_weight + x], False, s)
                sums[s] = acc
        vals[c] = finish(sums, total, params)



@inline
def _int_term(v):
    """A stored value's integer term (``INT_SUM``): itself (1) or its square (2), as ``SUM_TYPE``."""
    return SUM_TYPE(v) if INT_SUM == 1 else SUM_TYPE(v) * SUM_TYPE(v)


@inline
def _value_term(value, t, s, params, guide):
    """The term working value ``value`` in column ``t`` adds to sum ``s``: the rule's
    ``transform``, or where it is ``GUIDED`` its ``guided`` with the column's guide value."""
    if GUIDED:
        return guided(value, guide[t], s, params)
    return transform(value, s, params)


@inline
def _term(v, t, s, scale, params, lut, guide):
    """The term stored value ``v`` in column ``t`` adds to sum ``s``, for plain pixels (no
    alpha, no channel pooling): looked up (``USE_LUT``), or computed from the decoded value."""
    if USE_LUT:
        return lut[s, v]
    return _value_term(decode(v, scale), t, s, params, guide)


@inline
def _value_weight(v, value, t, params, lut, guide):
    """A ``WEIGHTED`` rule's weight ``w`` of stored value ``v`` (decoded: ``value``) in column
    ``t``: its two terms are ``w·value`` and ``w``, so ``w`` is looked up (a table holds only
    ``w``) or computed — as the rule's second term — once for both."""
    if USE_LUT:
        return WEIGHTS[v] if CONSTANT_WEIGHTS else lut[1, v]
    return _value_term(value, t, 1, params, guide)


@inline
def _fold(buf, t, v, wy, first, scale, params, lut, guide):
    """Fold stored value ``v`` of column ``t`` (plain pixels), coverage ``wy``, into the
    column's sums ``buf[:, t]`` (emptied first when ``first``): its terms side by side, so
    that they share their work."""
    if REDUCE == TOP:
        _insert(buf, t, _term(v, t, 0, scale, params, lut, guide), wy, first)
    elif WEIGHTED:  # LLVM does not merge a weight computed for each of the two terms
        value = decode(v, scale)
        w = _value_weight(v, value, t, params, lut, guide)
        buf[0, t] = _reduce(buf[0, t], value * w, wy, first, 0)
        buf[1, t] = _reduce(buf[1, t], w, wy, first, 1)
    else:
        for s in range(SUMS):
            buf[s, t] = _reduce(buf[s, t], _term(v, t, s, scale, params, lut, guide), wy, first, s)


@inline
def _whole_block_rows(flat, y0, width, raw, column_sums):
    """The ``BOX_ROWS`` input rows of a whole block from ``y0`` on, added (``INT_SUM``) or
    ranked (``RAW`` max or min) into the column buffers in one pass: the row loop unrolls, and
    each buffer value is written once instead of once per row. (Float terms are summed row
    by row: in one pass they compiled markedly slower for a smaller gain, docs/benchmarks.md.)"""
    for t in range(width):
        if INT_SUM:
            acc = _int_term(flat[y0, t])
            for d in range(1, BOX_ROWS):
                acc += _int_term(flat[y0 + d, t])
            column_sums[t] = acc
        else:
            best = flat[y0, t]
            for d in range(1, BOX_ROWS):
                best = _reduce(best, flat[y0 + d, t], 1.0, False, 0)
            raw[0, t] = best


@jit(bands=True)
def _separable(lo, hi, img, flat, scale, rows, cols, ref, params, lut, top, final, out, flat_out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_cols = out.shape[1]
    n = CHANNELS if CHANNELS > 0 else out.shape[2]
    width = img.shape[1] * n
    unit = True  # no column weight to read
    for w in col_weight:
        unit = unit and w == 1.0
    # the buffers, made once per band: each output row overwrites what it reads
    buf = np.empty((SUMS, 0 if RAW or INT_SUM else width))
    raw = np.empty((RAW_SLOTS, width), img.dtype)  # the ranked image values (RAW)
    carry = np.empty(width if RAW and REDUCE == TOP else 0, img.dtype)
    merged = np.empty(RAW_SLOTS, img.dtype)
    column_sums = np.empty(width if INT_SUM else 0, SUM_TYPE)
    guide = np.zeros(width if GUIDED else 0)  # each input column's guide value
    px = np.empty(n)
    sums = np.empty(SUMS)
    ranked = np.empty((SUMS, 1))
    vals = np.empty(n)
    for i in range(lo, hi):
        if GUIDED:
            for j in range(n_cols):
                for x in range(col_start[j], col_stop[j]):
                    for c in range(n):
                        guide[x * n + c] = ref[i, j, c]
        y_from = row_start[i]  # the first row still to reduce into the buffers
        if BOX_ROWS > 0 and (INT_SUM or (RAW and REDUCE != TOP)) and row_stop[i] - y_from == BOX_ROWS:
            _whole_block_rows(flat, y_from, width, raw, column_sums)
            y_from = row_stop[i]
        for y in range(y_from, row_stop[i]):
            wy = row_weight[row_offset[i] + y - row_start[i]]
            first = y == row_start[i]
            if RAW and REDUCE == TOP:  # insert row y into the ranked slots, slot by slot
                seen = y - row_start[i]
                for t in range(width):
                    carry[t] = flat[y, t]
                for s in range(min(seen, TOP_R)):
                    for t in range(width):
                        held, value = raw[s, t], carry[t]
                        raw[s, t] = max(held, value)
                        carry[t] = min(held, value)
                if seen < TOP_R:
                    for t in range(width):
                        raw[seen, t] = carry[t]
            elif INT_SUM:
                for t in range(width):
                    term = _int_term(flat[y, t])
                    column_sums[t] = term if first else column_sums[t] + term
            elif RAW:
                for t in range(width):
                    raw[0, t] = _reduce(raw[0, t], flat[y, t], 1.0, first, 0)
            elif CHANNEL_POOL == 0 and ALPHA < 0:  # plain pixels: one contiguous loop
                for t in range(width):
                    _fold(buf, t, flat[y, t], wy, first, scale, params, lut, guide)
            else:
                for x in range(img.shape[1]):
                    load_pixel(img, y, x, scale, ALPHA, n, px)
                    for c in range(n):
                        t = x * n + c
                        if REDUCE == TOP:
                            _insert(buf, t, _value_term(px[c], t, 0, params, guide), wy, first)
                        else:
                            for s in range(SUMS):
                                buf[s, t] = _reduce(buf[s, t], _value_term(px[c], t, s, params, guide), wy, first, s)
        total_y = 0.0
        for y in range(row_start[i], row_stop[i]):
            total_y += row_weight[row_offset[i] + y - row_start[i]]
        done = 0  # output pixels already written
        limit = int(top)
        if BOX_COLS > 0:  # whole blocks, k compiled in (a plain test: pruned when 0)
            if row_stop[i] - row_start[i] == BOX_ROWS:
                done = n_cols if col_stop[n_cols - 1] - col_start[n_cols - 1] == BOX_COLS else n_cols - 1
                row = flat_out[i]
                for j in range(done):
                    if EXACT:
                        for c in range(n):
                            row[j * n + c] = _exact_pixel(column_sums, raw, j * BOX_COLS * n + c, n, BOX_COLS,  # noqa
                                                          BOX_ROWS * BOX_COLS, limit)
                    elif PAIR:  # the two largest of the columns' sorted pairs, as scalars
                        for c in range(n):
                            at = j * BOX_COLS * n + c
                            best, runner = raw[0, at], raw[TOP_R - 1, at]
                            for d in range(1, BOX_COLS):
                                other, other_runner = raw[0, at + d * n], raw[TOP_R - 1, at + d * n]
                                runner = max(min(best, other), max(runner, other_runner))
                                best = max(best, other)
                            row[j * n + c] = encode(pair(decode(best, scale), decode(runner, scale), params),  # noqa
                                                    c, top, final)
                    elif SCALAR:  # one or two sums as scalars, finished from a tuple (vectorised)
                        for c in range(n):
                            at = j * BOX_COLS * n + c
                            first, second = buf[0, at], buf[SUMS - 1, at]
                            for d in range(1, BOX_COLS):
                                first = _reduce(first, buf[0, at + d * n], 1.0, False, 0)
                                second = _reduce(second, buf[SUMS - 1, at + d * n], 1.0, False, SUMS - 1)
                            total = float(BOX_ROWS * BOX_COLS)
                            if SUMS == 1:  # a compile-time choice: one tuple type survives
                                value = finish((first,), total, params)
                            else:
                                value = finish((first, second), total, params)
                            row[j * n + c] = encode(value, c, top, final)
                    else:
                        _pixel_values(j * BOX_COLS, (j + 1) * BOX_COLS, True, col_weight, 0,
                                      float(BOX_ROWS * BOX_COLS), BOX_ROWS, scale, params,
                                      buf, raw, column_sums, merged, ranked, sums, vals)
                        store(out, i, j, vals, n, top, final)
        for j in range(done, n_cols):
            x0, x1 = col_start[j], col_stop[j]
            if EXACT:
                for c in range(n):
                    out[i, j, c] = _exact_pixel(column_sums, raw, x0 * n + c, n, x1 - x0,
                                                (row_stop[i] - row_start[i]) * (x1 - x0), limit)
                continue
            first_weight = col_offset[j] - x0
            total = float(x1 - x0)
            if not unit:
                total = 0.0
                for x in range(x0, x1):
                    total += col_weight[first_weight + x]
            _pixel_values(x0, x1, unit, col_weight, first_weight, total_y * total, row_stop[i] - row_start[i],  # noqa
                          scale, params, buf, raw, column_sums, merged, ranked, sums, vals)
            store(out, i, j, vals, n, top, final)


@jit()
def _fill_lut(scale, params, lut):
    for s in range(lut.shape[0]):
        for v in range(lut.shape[1]):
            lut[s, v] = transform(decode(v, scale), s, params)



TEMPLATE = _separable
HELPERS = (_reduce, _insert, _int_term, _value_term, _term, _value_weight, _fold, _whole_block_rows, _exact_pixel,
           _pixel_values)  # callees first


class SeparableKernel(Kernel):
    """The separable walker compiled with one method's rule: one variant per channel layout,
    and per path the image and footprint allow (``RAW`` ranking, ``INT_SUM``, ``TOP_R``).

    With ``lut=True`` (for costly terms: ``exp``, ``pow``) an integer image without alpha or
    channel pooling has each term looked up in a table of all 2⁸ or 2¹⁶ values, filled by the
    same compiled ``transform`` (of the linear-light value, with ``linear``), so both paths
    give the same numbers. A ``guided`` rule (GUIDED) needs footprints whose columns do not
    overlap, and runs on the CPU only.
    """

    walker = "separable"

    def __init__(self, name, transform, finish, sums=1, reduce=SUM, lut=False, guided=None, exact=None,
                 int_power=None, pair=None, weighted=False, weights=None,
                 alpha_blocks=COMPILED_BLOCKS_WITH_ALPHA, **bindings):
        assert guided is None or (transform is None and not lut and reduce == SUM)
        assert int_power is None or reduce == SUM
        self.int_power = (1 if transform is identity and reduce == SUM else 0) if int_power is None else int_power
        assert exact is None or transform is identity or self.int_power  # the winner, or the integer sum
        assert weights is None or weighted
        assert pair is None or (transform is identity and reduce == TOP)
        assert not weighted or sums == 2
        super().__init__(name, dict(transform=transform or _no_term, finish=finish, guided=guided or _no_term,
                                    exact=exact or _no_term, pair=pair or _no_term),
                         dict(bindings, REDUCE=reduce, GUIDED=guided is not None, CONSTANT_WEIGHTS=weights is not None,
                              WEIGHTS=np.zeros(1) if weights is None else weights))
        self.targets = ("cpu",) if guided is not None else ("cpu", "cuda")
        self.exact = exact
        self.sums = sums
        self.lut = lut
        self.weighted = weighted
        self.alpha_blocks = alpha_blocks
        self._fill = {}

    def uses_lut(self, work):
        return self.lut and work.pixels.dtype.kind == "u" and work.alpha < 0 and not work.channel_pool[0]

    def plan(self, work, target, footprint, params, final):
        return separable_plan(self, work, target, params, footprint, final)

    def table(self, work, params):
        if not self.uses_lut(work):
            return np.empty((0, 0))
        transfer = colour.transfer(work, "cpu")  # the table is filled on the CPU
        if transfer not in self._fill:
            self._fill[transfer] = specialise(_fill_lut, f"lut_{self.name}_lin{transfer[0]}x{transfer[1]}",
                                              decode=colour.decoder(*transfer), transform=Lazy(
                                                  self.rule["transform"], bindings=self.bindings, inline="always"))
        lut = np.empty((self.sums, np.iinfo(work.pixels.dtype).max + 1))
        self._fill[transfer](work.scale, params, lut)
        return lut


@dataclasses.dataclass(frozen=True)
class SeparablePlan(Plan):
    """The separable walker's choices, beside the shared ones (:class:`shared.Plan`); the
    comments above ``_separable`` say how the walker uses each."""

    use_lut: bool = False      # USE_LUT: each term looked up in a table of every stored value (integer images, ``lut`` rules)
    weighted: bool = False     # WEIGHTED: plain pixels of a rule whose terms are w·v and w: w made once per value
    sums: int = 1              # SUMS: sums per channel handed to ``finish`` (2·top_r slots for a TOP rule)
    top_r: int = 0             # TOP_R: a TOP rule's r, compiled in so that its slot loops unroll (0 otherwise)
    raw: bool = False          # RAW: rank the stored values themselves and decode only the winners (CPU)
    raw_slots: int = 0         # RAW_SLOTS: stored values kept per column when ``raw``
    int_sum: int = 0           # INT_SUM: add the stored integers (1) or their squares (2), exactly; 0: float sums
    sum_type: type = np.uint32  # SUM_TYPE: integer type of a column's sum: the smallest that cannot overflow
    exact: bool = False        # EXACT: write an unsigned output straight from those integers (last pass only)
    pair: bool = False         # PAIR: r ≤ 2 in whole blocks, merged as scalars and finished by the rule's ``pair``
    scalar: bool = False       # SCALAR: float sums in whole blocks finished from scalars, not per-pixel arrays
    box_rows: int = 0          # BOX_ROWS, BOX_COLS: the block size compiled in (shared.block_sizes); 0: read at run time
    box_cols: int = 0
    preload_rows: int | None = None  # PRELOAD_ROWS: CUDA only: rows of a block loaded at once (shared.preload_rows)
    preload_cols: int | None = None  # PRELOAD_COLS: CUDA only: their columns, the block's (at least 1: a local array's size)


def separable_plan(kernel, work, target="cpu", params=None, footprint=None, final=False) -> SeparablePlan:
    """What :class:`SeparableKernel` ``kernel`` compiles in to run over ``footprint`` on
    ``work`` (its dtype, channels, alpha, channel pooling, transfer) on ``target``, as the
    last pass (``final``) or not. A pure function of them: the tests call it directly."""
    reduce = kernel.bindings["REDUCE"]
    if kernel.bindings["GUIDED"] and (target != "cpu" or footprint is None or not footprint.disjoint_columns):
        raise ValueError(f"{kernel.name}: a guided separable rule needs columns in one footprint each, on the CPU")
    shared = layout(work, target)
    plain = work.alpha < 0 and not work.channel_pool[0] and target == "cpu"
    ranked = plain and kernel.rule["transform"] is identity  # ranking: the term is the value itself
    blocks = block_fields(footprint, shared, kernel.alpha_blocks)
    box_rows, box_cols = blocks["box_rows"], blocks["box_cols"]
    if reduce == TOP:
        r = int(params[0])
        unit = footprint is not None and footprint.unit_coverage
        # every slot filled (whole blocks of at least r rows), and a rule that can finish from a pair
        pair = (ranked and unit and r <= min(2, box_rows) and box_cols > 0
                and kernel.rule["pair"] is not _no_term)
        return SeparablePlan(**shared, sums=2 * r, top_r=r, raw=ranked and unit,
                             raw_slots=r if ranked and unit else 0, pair=pair, **blocks)
    raw = ranked and reduce in (MAX_OF, MIN_OF)
    unsigned = work.pixels.dtype.kind == "u" and colour.transfer(work)[0] == colour.NONE
    column_max = footprint.rows.longest * int(np.iinfo(work.pixels.dtype).max) ** kernel.int_power \
        if unsigned and footprint is not None else 2 ** 32  # a column's largest integer sum
    int_sum = kernel.int_power if (plain and kernel.sums == 1 and column_max < 2 ** 32
                                   and footprint.unit_coverage) else 0
    return SeparablePlan(
        **shared, use_lut=kernel.uses_lut(work), weighted=kernel.weighted and plain, sums=kernel.sums,
        raw=raw, raw_slots=1 if raw else 0, int_sum=int_sum,
        sum_type=np.uint16 if int_sum and column_max < 2 ** 16 else np.uint32,
        exact=bool(final and kernel.exact is not None and unsigned and (int_sum or raw)),
        # the output is written without alpha: alpha needs the per-pixel arrays
        scalar=box_cols > 0 and not (raw or int_sum) and kernel.sums <= 2 and work.alpha < 0
        and target == "cpu", **blocks)


def _no_term(*args):
    return 0.0


def identity(v, s, params):
    """The term of rules that pool the values themselves (avg, sum, max, min, mixed, ordinal):
    with it the walker may rank or add the stored values directly (``RAW``, ``INT_SUM``)."""
    return v


def exact_mean(total, count, limit):
    """``np.rint(total / count)`` in integers: half to even, as the float path rounds."""
    if count % 2 == 0:  # a tie is possible: add 1 only where the quotient is odd
        return (total + (count // 2 - 1) + (total // count) % 2) // count
    return (total + count // 2) // count


def exact_sum(total, count, limit):
    """The sum, clipped at the dtype's maximum as the float path clips it."""
    return min(total, limit)


def exact_value(value, count, limit):
    """The winner itself (max, min): decoding and encoding it again changes nothing."""
    return value


def separable_kernel(name, transform, finish, **options):
    """The separable walker for one method's rule (see above; ``options`` are
    :class:`SeparableKernel`'s, then the rule's bindings): ``transform(v, s, params)``, or
    for a guided rule ``guided(v, g, s, params)`` (then ``transform`` is None), and ``finish``;
    ``int_power = 2`` says the term of a non-negative value ``v`` is ``v²`` (so integer images
    sum squares); ``exact(acc, count, limit)`` gives the output of an unsigned image from its
    integer sum (of values or squares) or winner over ``count`` pixels (``EXACT``); ``pair(
    first, second, params)``, for a TOP rule with r ≤ 2, the working value from the two largest
    values of a footprint whose every coverage is 1 (``PAIR``). ``weighted`` says the two terms
    are ``w·v`` and ``w`` (a weighted mean; ``w`` the second term): the walker makes ``w`` once
    per value, from a table of ``w`` alone or computed (``WEIGHTED``);
    ``weights``, that table of ``w`` compiled in as a constant, for uint8 images: LLVM then
    vectorises the lookups, which it cannot do from a table passed in (nothing tells it the
    table and the row sums do not overlap). ``alpha_blocks``: the block sizes compiled in on
    an image with alpha, on the CPU (default ``shared.COMPILED_BLOCKS_WITH_ALPHA``; none for a
    rule whose per-pixel work dwarfs what the unrolled block loops save there)."""
    return SeparableKernel(name, transform, finish, **options)

