"""Writing arrays to image files (the last step): whole files or nothing."""

from __future__ import annotations

import os
import socket

import numpy as np

from .errors import ImageError
from .formats import WRITABLE

_KEEPS_ALPHA = {"PNG", "TIFF", "WEBP", "GIF"}
# an output is written as ".<name>.<host>-<pid>.dpdown-part" beside it, then renamed
PART_SUFFIX = ".dpdown-part"


def format_for(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in WRITABLE:
        raise ImageError(f"{path}: unknown output format {ext or '(no extension)'!r}; "
                         f"use one of {', '.join(sorted(WRITABLE))}")
    return WRITABLE[ext]


def _to_pil(pixels: np.ndarray, fmt: str):
    from PIL import Image as PILImage

    if pixels.dtype == np.uint16:
        if pixels.ndim == 2:
            return PILImage.fromarray(pixels)  # mode I;16
        pixels = (pixels >> 8).astype(np.uint8)  # Pillow cannot write 16-bit colour
    if pixels.dtype.kind == "f":
        if pixels.ndim == 2 and fmt == "TIFF":
            return PILImage.fromarray(pixels.astype(np.float32))  # mode F
        pixels = np.rint(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == 1 and pixels.ndim == 3:
        pixels = pixels[:, :, 0]
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise ImageError(f"cannot write a {channels}-channel image to {fmt}")
    if mode in ("LA", "RGBA") and fmt not in _KEEPS_ALPHA:
        raise ImageError(f"{fmt} cannot store transparency; write PNG, WebP or TIFF instead")
    return PILImage.fromarray(pixels)  # infers L, LA, RGB or RGBA from the shape


def write(pixels: np.ndarray, path, info: dict | None = None, overwrite: bool = False) -> None:
    """Encode to a temporary file beside ``path`` and rename it into place."""
    path = os.fspath(path)
    fmt = format_for(path)
    if os.path.exists(path) and not overwrite:
        raise ImageError(f"{path}: already exists (use --overwrite to replace it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageError(f"{path}: folder {folder} does not exist")
    image = _to_pil(pixels, fmt)
    options = {k: v for k, v in (info or {}).items() if k in ("icc_profile", "exif", "dpi") and v}
    tmp = part_name(path)
    try:
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            image.save(stream, format=fmt, **options)
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ImageError(f"{path}: cannot write ({exc})") from None
        raise


def part_name(path) -> str:
    """The temporary name ``path`` is written under: hidden, beside it, naming its writer."""
    folder, name = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{name}.{socket.gethostname()}-{os.getpid()}{PART_SUFFIX}")


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
        writer_host, _, pid = name[:-len(PART_SUFFIX)].rsplit(".", 1)[-1].rpartition("-")
        if writer_host == host and pid.isdigit() and not _alive(int(pid)):
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
