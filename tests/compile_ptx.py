"""Compile every CUDA kernel dpdown launches to PTX, without a GPU (run by test_cuda_ptx.py).

    python tests/compile_ptx.py [--cc 9.0]

The simulator the suite runs the CUDA kernels under never calls NVVM, so a kernel that
does not compile for a real GPU would pass it. Here every method runs once on small images
(uint8 RGB, RGBA and float32 grey, k = 2 and 3, and a non-integer size) with numba.cuda's
launches recorded instead of run (``benchmarks/cuda_static.py``), as do the evaluation's
scoring and resampling; each recorded kernel is then compiled by NVVM to PTX for compute
capability ``--cc`` (default 9.0) with the argument types of its launch. Needs libNVVM
(``pip install "cuda-toolkit[nvvm,nvrtc]==13.*"``), no driver and no GPU. Prints one line per
kernel and exits 1 if any fails to compile.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))


def launches_of_methods():
    from numba import cuda

    from cuda_static import recorded_launches
    from dpdown.core.working import to_working
    from dpdown.errors import ParameterError
    from dpdown.kernels import footprints
    from dpdown.methods import registry

    rng = np.random.default_rng(0)
    images = [(rng.integers(0, 256, (24, 20, 3)).astype(np.uint8), False),
              (rng.integers(0, 256, (24, 20, 4)).astype(np.uint8), True),
              (rng.random((24, 20, 1)).astype(np.float32), False)]
    for img, has_alpha in images:
        host = to_working(img, has_alpha)
        for geometry in (dict(k=2), dict(k=3), dict(out_shape=(7, 6))):
            footprint = footprints.plan(host.shape, **geometry)
            for name in registry.standalone():
                spec = registry.get(name)
                with recorded_launches() as launches:
                    work = dataclasses.replace(host, final=True, device_pixels=cuda.to_device(host.pixels))
                    try:
                        spec.run(work, footprint, **spec.resolve({}))
                    except ParameterError:  # a geometry the method refuses (gated needs k×k)
                        continue
                label = f"{name} {img.dtype}×{img.shape[2]} {geometry}"
                yield from ((label, lazy, args) for lazy, args in launches)


def launches_of_scoring():
    from cuda_static import recorded_launches
    from dpdown.evaluation import resampling, similarity

    x = np.random.default_rng(1).random((24, 22, 3), dtype=np.float32)
    with recorded_launches() as launches:
        reference = similarity.prepare(x, 0, "cuda")
        reference.mean, reference.variance = (np.zeros(reference.mean.shape, np.float32),  # as prepare stores them
                                              np.zeros(reference.variance.shape, np.float32))
        similarity.score(reference, x)
    with recorded_launches() as more:
        for convention in resampling.FILTERS:
            resampling.resize(x, (48, 44), convention, "cuda")
    yield from (("scoring", lazy, args) for lazy, args in launches + more)


def launches_of_layouts():
    from cuda_static import recorded_launches
    from dpdown.kernels import layouts

    with recorded_launches() as launches:  # N×C×H×W stacks to N×H×W×C and back
        layouts._launch("last", np.zeros((2, 3, 8, 6), np.uint8), (2, 8, 6, 3), (2, 8, 6))
        layouts._launch("first", np.zeros((2, 4, 3, 3), np.float32), (2, 3, 4, 3), (2, 4, 3))
    yield from (("layouts", lazy, args) for lazy, args in launches)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0")
    args = parser.parse_args(argv)
    from numba import cuda, typeof

    from cuda_static import compiling_for

    cc = tuple(int(v) for v in args.cc.split("."))
    seen, failed = set(), 0
    start = time.perf_counter()
    for label, lazy, launch_args in (*launches_of_methods(), *launches_of_scoring(), *launches_of_layouts()):
        signature = tuple(typeof(a) for a in launch_args)
        key = (lazy.name, lazy.digest(), signature)
        if key in seen:
            continue
        seen.add(key)
        try:
            with compiling_for(cc):
                ptx, _ = cuda.compile_ptx(lazy.python_function("cuda"), signature, cc=cc)
            print(f"ok      {lazy.name:40s} {label}: {len(ptx)} bytes of PTX", flush=True)
        except Exception as exc:  # every kernel is tried; each failure is reported
            failed += 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"FAILED  {lazy.name:40s} {label}: {type(exc).__name__}: {first}", flush=True)
    print(f"{len(seen)} kernels compiled to PTX for sm_{cc[0]}{cc[1]} in {time.perf_counter() - start:.0f} s, "
          f"{failed} failed")
    return 1 if failed or not seen else 0


if __name__ == "__main__":
    sys.exit(main())
