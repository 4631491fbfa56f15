"""Max and min pooling: the extreme value among the footprint's pixels.

.. math:: O_{max}[p] = \\max_{q \\in \\Omega_p,\\ c(q) > 0} I[q], \\qquad
          O_{min}[p] = \\min_{q \\in \\Omega_p,\\ c(q) > 0} I[q]

Per channel. With a coverage footprint every pixel with a positive coverage takes part.
"""

from ..registry import Method, register
from ..walk import pooling_kernel, run


def _acc_width(n):
    return n + 1  # the extreme per channel, and whether one has been seen


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    first = acc[j, n] == 0.0
    for c in range(n):
        v = SIGN * px[c]  # noqa: F821 (bound: +1 for max, -1 for min)
        if first or v > acc[j, c]:
            acc[j, c] = v
    acc[j, n] = 1.0


def _finalize(acc, ref, params, out):
    for c in range(out.shape[0]):
        out[c] = SIGN * acc[c]  # noqa: F821


_KERNELS = {"max": pooling_kernel("max", _acc_width, _accumulate, _finalize, SIGN=1.0),
            "min": pooling_kernel("min", _acc_width, _accumulate, _finalize, SIGN=-1.0)}


def extremum(work, footprint, which="max"):
    return run(_KERNELS[which], work, footprint)


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
