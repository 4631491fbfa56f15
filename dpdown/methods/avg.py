"""Average and sum pooling: the coverage-weighted mean, or sum, of the footprint.

.. math:: O_{avg}[p] = \\frac{\\sum_{q \\in \\Omega_p} c(q)\\, I[q]}{\\sum_{q \\in \\Omega_p} c(q)},
          \\qquad O_{sum}[p] = \\sum_{q \\in \\Omega_p} c(q)\\, I[q]

With a window footprint every coverage ``c`` is 1 (plain average pooling); with a
coverage footprint this is the area-averaging ("box") resize. DPID's first pass and
Lite-DPP's guidance are this same mean. The sum is not normalised: integer images clip it
to the dtype's range, as SoftPool's Table 1 scores for it suggest.
"""

from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import exact_mean, exact_sum, identity, separable_kernel
from .registry import Method, register


def mean(sums, total, params):
    """The coverage-weighted mean: the footprint's sum over its total coverage."""
    return sums[0] / total


def _sum(sums, total, params):
    return sums[0]


_kernel = separable_kernel("avg", identity, mean, exact=exact_mean)
_sum_kernel = separable_kernel("sum", identity, _sum, exact=exact_sum)


def box_mean(work, footprint):
    """Coverage-weighted mean of every footprint (float64, premultiplied where there is alpha)."""
    return run(_kernel, work, footprint, final=False)


def average(work, footprint):
    """Average pooling of a working image over ``footprint``, as the output (for integer
    images rounded exactly, half to even). DPID and DPP with λ = 0 are this, bit for bit."""
    return run(_kernel, work, footprint)


METHOD = register(Method(
    name="avg",
    summary="Average pooling; at a non-integer factor the area-weighted box filter.",
    formula="O[p] = Σ c(q)·I[q] / Σ c(q) over the footprint Ω_p (c: coverage, 1 inside a window)",
    paper="Standard average pooling; box filter of Weber et al. 2016 (DPID with λ = 0).",
    run=average,
))


register(Method(
    name="sum",
    summary="Sum pooling (not normalised; integer images clip at the dtype's maximum).",
    formula="O[p] = Σ c(q)·I[q] over the footprint Ω_p",
    paper="Sum pooling, in SoftPool's comparison (Stergiou et al., ICCV 2021, Table 1).",
    run=lambda work, footprint: run(_sum_kernel, work, footprint),
))
