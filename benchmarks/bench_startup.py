"""Start-up: wall time of the ``dpdown`` command in a fresh process, cold and warm kernel cache.

    python benchmarks/bench_startup.py                     # avg, dpid (the default), dpp, softpool
    python benchmarks/bench_startup.py -m avg --repeat 10
    python benchmarks/bench_startup.py --record            # also append the table to docs/benchmarks.md

Every figure is one fresh process, timed from outside: ``dpdown --help``, and ``dpdown scale`` of a
1000×1000 RGB PNG (sample_images/flower.png resized) at ``-k 2`` with each method, its Numba
kernels cold (NUMBA_CACHE_DIR a new, empty folder: compiled and saved) and then warm (the same
folder: loaded). Cold runs once per method; warm, ``--help`` and the floors below are the best of
``--repeat`` rounds, each of which runs every command once in turn (a busy moment of a shared
machine then falls on all of them, not on one row). The floors show how much of a warm run is not
dpdown's to save: ``python -c pass``, ``python -c "import numba"``, and a script that calls one
trivial ``@numba.njit(cache=True)`` function from a warm cache (Numba's CPU target set up, scipy's
BLAS included, and one kernel loaded). Python's bytecode cache is on, as for an installed package,
whatever ``PYTHONDONTWRITEBYTECODE`` says (the cold runs write it). The targets: a warm ``scale``
under 0.8 s and within 1.2× Numba's floor, ``--help`` under 0.3 s."""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time

from common import machine, publish, test_image
from PIL import Image

TARGETS = {"help": 0.3, "warm": 0.8, "floor": 1.2}
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
    with tempfile.TemporaryDirectory() as folder:
        floor_script = os.path.join(folder, "floor.py")
        with open(floor_script, "w") as f:
            f.write(FLOOR)
        source, target = os.path.join(folder, "in.png"), os.path.join(folder, "out.png")
        Image.fromarray(test_image(1000, 1000)).save(source)
        runs = {  # the table's rows: (command, environment), each kernel cache a folder of its own
            "`python -c pass`": ([sys.executable, "-c", "pass"], env),
            "`python -c \"import numba\"`": ([sys.executable, "-c", "import numba"], env),
            "one cached `@njit` kernel (Numba's floor)": (
                [sys.executable, floor_script], {**env, "NUMBA_CACHE_DIR": tempfile.mkdtemp(dir=folder)}),
            "`dpdown --help`": ([*dpdown, "--help"], env)}
        for name in names:
            runs[f"`dpdown scale -k {args.k} -m {name}`" + (" (default)" if name == "dpid" else "")] = (
                [*dpdown, "scale", source, "-k", str(args.k), "-m", name, "-o", target, "--overwrite"],
                {**env, "NUMBA_CACHE_DIR": tempfile.mkdtemp(dir=folder)})
        cold = {label: wall(*run) for label, run in runs.items() if "NUMBA_CACHE_DIR" in run[1]}
        times = {label: [] for label in runs}
        for _ in range(args.repeat):  # every command in turn, so that a busy moment of the machine falls on all
            for label, run in runs.items():
                times[label].append(wall(*run))
    warm = {label: min(seconds) for label, seconds in times.items()}
    floor, numba = warm["one cached `@njit` kernel (Numba's floor)"], warm["`python -c \"import numba\"`"]
    rows = ["| command | cold cache (s) | warm (s) | warm / Numba's floor | target | met |",
            "|---|---:|---:|---:|---|---|"]
    for label, seconds in warm.items():
        scale = label.startswith("`dpdown scale")
        target = (f"< {TARGETS['warm']} s, ≤ {TARGETS['floor']}× floor" if scale
                  else f"< {TARGETS['help']} s" if "--help" in label else "")
        met = (seconds < TARGETS["warm"] and seconds <= TARGETS["floor"] * floor if scale
               else seconds < TARGETS["help"] if "--help" in label else None)
        verdict = "" if met is None else "yes" if met else "NO"
        rows.append(f"| {label} | {f'{cold[label]:.2f}' if label in cold else ''} | {seconds:.2f} | "
                    f"{f'{seconds / floor:.2f}×' if scale else ''} | {target} | {verdict} |")
    fastest = min(seconds for label, seconds in warm.items() if label.startswith("`dpdown scale"))
    text = (f"\n### {datetime.date.today()} — start-up, fresh processes, 1000×1000 RGB PNG, k = {args.k}\n\n"
            f"Machine: {machine()}. `python benchmarks/bench_startup.py`: wall time of one process; cold = "
            f"an empty NUMBA_CACHE_DIR (kernels compiled and saved, once), warm = the same folder again, the "
            f"best of {args.repeat} rounds that run every command in turn. Of the fastest warm scale "
            f"({fastest:.2f} s), `import numba` alone is {numba:.2f} s ({100 * numba / fastest:.0f} %) and "
            f"calling one trivial cached kernel {floor:.2f} s ({100 * floor / fastest:.0f} %).\n\n"
            + "\n".join(rows) + "\n")
    publish(text, args.record)


if __name__ == "__main__":
    main()
