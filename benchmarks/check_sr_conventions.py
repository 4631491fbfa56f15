"""Check dpdown eval's super-resolution conventions against BasicSR, on the same images.

    pip install basicsr torch torchvision opencv-python-headless   # not a dpdown dependency
    python benchmarks/check_sr_conventions.py [IMAGE]...           # default: sample_images/

BasicSR (Wang et al., the toolbox behind ESRGAN, EDVR, SwinIR's evaluations) is the published
implementation of the conventions ``dpdown eval --channel y --shave k --filter matlab``
follows: ``calculate_psnr``/``calculate_ssim`` with ``crop_border`` and ``test_y_channel``
(Y of BT.601 YCbCr, studio range; SSIM with an 11-tap Gaussian of σ = 1.5 over the pixels
whose window is inside the image) and ``imresize``, its port of MATLAB's bicubic resize.

For each image (float32 RGB in [0, 1]) and k = 2, 3, 4: the image is cut to a multiple of
k, downscaled by MATLAB bicubic (BasicSR), brought back up by each implementation, and
scored by each. Printed: the largest differences in SSIM, in PSNR (dB), and in the
resized pixels. BasicSR works on [0, 255] BGR images; dpdown on [0, 1] RGB: the script
converts, which the metrics do not see (they scale with the data range).

BasicSR 1.4.2 imports ``torchvision.transforms.functional_tensor``, which torchvision 0.17
removed; the script aliases it to ``torchvision.transforms.functional`` (the same
function), before importing BasicSR.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np


def _basicsr():
    import torchvision.transforms.functional as functional

    sys.modules.setdefault("torchvision.transforms.functional_tensor", functional)
    from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim
    from basicsr.utils.matlab_functions import imresize

    return calculate_psnr, calculate_ssim, imresize


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    calculate_psnr, calculate_ssim, imresize = _basicsr()
    from dpdown.evaluation import evaluate, resampling, similarity

    root = pathlib.Path(__file__).resolve().parent.parent
    paths = args.images or sorted((root / "sample_images").glob("*.png"))
    worst = {"ssim": 0.0, "psnr": 0.0, "down": 0.0, "up": 0.0}
    print("| image | k | channel | shave | ΔSSIM | ΔPSNR (dB) | Δ imresize ↓ | Δ imresize ↑ |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for path in paths:
        pixels = evaluate.load(path)
        if pixels.shape[2] != 3:
            continue
        for k in (2, 3, 4):
            original = np.ascontiguousarray(evaluate.crop(pixels, k))
            theirs_small = np.asarray(imresize(original, 1 / k), np.float32)
            ours_small = resampling.resize(original, (original.shape[0] // k, original.shape[1] // k), "matlab")
            theirs_up = np.clip(np.asarray(imresize(theirs_small, k), np.float32), 0, 1)
            ours_up = resampling.resize(theirs_small, original.shape[:2], "matlab")
            down = float(np.abs(np.clip(theirs_small, 0, 1) - ours_small).max())
            up = float(np.abs(theirs_up - ours_up).max())
            for channel, shave in (("rgb", 0), ("y", k)):
                protocol = evaluate.Protocol("upsample", channel, shave, "matlab")
                reference = similarity.prepare(evaluate.scored(original, protocol), shave)
                ssim, psnr = similarity.score(reference, evaluate.scored(theirs_up, protocol))
                bgr = (original[..., ::-1].astype(np.float64) * 255, theirs_up[..., ::-1].astype(np.float64) * 255)
                their_ssim = calculate_ssim(*bgr, crop_border=shave, test_y_channel=channel == "y")
                their_psnr = calculate_psnr(*bgr, crop_border=shave, test_y_channel=channel == "y")
                d_ssim, d_psnr = abs(ssim - their_ssim), abs(psnr - their_psnr)
                worst.update(ssim=max(worst["ssim"], d_ssim), psnr=max(worst["psnr"], d_psnr),
                             down=max(worst["down"], down), up=max(worst["up"], up))
                print(f"| {path.name} | {k} | {channel} | {shave} | {d_ssim:.1e} | {d_psnr:.1e} | {down:.1e} | "
                      f"{up:.1e} |")
    print(f"\nlargest differences: SSIM {worst['ssim']:.1e}, PSNR {worst['psnr']:.1e} dB, "
          f"imresize down {worst['down']:.1e}, up {worst['up']:.1e} (pixel values in [0, 1])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
