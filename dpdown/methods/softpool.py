"""SoftPool (Stergiou et al., ICCV 2021) and LIP (Gao et al., ICCV 2019): softmax-weighted pooling.

.. math:: O[p] = \\frac{\\sum_{q \\in \\Omega_p} c(q)\\, e^{G(q)}\\, I[q]}{\\sum_{q \\in \\Omega_p} c(q)\\, e^{G(q)}}

with the logit ``G = β·I`` (SoftPool with temperature β; ``β = 1`` is the paper on [0, 1]
data, where it is close to average pooling) or, for LIP, ``G = β·I`` by default or a 3×3
``--logit-filter`` applied to the input around each pixel (zero padding; LIP learns a small
conv net here). Per channel. Numerically stable: the running maximum of ``G`` is
subtracted as the footprint is read (the online softmax), so no ``e^G`` overflows, unlike
the authors' CUDA. ``β → 0`` is average pooling; large ``β`` approaches max pooling.

Integer images hold values in [0, 1], where ``e^(β·x)`` cannot overflow for ``|β| ≤ 700``:
there SoftPool is two separable sums, ``Σ c·e^(βx)·x`` and ``Σ c·e^(βx)``, with each
``e^(βx)`` looked up in a table of the 2⁸ or 2¹⁶ values rather than computed per pixel.
"""

import numpy as np

from ..errors import ParameterError
from ..kernels import colour
from ..kernels.rules import WEIGHTS, unbound
from ..kernels.walkers.block import block_kernel, tiling
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import separable_kernel
from .registry import Method, Param, register

logit = unbound("logit")  # (px, c, params, at) → the logit of channel c, bound per method (SoftPool or LIP)


def _acc_width(n, params):
    return 3 * n  # per channel: running max logit, Σ c·e^(G−m)·x, Σ c·e^(G−m)


def _beta_logit(px, c, params, at):
    return params[0] * px[c]


def _filter_logit(px, c, params, at):
    # params: β, the 3×3 filter, then a stack's rows per frame (the filter reads no other frame)
    img, scale, y, x = at[0], at[1], at[2], at[3]
    frame_rows = int(params[10])
    g = 0.0
    for a in range(3):
        yy = y + a - 1
        if 0 <= yy < img.shape[0] and yy // frame_rows == y // frame_rows:
            for b in range(3):
                xx = x + b - 1
                if 0 <= xx < img.shape[1]:
                    g += params[1 + 3 * a + b] * (img[yy, xx, c] * scale)
    return g


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    for c in range(n):
        g = logit(px, c, params, at)  # bound per method
        m, num, den = acc[j, 3 * c], acc[j, 3 * c + 1], acc[j, 3 * c + 2]
        if den == 0.0:
            m = g
        elif g > m:
            shrink = np.exp(m - g)
            num *= shrink
            den *= shrink
            m = g
        e = cov * np.exp(g - m)
        acc[j, 3 * c] = m
        acc[j, 3 * c + 1] = num + e * px[c]
        acc[j, 3 * c + 2] = den + e


def _finalize(acc, ref, params, out):
    for c in range(out.shape[0]):
        out[c] = acc[3 * c + 1] / acc[3 * c + 2]


def _soft_terms(v, s, params):
    e = np.exp(params[0] * v)
    return e * v if s == 0 else e


def _soft_ratio(sums, total, params):
    return sums[0] / sums[1]


_BETA = pooling_kernel("softpool", _acc_width, _accumulate, _finalize, logit=_beta_logit)
_FILTER = pooling_kernel("lip_filter", _acc_width, _accumulate, _finalize, logit=_filter_logit)
# with alpha (no table: e^βv per value) a compiled-in block size bought 3–4 % (docs/benchmarks.md)
_BOUNDED = separable_kernel("softpool_bounded", _soft_terms, _soft_ratio, sums=2, lut=True, weighted=True,
                            alpha_blocks=frozenset())
BOUNDED_BETA = 700.0  # e^700 < float64's maximum, e^-700 > its smallest normal number


# The paper's SoftPool (β = 1) on uint8 images, the default, has its table compiled in as a
# constant: LLVM then vectorises the lookups, which it cannot do from a table passed in
# (nothing tells it the table and the output do not overlap). Where the footprints tile the
# image in blocks it runs as a block rule (kernels/walkers/block.py), elsewhere on the separable walker. A
# constant is one compilation per table, so only this default has one.

def _table_weight(stored, v, g, params):
    return WEIGHTS[stored]  # bound per transfer


_UNIT = {}


def _unit_kernels(work):
    """The block rule and the separable walker of β = 1 for ``work``'s transfer, their table
    filled as the walker's own."""
    transfer = colour.transfer(work)
    if transfer not in _UNIT:
        weights = _BOUNDED.table(work, np.array([1.0]))[1]
        _UNIT[transfer] = (block_kernel("softpool_unit", None, _table_weight, WEIGHTS=weights),
                           separable_kernel("softpool_unit_sep", _soft_terms, _soft_ratio, sums=2, lut=True,
                                            weighted=True, weights=weights))
    return _UNIT[transfer]


def softpool(work, footprint, beta=1.0):
    if work.pixels.dtype == np.uint8 and beta == 1.0 and work.device == "cpu" and _BOUNDED.uses_lut(work):
        blocks, separable = _unit_kernels(work)
        return run(blocks if tiling(work, footprint) else separable, work, footprint, (beta,))
    if _bounded(work, footprint, beta):
        return run(_BOUNDED, work, footprint, (beta,))
    return run(_BETA, work, footprint, (beta,))


def _bounded(work, footprint, beta):
    """Whether ``e^(βx)`` of every working value ``footprint`` reads stays within float64
    (``|βx| ≤ BOUNDED_BETA``), so that SoftPool's two sums need no running maximum: always for
    integer images (values in [0, 1]) at ``|β| ≤ BOUNDED_BETA``; for a float image on the CPU,
    where the largest magnitude of the rows it reads allows (one pass over them, so a strip
    reads only its own; NaN or ∞ never do). The separable walker then takes one
    ``e^(βx)`` per value for both sums, in half the time of the running-maximum walker."""
    if work.pixels.dtype.kind == "u":
        return abs(beta) <= BOUNDED_BETA
    rows = work.pixels[footprint.input_rows]
    if work.device != "cpu" or rows.size == 0:
        return False
    largest = max(abs(float(rows.max())), abs(float(rows.min()))) * work.scale
    if work.linear:  # sRGB decoding grows as x^2.4 above 1
        largest = max(largest, largest ** 2.4)
    return abs(beta) * largest <= BOUNDED_BETA


def lip(work, footprint, beta=1.0, logit_filter=()):
    if not logit_filter:
        return softpool(work, footprint, beta)
    if work.channel_pool[0] or work.alpha >= 0:
        raise ParameterError("lip's --logit-filter reads raw neighbouring channels: it cannot be "
                             "combined with --channel-pool or an alpha channel")
    return run(_FILTER, work, footprint, (beta,) + tuple(logit_filter) + (work.rows_per_frame,))


_BETA_PARAM = dict(kind="float", default=1.0, low=-1000.0, high=1000.0,
                   help="Softmax temperature β (logit β·x): 0 is avg, large → max, negative → min.")

register(Method(
    name="softpool",
    summary="SoftPool: softmax-weighted pooling, weights e^(βx); numerically stable, per channel.",
    formula="O[p] = Σ c(q)·e^(β·I[q])·I[q] / Σ c(q)·e^(β·I[q])",
    paper="Stergiou, Poppe, Kalliatakis. Refining activation downsampling with SoftPool. ICCV 2021",
    run=softpool,
    params=(Param("beta", **_BETA_PARAM),),
    notes="Per channel and stable (window max subtracted), unlike the authors' CPU path (one weight "
          "shared by all channels) and CUDA (overflow above x ≈ 88 in float32).",
))

register(Method(
    name="lip",
    summary="Local importance pooling: weights e^G(x) from a logit map G (βx, or a 3×3 filter).",
    formula="O[p] = Σ c(q)·e^(G[q])·I[q] / Σ c(q)·e^(G[q]),  G = β·I or G = F ⊛ I (3×3, zero padding)",
    paper="Gao, Hu, Shao, Zhou. LIP: Local Importance-based Pooling. ICCV 2019",
    run=lip,
    params=(Param("beta", **_BETA_PARAM),
            Param("logit_filter", "floats", (), "LIP's logit map as a 3×3 filter on the input, 9 numbers "
                  "row by row (replaces β·x).", length=9)),
    notes="The authors' parameter-free settings: G = x (SoftPool), G = 20x (≈ max), G = 0 (avg). "
          "Their learned G is a small conv net; here it is one 3×3 linear filter.",
    same_as=lambda beta, logit_filter: None if logit_filter else ("softpool", {"beta": beta}),
))
