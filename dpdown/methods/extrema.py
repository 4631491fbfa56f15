"""Max and min pooling: the extreme value among the footprint's pixels.

.. math:: O_{max}[p] = \\max_{q \\in \\Omega_p,\\ c(q) > 0} I[q], \\qquad
          O_{min}[p] = \\min_{q \\in \\Omega_p,\\ c(q) > 0} I[q]

Per channel. With a coverage footprint every pixel with a positive coverage takes part.
"""

from ..kernels.reductions import MAX_OF, MIN_OF
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import exact_value, identity, separable_kernel
from .registry import Method, register


def _extreme(sums, total, params):
    return sums[0]


_KERNELS = {"max": separable_kernel("max", identity, _extreme, reduce=MAX_OF, exact=exact_value),
            "min": separable_kernel("min", identity, _extreme, reduce=MIN_OF, exact=exact_value)}


def extremum(work, footprint, which="max", final=None):
    return run(_KERNELS[which], work, footprint, final=final)


register(Method(
    name="max",
    summary="Max pooling: the largest value of each channel in the footprint.",
    formula="O[p] = max over q in Ω_p with c(q) > 0 of I[q]",
    paper="Max pooling (Riesenhuber & Poggio 1999; Ranzato et al. 2007).",
    run=lambda work, footprint: extremum(work, footprint, "max"),
))

register(Method(
    name="min",
    summary="Min pooling: the smallest value of each channel in the footprint.",
    formula="O[p] = min over q in Ω_p with c(q) > 0 of I[q]",
    paper="Min pooling, in SoftPool's comparison (Stergiou et al., ICCV 2021, Table 1).",
    run=lambda work, footprint: extremum(work, footprint, "min"),
))
