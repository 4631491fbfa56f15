"""Where kernels run: ``cpu`` (Numba, parallel over cores) or ``cuda`` (numba.cuda on an
NVIDIA GPU). ``auto`` picks the GPU when one is usable, else the CPU with a one-line notice.

Nothing here imports numba.cuda until a run asks for ``cuda`` or ``auto``.
"""

from __future__ import annotations

import functools
import warnings

from .errors import DpdownError, ParameterError

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


def to_device(pixels):
    """The image's pixels in GPU memory."""
    from numba import cuda

    return cuda.to_device(pixels)


def on_gpu(array) -> bool:
    """Whether ``array`` is a device array (a kernel result that stayed on the GPU)."""
    return hasattr(array, "copy_to_host")


def to_host(array):
    """A kernel's result in host memory (a host array is returned as it is)."""
    return array.copy_to_host() if on_gpu(array) else array
