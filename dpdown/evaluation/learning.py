"""Closed-form learned pooling (Birodkar et al., arXiv 2019, Algorithm 1): learning the operator from labelled images.

Every image is cut into non-overlapping ``tile×tile`` tiles (a partial tile at the right or
bottom edge is left out); tile ``k`` of an image of class ``q`` is ``X_k`` (N×C, N = tile²),
its channels normalised by the dataset's mean and variance, ``g = (f − f̄(c)) / √v(c)``.
From the class scatter matrices

.. math:: A = \\sum_q (\\bar X_q - \\bar X)(\\bar X_q - \\bar X)^T, \\qquad
          B = \\sum_q \\frac{1}{K_q} \\sum_{k | y_k = q} (X_k - \\bar X_q)(X_k - \\bar X_q)^T

(eqs. 11, 12; ``X̄_q`` the class mean tile, ``X̄`` the mean of the class means) each output
position ``m`` of the ``(tile/k)²`` outputs of a tile gets the top generalised eigenvector of

.. math:: A\\,p_m = \\lambda\\,(B + \\alpha C_m)\\,p_m, \\qquad
          (C_m)_{nn} = \\lVert \\mathrm{coord}_\\Omega(n) - s\\,\\mathrm{coord}_\\omega(m) \\rVert^2

(eq. 16, Section 3.4, ``s = k``), normalised by its ℓ1 or ℓ2 norm (Section 3.6). It maximises
the class separability ``S_b/S_w = pᵀAp / pᵀBp`` (eq. 13) while ``α`` keeps it near ``m``.

Choices the paper leaves open, made here: coordinates are pixel centres, so output ``m``
sits at ``s·(coord_ω(m) + ½) − ½`` on the input grid (the centre of its ``k×k`` block; the
paper's ``s·coord_ω(m)`` is its corner); an eigenvector's sign is free, so it is chosen with
``Σ p ≥ 0`` (a positive weighting of the tile, like average pooling); the channels are
restored with ``√v(c)`` (the paper writes ``v(c)``, which does not undo its normalisation).

A and B come from one streaming pass: per class the tile count, per channel the sum of the
tiles and of their outer products, so no tile is kept.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DpdownError, ParameterError
from ..io.write import write_atomic
from ..methods.learned import Operator

NORMS = ("l1", "l2")


def save(op: Operator, path, overwrite: bool = True) -> None:
    """Write ``op`` and its metadata as ``.npz``, atomically (temporary file, then rename);
    :func:`dpdown.methods.learned.load` reads it."""
    write_atomic(path, lambda f: np.savez(
        f, weights=op.weights, k=op.k, tile=op.tile, alpha=op.alpha, norm=op.norm, mean=op.mean,
        std=op.std, classes=np.array(op.classes, dtype=str), images=op.images,
        eigenvalues=op.eigenvalues, version=op.version), overwrite)


def tiles(pixels: np.ndarray, tile: int) -> np.ndarray:
    """The complete ``tile×tile`` tiles of an H×W×C image, as T×N×C (N = tile², row-major)."""
    h, w, c = pixels.shape
    rows, cols = h // tile, w // tile
    cut = pixels[:rows * tile, :cols * tile].reshape(rows, tile, cols, tile, c)
    return cut.transpose(0, 2, 1, 3, 4).reshape(rows * cols, tile * tile, c)


class Scatter:
    """Streaming sums for A and B (Algorithm 1, lines 2–16) and the channel statistics.

    ``add(pixels, label)`` takes one H×W×C image in working units. Per class it keeps the
    number of tiles, and per channel the sum of the tiles ``s`` and of ``x xᵀ``; per channel
    the sum and sum of squares of all pixels. The normalisation is affine, so the normalised
    sums follow from these at the end: ``Σ g gᵀ = (Σ x xᵀ − μ(s1ᵀ + 1sᵀ) + Kμ²11ᵀ) / v``.
    """

    def __init__(self, tile: int):
        self.tile = tile
        self.count, self.sums, self.outer = {}, {}, {}
        self.pixel_count, self.pixel_sum, self.pixel_sq, self.images = 0, 0.0, 0.0, 0

    def add(self, pixels: np.ndarray, label) -> None:
        pixels = np.asarray(pixels, np.float64)
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        if self.images and pixels.shape[2] != len(self.pixel_sum):
            raise ParameterError(f"every image must have {len(self.pixel_sum)} channels (got {pixels.shape[2]})")
        flat = pixels.reshape(-1, pixels.shape[2])
        self.pixel_count += len(flat)
        self.pixel_sum = self.pixel_sum + flat.sum(axis=0)
        self.pixel_sq = self.pixel_sq + (flat * flat).sum(axis=0)
        self.images += 1
        x = tiles(pixels, self.tile)
        if not len(x):
            return
        n, c = x.shape[1], x.shape[2]
        if label not in self.count:
            self.count[label], self.sums[label], self.outer[label] = 0, np.zeros((n, c)), np.zeros((c, n, n))
        self.count[label] += len(x)
        self.sums[label] += x.sum(axis=0)
        self.outer[label] += np.einsum("tnc,tmc->cnm", x, x)

    def channel_stats(self):
        """(mean, std) per channel over every pixel of every image (population variance)."""
        mean = self.pixel_sum / self.pixel_count
        var = self.pixel_sq / self.pixel_count - mean * mean
        return mean, np.sqrt(np.maximum(var, 0.0))

    def matrices(self):
        """(A, B) of eqs. 11–12 over the normalised tiles, from the sums alone."""
        mean, std = self.channel_stats()
        std = np.where(std > 0, std, 1.0)  # a constant channel normalises to zeros
        class_means, b = [], 0.0
        for q, count in self.count.items():
            s, t = self.sums[q], self.outer[q]
            g_sum = (s - count * mean) / std                              # Σ g over the class, N×C
            g_outer = (t - np.einsum("c,nc,m->cnm", mean, s, np.ones(len(s)))
                       - np.einsum("c,n,mc->cnm", mean, np.ones(len(s)), s)
                       + count * (mean * mean)[:, None, None]) / (std * std)[:, None, None]
            centre = g_sum / count
            class_means.append(centre)
            b = b + g_outer.sum(axis=0) / count - centre @ centre.T      # line 14
        means = np.stack(class_means)                                     # Q×N×C
        spread = means - means.mean(axis=0)
        a = np.einsum("qnc,qmc->nm", spread, spread)                      # eq. 11
        return a, b


def regulariser(tile: int, k: int, m: int) -> np.ndarray:
    """Diagonal of ``C_m``: squared distance of each tile pixel (centre) from output ``m``'s
    centre on the input grid, ``s·(coord_ω(m) + ½) − ½`` with ``s = k``."""
    per = tile // k
    centre = k * (np.array(divmod(m, per), np.float64) + 0.5) - 0.5
    rows, cols = np.divmod(np.arange(tile * tile), tile)
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2


def solve(a, b, tile: int, k: int, alpha: float, norm: str):
    """Weights (M×N) and eigenvalues (M) of eq. 16 for every output position, normalised."""
    from scipy.linalg import LinAlgError, eigh

    n = tile * tile
    weights, values = [], []
    for m in range((tile // k) ** 2):
        try:
            lam, vec = eigh(a, b + alpha * np.diag(regulariser(tile, k, m)), subset_by_index=[n - 1, n - 1])
        except LinAlgError:
            raise DpdownError(f"B + αC is not positive definite at output {m} (α = {alpha:g}); "
                              "use a larger --alpha or more images") from None
        p = vec[:, 0]
        p = p / (np.abs(p).sum() if norm == "l1" else np.linalg.norm(p))
        weights.append(-p if p.sum() < 0 else p)
        values.append(lam[0])
    return np.array(weights), np.array(values)


def check(k: int, tile: int, alpha: float, norm: str) -> None:
    if k < 1 or tile < 1 or tile % k:
        raise ParameterError(f"--tile {tile} must be a positive multiple of -k {k}")
    if not alpha >= 0:
        raise ParameterError(f"--alpha must be ≥ 0 (got {alpha})")
    if norm not in NORMS:
        raise ParameterError(f"--norm must be one of {', '.join(NORMS)} (got {norm!r})")


def learn_arrays(samples, k: int, tile: int, alpha: float = 25.0, norm: str = "l2") -> Operator:
    """Learn the operator from ``(image, label)`` pairs (H×W or H×W×C, working units), in one pass.

    Parameters
    ----------
    samples : iterable of (ndarray, hashable)
        Images with their class; read one at a time, never kept.
    k : int
        Downscaling factor: each ``tile×tile`` tile gives ``(tile/k)²`` outputs.
    tile : int
        Tile size (a multiple of ``k``); the operator is ``(tile/k)² × tile²``.
    alpha : float
        Locality penalty ``α`` of eq. 16 (the paper uses 5 to 65).
    norm : {"l1", "l2"}
        Normalisation of each ``p_m`` (Section 3.6).
    """
    check(k, tile, alpha, norm)
    scatter = Scatter(tile)
    for pixels, label in samples:
        scatter.add(pixels, label)
    if len(scatter.count) < 2:
        raise ParameterError(f"learning needs tiles from at least two classes (got {len(scatter.count)}; "
                             f"images smaller than --tile {tile} give none)")
    a, b = scatter.matrices()
    weights, values = solve(a, b, tile, k, alpha, norm)
    mean, std = scatter.channel_stats()
    return Operator(weights, k, tile, float(alpha), norm, mean, np.where(std > 0, std, 1.0),
                    tuple(str(q) for q in scatter.count), scatter.images, values)


def dataset(folder):
    """``(pixels, class)`` for every image of ``folder``'s class subfolders (working units:
    integers scaled to [0, 1], colour premultiplied by alpha as ``dpdown scale`` pools it)."""
    from ..core.working import to_working
    from ..io.batch import collect
    from ..io.read import read

    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ParameterError(f"{folder}: not a folder (expected one subfolder per class)")
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if len(classes) < 2:
        raise ParameterError(f"{folder}: needs at least two class subfolders (found {len(classes)})")
    for label in classes:
        for item in collect([os.path.join(folder, label)], None, True):
            image = read(item.source)
            work = to_working(image.pixels, image.has_alpha)
            pixels = work.pixels * work.scale
            if work.alpha >= 0:
                colour = [c for c in range(pixels.shape[2]) if c != work.alpha]
                pixels[:, :, colour] *= pixels[:, :, work.alpha:work.alpha + 1]
            yield pixels, label


def separability(weights, a, b) -> np.ndarray:
    """``S_b/S_w = pᵀAp / pᵀBp`` (eq. 13) of each row of ``weights``."""
    return np.einsum("mn,nk,mk->m", weights, a, weights) / np.einsum("mn,nk,mk->m", weights, b, weights)


def average_operator(tile: int, k: int) -> np.ndarray:
    """Average pooling written as an operator like a learned one (M×N, 1/k² on each block)."""
    per = tile // k
    rows, cols = np.divmod(np.arange(tile * tile), tile)
    block = (rows // k) * per + cols // k
    return (block[None, :] == np.arange(per * per)[:, None]) / float(k * k)
