"""GPU codecs: JPEG decoded and encoded on the GPU by NVIDIA nvImageCodec, for runs on ``cuda``.

With ``codec="gpu"`` (or ``auto`` where it can run), :func:`dpdown.io.one_file.scale_file`
decodes a JPEG straight into GPU memory (:func:`read`), the kernels downscale it there, and
:func:`write` encodes a JPEG output there too, or copies the result to the host for Pillow
(PNG, TIFF, WebP...). Everything else falls back to the CPU decoder of :mod:`dpdown.io.read`,
per file, with a note saying why: other formats, CMYK or 12/16-bit JPEG, multi-picture (MPO)
files, standard input, and any file nvImageCodec refuses or fails to decode. The metadata
comes from the file's header through Pillow (:func:`dpdown.io.read.read_header`), as the CPU
path reads it: the ICC profile, EXIF and resolution are kept, and the EXIF orientation is
applied here, by a copy on the GPU (nvImageCodec's own ``apply_exif_orientation`` is off).

nvImageCodec (``pip install 'dpdown[gpu-codecs]'``, module ``nvidia.nvimgcodec``) is imported
on first use, never by ``import dpdown``. The calls follow its Python API reference
(https://docs.nvidia.com/cuda/nvimagecodec/, "Python API": ``Decoder.decode``,
``DecodeParams``, ``CodeStream``, ``Encoder.encode``, ``EncodeParams``, ``as_image``, ``Backend``)
and the docstrings of the 0.9.0 wheel; they have not yet run on a GPU.
"""

from __future__ import annotations

import struct
import sys
import threading

import numpy as np

from ..errors import DpdownError, ImageError, ParameterError
from ..kernels import device as devices
from ..kernels.jit import Lazy
from .read import Image, open_source, read_header
from .write import DEFAULT_QUALITY, write_atomic
from .write import write as write_file

CODECS = ("auto", "cpu", "gpu")
INSTALL = "pip install 'dpdown[gpu-codecs]'"
_MODULE = "nvidia.nvimgcodec"
cuda = None  # numba.cuda, bound when a template is compiled for the GPU (jit.Lazy.python_function)


class CodecError(DpdownError):
    """``codec="gpu"`` was asked for and cannot be used (exit 1)."""


class Unsupported(Exception):
    """This file goes through the CPU codecs; ``str(exc)`` says why."""


# ---- choosing the codecs ------------------------------------------------------------------

def module():
    """nvImageCodec's Python module, imported now (:class:`Unsupported` if it cannot be)."""
    import importlib

    try:
        return importlib.import_module(_MODULE)
    except ImportError:
        raise Unsupported(f"nvImageCodec is not installed ({INSTALL})") from None
    except Exception as exc:  # installed but broken (missing CUDA libraries...)
        raise Unsupported(f"nvImageCodec cannot be imported ({_first_line(exc)})") from None


def on_cuda(device) -> bool:
    """Whether a run on ``device`` (``cpu``, ``cuda`` or ``auto``) runs its kernels on the GPU."""
    return device == "cuda" or (device == "auto" and devices.cuda_problem() is None)


def problem(device) -> str | None:
    """Why the GPU codecs cannot serve a run on ``device``, or None when they can."""
    if device not in ("cuda", "auto"):
        return "they need --device cuda"
    why = devices.cuda_problem()
    if why is not None:
        return f"no usable GPU ({why})"
    try:
        start()
    except Unsupported as exc:
        return str(exc)
    return None


def resolve(codec, device) -> str:
    """``gpu`` or ``cpu`` for a requested ``auto``, ``cpu`` or ``gpu`` on ``device``: ``auto``
    is ``gpu`` where nvImageCodec imports and starts and the kernels run on a GPU; ``gpu``
    where that is not so is a :class:`CodecError` (``--device cpu``: a ParameterError)."""
    if codec not in CODECS:
        raise ParameterError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if codec == "cpu":
        return "cpu"
    if codec == "gpu" and device == "cpu":
        raise ParameterError("codec gpu needs --device cuda: the GPU codecs feed the GPU's kernels")
    why = problem(device)
    if why is None:
        return "gpu"
    if codec == "gpu":
        raise CodecError(f"codec gpu: {why}")
    return "cpu"


_THREAD = threading.local()  # this thread's (module, decoder, encoder)


def start():
    """This thread's nvImageCodec (module, Decoder, Encoder), made on first use, restricted to
    the GPU backends: a file they cannot decode comes back as None and goes to Pillow, rather
    than to nvImageCodec's own CPU decoders."""
    nv = module()
    held = getattr(_THREAD, "codecs", None)
    if held is None or held[0] is not nv:
        try:
            backends = [nv.Backend(nv.BackendKind.GPU_ONLY), nv.Backend(nv.BackendKind.HYBRID_CPU_GPU),
                        nv.Backend(nv.BackendKind.HW_GPU_ONLY)]
            _THREAD.codecs = held = (nv, nv.Decoder(backends=backends), nv.Encoder(backends=backends[:1]))
        except Exception as exc:  # no GPU, no driver, no nvJPEG...
            raise Unsupported(f"nvImageCodec cannot start ({_first_line(exc)})") from None
    return held


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stream_handle():
    """This thread's CUDA stream (:func:`dpdown.kernels.device.stream`) as the integer
    nvImageCodec takes; 0 (the default stream) where it has none (Numba's simulator)."""
    try:
        handle = devices.stream().handle
        return int(getattr(handle, "value", handle) or 0)
    except Exception:
        return 0


# ---- decoding -------------------------------------------------------------------------------

def read(source, max_pixels) -> Image:
    """A JPEG file decoded into GPU memory: an :class:`dpdown.io.read.Image` whose ``pixels``
    are a Numba device array (H×W×3 or H×W, uint8), oriented, with the ``info`` and ``notes``
    :func:`dpdown.io.read.read` gives. :class:`Unsupported` for a file to read on the CPU
    instead; ImageError only for what the CPU path refuses alike (no such file...)."""
    label, src = open_source(source)
    if isinstance(src, bytes):
        raise Unsupported("standard input is decoded on the CPU")
    try:
        with open(src, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise Unsupported(f"cannot read it ({exc.strerror})") from None
    if data[:3] != b"\xff\xd8\xff":
        raise Unsupported("not a JPEG")
    try:
        header = read_header(label, data, max_pixels)
    except ImageError as exc:
        raise Unsupported(f"its header: {exc}") from None
    if header.format != "JPEG":
        raise Unsupported(f"{header.format} ({header.frames} pictures)" if header.frames > 1 else str(header.format))
    if header.mode not in ("L", "RGB"):
        raise Unsupported(f"{header.mode} JPEG")
    nv, decoder, _ = start()
    gray = header.mode == "L"
    try:
        params = nv.DecodeParams(apply_exif_orientation=False,
                                 color_spec=nv.ColorSpec.GRAY if gray else nv.ColorSpec.SRGB, allow_any_depth=False)
        decoded = decoder.decode(nv.CodeStream(data), params=params, cuda_stream=_stream_handle())
    except Exception as exc:
        raise Unsupported(f"nvImageCodec failed to decode it ({_first_line(exc)})") from None
    if decoded is None:
        raise Unsupported("nvImageCodec could not decode it")
    pixels = _on_device(nv, decoded, header, gray)
    notes = ["decoded on the GPU by nvImageCodec"] + header.notes
    return Image(pixels, False, "JPEG", header.info, notes)


def _on_device(nv, decoded, header, gray):
    """nvImageCodec's image as a C-contiguous Numba device array, oriented as the EXIF says."""
    kind = getattr(getattr(nv, "ImageBufferKind", None), "STRIDED_HOST", None)
    if kind is not None and getattr(decoded, "buffer_kind", None) == kind:
        decoded = decoded.cuda()
    pixels = devices.from_caller(decoded)  # waits for the decoder's stream (CUDA array interface)
    width, height = header.size
    channels = 1 if gray else 3
    if pixels.shape != (height, width, channels) or pixels.dtype != np.uint8:
        raise Unsupported(f"nvImageCodec gave {pixels.dtype} {pixels.shape}, not uint8 {(height, width, channels)}")
    if header.orientation != 1 or not pixels.is_c_contiguous():
        pixels = orient_on_device(pixels, header.orientation)
    return pixels.reshape(pixels.shape[:2]) if gray else pixels


def _orient_copy(src, dst, orientation):
    """dst[i, j] = the source pixel that EXIF ``orientation`` puts at (i, j), as
    :func:`dpdown.io.read.orient` (Pillow's ``exif_transpose``)."""
    i, j = cuda.grid(2)
    if i >= dst.shape[0] or j >= dst.shape[1]:
        return
    last_row = src.shape[0] - 1
    last_col = src.shape[1] - 1
    y, x = i, j
    if orientation == 2:
        x = last_col - j
    elif orientation == 3:
        y, x = last_row - i, last_col - j
    elif orientation == 4:
        y = last_row - i
    elif orientation == 5:
        y, x = j, i
    elif orientation == 6:
        y, x = last_row - j, i
    elif orientation == 7:
        y, x = last_row - j, last_col - i
    elif orientation == 8:
        y, x = j, last_col - i
    for c in range(dst.shape[2]):
        dst[i, j, c] = src[y, x, c]


_ORIENT = Lazy(_orient_copy, "orient_copy")
_BLOCK = (16, 16)


def orient_on_device(pixels, orientation):
    """A C-contiguous copy of the H×W×C device array ``pixels`` with EXIF ``orientation``
    (1–8) applied, made on this thread's stream; the source may be strided. Waits for the
    copy, so that the source may be freed as soon as it is returned."""
    from numba import cuda

    rows, cols = pixels.shape[:2]
    shape = ((cols, rows) if orientation in (5, 6, 7, 8) else (rows, cols)) + (pixels.shape[2],)
    stream = devices.stream()
    out = cuda.device_array(shape, pixels.dtype, stream=stream)
    grid = tuple(-(-n // b) for n, b in zip(shape[:2], _BLOCK))
    _ORIENT.compiled("cuda")[grid, _BLOCK, stream](pixels, out, orientation)
    stream.synchronize()  # nvImageCodec frees its image on its own terms
    return out


# ---- encoding -------------------------------------------------------------------------------

def write(pixels, path, info, overwrite, *, format, quality=None, has_alpha=None, notes=None):
    """:func:`dpdown.io.write.write` for a result in GPU memory: an 8-bit gray or RGB JPEG is
    encoded there by nvImageCodec, with ``info``'s resolution, EXIF and ICC profile put into
    it, and written atomically; anything else (or a failed GPU encode, said in ``notes``) is
    copied to the host and written by Pillow."""
    notes = [] if notes is None else notes
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if format == "JPEG" and pixels.dtype == np.uint8 and not has_alpha and channels in (1, 3):
        try:
            data = with_metadata(encode_jpeg(pixels, quality), info or {})
        except Unsupported as why:
            notes.append(f"encoded on the CPU by Pillow: {why}")
        else:
            notes.append("encoded on the GPU by nvImageCodec")
            if path == "-":
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                write_atomic(path, lambda stream: stream.write(data), overwrite)
            return
    write_file(devices.to_host(pixels), path, info, overwrite, format=format, quality=quality,
               has_alpha=has_alpha, notes=notes)


def encode_jpeg(pixels, quality=None) -> bytes:
    """The JPEG nvImageCodec encodes from the device array ``pixels`` (H×W or H×W×1|3,
    uint8), at ``quality`` (1–100, default as Pillow's path)."""
    nv, _, encoder = start()
    if pixels.ndim == 2:
        pixels = pixels.reshape(pixels.shape + (1,))
    quality = DEFAULT_QUALITY if quality is None else int(quality)
    handle = _stream_handle()
    try:
        params = nv.EncodeParams(quality_type=nv.QualityType.QUALITY, quality_value=float(quality))
        stream = encoder.encode(nv.as_image(pixels, handle), "jpeg", params=params, cuda_stream=handle)
    except Exception as exc:
        raise Unsupported(f"nvImageCodec failed to encode it ({_first_line(exc)})") from None
    if stream is None:
        raise Unsupported("nvImageCodec could not encode it")
    return bytes(memoryview(stream))


_SEGMENT_MAX = 65533  # bytes of a JPEG marker segment after its length field
_ICC_CHUNK = _SEGMENT_MAX - 14  # "ICC_PROFILE\0", sequence number, count


def with_metadata(jpeg: bytes, info: dict) -> bytes:
    """``jpeg`` with the JFIF header (resolution: ``info["dpi"]``), EXIF and ICC profile of
    ``info`` in place of any the encoder wrote, where Pillow's JPEG writer puts them."""
    if jpeg[:2] != b"\xff\xd8":
        raise Unsupported("the GPU encoder's output is not a JPEG")
    kept, pos = [], 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and (0xE0 <= jpeg[pos + 1] <= 0xEF or jpeg[pos + 1] == 0xFE):
        end = pos + 2 + struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
        segment, body = jpeg[pos:end], jpeg[pos + 4:end]
        theirs = (jpeg[pos + 1] == 0xE0 and body.startswith(b"JFIF\0")) or \
            (jpeg[pos + 1] == 0xE1 and body.startswith(b"Exif\0\0")) or \
            (jpeg[pos + 1] == 0xE2 and body.startswith(b"ICC_PROFILE\0"))
        if not theirs:
            kept.append(segment)
        pos = end
    dpi = info.get("dpi")
    units, density = (1, tuple(round(float(d)) for d in dpi)) if dpi else (0, (1, 1))
    head = [_segment(0xE0, b"JFIF\0" + struct.pack(">BBBHHBB", 1, 1, units, *density, 0, 0))]
    exif = info.get("exif")
    if exif:
        head.append(_segment(0xE1, exif if exif.startswith(b"Exif\0\0") else b"Exif\0\0" + exif))
    icc = info.get("icc_profile")
    if icc:
        chunks = [icc[i:i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
        if len(chunks) > 255:
            raise Unsupported("its ICC profile is too large for a JPEG")
        head += [_segment(0xE2, b"ICC_PROFILE\0" + bytes((n + 1, len(chunks))) + chunk)
                 for n, chunk in enumerate(chunks)]
    return b"\xff\xd8" + b"".join(head + kept) + jpeg[pos:]


def _segment(marker, body):
    if len(body) > _SEGMENT_MAX:
        raise Unsupported(f"a metadata segment of {len(body)} bytes does not fit a JPEG marker")
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body
