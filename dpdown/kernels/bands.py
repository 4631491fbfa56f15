"""Row bands: how a CPU kernel uses the cores.

A kernel that computes output rows independently takes the range of rows to compute as its
first two arguments, ``lo`` and ``hi``, and is compiled serial with the GIL released
(``@jit(bands=True)``, :func:`dpdown.kernels.jit._pipeline`). :func:`run` splits the output
rows into a few bands per thread and runs them on a pool of threads, each thread taking the
next band as it finishes one. Numba's own parallel
transform (``prange`` with ``parallel=True``) would do the same work at the same speed, but
compiling it takes about twice as long, and every new kernel is a wait for the user
(docs/benchmarks.md, first-use compile time).

The number of threads is :func:`threads`: ``NUMBA_NUM_THREADS`` if set (a batch's worker
processes set it to their share of the cores), else the cores this process may use.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_POOL = None
_POOL_LOCK = threading.Lock()
_LOCAL = threading.local()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads() -> int:
    """How many threads a kernel's bands run on (see the module's note); :func:`using` changes
    it for the calling thread."""
    chosen = getattr(_LOCAL, "threads", None)
    if chosen is not None:
        return chosen
    return max(1, int(os.environ.get("NUMBA_NUM_THREADS") or available_cores()))


@contextlib.contextmanager
def using(count: int):
    """Run this thread's kernels on ``count`` threads meanwhile (benchmarks, tests)."""
    previous = getattr(_LOCAL, "threads", None)
    _LOCAL.threads = max(1, int(count))
    try:
        yield
    finally:
        _LOCAL.threads = previous


def _pool(size):
    """The pool of at least ``size`` threads; a larger one replaces a smaller, whose threads
    end once their bands are done."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < size:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(size, thread_name_prefix="dpdown-band")
        return _POOL


def split(n_rows: int, count: int) -> list[tuple[int, int]]:
    """``count`` bands of nearly equal height covering rows ``0 … n_rows − 1`` (fewer when
    there are fewer rows)."""
    count = max(1, min(count, n_rows))
    edges = [n_rows * b // count for b in range(count + 1)]
    return [(lo, hi) for lo, hi in zip(edges, edges[1:]) if hi > lo]


_RAN = set()  # (kernel, argument types) that have run once: compiled, or loaded from the cache

# Bands are taken by the threads in turn, so that a core slowed by another process (or a slower
# core) computes fewer of them instead of holding up the whole pass.
BANDS_PER_THREAD = 4


def _signature(kernel, args):
    return (id(kernel),) + tuple((a.dtype.str, a.ndim, a.flags.c_contiguous) if hasattr(a, "dtype")
                                 else _signature(None, a) if isinstance(a, tuple) else type(a) for a in args)


def bands_for(n_rows: int) -> list[tuple[int, int]]:
    """The bands :func:`run` splits ``n_rows`` output rows into: ``BANDS_PER_THREAD`` per thread."""
    return split(n_rows, threads() * BANDS_PER_THREAD)


def run(kernel, n_rows: int, *args) -> None:
    """``kernel(lo, hi, *args)`` for bands of the output rows, on every thread at once, each
    thread taking the next band as it finishes one. The calling thread takes bands too; an
    exception in any band is raised here. The first call for given argument types runs its
    first band alone: bands that reached a kernel not yet compiled at once would each compile
    it."""
    count = threads()
    bands = bands_for(n_rows)
    if len(bands) <= 1 or count == 1:
        kernel(0, n_rows, *args)
        return
    signature = _signature(kernel, args)
    if signature not in _RAN:
        kernel(*bands[0], *args)
        _RAN.add(signature)
        bands = bands[1:]
    next_band = itertools.count().__next__  # one call at a time: the GIL

    def take_bands():
        while (b := next_band()) < len(bands):
            kernel(*bands[b], *args)

    helpers = min(count, len(bands)) - 1
    futures = [_pool(helpers).submit(take_bands) for _ in range(helpers)]
    try:
        take_bands()
    finally:
        for future in futures:
            future.result()
