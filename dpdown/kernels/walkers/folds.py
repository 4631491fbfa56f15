"""How the separable walkers fold a footprint's terms into what they keep, per ``REDUCE``
(:mod:`dpdown.kernels.reductions`): shared by the CPU walker and its CUDA twin."""

import numpy as np

from ..jit import inline
from ..reductions import MAX_AND_SUM, MIN_OF, SUM
from ..rules import REDUCE, TOP_R


@inline
def _reduce(acc, value, weight, first, s):
    """Sum ``s``'s ``acc`` with one more term ``value`` of coverage ``weight`` folded in
    (``first``: the footprint's first term), per ``REDUCE``."""
    if REDUCE == SUM or (REDUCE == MAX_AND_SUM and s > 0):
        return weight * value if first else acc + weight * value
    if first:
        return value
    if REDUCE == MIN_OF:
        return min(acc, value)
    return max(acc, value)


@inline
def _insert(slots, t, value, weight, first):
    """Insert (value, weight) into the ``TOP_R`` ranked slots of column ``t`` (values in
    ``slots[:TOP_R, t]``, coverages below them), emptied first when ``first``. Branch-free:
    each slot keeps the larger, the smaller moves on down."""
    if first:
        for s in range(TOP_R):
            slots[s, t] = -np.inf
            slots[TOP_R + s, t] = 0.0
    for s in range(TOP_R):
        held, held_weight = slots[s, t], slots[TOP_R + s, t]
        move = np.float64((value > held) | ((value == held) & (weight > held_weight)))
        slots[s, t] = max(value, held)
        value = min(value, held)
        slots[TOP_R + s, t] = move * weight + (1.0 - move) * held_weight
        weight = move * held_weight + (1.0 - move) * weight



HELPERS = (_reduce, _insert)
