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

import math

import numpy as np

from ..errors import ParameterError
from ..kernels.device import as_device, stream, to_host
from ..kernels.jit import Lazy
from ..kernels.rng import key, uniform_at
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from ..kernels.walkers.separable import separable_kernel
from .registry import Method, Param, register

DEFAULT_SEED = 0
cuda = None  # numba.cuda, bound when a template is compiled for the GPU (jit.Lazy.python_function)


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


def _flag_invalid(values, flag):
    # GPU: flag[0] = 1 if any value is negative, NaN or infinite (grid-stride loop)
    for q in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        v = values[q]
        if not (v >= 0.0 and v < math.inf):
            flag[0] = 1


_flag_invalid = Lazy(_flag_invalid)


def _probabilities(work, footprint) -> bool:
    """Whether every value ``footprint`` reads is finite and non-negative (integers always
    are), checked where the pixels are: on the GPU for a GPU array, with no copy of it to the
    host; a strip checks its own rows only."""
    if work.pixels.dtype.kind != "f":
        return True
    if work.device != "cuda":
        rows = work.pixels[footprint.input_rows]
        return bool(rows.min(initial=0.0) >= 0 and rows.max(initial=0.0) < np.inf)
    values = work.device_pixels[footprint.input_rows].reshape(-1)
    flag = as_device(np.zeros(1, np.int32))
    blocks = max(1, min(1024, -(-values.size // 256)))
    _flag_invalid.compiled("cuda")[blocks, 256, stream()](values, flag)
    return int(to_host(flag)[0]) == 0


def stochastic(work, footprint, mode="sample", seed=DEFAULT_SEED):
    if not _probabilities(work, footprint):
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
