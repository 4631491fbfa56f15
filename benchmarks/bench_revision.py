"""This code against an earlier revision's, on this machine, now.

    python benchmarks/bench_revision.py 896dc23                      # every method, k = 2 and 4
    python benchmarks/bench_revision.py HEAD~3 -m avg -m dpp --rounds 3
    python benchmarks/bench_revision.py 896dc23 --record             # also append the table to docs/benchmarks.md

On a shared machine the same kernel's figure moves by up to 2× between days, so a before and
after means something only when both codes run back to back. This script checks the revision
out into a temporary git worktree and times the two codes in turn, ``--rounds`` times, each
time in a fresh process that imports that tree's dpdown (with a kernel cache of its own,
filled by the first round): every method on bench_scale.py's 6000×4000 RGB uint8 image at
each k, and OpenCV's INTER_AREA in the same process, best of at least ``--repeat`` runs and
of half a second's. The table gives the best of the rounds; a method the revision does not
have is left blank. The working tree is what the current process imports (uncommitted
changes included).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from common import ROOT, best_time, machine, publish, test_image


def measure(methods, sizes, repeat):
    """Child process: ``{name: {k: seconds}}`` for this process's dpdown and INTER_AREA."""
    import cv2

    import dpdown

    img = test_image()
    times = {"opencv INTER_AREA": {}}
    for k in sizes:
        out_h, out_w = -(-img.shape[0] // k), -(-img.shape[1] // k)
        times["opencv INTER_AREA"][k] = best_time(
            lambda: cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA), repeat)
        for name in methods:
            times.setdefault(name, {})
            try:
                times[name][k] = best_time(lambda: dpdown.downscale(img, k, method=name), repeat)
            except Exception as exc:  # a method this revision does not have, say
                print(f"{name} k={k}: {exc}", file=sys.stderr)
                times[name][k] = None
    return times


def run_tree(tree, cache, args):
    """One fresh process timing ``tree``'s dpdown."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=os.pathsep.join([tree, str(ROOT / "benchmarks")]))
    command = [sys.executable, __file__, "--child", tree, "--repeat", str(args.repeat)]
    command += [f"-k{k}" for k in args.k] + [f"-m{m}" for m in args.method]
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        raise SystemExit(f"timing {tree} failed (exit status {result.returncode})")
    return {name: {int(k): s for k, s in by_k.items()} for name, by_k in json.loads(result.stdout).items()}


def table(revision, before, after, sizes):
    lines = ["| method | " + " | ".join(f"k={k} {revision} (ms) | k={k} now (ms) | speed-up" for k in sizes) + " |",
             "|---|" + "---:|---:|---:|" * len(sizes)]
    for name in after:
        cells = []
        for k in sizes:
            old, new = before.get(name, {}).get(k), after[name][k]
            cells += [f"{old * 1000:.1f}" if old else "", f"{new * 1000:.1f}" if new else "",
                      f"{old / new:.2f}×" if old and new else ""]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def best_of(rounds):
    """Each figure the fastest of the rounds."""
    best = {}
    for times in rounds:
        for name, by_k in times.items():
            for k, seconds in by_k.items():
                held = best.setdefault(name, {}).get(k)
                best[name][k] = seconds if held is None else (held if seconds is None else min(held, seconds))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", nargs="?", help="a git revision (commit, tag, HEAD~n)")
    parser.add_argument("-k", type=int, action="append", help="window sizes (default: 2 and 4)")
    parser.add_argument("-m", "--method", action="append", help="methods (default: all)")
    parser.add_argument("--rounds", type=int, default=2, help="times each code is timed, alternately")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.k = args.k or [2, 4]
    if args.child:
        import dpdown

        assert pathlib.Path(dpdown.__file__).is_relative_to(args.child), dpdown.__file__
        print(json.dumps(measure(args.method, args.k, args.repeat)))
        return
    if not args.revision:
        parser.error("give a revision to compare against")
    if not args.method:
        from dpdown.methods import registry

        args.method = registry.standalone()
    with tempfile.TemporaryDirectory(prefix="dpdown-revision-") as scratch:
        old_tree = os.path.join(scratch, "tree")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", old_tree, args.revision],
                       check=True)
        try:
            rounds = {"old": [], "new": []}
            for r in range(args.rounds):
                for which, tree in (("old", old_tree), ("new", str(ROOT))):
                    print(f"round {r + 1}: {which}", file=sys.stderr)
                    rounds[which].append(run_tree(tree, os.path.join(scratch, f"cache-{which}"), args))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", old_tree], check=False)
    described = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.revision],
                               capture_output=True, text=True).stdout.strip() or args.revision
    lines = [f"### {datetime.date.today()} — this code against {described}, 6000×4000 RGB uint8 photo", "",
             f"Machine: {machine()}. `python benchmarks/bench_revision.py {args.revision}`: the two codes timed "
             f"in turn, {args.rounds} round{'s' if args.rounds > 1 else ''} of fresh processes, each figure the "
             f"best of the rounds (and of at least {args.repeat} runs and half a second's in each).", ""]
    publish("\n".join(lines + table(described, best_of(rounds["old"]), best_of(rounds["new"]), args.k)) + "\n",
            args.record)


if __name__ == "__main__":
    main()
