"""The footprint walkers: one parallel loop nest for any rule, and a separable one (below)
for the rules whose footprints can be reduced column by column.

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

import dataclasses
import functools
import os
import types

import numpy as np

from . import colour
from .jit import Lazy, inline, jit, prange, specialise
from .reductions import MAX_OF, SUM, TOP
from .rules import (  # the names a variant binds: constants and the rule, declared in rules.py
    ALPHA,
    BOX_COLS,
    BOX_ROWS,
    CHANNEL_POOL,
    CHANNEL_SIZE,
    CHANNELS,
    CONSTANT_WEIGHTS,
    EXACT,
    GUIDED,
    INT_SUM,
    LINEAR,
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
    acc_width,
    accumulate,
    decode,
    exact,
    finalize,
    finish,
    guide,
    guided,
    linear_to_srgb,
    pair,
    transform,
    weight,
)


@inline
def load_pixel(img, y, x, scale, alpha, n, px):
    """The ``n`` working values of pixel (y, x) into ``px``: scaled (colour decoded to linear
    light when asked, :mod:`dpdown.kernels.colour`), colour premultiplied by alpha, and pooled across
    channels when ``CHANNEL_POOL`` asks (Pei et al.'s feature pooling): groups of ``CHANNEL_SIZE`` consecutive
    channels by max, min or mean, or the ``n`` largest values."""
    if CHANNEL_POOL == 0:
        for c in range(n):
            px[c] = img[y, x, c] * scale if c == alpha else decode(img[y, x, c], scale)
        if alpha >= 0:
            for c in range(n):
                if c != alpha:
                    px[c] *= px[alpha]
    elif CHANNEL_POOL == TOPK:
        for c in range(n):
            px[c] = -np.inf
        for b in range(img.shape[2]):
            v = decode(img[y, x, b], scale)
            if v > px[n - 1]:
                t = n - 1
                while t > 0 and px[t - 1] < v:
                    px[t] = px[t - 1]
                    t -= 1
                px[t] = v
    else:
        for g in range(n):
            v = decode(img[y, x, g * CHANNEL_SIZE], scale)
            for t in range(1, CHANNEL_SIZE):
                u = decode(img[y, x, g * CHANNEL_SIZE + t], scale)
                if CHANNEL_POOL == MAX:
                    v = max(v, u)
                elif CHANNEL_POOL == MIN:
                    v = min(v, u)
                else:
                    v += u
            px[g] = v / CHANNEL_SIZE if CHANNEL_POOL == MEAN else v


# channel pooling modes (the CHANNEL_POOL constant); names as the CLI spells them
NONE, MAX, MIN, MEAN, TOPK = 0, 1, 2, 3, 4
CHANNEL_POOLS = {"max": MAX, "min": MIN, "avg": MEAN, "topk": TOPK}


def pixel_loader(work, target=None):
    """``load_pixel`` compiled for the working image's channel pooling and transfer function."""
    return _loader(*work.channel_pool, colour.transfer(work, target or work.device))


@functools.lru_cache(maxsize=None)
def _loader(mode, size, transfer):
    return Lazy(load_pixel.py_func, bindings=dict(CHANNEL_POOL=mode, CHANNEL_SIZE=size,
                                                  decode=colour.decoder(*transfer)), inline="always")


@inline
def encode(v, c, top, final):
    """Working value ``v`` of channel ``c`` as :func:`store` writes it (alpha aside)."""
    if final:
        if LINEAR and c != ALPHA:
            v = linear_to_srgb(v)
        if top > 0.0:
            v = np.rint(min(max(v, 0.0), 1.0) * top)
    return v


@inline
def store(out, i, j, vals, n, top, final):
    """Write output pixel (i, j) from its working values. Internal passes (``final`` false)
    keep them as they are; the last pass writes the caller's dtype directly — colour divided
    by alpha again, encoded back from linear light when ``LINEAR``, integers rounded after
    clipping to [0, 1] (``top`` is the dtype's maximum, 0 for floats) — so no full float
    copy of the output is ever made."""
    a = vals[ALPHA] if ALPHA >= 0 else 1.0
    for c in range(n):
        v = vals[c]
        if final and ALPHA >= 0 and c != ALPHA:
            v = v / a if a > 0.0 else 0.0
        out[i, j, c] = encode(v, c, top, final)


@jit(parallel=True)
def _pool(img, scale, rows, cols, ref, params, top, final, out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_rows, n_cols = out.shape[0], out.shape[1]
    n = CHANNELS if CHANNELS > 0 else out.shape[2]
    width = acc_width(n, params)
    for i in prange(n_rows):
        acc = np.zeros((n_cols, width))
        px = np.empty(n)
        for y in range(row_start[i], row_stop[i]):
            wy = row_weight[row_offset[i] + y - row_start[i]]
            for j in range(n_cols):
                first = col_offset[j] - col_start[j]
                for x in range(col_start[j], col_stop[j]):
                    load_pixel(img, y, x, scale, ALPHA, n, px)
                    at = (img, scale, y, x, y - row_start[i], x - col_start[j])
                    accumulate(acc, j, px, n, ref, i, wy * col_weight[first + x], params, at)
        vals = np.empty(n)
        for j in range(n_cols):
            finalize(acc[j], ref[i, j], params, vals)
            store(out, i, j, vals, n, top, final)


class PoolingKernel:
    """The walker compiled with one method's rule, one variant per channel layout and target."""

    template = _pool
    cuda_template = "pool"

    def __init__(self, name, acc_width, accumulate, finalize, **bindings):
        self.name = name
        self.rule = dict(acc_width=acc_width, accumulate=accumulate, finalize=finalize)
        # helper functions bound into the rule are inlined like the rule itself
        self.bindings = {name: inline(v) if isinstance(v, types.FunctionType) else v
                         for name, v in bindings.items()}
        self._variants = {}

    def cuda_constants(self, channels, params):
        """What a CUDA variant must know at compile time: its per-thread array sizes."""
        return {"ACC_WIDTH": int(self.rule["acc_width"](channels, params))}

    def variant(self, work, target="cpu", params=None, footprint=None, **extra):
        """The kernel for this channel layout on ``target`` (``cpu`` or ``cuda``); ``extra``
        constants select further variants. CUDA variants are compiled per channel count, and
        per block size of the ``footprint`` (:func:`_blocks`)."""
        channels = work.out_channels
        if target == "cuda":
            layout, extra = channels, dict(_blocks(footprint, target, channels), **extra,
                                           **self.cuda_constants(channels, params))
        else:
            layout = channels if channels <= 4 else 0
        transfer = colour.transfer(work, target)
        key = (target, layout, work.alpha, work.channel_pool, transfer, tuple(sorted(extra.items())))
        if key not in self._variants:
            constants = dict(self.bindings, CHANNELS=layout, ALPHA=work.alpha, **extra,
                             **_transfer_bindings(transfer))
            rule = {name: Lazy(f, bindings=constants, inline="always") for name, f in self.rule.items()}
            mode, size = work.channel_pool
            tag = (f"pool_{self.name}_c{layout}" + ("a" if work.alpha >= 0 else "")
                   + (f"_p{mode}x{size}" if mode else "") + (f"_lin{transfer[0]}x{transfer[1]}" if transfer[0] else "")
                   + "".join(f"_{k}{v.__name__ if isinstance(v, type) else int(v)}" for k, v in key[5])
                   + ("_cuda" if target == "cuda" else ""))
            walkers = [(f.py_func.__name__, f.py_func) for f in (_exact_pixel, _pixel_values, _block_mean)]
            if target == "cuda":
                from .walk_cuda import TEMPLATES, footprint_helpers
                template, walkers = TEMPLATES[self.cuda_template], footprint_helpers(self.cuda_template)
            else:
                template = self.template
            helpers = {"encode": Lazy(encode.py_func, bindings=constants, inline="always")}
            helpers.update({f.py_func.__name__: Lazy(f.py_func, bindings=dict(constants, **helpers), inline="always")
                            for f in (_reduce, _insert, store)})
            # the walkers' per-pixel helpers and footprint loops call the rule and the helpers before them
            loader = pixel_loader(work, target)
            for name, f in walkers:
                helpers[name] = Lazy(f, bindings=dict(constants, **rule, **helpers, load_pixel=loader), inline="always")
            self._variants[key] = specialise(template, tag, CHANNEL_POOL=mode, load_pixel=loader,
                                             **helpers, **constants, **rule)
        return self._variants[key]


def _transfer_bindings(transfer):
    """What rules and ``store`` need of the transfer function: ``decode`` (for rules that read
    neighbouring pixels themselves) and the way back, ``LINEAR``/``linear_to_srgb``."""
    return dict(decode=colour.decoder(*transfer), LINEAR=transfer[0] != colour.NONE,
                linear_to_srgb=colour.linear_to_srgb)


def pooling_kernel(name, acc_width, accumulate, finalize, **bindings):
    """The walker for one method's rule (each a plain Python function).

    ``bindings`` set global names inside the rule — constants, or plain functions such as a
    weight chosen per parameter value — so that the choice is made at compile time, not
    per pixel.
    """
    return PoolingKernel(name, acc_width, accumulate, finalize, **bindings)


def output_kind(work, final=None):
    """``(final, dtype, top)`` of a pass: the caller's dtype for the last pass (``top`` its
    maximum for unsigned integers, else 0), float64 working values for an internal one."""
    final = work.final if final is None else final
    dtype = work.pixels.dtype if final else np.dtype(np.float64)
    return final, dtype, float(np.iinfo(dtype).max) if dtype.kind == "u" else 0.0


def run(kernel, work, footprint, params=(), ref=None, final=None):
    """Apply ``kernel`` over ``footprint`` to the working image, on the working image's device.

    The result is H'×W'×C': float64 working values, or — for the last pass of a method run
    through the API (``work.final``; an internal pass says ``final=False``) — the caller's
    dtype, converted as each pixel is written. On the GPU it is a device array.
    """
    final, dtype, top = output_kind(work, final)
    params = np.asarray(params, dtype=np.float64)
    if isinstance(kernel, BlockKernel):
        out = np.empty(footprint.shape + (work.out_channels,), dtype)
        flat_out = out.reshape(out.shape[0], -1)  # one output row per row, as the kernel writes it
        kernel.variant(work, tiling(work, footprint))(work.pixels, work.scale, params, top, final, flat_out)
        return out
    lut = kernel.table(work, params) if isinstance(kernel, SeparableKernel) else None
    if work.device == "cuda":
        from . import walk_cuda
        return walk_cuda.run(kernel, work, footprint, params, ref, lut, top, final, dtype)
    n_rows, n_cols = footprint.shape
    out = np.empty((n_rows, n_cols, work.out_channels), dtype)
    rows, cols = footprint.rows.as_tuple(), footprint.cols.as_tuple()
    ref = np.empty((n_rows, n_cols, 0)) if ref is None else ref
    if lut is not None:
        kernel.variant(work, params=params, footprint=footprint, final=final)(
            work.pixels, work.scale, rows, cols, ref, params, lut, top, final, out)
    else:
        kernel.variant(work, params=params)(work.pixels, work.scale, rows, cols, ref, params, top, final, out)
    return out


# ---- separable rules ----------------------------------------------------------------------
#
# Methods whose output is a function of per-channel sums of per-pixel terms (avg, sum, Lp,
# power-average, stochastic's expectation) or of a per-channel max/min never need the pixels
# of a footprint together: their footprints are separable, so each output row first reduces
# its input rows into one row buffer (contiguous, vectorised), then reduces the buffer along
# the columns. A separable rule supplies ``transform(v, s, params)`` — the term pixel value
# ``v`` adds to sum ``s`` of ``SUMS`` — and ``finish(sums, total, params)``, the output from
# the sums and the total coverage; ``REDUCE`` is SUM, MAX_OF or MIN_OF.
#
# ``REDUCE = TOP`` keeps instead the ``TOP_R`` largest (value, coverage) pairs of each
# channel — separable too: the r largest of a footprint are among the r largest of each of
# its columns. Values rank in descending order, equal values by larger coverage, so that
# the result does not depend on the order pixels are visited in. The ``SUMS = 2·TOP_R``
# sums handed to ``finish`` are the values, largest first, then their coverages; slots a
# small footprint leaves empty have coverage 0.
#
# Ranking needs no arithmetic, so where pixels are plain (no alpha, no channel pooling)
# MAX, MIN and — when every coverage is 1 — TOP rank the image's own values (``RAW``):
# decoding is monotone, so it commutes with ranking and only the winners are decoded. On
# uint8 that is 8–16 values per vector instruction instead of scalar float64 compares.
# Likewise a plain sum of an integer image whose every coverage is 1 and whose decoding is
# linear adds integers (``INT_SUM``), exactly, and scales the footprint's total once: the
# stored values themselves (avg, sum: ``INT_SUM = 1``) or their squares (``2``: Lp and
# power-average at p = 2, whose term is ``v²``; a rule says so with ``int_power``).
#
# When that output is the last pass, in the image's own unsigned dtype, a rule that says
# how (``exact``: the rounded mean, the clipped sum, the winner) writes each output value
# straight from those integers (``EXACT``), rounding half to even as np.rint does — but
# exactly, where float64 may land either side of a tie.
#
# Where every column's coverage is 1 no weight is read. Where besides the columns are
# tiled in blocks of ``k`` (window stride = k, coverage at an integer ratio:
# ``Axis.block``), ``k`` is compiled in for the common sizes (``BOX``,
# ``COMPILED_BLOCKS``): the column loops unroll and LLVM turns the strided reads of
# interleaved channels into vector shuffles (docs/benchmarks.md has the gains). Blocks cut
# short by the image's edge take the loop sized at run time; both run the same
# ``_pixel_values``/``_exact_pixel``. In whole blocks of an image without alpha, the output
# values are computed from scalars, not the per-pixel ``sums``/``vals`` arrays, which lets
# LLVM vectorise across them: one or two float sums handed to ``finish`` as a tuple
# (``SCALAR``), and for a TOP rule with r ≤ 2 and a ``pair`` finish (ordinal's default) the
# columns' sorted pairs merged as scalars (``PAIR``).
#
# A *guided* separable rule (``GUIDED``: DPP) has terms that also depend on a guide value
# per output pixel and channel, ``guided(v, g, s, params)``. Where no input column belongs
# to two footprints (windows with stride ≥ k, coverage at an integer ratio) each column has
# one guide value per output row, spread over the row once (``guide``), and the terms are
# summed like any separable rule's: one contiguous, vectorised loop per input row.



@inline
def _reduce(acc, value, weight, first):
    if first:
        return weight * value if REDUCE == SUM else value
    if REDUCE == SUM:
        return acc + weight * value
    if REDUCE == MAX_OF:
        return max(acc, value)
    return min(acc, value)


@inline
def _insert(slots, t, value, weight, first):
    """Insert (value, weight) into the ``TOP_R`` ranked slots of column ``t`` (values in
    ``slots[:TOP_R, t]``, coverages below them), emptied first when ``first``. Branch-free:
    each slot keeps the larger, the smaller moves on down."""
    if first:
        for s in range(TOP_R):
            slots[s, t] = -np.inf
            slots[TOP_R + s, t] = 0.0
    for s in range(TOP_R):
        held, held_weight = slots[s, t], slots[TOP_R + s, t]
        move = np.float64((value > held) | ((value == held) & (weight > held_weight)))
        slots[s, t] = max(value, held)
        value = min(value, held)
        slots[TOP_R + s, t] = move * weight + (1.0 - move) * held_weight
        weight = move * held_weight + (1.0 - move) * weight


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
            acc = _reduce(acc, raw[0, at + d * step], 1.0, False)
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
                best = _reduce(best, raw[0, x * n + c], 1.0, False)
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
                acc = _reduce(0.0, buf[s, x0 * n + c], 1.0 if unit else col_weight[first_weight + x0], True)
                for x in range(x0 + 1, x1):
                    acc = _reduce(acc, buf[s, x * n + c], 1.0 if unit else col_weight[first_weight + x], False)
                sums[s] = acc
        vals[c] = finish(sums, total, params)


@jit(parallel=True)
def _separable(img, scale, rows, cols, ref, params, lut, top, final, out):
    row_start, row_stop, row_offset, row_weight = rows
    col_start, col_stop, col_offset, col_weight = cols
    n_rows, n_cols = out.shape[0], out.shape[1]
    n = CHANNELS if CHANNELS > 0 else out.shape[2]
    width = img.shape[1] * n
    flat = img.reshape(img.shape[0], img.shape[1] * img.shape[2])
    unit = True  # no column weight to read (a loop: an array expression would be one more parallel region)
    for w in col_weight:
        unit = unit and w == 1.0
    for i in prange(n_rows):
        buf = np.empty((SUMS, 0 if RAW or INT_SUM else width))
        raw = np.empty((RAW_SLOTS, width), img.dtype)  # the ranked image values (RAW)
        carry = np.empty(width if RAW and REDUCE == TOP else 0, img.dtype)
        merged = np.empty(RAW_SLOTS, img.dtype)
        column_sums = np.empty(width if INT_SUM else 0, SUM_TYPE)
        guide = np.zeros(width if GUIDED else 0)  # each input column's guide value
        if GUIDED:
            for j in range(n_cols):
                for x in range(col_start[j], col_stop[j]):
                    for c in range(n):
                        guide[x * n + c] = ref[i, j, c]
        px = np.empty(n)
        sums = np.empty(SUMS)
        ranked = np.empty((SUMS, 1))
        vals = np.empty(n)
        for y in range(row_start[i], row_stop[i]):
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
            elif INT_SUM == 1:
                if first:
                    for t in range(width):
                        column_sums[t] = flat[y, t]
                else:
                    for t in range(width):
                        column_sums[t] += flat[y, t]
            elif INT_SUM == 2:
                for t in range(width):
                    square = SUM_TYPE(flat[y, t]) * SUM_TYPE(flat[y, t])
                    column_sums[t] = square if first else column_sums[t] + square
            elif RAW:
                if first:
                    for t in range(width):
                        raw[0, t] = flat[y, t]
                else:
                    for t in range(width):
                        raw[0, t] = _reduce(raw[0, t], flat[y, t], 1.0, False)
            elif USE_LUT and WEIGHTED:  # sums Σ w·v, Σ w: one lookup (w) per value
                for t in range(width):
                    weight = WEIGHTS[flat[y, t]] if CONSTANT_WEIGHTS else lut[1, flat[y, t]]
                    buf[0, t] = _reduce(buf[0, t], decode(flat[y, t], scale) * weight, wy, first)
                    buf[1, t] = _reduce(buf[1, t], weight, wy, first)
            elif USE_LUT:  # integer pixels: each term looked up, not computed
                for s in range(SUMS):
                    for t in range(width):
                        buf[s, t] = _reduce(buf[s, t], lut[s, flat[y, t]], wy, first)
            elif CHANNEL_POOL == 0 and ALPHA < 0:  # plain pixels: one contiguous loop
                if REDUCE == TOP:
                    for t in range(width):
                        _insert(buf, t, transform(decode(flat[y, t], scale), 0, params), wy, first)
                elif GUIDED:  # the sums side by side, so their terms share the work
                    for t in range(width):
                        value = decode(flat[y, t], scale)
                        for s in range(SUMS):
                            buf[s, t] = _reduce(buf[s, t], guided(value, guide[t], s, params), wy, first)  # noqa
                else:
                    for s in range(SUMS):
                        for t in range(width):
                            buf[s, t] = _reduce(buf[s, t], transform(decode(flat[y, t], scale), s, params), wy, first)  # noqa
            else:
                for x in range(img.shape[1]):
                    load_pixel(img, y, x, scale, ALPHA, n, px)
                    for c in range(n):
                        if REDUCE == TOP:
                            _insert(buf, x * n + c, transform(px[c], 0, params), wy, first)
                        elif GUIDED:
                            for s in range(SUMS):
                                buf[s, x * n + c] = _reduce(buf[s, x * n + c], guided(px[c], guide[x * n + c], s, params),  # noqa
                                                            wy, first)
                        else:
                            for s in range(SUMS):
                                buf[s, x * n + c] = _reduce(buf[s, x * n + c], transform(px[c], s, params), wy, first)  # noqa
        total_y = 0.0
        for y in range(row_start[i], row_stop[i]):
            total_y += row_weight[row_offset[i] + y - row_start[i]]
        done = 0  # output pixels already written
        limit = int(top)
        if BOX_COLS > 0:  # whole blocks, k compiled in (a plain test: pruned when 0)
            if row_stop[i] - row_start[i] == BOX_ROWS:
                done = n_cols if col_stop[n_cols - 1] - col_start[n_cols - 1] == BOX_COLS else n_cols - 1
                row = out[i].reshape(n_cols * n)
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
                                first = _reduce(first, buf[0, at + d * n], 1.0, False)
                                second = _reduce(second, buf[SUMS - 1, at + d * n], 1.0, False)
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


class SeparableKernel(PoolingKernel):
    """The separable walker compiled with one method's rule: one variant per channel layout,
    and per path the image and footprint allow (``RAW`` ranking, ``INT_SUM``, ``TOP_R``).

    With ``lut=True`` (for costly terms: ``exp``, ``pow``) an integer image without alpha or
    channel pooling has each term looked up in a table of all 2⁸ or 2¹⁶ values, filled by the
    same compiled ``transform`` (of the linear-light value, with ``linear``), so both paths
    give the same numbers. A ``guided`` rule (GUIDED) needs footprints whose columns do not
    overlap, and runs on the CPU only.
    """

    template = _separable
    cuda_template = "separable"

    def __init__(self, name, transform, finish, sums=1, reduce=SUM, lut=False, guided=None, exact=None,
                 int_power=None, pair=None, weighted=False, weights=None, **bindings):
        assert guided is None or (transform is None and not lut and reduce == SUM)
        assert int_power is None or reduce == SUM
        self.int_power = (1 if transform is identity and reduce == SUM else 0) if int_power is None else int_power
        assert exact is None or transform is identity or self.int_power  # the winner, or the integer sum
        assert weights is None or weighted
        super().__init__(name, None, None, None, REDUCE=reduce, GUIDED=guided is not None,
                         CONSTANT_WEIGHTS=weights is not None,
                         WEIGHTS=np.zeros(1) if weights is None else weights, **bindings)
        assert pair is None or (transform is identity and reduce == TOP)
        self.rule = dict(transform=transform or _no_term, finish=finish, guided=guided or _no_term,
                         exact=exact or _no_term, pair=pair or _no_term)
        self.exact = exact
        self.sums = sums
        self.lut = lut
        assert not weighted or (lut and sums == 2)
        self.weighted = weighted
        self._fill = {}

    def uses_lut(self, work):
        return self.lut and work.pixels.dtype.kind == "u" and work.alpha < 0 and not work.channel_pool[0]

    def cuda_constants(self, channels, params):
        return {}

    def variant(self, work, target="cpu", params=None, footprint=None, final=False):
        plan = separable_plan(self, work, target, params, footprint, final)
        return super().variant(work, target, params, **plan.constants())

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
class SeparablePlan:
    """The compile-time choices of one separable-walker variant, from :func:`separable_plan`.
    Each field is bound into the kernel as the constant of the same name in capitals (declared
    at the top of this module); the comments above ``_separable`` say how the walker uses them."""

    use_lut: bool        # each term looked up in a table of every stored value (integer images, ``lut`` rules)
    weighted: bool       # that table holds a (term, weight) pair per value
    sums: int            # sums per channel handed to ``finish`` (2·top_r slots for a TOP rule)
    top_r: int           # a TOP rule's r, compiled in so that its slot loops unroll (0 otherwise)
    raw: bool            # rank the stored values themselves and decode only the winners
    raw_slots: int       # stored values kept per column when ``raw``
    int_sum: int         # add the stored integers (1) or their squares (2), exactly; 0: float sums
    sum_type: type       # integer type of a column's sum: the smallest that cannot overflow
    exact: bool          # write an unsigned output straight from those integers (last pass only)
    pair: bool           # r ≤ 2 in whole blocks, merged as scalars and finished by the rule's ``pair``
    scalar: bool         # float sums in whole blocks finished from scalars, not per-pixel arrays
    box_rows: int        # the block size compiled in (COMPILED_BLOCKS); 0: read at run time
    box_cols: int
    preload_rows: int | None = None  # CUDA only: rows of a block loaded at once (walk_cuda.preload_rows)
    preload_cols: int | None = None  # CUDA only: their columns, the block's (at least 1: a local array's size)

    def constants(self) -> dict:
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def separable_plan(kernel, work, target="cpu", params=None, footprint=None, final=False) -> SeparablePlan:
    """What :class:`SeparableKernel` ``kernel`` compiles in to run over ``footprint`` on
    ``work`` (its dtype, channels, alpha, channel pooling, transfer) on ``target``, as the
    last pass (``final``) or not. A pure function of them: the tests call it directly."""
    reduce = kernel.bindings["REDUCE"]
    if kernel.bindings["GUIDED"] and (target != "cpu" or footprint is None or not footprint.disjoint_columns):
        raise ValueError(f"{kernel.name}: a guided separable rule needs columns in one footprint each, on the CPU")
    plain = work.alpha < 0 and not work.channel_pool[0] and target == "cpu"
    ranked = plain and kernel.rule["transform"] is identity  # ranking: the term is the value itself
    blocks = {name.lower(): value for name, value in _blocks(footprint, target, work.out_channels).items()}
    if reduce == TOP:
        r = int(params[0])
        unit = footprint is not None and footprint.unit_coverage
        # every slot filled (whole blocks of at least r rows), and a rule that can finish from a pair
        pair = (ranked and unit and r <= min(2, blocks["box_rows"]) and blocks["box_cols"] > 0
                and kernel.rule["pair"] is not _no_term)
        return SeparablePlan(use_lut=False, weighted=False, sums=2 * r, top_r=r, raw=ranked and unit,
                             raw_slots=r if ranked and unit else 0, int_sum=0, sum_type=np.uint32, exact=False,
                             pair=pair, scalar=False, **blocks)
    raw = ranked and reduce != SUM
    unsigned = work.pixels.dtype.kind == "u" and colour.transfer(work)[0] == colour.NONE
    column_max = footprint.rows.longest * int(np.iinfo(work.pixels.dtype).max) ** kernel.int_power \
        if unsigned and footprint is not None else 2 ** 32  # a column's largest integer sum
    int_sum = kernel.int_power if (plain and kernel.sums == 1 and column_max < 2 ** 32
                                   and footprint.unit_coverage) else 0
    return SeparablePlan(
        use_lut=kernel.uses_lut(work), weighted=kernel.weighted and kernel.uses_lut(work), sums=kernel.sums,
        top_r=0, raw=raw, raw_slots=1 if raw else 0, int_sum=int_sum,
        sum_type=np.uint16 if int_sum and column_max < 2 ** 16 else np.uint32,
        exact=bool(final and kernel.exact is not None and unsigned and (int_sum or raw)), pair=False,
        # the output is written without alpha: alpha needs the per-pixel arrays
        scalar=blocks["box_cols"] > 0 and not (raw or int_sum) and kernel.sums <= 2 and work.alpha < 0
        and target == "cpu", **blocks)


# The block sizes compiled into the separable walker (``BOX``); other sizes take the loop
# whose size is read at run time. Each size is one more compilation per method, channel
# layout and dtype used, so only the common factors by default.
COMPILED_BLOCKS = frozenset(int(k) for k in os.environ.get("DPDOWN_COMPILED_BLOCKS", "2,3,4").split(",") if k.strip())


def _blocks(footprint, target, channels=1):
    """``BOX_ROWS``/``BOX_COLS``: the block size, compiled in, where every coverage is 1 and
    the columns tile in blocks (``Axis.block``, which checks the column weights), both sizes in
    ``COMPILED_BLOCKS``. On the GPU, where each thread reads its own footprint, any footprints
    of unit coverage whose longest spans are in ``COMPILED_BLOCKS`` (windows of any stride),
    and ``PRELOAD_ROWS``×``PRELOAD_COLS``, the part of a block it loads at once
    (:func:`walk_cuda.preload_rows`)."""
    if footprint is None:
        return dict(BOX_ROWS=0, BOX_COLS=0, **({"PRELOAD_ROWS": 1, "PRELOAD_COLS": 1} if target == "cuda" else {}))
    box_rows = footprint.rows.longest
    if target == "cuda":
        box_cols = footprint.cols.longest if box_rows in COMPILED_BLOCKS and footprint.unit_coverage else 0
    else:
        box_cols = footprint.cols.block if box_rows in COMPILED_BLOCKS and (footprint.rows.weight == 1.0).all() else 0
    sizes = (box_rows, box_cols) if box_cols in COMPILED_BLOCKS else (0, 0)
    blocks = dict(BOX_ROWS=sizes[0], BOX_COLS=sizes[1])
    if target == "cuda":
        from .walk_cuda import preload_rows

        blocks["PRELOAD_ROWS"] = preload_rows(*sizes, channels)
        blocks["PRELOAD_COLS"] = max(sizes[1], 1)
    return blocks


def _no_term(*args):
    return 0.0


def identity(v, s, params):
    """The term of rules that pool the values themselves (avg, sum, max, min, ordinal): with
    it the walker may rank or add the stored values directly (``RAW``, ``INT_SUM``)."""
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
    are ``w·v`` and ``w`` (a weighted mean): from a table only ``w`` is looked up (``WEIGHTED``);
    ``weights``, that table of ``w`` compiled in as a constant, for uint8 images: LLVM then
    vectorises the lookups, which it cannot do from a table passed in (nothing tells it the
    table and the row sums do not overlap)."""
    return SeparableKernel(name, transform, finish, **options)


# ---- block rules ----------------------------------------------------------------------------
#
# Where the footprints tile the image in blocks (windows with stride = k, coverage at an
# integer ratio: ``Axis.block`` on both axes) and pixels are plain, a weighted mean whose
# weights depend on the value and on one guide value per block (Lite-DPP; SoftPool, guide-
# less) computes each output value straight from its block's values, with no row buffers and
# no intermediate image. Its *block rule* is ``guide(flat, y0, x0, rows, cols, n, c, scale,
# params)`` — ``flat`` holds one image row per row — and ``weight(stored, v, g, params)``, of
# the stored value and its working value ``v``; the sums go column by column, in the
# separable walker's order, so both give the same numbers. The block size is compiled in
# (``BOX_ROWS``, ``BOX_COLS``), so LLVM unrolls the block and vectorises across output
# pixels, reading a row of blocks as one interleaved group of ``block columns × channels``
# values. It does so for groups of up to
# ``INTERLEAVED_GROUP`` values and reads larger ones value by value (DPP on RGB at k = 3, 4:
# 2.3× slower than its separable walker), so :func:`tiling` leaves those to the walkers.
# Blocks cut short by the image's edge take the same rule with their size read at run time.
# ``INTEGER`` says the stored values decode linearly and are unsigned: a rule may sum them
# as integers (``SUM_TYPE``), exactly.

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


@jit(parallel=True)
def _blocks_pass(img, scale, params, top, final, out):
    n = CHANNELS if CHANNELS > 0 else img.shape[2]
    n_rows, n_cols = out.shape[0], out.shape[1] // n
    height, width = img.shape[0], img.shape[1]
    flat = img.reshape(height, width * n)
    for i in prange(n_rows):
        y0 = i * BOX_ROWS
        rows = min(BOX_ROWS, height - y0)
        whole = 0  # output pixels of this row whose block the image's edge does not cut
        if rows == BOX_ROWS:
            whole = n_cols if n_cols * BOX_COLS <= width else n_cols - 1
        row = out[i]  # a row of ``out``, not a reshaped view: into one, LLVM vectorises no table lookup
        for j in range(whole):
            for c in range(n):
                value = _block_mean(flat, y0, j * BOX_COLS, BOX_ROWS, BOX_COLS, n, c, scale, params)
                row[j * n + c] = encode(value, c, top, final)
        for j in range(whole, n_cols):
            x0 = j * BOX_COLS
            for c in range(n):
                value = _block_mean(flat, y0, x0, rows, min(BOX_COLS, width - x0), n, c, scale, params)  # noqa
                row[j * n + c] = encode(value, c, top, final)


class BlockKernel(PoolingKernel):
    """The block pass compiled with one method's block rule: one variant per channel layout,
    transfer and block size."""

    template = _blocks_pass

    def __init__(self, name, guide, weight, **bindings):
        super().__init__(name, None, None, None, **bindings)
        self.rule = dict(guide=guide or _no_guide, weight=weight)

    def variant(self, work, blocks):
        integer = work.pixels.dtype.kind == "u" and colour.transfer(work)[0] == colour.NONE
        return super().variant(work, BOX_ROWS=blocks[0], BOX_COLS=blocks[1], INTEGER=integer,
                               SUM_TYPE=np.int64 if integer else np.float64)


def tiling(work, footprint):
    """``(rows, cols)`` of the blocks the footprints tile the image in, where a block rule
    applies: plain pixels on the CPU, both sizes in COMPILED_BLOCKS, a block's row of at most
    INTERLEAVED_GROUP values; else None."""
    blocks = footprint.rows.block, footprint.cols.block
    plain = work.device == "cpu" and work.alpha < 0 and not work.channel_pool[0]
    fits = set(blocks) <= COMPILED_BLOCKS and blocks[1] * work.channels <= INTERLEAVED_GROUP
    return blocks if plain and fits else None


def block_kernel(name, guide, weight, **bindings):
    """The block pass for one method's block rule (see above; ``guide`` None: no guide); run
    it with :func:`run` where :func:`tiling` allows."""
    return BlockKernel(name, guide, weight, **bindings)
