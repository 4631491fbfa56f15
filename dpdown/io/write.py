"""Writing arrays to image files (the last step): whole files or nothing.

The format comes from the extension or an explicit ``format``. 16-bit stays 16-bit where the
format allows: PNG (colour through imagecodecs' libpng, since Pillow writes 16-bit gray
only) and TIFF (tifffile, which also writes float32 and any number of bands); JPEG, WebP,
BMP and GIF store 8 bits, and the reduction is said in the notes. The ICC profile, EXIF and
resolution in ``info`` are written where the format has a place for them (TIFF: the
profile only). ``"-"`` writes standard output, in one piece once encoded.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import sys
import threading
import zlib

import numpy as np

from ..errors import ImageError, ParameterError
from .formats import FORMATS

# an output is written as ".<name>.<host>-<pid>.dpdown-part" beside it, then renamed
PART_SUFFIX = ".dpdown-part"
_KEEPS_ALPHA = {"PNG", "TIFF", "WEBP", "GIF"}
_EIGHT_BIT = {"JPEG", "WEBP", "BMP", "GIF"}
DEFAULT_QUALITY = 90  # JPEG and WebP


def format_for(path, format: str | None = None) -> str:
    """The output format: ``format`` (a name such as ``png`` or ``jpg``), else the extension."""
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if format is not None:
        name = format.lower().lstrip(".")
        if name not in FORMATS:
            raise ParameterError(f"unknown format {format!r}; use one of {', '.join(sorted(FORMATS))}")
        if os.fspath(path) != "-" and ext in FORMATS and FORMATS[ext] != FORMATS[name]:
            raise ParameterError(f"{path}: --format {format} does not match the file's extension .{ext}; "
                                 "change one of them, or drop --format")
        return FORMATS[name]
    if os.fspath(path) == "-":
        raise ParameterError("writing to standard output (-o -) needs --format")
    if ext not in FORMATS:
        raise ImageError(f"{path}: unknown output format {('.' + ext) if ext else '(no extension)'!r}; "
                         f"use one of {', '.join('.' + e for e in sorted(FORMATS))} or --format")
    return FORMATS[ext]


def write(pixels: np.ndarray, path, info: dict | None = None, overwrite: bool = False, *,
          format: str | None = None, quality: int | None = None, has_alpha: bool | None = None,
          notes: list | None = None) -> None:
    """Encode to a temporary file beside ``path`` and rename it into place (``"-"``: stdout).

    ``info`` holds ``icc_profile``, ``exif`` and ``dpi`` to keep (empty: strip them).
    ``has_alpha`` defaults to true for 2 and 4 channels. Conversions made to fit the format
    are appended to ``notes``.
    """
    path = os.fspath(path)
    fmt = format_for(path, format)
    notes = [] if notes is None else notes
    if path == "-":
        buffer = io.BytesIO()
        encode(buffer, pixels, fmt, info, quality, has_alpha, notes)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.buffer.flush()
        return
    write_atomic(path, lambda stream: encode(stream, pixels, fmt, info, quality, has_alpha, notes), overwrite)


def write_atomic(path, produce, overwrite: bool = False) -> None:
    """Call ``produce(stream)`` on a temporary file beside ``path``, then rename it into place:
    an interrupted write leaves no partial ``path``. An existing ``path`` is an error unless
    ``overwrite``."""
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise ImageError(f"{path}: already exists (use --overwrite to replace it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: folder {folder} does not exist")
    tmp = part_name(path)
    try:
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            produce(stream)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):  # never hide why the write failed
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ImageError(f"{path}: cannot write ({exc})") from None
        raise


def encode(stream, pixels, fmt, info=None, quality=None, has_alpha=None, notes=None):
    """Encode ``pixels`` (H×W or H×W×C; uint8, uint16 or float) as ``fmt`` into ``stream``."""
    notes = [] if notes is None else notes
    info = {k: v for k, v in (info or {}).items() if k in ("icc_profile", "exif", "dpi") and v}
    pixels = np.asarray(pixels)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim == 3 and channels == 1:
        pixels = pixels[:, :, 0]
    has_alpha = channels in (2, 4) if has_alpha is None else has_alpha
    if fmt == "TIFF":
        return _tiff(stream, pixels, channels, has_alpha, info)
    if channels > 4:
        raise ImageError(f"{fmt} cannot store {channels} bands; write TIFF instead")
    if has_alpha and fmt not in _KEEPS_ALPHA:
        raise ImageError(f"{fmt} cannot store transparency; write PNG, WebP or TIFF instead")
    if fmt == "PNG" and pixels.dtype != np.uint8:
        return _png16(stream, _to_uint16(pixels), info)
    if pixels.dtype != np.uint8:
        notes.append(f"{pixels.dtype} reduced to 8 bits: {fmt} stores 8-bit samples")
        pixels = _to_uint8(pixels)
    from PIL import Image as PILImage

    options = dict(info)
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = DEFAULT_QUALITY if quality is None else int(quality)
    PILImage.fromarray(pixels).save(stream, format=fmt, **options)


def _to_uint8(pixels):
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.rint(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)


def _to_uint16(pixels):
    if pixels.dtype == np.uint16:
        return pixels
    return np.rint(np.clip(pixels, 0.0, 1.0) * 65535).astype(np.uint16)


def _tiff(stream, pixels, channels, has_alpha, info):
    import tifffile

    if pixels.dtype == np.float64:
        pixels = pixels.astype(np.float32)
    colour = channels in (3, 4) and (channels == 3 or has_alpha)
    extrasamples = [2] * (channels - (3 if colour else 1)) if channels > 1 else None  # 2: straight alpha
    if not has_alpha and extrasamples:
        extrasamples = [0] * len(extrasamples)  # unspecified bands
    dpi = info.get("dpi")
    buffer = io.BytesIO()  # tifffile wants a named file or a memory stream, not a descriptor
    tifffile.imwrite(buffer, pixels, photometric="rgb" if colour else "minisblack",
                     planarconfig="contig" if channels > 1 else None, extrasamples=extrasamples,
                     iccprofile=info.get("icc_profile"), compression="zlib",
                     resolution=(float(dpi[0]), float(dpi[1])) if dpi else None,
                     resolutionunit="inch" if dpi else None)
    stream.write(buffer.getbuffer())


def _png16(stream, pixels, info):
    """16-bit PNG by libpng (imagecodecs), with the ICC profile, EXIF and resolution added as
    iCCP, eXIf and pHYs chunks after the header (imagecodecs writes pixels only)."""
    import imagecodecs

    data = imagecodecs.png_encode(np.ascontiguousarray(pixels))
    chunks = b""
    if info.get("icc_profile"):
        chunks += _chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(info["icc_profile"]))
    if info.get("exif"):
        exif = info["exif"]
        chunks += _chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif)
    if info.get("dpi"):
        x, y = (round(float(d) / 0.0254) for d in info["dpi"])
        chunks += _chunk(b"pHYs", struct.pack(">IIB", x, y, 1))
    header_end = 8 + 8 + 13 + 4  # signature, IHDR (length, type, 13 bytes, CRC)
    stream.write(data[:header_end] + chunks + data[header_end:])


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def part_name(path) -> str:
    """The temporary name ``path`` is written under: hidden, beside it, naming its writer —
    host, process and thread, since the threads of a GPU batch or a Dask worker may write two
    inputs that map to one output name at once."""
    folder, name = os.path.split(os.fspath(path))
    writer = f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
    return os.path.join(folder, f".{name}.{writer}{PART_SUFFIX}")


def remove_stale_parts(folder) -> None:
    """Remove the temporary files in ``folder`` whose writer, a process on this host, is
    gone: what a process killed outright (SIGKILL) left behind. Others' are left alone."""
    host = socket.gethostname()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(".") and name.endswith(PART_SUFFIX)):
            continue
        # ".<output name>.<host>-<pid>-<thread>": the host may hold dots, the pid and thread none
        head, *writer = name[:-len(PART_SUFFIX)].rsplit("-", 2)
        if len(writer) == 2 and head.endswith("." + host) and writer[0].isdigit() and not _alive(int(writer[0])):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
