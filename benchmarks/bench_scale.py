"""Throughput of dpdown's kernels against peers, run in the same process.

    python benchmarks/bench_scale.py                 # print the table
    python benchmarks/bench_scale.py --record        # also append it to docs/benchmarks.md

A 6000×4000 RGB uint8 image (a sample photo enlarged with Lanczos, so it has real edges and
texture) is downscaled at k = 4. Peers: pepedpid (a Rust DPID, single-threaded; float32
H×W×3 in [0, 1], so its input is converted before timing), OpenCV's INTER_AREA and
Pillow's reduce. Each figure is the best of --repeat runs after one warm-up run.
dpdown and pepedpid must agree in the interior (pepedpid replicates the border in its
guidance where dpdown, like the authors, renormalises): the script checks it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import time

import numpy as np
from PIL import Image

import dpdown

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_image(width=6000, height=4000):
    with Image.open(ROOT / "sample_images" / "flower.png") as im:
        return np.asarray(im.convert("RGB").resize((width, height), Image.LANCZOS))


def best_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine():
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line)
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args(argv)
    k = args.k

    img = test_image()
    megapixels = img.shape[0] * img.shape[1] / 1e6
    out_h, out_w = img.shape[0] // k, img.shape[1] // k
    rows = []  # (name, seconds, peer name for the ratio)

    def bench(name, fn, peer=None):
        seconds = best_time(fn, args.repeat)
        rows.append((name, seconds, peer))
        print(f"  {name:<34} {seconds * 1000:8.1f} ms", file=sys.stderr)

    print(f"{img.shape[1]}x{img.shape[0]} RGB uint8, k = {k}, {machine()}", file=sys.stderr)
    for lam in (1.0, 0.5):
        bench(f"dpdown dpid λ={lam:g}", lambda: dpdown.downscale(img, k, method="dpid", lam=lam),
              f"pepedpid λ={lam:g}")
    bench("dpdown dpp (Lite, sym, λ=1)", lambda: dpdown.downscale(img, k, method="dpp"), "opencv INTER_AREA")
    bench("dpdown dpp (Full, asym, λ=1)",
          lambda: dpdown.downscale(img, k, method="dpp", guide="full", variant="asym"), "opencv INTER_AREA")
    bench("dpdown avg", lambda: dpdown.downscale(img, k, method="avg"), "opencv INTER_AREA")

    agreement = None
    try:
        import pepedpid
    except ImportError:
        print("  pepedpid not installed (pip install -e '.[bench]'): no DPID peer", file=sys.stderr)
    else:
        as_float = img.astype(np.float32) / 255
        for lam in (1.0, 0.5):
            bench(f"pepedpid λ={lam:g}", lambda: pepedpid.dpid_resize(as_float, out_h, out_w, lam))
        theirs = pepedpid.dpid_resize(as_float, out_h, out_w, 1.0)
        ours = dpdown.downscale(as_float, k, method="dpid", lam=1.0)
        agreement = float(np.abs(theirs[1:-1, 1:-1] - ours[1:-1, 1:-1]).max())
    try:
        import cv2
    except ImportError:
        print("  opencv not installed: no INTER_AREA peer", file=sys.stderr)
    else:
        bench("opencv INTER_AREA", lambda: cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA))
    pil = Image.fromarray(img)
    bench("pillow reduce", lambda: pil.reduce(k))

    by_name = {name: seconds for name, seconds, _ in rows}
    lines = [f"### {datetime.date.today()} — {img.shape[1]}×{img.shape[0]} RGB uint8, k = {k}",
             "", f"Machine: {machine()}. Best of {args.repeat} runs after a warm-up.", "",
             "| method | time (ms) | MP/s | ratio to peer |", "|---|---:|---:|---|"]
    for name, seconds, peer in rows:
        ratio = f"{by_name[peer] / seconds:.2f}× {peer}" if peer in by_name else ""
        lines.append(f"| {name} | {seconds * 1000:.1f} | {megapixels / seconds:.1f} | {ratio} |")
    if agreement is not None:
        lines += ["", f"dpdown vs pepedpid, interior of the λ = 1 result (float32 input): "
                      f"max |difference| = {agreement:.2e} (values in [0, 1])."]
    table = "\n".join(lines)
    print(table)
    if args.record:
        with open(ROOT / "docs" / "benchmarks.md", "a") as f:
            f.write("\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
