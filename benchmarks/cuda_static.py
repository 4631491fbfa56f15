"""What the CUDA kernels compile to, without a GPU: registers, local memory, global loads.

    python benchmarks/cuda_static.py                 # every method, k = 2 and 4, RGB uint8
    python benchmarks/cuda_static.py -m avg -k 2 --ptx DIR   # also keep the PTX

Needs the CUDA toolkit's libNVVM and ``ptxas`` (``CUDA_HOME``) and NVRTC (``pip install
nvidia-cuda-nvrtc``), not a GPU. Each method runs once on a small image with numba.cuda's
arrays replaced by NumPy arrays and every kernel launch recorded instead of run; each
recorded kernel is then compiled to PTX for ``--cc`` (default 9.0, the H100/H200) with the
argument types of that launch, and assembled by ``ptxas -v``. Per kernel it prints:

* registers per thread (an SM holds 65536: more than 64 per thread caps occupancy below a
  full 2048 threads);
* the stack frame and the spill stores/loads, in bytes: per-thread arrays the compiler could
  not keep in registers live in local memory, which is DRAM behind the L1 — traffic on top of
  the image's;
* the global loads and stores in the PTX (static counts, by width): one byte per load is the
  sign of a kernel that reads its pixels value by value;
* the widest run of pixel loads in one basic block: how many of a thread's pixel loads can be
  in flight at once (one row of its footprint, or all of it, where the loops unrolled).

These are properties of the compiled code, not timings: ``bench_cuda.py`` measures on a GPU.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import os
import re
import subprocess
import tempfile

import numpy as np

from dpdown import footprints, jit, registry
from dpdown.working import to_working

REPORT = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads.*?"
                    r"Used (\d+) registers", re.S)


@contextlib.contextmanager
def recorded_launches():
    """numba.cuda's allocations as NumPy arrays and every kernel launch recorded, not run:
    yields the list of ``(lazy kernel, launch arguments)``."""
    from numba import cuda

    launches = []

    class Recorder:
        def __init__(self, lazy):
            self.lazy = lazy

        def __getitem__(self, config):
            return lambda *args: launches.append((self.lazy, args))

    compiled = jit.Lazy.compiled
    replaced = dict(to_device=lambda a, *_, **__: np.array(a), device_array=lambda shape, dtype=np.float64, **_:
                    np.zeros(shape, dtype), device_array_like=lambda a, **_: np.zeros_like(a),
                    pinned_array=np.zeros, stream=lambda: None)
    saved = {name: getattr(cuda, name) for name in replaced}
    try:
        for name, f in replaced.items():
            setattr(cuda, name, f)
        jit.Lazy.compiled = lambda self, target="cpu": Recorder(self) if target == "cuda" else compiled(self, target)
        yield launches
    finally:
        jit.Lazy.compiled = compiled
        for name, f in saved.items():
            setattr(cuda, name, f)


@contextlib.contextmanager
def compiling_for(cc):
    """Device functions compiled for compute capability ``cc``: numba.cuda asks the current
    device for it, and there is none."""
    from numba.cuda import dispatcher

    asked = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: type("Device", (), {"compute_capability": cc})()
    try:
        yield
    finally:
        dispatcher.get_current_device = asked


def ptxas_report(ptx, cc, keep=None, name=""):
    """``ptxas -v``'s figures for one kernel's PTX: stack, spill stores, spill loads, registers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(keep or tmp, f"{name or 'kernel'}.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        ptxas = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")
        result = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", path, "-o", os.devnull],
                                capture_output=True, text=True, check=True)
    return tuple(int(v) for v in REPORT.search(result.stderr).groups())


def memory_instructions(ptx):
    """Static counts of global loads and stores in ``ptx``, e.g. ``{"ld.u8": 6, "st.u8": 3}``."""
    counts = collections.Counter()
    for op, vector, kind in re.findall(r"\b(ld|st)\.global(?:\.nc)?\.(v[24]\.)?([usbf]\d+)", ptx):
        counts[f"{op}.{vector}{kind}"] += 1
    return counts


def widest_load_run(ptx, kind):
    """The most loads of pixel type ``kind`` (``u8``...) in one basic block of ``ptx``: loads
    of one block issue back to back, so this bounds how many of a thread's pixel loads are in
    flight together (a loop body ends a block: its next iteration's loads wait)."""
    blocks = re.split(r"^\$L\w+:", ptx, flags=re.M)
    return max(len(re.findall(rf"\bld\.global(?:\.nc)?\.{kind}\b", block)) for block in blocks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", type=int, action="append", help="window sizes (default: 2 and 4)")
    parser.add_argument("-m", "--method", action="append", help="methods (default: all)")
    parser.add_argument("--dtype", default="uint8")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0: H100, H200)")
    parser.add_argument("--ptx", help="keep each kernel's PTX in this folder")
    args = parser.parse_args(argv)
    from numba import cuda, typeof

    cc = tuple(int(v) for v in args.cc.split("."))
    if args.ptx:
        os.makedirs(args.ptx, exist_ok=True)
    img = np.random.default_rng(0).integers(0, 255, (48, 40, args.channels)).astype(args.dtype)
    host = to_working(img)
    print(f"compute capability {args.cc}, {args.channels}-channel {args.dtype}; per thread: registers, "
          "stack/spill bytes; global memory instructions in the PTX")
    kind = {"u": "u", "f": "f"}[np.dtype(args.dtype).kind] + str(8 * np.dtype(args.dtype).itemsize)
    print(f"| method | k | kernel | registers | stack B | spill st/ld B | global loads | global stores "
          f"| {kind} loads in one block |")
    print("|---|---|---|---:|---:|---:|---|---|---:|")
    for k in args.k or [2, 4]:
        footprint = footprints.plan(host.shape, k=k)
        for method in args.method or registry.standalone():
            spec = registry.get(method)
            with recorded_launches() as launches:
                work = dataclasses.replace(host, final=True, device_pixels=cuda.to_device(host.pixels))
                spec.run(work, footprint, **spec.resolve({}))
            for lazy, launch_args in launches:
                signature = tuple(typeof(a) for a in launch_args)
                with compiling_for(cc):
                    ptx, _ = cuda.compile_ptx(lazy.python_function("cuda"), signature, cc=cc)
                stack, spill_st, spill_ld, registers = ptxas_report(ptx, cc, args.ptx, f"{method}_k{k}_{lazy.name}")
                counts = memory_instructions(ptx)
                loads = ", ".join(f"{v}×{k_[3:]}" for k_, v in sorted(counts.items()) if k_.startswith("ld"))
                stores = ", ".join(f"{v}×{k_[3:]}" for k_, v in sorted(counts.items()) if k_.startswith("st"))
                print(f"| {method} | {k} | {lazy.name.split('_BOX')[0]} | {registers} | {stack} | {spill_st}/{spill_ld} | "
                      f"{loads} | {stores} | {widest_load_run(ptx, kind)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
