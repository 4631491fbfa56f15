"""Where kernels run: ``cpu`` (Numba, parallel over cores) or ``cuda`` (numba.cuda on an
NVIDIA GPU). ``auto`` picks the GPU when one is usable, else the CPU with a one-line notice.

On the GPU each thread has its own CUDA stream (:func:`stream`): every copy and kernel of a
run goes on it, none on the default stream, which would wait for all the others. Pixels go
to and from the GPU through page-locked ("pinned") buffers of the thread, copied at the
bus's full speed and without blocking the other streams (images up to STAGING_LIMIT). So runs in different threads — the
workers of a GPU batch (:func:`dpdown.io.batch.run`) — overlap: one image's copies run while
another's kernels do, and the decoding and encoding of others on the CPU meanwhile.

Nothing here imports numba.cuda until a run asks for ``cuda`` or ``auto``.
"""

from __future__ import annotations

import functools
import threading
import warnings

import numpy as np

from ..errors import DpdownError, ParameterError

DEVICES = ("cpu", "cuda", "auto")


class DeviceError(DpdownError):
    """The GPU was asked for and cannot be used (exit 1)."""


class CpuFallback(RuntimeWarning):
    """``device="auto"`` found no usable GPU and runs on the CPU."""


@functools.lru_cache(maxsize=None)
def cuda_problem() -> str | None:
    """Why the GPU cannot be used, or None when it can."""
    try:
        from numba import cuda
    except Exception as exc:  # numba-cuda missing or broken
        return f"numba.cuda cannot be imported ({exc})"
    try:
        if not cuda.is_available():
            return "no CUDA driver or GPU found"
    except Exception as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def resolve(device: str) -> str:
    """``cpu`` or ``cuda`` for a requested ``cpu``, ``cuda`` or ``auto``."""
    if device not in DEVICES:
        raise ParameterError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    problem = cuda_problem()
    if problem is None:
        return "cuda"
    if device == "cuda":
        raise DeviceError(f"device cuda: {problem}")
    warnings.warn(f"no usable GPU ({problem}); running on the CPU", CpuFallback, stacklevel=3)
    return "cpu"


_THREAD = threading.local()  # this thread's stream, pinned buffers and input image on the GPU
STAGING_LIMIT = 256 << 20  # bytes: a larger image is copied from pageable memory, and not kept


def stream():
    """This thread's CUDA stream, made on first use."""
    if not hasattr(_THREAD, "stream"):
        from numba import cuda

        _THREAD.stream = cuda.stream()
    return _THREAD.stream


def pinned(role, shape, dtype):
    """A page-locked host array of this thread for ``role`` (``"in"``, ``"out"``): one buffer
    per role, kept and grown as needed up to STAGING_LIMIT, since allocating pinned memory
    costs far more than copying into it."""
    from numba import cuda

    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffers = _THREAD.__dict__.setdefault("pinned", {})
    if role not in buffers or buffers[role].size < nbytes:
        buffers.pop(role, None)  # freed before the larger one is allocated
        buffers[role] = cuda.pinned_array(max(nbytes, 1), np.uint8)
    return buffers[role][:nbytes].view(dtype).reshape(shape)


def to_device(pixels):
    """The image's pixels in GPU memory, copied on this thread's stream through its pinned
    input buffer into its last input's GPU array where the shape and dtype match (a batch of
    equal images allocates and frees no GPU memory for them: freeing waits for the device)."""
    from numba import cuda

    current = stream()
    current.synchronize()  # a failed run's copy from these buffers may still be queued
    if pixels.nbytes > STAGING_LIMIT:
        return cuda.to_device(np.ascontiguousarray(pixels), stream=current)
    staged = pinned("in", pixels.shape, pixels.dtype)
    staged[...] = pixels
    kept = getattr(_THREAD, "pixels", None)
    if kept is not None and kept.shape == pixels.shape and kept.dtype == pixels.dtype:
        cuda.to_device(staged, stream=current, to=kept)
    else:
        _THREAD.pixels = None  # freed before the new one is allocated
        _THREAD.pixels = kept = cuda.to_device(staged, stream=current)
    return kept


def on_gpu(array) -> bool:
    """Whether ``array`` is a device array (a kernel result that stayed on the GPU)."""
    return hasattr(array, "copy_to_host")


_DLPACK_CUDA = (2, 13)  # DLPack device types: kDLCUDA, kDLCUDAManaged


def is_device_array(obj) -> bool:
    """Whether ``obj`` is an array in GPU memory: a Numba device array, or an array exposing
    ``__cuda_array_interface__`` (CuPy, PyTorch CUDA tensors) or a CUDA DLPack device."""
    if on_gpu(obj) or hasattr(obj, "__cuda_array_interface__"):
        return True
    try:
        return obj.__dlpack_device__()[0] in _DLPACK_CUDA
    except (AttributeError, TypeError, ValueError):
        return False


def from_caller(obj):
    """A Numba device array over the caller's GPU array, sharing its memory (no copy)."""
    if on_gpu(obj):
        return obj
    from numba import cuda

    if not hasattr(obj, "__cuda_array_interface__"):  # DLPack only: viewed through CuPy
        try:
            import cupy
        except ImportError:
            raise ParameterError(f"a {type(obj).__name__} on the GPU without __cuda_array_interface__ needs CuPy "
                                 "to be read through DLPack") from None
        obj = cupy.from_dlpack(obj)
    return cuda.as_cuda_array(obj)


def to_caller(result, like):
    """``result`` (a Numba device array) as the array type of the caller's ``like``: a CuPy
    array or a PyTorch tensor on the same device, sharing memory; else the Numba device array
    itself, which exposes ``__cuda_array_interface__``."""
    library = type(like).__module__.split(".")[0]
    if library == "cupy":
        import cupy

        return cupy.asarray(result)
    if library == "torch":
        import torch

        return torch.as_tensor(result, device=like.device)
    return result


def as_device(array):
    """``array`` on the GPU, copied on this thread's stream (a device array is passed through)."""
    if on_gpu(array):
        return array
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(array), stream=stream())


def to_host(array):
    """A kernel's result in host memory (a host array is returned as it is): copied on this
    thread's stream into its pinned output buffer, waited for, and copied out of it."""
    if not on_gpu(array):
        return array
    if array.nbytes > STAGING_LIMIT:
        host = array.copy_to_host(stream=stream())
        stream().synchronize()
        return host
    staged = pinned("out", array.shape, array.dtype)
    array.copy_to_host(staged, stream=stream())
    stream().synchronize()
    return staged.copy()
