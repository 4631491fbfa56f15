"""``(x²)^(λ/2)`` — the power DPID, DPP and Lp pooling raise a squared value to.

``pow`` is the costly part of those kernels and the usual exponents need none, so a kernel
is compiled per exponent class with the cheapest form bound in (see ``pooling_kernel``).
"""

import numpy as np


def _pow(d2, lam):
    return d2 ** (0.5 * lam)


def _sqrt(d2, lam):
    return np.sqrt(d2)


def _sqrt_sqrt(d2, lam):
    return np.sqrt(np.sqrt(d2))


# Single-precision roots for weights computed one at a time (the footprint walker, GPUs): a
# scalar float64 square root costs up to twice a float32 one, and a weight's 6e-8 relative
# error cannot be seen in a weighted mean. Vectorised loops may do better with the double
# root, which needs no conversions (DPP's separable paths: dpp.py).
def _sqrt_weight(d2, lam):
    return np.float64(np.sqrt(np.float32(d2)))


def _sqrt_sqrt_weight(d2, lam):
    return np.float64(np.sqrt(np.sqrt(np.float32(d2))))


def _square(d2, lam):
    return d2


def _one(d2, lam):
    return 1.0


def per_lambda(make, weights=False):
    """``{λ: make(name, function)}`` for every exponent class; look up with :func:`for_lambda`.

    ``weights=True`` allows single-precision roots (for values only used as relative weights).
    """
    roots = (_sqrt_weight, _sqrt_sqrt_weight) if weights else (_sqrt, _sqrt_sqrt)
    table = {0.0: ("one", _one), 0.5: ("sqrt_sqrt", roots[1]), 1.0: ("sqrt", roots[0]),
             2.0: ("square", _square), None: ("pow", _pow)}
    return {lam: make(name, f) for lam, (name, f) in table.items()}


def for_lambda(table, lam):
    return table.get(float(lam), table[None])
