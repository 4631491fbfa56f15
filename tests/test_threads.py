"""The kernels as users run them: compiled for threads (``parallel=True``, ``prange``).

The rest of the suite compiles them serial (``DPDOWN_PARALLEL=0``, conftest.py): the same
results in half the compile time. Here one case per path through each walker is compiled
for threads and run on one thread and on all of them, against its naive twin.
"""

import numba
import numpy as np
import pytest

import dpdown
from dpdown.kernels import jit

import naive
from conftest import assert_output_close, random_image, run_final

CASES = [  # (method, parameters, twin, dtype, geometry): one per walker path
    ("avg", {}, lambda im, g: naive.box(im, **g), np.uint8, dict(k=2)),  # integer sums, exact output
    ("softpool", {}, lambda im, g: naive.softpool(im, 1.0, **g), np.uint8, dict(out_shape=(23, 17))),  # table, coverage
    ("lp", dict(p=2.5), lambda im, g: naive.lp(im, 2.5, **g), np.float64, dict(out_shape=(23, 17))),  # float terms
    ("ordinal", dict(pool_range=3), lambda im, g: naive.ordinal(im, 3, (0.0, 0.0, 0.0), **g), np.float32,
     dict(k=3)),  # top r
    ("max", {}, lambda im, g: naive.maximum(im, **g), np.float64, dict(k=3, stride=2)),  # ranking
    ("dpp", {}, lambda im, g: naive.dpp(im, **g), np.uint8, dict(k=2)),  # guided, and the guidance filter
    ("dpid", {}, lambda im, g: naive.dpid(im, 1.0, **g), np.uint16, dict(out_shape=(23, 17))),  # footprint walker
    ("stochastic", dict(seed=5), lambda im, g: naive.stochastic_sample(im, 5, **g), np.uint8, dict(k=3)),
]


@pytest.fixture
def threaded(monkeypatch):
    """Kernels compiled for threads; yields how many threads "several" is (at least two,
    conftest.py sees to it, else a run on several would be compared with itself)."""
    monkeypatch.setattr(jit, "PARALLEL", True)
    threads = numba.config.NUMBA_NUM_THREADS
    assert threads >= 2, "NUMBA_NUM_THREADS must be at least 2 for the thread tests"
    yield threads
    numba.set_num_threads(threads)


@pytest.mark.parametrize("name,params,twin,dtype,geometry", CASES, ids=[case[0] for case in CASES])
def test_threaded_kernels_equal_naive_on_any_thread_count(threaded, name, params, twin, dtype, geometry):
    _equal_naive_on_any_thread_count(threaded, name, params, twin, dtype, geometry)


@pytest.mark.parametrize("name,twin", [("dpp", lambda im, g: naive.dpp(im, **g)),
                                       ("softpool", lambda im, g: naive.softpool(im, 1.0, **g))], ids=["dpp", "softpool"])
def test_threaded_block_rules(threaded, monkeypatch, name, twin):
    from dpdown.kernels.walkers import shared

    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset({2}))  # as by default (the suite: none)
    _equal_naive_on_any_thread_count(threaded, name, {}, twin, np.uint8, dict(k=2))


def _equal_naive_on_any_thread_count(threaded, name, params, twin, dtype, geometry):
    img = random_image((67, 53, 3), dtype, seed=7)  # enough output rows for every thread
    results = []
    for threads in (1, threaded):
        numba.set_num_threads(threads)
        results.append(run_final(name, img, params, geometry))
    assert_output_close(results[-1], twin(naive.working(img), geometry), 1e-6)
    np.testing.assert_array_equal(results[0], results[-1])


def test_kernels_are_compiled_for_threads(threaded):
    from dpdown.methods import avg

    dpdown.downscale(random_image((8, 8, 3), np.uint8), 2, method="avg")
    compiled = [d for lazy in avg._kernel.variants.values() for (_, parallel), d in lazy._compiled.items()
                if parallel]
    assert compiled and all(d.targetoptions["parallel"] for d in compiled)


def test_stochastic_same_seed_same_image_any_thread_count(threaded):
    img = random_image((64, 48, 3), np.uint8, seed=1)
    results = []
    for threads in (1, threaded):
        numba.set_num_threads(threads)
        results.append(dpdown.downscale(img, 3, method="stochastic", seed=42))
        results.append(dpdown.downscale(img, 2, method="s3pool", seed=42))
    np.testing.assert_array_equal(results[0], results[2])
    np.testing.assert_array_equal(results[1], results[3])
    assert not np.array_equal(results[0], dpdown.downscale(img, 3, method="stochastic", seed=43))
