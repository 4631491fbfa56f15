"""Huge images in horizontal strips of output rows, with the same result as the whole image.

Every method's output row ``i`` depends only on the input rows of its footprint (plus, for
Full-DPP's 3×3 guidance filter and LIP's logit filter, one row above and below, which the
kernels read from the whole image) and, for DPID, on the box means of output rows ``i ± 1``
(its 1-2-1 guidance). So a strip of output rows ``[i0, i1)`` is computed as the rows
``[i0 − 1, i1 + 1)`` of a footprint cut to them, and the extra row at each end, whose
guidance was renormalised at the cut, is dropped. The kernels keep absolute positions (the
footprint still indexes the whole image), so position-keyed random numbers (stochastic,
s3pool) and neighbourhoods are those of the whole-image path, and the result is
bit-identical to it (tested for every method).

What the strips bound is the working memory: the float64 arrays a method holds at output
size (box means, guidance, internal passes), about ``WORKING_ARRAYS`` per output pixel and
channel. The input itself is whatever array the caller passes: decoded in memory, or a
memory map (``dpdown.read_image`` maps uncompressed TIFF files), in which case only the
pages of the rows being pooled are resident.
"""

from __future__ import annotations

import dataclasses
import os
import re

import numpy as np

from ..errors import ParameterError
from ..kernels import device as devices
from ..kernels.footprints import Axis

DEFAULT_BUDGET = 2 << 30          # bytes of working memory before strips are used
BUDGET_ENV = "DPDOWN_MEMORY_BUDGET"
WORKING_ARRAYS = 4                # float64 output-size arrays a method holds at once (DPID: box mean,
                                  # guidance, result; DPP: guidance, result), with room to spare
HALO = 1                          # output rows computed beyond each end of a strip, then dropped


def parse_bytes(text) -> int:
    """``'512M'``, ``'2G'``, ``'1.5GiB'`` or a plain number of bytes."""
    if isinstance(text, (int, np.integer)):
        value = int(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
        if not m:
            raise ParameterError(f"malformed memory budget {text!r}: use bytes or a size like 512M, 2G")
        value = int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))
    if value <= 0:
        raise ParameterError(f"the memory budget must be positive (got {text!r})")
    return value


def budget(value=None) -> int:
    """The memory budget in bytes: ``value``, else ``$DPDOWN_MEMORY_BUDGET``, else 2 GiB."""
    if value is None:
        value = os.environ.get(BUDGET_ENV) or DEFAULT_BUDGET
    return parse_bytes(value)


def rows_per_strip(footprint, channels, memory_budget=None) -> int:
    """How many output rows fit the budget (at least one); all of them when the image fits."""
    row_bytes = footprint.cols.size * max(channels, 1) * 8 * WORKING_ARRAYS
    return max(1, budget(memory_budget) // row_bytes - 2 * HALO)


def cut_rows(footprint, a: int, b: int):
    """``footprint`` for output rows ``a:b`` only, still indexing the whole image."""
    rows = footprint.rows
    first = rows.offset[a]
    last = rows.offset[b - 1] + rows.stop[b - 1] - rows.start[b - 1]
    axis = Axis(rows.start[a:b], rows.stop[a:b], rows.offset[a:b] - first, rows.weight[first:last])
    return dataclasses.replace(footprint, rows=axis, on_gpu={})


def run(spec, work, footprint, values, memory_budget=None):
    """``spec.run(work, footprint, **values)`` on the host, in strips when it exceeds the budget."""
    n_rows = footprint.shape[0]
    per_strip = rows_per_strip(footprint, work.out_channels, memory_budget)
    if per_strip >= n_rows:
        return devices.to_host(spec.run(work, footprint, **values))
    out = None
    for i0 in range(0, n_rows, per_strip):
        i1 = min(i0 + per_strip, n_rows)
        a, b = max(i0 - HALO, 0), min(i1 + HALO, n_rows)
        part = devices.to_host(spec.run(work, cut_rows(footprint, a, b), **values))
        if out is None:
            out = np.empty((n_rows,) + part.shape[1:], part.dtype)
        out[i0:i1] = part[i0 - a:i1 - a]
    return out
