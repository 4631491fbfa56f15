"""Throughput of dpdown's kernels against peers, run in the same process.

    python benchmarks/bench_scale.py                 # print the table
    python benchmarks/bench_scale.py --record        # also append it to docs/benchmarks.md
    python benchmarks/bench_scale.py -m dpid -k 4    # some methods, some k

A 6000×4000 RGB uint8 image (a sample photo enlarged with Lanczos, so it has real edges and
texture) is downscaled by every method at k = 2 and 4. Peers: pepedpid (a Rust DPID, single-threaded; float32
H×W×3 in [0, 1], so its input is converted before timing), OpenCV's INTER_AREA and
Pillow's reduce. Each figure is the best of at least --repeat runs after one warm-up run, and
of as many as fit in half a second. Thread scaling times each method at the last k on every
thread and on one in turn, so that a busy moment of a shared machine slows both alike.
dpdown and pepedpid must agree in the interior (pepedpid replicates the border in its
guidance where dpdown, like the authors, renormalises): the script checks it.

Floors, compiled like the kernels (Numba, the same threads), bound what a method can reach:
reading every value once (integer column sums: the memory floor), and — the work per value of
the methods bound by arithmetic — reading each value and looking it up in a table of 256
float64s (SoftPool's weights e^x on uint8) or taking a float64 square root of it (Lite-DPP's
reward at λ = 1), summed down columns likewise.
"""

from __future__ import annotations

import argparse
import datetime
import sys

import numpy as np
from common import best_time, best_times, machine, publish, test_image
from PIL import Image

import dpdown
from dpdown.kernels import bands
from dpdown.kernels.jit import inline, jit, specialise
from dpdown.methods import registry

SOFTPOOL_WEIGHTS = np.exp(np.arange(256) / 255.0)  # compiled in as a constant, as SoftPool's table is
term = None          # a floor's work per value, bound per floor (FLOORS)
SUM_DTYPE = np.uint16  # what it sums in, bound per floor


@jit(bands=True)
def _floor(lo, hi, flat, k, check):
    """Every value read once, its ``term`` summed down each column of k rows (uint16 sums of the
    values themselves: exact for k ≤ 257)."""
    width = flat.shape[1]
    for i in range(lo, hi):
        sums = np.zeros(width, SUM_DTYPE)
        for y in range(i * k, min(i * k + k, flat.shape[0])):
            for t in range(width):
                sums[t] += term(flat[y, t])
        check[i] = sums[i % width]  # keeps the pass from being optimised away


def _value(v):
    return v


def _table_weight(v):
    return SOFTPOOL_WEIGHTS[v]


def _root(v):
    x = v * (1 / 255)
    return np.sqrt(x * x + 0.001)  # Lite-DPP's reward at λ = 1, ε² = 0.001


FLOORS = {label: specialise(_floor, f"floor_{f.__name__.strip('_')}", term=inline(f), SUM_DTYPE=dtype)
          for label, f, dtype in (("read every value once", _value, np.uint16),
                                  ("… and look it up in a table of 256 float64s (softpool)", _table_weight, np.float64),
                                  ("… and take a float64 square root (dpp, λ = 1)", _root, np.float64))}


def floor(kernel, flat, k):
    """One of FLOORS over ``flat`` (rows of W·C values) for windows of ``k``."""
    check = np.zeros(-(-flat.shape[0] // k))
    bands.run(kernel, len(check), flat, k, check)
    return check


def on_threads(count, img, k, name):
    """A run of method ``name`` at ``k`` on ``count`` threads."""
    def run():
        with bands.using(count):
            dpdown.downscale(img, k, method=name)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("-k", type=int, action="append", help="window sizes (default: 2 and 4)")
    parser.add_argument("-m", "--method", action="append", help="methods (default: all)")
    parser.add_argument("--record", action="store_true", help="append the tables to docs/benchmarks.md")
    args = parser.parse_args(argv)
    sizes = args.k or [2, 4]
    names = args.method or registry.standalone()

    img = test_image()
    megapixels = img.shape[0] * img.shape[1] / 1e6
    lines = [f"### {datetime.date.today()} — {img.shape[1]}×{img.shape[0]} RGB uint8 photo",
             "", f"Machine: {machine()}. Best of at least {args.repeat} runs (and of half a second's) after a warm-up; "
                 "MP/s counts input pixels.", ""]

    def timed(label, fn):
        seconds = best_time(fn, args.repeat)
        print(f"  {label:<40} {seconds * 1000:8.1f} ms", file=sys.stderr)
        return seconds

    # every method against OpenCV INTER_AREA and Pillow reduce
    try:
        import cv2
    except ImportError:
        cv2 = None
        print("opencv not installed (pip install -e '.[bench]'): no INTER_AREA peer", file=sys.stderr)
    pil = Image.fromarray(img)
    threads = bands.threads()
    lines += ["Every method; ratio = dpdown's throughput / OpenCV INTER_AREA's at the same k; thread scaling "
              f"= time on 1 thread / time on {threads} at k = {sizes[-1]}, the two timed in turn:", "",
              "| method | " + " | ".join(f"k={k} ms | k={k} MP/s | k={k} vs INTER_AREA" for k in sizes)
              + f" | 1→{threads} threads |", "|---|" + "---:|---:|---:|" * len(sizes) + "---:|"]
    peers = {}
    for k in sizes:
        out_h, out_w = -(-img.shape[0] // k), -(-img.shape[1] // k)
        peers[k] = {"pillow reduce": timed(f"pillow reduce k={k}", lambda: pil.reduce(k))}
        if cv2 is not None:
            peers[k]["opencv INTER_AREA"] = timed(
                f"opencv INTER_AREA k={k}", lambda: cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA))
    for name in names + ["opencv INTER_AREA", "pillow reduce"]:
        cells = []
        for k in sizes:
            if name in peers[k]:
                seconds = peers[k][name]
            elif name in names:
                seconds = timed(f"dpdown {name} k={k}", lambda: dpdown.downscale(img, k, method=name))
            else:
                cells.append(" | | ")
                continue
            area = peers[k].get("opencv INTER_AREA")
            ratio = f"{area / seconds:.2f}×" if area else ""
            cells.append(f"{seconds * 1000:.1f} | {megapixels / seconds:.0f} | {ratio}")
        if name in names:  # the last k on every thread and on one, in turn
            together, alone = best_times([on_threads(threads, img, sizes[-1], name),
                                          on_threads(1, img, sizes[-1], name)], args.repeat)
            print(f"  dpdown {name} k={sizes[-1]}: {together * 1000:.1f} ms on {threads} threads, "
                  f"{alone * 1000:.1f} ms on 1", file=sys.stderr)
            cells.append(f"{alone / together:.2f}×")
        else:
            cells.append("")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    # what no method can beat, and the work per value of those bound by arithmetic
    flat = img.reshape(img.shape[0], -1)
    lines += ["", "Floors: passes compiled like the kernels (Numba, the same threads), the first of which no method "
                  "can beat:", "",
              "| pass | " + " | ".join(f"k={k} ms | k={k} vs INTER_AREA" for k in sizes) + " |",
              "|---|" + "---:|---:|" * len(sizes)]
    for label, kernel in FLOORS.items():
        cells = []
        for k in sizes:
            seconds = timed(f"floor: {label[:30]} k={k}", lambda: floor(kernel, flat, k))
            area = peers[k].get("opencv INTER_AREA")
            cells.append(f"{seconds * 1000:.1f} | " + (f"{area / seconds:.2f}×" if area else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    # DPID against pepedpid (k = 4), with the interior agreement check
    try:
        import pepedpid
    except ImportError:
        print("pepedpid not installed (pip install -e '.[bench]'): no DPID peer", file=sys.stderr)
    else:
        k = 4
        out_h, out_w = -(-img.shape[0] // k), -(-img.shape[1] // k)
        lines += ["", f"DPID against pepedpid (Rust, single-threaded), k = {k}:", "",
                  "| λ | dpdown (ms) | pepedpid (ms) | speed-up |", "|---|---:|---:|---:|"]
        ours = {lam: timed(f"dpdown dpid λ={lam:g} k={k}", lambda: dpdown.downscale(img, k, method="dpid", lam=lam))
                for lam in (1.0, 0.5)}
        # pepedpid's float32 input is made only now: after a 288 MB array has been allocated and
        # freed, glibc serves dpdown's large buffers differently and its times rise by up to 1.7×
        as_float = img.astype(np.float32) / 255
        for lam in (1.0, 0.5):
            theirs = timed(f"pepedpid λ={lam:g}", lambda: pepedpid.dpid_resize(as_float, out_h, out_w, lam))
            lines.append(f"| {lam:g} | {ours[lam] * 1000:.1f} | {theirs * 1000:.1f} | {theirs / ours[lam]:.2f}× |")
        difference = np.abs(pepedpid.dpid_resize(as_float, out_h, out_w, 1.0)[1:-1, 1:-1]
                            - dpdown.downscale(as_float, k, method="dpid", lam=1.0)[1:-1, 1:-1]).max()
        lines += ["", f"Interior agreement, λ = 1, float32 input: max |dpdown − pepedpid| = {difference:.2e} "
                      "(values in [0, 1]; the border differs by design).", ""]

    publish("\n".join(lines), args.record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
