"""The working form of an image, and the way back.

Kernels read the caller's array in its own dtype: an integer image is seen as values in
[0, 1] through a ``scale`` factor applied on load, a float image as it is. Channels are
always the last axis (a gray image gets a length-1 axis, as a view). Colour is pooled
premultiplied by alpha when the image has an alpha channel, so fully transparent pixels
carry no colour into their neighbours; :func:`back` divides it out again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


@dataclass(frozen=True)
class Working:
    pixels: np.ndarray   # H×W×C, C-contiguous, the caller's dtype
    scale: float         # multiply a stored value by this to get its working value
    alpha: int           # index of the alpha channel, or -1
    squeeze: bool        # the caller gave a 2-D array

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]


def to_working(img, has_alpha: bool | None = None) -> Working:
    """View ``img`` (H×W or H×W×C; uint8, uint16, float32 or float64) in working form.

    ``has_alpha=None`` treats the last channel of a 2- or 4-channel image as alpha.
    """
    img = np.asarray(img)
    if img.dtype.type not in DTYPES:
        raise ParameterError(f"unsupported dtype {img.dtype}: use uint8, uint16, float32 or float64")
    if img.ndim not in (2, 3):
        raise ParameterError(f"expected an H×W or H×W×C image, got shape {img.shape}")
    if img.size == 0:
        raise ParameterError(f"empty image (shape {img.shape})")
    squeeze = img.ndim == 2
    pixels = np.ascontiguousarray(img[:, :, None] if squeeze else img)
    channels = pixels.shape[2]
    if has_alpha is None:
        has_alpha = channels in (2, 4)
    if has_alpha and channels < 2:
        raise ParameterError("an image with alpha needs at least two channels")
    scale = 1.0 / np.iinfo(img.dtype).max if img.dtype.kind == "u" else 1.0
    return Working(pixels, scale, channels - 1 if has_alpha else -1, squeeze)


def back(out: np.ndarray, work: Working) -> np.ndarray:
    """Working values (float64 H'×W'×C) to the caller's dtype and layout."""
    if work.alpha >= 0:
        alpha = out[:, :, work.alpha:work.alpha + 1]
        colour = [c for c in range(out.shape[2]) if c != work.alpha]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, :, colour] = np.where(alpha > 0, out[:, :, colour] / alpha, 0.0)
    dtype = work.pixels.dtype
    if dtype.kind == "u":
        out = np.rint(np.clip(out, 0.0, 1.0) * np.iinfo(dtype).max).astype(dtype)
    else:
        out = out.astype(dtype, copy=False)
    return out[:, :, 0] if work.squeeze else out
