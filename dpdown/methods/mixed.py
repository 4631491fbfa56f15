"""Mixed and gated pooling (Lee, Gallagher, Tu, AISTATS 2016): between max and average.

.. math:: O[p] = a\\,\\max_{q \\in \\Omega_p} I[q] + (1 - a)\\,\\mathrm{avg}_{q \\in \\Omega_p} I[q]

Mixed pooling uses a fixed ``a`` (50/50 in the DPP paper's comparison). Gated pooling
computes it per output pixel and channel, ``a = σ(ωᵀx)``, from a ``k×k`` mask ``ω`` over
the window (learned in the paper; given here, default zeros, i.e. 50/50).

On the CPU mixed pooling runs on the separable walker, in one pass: each footprint's max and
coverage-weighted sum reduced column by column side by side (``MAX_AND_SUM``), then mixed;
faster than the footprint walker, which gated pooling (its mix a function of the whole
window) and the GPU use (docs/benchmarks.md has by how much).
"""

import numpy as np

from ..errors import ParameterError
from ..kernels.reductions import MAX_AND_SUM
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import identity, separable_kernel
from .registry import Method, Param, register

GATED = False  # gated pooling (the mix a learned gate) or mixed pooling (a fixed mix), bound per method


def _acc_width(n, params):
    return 3 * n + 2  # per channel max, Σ c·x, ωᵀx; then Σ c and whether a pixel was seen


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    first = acc[j, 3 * n + 1] == 0.0
    for c in range(n):
        if first or px[c] > acc[j, 3 * c]:
            acc[j, 3 * c] = px[c]
        acc[j, 3 * c + 1] += cov * px[c]
        if GATED:  # bound per method
            k = int(params[0])
            acc[j, 3 * c + 2] += params[1 + at[4] * k + at[5]] * px[c]
    acc[j, 3 * n] += cov
    acc[j, 3 * n + 1] = 1.0


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    for c in range(n):
        a = 1.0 / (1.0 + np.exp(-acc[3 * c + 2])) if GATED else params[0]
        out[c] = a * acc[3 * c] + (1.0 - a) * acc[3 * c + 1] / acc[3 * n]


_MIXED = pooling_kernel("mixed", _acc_width, _accumulate, _finalize, GATED=False)
_GATED = pooling_kernel("gated", _acc_width, _accumulate, _finalize, GATED=True)


def _mix(sums, total, params):
    """``a·max + (1 − a)·mean`` from the footprint's max and coverage-weighted sum."""
    return params[0] * sums[0] + (1.0 - params[0]) * sums[1] / total


_MIXED_SEPARABLE = separable_kernel("mixed_sep", identity, _mix, sums=2, reduce=MAX_AND_SUM)


def mixed(work, footprint, mix=0.5):
    if work.device == "cpu":
        return run(_MIXED_SEPARABLE, work, footprint, (mix,))
    return run(_MIXED, work, footprint, (mix,))


def gated(work, footprint, gate_weights=()):
    if footprint.k is None:
        raise ParameterError("gated pooling's mask is k×k: use -k, not --size or --scale")
    k = footprint.k
    mask = tuple(gate_weights) or (0.0,) * (k * k)
    if len(mask) != k * k:
        raise ParameterError(f"--gate-weights needs k×k = {k * k} numbers for k = {k} (got {len(mask)})")
    return run(_GATED, work, footprint, (float(k),) + mask)


register(Method(
    name="mixed",
    summary="Mixed pooling: a·max + (1−a)·avg.",
    formula="O[p] = a·max(Ω_p) + (1 − a)·avg(Ω_p)",
    paper="Lee, Gallagher, Tu. Generalizing pooling functions in convolutional neural networks: "
          "mixed, gated, and tree. AISTATS 2016",
    run=mixed,
    params=(Param("mix", "float", 0.5, "Share a of max in mixed pooling (0: avg, 1: max).", low=0.0, high=1.0),),
))

register(Method(
    name="gated",
    summary="Gated pooling: σ(ωᵀx)·max + (1 − σ(ωᵀx))·avg with a k×k mask ω (window footprints).",
    formula="O[p] = σ(ωᵀx)·max(Ω_p) + (1 − σ(ωᵀx))·avg(Ω_p),  x the window, ω a k×k mask",
    paper="Lee, Gallagher, Tu. Generalizing pooling functions in convolutional neural networks: "
          "mixed, gated, and tree. AISTATS 2016",
    run=gated,
    params=(Param("gate_weights", "floats", (), "Gated pooling's k×k mask ω, row by row "
                  "(default zeros: σ(0) = ½, i.e. 50/50).", size_from="window"),),
    notes="A clipped edge window uses the mask entries of the positions it has.",
))
