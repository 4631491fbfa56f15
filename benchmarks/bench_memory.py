"""Peak memory of each method on a 24 MP RGB uint8 image at k = 4, by the OS's accounting.

    python benchmarks/bench_memory.py                 # every method
    python benchmarks/bench_memory.py -m dpid -m avg  # some
    python benchmarks/bench_memory.py --record        # also append the table to docs/benchmarks.md

Each method runs in a fresh process: the input is decoded (here: made) and the kernels are
compiled on a small image first; then a thread samples the resident set size
(/proc/self/statm) every millisecond while ``dpdown.downscale`` runs. Reported: the peak
rise of RSS during the call, against the memory budget — 2× the output + 64 MB above the
decoded input already held.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys

CHILD = r"""
import json, os, sys, threading, time
import numpy as np
import dpdown

method, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

rng = np.random.default_rng(0)
img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
dpdown.downscale(img[:64, :64].copy(), 4, method=method)     # compile first
before, peak, running = rss(), [0], [True]

def sample():
    while running[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.001)

t = threading.Thread(target=sample)
t.start()
start = time.perf_counter()
out = dpdown.downscale(img, 4, method=method)
seconds = time.perf_counter() - start
running[0] = False
t.join()
peak[0] = max(peak[0], rss())
print(json.dumps(dict(method=method, before=before, rise=peak[0] - before, input=img.nbytes, output=out.nbytes,
                      seconds=seconds)))
"""


def measure(method, shape):
    result = subprocess.run([sys.executable, "-c", CHILD, method, str(shape[0]), str(shape[1])],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    from common import machine, publish

    from dpdown.methods import registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--method", action="append", help="method (repeatable; default: all)")
    parser.add_argument("--shape", type=int, nargs=2, default=(4000, 6000), metavar=("H", "W"))
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args()
    names = args.method or registry.standalone()
    mb = 1 << 20
    rows = ["| method | RSS rise (MB) | budget (MB) | within | time (s) |", "|---|---:|---:|---|---:|"]
    for name in names:
        r = measure(name, args.shape)
        budget = 2 * r["output"] + 64 * mb
        rows.append(f"| {name} | {r['rise'] / mb:.1f} | {budget / mb:.1f} | {'yes' if r['rise'] <= budget else 'NO'} "
                    f"| {r['seconds']:.2f} |")
        print(rows[-1], flush=True)
    h, w = args.shape
    text = (f"\n### {datetime.date.today()} — peak memory, {w}×{h} RGB uint8, k = 4\n\n"
            f"Machine: {machine()}. `python benchmarks/bench_memory.py`: RSS sampled every ms during "
            f"the call, its rise above the process with the decoded input ({3 * h * w / mb:.1f} MB) held and "
            f"the kernels compiled; budget = 2× output + 64 MB.\n\n" + "\n".join(rows) + "\n")
    publish(text, args.record)


if __name__ == "__main__":
    main()
