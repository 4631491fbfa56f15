"""What the benchmark scripts share: the test image, the timing rule, the machine's name and
the recording of a table. It imports no dpdown, so that a script can time another revision's
code with it (bench_revision.py)."""

from __future__ import annotations

import os
import pathlib
import platform
import time

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_image(width=6000, height=4000):
    """A sample photo enlarged with Lanczos: real edges and texture, RGB uint8."""
    with Image.open(ROOT / "sample_images" / "flower.png") as im:
        return np.asarray(im.convert("RGB").resize((width, height), Image.LANCZOS))


def best_time(fn, repeat, least=0.5):
    """The fastest of at least ``repeat`` runs after a warm-up, and of as many more as fit in
    ``least`` seconds: a 3 ms kernel gets ~150 tries, so a neighbour busy for a moment on this
    shared machine does not set its figure."""
    return best_times([fn], repeat, least)[0]


def best_times(fns, repeat, least=0.5):
    """:func:`best_time` of each of ``fns``, run in turn (one run of each, then again), so that
    a neighbour busy for a while slows all of them alike: for a ratio of two of them."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    while len(times[0]) < repeat or sum(times[0]) < least:
        for fn, taken in zip(fns, times):
            start = time.perf_counter()
            fn()
            taken.append(time.perf_counter() - start)
    return [min(taken) for taken in times]


def publish(text, record):
    """Print a result table; with ``record``, append it to docs/benchmarks.md too."""
    print(text)
    if record:
        with open(ROOT / "docs" / "benchmarks.md", "a") as f:
            f.write("\n" + text.strip("\n") + "\n")


def machine():
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line)
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"
