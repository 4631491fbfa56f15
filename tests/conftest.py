import os
import pathlib

# CUDA tests run under Numba's simulator unless a real GPU is asked for; this must be set
# before numba.cuda is first imported.
if os.environ.get("DPDOWN_TEST_GPU") != "1":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

# The tests check what kernels compute, not how fast: without LLVM's optimiser a cold suite
# compiles a third faster, and no result depends on it (no fast-math anywhere). Numba's cache
# does not key on the level, so these kernels are cached apart from the ones users and the
# benchmarks run. (Child processes inherit both settings; test_cache clears them.)
os.environ.setdefault("NUMBA_OPT", "0")
# No block size compiled into the separable walker (by default 2, 3 and 4, each one more
# variant of every kernel): the suite runs the same per-pixel code with the size read at run
# time, and test_family.test_block_sizes_compiled_in runs each path with it compiled in.
os.environ.setdefault("DPDOWN_COMPILED_BLOCKS", "")
# tests/test_threads.py compares one thread with several: kernels get at least two bands
# (dpdown.kernels.bands), on one core too.
os.environ["NUMBA_NUM_THREADS"] = str(max(2, int(os.environ.get("NUMBA_NUM_THREADS") or len(os.sched_getaffinity(0)))))
os.environ.setdefault("NUMBA_CACHE_DIR", str(pathlib.Path(__file__).resolve().parent.parent / ".pytest_cache"
                                             / "numba"))

import numpy as np
import pytest

import dpdown
from dpdown.core.working import to_working
from dpdown.kernels import footprints
from dpdown.methods import registry
from dpdown.methods.learned import Operator

import naive

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "sample_images"


def random_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    return rng.random(shape).astype(dtype)


def photo_crop(name="flower.png", box=(300, 200, 61, 47)):
    """A small real-photo crop (x, y, width, height), uint8 RGB."""
    from PIL import Image

    x, y, w, h = box
    with Image.open(SAMPLES / name) as im:
        return np.asarray(im.convert("RGB"))[y:y + h, x:x + w].copy()


@pytest.fixture
def samples():
    return SAMPLES


# ---- running a method, and judging its output -----------------------------------------------------

def run_method(name, img, params, geometry, has_alpha=False):
    work = to_working(img, has_alpha)
    fp = footprints.plan(work.shape, k=geometry.get("k"), stride=geometry.get("stride"),
                         out_shape=geometry.get("out_shape"))
    spec = registry.get(name)
    return spec.run(work, fp, **spec.resolve(params))


def run_final(name, img, params, geometry):
    """The method through the API, as users run it: its last pass writes the image's dtype."""
    out = dpdown.downscale(img, geometry.get("k"), stride=geometry.get("stride"), shape=geometry.get("out_shape"),
                           method=name, has_alpha=False, **params)
    return out.reshape(out.shape[:2] + (-1,))


def assert_output_close(out, expected, atol):
    """``out`` in its own dtype against the working values ``expected``: an unsigned output is
    the nearest level (a tie either way), a float one within ``atol`` (float32: its rounding)."""
    if out.dtype.kind == "u":
        top = np.iinfo(out.dtype).max
        error = np.abs(out - np.clip(expected, 0, 1) * top)
        assert error.max() <= 0.5 + atol * top, f"{error.max()} levels off"
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-6 if out.dtype == np.float32 else 0, atol=atol)


def make_operator(k, tile, channels, seed=0):
    rng = np.random.default_rng(seed)
    per = tile // k
    return Operator(rng.normal(size=(per * per, tile * tile)), k, tile, 25.0, "l2",
                    rng.random(channels), 0.5 + rng.random(channels), ("a", "b"), 2, np.ones(per * per))


# ---- the methods with their naive twins, shared by the CPU and the CUDA tests ---------------------

METHODS = [
    ("avg", {}, lambda img, g: naive.box(img, **g)),
    ("dpid", dict(lam=1.0), lambda img, g: naive.dpid(img, 1.0, **g)),
    ("dpid", dict(lam=0.5), lambda img, g: naive.dpid(img, 0.5, **g)),
    ("dpid", dict(lam=2.0), lambda img, g: naive.dpid(img, 2.0, **g)),
    ("dpid", dict(lam=0.7), lambda img, g: naive.dpid(img, 0.7, **g)),
    ("dpp", {}, lambda img, g: naive.dpp(img, **g)),
    ("dpp", dict(alpha=0.3, lam=2.5, variant="asym"), lambda img, g: naive.dpp(img, 0.3, 2.5, "asym", **g)),
    ("dpp", dict(guide="full"), lambda img, g: naive.dpp(img, guide="full", **g)),
    ("dpp", dict(guide="full", variant="asym", filter=tuple(np.arange(9) / 20.0)),
     lambda img, g: naive.dpp(img, variant="asym", guide="full", filter=np.arange(9) / 20.0, **g)),
]

LOGIT = (0.5, -1, 0.2, 1, 3, -0.5, 0.1, 0.7, -2)

FAMILY = [
    ("sum", {}, lambda im, g: naive.total(im, **g)),
    ("max", {}, lambda im, g: naive.maximum(im, **g)),
    ("min", {}, lambda im, g: naive.minimum(im, **g)),
    ("pow-average", dict(p=3.0), lambda im, g: naive.pow_average(im, 3.0, **g)),
    ("lp", dict(p=2.5), lambda im, g: naive.lp(im, 2.5, **g)),
    ("softpool", {}, lambda im, g: naive.softpool(im, 1.0, **g)),
    ("softpool", dict(beta=-7.0), lambda im, g: naive.softpool(im, -7.0, **g)),
    ("lip", dict(beta=20.0), lambda im, g: naive.softpool(im, 20.0, **g)),
    ("lip", dict(logit_filter=LOGIT), lambda im, g: naive.lip_filter(im, LOGIT, **g)),
    ("mixed", dict(mix=0.3), lambda im, g: naive.mixed(im, 0.3, **g)),
    ("stochastic", dict(mode="weighted"), lambda im, g: naive.stochastic_weighted(im, **g)),
    ("stochastic", dict(seed=11), lambda im, g: naive.stochastic_sample(im, 11, **g)),
    ("ordinal", dict(pool_range=3, weights=(1.0, 0.5, -1.0)),
     lambda im, g: naive.ordinal(im, 3, (1.0, 0.5, -1.0), **g)),
    ("ordinal", dict(pool_range=1), lambda im, g: naive.ordinal(im, 1, (0.0,), **g)),
]
FAMILY_IDS = [f"{m}-{'-'.join(f'{k}={v}' for k, v in p.items())}" for m, p, _ in FAMILY]
