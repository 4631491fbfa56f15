"""Separable resampling by tap tables, on the CPU (the evaluation's upsampling filters).

A resampling filter along one axis is a table: output ``o`` is
``Σ_t weight[o, t] · input[index[o, t]]``, accumulated in float64 in the order of ``t`` and
stored as float32 — as Pillow does for float images, one axis after the other — and clipped
to ``[low, high]`` (the last pass clips to [0, 1]; the first to ±∞). The tables
(which filter, how edges are handled, where pixel centres are) are made by
:mod:`dpdown.evaluation.resampling`; these kernels only apply them, to H×W×C float32 images.
"""

from __future__ import annotations

import numpy as np

from .jit import jit


@jit(bands=True)
def along_columns(lo, hi, src, index, weight, columns, low, high, out):
    """``out[i, o, c] = Σ_t weight[o, t]·src[i, index[o, t], c]`` for the output columns ``o``
    in ``columns``: each row resampled, one output at a time."""
    channels = src.shape[2]
    for i in range(lo, hi):
        for o in columns:
            for c in range(channels):
                total = 0.0
                for t in range(index.shape[1]):
                    total += np.float64(src[i, index[o, t], c]) * weight[o, t]
                out[i, o, c] = min(max(total, low), high)


@jit(bands=True)
def along_columns_phased(lo, hi, src, ranges, offsets, values, low, high, out):
    """The same for an upsampling by a whole factor k, in the interior of each row, as a
    vector: output column ``k·j + p`` (phase ``p``) for ``j`` in ``ranges[p, 0] … ranges[p,
    1] − 1`` reads input columns ``j + offsets[p, t]``, tap ``t`` weighing ``values[p, t,
    j·C + c]`` (the table's weights, per value; :func:`phases` makes the plan). Each phase is
    summed over the whole row, in the order of ``t`` as :func:`along_columns` does, then
    placed at its output columns."""
    channels = src.shape[2]
    k = ranges.shape[0]
    plane, out_plane = src.reshape(src.shape[0], -1), out.reshape(out.shape[0], -1)
    phase = np.empty(values.shape[2])
    for i in range(lo, hi):
        row, out_row = plane[i], out_plane[i]
        for p in range(k):
            first, n = ranges[p, 0] * channels, (ranges[p, 1] - ranges[p, 0]) * channels
            a0, a1 = row[first + offsets[p, 0] * channels:], row[first + offsets[p, 1] * channels:]
            a2, a3 = row[first + offsets[p, 2] * channels:], row[first + offsets[p, 3] * channels:]
            w0, w1, w2, w3 = values[p, 0, first:], values[p, 1, first:], values[p, 2, first:], values[p, 3, first:]
            for m in range(n):
                total = 0.0 + np.float64(a0[m]) * w0[m]
                total = total + np.float64(a1[m]) * w1[m]
                total = total + np.float64(a2[m]) * w2[m]
                total = total + np.float64(a3[m]) * w3[m]
                phase[m] = min(max(total, low), high)
            for j in range(ranges[p, 1] - ranges[p, 0]):
                start = (k * (ranges[p, 0] + j) + p) * channels
                for c in range(channels):
                    out_row[start + c] = phase[j * channels + c]


@jit(bands=True)
def along_columns_decimated(lo, hi, src, offsets, values, span, low, high, out):
    """The same for a downsampling by a whole factor k (``src.shape[1] = k·out.shape[1]``) in
    the interior of each row, as a vector: output column ``o`` in ``span[0] … span[1] − 1``
    reads input columns ``k·o + offsets[t]``, tap ``t`` weighing ``values[t, o·C + c]``
    (:func:`decimation` makes the plan). Each row is first dealt into k planes, plane ``r``
    holding input columns ``k·j + r``, so that each tap reads one plane contiguously; taps are
    added GROUP a pass, in the order of ``t`` as :func:`along_columns` does."""
    channels = src.shape[2]
    k = src.shape[1] // out.shape[1]
    width = out.shape[1] * channels
    plane, out_plane = src.reshape(src.shape[0], -1), out.reshape(out.shape[0], -1)
    planes = np.empty((k, width), src.dtype)
    total = np.empty(width)
    first, n = span[0] * channels, (span[1] - span[0]) * channels
    for i in range(lo, hi):
        row = plane[i]
        for j in range(out.shape[1]):
            for r in range(k):
                for c in range(channels):
                    planes[r, j * channels + c] = row[(k * j + r) * channels + c]
        inside = total[:n]
        inside[:] = 0.0
        for t in range(0, offsets.shape[0], GROUP):
            a0 = _plane_at(planes, offsets[t], k, channels, first, n)
            a1 = _plane_at(planes, offsets[t + 1], k, channels, first, n)
            a2 = _plane_at(planes, offsets[t + 2], k, channels, first, n)
            a3 = _plane_at(planes, offsets[t + 3], k, channels, first, n)
            w0, w1, w2, w3 = values[t, first:], values[t + 1, first:], values[t + 2, first:], values[t + 3, first:]
            for m in range(n):
                inside[m] = (inside[m] + np.float64(a0[m]) * w0[m] + np.float64(a1[m]) * w1[m]
                             + np.float64(a2[m]) * w2[m] + np.float64(a3[m]) * w3[m])
        out_row = out_plane[i, first:first + n]
        for m in range(n):
            out_row[m] = min(max(inside[m], low), high)


@jit(inline="always")
def _plane_at(planes, offset, k, channels, first, n):
    """``n`` values of input column ``k·o + offset`` for the outputs ``o`` from value ``first``
    on: plane ``offset mod k``, shifted by ``offset div k`` pixels (floor division)."""
    start = first + (offset // k) * channels
    return planes[offset % k, start:start + n]


GROUP = 4  # taps added in one pass over a row, their terms in registers (the passes are written for four)


def packed(index, weight):
    """A tap table without its taps of weight 0, each output's others kept in order and
    shifted left, widened to a multiple of GROUP taps of weight 0 (at a pixel of the image).
    The sums of finite values are unchanged, bit for bit: a term ``0·v`` is ±0, and adding ±0
    to a sum that starts at +0 leaves it as it is (such a sum is never −0). Bicubic
    upsampling, whose tables (5 taps for Pillow, 6 for MATLAB) hold at most 4 nonzero weights
    per output, then takes one pass of :func:`along_rows` instead of two."""
    keep = weight != 0
    order = np.argsort(~keep, axis=1, kind="stable")  # the nonzero taps first, in their order
    width = max(1, int(keep.sum(axis=1).max()))
    width += -width % GROUP
    index = np.take_along_axis(index, order, axis=1)[:, :width]
    weight = np.take_along_axis(np.where(keep, weight, 0.0), order, axis=1)[:, :width]
    if index.shape[1] < width:  # fewer taps than a group in all
        extra = width - index.shape[1]
        index, weight = np.pad(index, ((0, 0), (0, extra)), mode="edge"), np.pad(weight, ((0, 0), (0, extra)))
    return np.ascontiguousarray(index), np.ascontiguousarray(weight)


def _regular_run(shift):
    """``(first, end, offsets)``: the run of outputs around the middle whose taps all read
    their position plus the same offsets (``shift`` holds each output's index minus its
    position; near the edges, where the window is cut or mirrored, the offsets differ)."""
    middle = shift.shape[0] // 2
    breaks = np.flatnonzero(~(shift == shift[middle]).all(axis=1))
    first = breaks[breaks < middle].max() + 1 if (breaks < middle).any() else 0
    end = breaks[breaks > middle].min() if (breaks > middle).any() else shift.shape[0]
    return int(first), int(end), shift[middle].astype(np.int64)


def _per_value(weight, first, end, channels, n):
    """The weights of outputs ``first`` … ``end − 1`` (taps × outputs) repeated for each
    channel, in an array of taps × ``n·channels`` values (0 outside)."""
    values = np.zeros((weight.shape[1], n * channels))
    values[:, first * channels:end * channels] = np.repeat(weight[first:end].T, channels, axis=1)
    return values


def phases(index, weight, n_in: int, channels: int):
    """The plan of :func:`along_columns_phased` for a (:func:`packed`, GROUP-tap) table of
    ``k·n_in`` outputs, k ≥ 2 whole, and the output columns it leaves to
    :func:`along_columns`: ``(ranges, offsets, values, rest)``; None for any other table.
    Phase ``p``'s range is the regular run (:func:`_regular_run`) of its outputs."""
    n_out, taps = index.shape
    k = n_out // n_in
    if k < 2 or k * n_in != n_out or taps != GROUP:
        return None
    ranges, offsets = np.zeros((k, 2), np.int64), np.zeros((k, taps), np.int64)
    values = np.zeros((k, taps, n_in * channels))
    inside = np.zeros(n_out, bool)
    for p in range(k):
        first, end, offsets[p] = _regular_run(index[p::k] - np.arange(n_in)[:, None])
        ranges[p] = first, end
        values[p] = _per_value(weight[p::k], first, end, channels, n_in)
        inside[k * np.arange(first, end) + p] = True
    return ranges, offsets, values, np.flatnonzero(~inside)


def decimation(index, weight, n_in: int, channels: int):
    """The plan of :func:`along_columns_decimated` for a (:func:`packed`) table of ``n_in /
    k`` outputs, k ≥ 2 whole, and the output columns it leaves to :func:`along_columns`:
    ``(offsets, values, span, rest)``; None for any other table. The span is the regular
    run (:func:`_regular_run`) of the outputs."""
    n_out, taps = index.shape
    k = n_in // n_out
    if k < 2 or k * n_out != n_in or taps % GROUP:
        return None
    first, end, offsets = _regular_run(index - k * np.arange(n_out)[:, None])
    inside = np.zeros(n_out, bool)
    inside[first:end] = True
    return (offsets, _per_value(weight, first, end, channels, n_out), np.array([first, end], np.int64),
            np.flatnonzero(~inside))


def column_plan(index, weight, n_in: int, channels: int):
    """How a (:func:`packed`) table resamples the columns of rows of ``n_in`` pixels:
    ``(kernel, arguments, columns)``, the vector kernel for a whole factor
    (:func:`along_columns_phased` up, :func:`along_columns_decimated` down) with its plan, or
    None, and the output columns left to :func:`along_columns` (every one without a plan)."""
    vector = (along_columns_phased, phases(index, weight, n_in, channels)) if index.shape[0] > n_in else \
        (along_columns_decimated, decimation(index, weight, n_in, channels))
    if vector[1] is None:
        return None, (), np.arange(index.shape[0])
    kernel, (*arguments, columns) = vector
    return kernel, tuple(arguments), columns


@jit(bands=True)
def along_rows(lo, hi, src, index, weight, low, high, out):
    """``out[o, j, c] = Σ_t weight[o, t]·src[index[o, t], j, c]``: each column resampled,
    whole rows at a time, GROUP taps a pass (the table :func:`packed`), added in the order
    of ``t``."""
    width = out.shape[1] * out.shape[2]
    plane = src.reshape(src.shape[0], -1)
    total = np.zeros(width)
    for o in range(lo, hi):
        total[:] = 0.0
        for t in range(0, index.shape[1], GROUP):
            w0, w1, w2, w3 = weight[o, t], weight[o, t + 1], weight[o, t + 2], weight[o, t + 3]
            r0, r1, r2, r3 = plane[index[o, t]], plane[index[o, t + 1]], plane[index[o, t + 2]], plane[index[o, t + 3]]
            for q in range(width):
                total[q] = (total[q] + np.float64(r0[q]) * w0 + np.float64(r1[q]) * w1 + np.float64(r2[q]) * w2
                            + np.float64(r3[q]) * w3)
        out_row = out[o].reshape(-1)
        for q in range(width):
            out_row[q] = min(max(total[q], low), high)
