"""First-use compile time: what a user waits for the first time a variant runs.

    python benchmarks/bench_compile.py                      # every method, every case (minutes)
    python benchmarks/bench_compile.py -m avg -m dpid       # some methods
    python benchmarks/bench_compile.py --record             # also append the table to docs/benchmarks.md

One fresh process with an empty kernel cache (``NUMBA_CACHE_DIR`` a new folder) makes the first
call of every registered method, with its defaults, at ``k`` = 2, 3, 4, 5 and at a non-integer
size (``--size``), on RGB uint8, RGBA uint8 and float32 RGB, in that order, on a small image (so
that running takes milliseconds); a call's compile time is its first call less a second, warm
one. Numba itself is set up first (one trivial kernel), so the first method is not charged for
it. ``learned`` runs with an operator made for each ``k`` (no ``--size``: it pools by its own k);
a method that refuses a geometry (gated pooling takes k only) has no figure for it.
Prints every call's seconds, then the median, the maximum and the total: the targets are a median
≤ 1 s and a maximum ≤ 3 s per call on 2 cores. A call may compile several kernels (DPID: the box
mean, its smoothing and the weighted mean): the last line also gives the median and the largest
compile time of a single kernel (Numba's compile of one dpdown function, the functions it
inlines included).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
import numpy as np
import dpdown
from dpdown.errors import ParameterError

import numba

@numba.njit
def _setup(x):
    return x + 1

_setup(1)  # Numba's CPU target, set up once for every method

from numba.core import dispatcher

compiled = []  # (kernel, seconds) of each dpdown function compiled during a call
_compile = dispatcher.Dispatcher.compile
_depth = [0]


def _timed_compile(self, sig):
    _depth[0] += 1
    start = time.perf_counter()
    try:
        return _compile(self, sig)
    finally:
        _depth[0] -= 1
        took = time.perf_counter() - start
        if _depth[0] == 0 and self.py_func.__module__.startswith("dpdown") and took > 0.01:
            compiled.append((self.py_func.__qualname__, took))


dispatcher.Dispatcher.compile = _timed_compile

methods, cases, geometries = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
images = {"RGB uint8": rng.integers(0, 256, (48, 64, 3), dtype=np.uint8),
          "RGBA uint8": rng.integers(0, 256, (48, 64, 4), dtype=np.uint8),
          "float32 RGB": rng.random((48, 64, 3)).astype(np.float32)}


def operator(k, channels):
    from dpdown.methods.learned import Operator

    tile = 4 * k
    per = tile // k
    return Operator(rng.normal(size=(per * per, tile * tile)), k, tile, 25.0, "l2", rng.random(channels),
                    0.5 + rng.random(channels), ("a", "b"), 2, np.ones(per * per))


for method in methods:
    for case in cases:
        img = images[case]
        for geometry in geometries:
            if method == "learned" and geometry == "size":
                continue
            args = dict(shape=(17, 23)) if geometry == "size" else dict(k=geometry)
            params = {}
            if method == "learned":
                params["operator"] = operator(geometry, img.shape[2] - (case == "RGBA uint8"))
            compiled.clear()
            start = time.perf_counter()
            try:
                dpdown.downscale(img, method=method, **args, **params)
            except ParameterError:  # a geometry the method does not take (gated: k only)
                continue
            first = time.perf_counter() - start
            start = time.perf_counter()
            dpdown.downscale(img, method=method, **args, **params)
            warm = time.perf_counter() - start
            print(json.dumps([method, case, geometry, max(first - warm, 0.0), compiled]), flush=True)
"""

CASES = ["RGB uint8", "RGBA uint8", "float32 RGB"]
GEOMETRIES = [2, 3, 4, 5, "size"]


def measure(methods, cases=CASES, geometries=GEOMETRIES, env=None):
    """``[(method, case, geometry, seconds)]`` from one fresh process with an empty cache."""
    with tempfile.TemporaryDirectory(prefix="dpdown-compile-") as cache:
        env = dict(os.environ if env is None else env, NUMBA_CACHE_DIR=cache)
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps([methods, cases, geometries])],
                                 stdout=subprocess.PIPE, text=True, env=env)
        rows = []
        for line in child.stdout:
            method, case, geometry, seconds, kernels = json.loads(line)
            rows.append((method, case, geometry, seconds, tuple(map(tuple, kernels))))
            print(f"  {rows[-1][0]:<12} {rows[-1][1]:<12} {str(rows[-1][2]):>5}  {rows[-1][3]:6.2f} s",
                  file=sys.stderr, flush=True)
        if child.wait():
            raise SystemExit(f"the measuring process failed (exit {child.returncode})")
    return rows


def summary(rows):
    seconds = [r[3] for r in rows]
    kernels = [kernel for r in rows for kernel in r[4]]
    return dict(calls=len(seconds), median=statistics.median(seconds), max=max(seconds), total=sum(seconds),
                worst=max(rows, key=lambda r: r[3])[:3], kernels=len(kernels),
                kernel_median=statistics.median(k[1] for k in kernels) if kernels else 0.0,
                kernel_worst=max(kernels, key=lambda k: k[1]) if kernels else ("none", 0.0))


def table(rows):
    """Markdown: one row per method, one column per case × geometry, then the summary."""
    methods = list(dict.fromkeys(r[0] for r in rows))
    columns = list(dict.fromkeys((r[1], r[2]) for r in rows))
    by_key = {(r[0], r[1], r[2]): r[3] for r in rows}
    lines = ["| method | " + " | ".join(f"{c} k={g}" if g != "size" else f"{c} size" for c, g in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for m in methods:
        cells = [f"{by_key[m, c, g]:.2f}" if (m, c, g) in by_key else "—" for c, g in columns]
        lines.append(f"| `{m}` | " + " | ".join(cells) + " |")
    s = summary(rows)
    lines.append("")
    lines.append(f"{s['calls']} first calls: median {s['median']:.2f} s, max {s['max']:.2f} s "
                 f"({' '.join(map(str, s['worst']))}), total {s['total']:.1f} s; "
                 f"{s['kernels']} kernels compiled in them: median {s['kernel_median']:.2f} s, "
                 f"max {s['kernel_worst'][1]:.2f} s ({s['kernel_worst'][0]})")
    return "\n".join(lines)


def main():
    from common import machine, publish

    from dpdown.methods import registry

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--method", action="append", help="a method (repeatable); default: all")
    parser.add_argument("--case", action="append", choices=CASES, help="an image case (repeatable); default: all")
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args()
    methods = args.method or list(registry.methods())
    rows = measure(methods, args.case or CASES)
    today = datetime.date.today().isoformat()
    publish(f"\n### {today} — first-use compile time ({machine()})\n\n"
            f"`python benchmarks/bench_compile.py`\n\n{table(rows)}\n", args.record)


if __name__ == "__main__":
    main()
