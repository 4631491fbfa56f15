"""Counter-based random numbers: a uniform in (0, 1) from a hash of (seed, a, b, c).

Stochastic methods key each draw by the seed and the position it is for (row, column,
channel), never by a position in a stream, so a seed gives the same image whatever the
number of threads and on every backend. The hash is SplitMix64's finaliser applied to
each key in turn (Steele, Lea, Flood 2014); it compiles unchanged for the CPU and CUDA.
"""

import numpy as np

from .jit import inline

GOLDEN = 0x9E3779B97F4A7C15


@inline
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@inline
def key(seed, a, b):
    """The hash state after (seed, a, b): :func:`uniform` of many ``c`` for one pixel mixes
    these two keys once."""
    z = _mix(np.uint64(seed) + np.uint64(GOLDEN) * np.uint64(a + 1))
    return _mix(z + np.uint64(GOLDEN) * np.uint64(b + 1))


@inline
def uniform_at(state, c):
    """:func:`uniform` (seed, a, b, c) from ``state = key(seed, a, b)``."""
    z = _mix(state + np.uint64(GOLDEN) * np.uint64(c + 1))
    # via int64: x86 has no direct uint64 → float64 conversion before AVX-512
    return (np.float64(np.int64(z >> np.uint64(11))) + 0.5) * (1.0 / 9007199254740992.0)


@inline
def uniform(seed, a, b, c):
    """A float64 in the open interval (0, 1), a pure function of four non-negative integers."""
    return uniform_at(key(seed, a, b), c)


def uniform_array(seed, a, b, c):
    """:func:`uniform` for arrays of keys, in NumPy (same bits: uint64 arithmetic wraps)."""
    def mix(z):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    golden = np.uint64(GOLDEN)
    with np.errstate(over="ignore"):
        keys = [np.asarray(v, dtype=np.uint64) + np.uint64(1) for v in (a, b, c)]
        z = mix(np.uint64(seed) + golden * keys[0])
        z = mix(z + golden * keys[1])
        z = mix(z + golden * keys[2])
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)
