"""Linear light: the sRGB transfer function, fused into the kernels.

Pooling averages numbers. Averaged as stored (sRGB-encoded, roughly the cube root of light),
a fine pattern of bright and dark pixels comes out darker than the light it sends, and a
saturated line on a grey ground loses its colour: the dark halos and desaturated fine detail
of Pillow issue #1604 and of every gamma-unaware resizer. With ``linear=True`` each colour
value is decoded to linear light as it is loaded (:func:`dpdown.kernels.walkers.shared.load_pixel`) and encoded
back as the output pixel is stored (:func:`dpdown.kernels.walkers.shared.store`); alpha is never encoded.

For integer images the decoding is a lookup table of all 2⁸ (or, on the CPU, 2¹⁶) values,
bound into the compiled kernel as a constant, so linear light costs one load per value;
float images and 16-bit images on the GPU (whose constant memory holds 64 KiB) use the
formula. The encoding runs once per output pixel. IEC 61966-2-1:

.. math:: L = \\begin{cases} V/12.92 & V \\le 0.04045 \\\\ ((V + 0.055)/1.055)^{2.4} & \\text{else}\\end{cases}
"""

from __future__ import annotations

import functools

import numpy as np

from .jit import Lazy, inline

NONE, TABLE, FORMULA = 0, 1, 2  # how a stored value becomes a working value (the TRANSFER constant)
# bound per decoder (:func:`decoder`): its TRANSFER, and for TABLE the table of every stored value
TRANSFER = NONE
DECODE = np.zeros(0)


@inline
def srgb_to_linear(v):
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


@inline
def linear_to_srgb(v):
    return v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1.0 / 2.4) - 0.055


def decode(v, scale):
    """The working value of stored value ``v``: ``v·scale``, then linear light when asked."""
    if TRANSFER == TABLE:  # bound per variant
        return DECODE[v]
    if TRANSFER == FORMULA:
        return srgb_to_linear(v * scale)
    return v * scale


def to_linear(values):
    """NumPy :func:`srgb_to_linear` (values in [0, 1])."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def to_srgb(values):
    """NumPy :func:`linear_to_srgb`."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * np.abs(values) ** (1 / 2.4) - 0.055)


def transfer(work, target="cpu"):
    """``(mode, bits)`` of the working image's decoding on ``target``: no decoding, a table of
    2^bits values, or the formula."""
    if not work.linear:
        return NONE, 0
    dtype = work.pixels.dtype
    if dtype == np.uint8 or (dtype == np.uint16 and target == "cpu"):
        return TABLE, dtype.itemsize * 8
    return FORMULA, 0


@functools.lru_cache(maxsize=None)
def decoder(mode, bits):
    """:func:`decode` compiled for one transfer ``(mode, bits)``."""
    table = to_linear(np.arange(1 << bits) / ((1 << bits) - 1)) if mode == TABLE else np.zeros(1)
    return Lazy(decode, bindings=dict(TRANSFER=mode, DECODE=table), inline="always")
