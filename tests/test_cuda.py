"""The CUDA kernels against their naive twins and the CPU kernels.

In CI they run under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set in conftest.py);
on a machine with a GPU, ``DPDOWN_TEST_GPU=1 python3 -m pytest -m cuda`` runs them on it.
"""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import dpdown
from dpdown.core.working import to_working
from dpdown.kernels import device as devices
from dpdown.kernels import footprints
from dpdown.methods import registry

import naive
from conftest import FAMILY, FAMILY_IDS, METHODS, photo_crop, random_image

pytestmark = [pytest.mark.cuda, pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")]

STOCHASTIC = {"stochastic", "s3pool", "s3dpp"}
ALL = METHODS + FAMILY
PLAIN = registry.standalone()  # learned is tested with an operator in test_learned.py
ALL_IDS = [f"{m}-{'-'.join(f'{k}={v}' for k, v in p.items())}" for m, p, _ in METHODS] + FAMILY_IDS
GEOMETRIES = [
    ((13, 11, 3), dict(k=3, stride=2)),
    ((11, 9, 1), dict(out_shape=(4, 3))),    # coverage footprint, odd sizes
    ((9, 10, 5), dict(out_shape=(3, 4))),    # five bands: the generic channel count
]


def run_on(device, name, img, params, geometry, has_alpha=False):
    work = to_working(img, has_alpha)
    if device == "cuda":
        work = dataclasses.replace(work, device_pixels=devices.to_device(work.pixels))
    fp = footprints.plan(work.shape, k=geometry.get("k"), stride=geometry.get("stride"),
                         out_shape=geometry.get("out_shape"))
    spec = registry.get(name)
    return devices.to_host(spec.run(work, fp, **spec.resolve(params)))


@pytest.mark.parametrize("name,params,twin", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("shape,geometry", GEOMETRIES, ids=str)
def test_cuda_equals_naive_and_cpu(name, params, twin, shape, geometry):
    assert_cuda_equals_naive_and_cpu(name, params, twin, shape, geometry)


# windows of unit coverage: interior threads take the loops with the block size compiled in,
# the last row and column of outputs (spans cut by the edge) the loops sized at run time
BLOCK_GEOMETRIES = [((13, 11, 3), dict(k=3, stride=2)), ((9, 11, 1), dict(k=2)), ((9, 7, 4), dict(k=2))]


@pytest.mark.parametrize("name,params,twin", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("shape,geometry", BLOCK_GEOMETRIES, ids=str)
def test_cuda_block_sizes_compiled_in(monkeypatch, name, params, twin, shape, geometry):
    """The suite compiles no block size in (conftest); here 2 and 3 are, as by default."""
    from dpdown.kernels.walkers import shared

    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset({2, 3}))
    fp = footprints.plan(shape[:2], k=geometry["k"], stride=geometry.get("stride"))
    assert shared.block_sizes(fp, "cuda") == (geometry["k"], geometry["k"])
    assert_cuda_equals_naive_and_cpu(name, params, twin, shape, geometry)


def assert_cuda_equals_naive_and_cpu(name, params, twin, shape, geometry):
    img = random_image(shape, np.float64, seed=sum(shape))
    gpu = run_on("cuda", name, img, params, geometry)
    np.testing.assert_allclose(gpu, twin(img, geometry), rtol=0, atol=1e-6)
    cpu = run_on("cpu", name, img, params, geometry)
    if name == "stochastic" and params.get("mode", "sample") == "sample":
        np.testing.assert_array_equal(gpu, cpu)  # same seed, same draws: exactly
    else:
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("blocks", [frozenset(), frozenset({3})], ids=["run-time-sizes", "block-compiled-in"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("name", PLAIN)
def test_cuda_every_method_and_dtype_through_the_api(monkeypatch, name, dtype, blocks):
    from dpdown.kernels.walkers import shared

    monkeypatch.setattr(shared, "COMPILED_BLOCKS", blocks)  # integer pixels: table lookups in the blocks too
    img = random_image((10, 9, 3), dtype, seed=5)
    gpu = dpdown.downscale(img, 3, method=name, device="cuda")
    cpu = dpdown.downscale(img, 3, method=name)
    assert gpu.dtype == cpu.dtype == dtype and gpu.shape == cpu.shape
    if name in STOCHASTIC:
        np.testing.assert_array_equal(gpu, cpu)
    else:  # integers: at most one step apart where float rounding lands on a tie
        np.testing.assert_allclose(gpu.astype(float), cpu.astype(float), rtol=1e-6,
                                   atol=1 if dtype != np.float32 else 1e-6)


@pytest.mark.parametrize("name,params", [("dpid", {}), ("dpp", dict(guide="full")), ("softpool", {}),
                                         ("avg", {}), ("stochastic", dict(seed=3))])
def test_cuda_real_photo_alpha_and_channel_pooling(name, params):
    photo = photo_crop(box=(100, 100, 17, 13))
    for kwargs in (dict(shape=(5, 6)), dict(channel_pool="max", channel_size=3), dict(channel_pool="topk",
                                                                                      channel_size=2)):
        np.testing.assert_allclose(dpdown.downscale(photo, 3, method=name, device="cuda", **params, **kwargs)
                                   if "shape" not in kwargs else
                                   dpdown.downscale(photo, method=name, device="cuda", **params, **kwargs),
                                   dpdown.downscale(photo, 3, method=name, **params, **kwargs)
                                   if "shape" not in kwargs else
                                   dpdown.downscale(photo, method=name, **params, **kwargs), atol=1)
    rgba = random_image((11, 10, 4), np.uint16, seed=2)
    rgba[:3, :, 3] = 0  # a transparent border: its colour must not bleed in
    np.testing.assert_allclose(dpdown.downscale(rgba, 3, method=name, device="cuda", **params).astype(float),
                               dpdown.downscale(rgba, 3, method=name, **params).astype(float), atol=1)


def test_cuda_gated_and_s3_sampling():
    img = random_image((12, 14, 3), np.float64, seed=1)
    mask = tuple(np.linspace(-2, 3, 9))
    np.testing.assert_allclose(dpdown.downscale(img, 3, method="gated", gate_weights=mask, device="cuda"),
                               naive.gated(img, 3, mask), atol=1e-9)
    np.testing.assert_array_equal(dpdown.downscale(img, 3, method="s3pool", grid=6, seed=4, device="cuda"),
                                  naive.s3pool(img, 3, 6, 4))


def test_constant_image_stays_constant_on_cuda():
    img = np.full((9, 8, 3), 77, np.uint8)
    for name in PLAIN:
        if name not in ("sum", "pow-average"):  # sums, not means
            assert (dpdown.downscale(img, 3, method=name, device="cuda") == 77).all(), name


def test_auto_falls_back_to_the_cpu_with_one_notice(monkeypatch):
    monkeypatch.setattr(devices, "cuda_problem", lambda: "no CUDA driver or GPU found")
    img = random_image((8, 8, 3), np.uint8)
    with pytest.warns(devices.CpuFallback, match="running on the CPU"):
        out = dpdown.downscale(img, 2, method="avg", device="auto")
    np.testing.assert_array_equal(out, dpdown.downscale(img, 2, method="avg"))
    with pytest.raises(devices.DeviceError, match="no CUDA driver"):
        dpdown.downscale(img, 2, method="avg", device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        dpdown.downscale(img, 2, method="avg", device="tpu")


def test_cli_device_errors_and_notices(monkeypatch, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from dpdown.cli import cli

    src = tmp_path / "in.png"
    Image.fromarray(random_image((8, 8, 3), np.uint8)).save(src)
    monkeypatch.setattr(devices, "cuda_problem", lambda: "no CUDA driver or GPU found")
    runner = CliRunner()
    result = runner.invoke(cli, ["scale", str(src), "-k", "2", "--device", "cuda", "-o", str(tmp_path / "a.png")])
    assert result.exit_code == 1 and "device cuda: no CUDA driver" in result.output
    assert not (tmp_path / "a.png").exists()
    result = runner.invoke(cli, ["scale", str(src), "-k", "2", "--device", "auto", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0 and "notice: no usable GPU" in result.output
    assert (tmp_path / "b.png").exists()


def test_cpu_runs_never_import_cuda():
    code = ("import sys, numpy as np, dpdown; dpdown.downscale(np.zeros((8, 8, 3), np.uint8), 2, method='dpid'); "
            "from dpdown.cli import cli; print(any(m.startswith(('numba.cuda', 'numba_cuda')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def launches_and_copies(monkeypatch):
    """Every kernel launch, allocation and host→device copy of a GPU run, with the stream it
    went on (None: the default stream, which would wait for every other stream)."""
    from numba import cuda

    from dpdown.kernels import jit

    seen = []
    compiled = jit.Lazy.compiled

    class Launcher:
        def __init__(self, kernel, name):
            self.kernel, self.name = kernel, name

        def __getitem__(self, config):
            seen.append((f"kernel {self.name}", config[2] if len(config) > 2 else None))
            return self.kernel[config]

    def recording(self, target="cpu"):
        fn = compiled(self, target)
        return Launcher(fn, self.name) if target == "cuda" else fn

    monkeypatch.setattr(jit.Lazy, "compiled", recording)
    for name in ("to_device", "device_array", "device_array_like"):
        original = getattr(cuda, name)

        def record(*args, _name=name, _original=original, **kwargs):
            seen.append((_name, kwargs.get("stream")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cuda, name, record)
    return seen


@pytest.mark.parametrize("name,params", [(name, {}) for name in PLAIN] + [("dpp", dict(guide="full"))],
                         ids=PLAIN + ["dpp-full"])
def test_every_gpu_copy_and_kernel_goes_on_the_threads_stream(name, params, launches_and_copies):
    import threading

    img = random_image((10, 9, 3), np.uint8)
    streams = {}

    def work():
        streams["run"] = devices.stream()
        dpdown.downscale(img, 2, method=name, device="cuda", **params)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert launches_and_copies and any(what.startswith("kernel") for what, _ in launches_and_copies)
    assert all(stream is streams["run"] for _, stream in launches_and_copies), launches_and_copies
    assert streams["run"] is not devices.stream()  # this thread has a stream of its own


def test_pinned_buffers_are_kept_per_thread_and_grown():
    small = devices.pinned("in", (4, 5, 3), np.uint8)
    again = devices.pinned("in", (2, 3), np.float32)  # fits: the same memory, viewed anew
    assert again.dtype == np.float32 and again.shape == (2, 3)
    assert again.__array_interface__["data"][0] == small.__array_interface__["data"][0]
    grown = devices.pinned("in", (40, 50, 3), np.uint16)
    assert grown.nbytes == 12000 and grown.shape == (40, 50, 3)
    assert devices.pinned("out", (1,), np.uint8).__array_interface__["data"][0] != \
        grown.__array_interface__["data"][0]


def test_a_threads_input_on_the_gpu_is_reused_for_equal_images(monkeypatch):
    a, b = random_image((6, 5, 3), np.uint8, seed=1), random_image((6, 5, 3), np.uint8, seed=2)
    first = devices.to_device(a)
    second = devices.to_device(b)  # same shape and dtype: the same GPU array, refilled
    assert second is first
    np.testing.assert_array_equal(devices.to_host(second), b)
    other = devices.to_device(a[:4])
    assert other is not first
    np.testing.assert_array_equal(devices.to_host(other), a[:4])
    monkeypatch.setattr(devices, "STAGING_LIMIT", 50)  # larger: pageable copies, nothing kept
    big = devices.to_device(b)
    assert big is not devices.to_device(b)
    np.testing.assert_array_equal(devices.to_host(big), b)


def test_gpu_batch_runs_in_threads_with_the_cpus_results(tmp_path, monkeypatch):
    import threading

    from PIL import Image

    from dpdown.io import batch

    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        Image.fromarray(random_image((12 + i, 10, 3), np.uint8, seed=i)).save(src / f"{i}.png")
    workers = set()
    process = batch.process

    def recording(job, item):
        workers.add(threading.current_thread().name)
        return process(job, item)

    monkeypatch.setattr(batch, "process", recording)
    gpu = dpdown.downscale_files(str(src), str(tmp_path / "gpu"), 2, method="dpid", device="cuda", jobs=2)
    assert gpu.count("done") == 4 and all(w.startswith("dpdown") for w in workers), workers
    cpu = dpdown.downscale_files(str(src), str(tmp_path / "cpu"), 2, method="dpid", jobs=1)
    assert cpu.count("done") == 4
    for i in range(4):
        a = np.asarray(Image.open(tmp_path / "gpu" / f"{i}_dpid_k2.png"), float)
        b = np.asarray(Image.open(tmp_path / "cpu" / f"{i}_dpid_k2.png"), float)
        assert np.abs(a - b).max() <= 1


def test_gpu_batch_without_a_gpu_is_one_error_before_any_file(tmp_path, monkeypatch):
    from PIL import Image

    Image.fromarray(random_image((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setattr(devices, "cuda_problem", lambda: "no CUDA driver or GPU found")
    with pytest.raises(devices.DeviceError, match="no CUDA driver"):
        dpdown.downscale_files(str(tmp_path / "a.png"), str(tmp_path / "out"), 2, device="cuda")
    assert not (tmp_path / "out").exists()


# ---- GPU arrays in, GPU arrays out ---------------------------------------------------------

@pytest.mark.parametrize("name", ["avg", "dpid", "softpool"])
@pytest.mark.parametrize("shape", [(13, 11, 3), (9, 10)], ids=str)
def test_a_gpu_array_is_downscaled_on_the_gpu_and_comes_back_there(name, shape):
    from numba import cuda

    img = random_image(shape, np.uint8, seed=3)
    on_gpu = cuda.to_device(img)
    out = dpdown.downscale(on_gpu, 2, method=name)
    assert devices.on_gpu(out)  # no host round trip for the caller
    result = out.copy_to_host()
    assert result.dtype == img.dtype and result.shape == dpdown.downscale(img, 2, method=name).shape
    np.testing.assert_allclose(result.astype(float), dpdown.downscale(img, 2, method=name).astype(float), atol=1)


def test_gpu_arrays_refused_clearly():
    from numba import cuda

    from dpdown.errors import ParameterError

    on_gpu = cuda.to_device(random_image((12, 10, 3), np.uint8))
    with pytest.raises(ParameterError, match="GPU memory"):
        dpdown.downscale(on_gpu, 2, method="avg", device="cpu")
    with pytest.raises(ParameterError, match="C-contiguous"):
        dpdown.downscale(on_gpu[:, ::2], 2, method="avg")


@pytest.mark.parametrize("layout", ["image", "nchw"])
def test_a_cupy_array_comes_back_as_cupy(layout):
    """On a real GPU with CuPy installed (never under the simulator, where CuPy cannot run)."""
    cupy = pytest.importorskip("cupy")
    shape = (12, 10, 3) if layout == "image" else (2, 3, 12, 10)
    img = random_image(shape, np.uint8, seed=4)
    out = dpdown.downscale(cupy.asarray(img), 2, method="dpid", layout=layout)
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(out).astype(float),
                               dpdown.downscale(img, 2, method="dpid", layout=layout).astype(float), atol=1)


@pytest.mark.parametrize("bad", [-0.5, np.nan, np.inf])
def test_stochastic_refuses_a_gpu_array_that_is_no_probability(bad):
    """Checked on the GPU, where the pixels are (the host holds only a stand-in)."""
    from numba import cuda

    from dpdown.errors import ParameterError

    img = random_image((9, 8, 3), np.float32, seed=2)
    assert devices.on_gpu(dpdown.downscale(cuda.to_device(img), 2, method="stochastic"))
    img[4, 5, 1] = bad
    with pytest.raises(ParameterError, match="non-negative"):
        dpdown.downscale(cuda.to_device(img), 2, method="stochastic")
    with pytest.raises(ParameterError, match="non-negative"):
        dpdown.downscale(img, 2, method="stochastic", device="cuda")
