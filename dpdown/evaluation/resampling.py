"""The evaluation's resampling filters, as tap tables applied by fast kernels.

Two conventions (``--filter``):

* ``pillow`` (default): Pillow's own resampling of float images, reproduced — the bicubic
  filter (Keys, a = −0.5, support 2) to bring a pooled image back up, Lanczos-3 to shrink the
  reference. Pixel centres are aligned (output ``o`` samples ``(o + ½)·in/out − ½``); when
  shrinking, the support widens by the scale (antialiasing); the weights of each output are
  normalised over the pixels inside the image (no padding); rows are resampled first, then
  columns, through a float32 intermediate.
* ``matlab``: MATLAB's ``imresize`` with its default bicubic filter (Keys, a = −0.5), as the
  super-resolution literature computes its bicubic baselines and low-resolution inputs
  (DIV2K, Urban100, Manga109): the same centre alignment, antialiased when shrinking, but
  edges padded by mirroring (``symmetric``), columns resampled before rows.

Both are tested against their originals: Pillow itself, and ``imresize`` as BasicSR
reimplements it (``benchmarks/check_sr_conventions.py``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

FILTERS = {
    "pillow": "Pillow's bicubic (a = −0.5) to upsample and antialiased Lanczos-3 to downscale, pixel centres "
              "aligned, edge weights renormalised",
    "matlab": "MATLAB's imresize bicubic (a = −0.5; antialiased when shrinking), edges mirrored",
}


def keys_cubic(x, a: float = -0.5):
    """Keys' cubic convolution kernel (IEEE TASSP 1981) with parameter ``a``."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def lanczos3(x):
    """``sinc(x)·sinc(x/3)`` on ``|x| < 3``, as Pillow computes it."""
    x = np.asarray(x, dtype=np.float64)
    return np.where((-3.0 <= x) & (x < 3.0), np.sinc(x) * np.sinc(x / 3), 0.0)


def pillow_taps(n_in: int, n_out: int, kernel, support: float):
    """Pillow's ``precompute_coeffs``: ``(index, weight)``, each n_out × taps."""
    scale = n_in / n_out
    widen = max(scale, 1.0)
    reach = support * widen
    taps = int(np.ceil(reach)) * 2 + 1
    centre = (np.arange(n_out) + 0.5) * scale
    first = np.maximum(np.trunc(centre - reach + 0.5), 0).astype(np.int64)
    count = np.minimum(np.trunc(centre + reach + 0.5), n_in).astype(np.int64) - first
    offsets = np.arange(taps)
    inside = offsets[None, :] < count[:, None]
    weight = np.where(inside, kernel((offsets[None, :] + first[:, None] - centre[:, None] + 0.5) * (1.0 / widen)), 0.0)
    total = np.cumsum(weight, axis=1)[:, -1:]  # summed in order, as Pillow does (numpy's sum pairs them)
    weight = np.divide(weight, total, out=weight, where=total != 0)
    index = np.where(inside, first[:, None] + offsets[None, :], first[:, None])
    return np.ascontiguousarray(index), np.ascontiguousarray(weight)


def matlab_taps(n_in: int, n_out: int):
    """MATLAB ``imresize``'s bicubic weights and indices (its ``contributions``): ``(index,
    weight)``, each n_out × taps, indices mirrored into the image."""
    scale = n_out / n_in
    width = 4.0 / scale if scale < 1 else 4.0
    u = np.arange(1, n_out + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    index = left[:, None] + np.arange(taps)[None, :]
    distance = u[:, None] - index
    weight = scale * keys_cubic(distance * scale) if scale < 1 else keys_cubic(distance)
    weight = weight / weight.sum(axis=1, keepdims=True)
    # 0-based, then mirrored ("symmetric": the edge pixel repeats) as often as the window
    # needs, as MATLAB does: periodic over 2·n_in (a window wider than the image reflects twice)
    index = np.mod(index.astype(np.int64) - 1, 2 * n_in)
    index = np.where(index >= n_in, 2 * n_in - 1 - index, index)
    return np.ascontiguousarray(index), np.ascontiguousarray(weight)


def taps(convention: str, n_in: int, n_out: int):
    """The tap table of ``convention`` for one axis from ``n_in`` to ``n_out`` values."""
    if convention == "matlab":
        return matlab_taps(n_in, n_out)
    if n_out > n_in:
        return pillow_taps(n_in, n_out, keys_cubic, 2.0)
    return pillow_taps(n_in, n_out, lanczos3, 3.0)


class Resizer:
    """Resampling of H×W×C float32 images of one size to ``shape`` (rows, cols) by
    ``convention`` (see the module), clipped to [0, 1]: the tap tables made once, and on the
    CPU the output buffers too, so that each call returns the same array, overwritten — what
    an evaluation needs, one upsampling per method to the same size (a fresh array per call
    would be a fresh page-faulted allocation of the full image). A size already equal is
    returned as it is. On ``device="cuda"`` the input may be on the GPU already, and each
    call returns a new device array (the tables are copied to the GPU per call)."""

    def __init__(self, source_shape, shape, convention: str = "pillow", device: str = "cpu"):
        from ..kernels import resample

        self.source_shape, self.device = tuple(source_shape), device
        self.shape = target = (int(shape[0]), int(shape[1]))
        order = (1, 0) if convention == "pillow" else (0, 1)  # Pillow resamples the columns first, MATLAB the rows
        axes = [axis for axis in order if self.source_shape[axis] != target[axis]]
        self.passes = []
        current = self.source_shape
        for number, axis in enumerate(axes):
            index, weight = resample.packed(*taps(convention, current[axis], target[axis]))
            low, high = (0.0, 1.0) if number == len(axes) - 1 else (-np.inf, np.inf)  # clipped once, at the end
            # on the CPU, resampling the columns by a whole factor runs as a vector (the plan)
            plan = None
            if axis == 1 and device != "cuda":
                plan = resample.column_plan(index, weight, current[1], current[2])
            current = tuple(target[axis] if a == axis else n for a, n in enumerate(current))
            out = None if device == "cuda" else np.empty(current, np.float32)
            self.passes.append((axis, index, weight, plan, low, high, current, out))

    def __call__(self, pixels):
        if tuple(pixels.shape) != self.source_shape:
            raise ParameterError(f"a {tuple(pixels.shape)} image given to a resizer of {self.source_shape} images")
        if self.device == "cuda":
            from ..kernels import resample_cuda
            from ..kernels.device import as_device

            image = as_device(pixels)
            for axis, index, weight, _, low, high, shape, _ in self.passes:
                image = resample_cuda.apply(axis, image, index, weight, low, high, shape)
            return image
        from ..kernels import bands, resample

        image = np.ascontiguousarray(pixels, dtype=np.float32)
        for axis, index, weight, plan, low, high, shape, out in self.passes:
            if axis == 0:
                bands.run(resample.along_rows, shape[0], image, index, weight, low, high, out)
            else:
                vector, arguments, columns = plan
                if vector is not None:
                    bands.run(vector, shape[0], image, *arguments, low, high, out)
                bands.run(resample.along_columns, shape[0], image, index, weight, columns, low, high, out)
            image = out
        return image


def resize(pixels, shape, convention: str = "pillow", device: str = "cpu"):
    """float32 H×W×C ``pixels`` resampled to ``shape`` (rows, cols) by ``convention`` (see the
    module), clipped to [0, 1], into a new array (a size already equal is returned as it is);
    see :class:`Resizer`."""
    return Resizer(pixels.shape, shape, convention, device)(pixels)
