"""End to end: where the time of one ``dpdown scale`` of a 24 MP file goes, per method.

    python benchmarks/bench_end_to_end.py             # every method, JPEG and PNG input, k = 4
    python benchmarks/bench_end_to_end.py -m dpid --record

A 6000×4000 RGB photo (sample_images/flower.png enlarged) is saved as JPEG (quality 90) and
PNG; each method downscales it by ``dpdown.scale_file`` to a PNG, kernels compiled first, best
of ``--repeat`` runs by total time. Reported: decode, kernel and encode times and the kernel's
share of the total (target: at most 20 %).
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile

from common import machine, publish, test_image
from PIL import Image

from dpdown.io.one_file import FileOptions, scale_file
from dpdown.methods import registry


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--method", action="append", help="method (repeatable; default: all)")
    parser.add_argument("-k", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args()
    names = args.method or registry.standalone()
    rows = ["| input | method | decode (ms) | kernel (ms) | encode (ms) | kernel share |",
            "|---|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as folder:
        photo = Image.fromarray(test_image())
        inputs = {"JPEG q90": os.path.join(folder, "in.jpg"), "PNG": os.path.join(folder, "in.png")}
        photo.save(inputs["JPEG q90"], quality=90)
        photo.save(inputs["PNG"])
        target = os.path.join(folder, "out.png")
        for label, source in inputs.items():
            for name in names:
                options = FileOptions(overwrite=True)
                runs = [scale_file(source, target, options, k=args.k, method=name).seconds
                        for _ in range(args.repeat + 1)][1:]  # the first compiles
                best = min(runs, key=lambda s: sum(s.values()))
                share = best["compute"] / sum(best.values())
                rows.append(f"| {label} | {name} | {1000 * best['decode']:.0f} | {1000 * best['compute']:.0f} | "
                            f"{1000 * best['encode']:.0f} | {100 * share:.0f} % |")
                print(rows[-1], flush=True)
    text = (f"\n### {datetime.date.today()} — end to end, 6000×4000 RGB file → PNG, k = {args.k}\n\n"
            f"Machine: {machine()}. `python benchmarks/bench_end_to_end.py`: `dpdown.scale_file`, best of "
            f"{args.repeat} after a compiling run; decode and encode are Pillow's.\n\n" + "\n".join(rows) + "\n")
    publish(text, args.record)


if __name__ == "__main__":
    main()
