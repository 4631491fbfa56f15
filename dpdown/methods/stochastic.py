"""Stochastic pooling (Zeiler & Fergus, ICLR 2013).

``sample`` picks one pixel of the footprint per channel with probability proportional to
its value (times its coverage): ``P(q) = c(q)·I[q] / Σ c·I``; an all-zero footprint gives 0.
``weighted`` is the paper's test-time "probabilistic weighting", the expectation:

.. math:: O[p] = \\frac{\\sum_q c(q)\\, I[q]^2}{\\sum_q c(q)\\, I[q]}

Sampling reads the footprint once, by weighted reservoir sampling (Chao 1982): pixel ``q``
with weight ``w = c(q)·I[q] > 0`` replaces the pick so far when ``u·W ≤ w``, ``W`` the weight
seen so far including ``q``; it is kept to the end with probability ``w / Σ w``. ``u`` is a
counter-based uniform keyed by (seed, row, column, channel), so a seed gives the same image
on any thread count or backend; the test is a product and a comparison, no logarithm (faster than Efraimidis–Spirakis
keys ``log(u)/w``: docs/benchmarks.md). Values must be
non-negative.
"""

import numpy as np

from ..errors import ParameterError
from ..kernels.rng import key, uniform_at
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import separable_kernel
from .registry import Method, Param, register

DEFAULT_SEED = 0


def _acc_width(n, params):
    return 2 * n  # per channel the weight seen so far and the pick


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    state = key(np.int64(params[0]), at[2], at[3])
    for c in range(n):
        w = cov * px[c]
        acc[j, 2 * c] += w
        # the pick by arithmetic (exact: products with 1 and 0), not a branch mispredicted
        # half the time; a pixel of weight 0 is never picked
        take = np.float64((uniform_at(state, c) * acc[j, 2 * c] <= w) & (w > 0.0))
        acc[j, 2 * c + 1] = take * px[c] + (1.0 - take) * acc[j, 2 * c + 1]


def _finalize(acc, ref, params, out):
    for c in range(out.shape[0]):
        out[c] = acc[2 * c + 1]


def _moments(v, s, params):
    return v * v if s == 0 else v  # Σ c·x² and Σ c·x


def _expectation(sums, total, params):
    return sums[0] / sums[1] if sums[1] > 0.0 else 0.0


_KERNELS = {"sample": pooling_kernel("stochastic_sample", _acc_width, _accumulate, _finalize),
            "weighted": separable_kernel("stochastic_weighted", _moments, _expectation, sums=2)}


def stochastic(work, footprint, mode="sample", seed=DEFAULT_SEED):
    if work.pixels.dtype.kind == "f" and not (work.pixels.min() >= 0 and work.pixels.max() < np.inf):
        raise ParameterError("stochastic pooling needs finite, non-negative values (they are probabilities)")
    return run(_KERNELS[mode], work, footprint, (float(seed),))


SEED = Param("seed", "int", DEFAULT_SEED, "Seed of the counter-based random numbers (same seed, same image, "
             "on any thread count or backend).", low=0, high=2 ** 53)

register(Method(
    name="stochastic",
    summary="Stochastic pooling: sample a pixel with probability ∝ its value, or their expectation.",
    formula="sample: P(q) = c(q)·I[q] / Σ c·I;  weighted: O[p] = Σ c(q)·I[q]² / Σ c(q)·I[q]",
    paper="Zeiler, Fergus. Stochastic pooling for regularization of deep convolutional neural "
          "networks. ICLR 2013",
    run=stochastic,
    params=(Param("mode", "choice", "sample", "Stochastic pooling: sample (training) or weighted "
                  "(the test-time expectation).", choices=("sample", "weighted")),
            SEED),
))
