"""What every walker shares: a pixel loaded and stored, a kernel's plan and its one
signature, and the block sizes compiled in.

A *walker* is a loop nest over output pixels and their footprints, written once as a
Python function (its *template*) and compiled per *variant*: with a method's rule and a
plan's constants bound to its global names (:func:`dpdown.kernels.walkers.launch.variant`).
A :class:`Kernel` is one method's rule on one walker; its :meth:`Kernel.plan` — one pure
function of the image, the footprints and the target — is every compile-time choice of the
variant that runs, as a frozen :class:`Plan` whose fields say what they mean.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types

import numpy as np

from .. import colour
from ..jit import Lazy, inline
from ..rules import ALPHA, CHANNEL_POOL, CHANNEL_SIZE, LINEAR, decode, linear_to_srgb

# channel pooling modes (the CHANNEL_POOL constant); names as the CLI spells them
NONE, MAX, MIN, MEAN, TOPK = 0, 1, 2, 3, 4
CHANNEL_POOLS = {"max": MAX, "min": MIN, "avg": MEAN, "topk": TOPK}


@inline
def load_pixel(img, y, x, scale, alpha, n, px):
    """The ``n`` working values of pixel (y, x) into ``px``: scaled (colour decoded to linear
    light when asked, :mod:`dpdown.kernels.colour`), colour premultiplied by alpha, and pooled across
    channels when ``CHANNEL_POOL`` asks (Pei et al.'s feature pooling): groups of ``CHANNEL_SIZE`` consecutive
    channels by max, min or mean, or the ``n`` largest values."""
    if CHANNEL_POOL == 0:
        for c in range(n):
            px[c] = img[y, x, c] * scale if c == alpha else decode(img[y, x, c], scale)
        if alpha >= 0:
            for c in range(n):
                if c != alpha:
                    px[c] *= px[alpha]
    elif CHANNEL_POOL == TOPK:
        for c in range(n):
            px[c] = -np.inf
        for b in range(img.shape[2]):
            v = decode(img[y, x, b], scale)
            if v > px[n - 1]:
                t = n - 1
                while t > 0 and px[t - 1] < v:
                    px[t] = px[t - 1]
                    t -= 1
                px[t] = v
    else:
        for g in range(n):
            v = decode(img[y, x, g * CHANNEL_SIZE], scale)
            for t in range(1, CHANNEL_SIZE):
                u = decode(img[y, x, g * CHANNEL_SIZE + t], scale)
                if CHANNEL_POOL == MAX:
                    v = max(v, u)
                elif CHANNEL_POOL == MIN:
                    v = min(v, u)
                else:
                    v += u
            px[g] = v / CHANNEL_SIZE if CHANNEL_POOL == MEAN else v


def pixel_loader(work, target=None):
    """``load_pixel`` compiled for the working image's channel pooling and transfer function."""
    return _loader(*work.channel_pool, colour.transfer(work, target or work.device))


@functools.lru_cache(maxsize=None)
def _loader(mode, size, transfer):
    return Lazy(load_pixel.py_func, bindings=dict(CHANNEL_POOL=mode, CHANNEL_SIZE=size,
                                                  decode=colour.decoder(*transfer)), inline="always")


@inline
def encode(v, c, top, final):
    """Working value ``v`` of channel ``c`` as :func:`store` writes it (alpha aside)."""
    if final:
        if LINEAR and c != ALPHA:
            v = linear_to_srgb(v)
        if top > 0.0:
            v = np.rint(min(max(v, 0.0), 1.0) * top)
    return v


@inline
def store(out, i, j, vals, n, top, final):
    """Write output pixel (i, j) from its working values. Internal passes (``final`` false)
    keep them as they are; the last pass writes the caller's dtype directly — colour divided
    by alpha again, encoded back from linear light when ``LINEAR``, integers rounded after
    clipping to [0, 1] (``top`` is the dtype's maximum, 0 for floats) — so no full float
    copy of the output is ever made."""
    a = vals[ALPHA] if ALPHA >= 0 else 1.0
    for c in range(n):
        v = vals[c]
        if final and ALPHA >= 0 and c != ALPHA:
            v = v / a if a > 0.0 else 0.0
        out[i, j, c] = encode(v, c, top, final)


HELPERS = (encode, store)
"""The helpers every variant binds, before its walker's own (each may call those before it)."""


def output_kind(work, final=None):
    """``(final, dtype, top)`` of a pass: the caller's dtype for the last pass (``top`` its
    maximum for unsigned integers, else 0), float64 working values for an internal one."""
    final = work.final if final is None else final
    dtype = work.pixels.dtype if final else np.dtype(np.float64)
    return final, dtype, float(np.iinfo(dtype).max) if dtype.kind == "u" else 0.0


# ---- block sizes compiled in ---------------------------------------------------------------

# The block sizes a walker may compile in (``BOX_ROWS``/``BOX_COLS``): with them its loops over
# a footprint unroll; other sizes take the loop whose size is read at run time. Each size is
# one more compilation per method, channel layout and dtype used, so only the common factors,
# and only those that buy more than a fifth of the speed: with alpha (every pixel premultiplied
# as it is loaded, on the CPU) 3 and 4 buy less, so those images compile in 2 only, and one
# variant serves every other k (docs/benchmarks.md, first-use compile time).
COMPILED_BLOCKS = frozenset(int(k) for k in os.environ.get("DPDOWN_COMPILED_BLOCKS", "2,3,4").split(",") if k.strip())
COMPILED_BLOCKS_WITH_ALPHA = frozenset({2})


def block_sizes(footprint, target, alpha=False, alpha_sizes=COMPILED_BLOCKS_WITH_ALPHA):
    """``(rows, cols)`` of the block compiled into a variant, or ``(0, 0)``. On the CPU: where
    every coverage is 1 and the columns tile in blocks (``Axis.block``, which checks the column
    weights). On the GPU, where each thread reads its own footprint: any footprints of unit
    coverage whose longest spans are the sizes (windows of any stride). Both sizes in
    ``COMPILED_BLOCKS`` (and, for an image with ``alpha`` on the CPU, in ``alpha_sizes``: by
    default ``COMPILED_BLOCKS_WITH_ALPHA``; a kernel may compile in fewer)."""
    if footprint is None:
        return 0, 0
    sizes = COMPILED_BLOCKS & alpha_sizes if alpha and target == "cpu" else COMPILED_BLOCKS
    box_rows = footprint.rows.longest
    if target == "cuda":
        box_cols = footprint.cols.longest if box_rows in sizes and footprint.unit_coverage else 0
    else:
        box_cols = footprint.cols.block if box_rows in sizes and (footprint.rows.weight == 1.0).all() else 0
    return (box_rows, box_cols) if box_cols in sizes else (0, 0)


def block_fields(footprint, fields, alpha_sizes=COMPILED_BLOCKS_WITH_ALPHA) -> dict:
    """The plan fields of the block compiled in for an image with the shared plan
    ``fields`` (:func:`layout`; :func:`block_sizes`, ``alpha_sizes`` its): ``box_rows``, ``box_cols``, and on the GPU
    the part of it a thread loads at once, ``preload_rows`` (:func:`preload_rows`) ×
    ``preload_cols`` (the block's columns, at least 1: a local array's size)."""
    target = fields["target"]
    box_rows, box_cols = block_sizes(footprint, target, fields["alpha"] >= 0, alpha_sizes)
    blocks = dict(box_rows=box_rows, box_cols=box_cols)
    if target == "cuda":
        blocks.update(preload_rows=preload_rows(box_rows, box_cols, fields["channels"]),
                      preload_cols=max(box_cols, 1))
    return blocks


def preload_rows(box_rows, box_cols, channels, values=12):
    """Rows of a block a CUDA walker loads at once (``PRELOAD_ROWS``): the most that divide the
    block and hold at most ``values`` values (1 without a block: its array still needs a size)."""
    if not box_rows:
        return 1
    return max(d for d in range(1, box_rows + 1) if box_rows % d == 0 and (d == 1 or d * box_cols * channels <= values))


# ---- plans -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Plan:
    """The compile-time choices of one variant. These fields every walker has; each walker's
    plan adds its own. Every field but ``target`` is bound into the kernel as the constant
    declared in :mod:`dpdown.kernels.rules` under its name in capitals (``constants``); a
    field left None is not bound (that walker, on that target, has no use for it)."""

    target: str          # "cpu" or "cuda": which template is compiled, and how
    channels: int        # CHANNELS: output channels, compiled in (CPU: 1–4, 0 for more, read at run time)
    alpha: int           # ALPHA: the alpha channel's index (the last), or -1
    channel_pool: tuple  # CHANNEL_POOL, CHANNEL_SIZE: pooling across channels (mode, group size)
    transfer: tuple      # the transfer function of the stored values (colour.transfer): binds decode, LINEAR

    def walker_constants(self) -> dict:
        """The constants of the walker's own fields (those a subclass adds) that are set."""
        shared = {f.name for f in dataclasses.fields(Plan)}
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in shared and getattr(self, f.name) is not None}

    def constants(self) -> dict:
        """The names this plan binds into the template."""
        mode, size = self.channel_pool
        return dict(CHANNELS=self.channels, ALPHA=self.alpha, CHANNEL_POOL=mode, CHANNEL_SIZE=size,
                    decode=colour.decoder(*self.transfer), LINEAR=self.transfer[0] != colour.NONE,
                    linear_to_srgb=colour.linear_to_srgb, **self.walker_constants())

    def tag(self, walker: str, name: str) -> str:
        """The variant's name in the kernel cache: readable, and distinct for distinct plans."""
        mode, size = self.channel_pool
        own = sorted(self.walker_constants().items())
        return (f"{walker}_{name}_c{self.channels}" + ("a" if self.alpha >= 0 else "")
                + (f"_p{mode}x{size}" if mode else "")
                + (f"_lin{self.transfer[0]}x{self.transfer[1]}" if self.transfer[0] else "")
                + "".join(f"_{k}{v.__name__ if isinstance(v, type) else int(v)}" for k, v in own)
                + ("_cuda" if self.target == "cuda" else ""))


def layout(work, target) -> dict:
    """The :class:`Plan` fields every walker shares, for the working image on ``target``."""
    channels = work.out_channels
    return dict(target=target, channels=channels if target == "cuda" or channels <= 4 else 0,
                alpha=work.alpha, channel_pool=tuple(work.channel_pool), transfer=colour.transfer(work, target))


class Kernel:
    """One method's rule on one walker. Subclasses (one per walker) say which walker
    (``walker``), which targets it has (``targets``) and give :meth:`plan`; every kernel is
    then run the same way (:func:`dpdown.kernels.walkers.launch.run`), its variants compiled
    through one signature (:func:`dpdown.kernels.walkers.launch.variant`)."""

    walker = ""
    targets = ("cpu", "cuda")

    def __init__(self, name, rule: dict, bindings: dict):
        self.name = name
        self.rule = rule
        # helper functions bound into the rule are inlined like the rule itself
        self.bindings = {name: inline(v) if isinstance(v, types.FunctionType) else v
                         for name, v in bindings.items()}
        self.variants = {}  # plan → the compiled variant (launch.variant fills it)

    def plan(self, work, target, footprint, params, final) -> Plan:
        """Every compile-time choice of the variant that runs this kernel over ``footprint``
        on ``work`` on ``target``, as the last pass (``final``) or not. Pure."""
        raise NotImplementedError

    def table(self, work, params):
        """The per-value table the variant reads (separable rules on integer images); empty."""
        return np.empty((0, 0))
