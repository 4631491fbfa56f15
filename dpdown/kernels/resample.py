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


@jit(bands=True)
def along_rows(lo, hi, src, index, weight, low, high, out):
    """``out[o, j, c] = Σ_t weight[o, t]·src[index[o, t], j, c]``: each column resampled,
    whole rows at a time."""
    width = out.shape[1] * out.shape[2]
    plane = src.reshape(src.shape[0], -1)
    for o in range(lo, hi):
        total = np.zeros(width)
        for t in range(index.shape[1]):
            w = weight[o, t]
            row = plane[index[o, t]]
            for q in range(width):
                total[q] += np.float64(row[q]) * w
        out_row = out[o].reshape(-1)
        for q in range(width):
            out_row[q] = min(max(total[q], low), high)
