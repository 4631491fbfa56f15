"""Every CUDA kernel compiles for a real GPU (sm_90), without one: NVVM, which the simulator
never runs, compiles each launch of every method and of the evaluation to PTX
(tests/compile_ptx.py, in a process of its own without the simulator)."""

import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cuda

SCRIPT = pathlib.Path(__file__).with_name("compile_ptx.py")


def nvvm_problem():
    code = ("from numba.cuda.cudadrv import nvvm; nvvm.NVVM(); "
            "from numba.cuda.cudadrv.libs import get_libdevice; get_libdevice()")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["?"])[-1]


def test_every_cuda_kernel_compiles_to_ptx_for_sm_90():
    problem = nvvm_problem()
    if problem and not os.environ.get("DPDOWN_REQUIRE_NVVM"):
        pytest.skip(f"no libNVVM ({problem}); pip install 'cuda-toolkit[nvvm,nvrtc]==13.*'")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--cc", "9.0"], capture_output=True, text=True, env=env,
                            timeout=1800)
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert result.returncode == 0 and not failures, (failures or result.stdout[-2000:]) + [result.stderr[-2000:]]
    assert "kernels compiled to PTX for sm_90" in result.stdout
