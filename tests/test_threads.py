"""The kernels on several threads: each runs over bands of output rows, taken by the threads
in turn (dpdown.kernels.bands). One case per path through each walker runs on one thread and on
several, against its naive twin, and the bands really run at once.
"""

import threading

import numpy as np
import pytest

import dpdown
from dpdown.kernels import bands

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
def threaded():
    """How many threads "several" is: at least two (conftest.py sees to it), else a run on
    several would be compared with itself."""
    threads = bands.threads()
    assert threads >= 2, "NUMBA_NUM_THREADS must be at least 2 for the thread tests"
    return threads


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
        with bands.using(threads):
            results.append(run_final(name, img, params, geometry))
    assert_output_close(results[-1], twin(naive.working(img), geometry), 1e-6)
    np.testing.assert_array_equal(results[0], results[-1])


def test_bands_run_at_once_without_the_gil(threaded, monkeypatch):
    """The bands of a kernel run at the same time, one on each thread, and the compiled kernel
    releases the GIL (else the threads would take turns)."""
    from dpdown.methods import avg

    barrier, seen = threading.Barrier(threaded, timeout=30), set()
    run = bands.run

    def meeting(kernel, n_rows, *args):
        def band(lo, hi, *rest):
            barrier.wait()  # every band is running before any goes on
            seen.add(threading.get_ident())
            kernel(lo, hi, *rest)
        run(band, n_rows, *args)

    monkeypatch.setattr(bands, "run", meeting)
    monkeypatch.setattr(bands, "_RAN", _Everything())  # as on every call after a kernel's first
    img = random_image((40, 30, 3), np.uint8)
    out = dpdown.downscale(img, 2, method="avg")
    assert len(seen) == threaded
    monkeypatch.setattr(bands, "run", run)
    with bands.using(1):
        np.testing.assert_array_equal(out, dpdown.downscale(img, 2, method="avg"))
    compiled = [lazy.compiled("cpu") for lazy in avg._kernel.variants.values() if "cpu" in lazy._compiled]
    assert compiled and all(d.targetoptions["nogil"] for d in compiled)


class _Everything(set):
    def __contains__(self, item):
        return True


def test_a_kernels_first_call_compiles_it_once(threaded, monkeypatch):
    """The first call for given argument types runs its first band alone, so that the other
    bands do not each compile the kernel at the same time; later calls run all bands at once."""
    calls = []
    lock = threading.Lock()

    def kernel(lo, hi, out):
        with lock:
            calls.append((lo, hi))
        out[lo:hi] = 1

    monkeypatch.setattr(bands, "_RAN", set())
    out = np.zeros(8)
    bands.run(kernel, 8, out)
    assert calls[0] == bands.bands_for(8)[0] and sorted(calls) == bands.bands_for(8) and out.all()
    assert bands._signature(kernel, (out,)) in bands._RAN


def test_bands_cover_every_row_once():
    assert bands.split(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert bands.split(2, 8) == [(0, 1), (1, 2)]
    assert bands.split(0, 4) == [] and bands.split(5, 1) == [(0, 5)]


def test_stochastic_same_seed_same_image_any_thread_count(threaded):
    img = random_image((64, 48, 3), np.uint8, seed=1)
    results = []
    for threads in (1, threaded):
        with bands.using(threads):
            results.append(dpdown.downscale(img, 3, method="stochastic", seed=42))
            results.append(dpdown.downscale(img, 2, method="s3pool", seed=42))
    np.testing.assert_array_equal(results[0], results[2])
    np.testing.assert_array_equal(results[1], results[3])
    assert not np.array_equal(results[0], dpdown.downscale(img, 3, method="stochastic", seed=43))
