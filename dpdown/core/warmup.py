"""Compiling ahead: a method run once on a small image of the kind a job will process.

A kernel is compiled for what it is given — the method and its parameters, the window size
(block sizes are compiled in) or a coverage footprint, the dtype, the channels and alpha, the
device — and saved in the disk cache. Running the method once on a small image of the same
:class:`Kind` compiles every variant the job will need, so that a batch or an evaluation can
compile up front, each variant once, in parallel processes
(:func:`dpdown.io.batch.compile_ahead`), and time its images without the compiler.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# a coverage footprint at a ratio that is no whole number (as --size and --scale usually give)
COVERAGE = "size"

# images by name: (dtype, channels, has alpha); the defaults of ``dpdown compile`` first
IMAGES = {"rgb8": ("uint8", 3, False), "rgba8": ("uint8", 4, True), "rgbf32": ("float32", 3, False),
          "grey8": ("uint8", 1, False), "rgb16": ("uint16", 3, False), "greyf32": ("float32", 1, False)}
DEFAULT_IMAGES = ("rgb8", "rgba8", "rgbf32")
DEFAULT_GEOMETRIES = (2, 3, 4, 5, COVERAGE)


@dataclass(frozen=True)
class Kind:
    """What selects a method's kernel variants: ``geometry`` is a window size ``k`` (stride k)
    or :data:`COVERAGE`; ``params`` are ``(name, value)`` pairs over the method's defaults."""

    method: str
    geometry: int | str
    dtype: str = "uint8"
    channels: int = 3
    has_alpha: bool = False
    params: tuple = ()
    device: str = "cpu"

    def label(self) -> str:
        shown = f"k={self.geometry}" if self.geometry != COVERAGE else "coverage"
        layers = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}.get(self.channels, f"{self.channels}-channel")
        return f"{self.method} {shown} {layers} {self.dtype}" + (f" {self.device}" if self.device != "cpu" else "")


def sample(kind: Kind) -> np.ndarray:
    """A small random image of ``kind``: whole windows and windows the edge cuts, for ``k``;
    an odd size, for the coverage footprint."""
    rows, cols = (4 * kind.geometry + 1, 5 * kind.geometry + 2) if kind.geometry != COVERAGE else (37, 45)
    shape = (rows, cols, kind.channels)
    rng = np.random.default_rng(0)
    dtype = np.dtype(kind.dtype)
    if dtype.kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    return rng.random(shape).astype(dtype)


def warm(kind: Kind) -> float:
    """Run ``kind``'s method once on :func:`sample`, compiling what it needs; the seconds taken."""
    from .pipeline import downscale  # here: the CLI reads IMAGES at start-up, without the pipeline

    start = time.perf_counter()
    geometry = dict(shape=(13, 17)) if kind.geometry == COVERAGE else dict(k=kind.geometry)
    downscale(sample(kind), **geometry, method=kind.method, has_alpha=kind.has_alpha, device=kind.device,
              **dict(kind.params))
    return time.perf_counter() - start


def try_warm(kind: Kind) -> tuple[Kind, float | str]:
    """``(kind, seconds)``, or ``(kind, why)`` where the method cannot run on it (a bad
    parameter, no GPU): a task for :func:`dpdown.io.batch.compile_ahead`, which never raises."""
    from ..errors import DpdownError

    try:
        return kind, warm(kind)
    except DpdownError as exc:
        return kind, str(exc)


def kinds(methods, geometries=DEFAULT_GEOMETRIES, images=DEFAULT_IMAGES, device="cpu") -> list[Kind]:
    """Every combination of ``methods`` (names), ``geometries`` (window sizes or
    :data:`COVERAGE`) and ``images`` (names in :data:`IMAGES`)."""
    return [Kind(method, geometry, *IMAGES[image], device=device)
            for method in methods for image in images for geometry in geometries]
