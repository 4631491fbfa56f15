"""Ordinal (sorted-weights) pooling (Singla, 2017 blog post).

Sort the footprint's values of each channel in descending order, keep the first
``r = pool_range`` and combine them with ``softmax(w)`` weights, shared by all channels:

.. math:: O[p] = \\frac{\\sum_{t < r} s_t\\, c_{(t)}\\, x_{(t)}}{\\sum_{t < r} s_t\\, c_{(t)}},
          \\qquad s = \\mathrm{softmax}(w),\\ x_{(0)} \\ge x_{(1)} \\ge \\dots

where ``c_(t)`` is the coverage of the t-th largest pixel (1 in a window, where this is
``Σ s_t x_(t)``); equal values rank by larger coverage. ``r = 1`` is max pooling; uniform
weights with ``r = k²`` are average pooling. A clipped window with fewer than ``r`` pixels
renormalises over those it has.

The r largest of a footprint are among the r largest of each of its columns, so this runs
on the separable walker (``REDUCE = TOP``): each output row ranks its input rows' columns
once, then merges r slots per column, with ``r`` compiled in (the slot loops unroll).
"""

import numpy as np

from ..errors import ParameterError
from ..kernels.reductions import TOP
from ..kernels.rules import TOP_R
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import identity, separable_kernel
from .registry import Method, Param, register

MAX_RANGE = 64


def _weighted(slots, total, params):
    num = 0.0
    den = 0.0
    for t in range(TOP_R):  # bound per variant
        w = params[1 + t] * slots[TOP_R + t]
        if w > 0.0:  # an empty slot (fewer than r pixels) has coverage 0
            num += w * slots[t]
            den += w
    return num / den


def _top_two(first, second, params):
    """``_weighted`` of the two largest values where every coverage is 1 (r ≤ 2), as scalars."""
    if TOP_R == 1:
        return first
    return (params[1] * first + params[2] * second) / (params[1] + params[2])


# with alpha a compiled-in block size bought nothing (RGBA uint8: −2 % to 8 %, docs/benchmarks.md)
_KERNEL = separable_kernel("ordinal", identity, _weighted, reduce=TOP, pair=_top_two,
                           alpha_blocks=frozenset())


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
    notes="The weights are shared by all channels, as in the post's experiments. At a non-integer scale "
          "equal values rank by their coverage, larger first.",
))
