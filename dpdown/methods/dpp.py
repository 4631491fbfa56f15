"""DPP — detail-preserving pooling (Saeedan, Weber, Goesele, Roth, CVPR 2018).

Per channel, with guidance :math:`\\tilde I`:

.. math::

    w[q] = \\alpha + \\rho_\\lambda(I[q] - \\tilde I[p]), \\qquad
    O[p] = \\frac{\\sum_{q \\in \\Omega_p} c(q)\\, w[q]\\, I[q]}{\\sum_{q \\in \\Omega_p} c(q)\\, w[q]}

with the symmetric reward :math:`\\rho_{Sym}(x) = (\\sqrt{x^2 + \\varepsilon^2})^\\lambda` or the
asymmetric :math:`\\rho_{Asym}(x) = (\\sqrt{\\max(0, x)^2 + \\varepsilon^2})^\\lambda`,
:math:`\\varepsilon^2 = 0.001` (Eq. 4–8). Lite-DPP's guidance is the footprint's mean; Full-DPP's
is a 3×3 filter ``F`` applied at the footprint's first pixel with zero padding (the reference
code's depthwise 3×3 convolution, stride k, padding 1). dpdown follows the paper's reward,
without the reference code's extra normalisation of the squared difference.

Propositions (tested): ``λ = 0`` is average pooling for any ``α``; ``α = 0, λ → ∞`` is
extremum pooling (symmetric) or max pooling (asymmetric).
"""

import numpy as np

from ..kernels import bands, colour
from ..kernels.jit import Lazy, inline, jit, specialise
from ..kernels.powers import for_lambda, per_lambda
from ..kernels.rules import CHANNELS, INTEGER, SUM_TYPE, decode, unbound, weight
from ..kernels.walkers.block import block_kernel, tiling
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import separable_kernel
from ..kernels.walkers.shared import load_pixel, pixel_loader
from .avg import average, box_mean
from .registry import Method, Param, register

reward_power = unbound("reward_power")    # (x, λ) → x^(λ/2), bound per λ class (powers.per_lambda)
reward_weight = unbound("reward_weight")  # (v, g, params) → α + ρ_λ(v − g), bound per λ class
cuda = float64 = None  # numba.cuda and its float64, bound when compiled for the GPU

EPS2 = 0.001
BINOMIAL = (1 / 16, 2 / 16, 1 / 16, 2 / 16, 4 / 16, 2 / 16, 1 / 16, 2 / 16, 1 / 16)


@inline
def _filter_pixel(img, scale, alpha, frame_rows, row_start, col_start, taps, out, i, j, px):
    """``out[i, j] = Σ taps[a, b]·I[row_start[i]+a-1, col_start[j]+b-1]``, zero outside the
    image, and outside the frame of ``frame_rows`` rows the footprint is in (a stack's)."""
    channels = out.shape[2]
    for c in range(channels):
        out[i, j, c] = 0.0
    frame = row_start[i] // frame_rows
    for a in range(3):
        y = row_start[i] + a - 1
        if y < 0 or y >= img.shape[0] or y // frame_rows != frame:
            continue
        for b in range(3):
            x = col_start[j] + b - 1
            if x < 0 or x >= img.shape[1]:
                continue
            load_pixel(img, y, x, scale, alpha, channels, px)
            for c in range(channels):
                out[i, j, c] += taps[a, b] * px[c]


@jit(bands=True)
def _filter_at_starts(lo, hi, img, scale, alpha, frame_rows, row_start, col_start, taps, out):
    for i in range(lo, hi):
        px = np.empty(out.shape[2])
        for j in range(out.shape[1]):
            _filter_pixel(img, scale, alpha, frame_rows, row_start, col_start, taps, out, i, j, px)


def _filter_at_starts_cuda(img, scale, alpha, frame_rows, row_start, col_start, taps, out):
    j, i = cuda.grid(2)  # bound when compiled for CUDA
    if i < out.shape[0] and j < out.shape[1]:
        px = cuda.local.array(CHANNELS, float64)  # bound per variant
        _filter_pixel(img, scale, alpha, frame_rows, row_start, col_start, taps, out, i, j, px)


_filter_at_starts_cuda = Lazy(_filter_at_starts_cuda)
_FILTER_KERNELS = {}


def _filter_kernel(work):
    transfer = colour.transfer(work, work.device)
    key = (work.device, work.channel_pool, work.out_channels if work.device == "cuda" else 0, transfer)
    if key not in _FILTER_KERNELS:
        mode, size = work.channel_pool
        name = f"dpp_filter_p{mode}x{size}" + (f"_lin{transfer[0]}x{transfer[1]}" if transfer[0] else "")
        if work.device == "cuda":
            from numba import float64

            _FILTER_KERNELS[key] = specialise(_filter_at_starts_cuda, f"{name}_c{key[2]}_cuda",
                                              _filter_pixel=Lazy(_filter_pixel.py_func, bindings=dict(
                                                  load_pixel=pixel_loader(work))),
                                              CHANNELS=key[2], float64=float64)
        else:
            _FILTER_KERNELS[key] = specialise(_filter_at_starts, name, _filter_pixel=Lazy(
                _filter_pixel.py_func, bindings=dict(load_pixel=pixel_loader(work)), inline="always"))
    return _FILTER_KERNELS[key]


def _weight(v, g, params):
    """``α + ρ_λ(v − g)``; params = (α, λ, 1 if asymmetric else 0)."""
    diff = v - g
    if params[2] != 0.0:
        diff = max(diff, 0.0)
    return params[0] + reward_power(diff * diff + EPS2, params[1])  # bound per λ


# On the footprint walker (any footprint, and the GPU):
def _acc_width(n, params):
    return 2 * n


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    for c in range(n):
        w = cov * weight(px[c], ref[i, j, c], params)
        acc[j, c] += w * px[c]
        acc[j, n + c] += w


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    for c in range(n):
        out[c] = acc[c] / acc[n + c] if acc[n + c] > 0.0 else ref[c]


# On the separable walker, where no input column is in two footprints (faster: docs/benchmarks.md):
def _term(v, g, s, params):
    w = weight(v, g, params)
    return w * v if s == 0 else w


def _ratio(sums, total, params):
    return sums[0] / sums[1]  # > 0: every weight is at least ε^λ


def _weight_for(reward_power):
    return Lazy(_weight, bindings=dict(reward_power=inline(reward_power)), inline="always")


# Single-precision roots where a weight is computed alone (the footprint walker, and GPUs);
# in the vectorised separable paths converting to float32 and back costs more than the
# double root saves (measured: docs/benchmarks.md).
_KERNELS = per_lambda(lambda name, f: pooling_kernel(f"dpp_{name}", _acc_width, _accumulate, _finalize,
                                                     weight=_weight_for(f)), weights=True)
_SEPARABLE = per_lambda(lambda name, f: separable_kernel(f"dpp_sep_{name}", None, _ratio, sums=2, guided=_term,
                                                         weighted=True, weight=_weight_for(f)))


# Lite-DPP as a block rule (kernels/walkers/block.py): where the footprints tile the image in blocks, each
# block's mean and weighted mean come straight from its values — no guidance image written
# and read again.

def _lite_guide(flat, y0, x0, rows, cols, n, c, scale, params):
    """Ĩ: the block's mean, summed column by column (integers, exact, where decoding is linear)."""
    total = SUM_TYPE(0)  # bound per variant
    for b in range(cols):
        column = SUM_TYPE(0)
        for a in range(rows):
            if INTEGER:
                column += flat[y0 + a, (x0 + b) * n + c]
            else:
                column += decode(flat[y0 + a, (x0 + b) * n + c], scale)
        total += column
    return total * scale / (rows * cols) if INTEGER else total / (rows * cols)


def _lite_weight(stored, v, g, params):
    return reward_weight(v, g, params)  # bound per λ


_LITE = per_lambda(lambda name, f: block_kernel(f"dpp_lite_{name}", _lite_guide, _lite_weight,
                                                reward_weight=_weight_for(f)))  # roots as _SEPARABLE's


def dpp_guidance(work, footprint, guide="lite", filter=BINOMIAL):
    """Lite: the footprint mean; Full: the 3×3 ``filter`` at each footprint's first pixel."""
    if guide == "lite":
        return box_mean(work, footprint)
    taps = np.asarray(filter, dtype=np.float64).reshape(3, 3)
    args = (work.pixels, work.scale, work.alpha, work.rows_per_frame, footprint.rows.start, footprint.cols.start, taps)
    if work.device == "cuda":
        from ..kernels.device import as_device
        from ..kernels.walkers.window_cuda import empty, launch

        out = empty(footprint.shape + (work.channels,))
        launch(_filter_kernel(work), footprint.shape, work.device_pixels, *args[1:4], *map(as_device, args[4:]), out)
    else:
        out = np.empty(footprint.shape + (work.channels,))
        bands.run(_filter_kernel(work), out.shape[0], *args, out)
    return out


def dpp(work, footprint, alpha=1.0, lam=1.0, variant="sym", guide="lite", filter=BINOMIAL):
    """DPP of a working image over ``footprint``; float64 working values out. With λ = 0
    every weight is α + 1: average pooling, computed (and rounded) as such."""
    if lam == 0:
        return average(work, footprint)
    params = (alpha, lam, 1.0 if variant == "asym" else 0.0)
    if guide == "lite" and tiling(work, footprint):
        return run(for_lambda(_LITE, lam), work, footprint, params)
    ref = dpp_guidance(work, footprint, guide, filter)
    kernels = _SEPARABLE if work.device == "cpu" and footprint.disjoint_columns else _KERNELS
    return run(for_lambda(kernels, lam), work, footprint, params, ref=ref)


METHOD = register(Method(
    name="dpp",
    summary="Detail-preserving pooling: per channel, reward deviations from a linear guide (Lite or Full).",
    formula="O[p] = Σ c(q)·w[q]·I[q] / Σ c(q)·w[q],  w[q] = α + ρ_λ(I[q] − Ĩ[p]),  "
            "ρ_Sym(x) = (x² + ε²)^(λ/2), ρ_Asym(x) = (max(0,x)² + ε²)^(λ/2), ε² = 0.001",
    paper="Saeedan, Weber, Goesele, Roth. Detail-Preserving Pooling in Deep Networks. CVPR 2018",
    run=dpp,
    params=(
        Param("alpha", "float", 1.0, "DPP reward offset α (0 rewards only deviations; large α → average).",
              low=0.0, high=1e6),
        Param("lam", "float", 1.0, "DPP reward exponent λ: 0 is average pooling, large → extremum/max.",
              flag="--lambda", low=0.0, high=100.0),
        Param("variant", "choice", "sym", "DPP reward: sym rewards all deviations, asym only "
              "brighter-than-guide ones.", choices=("sym", "asym")),
        Param("guide", "choice", "lite", "DPP guidance: lite = window mean, full = 3×3 --filter.",
              choices=("lite", "full")),
        Param("filter", "floats", BINOMIAL, "Full-DPP's 3×3 guidance filter, 9 numbers row by row "
              "(default: normalised binomial 1 2 1 / 2 4 2 / 1 2 1 ÷ 16).", length=9),
    ),
    notes="Default Lite-DPP, symmetric: the authors' recommended choice. Full-DPP filter centred at "
          "each window's first pixel with zero padding, as the reference's stride-k conv with padding 1.",
))
