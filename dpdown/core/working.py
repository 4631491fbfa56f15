"""The working form of an image.

Kernels read the caller's array in its own dtype: an integer image is seen as values in
[0, 1] through a ``scale`` factor applied on load, a float image as it is. Channels are
always the last axis (a gray image gets a length-1 axis, as a view). Colour is pooled
premultiplied by alpha when the image has an alpha channel, so fully transparent pixels
carry no colour into their neighbours; the way back (alpha divided out, rounding to the
caller's dtype) happens as each output pixel is written: ``kernels.walkers.shared.store``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..kernels import device as devices

DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


@dataclass(frozen=True)
class Working:
    pixels: np.ndarray   # H×W×C, C-contiguous, read-only, the caller's dtype
    scale: float         # multiply a stored value by this to get its working value
    alpha: int           # index of the alpha channel, or -1
    squeeze: bool        # the caller gave a 2-D array
    channel_pool: tuple = (0, 1)  # (mode, size) of pooling across channels, see walkers.shared.load_pixel
    out_channels: int = 0         # channels each pixel has once loaded (after channel pooling)
    final: bool = False           # the method's last pass writes the caller's dtype (see walkers.launch.run)
    device_pixels: object = None  # ``pixels`` in GPU memory when the kernels run there
    linear: bool = False          # colour decoded from sRGB to linear light on load (dpdown.kernels.colour)
    frame_rows: int = 0           # a stack's rows per frame, its frames one below the other in ``pixels``
                                  # (kernels that read neighbouring rows stay inside a frame); 0: one image

    @property
    def device(self) -> str:
        """Where the kernels run: ``cuda`` once the pixels are in GPU memory, else ``cpu``."""
        return "cpu" if self.device_pixels is None else "cuda"

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]

    @property
    def rows_per_frame(self) -> int:
        """Input rows of one frame: a stack's frame, or the whole image."""
        return self.frame_rows or self.pixels.shape[0]

    @property
    def channels(self) -> int:
        return self.out_channels


def to_working(img, has_alpha: bool | None = None, channel_pool: str | None = None,
               channel_size: int = 1, linear: bool = False) -> Working:
    """View ``img`` (H×W or H×W×C; uint8, uint16, float32 or float64) in working form.

    Alpha, when there is one, is the last channel: ``has_alpha=None`` assumes it for 2- and
    4-channel images. ``channel_pool`` (``max``, ``min``, ``avg`` over groups of
    ``channel_size`` consecutive channels, or ``topk``: the ``channel_size`` largest values)
    pools across channels as each pixel is loaded (Pei et al., feature pooling); every channel is
    then a band, none is alpha. ``linear`` decodes colour (not alpha) from sRGB to linear
    light as it is loaded, and the last pass encodes it back (:mod:`dpdown.kernels.colour`).
    """
    img = img if devices.on_gpu(img) else np.asarray(img)
    if np.dtype(img.dtype).type not in DTYPES:
        raise ParameterError(f"unsupported dtype {img.dtype}: use uint8, uint16, float32 or float64")
    if img.ndim not in (2, 3):
        raise ParameterError(f"expected an H×W or H×W×C image, got shape {img.shape}")
    if img.size == 0:
        raise ParameterError(f"empty image (shape {img.shape})")
    squeeze = img.ndim == 2
    if devices.on_gpu(img):  # the kernels read the device array; the host sees its shape and dtype only
        pixels = np.lib.stride_tricks.as_strided(np.zeros(1, img.dtype), (*img.shape[:2], 1 if squeeze else
                                                                          img.shape[2]), (0, 0, 0))
    else:
        pixels = np.ascontiguousarray(img[:, :, None] if squeeze else img).view()
    # always read-only (kernels never write it): Numba compiles a writable and a read-only
    # array apart, and decoded files (Pillow, memory maps) arrive read-only, arrays writable
    pixels.flags.writeable = False
    channels = pixels.shape[2]
    if has_alpha is None:
        has_alpha = channels in (2, 4)
    if has_alpha and channels < 2:
        raise ParameterError("an image with alpha needs at least two channels")
    scale = 1.0 / np.iinfo(img.dtype).max if img.dtype.kind == "u" else 1.0
    if channel_pool is None:
        return Working(pixels, scale, channels - 1 if has_alpha else -1, squeeze, (0, 1), channels,
                       linear=bool(linear))
    from ..kernels.walkers.shared import CHANNEL_POOLS, TOPK

    if channel_pool not in CHANNEL_POOLS:
        raise ParameterError(f"unknown channel pooling {channel_pool!r}; choose one of {', '.join(CHANNEL_POOLS)}")
    mode, size = CHANNEL_POOLS[channel_pool], int(channel_size)
    if mode == TOPK:
        if not 1 <= size <= channels:
            raise ParameterError(f"topk channel pooling keeps 1 to {channels} channels (got {size})")
        out_channels = size
    else:
        if size < 1 or channels % size:
            raise ParameterError(f"channel stride {size} must divide the {channels} channels")
        out_channels = channels // size
    return Working(pixels, scale, -1, squeeze or out_channels == 1, (mode, size), out_channels,
                   linear=bool(linear))
