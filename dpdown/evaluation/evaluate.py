"""The feature-preservation evaluation (``dpdown eval``): how much of an image a method keeps.

SoftPool's Table 1 (Stergiou et al., ICCV 2021, Section 4.2) compares "the original inputs with the
downsampled outputs" by SSIM and PSNR for k = 2, 3, 5 without saying how images of
different sizes are compared, and published no script. dpdown
names its protocol in every report (:data:`PROTOCOLS`):

* ``upsample`` (default): the pooled image is brought back to the original size with one
  fixed interpolation (Pillow's bicubic, pixel centres aligned) and compared with the
  original; it measures what the pooled image still says about the full-size one.
* ``reference``: the pooled image is compared with the original downscaled by a fixed
  high-quality antialiasing filter (Pillow's Lanczos-3); it measures closeness to a
  conventional good thumbnail.

Each image is read once per worker; every (k, method) pair is scored on it. The unit of
work is one image (:func:`evaluate_image`), so the same tasks run in-process, in worker
processes or on a Dask cluster (:func:`dpdown.io.batch.run_tasks`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import DpdownError, ParameterError
from ..methods import registry
from . import paper_values, resampling, similarity

DEFAULT_KS = paper_values.KS

_PREPARE = ("Each image is read as dpdown scale reads it (EXIF orientation applied), converted to float32 in "
            "[0, 1] (integers divided by their maximum; alpha dropped) and cropped at its bottom and right to a "
            "multiple of k, so that every window is whole; each method pools it with k×k windows at stride k.")
PROTOCOLS = {
    "upsample": "The pooled image is brought back to the cropped size with {upsampler}, clipped to [0, 1], and "
                "compared with the cropped original.",
    "reference": "The pooled image is compared with the cropped original downscaled by k with {downsampler}, "
                 "clipped to [0, 1].",
}
_RESAMPLERS = {  # (upsampler, downsampler) of each --filter, in words
    "pillow": ("Pillow's bicubic filter (a = −0.5, pixel centres aligned, per channel in float32)",
               "Pillow's Lanczos-3 filter (antialiased: its support widened by k; per channel in float32)"),
    "matlab": ("MATLAB's imresize bicubic (a = −0.5, pixel centres aligned, edges mirrored)",
               "MATLAB's imresize bicubic (antialiased: its support widened by k; edges mirrored)"),
}
CHANNELS = {
    "rgb": "on every colour channel (SSIM averaged over them)",
    "y": "on the luma Y of ITU-R BT.601 YCbCr (studio range, as MATLAB's rgb2ycbcr: "
         "Y = (16 + 65.481 R + 128.553 G + 24.966 B)/255)",
}
_METRICS = ("SSIM: Wang et al. 2004 as scikit-image computes it (Gaussian window σ = 1.5 truncated at 3.5σ, "
            "K1 = 0.01, K2 = 0.03, population covariance, data range 1, mean over the pixels whose window is "
            "inside the image). PSNR: 10·log10(1 / MSE) over every value, data range 1 (the paper's ~50 dB "
            "figures suggest a peak of 255 on [0, 1] data; they are not comparable in absolute terms).")


@dataclass(frozen=True)
class Protocol:
    """How pooled images are compared with their originals; every report states it
    (:meth:`text`).

    ``compare`` is a key of :data:`PROTOCOLS`; ``channel`` of :data:`CHANNELS`; ``shave`` the
    border dropped on every side before scoring, in pixels of the compared images, or ``"k"``
    for the window size (the super-resolution papers' choice: the scale factor); ``filter`` the
    resampling convention (:data:`dpdown.evaluation.resampling.FILTERS`)."""

    compare: str = "upsample"
    channel: str = "rgb"
    shave: int | str = 0
    filter: str = "pillow"

    @classmethod
    def of(cls, value) -> "Protocol":
        """A Protocol from itself or from a ``compare`` name."""
        return value if isinstance(value, Protocol) else cls(str(value))

    def check(self) -> None:
        for name, value, allowed in (("--protocol", self.compare, PROTOCOLS), ("--channel", self.channel, CHANNELS),
                                     ("--filter", self.filter, resampling.FILTERS)):
            if value not in allowed:
                raise ParameterError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
        if self.shave != "k" and (not str(self.shave).isdigit()):
            raise ParameterError(f"--shave must be a number of pixels or k (got {self.shave!r})")

    def border(self, k: int) -> int:
        """The pixels shaved on every side at window size ``k``."""
        return int(k) if self.shave == "k" else int(self.shave)

    def options(self) -> dict:
        return {"protocol": self.compare, "channel": self.channel, "shave": self.shave, "filter": self.filter}

    def text(self) -> str:
        """The whole protocol in words."""
        upsampler, downsampler = _RESAMPLERS[self.filter]
        shave = "" if self.shave in (0, "0") else (
            f" A border of {'k pixels (the window size)' if self.shave == 'k' else f'{self.shave} pixels'} is "
            "dropped on every side of the compared images before scoring.")
        return (f"Protocol '{self.compare}', channel {self.channel}, shave {self.shave}, filter {self.filter}. "
                f"{_PREPARE} " + PROTOCOLS[self.compare].format(upsampler=upsampler, downsampler=downsampler)
                + f" Scored {CHANNELS[self.channel]}.{shave} {_METRICS}")


def protocol_text(protocol) -> str:
    """The whole protocol in words, as every report states it (a :class:`Protocol` or a name)."""
    return Protocol.of(protocol).text()


# ---- which methods -------------------------------------------------------------------------

@dataclass(frozen=True)
class MethodSpec:
    """A method with the parameters given for it (the others take their defaults)."""

    name: str
    params: tuple = ()   # (python name, value) pairs
    label: str = ""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name)


def parse_method(text: str) -> MethodSpec:
    """``NAME[:key=value[:key=value...]]``, keys as the CLI option (``lambda``, ``pool-range``) or
    the Python name (``lam``); e.g. ``dpp:lambda=2:variant=asym``, ``ordinal:weights=1,2,3``."""
    name, *assignments = [part.strip() for part in text.split(":")]
    spec = registry.get(name)
    by_key = {}
    for p in spec.params:
        by_key[p.name] = by_key[p.cli_flag.lstrip("-")] = p
    given = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        param = by_key.get(key.strip())
        if not sep or param is None:
            takes = ", ".join(p.cli_flag.lstrip("-") for p in spec.params) or "none"
            raise ParameterError(f"-m {text}: expected key=value with a parameter of {name} (it takes: {takes})")
        given[param.name] = value.strip()
    values = spec.resolve(given)
    needed = [p for p in spec.params if values[p.name] is None]
    if needed:
        flag = needed[0].cli_flag.lstrip("-")
        raise ParameterError(f"-m {text}: method {name} needs {flag}=... (e.g. -m {name}:{flag}=FILE)")
    return MethodSpec(spec.name, tuple((key, values[key]) for key in given), text.strip())


def default_methods() -> list[MethodSpec]:
    """Every registered method that runs on its defaults alone (not ``learned``, which needs a file)."""
    return [MethodSpec(name) for name in registry.standalone()]


# ---- one image -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageTask:
    dataset: str
    path: str
    name: str          # shown in reports: the path within its dataset
    ks: tuple
    methods: tuple     # of MethodSpec
    protocol: Protocol
    device: str = "cpu"


@dataclass(frozen=True)
class Row:
    dataset: str
    image: str
    k: int
    method: str
    ssim: float
    psnr: float
    seconds: float     # the method's downscaling time


@dataclass
class ImageResult:
    dataset: str
    path: str
    rows: list = field(default_factory=list)
    error: str = ""
    pixels: int = 0


def load(path) -> np.ndarray:
    """The image at ``path`` as float32 H×W×C in [0, 1], alpha dropped."""
    from ..io.read import read

    image = read(path)
    pixels = image.pixels if image.pixels.ndim == 3 else image.pixels[:, :, None]
    if image.has_alpha:
        pixels = pixels[:, :, :-1]
    if pixels.dtype.kind in "ui":
        return (pixels / np.float32(np.iinfo(pixels.dtype).max)).astype(np.float32, copy=False)
    return pixels.astype(np.float32)


def crop(pixels: np.ndarray, k: int) -> np.ndarray:
    """``pixels`` cut at the bottom and right to a multiple of ``k`` rows and columns."""
    h, w = pixels.shape[:2]
    return pixels[:h - h % k, :w - w % k]


def target_for(original: np.ndarray, k: int, protocol) -> np.ndarray:
    """What the pooled image is compared with (before :func:`candidate`)."""
    protocol = Protocol.of(protocol)
    if protocol.compare == "upsample":
        return original
    h, w = original.shape[:2]
    return resampling.resize(original, (h // k, w // k), protocol.filter)


def pool(original: np.ndarray, k: int, method: str, params=(), device: str = "cpu") -> np.ndarray:
    """``original`` (H×W×C) downscaled by ``method`` with ``params`` at ``k``, H'×W'×C; one
    kernel at a time per process (see :data:`dpdown.io.one_file.COMPUTE_LOCK`)."""
    from ..core.pipeline import downscale
    from ..io.one_file import COMPUTE_LOCK

    with COMPUTE_LOCK:
        pooled = downscale(original, k, method=method, has_alpha=False, device=device, **dict(params))
    return pooled if pooled.ndim == 3 else pooled[:, :, None]


def candidate(pooled, target: np.ndarray, protocol, device: str = "cpu", resizer=None):
    """The pooled image as it is compared with the target (on ``device="cuda"``, upsampled on
    the GPU and left there); ``resizer``: a :class:`~dpdown.evaluation.resampling.Resizer` of
    this size to the target's, reused for every method (its buffer is overwritten by the next)."""
    protocol = Protocol.of(protocol)
    if protocol.compare == "upsample":
        resizer = resizer or resampling.Resizer(pooled.shape, target.shape[:2], protocol.filter, device)
        if resizer.shape != tuple(target.shape[:2]):
            raise ParameterError(f"a resizer to {resizer.shape} given for a {tuple(target.shape[:2])} target")
        return resizer(pooled)
    return pooled


def scored(pixels, protocol):
    """``pixels`` in the protocol's channel: as they are, or their luma Y (H×W×1)."""
    if Protocol.of(protocol).channel != "y":
        return pixels
    from ..kernels.device import to_host

    return similarity.luma(to_host(pixels))


def compare(target: np.ndarray, image: np.ndarray, border: int = 0) -> tuple[float, float]:
    """``(SSIM, PSNR)`` of two float H×W×C images in [0, 1]."""
    return similarity.score(similarity.prepare(target, border), image)


def evaluate_image(task: ImageTask) -> ImageResult:
    """Score every (k, method) of ``task`` on its image. Never raises for a bad image: the
    result's ``error`` says why."""
    result = ImageResult(task.dataset, task.path)
    try:
        pixels = load(task.path)
        result.pixels = pixels.shape[0] * pixels.shape[1]
        whole = None  # the uncropped image prepared, where every k compares with the original itself
        # what each method computes: methods that are the same computation share its scores
        computations = [registry.get(method.name).computation(dict(method.params)) for method in task.methods]
        for k in task.ks:
            if min(pixels.shape[:2]) < k:
                raise ParameterError(f"{pixels.shape[1]}×{pixels.shape[0]} is smaller than k = {k}")
            original = np.ascontiguousarray(crop(pixels, k))
            target = target_for(original, k, task.protocol)
            border = task.protocol.border(k)
            if target is original:
                if whole is None:
                    whole = similarity.prepare(scored(pixels, task.protocol), 0, task.device)
                reference = similarity.crop_of(whole, scored(target, task.protocol), border)
            else:
                reference = similarity.prepare(scored(target, task.protocol), border, task.device)
            rows, cols, channels = original.shape
            resizer = resampling.Resizer((rows // k, cols // k, channels), target.shape[:2], task.protocol.filter,
                                         task.device) if task.protocol.compare == "upsample" else None
            scores = {}  # a computation's (SSIM, PSNR, seconds) at this k
            for method, key in zip(task.methods, computations):
                if key not in scores:
                    start = time.perf_counter()
                    pooled = pool(original, k, method.name, method.params, task.device)
                    seconds = time.perf_counter() - start
                    shown = scored(candidate(pooled, target, task.protocol, task.device, resizer), task.protocol)
                    scores[key] = (*similarity.score(reference, shown), seconds)
                result.rows.append(Row(task.dataset, task.name, k, method.label, *scores[key]))
    except DpdownError as exc:
        result.error = f"{task.path}: {exc}" if task.path not in str(exc) else str(exc)
    except MemoryError:
        result.error = f"{task.path}: out of memory"
    except Exception as exc:  # one bad image must not stop the evaluation
        result.error = f"{task.path}: {type(exc).__name__}: {exc}"
    if result.error:
        result.rows = []
    return result


# ---- many images ---------------------------------------------------------------------------

@dataclass
class Aggregate:
    dataset: str
    k: int
    method: str
    n: int
    ssim_mean: float
    ssim_std: float
    psnr_mean: float
    psnr_std: float
    paper: tuple | None = None   # (SSIM, PSNR) of SoftPool's table, where it has this method and k


@dataclass
class Evaluation:
    """Every per-image row, the failures, and what was asked (for the report)."""

    protocol: Protocol
    datasets: list        # (label, paper dataset or None)
    ks: tuple
    specs: list           # MethodSpecs, in the order asked
    rows: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # (path, reason)
    images: int = 0
    pixels: int = 0
    wall: float = 0.0
    samples: dict = field(default_factory=dict)  # dataset → its first image, for the report's crops

    @property
    def methods(self) -> list[str]:
        return [spec.label for spec in self.specs]

    @property
    def protocol_text(self) -> str:
        return protocol_text(self.protocol)

    def summary(self) -> list[Aggregate]:
        """Mean and population standard deviation per dataset × k × method, in the asked order."""
        groups = {}
        for row in self.rows:
            groups.setdefault((row.dataset, row.k, row.method), []).append(row)
        names = dict(self.datasets)
        method_of = {spec.label: spec.name for spec in self.specs}
        out = []
        for dataset, paper in self.datasets:
            for k in self.ks:
                for method in self.methods:
                    rows = groups.get((dataset, k, method))
                    if not rows:
                        continue
                    ssim = np.array([r.ssim for r in rows])
                    psnr = np.array([r.psnr for r in rows])
                    finite = psnr[np.isfinite(psnr)]
                    out.append(Aggregate(dataset, k, method, len(rows), float(ssim.mean()), float(ssim.std()),
                                         float(psnr.mean()) if len(finite) == len(psnr) else math.inf,
                                         float(finite.std()) if len(finite) else 0.0,
                                         paper_values.lookup(names[dataset], method_of[method], k)))
        return out


def tasks_for(sets, ks, methods, protocol, limit=None, device="cpu") -> list[ImageTask]:
    """One task per image of each ``(label, paper, paths)`` set (the first ``limit`` of each)."""
    tasks = []
    for label, _, paths in sets:
        paths = list(paths)[:limit] if limit else list(paths)
        root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths]) if paths else ""
        for path in paths:
            tasks.append(ImageTask(label, path, os.path.relpath(os.path.abspath(path), root), tuple(ks),
                                   tuple(methods), protocol, device))
    return tasks


def kinds_for(tasks, ks, methods, device) -> list:
    """The kernel kinds an evaluation needs: every method at every ``k``, on float32 images
    with the channel counts of the first image of each dataset (as :func:`load` gives them)."""
    from ..core.warmup import Kind

    channels = {}
    for task in tasks:
        if task.dataset not in channels:
            channels[task.dataset] = _channels(task.path)
    return [Kind(m.name, k, "float32", c, params=m.params, device=device)
            for c in dict.fromkeys(c for c in channels.values() if c) for k in ks for m in methods]


def _channels(path) -> int | None:
    """The channel count :func:`load` gives the image at ``path`` (alpha dropped), from its
    header; None if it cannot be read (its evaluation will say why)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return 1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
    except Exception:  # Pillow's own errors too (an image past its pixel limit): read() names the problem
        return None


def _area(path) -> int:
    """Pixels of the image at ``path``, from its header (0 if it cannot be read)."""
    from ..io.read import image_shape

    shape = image_shape(path)
    return shape[0] * shape[1] if shape else 0


def warm_scoring(protocol, device="cpu") -> None:
    """Compile (or load from the disk cache) the resampling and scoring kernels, here, once,
    so that the workers find them cached instead of each compiling them."""
    rng = np.random.default_rng(0)
    original = rng.random((24, 24, 3), dtype=np.float32)
    target = target_for(original, 2, protocol)
    pooled = np.ascontiguousarray(original[::2, ::2])
    reference = similarity.prepare(scored(target, protocol), 0, device)
    similarity.score(reference, scored(candidate(pooled, target, protocol, device), protocol))
    for image in (target, 1 - target):  # the CPU's SSIM sums for candidates near and far (both precisions)
        similarity.score(reference, scored(image, protocol))


def check(ks, protocol):
    Protocol.of(protocol).check()
    if not ks or any(int(k) != k or k < 2 for k in ks):
        raise ParameterError(f"-k must be whole window sizes of at least 2 (got {', '.join(map(str, ks))})")


def run(sets, ks=DEFAULT_KS, methods=None, protocol="upsample", jobs=None, dask=None, limit=None,
        device="cpu", on_image=None, on_compiled=None) -> Evaluation:
    """Evaluate ``methods`` (MethodSpecs; default: every method that needs no file) at each
    ``k`` on every image of ``sets`` (``(label, paper dataset, paths)``, see
    :func:`dpdown.evaluation.datasets.resolve`). ``on_image(ImageResult)`` is called as each image is done.

    First the kernels every (method, k, channel count) needs are compiled, each in one of the
    ``jobs`` worker processes (:func:`dpdown.io.batch.compile_ahead`; ``on_compiled`` is
    called as each is), so the workers never compile the same kernels each, and the method
    times in the rows exclude compiling. On Dask the workers compile for themselves."""
    from ..io.batch import compile_ahead, run_tasks
    from ..kernels.device import resolve

    check(ks, protocol)
    protocol = Protocol.of(protocol)
    ks = tuple(dict.fromkeys(int(k) for k in ks))
    device = resolve(device)  # once, here: no GPU for --device cuda is one error, not one per image
    methods = list({m.label: m for m in methods or default_methods()}.values())
    tasks = tasks_for(sets, ks, methods, protocol, limit, device)
    evaluation = Evaluation(protocol, [(label, paper) for label, paper, _ in sets], ks, methods)

    def done(result: ImageResult):
        evaluation.images += 1
        evaluation.pixels += result.pixels
        if result.error:
            evaluation.failures.append((result.path, result.error))
        evaluation.rows.extend(result.rows)
        if on_image:
            on_image(result)

    def lost(task, reason):
        return ImageResult(task.dataset, task.path, error=f"{task.path}: {reason}")

    start = time.perf_counter()
    if not dask:
        warm_scoring(protocol, device)
        compile_ahead(kinds_for(tasks, ks, methods, device), jobs, on_compiled)
    # the largest images first: the last to start are small ones, so the workers finish together
    run_tasks(evaluate_image, sorted(tasks, key=lambda t: -_area(t.path)), jobs, dask, done, lost)
    image_order = {(t.dataset, t.name): i for i, t in enumerate(tasks)}
    method_order = {label: i for i, label in enumerate(evaluation.methods)}
    evaluation.rows.sort(key=lambda r: (image_order[r.dataset, r.image], r.k, method_order[r.method]))
    path_order = {t.path: i for i, t in enumerate(tasks)}
    evaluation.failures.sort(key=lambda failure: path_order.get(failure[0], len(tasks)))
    failed = {path for path, _ in evaluation.failures}
    for task in tasks:
        if task.path not in failed:
            evaluation.samples.setdefault(task.dataset, task.path)
    evaluation.wall = time.perf_counter() - start
    return evaluation


def evaluate_methods(folders=(), *, datasets=(), k=(2, 3, 5), methods=None, protocol="upsample", channel="rgb",
                     shave=0, filter="pillow", jobs=None, dask=None, limit=None, device="cpu", on_image=None):
    """SSIM and PSNR of pooled images against the originals, as ``dpdown eval`` reports them.

    Parameters
    ----------
    folders : str or list of str
        Folders of images (searched recursively; DIV2K/Urban100/Manga109/Flickr2K recognised).
    datasets : list of str
        Named offline sets (``dpdown.evaluation.datasets.NAMED``: ``"photos"``, ``"urban"``).
    k : int or sequence of int
        Window sizes (stride k); SoftPool's Table 1 uses 2, 3 and 5.
    methods : list of str, optional
        ``"NAME[:key=value...]"``, e.g. ``"dpp:lambda=2"``; default every method that needs no file.
    protocol : {"upsample", "reference"}
        How images of different sizes are compared (``dpdown.evaluation.evaluate.PROTOCOLS``).
    channel : {"rgb", "y"}
        Score every colour channel, or the luma Y of ITU-R BT.601 YCbCr (the super-resolution
        literature's convention).
    shave : int or "k"
        Pixels dropped on every side before scoring; ``"k"``: the window size.
    filter : {"pillow", "matlab"}
        The resampling filters: Pillow's bicubic/Lanczos-3, or MATLAB's ``imresize`` bicubic.
    jobs, dask, limit, device
        Worker processes, a Dask scheduler address, the first ``limit`` images of each set,
        where the kernels run.

    Returns
    -------
    dpdown.evaluation.evaluate.Evaluation
        ``rows`` (one per image × k × method), ``summary()`` (mean and standard deviation per
        dataset × k × method, with the paper's figures where it has them), ``failures``,
        ``protocol_text``; :mod:`dpdown.evaluation.report` turns it into tables, CSV, JSON or HTML.
    """
    from . import datasets as named_sets

    sets = named_sets.resolve(folders, datasets)
    ks = (k,) if isinstance(k, int) else tuple(k)
    specs = [m if isinstance(m, MethodSpec) else parse_method(m) for m in methods] \
        if methods else None
    return run(sets, ks, specs, Protocol(protocol, channel, shave, filter), jobs, dask, limit, device, on_image)
