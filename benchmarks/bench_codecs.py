"""Decoding and encoding on the GPU: images per second on a folder of JPEG photos, four ways.

    python benchmarks/bench_codecs.py PHOTOS/                 # DPID k = 4, JPEG outputs
    python benchmarks/bench_codecs.py PHOTOS/ -m avg -k 2 --jobs 4 --out codecs.md
    python benchmarks/bench_codecs.py --make 40               # 40 JPEGs of ~2 MP (bench_batch.py's crops)
    python benchmarks/bench_codecs.py PHOTOS/ --measure       # nvImageCodec's decode against Pillow's

In one process, on one machine, each row once, every output a JPEG in a fresh folder:

* cpu: ``dpdown.downscale_files(..., device="cpu")``: Pillow (libjpeg-turbo) and the CPU kernels;
* gpu, cpu codecs: ``device="cuda", codec="cpu"``: Pillow decodes and encodes, the GPU downscales;
* gpu, gpu codecs: ``device="cuda", codec="gpu"``: nvImageCodec decodes into GPU memory and
  encodes there (``pip install 'dpdown[gpu-codecs]'``);
* vipsthumbnail (libvips' own shrink, not a detail-preserving method), if on PATH: one call
  per distinct input size, to the same output size.

Kernels are compiled (or loaded) before the timed runs, on one file. Rows that cannot run are
printed as "skipped: <why>". Ratios are against the cpu row.

``--measure`` decodes every photo with nvImageCodec (on the GPU, EXIF orientation applied as
dpdown does) and with Pillow, and prints the largest and the mean absolute difference per
photo and over all, in 8-bit levels; it needs a GPU and nvImageCodec.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

import dpdown
from dpdown.io import gpu_codecs
from dpdown.kernels import device as devices


def photos_in(folder):
    return sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith((".jpg", ".jpeg")))


def dpdown_row(label, photos, tmp, args, **how):
    """(label, images/s or the reason it was skipped)."""
    warm = os.path.join(tmp, f"warm-{len(os.listdir(tmp))}")
    try:
        dpdown.downscale_files(photos[0], warm, args.k, method=args.method, format="jpg", jobs=1, **how)
        out = os.path.join(tmp, f"out-{len(os.listdir(tmp))}")
        summary = dpdown.downscale_files(photos, out, args.k, method=args.method, format="jpg", jobs=args.jobs,
                                         **how)
    except dpdown.errors.DpdownError as exc:
        return label, f"skipped: {exc}"
    if summary.failures:
        return label, f"skipped: {len(summary.failures)} files failed, e.g. {summary.failures[0].reason}"
    fell_back = sum(any(n.startswith("decoded on the CPU") for n in o.notes) for o in summary.outcomes)
    note = f" ({fell_back} of {len(photos)} decoded on the CPU)" if how.get("codec") == "gpu" and fell_back else ""
    return label + note, len(photos) / summary.wall


def vips_row(photos, tmp, args):
    tool = shutil.which("vipsthumbnail")
    if tool is None:
        return "vipsthumbnail", "skipped: vipsthumbnail is not on PATH"
    from dpdown.io.read import image_shape

    groups = {}
    for path in photos:
        h, w = image_shape(path)  # as oriented by its EXIF, as vipsthumbnail does
        groups.setdefault((-(-w // args.k), -(-h // args.k)), []).append(path)
    out = os.path.join(tmp, "vips")
    os.mkdir(out)
    start = time.perf_counter()
    for (w, h), paths in groups.items():
        subprocess.run([tool, "-s", f"{w}x{h}!", "-o", os.path.join(out, "%s.jpg[Q=90]"), *paths], check=True)
    return "vipsthumbnail", len(photos) / (time.perf_counter() - start)


def throughput(photos, args):
    rows = []
    no_gpu = devices.cuda_problem()
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(dpdown_row("cpu", photos, tmp, args, device="cpu"))
        for label, codec in (("gpu, cpu codecs", "cpu"), ("gpu, gpu codecs", "gpu")):
            if no_gpu:
                rows.append((label, f"skipped: no GPU ({no_gpu})"))
            else:
                rows.append(dpdown_row(label, photos, tmp, args, device="cuda", codec=codec))
        rows.append(vips_row(photos, tmp, args))
    base = rows[0][1] if not isinstance(rows[0][1], str) else None
    lines = [(f"### {datetime.date.today()} — codecs: {len(photos)} JPEGs, {args.method} k = {args.k}, "
              f"--jobs {args.jobs or 'default'}"), "", "| path | images/s | ratio to cpu |", "|---|---:|---:|"]
    for label, value in rows:
        if isinstance(value, str):
            lines.append(f"| {label} | {value} | |")
        else:
            lines.append(f"| {label} | {value:.2f} | {value / base:.2f}× |" if base else f"| {label} | {value:.2f} | |")
    return "\n".join(lines) + "\n"


def measure(photos):
    """Max and mean |nvImageCodec − Pillow| per photo, in 8-bit levels (a Markdown table)."""
    why = gpu_codecs.problem("cuda")
    if why is not None:
        return f"measure: skipped: {why}\n"
    from PIL import Image

    from dpdown.io.read import read

    lines = ["| photo | size | ICC profile | subsampling | max |Δ| | mean |Δ| |", "|---|---|---|---|---:|---:|"]
    worst, total, count = 0, 0.0, 0
    for path in photos:
        try:
            gpu = gpu_codecs.read(path, None)
        except gpu_codecs.Unsupported as exc:
            lines.append(f"| {os.path.basename(path)} | | | | skipped: {exc} | |")
            continue
        cpu = read(path, None).pixels.astype(np.int16)
        diff = np.abs(devices.to_host(gpu.pixels).astype(np.int16) - cpu)
        with Image.open(path) as im:
            layer = getattr(im, "layer", None)
            sampling = "×".join(f"{h}{v}" for _, h, v, _ in layer) if layer else "?"
        worst = max(worst, int(diff.max()))
        total += float(diff.sum())
        count += diff.size
        lines.append(f"| {os.path.basename(path)} | {cpu.shape[1]}×{cpu.shape[0]} | "
                     f"{'yes' if 'icc_profile' in gpu.info else 'no'} | {sampling} | {int(diff.max())} | "
                     f"{diff.mean():.4f} |")
    if count:
        lines.append(f"| all | | | | {worst} | {total / count:.4f} |")
    return f"### {datetime.date.today()} — nvImageCodec's decode against Pillow's (libjpeg-turbo)\n\n" + \
        "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", help="folder of JPEG photos")
    parser.add_argument("--make", type=int, metavar="N", help="make N JPEGs of ~2 MP instead (bench_batch.py)")
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("-m", "--method", default="dpid")
    parser.add_argument("-j", "--jobs", type=int, help="workers (default: dpdown's)")
    parser.add_argument("--measure", action="store_true", help="also compare nvImageCodec's decode with Pillow's")
    parser.add_argument("--out", metavar="FILE.md", help="also write the tables to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as made:
        if args.folder is None:
            from bench_batch import make_photos

            make_photos(made, args.make or 20)
            args.folder = made
        photos = photos_in(args.folder)
        if not photos:
            parser.error(f"no .jpg or .jpeg files in {args.folder}")
        text = throughput(photos, args)
        print(text, flush=True)
        if args.measure:
            measured = measure(photos)
            print(measured, flush=True)
            text += "\n" + measured
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
