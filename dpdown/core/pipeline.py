"""The pipeline of one image: working form → the method over its footprints → back.

:func:`downscale` reads nothing and writes nothing: :mod:`dpdown.io` brings pixels from
files and takes them back; here they are put in working form (:mod:`dpdown.core.working`),
the footprint of every output pixel is planned (:mod:`dpdown.kernels.footprints`), the
method's kernels run over it in strips of rows that bound the memory used
(:mod:`dpdown.core.memory_strips`), and the result comes back in the input's dtype.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ParameterError
from ..kernels import device as devices
from ..kernels import footprints, layouts
from ..methods import registry
from . import memory_strips
from .working import to_working


def downscale(img, k=None, *, stride=None, shape=None, scale=None, method="dpid",
              has_alpha=None, channel_pool=None, channel_size=1, device=None, linear=False,
              memory_budget=None, layout="image", **params):
    """Downscale an image with a detail-preserving or pooling method.

    Parameters
    ----------
    img : ndarray or GPU array
        H×W or H×W×C; uint8, uint16, float32 or float64. Integers are processed as values in
        [0, 1] and rounded back; floats are used as they are. An array already in GPU memory —
        a Numba device array, or any array exposing ``__cuda_array_interface__`` or CUDA DLPack
        (CuPy, PyTorch CUDA tensors), C-contiguous — is read there, with no copy to the host,
        and the result is returned on the GPU (see Returns).
    k : int, optional
        Window size: output pixel ``(i, j)`` pools the ``k×k`` window at ``(i·stride, j·stride)``,
        clipped at the image edge (ceil mode: no pixel dropped at the edge; a window that would
        start past it, which a stride over k can ask for, is not made).
    stride : int, optional
        Step between windows; defaults to ``k``.
    shape : (rows, cols), optional
        Exact output size; either may be None to keep the aspect ratio. Uses the coverage
        footprint (fractional pixels at the footprint edges weighted by their overlap).
    scale : float, optional
        Factor in (0, 1]; output size ``round(H·scale) × round(W·scale)``, coverage footprint.
    method : str
        A registered method (``dpdown.available_methods()``), e.g. ``"dpid"``, ``"dpp"``, ``"avg"``.
    has_alpha : bool, optional
        Whether the last channel is alpha; by default true for 2 and 4 channels.
    channel_pool : {"max", "min", "avg", "topk"}, optional
        Pool across channels before the method (Pei et al., feature pooling): ``max``,
        ``min`` or ``avg`` over groups of ``channel_size`` consecutive channels, or ``topk``,
        the ``channel_size`` largest values of each pixel in descending order. ``max`` over
        RGB is HSV's value channel. Use ``k=1`` for channel pooling alone.
    channel_size : int
        Group size (``max``, ``min``, ``avg``; must divide the channel count) or how many
        values ``topk`` keeps.
    device : {"cpu", "cuda", "auto"}, optional
        Where the kernels run (default: where ``img`` is — the GPU for a GPU array, else the
        CPU): the CPU (Numba, all cores), an NVIDIA GPU (numba.cuda), or
        the GPU when one is usable, else the CPU with a ``dpdown.kernels.device.CpuFallback``
        warning. Both give the same result within float rounding, and exactly the same for
        the stochastic methods. ``cuda`` without a usable GPU raises ``DeviceError``. On the
        GPU each calling thread has its own CUDA stream and pinned buffers
        (:mod:`dpdown.kernels.device`): calls from several threads overlap.
    linear : bool
        Pool in linear light: colour (not alpha) is decoded from sRGB before pooling and
        encoded back after, inside the kernels (a lookup table for integer images). Avoids
        the darkened fine detail and dark halos of pooling gamma-encoded values; see
        :mod:`dpdown.kernels.colour`.
    memory_budget : int or str, optional
        Bytes of working memory (e.g. ``"512M"``); a larger job runs in horizontal strips of
        output rows with the same result (:mod:`dpdown.core.memory_strips`). Default
        ``$DPDOWN_MEMORY_BUDGET`` or 2 GiB.
    layout : {"image", "nhwc", "nchw"}
        ``image`` (default): ``img`` is one image, H×W or H×W×C. ``nhwc``: a stack of N
        frames, N×H×W×C (video frames, a batch of images); ``nchw``: a batch as PyTorch lays
        it out, N×C×H×W. A stack is downscaled in one kernel launch per pass of the method,
        every frame as it would be alone — footprints, and the neighbourhoods DPID's
        guidance, Full-DPP's filter and LIP's logit filter read, stay inside each frame —
        except that the random draws of the stochastic methods are keyed by the position in
        the stack. The result is N×H'×W'×C in the same layout. ``nchw`` input is copied to
        N×H×W×C (in its dtype, on its device) and the result copied back.
    **params
        The method's parameters, e.g. ``lam=1.0`` for DPID, ``alpha``, ``lam``, ``variant``,
        ``guide``, ``filter`` for DPP.

    Returns
    -------
    ndarray or GPU array
        The downscaled image, with the input's dtype and number of dimensions; for a GPU
        array, on the same GPU, as a CuPy array or PyTorch tensor when the input was one, else
        a Numba device array (which exposes ``__cuda_array_interface__``).

    Examples
    --------
    >>> out = downscale(img, 4, method="dpid", lam=1.0)
    >>> out = downscale(img, shape=(480, 640), method="dpid")
    >>> out = downscale(img, 2, method="dpp", lam=1.0, alpha=1.0, variant="sym")
    >>> batch = downscale(torch_batch, 2, method="softpool", layout="nchw")  # N×C×H×W, on its GPU
    """
    spec = registry.get(method)
    values = spec.resolve(params)
    on_device = devices.is_device_array(img)
    if on_device:
        if device not in (None, "cuda", "auto"):
            raise ParameterError(f"the image is in GPU memory: use device='cuda' (got device={device!r})")
        caller, img = img, devices.from_caller(img)
        if not img.is_c_contiguous():
            raise ParameterError("a GPU array must be C-contiguous (e.g. cupy.ascontiguousarray, tensor.contiguous())")
    img, frames = _as_tall_image(img, layout)
    work = to_working(img, has_alpha, channel_pool, channel_size, linear)
    if isinstance(k, (float, np.floating)) and not float(k).is_integer():
        raise ParameterError(f"k must be an integer window size (got {k}); use scale= for a non-integer factor")
    frame_shape = (work.shape[0] // frames, work.shape[1])
    footprint = footprints.plan(frame_shape, k=k, stride=stride, out_shape=shape, scale=scale)
    footprint = spec.plan(frame_shape, footprint, values)
    if layout != "image":
        footprint = footprints.stacked(footprint, frames, frame_shape[0])
        work = dataclasses.replace(work, frame_rows=frame_shape[0], squeeze=False)
    work = dataclasses.replace(work, final=True)
    if on_device:
        pixels = img if img.ndim == 3 else img.reshape(img.shape + (1,))
        out = spec.run(dataclasses.replace(work, device_pixels=pixels), footprint, **values)
        out = devices.as_device(out)  # a method may finish on the host
        return devices.to_caller(_in_layout(out, work, frames, layout), caller)
    if devices.resolve(device or "cpu") == "cuda":
        work = dataclasses.replace(work, device_pixels=devices.to_device(work.pixels))
    return _in_layout(memory_strips.run(spec, work, footprint, values, memory_budget), work, frames, layout)


LAYOUTS = ("image", "nhwc", "nchw")


def _as_tall_image(img, layout):
    """``(image, frames)``: ``img`` itself for one image; a stack as its frames one below the
    other, (N·H)×W×C, in the same memory where it is N×H×W×C already."""
    if layout not in LAYOUTS:
        raise ParameterError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "image":
        return img, 1
    if img.ndim != 4:
        raise ParameterError(f"layout {layout!r} needs a 4-D array, N×{'C×H×W' if layout == 'nchw' else 'H×W×C'} "
                             f"(got {img.ndim}-D)")
    if 0 in img.shape:
        raise ParameterError(f"an empty stack ({'×'.join(map(str, img.shape))})")
    if layout == "nchw":
        img = layouts.channels_last(img)
    elif not devices.on_gpu(img):
        img = np.ascontiguousarray(img)
    return img.reshape((img.shape[0] * img.shape[1],) + img.shape[2:]), img.shape[0]


def _in_layout(out, work, frames, layout):
    """The method's (rows × cols × channels) result in the caller's layout."""
    if layout == "image":
        return out.reshape(out.shape[:2]) if work.squeeze else out
    stack = out.reshape((frames, out.shape[0] // frames) + out.shape[1:])
    return layouts.channels_first(stack) if layout == "nchw" else stack


def available_methods():
    """Every registered method by name (``dpdown.methods.registry.Method`` objects)."""
    return registry.methods()
