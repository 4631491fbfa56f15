"""Running a kernel: the variant its plan asks for, built through one signature, and launched
on the device the working image is on.

``BACKENDS`` is the one table of targets: for each, the module holding each walker's template
and helpers there, and the function that launches a variant. The CUDA modules import
numba.cuda, so they are imported on a CUDA run's first use, never by a CPU run.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import bands
from ..jit import Lazy, specialise
from . import block, footprint, separable, shared


def _run_on_cpu(variant, work, footprints, params, ref, lut, top, final, dtype):
    n_rows, n_cols = footprints.shape
    out = np.empty((n_rows, n_cols, work.out_channels), dtype)
    ref = np.empty((n_rows, n_cols, 0)) if ref is None else ref
    img = work.pixels
    # the image and the output also as rows of W·C values (views): reshaped inside a kernel,
    # they kept LLVM from vectorising its loops
    bands.run(variant, n_rows, img, img.reshape(img.shape[0], -1), work.scale, footprints.rows.as_tuple(),
              footprints.cols.as_tuple(), ref, params, lut, top, final, out, out.reshape(n_rows, -1))
    return out


@functools.cache
def _cpu():
    return {"footprint": footprint, "separable": separable, "block": block}, _run_on_cpu


@functools.cache
def _cuda():
    from . import footprint_cuda, separable_cuda, window_cuda

    def run_on_gpu(variant, *args):
        return window_cuda.run(variant.compiled("cuda"), *args)

    return {"footprint": footprint_cuda, "separable": separable_cuda}, run_on_gpu


BACKENDS = {"cpu": _cpu, "cuda": _cuda}
"""target → ({walker: the module of its template and helpers there}, the launcher)."""


def variant(kernel, work, target, footprints, params, final):
    """The compiled variant of ``kernel`` for ``kernel.plan(work, target, footprints, params,
    final)``: the walker's template on ``target`` with the rule, the plan's constants, the
    pixel loader and the helpers bound to its global names, each helper bound with those
    before it (callees first). Made once per plan."""
    plan = kernel.plan(work, target, footprints, params, final)
    if plan not in kernel.variants:
        module = BACKENDS[target]()[0][kernel.walker]
        constants = dict(kernel.bindings, **plan.constants())
        rule = {name: Lazy(f, bindings=constants, inline="always") for name, f in kernel.rule.items()}
        bound = dict(constants, **rule, load_pixel=shared.pixel_loader(work, target))
        for helper in shared.HELPERS + module.HELPERS:
            function = helper.py_func if isinstance(helper, Lazy) else helper
            bound[function.__name__] = Lazy(function, bindings=bound, inline="always")
        kernel.variants[plan] = specialise(module.TEMPLATE, plan.tag(kernel.walker, kernel.name), **bound)
    return kernel.variants[plan]


def run(kernel, work, footprints, params=(), ref=None, final=None):
    """Apply ``kernel`` over ``footprints`` to the working image, on the working image's device.

    The result is H'×W'×C': float64 working values, or — for the last pass of a method run
    through the API (``work.final``; an internal pass says ``final=False``) — the caller's
    dtype, converted as each pixel is written. On the GPU it is a device array.
    """
    final, dtype, top = shared.output_kind(work, final)
    params = np.asarray(params, dtype=np.float64)
    if work.device not in kernel.targets:
        raise ValueError(f"{kernel.name}: no {work.device} kernel")
    launcher = BACKENDS[work.device]()[1]
    compiled = variant(kernel, work, work.device, footprints, params, final)
    return launcher(compiled, work, footprints, params, ref, kernel.table(work, params), top, final, dtype)
