#!/usr/bin/env bash
# Every GPU check in one command of under ten minutes, for a machine with an
# NVIDIA GPU and dpdown's dependencies installed (numba-cuda among them), from the repo root:
#
#     bash benchmarks/gpu_checks.sh [OUTDIR]      # default $OUT, else ./gpu-checks
#
# Writes OUTDIR/versions.txt, kernels.md (bench_cuda.py: kernel ms, GB/s, % of peak, end to
# end), batch.md (the overlap of a batch on 1 and 4 threads), scoring.md (bench_similarity.py:
# the evaluation's SSIM, PSNR and upsampling on the GPU against scikit-image, Pillow and the CPU), codecs.md (bench_codecs.py:
# images/s with the CPU and the GPU codecs, and nvImageCodec's decode against Pillow's; needs
# pip install '.[gpu-codecs]', else those rows say skipped) and tests.txt (the CUDA tests
# run on the GPU, not simulated), benchmarks first: they are what a short lease must bring
# back. Each step has its own time limit, so one that hangs leaves the others their time.
set -u
out=${1:-${OUT:-gpu-checks}}
mkdir -p "$out" && out=$(cd "$out" && pwd)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, numpy, numba, numba_cuda; print(sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__, 'numba-cuda', numba_cuda.__version__)"
    python3 -c "from nvidia import nvimgcodec; print('nvimgcodec', nvimgcodec.__version__)" 2>/dev/null || echo "nvimgcodec: not installed"
} 2>&1 | tee "$out/versions.txt"
(cd benchmarks && timeout 200 python3 bench_cuda.py --no-cpu --repeat 20 --out "$out/kernels.md") 2>&1 | tee "$out/kernels.log" | tail -45
(cd benchmarks && timeout 90 python3 bench_cuda.py --batch 16 --threads 4 -m avg -m dpid -m dpp -k 2 \
    --out "$out/batch.md") 2>&1 | tee "$out/batch.log" | tail -12
(cd benchmarks && timeout 90 python3 bench_similarity.py --device cuda) 2>&1 | tee "$out/scoring.md" | tail -12
(cd benchmarks && timeout 60 python3 bench_codecs.py --make 16 -m dpid -k 4 --measure --out "$out/codecs.md") 2>&1 \
    | tee "$out/codecs.log" | tail -30
DPDOWN_TEST_GPU=1 timeout 240 python3 -m pytest -m cuda -q -n 8 -p no:cacheprovider tests/test_cuda.py tests/test_stacks.py \
    tests/test_gpu_codecs.py tests/test_similarity.py \
    > "$out/tests.txt" 2>&1
tail -5 "$out/tests.txt"
