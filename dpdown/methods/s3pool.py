"""S3Pool (Zhai et al., CVPR 2017) and S3DPP (Saeedan et al., CVPR 2018): stochastic spatial sampling.

Step 1 pools ``k×k`` windows at stride 1 (max for S3Pool, DPP for S3DPP), windows clipped
at the image edge. Step 2 keeps ``ceil(n/k)`` of the ``n`` rows (and, independently, of
the columns): the axis is split into grids of ``g`` rows; each grid keeps ``g/k`` rows
drawn uniformly without replacement, in order; the last grid keeps the rest. Both steps
together are one footprint: the windows at the kept rows and columns.

The draws are counter-based, keyed by (seed, axis, grid, index), so a seed gives the same
image anywhere. At test time the S3Pool authors use average pooling instead.
"""

import numpy as np

from ..errors import ParameterError
from ..kernels.footprints import Footprint, _axis
from ..kernels.rng import uniform_array
from .dpp import METHOD as DPP
from .dpp import dpp
from .extrema import extremum
from .registry import Method, Param, register
from .stochastic import SEED


def sampled_starts(n, k, grid, seed, axis):
    """The kept window starts along an axis of ``n`` samples (step 2), all grids at once: each
    grid sorts its keys and keeps the rows of the ``g/k`` smallest, in order."""
    per_grid, total = grid // k, -(-n // k)
    full = -(-n // grid) - 1  # every grid but the last keeps g/k; the last keeps the rest
    index = np.arange(n)
    keys = uniform_array(seed, axis, index // grid, index % grid)
    kept = np.argsort(keys[:full * grid].reshape(full, grid), axis=1, kind="stable")[:, :per_grid]
    kept = np.sort(kept, axis=1) + grid * np.arange(full)[:, None]
    rest = np.sort(np.argsort(keys[full * grid:], kind="stable")[:total - full * per_grid]) + full * grid
    return np.concatenate([kept.ravel(), rest]).astype(np.int64)


def s3_footprint(shape, footprint, grid=0, seed=0, **_):
    """Step 2 as a footprint (its kind ``sampled``; one already sampled is returned as it is)."""
    if footprint.kind == "sampled":
        return footprint
    if footprint.k is None or footprint.rows.size != -(-shape[0] // footprint.k) \
            or footprint.cols.size != -(-shape[1] // footprint.k):
        raise ParameterError("S3 sampling replaces the stride: use -k alone (no --stride, --size or --scale)")
    k = footprint.k
    grid = grid or 2 * k
    if grid % k:
        raise ParameterError(f"--grid must be a multiple of k = {k} (got {grid})")
    axes = []
    for axis, n in enumerate(shape):
        starts = sampled_starts(n, k, grid, seed, axis)
        axes.append(_axis(starts, np.minimum(starts + k, n)))
    return Footprint(axes[0], axes[1], "sampled", k)


def s3pool(work, footprint, grid=0, seed=0):
    return extremum(work, s3_footprint(work.shape, footprint, grid, seed), "max")


def s3dpp(work, footprint, grid=0, seed=0, **dpp_params):
    return dpp(work, s3_footprint(work.shape, footprint, grid, seed), **dpp_params)


GRID = Param("grid", "int", 0, "S3 grid size g, a multiple of k (0: 2·k).", low=0, high=1 << 20)

register(Method(
    name="s3pool",
    summary="S3Pool: max pooling at stride 1, then random rows and columns kept per grid.",
    formula="O = M[R, C],  M = k×k max pooling at stride 1,  R, C: ceil(n/k) sorted random indices, "
            "g/k per grid of g",
    paper="Zhai, Wu, Kumar, Zhang, Davis. S3Pool: Pooling with stochastic spatial sampling. CVPR 2017",
    run=s3pool,
    params=(GRID, SEED),
    footprint=s3_footprint,
))

register(Method(
    name="s3dpp",
    summary="S3DPP: DPP at stride 1, then S3Pool's random rows and columns.",
    formula="O = D[R, C],  D = DPP over k×k windows at stride 1,  R, C as in s3pool",
    paper="Saeedan, Weber, Goesele, Roth. Detail-Preserving Pooling in Deep Networks. CVPR 2018",
    run=s3dpp,
    params=DPP.params + (GRID, SEED),
    footprint=s3_footprint,
))
