"""Power-average (LPPool) and Lp pooling.

.. math:: O_{pow}[p] = \\Big(\\sum_{q} c(q)\\, |I[q]|^{p}\\Big)^{1/p}, \\qquad
          O_{Lp}[p] = \\Big(\\frac{\\sum_q c(q)\\, |I[q]|^{p}}{\\sum_q c(q)}\\Big)^{1/p}

Per channel; the absolute value keeps a fractional ``p`` defined on negative floats (on
images, which are non-negative, it changes nothing). Lp with ``p = 1`` is average pooling
and tends to max pooling as ``p`` grows; power-average is PyTorch's ``LPPool2d``, whose
output grows with the window (integer images clip it at the dtype's maximum).
"""

import numpy as np

from ..kernels.powers import for_lambda, per_lambda
from ..kernels.rules import unbound
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import exact_mean, exact_sum, separable_kernel
from .registry import Method, Param, register

power = unbound("power")  # (x², p) → |x|^p, bound per p class (powers.per_lambda)
MEAN = True  # Lp (the mean) or power-average (the sum), bound per method


def _power(v, s, params):
    return power(v * v, params[0])  # |v|^p, bound per p


def _finish(sums, total, params):
    value = sums[0] / total if MEAN else sums[0]  # bound per method
    p = params[0]
    return value if p == 1.0 else np.sqrt(value) if p == 2.0 else value ** (1.0 / p)


def exact_root_mean_square(total, count, limit):
    """Lp at p = 2 of an unsigned image from its integer sum of squares: the scale cancels,
    ``sqrt(Σ v² / n)`` is rounded once (``total / count`` is exact in float64, the root
    correctly rounded, so a tie such as √(25 / 4) = 2.5 rounds half to even)."""
    return np.rint(np.sqrt(total / count))


def exact_root_sum_square(total, count, limit):
    """Power-average at p = 2: ``sqrt(Σ v²)``, clipped at the dtype's maximum."""
    return min(np.rint(np.sqrt(np.float64(total))), limit)


# |x|^p = (x²)^(p/2): the same per-λ specialisation as DPID's distance power (p = 1, 2 need no
# pow); on integer images p = 1 and 2 add the stored values or their squares exactly (INT_SUM)
# and write an unsigned output straight from those sums (EXACT)
_EXACT = {("lp", "sqrt"): exact_mean, ("lp", "square"): exact_root_mean_square,
          ("pow-average", "sqrt"): exact_sum, ("pow-average", "square"): exact_root_sum_square}
_KERNELS = {method: per_lambda(lambda tag, f, method=method: separable_kernel(
                f"{method.replace('-', '_')}_{tag}", _power, _finish, lut=tag == "pow",
                int_power={"sqrt": 1, "square": 2}.get(tag, 0), exact=_EXACT.get((method, tag)),
                MEAN=method == "lp", power=f))
            for method in ("lp", "pow-average")}

_P = dict(kind="float", default=2.0, flag="--p", low=0.01, high=100.0)

register(Method(
    name="pow-average",
    summary="Power-average pooling (LPPool): (Σ x^p)^(1/p); p = 1 is sum pooling.",
    formula="O[p] = (Σ c(q)·|I[q]|^p)^(1/p)",
    paper="PyTorch LPPool2d; power-average pooling in SoftPool's Table 1 (Stergiou et al., ICCV 2021).",
    run=lambda work, footprint, p: run(for_lambda(_KERNELS["pow-average"], p), work, footprint, (p,)),
    params=(Param("p", help="Exponent p of power-average / Lp pooling (1: sum / avg; large → max).", **_P),),
))

register(Method(
    name="lp",
    summary="Lp pooling: (mean x^p)^(1/p); p = 1 is avg, large p approaches max.",
    formula="O[p] = (Σ c(q)·|I[q]|^p / Σ c(q))^(1/p)",
    paper="Gulcehre, Cho, Pascanu, Bengio. Learned-norm pooling for deep feedforward and recurrent "
          "neural networks. ECML-PKDD 2014",
    run=lambda work, footprint, p: run(for_lambda(_KERNELS["lp"], p), work, footprint, (p,)),
    params=(Param("p", help="Exponent p of power-average / Lp pooling (1: sum / avg; large → max).", **_P),),
))
