"""Reading image files into arrays (the first step of the pipeline).

* PNG (gray, gray+alpha, RGB, RGBA, palette; 8 and 16 bit), JPEG, WebP, BMP through Pillow;
  16-bit colour PNG (which Pillow reduces to 8 bit) through imagecodecs' libpng;
* GIF, APNG and other animations: the first frame (said in the notes);
* TIFF through tifffile: 8/16-bit, float32/64, any number of bands; an uncompressed TIFF is
  memory-mapped, not read, so a huge one costs only the rows the kernels touch;
* ``-`` reads standard input.

The EXIF orientation is applied to the pixels and reset to 1; the ICC profile and EXIF are
kept in :attr:`Image.info` for :func:`dpdown.io.write.write`. CMYK goes to sRGB through its
embedded profile (or the plain formula without one), a palette is expanded; every such
conversion is a line in :attr:`Image.notes` (``--verbose``). Every problem is an
:class:`ImageError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import ImageError

DEFAULT_MAX_PIXELS = 500_000_000  # larger images need --max-pixels (a header can claim anything)

# Pillow modes that map straight onto an array, and what the others become.
_DIRECT = {"L", "LA", "RGB", "RGBA", "I", "I;16", "F"}
_CONVERT = {"1": "L", "PA": "RGBA", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "I;16B": "I",
            "I;16L": "I", "RGBX": "RGB", "RGBa": "RGBA", "La": "LA"}
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
_ORIENTATION = 0x0112
_EXIF_TAG_ORIENTATION = 274


@dataclass
class Image:
    """Pixels (H×W or H×W×C) and what is needed to write them back faithfully."""

    pixels: np.ndarray
    has_alpha: bool
    format: str | None
    info: dict = field(default_factory=dict)   # icc_profile, exif (orientation 1), dpi
    notes: list = field(default_factory=list)  # conversions made while reading, one line each


def read(source, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image:
    """Decode ``source`` (a path, or ``"-"`` for standard input).

    ``max_pixels`` (None or 0: no limit) refuses images whose header claims more pixels
    before anything is decoded: Pillow's decompression-bomb guard, made one clear error.
    """
    label, src = _open(source)
    head = src[:4] if isinstance(src, bytes) else _head(src)
    if head in _TIFF_MAGIC:
        image = _read_tiff(label, src, max_pixels)
    else:
        image = None
    if image is None:
        image = _read_pillow(label, src, max_pixels)
    if image.pixels.dtype.kind == "f" and not _all_finite(image.pixels):
        raise ImageError(f"{label}: contains NaN or infinite values; dpdown needs finite pixel values")
    return image


def image_shape(path) -> tuple[int, int] | None:
    """(rows, cols) of the image in ``path`` as :func:`read` gives it (EXIF orientation
    applied), from its header alone; None when the header alone does not tell."""
    try:
        with _pillow_image(str(path), path) as im:  # no pixel limit: read() checks the size itself
            rows, cols = im.height, im.width
            orientation = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # read() names the problem, if there is one
        return None
    return (cols, rows) if orientation in (5, 6, 7, 8) else (rows, cols)


def open_source(source):
    """(label for messages, path or the bytes of standard input), with :func:`read`'s checks."""
    return _open(source)


def _open(source):
    """(label for messages, path or the bytes of standard input)."""
    if os.fspath(source) == "-":
        data = sys.stdin.buffer.read()
        if not data:
            raise ImageError("<stdin>: no data on standard input")
        return "<stdin>", data
    path = os.fspath(source)
    if os.path.isdir(path):
        raise ImageError(f"{path}: is a directory, not an image file")
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    return path, path


def _head(path):
    with open(path, "rb") as f:
        return f.read(4)


def _stream(src):
    return io.BytesIO(src) if isinstance(src, bytes) else src


def _check_size(label, width, height, max_pixels):
    if width == 0 or height == 0:
        raise ImageError(f"{label}: image has no pixels ({width}x{height})")
    if max_pixels and width * height > max_pixels:
        raise ImageError(f"{label}: {width}x{height} is {width * height:,} pixels, more than the limit of "
                         f"{max_pixels:,} (a guard against decompression bombs); raise it with --max-pixels")


def _all_finite(pixels, rows=1024):
    # in row blocks: the image may be a memory map larger than memory
    return all(np.isfinite(pixels[i:i + rows]).all() for i in range(0, pixels.shape[0], rows))


def orient(pixels, orientation):
    """Apply EXIF ``orientation`` (1–8) to an H×W(×C) array, as Pillow's ``exif_transpose``."""
    return {1: lambda p: p, 2: lambda p: p[:, ::-1], 3: lambda p: p[::-1, ::-1], 4: lambda p: p[::-1],
            5: lambda p: p.swapaxes(0, 1), 6: lambda p: np.rot90(p, -1),
            7: lambda p: p.swapaxes(0, 1)[::-1, ::-1], 8: lambda p: np.rot90(p)}[orientation](pixels)


def _orientation(label, value):
    if value is None:
        return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = None
    if value not in range(1, 9):
        raise ImageError(f"{label}: broken EXIF orientation {value!r} (must be 1-8)")
    return value


_PILLOW_LIMIT = threading.Lock()


@contextlib.contextmanager
def _pillow_image(label, stream):
    """``stream`` opened by Pillow, without its pixel limit (the caller checks the size
    itself, :func:`_check_size`); Pillow's errors inside the block become one-line
    ImageErrors."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        # Pillow's limit and the warning filters are process-wide: one thread at a time (the
        # threads of a GPU batch or a Dask worker), or one could leave the limit off for good
        with _PILLOW_LIMIT, warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            limit, PILImage.MAX_IMAGE_PIXELS = PILImage.MAX_IMAGE_PIXELS, None
            try:
                im = PILImage.open(stream)
            finally:
                PILImage.MAX_IMAGE_PIXELS = limit
        with im:
            yield im
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image dpdown can read") from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise ImageError(f"{label}: cannot decode image ({exc})") from None


def _read_pillow(label, src, max_pixels) -> Image:
    from PIL import Image as PILImage

    notes = []
    with _pillow_image(label, _stream(src)) as im:
        _check_size(label, *im.size, max_pixels)
        fmt = im.format
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            notes.append(f"{fmt} with {frames} frames: the first frame is read")
        info = {key: im.info[key] for key in ("icc_profile", "dpi") if im.info.get(key)}
        if fmt == "PNG" and frames == 1 and _rawmode(im) in ("RGB;16B", "RGBA;16B", "LA;16B"):
            pixels, has_alpha = _png16(src), _rawmode(im) != "RGB;16B"
            exif = PILImage.Exif()  # from the chunks before the pixels: no 8-bit decoding
            if im.info.get("exif"):
                exif.load(im.info["exif"])
        else:
            im.load()
            exif = im.getexif()
            im = _normalise_mode(label, im, info, notes)
            pixels, has_alpha = _as_array(im), im.mode in ("LA", "RGBA")
    orientation = _take_orientation(label, exif, info, notes)
    if orientation != 1:
        pixels = orient(pixels, orientation)
    return Image(np.ascontiguousarray(pixels), has_alpha, fmt, info, notes)


def _take_orientation(label, exif, info, notes) -> int:
    """The EXIF orientation to apply to the pixels (said in ``notes``); ``exif`` goes into
    ``info`` with it reset to 1."""
    orientation = _orientation(label, exif.get(_ORIENTATION))
    if orientation != 1:
        notes.append(f"EXIF orientation {orientation} applied to the pixels (and reset to 1)")
        exif[_ORIENTATION] = 1
    if len(exif):
        info["exif"] = exif.tobytes()
    return orientation


@dataclass
class Header:
    """What :func:`read` would give for a file but its pixels, from the header alone:
    ``mode`` and ``size`` (W, H) as stored, the EXIF ``orientation`` still to apply, ``info``
    and ``notes`` as :class:`Image`'s once it is applied."""

    format: str | None
    mode: str
    size: tuple
    frames: int
    orientation: int
    info: dict
    notes: list


def read_header(label, data: bytes, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Header:
    """Parse ``data`` (a whole file) as :func:`read` would, without decoding pixels: for a
    decoder elsewhere (:mod:`dpdown.io.gpu_codecs`) that must keep the same metadata and
    orientation. Errors are :class:`ImageError`, as :func:`read`'s."""
    notes = []
    with _pillow_image(label, io.BytesIO(data)) as im:
        _check_size(label, *im.size, max_pixels)
        info = {key: im.info[key] for key in ("icc_profile", "dpi") if im.info.get(key)}
        exif = im.getexif()
        header = Header(im.format, im.mode, im.size, getattr(im, "n_frames", 1), 1, info, notes)
    header.orientation = _take_orientation(label, exif, info, notes)
    return header


def _rawmode(im):
    args = im.tile[0].args if im.tile else None
    return args[0] if isinstance(args, tuple) and args else args if isinstance(args, str) else ""


def _png16(src):
    """A 16-bit colour PNG at full depth (Pillow would reduce it to 8 bit)."""
    import imagecodecs

    if not isinstance(src, bytes):
        with open(src, "rb") as f:
            src = f.read()
    try:
        return imagecodecs.png_decode(src)
    except imagecodecs.PngError as exc:
        raise ImageError(f"cannot decode 16-bit PNG ({exc})") from None


def _as_array(im):
    pixels = np.asarray(im)
    if im.mode in ("I", "I;16"):
        return np.clip(pixels, 0, 65535).astype(np.uint16)
    if im.mode == "F":
        return pixels.astype(np.float32)
    return pixels


def _normalise_mode(label, im, info, notes):
    if im.mode in _DIRECT:
        return im
    if im.mode == "P":
        target = "RGBA" if "transparency" in im.info else "RGB"
        notes.append(f"palette image expanded to {target}")
        return im.convert(target)
    if im.mode == "CMYK":
        return _cmyk_to_rgb(im, info, notes)
    target = _CONVERT.get(im.mode)
    if target is None:
        raise ImageError(f"{label}: unsupported image mode {im.mode}")
    notes.append(f"mode {im.mode} converted to {target}")
    return im.convert(target)


def _cmyk_to_rgb(im, info, notes):
    """CMYK to sRGB through the embedded profile (the output then carries sRGB's), else by
    Pillow's plain formula."""
    from PIL import ImageCms

    profile = info.get("icc_profile")
    if profile:
        try:
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            rgb = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(profile)), srgb,
                                            outputMode="RGB")
            info["icc_profile"] = srgb.tobytes()
            notes.append("CMYK converted to sRGB through its embedded ICC profile")
            return rgb
        except (ImageCms.PyCMSError, OSError):
            pass
    info.pop("icc_profile", None)
    notes.append("CMYK converted to RGB without a colour profile (R = 255·(1−C)·(1−K) ...)")
    return im.convert("RGB")


def _read_tiff(label, src, max_pixels) -> Image | None:
    """A TIFF through tifffile; None for the photometric kinds left to Pillow (palette, CMYK,
    YCbCr, min-is-white), which converts them."""
    import tifffile

    notes = []
    try:
        with tifffile.TiffFile(_stream(src)) as tif:
            page = tif.pages.first
            if page.photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB):
                return None
            _check_size(label, page.imagewidth, page.imagelength, max_pixels)
            if len(tif.pages) > 1:
                notes.append(f"TIFF with {len(tif.pages)} pages: the first page is read")
            separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and page.samplesperpixel > 1
            if page.is_memmappable and not separate and isinstance(src, str):
                pixels = tifffile.memmap(src, page=0, mode="r")
                notes.append("uncompressed TIFF memory-mapped: rows are read as the kernels reach them")
            else:
                pixels = page.asarray()
            if separate:
                pixels = np.moveaxis(pixels, 0, -1)
            icc = page.tags.valueof(34675)
            orientation = page.tags.valueof(_EXIF_TAG_ORIENTATION)
            extrasamples = tuple(page.extrasamples)
    except ImageError:
        raise
    except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError) as exc:
        raise ImageError(f"{label}: cannot decode TIFF ({exc})") from None
    pixels = _tiff_dtype(label, pixels, notes)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    has_alpha = bool(extrasamples) and channels in (2, 4) and extrasamples[0] in (1, 2)
    if has_alpha and extrasamples[0] == 1:
        notes.append("associated (premultiplied) alpha read as straight alpha")
    orientation = _orientation(label, orientation)
    if orientation != 1:
        pixels = orient(pixels, orientation)
        notes.append(f"TIFF orientation {orientation} applied to the pixels")
    info = {"icc_profile": bytes(icc)} if icc is not None else {}
    return Image(pixels if isinstance(pixels, np.memmap) else np.ascontiguousarray(pixels),
                 has_alpha, "TIFF", info, notes)


def _tiff_dtype(label, pixels, notes):
    if pixels.dtype in (np.uint8, np.uint16, np.float32, np.float64):
        return pixels
    if pixels.dtype == np.bool_:
        notes.append("1-bit TIFF read as 8-bit gray")
        return pixels.astype(np.uint8) * 255
    if pixels.dtype == np.float16:
        notes.append("float16 TIFF read as float32")
        return pixels.astype(np.float32)
    raise ImageError(f"{label}: unsupported TIFF sample type {pixels.dtype} "
                     "(dpdown reads uint8, uint16, float16/32/64)")
