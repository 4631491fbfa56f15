"""dpdown's CUDA kernels on the GPU: kernel time, achieved bandwidth, end-to-end time.

    python benchmarks/bench_cuda.py                  # print the table
    python benchmarks/bench_cuda.py --out FILE.md    # also write it as Markdown
    python benchmarks/bench_cuda.py -m dpid -k 4
    python benchmarks/bench_cuda.py --batch 16 --threads 4 -m avg -m dpid   # overlap only

The same 6000×4000 RGB uint8 test image as bench_scale.py. Per method and k:

* kernel: the method's kernels on an image already in GPU memory, timed with CUDA events
  (median of --repeat runs after a warm-up); it includes the small per-call copies of the
  footprint and parameters;
* bandwidth: the bytes the kernels must move — the input read once per pass over it (DPID
  and DPP Lite: two; the guidance is output-sized and counted too) plus the output written —
  divided by the kernel time, and as a fraction of the device's peak memory bandwidth
  (memory clock × bus width × 2, from the device's attributes);
* end to end: ``dpdown.downscale(host_image, device="cuda")``: copy in, kernels, copy out;
* cpu: the same call on the CPU (this machine's cores), for the ratio.

With ``--batch N``: N end-to-end calls per method and k, from one thread and from
``--threads`` threads (each on its own CUDA stream with its own pinned buffers,
:mod:`dpdown.kernels.device`): images per second each way, and the speed-up, which is the overlap of
one image's copies (and host-side work) with another's kernels.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
from concurrent.futures import ThreadPoolExecutor

from common import best_time, machine, test_image

import dpdown
from dpdown.core.working import to_working
from dpdown.kernels import footprints
from dpdown.methods import registry

# how many times each method's kernels read the input (its other passes are output-sized)
INPUT_PASSES = {"dpid": 2, "dpp": 2, "s3dpp": 2}


def kernel_time(spec, work, footprint, repeat):
    from numba import cuda

    params = spec.resolve({})
    spec.run(work, footprint, **params)
    cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cuda.event(), cuda.event()
        start.record()
        spec.run(work, footprint, **params)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    return statistics.median(times)


def batch_rates(img, k, method, count, pools):
    """Images per second for ``count`` end-to-end GPU downscales of ``img`` in each thread
    pool of ``pools`` (best of three runs each, after a warm-up). The pools live across runs,
    as a batch's threads do: a thread's stream and pinned buffers are made once."""
    def run(pool):
        list(pool.map(lambda _: dpdown.downscale(img, k, method=method, device="cuda"), range(count)))

    for pool in pools:
        run(pool)
    return tuple(count / best_time(lambda: run(pool), 3) for pool in pools)


def peak_bandwidth():
    from numba import cuda

    dev = cuda.get_current_device()
    try:
        return 2.0 * dev.MEMORY_CLOCK_RATE * 1e3 * dev.GLOBAL_MEMORY_BUS_WIDTH / 8, dev.name
    except AttributeError:  # the simulator
        return float("nan"), "simulator"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("-k", type=int, action="append", help="window sizes (default: 2 and 4)")
    parser.add_argument("-m", "--method", action="append", help="methods (default: all)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU column")
    parser.add_argument("--shape", type=int, nargs=2, default=(4000, 6000), metavar=("H", "W"))
    parser.add_argument("--out", help="also write the table (Markdown) to this file")
    parser.add_argument("--batch", type=int, metavar="N", help="only the batch overlap: N images per method and k")
    parser.add_argument("--threads", type=int, default=4, help="threads for --batch (default 4)")
    args = parser.parse_args(argv)
    from numba import cuda

    img = test_image(args.shape[1], args.shape[0])
    peak, name = peak_bandwidth()
    if args.batch:
        return batch_table(args, img, name)
    host = to_working(img)
    work = dataclasses.replace(host, final=True, device_pixels=cuda.to_device(host.pixels))
    lines = [f"## CUDA kernels, {datetime.date.today()}: {name} (peak {peak / 1e9:.0f} GB/s); host {machine()}",
             "", f"{img.shape[1]}×{img.shape[0]} RGB uint8 ({img.shape[0] * img.shape[1] / 1e6:.0f} MP), default parameters; kernel = median of {args.repeat} runs.", "",
             "| method | k | kernel ms | GB/s | % of peak | end-to-end ms | CPU ms | GPU e2e speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for k in args.k or [2, 4]:
        footprint = footprints.plan(work.shape, k=k)
        out_bytes = footprint.shape[0] * footprint.shape[1] * 3
        for method in args.method or registry.standalone():
            spec = registry.get(method)
            seconds = kernel_time(spec, work, footprint, args.repeat)
            passes = INPUT_PASSES.get(method, 1)
            moved = passes * img.nbytes + out_bytes + (passes - 1) * 2 * out_bytes * 8  # guidance in float64
            e2e = best_time(lambda: dpdown.downscale(img, k, method=method, device="cuda"), 5)
            cpu = float("nan") if args.no_cpu else best_time(lambda: dpdown.downscale(img, k, method=method), 2)
            line = (f"| {method} | {k} | {seconds * 1e3:.3f} | {moved / seconds / 1e9:.0f} | "
                    f"{100 * moved / seconds / peak:.0f} % | {e2e * 1e3:.1f} | {cpu * 1e3:.0f} | {cpu / e2e:.1f}× |")
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


def batch_table(args, img, name):
    lines = [f"## CUDA batches, {datetime.date.today()}: {name}; host {machine()}", "",
             f"{args.batch} × {img.shape[1]}×{img.shape[0]} RGB uint8 from host memory, end to end; best of 3.", "",
             f"| method | k | 1 thread (images/s) | {args.threads} threads (images/s) | speed-up |",
             "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    pools = ThreadPoolExecutor(1), ThreadPoolExecutor(args.threads)
    for k in args.k or [2, 4]:
        for method in args.method or registry.standalone():
            one, many = batch_rates(img, k, method, args.batch, pools)
            lines.append(f"| {method} | {k} | {one:.1f} | {many:.1f} | {many / one:.2f}× |")
            print(lines[-1], flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
