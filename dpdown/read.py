"""Reading image files into arrays (the first step of the pipeline)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import numpy as np

from .errors import ImageError

# Pillow modes that map straight onto an array, and what the others become.
_DIRECT = {"L", "LA", "RGB", "RGBA", "I", "I;16", "F"}
_CONVERT = {"1": "L", "P": None, "PA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB",
            "HSV": "RGB", "I;16B": "I", "I;16L": "I", "RGBX": "RGB", "RGBa": "RGBA",
            "La": "LA"}


@dataclass
class Image:
    """Pixels (H×W or H×W×C) and what is needed to write them back faithfully."""

    pixels: np.ndarray
    has_alpha: bool
    format: str | None
    info: dict = field(default_factory=dict)


@contextlib.contextmanager
def _opened(path):
    """``path`` opened with Pillow (header read, pixels not yet); any problem, then or while
    the caller decodes, is an :class:`ImageError` with a one-line message."""
    from PIL import Image as PILImage, UnidentifiedImageError

    path = os.fspath(path)
    if os.path.isdir(path):
        raise ImageError(f"{path}: is a directory, not an image file")
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    try:
        with PILImage.open(path) as im:
            yield im
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image dpdown can read") from None
    except PILImage.DecompressionBombError as exc:
        raise ImageError(f"{path}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot decode image ({exc})") from None


def read(path) -> Image:
    """Decode ``path`` fully; any problem is an :class:`ImageError` with a one-line message."""
    with _opened(path) as im:
        im.load()
        fmt = im.format
        info = {key: im.info[key] for key in ("icc_profile", "exif", "dpi") if key in im.info}
        im = _normalise_mode(im)
        pixels = np.asarray(im)
        if im.mode in ("I", "I;16"):
            pixels = np.clip(pixels, 0, 65535).astype(np.uint16)
        elif im.mode == "F":
            pixels = pixels.astype(np.float32)
    if pixels.size == 0:
        raise ImageError(f"{path}: image has no pixels")
    return Image(np.ascontiguousarray(pixels), im.mode in ("LA", "RGBA"), fmt, info)


def image_shape(path) -> tuple[int, int]:
    """(rows, cols) of the image in ``path``, from its header alone (nothing decoded)."""
    with _opened(path) as im:
        return im.height, im.width


def _normalise_mode(im):
    if im.mode in _DIRECT:
        return im
    if im.mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    target = _CONVERT.get(im.mode)
    if target is None:
        raise ImageError(f"unsupported image mode {im.mode}")
    return im.convert(target)
