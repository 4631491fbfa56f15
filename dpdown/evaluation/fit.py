"""``dpdown fit``: a method's continuous parameters chosen for a dataset by the evaluation metric.

Several methods learn their parameters inside a network in their papers (DPP's α, λ and
Full-DPP's filter, gated pooling's mask, the ordinal weights...). dpdown fits them to
images instead: maximise the mean metric (SSIM or PSNR under an evaluation protocol of
:mod:`dpdown.evaluation.evaluate`, or a user's function) over a training split with SciPy's bounded
Powell search, and report the metric on a held-out split next to the defaults'.

The protocol is the whole :class:`~dpdown.evaluation.evaluate.Protocol` of ``dpdown eval``: how
images are compared (``upsample``/``reference``), the channel scored (``rgb``/``y``), the border
shaved and the resampling filter (``pillow``/``matlab``); each patch is scored as ``dpdown eval``
scores an image, by the same functions.

The images are split by a seeded shuffle of their sorted paths. Each contributes one
centre patch (``patch×patch``, cut to a multiple of k; 0 = the whole image), read once, so
one evaluation of the objective costs a downscale and a comparison per patch.
"""

from __future__ import annotations

import importlib
import json
import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from .._version import __version__
from ..errors import ParameterError
from ..methods import registry

METRICS = ("ssim", "psnr")
FITTABLE = ("float", "floats")


@dataclass(frozen=True)
class Space:
    """The fitted parameters laid out as one vector: ``(name, start, stop)`` slices, the
    starting point and the bounds (None where unbounded)."""

    names: tuple
    slices: tuple
    start: np.ndarray
    bounds: tuple

    def unpack(self, x) -> dict:
        values = {}
        for name, (a, b) in zip(self.names, self.slices):
            values[name] = float(x[a]) if b is None else tuple(float(v) for v in x[a:b])
        return values


def space_for(method: registry.Method, names, k: int, fixed: dict) -> Space:
    """The search space of ``names`` (Python names or CLI flags) of ``method``; the others keep
    ``fixed`` (already resolved) values. Scalars start at their current value, lists of
    numbers at theirs or at zeros (the methods' neutral default) when empty."""
    by_key = {}
    for p in method.params:
        by_key[p.name] = by_key[p.cli_flag.lstrip("-")] = p
    fittable = [p.cli_flag.lstrip("-") for p in method.params if p.kind in FITTABLE]
    if not fittable:
        raise ParameterError(f"method {method.name!r} has no continuous parameter to fit")
    chosen, slices, start, bounds = [], [], [], []
    for key in names:
        p = by_key.get(key)
        if p is None or p.kind not in FITTABLE:
            raise ParameterError(f"--params: {key!r} is not a continuous parameter of {method.name} "
                                 f"(it has: {', '.join(fittable)})")
        at = len(start)
        if p.kind == "float":
            slices.append((at, None))
            start.append(fixed[p.name])
            bounds.append((p.low, p.high))
        else:
            size = p.size(k, fixed)
            value = fixed[p.name] or (0.0,) * size
            if len(value) != size:
                raise ParameterError(f"{p.cli_flag} has {len(value)} numbers; fitting needs {size}")
            slices.append((at, at + size))
            start += list(value)
            bounds += [(None, None)] * size
        chosen.append(p.name)
    return Space(tuple(chosen), tuple(slices), np.array(start, np.float64), tuple(bounds))


def user_metric(metric: str):
    """The ``module:function`` of ``metric``: ``(target, candidate) → float``, larger is better
    (``ssim`` and ``psnr`` are the evaluation's own, :func:`measure_for`)."""
    module, sep, name = metric.partition(":")
    if not sep:
        raise ParameterError(f"--metric must be one of {', '.join(METRICS)} or module:function (got {metric!r})")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ParameterError(f"--metric {metric}: {exc}") from None


def split(paths, held_out: float, seed: int):
    """``(training, held-out)`` paths: a seeded shuffle of the sorted paths, the last
    ``held_out`` share (at least one image each) held out."""
    paths = sorted(paths)
    if len(paths) < 2:
        raise ParameterError(f"fitting needs at least two images (a training and a held-out one); got {len(paths)}")
    order = np.random.default_rng(seed).permutation(len(paths))
    n_out = min(len(paths) - 1, max(1, round(held_out * len(paths))))
    shuffled = [paths[i] for i in order]
    return sorted(shuffled[:-n_out]), sorted(shuffled[-n_out:])


def measure_for(metric: str, protocol, k: int):
    """``(prepare, measure)``, the metric scored as ``dpdown eval`` scores under ``protocol`` at
    ``k``: ``prepare(target)`` takes the target in the protocol's channel, once per patch;
    ``measure(prepared, shown)`` scores the pooled image as compared (upsampled if the protocol
    does, in its channel) against it. SSIM and PSNR are those of the evaluation, shaved border
    and all; a ``module:function`` gets both images with the border shaved."""
    from . import similarity
    from .evaluate import Protocol

    border = Protocol.of(protocol).border(k)
    if metric == "ssim":
        return (lambda target: similarity.prepare(target, border)), \
            (lambda reference, shown: similarity.score(reference, shown)[0])
    if metric == "psnr":
        return (lambda target: target), (lambda target, shown: similarity.psnr(target, shown, border))
    function = user_metric(metric)

    def inside(pixels):
        h, w = pixels.shape[:2]
        return pixels[border:h - border, border:w - border]

    return (lambda target: target), (lambda target, shown: function(inside(target), inside(shown)))


def patches(paths, k: int, patch: int, protocol, prepare=None) -> list:
    """``(original, target, prepared)`` for the centre ``patch×patch`` of each image (float32
    [0, 1], alpha dropped, cut to a multiple of k; 0: the whole image): the target as
    ``protocol`` compares (:func:`~dpdown.evaluation.evaluate.target_for`) and ``prepare`` of it
    in the protocol's channel (default: as it is), made once, however many times the objective
    is evaluated."""
    from .evaluate import Protocol, crop, load, scored, target_for

    protocol = Protocol.of(protocol)
    border = protocol.border(k)
    triples = []
    for path in paths:
        pixels = load(path)
        if patch:
            h, w = pixels.shape[:2]
            y, x = max(0, (h - patch) // 2), max(0, (w - patch) // 2)
            pixels = pixels[y:y + patch, x:x + patch]
        original = np.ascontiguousarray(crop(pixels, k))
        try:
            if min(original.shape[:2]) < k:
                raise ParameterError(f"{pixels.shape[1]}×{pixels.shape[0]} is smaller than k = {k}")
            target = target_for(original, k, protocol)
            if min(target.shape[:2]) <= 2 * border:
                raise ParameterError(f"{target.shape[1]}×{target.shape[0]} pixels compared: nothing is left "
                                     f"after shaving {border}")
            compared = scored(target, protocol)
            triples.append((original, target, prepare(compared) if prepare else compared))
        except ParameterError as exc:
            raise ParameterError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from None
    return triples


def score(triples, k: int, method: str, params: dict, measure, protocol) -> float:
    """The mean of ``measure(prepared, shown)`` over the ``(original, target, prepared)`` of
    :func:`patches`, each original pooled by ``method`` with ``params`` and shown as ``protocol``
    compares it (:func:`~dpdown.evaluation.evaluate.candidate` in the
    :func:`~dpdown.evaluation.evaluate.scored` channel)."""
    from .evaluate import candidate, pool, scored

    return float(np.mean([measure(prepared, scored(candidate(pool(original, k, method, params.items()), target,
                                                             protocol), protocol))
                          for original, target, prepared in triples]))


@dataclass
class FitResult:
    method: str
    params: dict            # every parameter of the method, the fitted ones at their optimum
    fitted: list            # the fitted parameters' Python names
    k: int
    metric: str
    protocol: str           # how images are compared (upsample, reference)
    channel: str            # the channel scored (rgb, y)
    shave: int | str        # pixels dropped on every side before scoring, or "k"
    filter: str             # the resampling filter (pillow, matlab)
    data: list              # the folders and datasets fitted on
    train: dict             # images, default, fitted (metric means)
    held_out: dict
    evaluations: int
    seconds: float
    patch: int
    seed: int
    optimiser: str = "scipy.optimize.minimize(method='Powell'), bounds from the registry"
    dpdown: str = __version__

    def to_json(self) -> str:
        record = asdict(self)
        record["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return json.dumps(record, indent=1) + "\n"

    def save(self, path, overwrite: bool = False) -> None:
        from ..io.write import write_atomic

        text = self.to_json().encode()
        write_atomic(path, lambda stream: stream.write(text), overwrite)


def fit(sets, method_text: str, k: int, names=None, metric="ssim", protocol="upsample", held_out=0.3, seed=0,
        patch=256, max_evals=100, on_step=None) -> FitResult:
    """Fit ``names`` (default: every scalar continuous parameter) of the method described by
    ``method_text`` (``NAME[:key=value...]``, the fixed values) on the images of ``sets``
    (``(label, paper, paths)``, see :func:`dpdown.evaluation.datasets.resolve`), scored under
    ``protocol`` (a :class:`~dpdown.evaluation.evaluate.Protocol` or a comparison's name).

    ``on_step(evaluations, best)`` is called after every evaluation of the objective.
    """
    from scipy.optimize import minimize

    from .evaluate import Protocol, check, parse_method

    check((k,), protocol)
    protocol = Protocol.of(protocol)
    if protocol.shave != "k":
        protocol = replace(protocol, shave=int(protocol.shave))
    spec = parse_method(method_text)
    method = registry.get(spec.name)
    fixed = method.resolve(dict(spec.params))
    names = list(names or [p.name for p in method.params if p.kind == "float"])
    space = space_for(method, names, k, fixed)
    prepare, measure = measure_for(metric, protocol, k)
    train_paths, test_paths = split([p for _, _, paths in sets for p in paths], held_out, seed)
    train, test = patches(train_paths, k, patch, protocol, prepare), patches(test_paths, k, patch, protocol, prepare)
    evaluations, best_value = 0, -math.inf

    def objective(x):
        nonlocal evaluations, best_value
        value = score(train, k, method.name, {**fixed, **space.unpack(x)}, measure, protocol)
        value = value if math.isfinite(value) else 1e6  # identical images: as good as it gets
        evaluations, best_value = evaluations + 1, max(best_value, value)
        if on_step:
            on_step(evaluations, best_value)
        return -value

    start = time.perf_counter()
    bounds = [(-np.inf if lo is None else lo, np.inf if hi is None else hi) for lo, hi in space.bounds]
    result = minimize(objective, space.start, method="Powell", bounds=bounds,
                      options=dict(maxfev=max_evals, xtol=1e-3, ftol=1e-5))
    best = {**fixed, **space.unpack(result.x)}
    report = {}
    for label, images, paths in (("train", train, train_paths), ("held_out", test, test_paths)):
        report[label] = dict(images=len(paths), default=score(images, k, method.name, fixed, measure, protocol),
                             fitted=score(images, k, method.name, best, measure, protocol))
    return FitResult(method.name, best, list(space.names), k, metric, protocol.compare, protocol.channel,
                     protocol.shave, protocol.filter, [label for label, _, _ in sets],
                     report["train"], report["held_out"], evaluations, time.perf_counter() - start, patch, seed)


def load(path) -> dict:
    """``{"method": name, **params}`` from a file written by ``dpdown fit``, checked against
    the registry: ``dpdown.downscale(img, k, **load(path))``."""
    return load_with_k(path)[0]


def load_with_k(path) -> tuple[dict, int | None]:
    """:func:`load`'s parameters, and the window size ``k`` they were fitted at (None if the
    file does not say)."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        method = registry.get(record["method"])
        params = method.resolve({k: v for k, v in record["params"].items()})
        k = record.get("k")
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ValueError(f"k must be a whole number of at least 1, not {k!r}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ParameterError(f"{path}: not a dpdown fit file ({exc})") from None
    return {"method": method.name, **params}, k


def fit_method(folders=(), *, method, k, params=None, datasets=(), metric="ssim", protocol="upsample", channel="rgb",
               shave=0, filter="pillow", held_out=0.3, seed=0, patch=256, max_evals=100):
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
    metric : str
        ``"ssim"``, ``"psnr"`` or ``"module:function"`` of (original, pooled as compared) → float,
        larger better (both in the scored channel, the border shaved).
    protocol : {"upsample", "reference"}
        How images of different sizes are compared, as for :func:`evaluate_methods`.
    channel : {"rgb", "y"}
        Score every colour channel, or the luma Y of ITU-R BT.601 YCbCr.
    shave : int or "k"
        Pixels dropped on every side before scoring; ``"k"``: the window size.
    filter : {"pillow", "matlab"}
        The resampling filters: Pillow's bicubic/Lanczos-3, or MATLAB's ``imresize`` bicubic.
    held_out, seed, patch, max_evals
        The held-out share of the images and the split's seed, the centre patch size (0: whole
        images), the most objective evaluations.

    Returns
    -------
    dpdown.evaluation.fit.FitResult
        ``params`` (every parameter, the fitted at their optimum), the metric on the training
        and held-out images for the defaults and the fitted values; ``save(path)`` writes the
        file ``dpdown scale --params-file`` and :func:`load_params` read.
    """
    from . import datasets as named_sets
    from .evaluate import Protocol

    protocol = Protocol(protocol, channel, shave, filter)
    protocol.check()  # before any image is read
    sets = named_sets.resolve(folders, datasets)
    return fit(sets, method, k, params, metric, protocol, held_out, seed, patch, max_evals)


def load_params(path):
    """``{"method": ..., **params}`` from a ``dpdown fit`` file: ``downscale(img, k, **load_params(f))``."""
    return load(path)
