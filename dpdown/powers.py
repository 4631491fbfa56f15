"""``(x²)^(λ/2)`` — the power both DPID and DPP raise a squared difference to.

``pow`` is the costly part of those kernels and the usual λ need none, so a kernel is
compiled per λ class with the cheapest exact form bound in (see ``pooling_kernel``).
"""

import numpy as np


def _pow(d2, lam):
    return d2 ** (0.5 * lam)


# Single-precision roots: a float64 square root costs twice a float32 one on x86, and these
# values are only relative weights, where float32's 6e-8 relative error cannot be seen.
def _sqrt(d2, lam):
    return np.float64(np.sqrt(np.float32(d2)))


def _sqrt_sqrt(d2, lam):
    return np.float64(np.sqrt(np.sqrt(np.float32(d2))))


def _square(d2, lam):
    return d2


def _one(d2, lam):
    return 1.0


# λ → (name, function); None is every other λ
HALF_POWERS = {0.0: ("one", _one), 0.5: ("sqrt_sqrt", _sqrt_sqrt), 1.0: ("sqrt", _sqrt),
               2.0: ("square", _square), None: ("pow", _pow)}


def per_lambda(make):
    """``{λ: make(name, function)}`` for every λ class; look up with :func:`for_lambda`."""
    return {lam: make(name, f) for lam, (name, f) in HALF_POWERS.items()}


def for_lambda(table, lam):
    return table.get(float(lam), table[None])
