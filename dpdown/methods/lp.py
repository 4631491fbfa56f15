"""Power-average (LPPool) and Lp pooling.

.. math:: O_{pow}[p] = \\Big(\\sum_{q} c(q)\\, |I[q]|^{p}\\Big)^{1/p}, \\qquad
          O_{Lp}[p] = \\Big(\\frac{\\sum_q c(q)\\, |I[q]|^{p}}{\\sum_q c(q)}\\Big)^{1/p}

Per channel; the absolute value keeps a fractional ``p`` defined on negative floats (on
images, which are non-negative, it changes nothing). Lp with ``p = 1`` is average pooling
and tends to max pooling as ``p`` grows; power-average is PyTorch's ``LPPool2d``, whose
output grows with the window (integer images clip it at the dtype's maximum).
"""

import numpy as np

from ..registry import Method, Param, register
from ..walk import pooling_kernel, run


def _acc_width(n):
    return n + 1


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    for c in range(n):
        acc[j, c] += cov * np.abs(px[c]) ** params[0]
    acc[j, n] += cov


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    for c in range(n):
        total = acc[c] / acc[n] if MEAN else acc[c]  # noqa: F821 (bound per method)
        out[c] = total ** (1.0 / params[0])


_KERNELS = {"lp": pooling_kernel("lp", _acc_width, _accumulate, _finalize, MEAN=True),
            "pow-average": pooling_kernel("pow_average", _acc_width, _accumulate, _finalize, MEAN=False)}

_P = dict(kind="float", default=2.0, flag="--p", low=0.01, high=100.0)

register(Method(
    name="pow-average",
    summary="Power-average pooling (LPPool): (Σ x^p)^(1/p); p = 1 is sum pooling.",
    formula="O[p] = (Σ c(q)·|I[q]|^p)^(1/p)",
    paper="PyTorch LPPool2d; power-average pooling in SoftPool's Table 1 (Stergiou et al., ICCV 2021).",
    run=lambda work, footprint, p: run(_KERNELS["pow-average"], work, footprint, (p,)),
    params=(Param("p", help="Exponent p of power-average / Lp pooling (1: sum / avg; large → max).", **_P),),
))

register(Method(
    name="lp",
    summary="Lp pooling: (mean x^p)^(1/p); p = 1 is avg, large p approaches max.",
    formula="O[p] = (Σ c(q)·|I[q]|^p / Σ c(q))^(1/p)",
    paper="Gulcehre, Cho, Pascanu, Bengio. Learned-norm pooling for deep feedforward and recurrent "
          "neural networks. ECML-PKDD 2014",
    run=lambda work, footprint, p: run(_KERNELS["lp"], work, footprint, (p,)),
    params=(Param("p", help="Exponent p of power-average / Lp pooling (1: sum / avg; large → max).", **_P),),
))
