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
from .read import DEFAULT_MAX_PIXELS, read
from .write import format_for, write


@dataclass(frozen=True)
class FileOptions:
    """How files are read and written.

    ``format``: output format name (else from the extension; needed for ``-o -``);
    ``quality``: JPEG/WebP quality 1–100; ``strip``: drop the ICC profile, EXIF and
    resolution; ``max_pixels``: refuse larger images (0: no limit); ``overwrite``: replace
    an existing output.
    """

    format: str | None = None
    quality: int | None = None
    strip: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    overwrite: bool = False


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
    image = read(source, options.max_pixels)
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
    write(result, target, {} if options.strip else image.info, options.overwrite, format=fmt,
          quality=options.quality, has_alpha=keep_alpha, notes=notes)
    (h, w), (oh, ow) = image.pixels.shape[:2], result.shape[:2]
    seconds = dict(decode=decoded - start, compute=computed - decoded, encode=time.perf_counter() - computed)
    return Report(str(source), str(target), (w, h), (ow, oh), notes, seconds)
