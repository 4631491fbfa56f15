"""The Python API: :func:`downscale`."""

from __future__ import annotations

import dataclasses

import numpy as np

from . import device as devices, footprints, registry, strips
from .errors import ParameterError
from .working import to_working


def downscale(img, k=None, *, stride=None, shape=None, scale=None, method="dpid",
              has_alpha=None, channel_pool=None, channel_size=1, device="cpu", linear=False,
              memory_budget=None, **params):
    """Downscale an image with a detail-preserving or pooling method.

    Parameters
    ----------
    img : ndarray
        H×W or H×W×C; uint8, uint16, float32 or float64. Integers are processed as values in
        [0, 1] and rounded back; floats are used as they are.
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
    device : {"cpu", "cuda", "auto"}
        Where the kernels run: the CPU (Numba, all cores), an NVIDIA GPU (numba.cuda), or
        the GPU when one is usable, else the CPU with a ``dpdown.device.CpuFallback``
        warning. Both give the same result within float rounding, and exactly the same for
        the stochastic methods. ``cuda`` without a usable GPU raises ``DeviceError``. On the
        GPU each calling thread has its own CUDA stream and pinned buffers
        (:mod:`dpdown.device`): calls from several threads overlap.
    linear : bool
        Pool in linear light: colour (not alpha) is decoded from sRGB before pooling and
        encoded back after, inside the kernels (a lookup table for integer images). Avoids
        the darkened fine detail and dark halos of pooling gamma-encoded values; see
        :mod:`dpdown.colour`.
    memory_budget : int or str, optional
        Bytes of working memory (e.g. ``"512M"``); a larger job runs in horizontal strips of
        output rows with the same result (:mod:`dpdown.strips`). Default
        ``$DPDOWN_MEMORY_BUDGET`` or 2 GiB.
    **params
        The method's parameters, e.g. ``lam=1.0`` for DPID, ``alpha``, ``lam``, ``variant``,
        ``guide``, ``filter`` for DPP.

    Returns
    -------
    ndarray
        The downscaled image, with the input's dtype and number of dimensions.

    Examples
    --------
    >>> out = downscale(img, 4, method="dpid", lam=1.0)
    >>> out = downscale(img, shape=(480, 640), method="dpid")
    >>> out = downscale(img, 2, method="dpp", lam=1.0, alpha=1.0, variant="sym")
    """
    spec = registry.get(method)
    values = spec.resolve(params)
    work = to_working(img, has_alpha, channel_pool, channel_size, linear)
    if isinstance(k, (float, np.floating)) and not float(k).is_integer():
        raise ParameterError(f"k must be an integer window size (got {k}); use scale= for a non-integer factor")
    footprint = footprints.plan(work.shape, k=k, stride=stride, out_shape=shape, scale=scale)
    footprint = spec.plan(work.shape, footprint, values)
    work = dataclasses.replace(work, final=True)
    if devices.resolve(device) == "cuda":
        work = dataclasses.replace(work, device_pixels=devices.to_device(work.pixels))
    out = strips.run(spec, work, footprint, values, memory_budget)
    return out[:, :, 0] if work.squeeze else out


def available_methods():
    """Every registered method by name (``dpdown.registry.Method`` objects)."""
    return registry.methods()


def downscale_files(inputs, output=None, k=None, *, recursive=False, jobs=None, dask=None, name=None,
                    skip_existing=False, format=None, quality=None, strip=False, max_pixels=None,
                    overwrite=False, on_outcome=None, **downscale_args):
    """Downscale image files and folders, in parallel, as ``dpdown scale`` does.

    Parameters
    ----------
    inputs : str or path, or a list of them
        Files, folders (their images by extension; ``recursive`` adds subfolders) and glob
        patterns (``**`` crosses folders).
    output : str, optional
        Folder for the outputs, which mirror the input tree; None writes each beside its input.
    k : int, optional
        Window size; with ``**downscale_args`` (``stride``, ``shape``, ``scale``, ``method``,
        ``linear``, ``memory_budget``, ``device``, the method's parameters...) as for
        :func:`downscale`.
    recursive : bool
        Look in the subfolders of folder inputs too.
    jobs : int, optional
        Worker processes (default: one per core; 1 runs in this process); with
        ``device="cuda"`` threads of this process, each on its own CUDA stream.
    dask : str, optional
        Address of a Dask scheduler to run the files on instead (needs ``distributed``).
    name : str, optional
        Output name template, default ``{stem}_{method}_{tag}.{ext}``; fields ``stem``,
        ``ext``, ``method``, ``k``, ``size`` (``WxH``) and ``tag`` (``k<k>`` or the size).
    skip_existing, overwrite : bool
        Leave alone, or replace, existing outputs; by default each is a failure.
    format, quality, strip, max_pixels
        How files are written and read: :class:`dpdown.files.FileOptions`.
    on_outcome : callable, optional
        Called with each file's :class:`dpdown.batch.Outcome` as it finishes.

    Returns
    -------
    dpdown.batch.Summary
        Every file's outcome (``done``, ``skipped`` or ``failed`` with a reason), the wall
        time and throughput. A bad file never raises; bad arguments do.

    Raises
    ------
    dpdown.errors.Interrupted
        On Ctrl-C or SIGTERM (a ``KeyboardInterrupt``), once the files being written are
        finished; its ``summary`` holds the outcomes so far and the files not done.

    Examples
    --------
    >>> summary = downscale_files("photos/", "small/", recursive=True, shape=(None, 1920))
    >>> [o.reason for o in summary.failures]
    """
    from . import batch
    from .files import FileOptions
    from .read import DEFAULT_MAX_PIXELS

    downscale_args = dict(downscale_args, k=k)
    spec = registry.get(downscale_args.get("method", "dpid"))
    own = set(downscale_args) - {p.name for p in spec.params}
    spec.resolve({key: v for key, v in downscale_args.items() if key not in own})
    footprints.check_request(k, downscale_args.get("stride"), downscale_args.get("shape"), downscale_args.get("scale"))
    if name is not None:
        batch.check_name(name)
    if overwrite and skip_existing:
        raise ParameterError("overwrite and skip_existing exclude each other")
    files = FileOptions(format, quality, strip, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels, overwrite)
    job = batch.Job(downscale_args, files, name or batch.DEFAULT_NAME, skip_existing)
    inputs = [inputs] if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__") else inputs
    return batch.run(job, batch.collect(inputs, output, recursive), jobs, dask, on_outcome)


def evaluate_methods(folders=(), *, datasets=(), k=(2, 3, 5), methods=None, protocol="upsample", jobs=None,
                     dask=None, limit=None, device="cpu", on_image=None):
    """SSIM and PSNR of pooled images against the originals, as ``dpdown eval`` reports them.

    Parameters
    ----------
    folders : str or list of str
        Folders of images (searched recursively; DIV2K/Urban100/Manga109/Flickr2K recognised).
    datasets : list of str
        Named offline sets (``dpdown.datasets.NAMED``: ``"photos"``, ``"urban"``).
    k : int or sequence of int
        Window sizes (stride k); SoftPool's Table 1 uses 2, 3 and 5.
    methods : list of str, optional
        ``"NAME[:key=value...]"``, e.g. ``"dpp:lambda=2"``; default every method that needs no file.
    protocol : {"upsample", "reference"}
        How images of different sizes are compared (``dpdown.evaluate.PROTOCOLS``).
    jobs, dask, limit, device
        Worker processes, a Dask scheduler address, the first ``limit`` images of each set,
        where the kernels run.

    Returns
    -------
    dpdown.evaluate.Evaluation
        ``rows`` (one per image × k × method), ``summary()`` (mean and standard deviation per
        dataset × k × method, with the paper's figures where it has them), ``failures``,
        ``protocol_text``; :mod:`dpdown.report` turns it into tables, CSV, JSON or HTML.
    """
    from . import datasets as named_sets, evaluate

    sets = named_sets.resolve(folders, datasets)
    ks = (k,) if isinstance(k, int) else tuple(k)
    specs = [m if isinstance(m, evaluate.MethodSpec) else evaluate.parse_method(m) for m in methods] \
        if methods else None
    return evaluate.run(sets, ks, specs, protocol, jobs, dask, limit, device, on_image)


def fit_method(folders=(), *, method, k, params=None, datasets=(), metric="ssim", protocol="upsample",
               held_out=0.3, seed=0, patch=256, max_evals=100):
    """Fit a method's continuous parameters to images by the evaluation metric (``dpdown fit``).

    Parameters
    ----------
    folders, datasets
        The images, as for :func:`evaluate_methods`.
    method : str
        ``"NAME[:key=value...]"``; the given values stay fixed, e.g. ``"dpp:guide=full"``.
    k : int
        Window size (stride k).
    params : list of str, optional
        Parameters to fit (``["alpha", "lambda"]``, ``["filter"]``, ``["gate-weights"]``...);
        default: the method's continuous scalars.
    metric : str or callable
        ``"ssim"``, ``"psnr"`` or ``"module:function"`` of (original, pooled as compared) → float,
        larger better.
    protocol, held_out, seed, patch, max_evals
        The eval protocol, the held-out share of the images and the split's seed, the centre
        patch size (0: whole images), the most objective evaluations.

    Returns
    -------
    dpdown.fit.FitResult
        ``params`` (every parameter, the fitted at their optimum), the metric on the training
        and held-out images for the defaults and the fitted values; ``save(path)`` writes the
        file ``dpdown scale --params-file`` and :func:`load_params` read.
    """
    from . import datasets as named_sets, fit

    sets = named_sets.resolve(folders, datasets)
    return fit.fit(sets, method, k, params, metric, protocol, held_out, seed, patch, max_evals)


def load_params(path):
    """``{"method": ..., **params}`` from a ``dpdown fit`` file: ``downscale(img, k, **load_params(f))``."""
    from . import fit

    return fit.load(path)
