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
def along_columns(lo, hi, src, index, weight, low, high, out):
    """``out[i, o, c] = Σ_t weight[o, t]·src[i, index[o, t], c]``: each row resampled."""
    channels = src.shape[2]
    for i in range(lo, hi):
        for o in range(out.shape[1]):
            for c in range(channels):
                total = 0.0
                for t in range(index.shape[1]):
                    total += np.float64(src[i, index[o, t], c]) * weight[o, t]
                out[i, o, c] = min(max(total, low), high)


GROUP = 4  # taps of :func:`along_rows` added in one pass over a row, their terms in registers


def padded(index, weight):
    """A tap table widened to a multiple of GROUP taps, the added taps weighing 0 (at a pixel
    of the image, which adds exactly 0 to every sum), as :func:`along_rows` reads it."""
    extra = -index.shape[1] % GROUP
    if not extra:
        return index, weight
    return (np.ascontiguousarray(np.pad(index, ((0, 0), (0, extra)), mode="edge")),
            np.ascontiguousarray(np.pad(weight, ((0, 0), (0, extra)))))


@jit(bands=True)
def along_rows(lo, hi, src, index, weight, low, high, out):
    """``out[o, j, c] = Σ_t weight[o, t]·src[index[o, t], j, c]``: each column resampled,
    whole rows at a time, GROUP taps a pass (the table :func:`padded`), added in the order
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
