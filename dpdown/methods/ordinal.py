"""Ordinal (sorted-weights) pooling (Singla; paper 004).

Sort the footprint's values of each channel in descending order, keep the first
``r = pool_range`` and combine them with ``softmax(w)`` weights, shared by all channels:

.. math:: O[p] = \\frac{\\sum_{t < r} s_t\\, c_{(t)}\\, x_{(t)}}{\\sum_{t < r} s_t\\, c_{(t)}},
          \\qquad s = \\mathrm{softmax}(w),\\ x_{(0)} \\ge x_{(1)} \\ge \\dots

where ``c_(t)`` is the coverage of the t-th largest pixel (1 in a window, where this is
``Σ s_t x_(t)``). ``r = 1`` is max pooling; uniform weights with ``r = k²`` are average
pooling. A clipped window with fewer than ``r`` pixels renormalises over those it has.
"""

import numpy as np

from ..errors import ParameterError
from ..registry import Method, Param, register
from ..walk import pooling_kernel, run

MAX_RANGE = 64


def _acc_width(n, params):
    return 2 * int(params[0]) * n + 1  # per channel the r top values and their coverages; the count seen


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    r = int(params[0])
    seen = int(acc[j, 2 * r * n])
    kept = min(seen, r)
    for c in range(n):
        base = 2 * r * c
        v = px[c]
        if kept == r and v <= acc[j, base + r - 1]:
            continue
        t = kept if kept < r else r - 1  # insertion sort, descending, dropping the smallest
        while t > 0 and acc[j, base + t - 1] < v:
            acc[j, base + t] = acc[j, base + t - 1]
            acc[j, base + r + t] = acc[j, base + r + t - 1]
            t -= 1
        acc[j, base + t] = v
        acc[j, base + r + t] = cov
    acc[j, 2 * r * n] = seen + 1


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    r = int(params[0])
    kept = min(int(acc[2 * r * n]), r)
    for c in range(n):
        base = 2 * r * c
        num = 0.0
        den = 0.0
        for t in range(kept):
            w = params[1 + t] * acc[base + r + t]
            num += w * acc[base + t]
            den += w
        out[c] = num / den


_KERNEL = pooling_kernel("ordinal", _acc_width, _accumulate, _finalize)


def softmax(weights):
    w = np.asarray(weights, dtype=np.float64)
    e = np.exp(w - w.max())
    return e / e.sum()


def ordinal(work, footprint, pool_range=2, weights=()):
    weights = tuple(weights) or (0.0,) * pool_range
    if len(weights) != pool_range:
        raise ParameterError(f"--weights needs pool_range = {pool_range} numbers (got {len(weights)})")
    return run(_KERNEL, work, footprint, (float(pool_range),) + tuple(softmax(weights)))


register(Method(
    name="ordinal",
    summary="Ordinal pooling: the r largest values, sorted, combined with softmax(w) weights.",
    formula="O[p] = Σ_{t<r} s_t·x_(t) / Σ_{t<r} s_t (coverage-weighted),  s = softmax(w),  x_(0) ≥ x_(1) ≥ …",
    paper="Singla. A new kind of pooling layer for faster and sharper convergence (2017 blog post)",
    run=ordinal,
    params=(Param("pool_range", "int", 2, f"Ordinal pooling: how many of the largest values to keep "
                  f"(1 is max; at most {MAX_RANGE}).", low=1, high=MAX_RANGE),
            Param("weights", "floats", (), "Ordinal pooling's r weights w, largest value first; softmax "
                  "makes them positive and sum to 1 (default zeros: the mean of the r largest).",
                  size_from="pool_range")),
    notes="The weights are shared by all channels, as in the post's experiments.",
))
