"""Start-up: wall time of the ``dpdown`` command in a fresh process, cold and warm kernel cache.

    python benchmarks/bench_startup.py                     # avg, dpid (the default), dpp, softpool
    python benchmarks/bench_startup.py -m avg --repeat 10
    python benchmarks/bench_startup.py --record            # also append the table to docs/benchmarks.md

Every figure is one fresh process, timed from outside: ``dpdown --help``, and ``dpdown scale`` of a
1000×1000 RGB PNG (sample_images/flower.png resized) at ``-k 2`` with each method, its Numba
kernels cold (NUMBA_CACHE_DIR a new, empty folder: compiled and saved) and then warm (the same
folder: loaded). Cold runs once per method; warm, ``--help`` and the floors below are the best of
``--repeat``. The floors show how much of a warm run is not dpdown's to save: ``python -c pass``,
``python -c "import numba"``, and a script that calls one trivial ``@numba.njit(cache=True)`` function
from a warm cache (Numba's CPU target set up, scipy's BLAS included, and one kernel loaded).
Python's bytecode cache is on, as for an installed package, whatever ``PYTHONDONTWRITEBYTECODE``
says (the cold runs write it). The targets: a warm ``scale`` under 0.8 s, ``--help`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import machine, publish, test_image
from PIL import Image

TARGETS = {"help": 0.3, "warm": 0.8}
FLOOR = """import numba


@numba.njit(cache=True)
def one(x):
    return x + 1


one(1)
"""
METHODS = ["avg", "dpid", "dpp", "softpool"]


def dpdown_command():
    """The installed console script beside this interpreter (not a pyenv shim), else ``-m dpdown``."""
    script = os.path.join(os.path.dirname(sys.executable), "dpdown")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "dpdown"]


def wall(command, env=None):
    """Seconds one run of ``command`` takes in a fresh process."""
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return seconds


def best(command, repeat, env=None):
    return min(wall(command, env) for _ in range(repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--method", action="append", help=f"method (repeatable; default: {', '.join(METHODS)})")
    parser.add_argument("-k", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args()
    names = args.method or METHODS
    dpdown = dpdown_command()
    # PYTHONDONTWRITEBYTECODE (set on some machines, this project's CI among them) would have every run compile dpdown's
    # modules from source again: an installed package has its bytecode written at install time
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")}

    def met(seconds, target):
        return "yes" if seconds < target else "NO"

    rows = ["| command | cold cache (s) | warm (s) | target | met |", "|---|---:|---:|---|---|"]

    def row(text):
        rows.append(text)
        print(text, flush=True)

    python = best([sys.executable, "-c", "pass"], args.repeat, env)
    row(f"| `python -c pass` | | {python:.2f} | | |")
    numba = best([sys.executable, "-c", "import numba"], args.repeat, env)
    row(f"| `python -c \"import numba\"` | | {numba:.2f} | | |")
    warm_times = {}
    with tempfile.TemporaryDirectory() as folder:
        floor_script, floor_cache = os.path.join(folder, "floor.py"), {**env, "NUMBA_CACHE_DIR": folder}
        with open(floor_script, "w") as f:
            f.write(FLOOR)
        cold = wall([sys.executable, floor_script], floor_cache)
        floor = best([sys.executable, floor_script], args.repeat, floor_cache)
        row(f"| one cached `@njit` kernel (Numba's floor) | {cold:.2f} | {floor:.2f} | | |")
        help_ = best([*dpdown, "--help"], args.repeat, env)
        row(f"| `dpdown --help` | | {help_:.2f} | < {TARGETS['help']} s | {met(help_, TARGETS['help'])} |")
        source, target = os.path.join(folder, "in.png"), os.path.join(folder, "out.png")
        Image.fromarray(test_image(1000, 1000)).save(source)
        for name in names:
            cache = tempfile.mkdtemp(dir=folder)
            scale = [*dpdown, "scale", source, "-k", str(args.k), "-m", name, "-o", target, "--overwrite"]
            cold = wall(scale, {**env, "NUMBA_CACHE_DIR": cache})
            warm = warm_times[name] = best(scale, args.repeat, {**env, "NUMBA_CACHE_DIR": cache})
            shutil.rmtree(cache)
            default = " (default)" if name == "dpid" else ""
            row(f"| `dpdown scale -k {args.k} -m {name}`{default} | {cold:.2f} | {warm:.2f} | "
                f"< {TARGETS['warm']} s | {met(warm, TARGETS['warm'])} |")
    fastest = min(warm_times.values())
    text = (f"\n### {datetime.date.today()} — start-up, fresh processes, 1000×1000 RGB PNG, k = {args.k}\n\n"
            f"Machine: {machine()}. `python benchmarks/bench_startup.py`: wall time of one process; cold = "
            f"an empty NUMBA_CACHE_DIR (kernels compiled and saved, once), warm = the same folder again (best "
            f"of {args.repeat}, like the other rows). Of the fastest warm scale ({fastest:.2f} s), `import numba` "
            f"alone is {numba:.2f} s ({100 * numba / fastest:.0f} %) and calling one trivial cached kernel "
            f"{floor:.2f} s ({100 * floor / fastest:.0f} %).\n\n"
            + "\n".join(rows) + "\n")
    publish(text, args.record)


if __name__ == "__main__":
    main()
