"""One file in, one file out: read → downscale → write, with the file options of ``dpdown scale``.

The command line gathers its options into a :class:`FileOptions` and calls
:func:`scale_file` per input; everything about formats, metadata and standard streams
happens here and in :mod:`dpdown.io.read` / :mod:`dpdown.io.write`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field

from ..errors import ParameterError
from ..kernels.device import on_gpu
from .read import DEFAULT_MAX_PIXELS, read
from .write import format_for, write


@dataclass(frozen=True)
class FileOptions:
    """How files are read and written.

    ``format``: output format name (else from the extension; needed for ``-o -``);
    ``quality``: JPEG/WebP quality 1–100; ``strip``: drop the ICC profile, EXIF and
    resolution; ``max_pixels``: refuse larger images (0: no limit); ``overwrite``: replace
    an existing output; ``codec``: ``auto``, ``cpu`` or ``gpu``, who decodes and encodes
    JPEG on a ``cuda`` run (:mod:`dpdown.io.gpu_codecs`: ``gpu`` tries nvImageCodec on every
    file and falls back to the CPU per file, ``auto`` does so where nvImageCodec is usable).
    """

    format: str | None = None
    quality: int | None = None
    strip: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    overwrite: bool = False
    codec: str = "auto"


@dataclass
class Report:
    """What :func:`scale_file` did: sizes (W, H) and the conversions made, one line each."""

    source: str
    target: str
    in_size: tuple
    out_size: tuple
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # decode, compute, encode


# One CPU kernel at a time per process: each already runs on all the process's cores, and
# Numba's fallback threading layer (workqueue) aborts on concurrent launches, as threads of
# a Dask worker would make. Decoding and encoding still overlap.
COMPUTE_LOCK = threading.Lock()


def compute_lock(device):
    """What a run on ``device`` holds: :data:`COMPUTE_LOCK`, except on the GPU, where each
    thread has its own stream (:mod:`dpdown.kernels.device`) — but not under Numba's CUDA simulator,
    whose kernels cannot run from two threads at once."""
    if device == "cuda":
        from numba.cuda import config

        if not config.ENABLE_CUDASIM:
            return contextlib.nullcontext()
    return COMPUTE_LOCK


def scale_file(source, target, options: FileOptions = FileOptions(), **downscale_args) -> Report:
    """Downscale image file ``source`` into ``target`` (either may be ``"-"``; ``target`` may
    also be a function of the output's (rows, cols) giving the path).

    ``downscale_args`` go to :func:`dpdown.downscale` (``k``, ``method``, ``linear``,
    ``memory_budget``, the method's parameters...); ``has_alpha`` comes from the file.
    Nothing is written unless the whole image was read and downscaled.
    """
    from ..core.pipeline import downscale

    if not callable(target):
        fmt = format_for(target, options.format)  # a bad format is an error before any work
    start = time.perf_counter()
    image = _read(source, options, downscale_args.get("device", "cpu"))
    decoded = time.perf_counter()
    keep_alpha = image.has_alpha and downscale_args.get("channel_pool") is None
    with compute_lock(downscale_args.get("device", "cpu")):
        result = downscale(image.pixels, has_alpha=keep_alpha, **downscale_args)
    computed = time.perf_counter()
    if callable(target):
        target = target(result.shape[:2])
        fmt = format_for(target, options.format)
    if target != "-" and source != "-" and os.path.exists(target) and os.path.samefile(target, source) \
            and not options.overwrite:
        raise ParameterError(f"{target}: refusing to overwrite the input (use --overwrite)")
    notes = list(image.notes)
    if options.strip:
        notes.append("metadata stripped (ICC profile, EXIF, resolution)")
    writer = write
    if on_gpu(result):  # decoded on the GPU, and still there
        from .gpu_codecs import write as writer
    writer(result, target, {} if options.strip else image.info, options.overwrite, format=fmt,
           quality=options.quality, has_alpha=keep_alpha, notes=notes)
    (h, w), (oh, ow) = image.pixels.shape[:2], result.shape[:2]
    seconds = dict(decode=decoded - start, compute=computed - decoded, encode=time.perf_counter() - computed)
    return Report(str(source), str(target), (w, h), (ow, oh), notes, seconds)


def _read(source, options, device):
    """The image, decoded on the GPU where ``options.codec`` and ``device`` say so and
    nvImageCodec can (:mod:`dpdown.io.gpu_codecs`), else by :func:`dpdown.io.read.read`; a
    fallback from the GPU is the first note."""
    from . import gpu_codecs

    if options.codec not in gpu_codecs.CODECS:
        raise ParameterError(f"unknown codec {options.codec!r}; choose one of {', '.join(gpu_codecs.CODECS)}")
    if options.codec == "cpu":
        return read(source, options.max_pixels)

    if not gpu_codecs.on_cuda(device):
        return read(source, options.max_pixels)
    try:
        gpu_codecs.start()
    except gpu_codecs.Unsupported as why:
        if options.codec == "auto":  # nvImageCodec not usable here: the CPU codecs, not a fallback
            return read(source, options.max_pixels)
        failed = why
    else:
        try:
            return gpu_codecs.read(source, options.max_pixels)
        except gpu_codecs.Unsupported as why:
            failed = why
    image = read(source, options.max_pixels)
    image.notes.insert(0, f"decoded on the CPU by Pillow: {failed}")
    return image
