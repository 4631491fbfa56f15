"""SSIM and PSNR as the evaluation computes them: fast kernels, scikit-image's numbers.

SSIM is that of Wang, Bovik, Sheikh and Simoncelli (*Image Quality Assessment: From Error
Visibility to Structural Similarity*, IEEE TIP 2004) with the parameters scikit-image's
``structural_similarity`` takes for it (``gaussian_weights=True``): a Gaussian window of
σ = 1.5 truncated at 3.5σ (11 taps), population (co)variances, K1 = 0.01, K2 = 0.03, data
range 1 (so C1 = 0.01², C2 = 0.03²), averaged over the pixels whose window lies inside the
image and over channels (the formula is in :mod:`dpdown.kernels.similarity`). PSNR is
``10·log10(1 / MSE)`` over every value. Both are tested against scikit-image within 1e-6.

An evaluation scores many candidates against one reference: :func:`prepare` computes the
reference's own statistics (local means and variances) once, and :func:`score` reuses them;
:func:`crop_of` serves a top-left crop of a prepared image from the same statistics (a
window's statistics depend only on its pixels), so every window size k of an image shares them.
``border`` drops that many pixels on every side before scoring (the super-resolution
literature's "shave"), without a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..kernels.similarity import TAPS

K1, K2 = 0.01, 0.03
C1, C2 = K1 ** 2, K2 ** 2  # data range 1
WINDOW = TAPS.shape[0]  # taps of the Gaussian window (11: σ = 1.5, truncated at 3.5σ)
# the CPU sums a candidate's window statistics in float32 down to this PSNR (dB), in float64
# below, where float32 would drift (docs/benchmarks.md: scoring)
FLOAT32_PSNR = 15.0

# ITU-R BT.601 luma of R'G'B' in [0, 1], in the studio range [16, 235]/255 as MATLAB's
# rgb2ycbcr gives it (and the super-resolution papers after it)
BT601_Y = np.array([65.481, 128.553, 24.966]) / 255.0
BT601_Y_OFFSET = 16.0 / 255.0


def luma(pixels) -> np.ndarray:
    """The Y channel (ITU-R BT.601, studio range) of float RGB H×W×3 in [0, 1], as H×W×1
    float32: ``Y = (16 + 65.481·R + 128.553·G + 24.966·B) / 255``."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ParameterError(f"the Y channel needs an RGB image (got {pixels.shape[-1]} channels)")
    y = (pixels[..., 0] * BT601_Y[0] + pixels[..., 1] * BT601_Y[1] + pixels[..., 2] * BT601_Y[2]) + BT601_Y_OFFSET
    return y.astype(np.float32)[:, :, None]


@dataclass
class Reference:
    """A reference image prepared for scoring: its pixels and its local statistics, those of
    the window at output pixel (i, j) being ``mean[top + i, left + j]`` and ``variance[top +
    i, left + j]`` where ``origin = (top, left)``."""

    pixels: object        # float32 H×W×C, C-contiguous (a device array on the GPU)
    border: int
    mean: object          # float32, at least (H − 2b − 10) × (W − 2b − 10) × C past the origin
    variance: object
    device: str = "cpu"
    origin: tuple = (0, 0)

    @property
    def shape(self):
        return tuple(self.pixels.shape)

    @property
    def scored(self) -> tuple:
        return _scored(self.shape, self.border)


def _scored(shape, border) -> tuple:
    """(rows, cols, channels) of the SSIM map of an image of ``shape``: the pixels whose window
    lies inside the border."""
    rows, cols, channels = shape
    return rows - 2 * border - WINDOW + 1, cols - 2 * border - WINDOW + 1, channels


def _placed(pixels, device: str):
    """``pixels`` as the kernels of ``device`` read them: C-contiguous float32 (on the GPU, a
    device array is taken as it is)."""
    if device == "cuda":
        from ..kernels.device import as_device

        return as_device(pixels)
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _check(shape, border):
    rows, cols = shape[0] - 2 * border, shape[1] - 2 * border
    if min(rows, cols) < WINDOW:
        raise ParameterError(f"{shape[0]}×{shape[1]} pixels compared" + (f" ({rows}×{cols} after shaving {border})"
                             if border else "") + f": SSIM needs at least {WINDOW}×{WINDOW}")


def prepare(reference, border: int = 0, device: str = "cpu") -> Reference:
    """``reference`` (float H×W×C in [0, 1]) with its Gaussian local means and variances,
    computed once for every :func:`score` against it."""
    _check(reference.shape, border)
    shape = _scored(reference.shape, border)
    pixels = _placed(reference, device)
    if device == "cuda":
        from ..kernels import similarity_cuda

        mean, variance = similarity_cuda.moments(pixels, border, shape)
        return Reference(pixels, border, mean, variance, device)
    from ..kernels import bands, similarity

    mean, variance = np.empty(shape, np.float32), np.empty(shape, np.float32)
    bands.run(similarity.moments, shape[0], pixels, border, mean, variance)
    return Reference(pixels, border, mean, variance, device)


def crop_of(prepared: Reference, pixels, border: int = 0) -> Reference:
    """The reference for ``pixels``, the top-left crop of ``prepared``'s image (prepared with
    border 0), scored inside ``border``: the statistics are ``prepared``'s, read from
    ``(border, border)`` on — the same numbers :func:`prepare` would compute for the crop."""
    rows, cols, channels = pixels.shape
    if prepared.border or rows > prepared.shape[0] or cols > prepared.shape[1] or channels != prepared.shape[2]:
        raise ParameterError(f"a {rows}×{cols}×{channels} crop does not lie in the {prepared.shape} image prepared "
                             f"with border {prepared.border}")
    _check(pixels.shape, border)
    return Reference(_placed(pixels, prepared.device), border, prepared.mean, prepared.variance, prepared.device,
                     (border, border))


def _mean_squared_error(x, y, border: int, device: str) -> float:
    """The mean of ``(x − y)²`` inside ``border``, of two images where ``device``'s kernels read them."""
    if device == "cuda":
        from ..kernels import similarity_cuda

        sums = similarity_cuda.squared_error_rows(x, y, border)
    else:
        from ..kernels import bands, similarity

        sums = np.empty(x.shape[0] - 2 * border)
        bands.run(similarity.squared_error_rows, len(sums), x, y, border, sums)
    return math.fsum(sums) / ((x.shape[0] - 2 * border) * (x.shape[1] - 2 * border) * x.shape[2])


def _structural_similarity(reference: Reference, image, mse: float) -> float:
    """Mean SSIM of ``image`` against ``reference``, ``mse`` apart: on the CPU, a candidate
    below FLOAT32_PSNR is summed in float64 (:mod:`dpdown.kernels.similarity`)."""
    rows, cols, channels = reference.scored
    args = (reference.pixels, image, reference.mean, reference.variance, *reference.origin, reference.border, C1, C2)
    if reference.device == "cuda":
        from ..kernels import similarity_cuda

        sums = similarity_cuda.ssim_rows(*args)
    else:
        from ..kernels import bands, similarity

        sums = np.empty(rows)
        near = _decibels(mse) >= FLOAT32_PSNR
        bands.run(similarity.ssim_rows if near else similarity.ssim_rows_float64, rows, *args, sums)
    return math.fsum(sums) / (rows * cols * channels)


def _same_shape(a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ParameterError(f"images of different shapes compared: {tuple(a.shape)} and {tuple(b.shape)}")


def _on(reference: Reference, image):
    """``image`` where the reference's kernels read it, checked against its shape."""
    _same_shape(reference.pixels, image)
    return _placed(image, reference.device)


def _decibels(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def score(reference: Reference, image) -> tuple[float, float]:
    """``(SSIM, PSNR)`` of ``image`` (float H×W×C in [0, 1], the reference's shape; on the GPU
    a host or device array) against a prepared reference."""
    image = _on(reference, image)
    mse = _mean_squared_error(reference.pixels, image, reference.border, reference.device)
    return _structural_similarity(reference, image, mse), _decibels(mse)


def ssim(reference, image, border: int = 0, device: str = "cpu") -> float:
    """SSIM of two float H×W×C images in [0, 1] (see the module)."""
    return score(prepare(reference, border, device), image)[0]


def psnr(reference, image, border: int = 0, device: str = "cpu") -> float:
    """PSNR in dB of two float H×W×C images in [0, 1] (data range 1); infinite where equal."""
    _same_shape(reference, image)
    if min(reference.shape[:2]) <= 2 * border:
        raise ParameterError(f"{reference.shape[0]}×{reference.shape[1]} pixels compared: nothing is left after "
                             f"shaving {border}")
    return _decibels(_mean_squared_error(_placed(reference, device), _placed(image, device), border, device))
