"""Learned pooling (Birodkar et al., arXiv 2019): a closed-form linear operator learned by ``dpdown learn``.

.. math:: O[i, j, c] = \\sqrt{v(c)} \\sum_{n} P[m, n]\\,\\frac{I[n, c] - \\bar f(c)}{\\sqrt{v(c)}} + \\bar f(c)

over the ``tile×tile`` tile holding output ``(i, j)``, ``m`` its position among the tile's
``(tile/k)²`` outputs (see :mod:`dpdown.evaluation.learning`). It runs on the footprint walker with a
footprint whose span for each output is its whole tile; ``m`` reaches the rule as the
output's reference value, so the same rule serves the CPU and the GPU. A partial tile at
the right or bottom edge lacks some pixels: they count as the dataset mean (0 once
normalised), i.e. the tile is padded with the mean.
"""

import functools
import os
from dataclasses import dataclass

import numpy as np

from .._version import __version__
from ..errors import ParameterError
from ..kernels.footprints import Footprint, tile_axis
from ..kernels.walkers.footprint import pooling_kernel
from ..kernels.walkers.launch import run
from .registry import Method, Param, register


@dataclass(frozen=True)
class Operator:
    """A learned pooling operator and how it was made.

    ``weights`` is M×N: output ``m`` of a tile is ``Σ_n weights[m, n] · g[n]`` over the tile's
    normalised pixels ``g`` (row-major ``n``, row-major ``m`` over the ``(tile/k)²`` outputs).
    """

    weights: np.ndarray
    k: int
    tile: int
    alpha: float
    norm: str
    mean: np.ndarray        # per channel, in working units ([0, 1] for integer images)
    std: np.ndarray         # per channel, √v(c)
    classes: tuple
    images: int
    eigenvalues: np.ndarray  # λ_m of each output position
    version: str = __version__

    @property
    def channels(self) -> int:
        return len(self.mean)


def load(path) -> Operator:
    """The operator saved in ``path``; anything wrong with it is a :class:`ParameterError`."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            op = Operator(np.asarray(z["weights"], np.float64), int(z["k"]), int(z["tile"]), float(z["alpha"]),
                          str(z["norm"]), np.asarray(z["mean"], np.float64), np.asarray(z["std"], np.float64),
                          tuple(str(c) for c in z["classes"]), int(z["images"]),
                          np.asarray(z["eigenvalues"], np.float64), str(z["version"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"{path}: not a learned pooling operator ({str(exc).splitlines()[0]})") from None
    per = op.tile // op.k if op.k else 0
    if per < 1 or op.tile % op.k or op.weights.shape != (per * per, op.tile * op.tile) or \
            op.std.shape != op.mean.shape or not (op.std > 0).all():
        raise ParameterError(f"{path}: inconsistent learned pooling operator (k={op.k}, tile={op.tile}, "
                             f"weights {op.weights.shape})")
    return op


HEADER = 2  # params: k, tile, then mean (n), std (n), the weights (M×N, row-major)


def _acc_width(n, params):
    return n


def _accumulate(acc, j, px, n, ref, i, cov, params, at):
    tile = int(params[1])
    m = int(ref[i, j, 0])
    w = cov * params[HEADER + 2 * n + m * tile * tile + at[4] * tile + at[5]]
    for c in range(n):
        acc[j, c] += w * (px[c] - params[HEADER + c]) / params[HEADER + n + c]


def _finalize(acc, ref, params, out):
    n = out.shape[0]
    for c in range(n):
        out[c] = acc[c] * params[HEADER + n + c] + params[HEADER + c]


_KERNEL = pooling_kernel("learned", _acc_width, _accumulate, _finalize, HEADER=HEADER)


@functools.lru_cache(maxsize=8)
def _load(path, stamp):
    return load(path)


def load_operator(path):
    """The operator in ``path``, read once per process while the file is unchanged."""
    path = os.fspath(path)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ParameterError(f"--operator {path}: {exc.strerror}") from None
    return _load(path, stamp)


def apply(work, footprint, operator):
    """Apply a learned :class:`Operator` tile by tile (window footprint ``-k``
    equal to the operator's ``k``, stride ``k``)."""
    op = operator
    if footprint.k != op.k or any(len(a.start) > 1 and (a.start[1] - a.start[0]) != op.k
                                  for a in (footprint.rows, footprint.cols)):
        raise ParameterError(f"this learned operator pools by k = {op.k}: use -k {op.k} "
                             "(no --stride, --size or --scale)")
    if work.out_channels != op.channels:
        raise ParameterError(f"this learned operator was learned on {op.channels}-channel images; "
                             f"the image has {work.out_channels}")
    h, w = work.shape
    row_starts, col_starts = footprint.rows.start, footprint.cols.start
    tiled = Footprint(tile_axis(row_starts, h, op.tile), tile_axis(col_starts, w, op.tile), "tile", op.k)
    per = op.tile // op.k  # m: the output's place in its tile, from its window's (absolute) start
    position = ((row_starts // op.k % per)[:, None] * per + col_starts // op.k % per).astype(np.float64)
    params = np.concatenate(([op.k, op.tile], op.mean, op.std, op.weights.ravel()))
    return run(_KERNEL, work, tiled, params, ref=position[:, :, None])


def _run(work, footprint, operator=None):
    if operator is None:
        raise ParameterError("method 'learned' needs --operator PATH (a file made by 'dpdown learn')")
    return apply(work, footprint, operator if isinstance(operator, Operator) else load_operator(operator))


register(Method(
    name="learned",
    summary="Learned pooling: a linear operator per tile learned for class separability (dpdown learn).",
    formula="O[p] = √v·Σ_n P[m, n]·(I[n] − f̄)/√v + f̄ over p's tile, P from A p = λ(B + αC_m)p",
    paper="Birodkar, Mobahi, Krishnan, Bengio. A Closed-Form Learned Pooling for Deep Classification "
          "Networks. arXiv 2019 (Algorithm 1)",
    run=_run,
    params=(Param("operator", "path", None, "Operator file made by 'dpdown learn' (.npz); required."),),
    notes="Needs -k equal to the operator's k. A partial tile at the image edge is padded with the "
          "dataset mean. The image must have the operator's channel count.",
))
