"""Footprints: which input pixels, with which coverage weight, make each output pixel.

Both footprints are separable, so each is a pair of :class:`Axis` (rows, columns). An axis
holds, for every output index ``i``, the input span ``start[i]:stop[i]`` and the coverage
weight of each pixel of the span, ``weight[offset[i] + (x - start[i])]``.

* Window footprint (pooling): ``k`` samples every ``stride``, ceil mode, so the output has
  ``ceil((n - k) / stride) + 1`` samples and the last window is clipped at the edge — less
  one where that last window would start past the edge (stride > k leaves it empty), as
  PyTorch's ceil mode drops it. Every coverage weight is 1.
* Coverage footprint (DPID; any method at a non-integer factor or exact size): output
  pixel ``i`` covers the real interval ``[i·p, (i+1)·p)`` with ``p = n / n_out``; a pixel cut
  by the interval's edge gets the fraction of it that lies inside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class Axis:
    """The input spans of one axis's output indices. Every span holds at least one pixel
    (``stop > start``; :func:`window_count` drops the empty window): the footprint walker
    enters its column loop without a test."""

    start: np.ndarray   # int64, first input index of each output index
    stop: np.ndarray    # int64, one past the last input index
    offset: np.ndarray  # int64, where each span's weights begin in ``weight``
    weight: np.ndarray  # float64, coverage of each pixel of each span

    @property
    def size(self) -> int:
        return len(self.start)

    @property
    def longest(self) -> int:
        """The most pixels in one span."""
        return int((self.stop - self.start).max(initial=0))

    @property
    def block(self) -> int:
        """``k`` where span ``i`` is ``[i·k, i·k + k)`` with unit weights (the last may be cut
        short by the edge): windows with stride = k, coverage at an integer ratio; else 0."""
        k = int(self.stop[0] - self.start[0]) if self.size else 0
        tiled = (k > 0 and np.array_equal(self.start, np.arange(self.size) * k)
                 and bool((self.stop[:-1] - self.start[:-1] == k).all()) and bool((self.weight == 1.0).all()))
        return k if tiled else 0

    def as_tuple(self):
        return self.start, self.stop, self.offset, self.weight


@dataclass(frozen=True)
class Footprint:
    rows: Axis
    cols: Axis
    kind: str             # "window", "coverage" or "tile" (learned pooling)
    k: int | None = None  # the window size, for window footprints
    on_gpu: dict = field(default_factory=dict, compare=False, repr=False)  # its arrays in GPU memory


    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.size, self.cols.size

    @property
    def unit_coverage(self) -> bool:
        """Every pixel of every footprint counts fully (windows; coverage at an integer ratio)."""
        return bool((self.rows.weight == 1.0).all() and (self.cols.weight == 1.0).all())

    @property
    def input_rows(self) -> slice:
        """The input rows these footprints read (a strip's, within a whole image)."""
        return slice(int(self.rows.start.min(initial=0)), int(self.rows.stop.max(initial=0)))

    @property
    def disjoint_columns(self) -> bool:
        """No input column is in two footprints of an output row (stride ≥ k; integer ratios)."""
        return bool((self.cols.start[1:] >= self.cols.stop[:-1]).all())


def stacked(footprint: Footprint, frames: int, frame_rows: int) -> Footprint:
    """``footprint`` (one frame's) for ``frames`` frames of ``frame_rows`` rows each, stacked
    one below the other as one tall image: every frame's output rows in turn, each footprint
    inside its own frame, so that one kernel launch downscales the whole stack."""
    rows = footprint.rows
    shift = np.repeat(np.arange(frames, dtype=np.int64) * frame_rows, rows.size)
    offset = np.repeat(np.arange(frames, dtype=np.int64) * len(rows.weight), rows.size)
    axis = Axis(np.tile(rows.start, frames) + shift, np.tile(rows.stop, frames) + shift,
                np.tile(rows.offset, frames) + offset, np.tile(rows.weight, frames))
    return Footprint(axis, footprint.cols, footprint.kind, footprint.k)


def _axis(starts, stops, lo=None, hi=None) -> Axis:
    """Spans ``starts[i]:stops[i]``; weights are the overlap of each pixel ``[x, x+1)`` with
    ``[lo[i], hi[i])``, or 1 everywhere when no interval is given."""
    lengths = stops - starts
    offset = np.zeros(len(starts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offset[1:])
    if lo is None:
        weight = np.ones(int(lengths.sum()))
    else:
        x = (np.repeat(starts - offset, lengths) + np.arange(lengths.sum())).astype(np.float64)
        weight = np.minimum(x + 1, np.repeat(hi, lengths)) - np.maximum(x, np.repeat(lo, lengths))
    return Axis(starts, stops, offset, weight)


def window_count(n: int, k: int, stride: int) -> int:
    """How many ceil-mode windows of ``k`` samples every ``stride`` cover ``n`` samples: each
    starts inside (the usual ``ceil((n - k) / stride) + 1``, whose last window is empty
    where stride > k puts its start at ``n`` or past it; PyTorch's ceil mode drops that one)."""
    count = (n - k + stride - 1) // stride + 1
    return count - 1 if (count - 1) * stride >= n else count


def window_axis(n: int, k: int, stride: int) -> Axis:
    """Ceil-mode windows of ``k`` samples every ``stride`` over ``n`` samples."""
    n_out = window_count(n, k, stride)
    starts = np.arange(n_out, dtype=np.int64) * stride
    return _axis(starts, np.minimum(starts + k, n))


def coverage_axis(n: int, n_out: int) -> Axis:
    """Output sample ``i`` covers ``[i·n/n_out, (i+1)·n/n_out)``; edge pixels weighted by overlap."""
    i = np.arange(n_out, dtype=np.int64)
    lo, hi = i * n / n_out, (i + 1) * n / n_out
    starts = np.floor(lo).astype(np.int64)
    stops = np.minimum(np.ceil(hi).astype(np.int64), n)
    return _axis(starts, stops, lo, hi)


def tile_axis(window_starts, n: int, tile: int) -> Axis:
    """For windows starting at ``window_starts``, each the whole ``tile`` that holds it (the
    last clipped at ``n``): learned pooling's footprint, where every output of a tile reads
    all of it. Built from the window starts, so a strip of rows (:mod:`dpdown.core.memory_strips`)
    keeps its tiles."""
    starts = (np.asarray(window_starts, dtype=np.int64) // tile) * tile
    return _axis(starts, np.minimum(starts + tile, n))


def window(shape, k: int, stride: int | None = None) -> Footprint:
    h, w = shape
    stride = k if stride is None else stride
    if k < 1 or stride < 1:
        raise ParameterError(f"k and stride must be at least 1 (got k={k}, stride={stride})")
    if k > min(h, w):
        raise ParameterError(f"window k={k} is larger than the image ({w}x{h})")
    return Footprint(window_axis(h, k, stride), window_axis(w, k, stride), "window", k)


def coverage(shape, out_shape) -> Footprint:
    (h, w), (oh, ow) = shape, out_shape
    if not (1 <= oh <= h and 1 <= ow <= w):
        raise ParameterError(f"output size {ow}x{oh} must be between 1x1 and the input's {w}x{h} "
                             "(dpdown only downscales)")
    return Footprint(coverage_axis(h, oh), coverage_axis(w, ow), "coverage")


_SIZE = re.compile(r"^\s*(\d*)\s*[xX×]\s*(\d*)\s*$")


def parse_size(text: str) -> tuple[int | None, int | None]:
    """``'640x480'`` → (480, 640) as (rows, cols); ``'640x'`` / ``'x480'`` leave one side free."""
    m = _SIZE.match(text)
    if not m or not (m.group(1) or m.group(2)):
        raise ParameterError(f"malformed size {text!r}: use WIDTHxHEIGHT, WIDTHx or xHEIGHT, e.g. 640x480")
    width = int(m.group(1)) if m.group(1) else None
    height = int(m.group(2)) if m.group(2) else None
    if width == 0 or height == 0:
        raise ParameterError(f"malformed size {text!r}: width and height must be positive")
    return height, width


def output_shape(shape, size=None, scale=None) -> tuple[int, int]:
    """Exact output (rows, cols) from a (rows, cols) size with one side optional, or a factor."""
    h, w = shape
    if scale is not None:
        if not 0 < scale <= 1:
            raise ParameterError(f"scale must be in (0, 1] (got {scale}); dpdown only downscales")
        return max(1, round(h * scale)), max(1, round(w * scale))
    oh, ow = size
    if oh is None and ow is None:
        raise ParameterError("size needs a width, a height or both")
    if oh is None:
        oh = max(1, round(h * ow / w))
    if ow is None:
        ow = max(1, round(w * oh / h))
    return oh, ow


def check_request(k=None, stride=None, out_shape=None, scale=None) -> None:
    """A :class:`ParameterError` unless exactly one of ``k``, ``out_shape`` or ``scale`` is
    given, and ``stride`` only with ``k``."""
    given = [name for name, v in (("k", k), ("shape", out_shape), ("scale", scale)) if v is not None]
    if len(given) != 1:
        raise ParameterError("give exactly one of k, shape (size) or scale"
                             + (f" (got {', '.join(given)})" if given else ""))
    if stride is not None and k is None:
        raise ParameterError("stride applies to window footprints (-k) only")


def plan(shape, k=None, stride=None, out_shape=None, scale=None) -> Footprint:
    """The footprint asked for by exactly one of ``k``, ``out_shape`` (rows, cols; one may be None) or ``scale``."""
    check_request(k, stride, out_shape, scale)
    if k is not None:
        return window(shape, int(k), None if stride is None else int(stride))
    if scale is not None:
        return coverage(shape, output_shape(shape, scale=scale))
    return coverage(shape, output_shape(shape, size=out_shape))
