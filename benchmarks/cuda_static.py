"""What the CUDA kernels compile to, without a GPU: registers, local memory, global loads.

    python benchmarks/cuda_static.py                 # every method, k = 2 and 4, RGB uint8
    python benchmarks/cuda_static.py -m avg -k 2 --keep DIR   # also keep the PTX and SASS

Needs no GPU, but the CUDA toolkit's libNVVM and ``ptxas`` (``CUDA_HOME``), and from PyPI
NVRTC, cuobjdump and nvdisasm: ``pip install nvidia-cuda-nvrtc nvidia-cuda-cuobjdump
nvidia-cuda-nvdisasm`` (found in ``$PATH`` or beside NVRTC). Each method runs once on a small
image with numba.cuda's arrays replaced by NumPy arrays and every kernel launch recorded
instead of run; each recorded kernel is then compiled to PTX for ``--cc`` (default 9.0, the
H100/H200) with the argument types of that launch, assembled by ``ptxas -v`` and
disassembled (SASS, the instructions the GPU runs). Per kernel it prints:

* registers per thread (an SM holds 65536: more than 64 per thread caps occupancy below a
  full 2048 threads);
* the stack frame and the spill stores/loads, in bytes: per-thread arrays the compiler could
  not keep in registers live in local memory, which is DRAM behind the L1 — traffic on top of
  the image's;
* the global loads and stores in the PTX (static counts, by width): one byte per load is the
  sign of a kernel that reads its pixels value by value;
* pixel loads in flight: the most pixel loads (``LDG`` of the image's type) the SASS issues
  before an instruction uses one of their results. A warp stalls at that use until its loads
  arrive, so this is how many of a thread's pixels are fetched per memory latency — one
  pixel, one row of its footprint, or all of it.

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

from dpdown.core.working import to_working
from dpdown.kernels import footprints, jit
from dpdown.methods import registry

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


def assemble(ptx, cc, keep=None, name="kernel"):
    """``ptxas -v``'s figures for one kernel's PTX — (stack, spill stores, spill loads,
    registers) — and its SASS."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or tmp
        ptx_path, cubin = os.path.join(folder, f"{name}.ptx"), os.path.join(folder, f"{name}.cubin")
        with open(ptx_path, "w") as f:
            f.write(ptx)
        ptxas = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")
        result = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", ptx_path, "-o", cubin],
                                capture_output=True, text=True, check=True)
        sass = subprocess.run([_tool("cuobjdump"), "-sass", cubin], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PATH=os.path.dirname(_tool("nvdisasm")) + os.pathsep
                                       + os.environ.get("PATH", ""))).stdout
        if keep:
            with open(os.path.join(folder, f"{name}.sass"), "w") as f:
                f.write(sass)
    return tuple(int(v) for v in REPORT.search(result.stderr).groups()), sass


def _tool(name):
    """A CUDA binary from ``$PATH`` or from the pip packages beside NVRTC (nvidia/cu13/bin)."""
    import shutil

    import nvidia

    found = shutil.which(name) or next((os.path.join(p, sub, "bin", name) for p in nvidia.__path__
                                        for sub in os.listdir(p)
                                        if os.path.exists(os.path.join(p, sub, "bin", name))), None)
    if found is None:
        raise SystemExit(f"cuda_static: {name} not found; pip install nvidia-cuda-{name}")
    return found


def loads_in_flight(sass, kind):
    """The most ``LDG`` loads of pixel type ``kind`` (``U8``, ``U16``, ``32``...) that ``sass``
    issues before an instruction reads one of their results."""
    best, pending = 0, set()
    for line in sass.splitlines():
        match = re.search(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][\w.]*)\s*([^;]*);", line)
        if not match:
            continue
        op, operands = match.groups()
        registers = re.findall(r"\bR\d+\b", operands)
        if op.startswith("LDG") and op.endswith(f".{kind}"):
            pending.add(registers[0])
            best = max(best, len(pending))
        elif pending & set(registers[1:] if registers else ()):
            pending = set()
    return best


def memory_instructions(ptx):
    """Static counts of global loads and stores in ``ptx``, e.g. ``{"ld.u8": 6, "st.u8": 3}``."""
    counts = collections.Counter()
    for op, vector, kind in re.findall(r"\b(ld|st)\.global(?:\.nc)?\.(v[24]\.)?([usbf]\d+)", ptx):
        counts[f"{op}.{vector}{kind}"] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", type=int, action="append", help="window sizes (default: 2 and 4)")
    parser.add_argument("-m", "--method", action="append", help="methods (default: all)")
    parser.add_argument("--dtype", default="uint8")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0: H100, H200)")
    parser.add_argument("--keep", help="keep each kernel's PTX and SASS in this folder")
    args = parser.parse_args(argv)
    from numba import cuda, typeof

    cc = tuple(int(v) for v in args.cc.split("."))
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    img = np.random.default_rng(0).integers(0, 255, (48, 40, args.channels)).astype(args.dtype)
    host = to_working(img)
    print(f"compute capability {args.cc}, {args.channels}-channel {args.dtype}; per thread: registers, "
          "stack/spill bytes; global memory instructions in the PTX")
    dtype = np.dtype(args.dtype)
    kind = ("U" if dtype.kind == "u" else "") + str(8 * dtype.itemsize)  # as SASS names it: LDG.E.U8, LDG.E.64
    print("| method | k | kernel | registers | stack B | spill st/ld B | global loads (PTX) | global stores "
          "| pixel loads in flight |")
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
                name = f"{method}_k{k}_{lazy.name}"
                (stack, spill_st, spill_ld, registers), sass = assemble(ptx, cc, args.keep, name)
                counts = sorted(memory_instructions(ptx).items())
                loads = ", ".join(f"{n}×{op[3:]}" for op, n in counts if op.startswith("ld"))
                stores = ", ".join(f"{n}×{op[3:]}" for op, n in counts if op.startswith("st"))
                kernel = lazy.name.split("_BOX")[0]
                print(f"| {method} | {k} | {kernel} | {registers} | {stack} | {spill_st}/{spill_ld} | "
                      f"{loads} | {stores} | {loads_in_flight(sass, kind)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
