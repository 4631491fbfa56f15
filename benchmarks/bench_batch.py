"""Batch throughput: images/s for --jobs 1 and 2, and where the time goes.

    python benchmarks/bench_batch.py                 # 200 JPEGs of ~2 MP, DPID k = 4
    python benchmarks/bench_batch.py -n 50 --method avg
    python benchmarks/bench_batch.py --record        # also append the table to docs/benchmarks.md

The images are crops of real photographs, ~1730×1150 (2 MP), saved as JPEG quality 90: from
the photo wallpapers of Debian's lomiri-wallpapers packages (/usr/share/backgrounds) where installed,
else from sample_images/. Each run goes through ``dpdown.downscale_files`` into a fresh
folder, worker start-up included; decode / compute / encode are the per-file times summed
over the workers.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import tempfile

import numpy as np
from common import ROOT, machine, publish
from PIL import Image

import dpdown

# photographs only (the plasma wallpapers mix photos with renders)
PHOTO_SOURCES = ("/usr/share/backgrounds/*.jpg", str(ROOT / "sample_images" / "*.png"))
CROP = (1730, 1150)


def make_photos(folder, count, seed=0):
    """``count`` JPEG crops of about 2 MP from the real photographs found, in ``folder``."""
    sources = sorted(p for pattern in PHOTO_SOURCES for p in glob.glob(pattern))
    rng = np.random.default_rng(seed)
    photos = []
    for path in sources:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.width < CROP[0] or im.height < CROP[1]:  # small samples: enlarged, still photographs
                factor = max(CROP[0] / im.width, CROP[1] / im.height)
                im = im.resize((int(im.width * factor) + 1, int(im.height * factor) + 1), Image.LANCZOS)
            photos.append(im)
    for i in range(count):
        im = photos[i % len(photos)]
        x = int(rng.integers(0, im.width - CROP[0] + 1))
        y = int(rng.integers(0, im.height - CROP[1] + 1))
        im.crop((x, y, x + CROP[0], y + CROP[1])).save(os.path.join(folder, f"photo{i:03d}.jpg"), quality=90)
    return len(sources)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="number of JPEGs")
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("--method", default="dpid")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        os.mkdir(src)
        n_sources = make_photos(src, args.n)
        dpdown.downscale_files(os.path.join(src, "photo000.jpg"), os.path.join(tmp, "warm"), args.k,
                               method=args.method, jobs=1)  # compile (or load) the kernel once
        rows, base = [], None
        for jobs in args.jobs:
            summary = dpdown.downscale_files(src, os.path.join(tmp, f"out{jobs}"), args.k, method=args.method,
                                             jobs=jobs)
            assert summary.count("done") == args.n, [o.reason for o in summary.failures]
            rate = args.n / summary.wall
            base = base or rate
            shares = summary.shares()
            rows.append(f"| {jobs} | {summary.wall:.1f} | {rate:.1f} | {rate / base:.2f}× | "
                        f"{summary.megapixels_per_second:.0f} | "
                        + " / ".join(f"{100 * shares[s]:.0f} %" for s in ("decode", "compute", "encode")) + " |")
            print(rows[-1], flush=True)
    lines = [f"### {datetime.date.today()} — batch: {args.n} JPEGs of {CROP[0]}×{CROP[1]}, "
             f"{args.method} k = {args.k}", "",
             f"Machine: {machine()}. Crops of {n_sources} real photographs, JPEG quality 90; "
             "`python benchmarks/bench_batch.py`.", "",
             "| --jobs | wall (s) | images/s | vs --jobs 1 | MP/s | decode / compute / encode |",
             "|---:|---:|---:|---:|---:|---|", *rows]
    publish("\n".join(lines), args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
