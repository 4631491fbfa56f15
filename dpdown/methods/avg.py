"""Average pooling / box filter: the coverage-weighted mean of the footprint.

.. math:: O[p] = \\frac{\\sum_{q \\in \\Omega_p} c(q)\\, I[q]}{\\sum_{q \\in \\Omega_p} c(q)}

With a window footprint every coverage ``c`` is 1 (plain average pooling); with a
coverage footprint this is the area-averaging ("box") resize. DPID's first pass and
Lite-DPP's guidance are this same mean.
"""

from ..registry import Method, register
from ..walk import pooling_kernel, run


def _acc_width(n):
    return n + 1


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    for c in range(n):
        acc[j, c] += cov * px[c]
    acc[j, n] += cov


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    for c in range(n):
        out[c] = acc[c] / acc[n]


_kernel = pooling_kernel("avg", _acc_width, _accumulate, _finalize)


def box_mean(work, footprint):
    """Coverage-weighted mean of every footprint (float64, premultiplied where there is alpha)."""
    return run(_kernel, work, footprint)


def _run(work, footprint):
    return box_mean(work, footprint)


METHOD = register(Method(
    name="avg",
    summary="Average pooling; at a non-integer factor the area-weighted box filter.",
    formula="O[p] = Σ c(q)·I[q] / Σ c(q) over the footprint Ω_p (c: coverage, 1 inside a window)",
    paper="Standard average pooling; box filter of Weber et al. 2016 (DPID with λ = 0).",
    run=_run,
))
