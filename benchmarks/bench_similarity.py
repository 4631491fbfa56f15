"""The evaluation's scoring against its references, run in the same process.

    python benchmarks/bench_similarity.py            # a 2268×1512 RGB pair (a DIV2K-sized photo)
    python benchmarks/bench_similarity.py --size 1024x768
    python benchmarks/bench_similarity.py --device cuda   # also the GPU's (``dpdown eval --device cuda``)

A sample photo is enlarged with Lanczos to the size asked; the candidate is it downscaled by 2
(avg) and brought back up. Timed, best of --repeat runs after a warm-up: scikit-image's
``structural_similarity`` (the protocol's parameters) and ``peak_signal_noise_ratio``
against dpdown's SSIM + PSNR on a prepared reference (what ``dpdown eval`` does per method)
and including the reference's preparation (one pair alone); scikit-image on float32 input
computes in float32, so its SSIM is also computed on the images converted to float64, the
exact value both approximate; Pillow's bicubic upsampling of
the three float channels against dpdown's, one-off and with a Resizer reused (its tap tables
and buffers made once, as the evaluation upsamples every method of an image and k). The values
are printed beside the times: they
must agree (SSIM, PSNR within 1e-6; upsampling bit for bit). With ``--device cuda`` the same
steps run on the GPU as well, the images already there (as the evaluation keeps them), each
timed to its result on the host (scores) or to the stream's end (upsampling), and compared
with the CPU's.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
from PIL import Image


def best(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2268x1512")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    import dpdown
    from dpdown.evaluation import evaluate, resampling, similarity
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    sample = pathlib.Path(__file__).resolve().parent.parent / "sample_images" / "flower.png"
    with Image.open(sample) as image:
        photo = np.asarray(image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS))
    original = np.ascontiguousarray(photo.astype(np.float32) / 255)
    small = dpdown.downscale(original, 2, method="avg")
    candidate = resampling.resize(small, original.shape[:2])

    def pillow_up():
        out = np.empty(original.shape, np.float32)
        for c in range(3):
            plane = Image.fromarray(np.ascontiguousarray(small[:, :, c]), mode="F")
            out[:, :, c] = np.asarray(plane.resize((width, height), Image.Resampling.BICUBIC))
        return np.clip(out, 0, 1)

    def skimage_scores():
        return (structural_similarity(original, candidate, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                      K1=0.01, K2=0.03, data_range=1.0, channel_axis=2),
                peak_signal_noise_ratio(original, candidate, data_range=1.0))

    exact = structural_similarity(original.astype(np.float64), candidate.astype(np.float64), gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03, data_range=1.0,
                                  channel_axis=2)
    reference = similarity.prepare(original)
    t_sk, (sk_ssim, sk_psnr) = best(skimage_scores, args.repeat)
    t_shared, (ssim, psnr) = best(lambda: similarity.score(reference, candidate), args.repeat)
    t_pair, _ = best(lambda: evaluate.compare(original, candidate), args.repeat)
    t_prepare, _ = best(lambda: similarity.prepare(original), args.repeat)
    t_pil, theirs = best(pillow_up, args.repeat)
    t_up, ours = best(lambda: resampling.resize(small, original.shape[:2]), args.repeat)
    resizer = resampling.Resizer(small.shape, original.shape[:2])
    t_reused, reused = best(lambda: resizer(small), args.repeat)
    print(f"{width}×{height} RGB float32, {args.repeat} runs, best\n")
    print("| step | reference | ms | dpdown | ms | speed-up | agreement |")
    print("|---|---|---:|---|---:|---:|---|")
    agree = (f"SSIM Δ {abs(ssim - sk_ssim):.1e} (from scikit-image in float64: {abs(ssim - exact):.1e}), "
             f"PSNR Δ {abs(psnr - sk_psnr):.1e} dB")
    print(f"| SSIM + PSNR, one pair | scikit-image | {t_sk * 1e3:.0f} | prepare + score | {t_pair * 1e3:.0f} | "
          f"{t_sk / t_pair:.1f}× | {agree} |")
    print(f"| SSIM + PSNR, per method | scikit-image | {t_sk * 1e3:.0f} | score (reference prepared once) | "
          f"{t_shared * 1e3:.0f} | {t_sk / t_shared:.1f}× | |")
    print(f"| the reference's statistics | | | prepare | {t_prepare * 1e3:.0f} | | |")
    print(f"| bicubic ×2 upsampling | Pillow, 3 float planes | {t_pil * 1e3:.0f} | resampling.resize | "
          f"{t_up * 1e3:.0f} | {t_pil / t_up:.1f}× | equal: {np.array_equal(ours, theirs)} |")
    print(f"| the same, per method | Pillow, 3 float planes | {t_pil * 1e3:.0f} | a Resizer reused (tables, buffers) | "
          f"{t_reused * 1e3:.0f} | {t_pil / t_reused:.1f}× | equal: {np.array_equal(reused, theirs)} |")
    if args.device == "cuda":
        gpu_rows(original, small, candidate, (ssim, psnr), ours, t_sk, t_pil, args.repeat)


def gpu_rows(original, small, candidate, cpu_scores, cpu_upsampled, t_sk, t_pil, repeat):
    """The GPU's rows: the same steps with the images on the device, against the CPU's values."""
    from dpdown.evaluation import resampling, similarity
    from dpdown.kernels.device import as_device, stream, to_host

    original_gpu, small_gpu, candidate_gpu = as_device(original), as_device(small), as_device(candidate)
    reference = similarity.prepare(original_gpu, 0, "cuda")
    resizer = resampling.Resizer(small.shape, original.shape[:2], "pillow", "cuda")

    def prepared():
        similarity.prepare(original_gpu, 0, "cuda")
        stream().synchronize()

    def upsampled():
        out = resizer(small_gpu)
        stream().synchronize()
        return out

    t_score, (ssim, psnr) = best(lambda: similarity.score(reference, candidate_gpu), repeat)
    t_prepare, _ = best(prepared, repeat)
    t_up, up = best(upsampled, repeat)
    print(f"| SSIM + PSNR, per method, GPU | scikit-image | {t_sk * 1e3:.0f} | score, --device cuda | "
          f"{t_score * 1e3:.2f} | {t_sk / t_score:.0f}× | SSIM Δ from the CPU {abs(ssim - cpu_scores[0]):.1e}, "
          f"PSNR Δ {abs(psnr - cpu_scores[1]):.1e} dB |")
    print(f"| the reference's statistics, GPU | | | prepare, --device cuda | {t_prepare * 1e3:.2f} | | |")
    print(f"| bicubic ×2, per method, GPU | Pillow, 3 float planes | {t_pil * 1e3:.0f} | a Resizer, --device cuda | "
          f"{t_up * 1e3:.2f} | {t_pil / t_up:.0f}× | equal to the CPU's: {np.array_equal(to_host(up), cpu_upsampled)} |")


if __name__ == "__main__":
    main()
