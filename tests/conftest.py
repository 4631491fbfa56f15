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
# Serial kernels (prange as range), compiled in half the time; test_threads.py runs a kernel
# of every walker compiled for threads against its naive twin, and checks thread counts.
os.environ.setdefault("DPDOWN_PARALLEL", "0")
os.environ.setdefault("NUMBA_CACHE_DIR", str(pathlib.Path(__file__).resolve().parent.parent / ".pytest_cache"
                                             / "numba"))

import numpy as np
import pytest

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
