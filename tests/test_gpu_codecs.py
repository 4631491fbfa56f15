"""GPU codecs (dpdown.io.gpu_codecs) without a GPU: a fake ``nvidia.nvimgcodec`` whose decoder
decodes with Pillow into a device array of Numba's CUDA simulator and whose encoder encodes
with Pillow, so that the GPU path must give exactly what the CPU path gives — the same
pixels, orientation and metadata — and every fallback exactly the CPU path's output."""

import functools
import io
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
from conftest import photo_crop
from PIL import Image, ImageCms

import dpdown
from dpdown.io import gpu_codecs, one_file
from dpdown.io.one_file import FileOptions, scale_file
from dpdown.io.write import PART_SUFFIX

pytestmark = pytest.mark.cuda


# ---- a fake nvImageCodec ------------------------------------------------------------------------

def fake_nvimgcodec(calls):
    """A module with the parts of nvImageCodec's Python API dpdown calls; ``calls`` records
    what was decoded and encoded. Progressive JPEGs it refuses (raises), as a GPU decoder may."""
    from numba import cuda

    nv = types.ModuleType("nvidia.nvimgcodec")
    nv.BackendKind = types.SimpleNamespace(GPU_ONLY=2, HYBRID_CPU_GPU=3, HW_GPU_ONLY=4)
    nv.Backend = lambda kind: types.SimpleNamespace(backend_kind=kind)
    nv.ColorSpec = types.SimpleNamespace(SRGB="srgb", GRAY="gray")
    nv.QualityType = types.SimpleNamespace(QUALITY="quality")
    nv.DecodeParams = lambda **kw: types.SimpleNamespace(**kw)
    nv.EncodeParams = lambda **kw: types.SimpleNamespace(**kw)
    nv.CodeStream = bytes
    nv.as_image = lambda array, cuda_stream=0: array

    class Decoder:
        def __init__(self, backends=None):
            assert backends, "dpdown asks for the GPU backends only"

        def decode(self, data, params, cuda_stream=0):
            assert params.apply_exif_orientation is False  # dpdown orients, as the CPU path
            with Image.open(io.BytesIO(data)) as im:
                if im.info.get("progressive"):
                    raise RuntimeError("progressive JPEG not supported by this decoder")
                try:
                    pixels = np.asarray(im.convert("L" if params.color_spec == "gray" else "RGB"))
                except OSError:
                    return None  # nvImageCodec's answer to a file it cannot decode
            calls.append("decode")
            return cuda.to_device(pixels.reshape(pixels.shape[:2] + (-1,)))

    class Encoder:
        def __init__(self, backends=None):
            pass

        def encode(self, image, codec, params, cuda_stream=0):
            assert codec == "jpeg"
            pixels = image.copy_to_host()
            buffer = io.BytesIO()
            Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(
                buffer, "JPEG", quality=int(params.quality_value))
            calls.append("encode")
            return bytearray(buffer.getvalue())

    nv.Decoder, nv.Encoder = Decoder, Encoder
    return nv


@pytest.fixture
def calls(monkeypatch):
    """The fake nvImageCodec installed as ``nvidia.nvimgcodec``; what it decoded and encoded."""
    made = []
    monkeypatch.setitem(sys.modules, "nvidia.nvimgcodec", fake_nvimgcodec(made))
    return made


@pytest.fixture
def missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "nvidia.nvimgcodec", None)  # an import of it raises ImportError


# ---- images -------------------------------------------------------------------------------------

@functools.cache
def srgb_profile():  # one per run: the profile holds its time of making
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg(path, pixels=None, orientation=None, icc=False, dpi=None, mode=None, **save):
    im = Image.fromarray(photo_crop() if pixels is None else pixels)
    if mode:
        im = im.convert(mode)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
        exif[0x010F] = "dpdown test camera"  # Make: a tag that must survive
    options = dict(quality=92, **save)
    if len(exif):
        options["exif"] = exif.tobytes()
    if icc:
        options["icc_profile"] = srgb_profile()
    if dpi:
        options["dpi"] = dpi
    im.save(path, "JPEG", **options)
    return path


def scaled(source, target, codec, **options):
    """scale_file on the GPU (the simulator) with ``codec``: its report."""
    return scale_file(str(source), str(target), FileOptions(codec=codec, **options), k=2, method="avg",
                      device="cuda")


def both(tmp_path, source, ext=".png", **options):
    """The outputs of the GPU codecs and of the CPU codecs for ``source``: (gpu report, CPU
    report, gpu pixels, CPU pixels, gpu info, CPU info)."""
    name = os.path.basename(str(source))
    gpu = scaled(source, tmp_path / f"gpu-{name}{ext}", "gpu", **options)
    cpu = scaled(source, tmp_path / f"cpu-{name}{ext}", "cpu", **options)
    images = []
    for report in (gpu, cpu):
        with Image.open(report.target) as im:
            images.append((np.asarray(im), dict(im.info), im.getexif().get(0x0112)))
    return gpu, cpu, images[0], images[1]


# ---- the GPU path gives the CPU path's output ---------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_on_the_gpu_as_on_the_cpu(tmp_path, calls, orientation):
    source = jpeg(tmp_path / f"o{orientation}.jpg", orientation=orientation)
    gpu, cpu, (a, a_info, a_orient), (b, b_info, b_orient) = both(tmp_path, source)
    assert calls == ["decode"], "the GPU decoder was not used"
    assert gpu.notes[0] == "decoded on the GPU by nvImageCodec"
    assert gpu.in_size == cpu.in_size and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    assert a_orient == b_orient == 1 and a_info.get("exif") == b_info.get("exif")
    if orientation != 1:
        assert any(f"orientation {orientation} applied" in note for note in gpu.notes)


def test_the_orientation_kernel_matches_read_orient():
    """Every orientation of the device copy against read.orient on a non-square image, with a
    strided (non-contiguous) source as nvImageCodec may give."""
    from numba import cuda

    from dpdown.io.read import orient

    pixels = np.arange(5 * 7 * 2, dtype=np.uint8).reshape(5, 7, 2)
    for orientation in range(1, 9):
        out = gpu_codecs.orient_on_device(cuda.to_device(pixels), orientation).copy_to_host()
        np.testing.assert_array_equal(out, orient(pixels, orientation), err_msg=f"orientation {orientation}")
    wide = cuda.to_device(np.ascontiguousarray(np.concatenate([pixels, pixels], axis=1)))
    strided = wide[:, ::2]
    assert not strided.is_c_contiguous()
    np.testing.assert_array_equal(gpu_codecs.orient_on_device(strided, 1).copy_to_host(),
                                  np.concatenate([pixels, pixels], axis=1)[:, ::2])


def test_gray_jpeg_on_the_gpu(tmp_path, calls):
    source = jpeg(tmp_path / "gray.jpg", mode="L", orientation=6)
    _, _, (a, _, _), (b, _, _) = both(tmp_path, source)
    assert calls == ["decode"] and a.ndim == 2
    np.testing.assert_array_equal(a, b)


def test_icc_exif_and_resolution_are_kept_by_the_gpu_encoder(tmp_path, calls):
    source = jpeg(tmp_path / "meta.jpg", orientation=8, icc=True, dpi=(300, 300))
    gpu, _, (a, a_info, a_orient), (b, b_info, b_orient) = both(tmp_path, source, ext=".jpg")
    assert calls == ["decode", "encode"]
    assert "encoded on the GPU by nvImageCodec" in gpu.notes
    assert a_info["icc_profile"] == b_info["icc_profile"] == srgb_profile()
    assert a_info["exif"] == b_info["exif"] and a_orient == b_orient == 1
    assert a_info["dpi"] == b_info["dpi"] == (300, 300)
    with Image.open(gpu.target) as im:
        assert im.getexif()[0x010F] == "dpdown test camera"
    np.testing.assert_array_equal(a, b)  # the fake encodes as Pillow does: the same JPEG pixels


def test_metadata_is_kept_when_the_result_goes_to_pillow(tmp_path, calls):
    source = jpeg(tmp_path / "meta.jpg", orientation=3, icc=True, dpi=(150, 150))
    _, _, (a, a_info, _), (b, b_info, _) = both(tmp_path, source, ext=".png")
    assert calls == ["decode"]
    for key in ("icc_profile", "exif", "dpi"):
        assert a_info.get(key) == b_info.get(key) and b_info.get(key), key
    np.testing.assert_array_equal(a, b)


def test_strip_drops_the_metadata_on_the_gpu_too(tmp_path, calls):
    source = jpeg(tmp_path / "meta.jpg", orientation=6, icc=True, dpi=(300, 300))
    report = scaled(source, tmp_path / "out.jpg", "gpu", strip=True)
    with Image.open(report.target) as im:
        assert "icc_profile" not in im.info and not len(im.getexif()) and "dpi" not in im.info


def test_with_metadata_replaces_what_the_encoder_wrote():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "someone else"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "JPEG", exif=exif.tobytes(), dpi=(72, 72),
                                                 icc_profile=b"not this one")
    ours = Image.Exif()
    ours[0x010F] = "ours"
    icc = bytes(range(256)) * 300  # 76800 bytes: two APP2 chunks
    data = gpu_codecs.with_metadata(buffer.getvalue(), {"exif": ours.tobytes(), "icc_profile": icc, "dpi": (200, 200)})
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif()[0x010F] == "ours" and im.info["icc_profile"] == icc and im.info["dpi"] == (200, 200)
        assert im.size == (8, 8) and im.getpixel((3, 3))[0] in range(5, 16)
    assert data.count(b"Exif\0\0") == 1 and data.count(b"JFIF\0") == 1
    with Image.open(io.BytesIO(gpu_codecs.with_metadata(buffer.getvalue(), {}))) as im:
        assert "exif" not in im.info and "icc_profile" not in im.info and "dpi" not in im.info


# ---- per-file fallbacks: exactly the CPU path's output ------------------------------------------

def assert_fallback(tmp_path, source, reason, calls, ext=".png"):
    gpu, _, (a, a_info, _), (b, b_info, _) = both(tmp_path, source, ext=ext)
    np.testing.assert_array_equal(a, b)
    assert a_info == b_info
    assert gpu.notes[0].startswith("decoded on the CPU by Pillow: ") and reason in gpu.notes[0], gpu.notes
    assert "decode" not in calls


def test_png_falls_back_to_the_cpu(tmp_path, calls):
    source = tmp_path / "in.png"
    Image.fromarray(photo_crop()).save(source)
    assert_fallback(tmp_path, source, "not a JPEG", calls)


def test_cmyk_jpeg_falls_back_to_the_cpu(tmp_path, calls):
    source = jpeg(tmp_path / "cmyk.jpg", mode="CMYK")
    assert_fallback(tmp_path, source, "CMYK JPEG", calls)


def test_a_jpeg_the_gpu_decoder_refuses_falls_back_to_the_cpu(tmp_path, calls):
    source = jpeg(tmp_path / "progressive.jpg", orientation=6, icc=True, progressive=True)
    assert_fallback(tmp_path, source, "nvImageCodec failed to decode it (progressive JPEG", calls, ext=".jpg")


def test_a_corrupt_jpeg_fails_as_on_the_cpu(tmp_path, calls):
    good = jpeg(tmp_path / "good.jpg").read_bytes()
    source = tmp_path / "corrupt.jpg"
    source.write_bytes(good[:len(good) // 2])
    reasons = []
    for codec in ("gpu", "cpu"):
        summary = dpdown.downscale_files(str(source), str(tmp_path / codec), 2, method="avg", device="cuda",
                                         codec=codec, jobs=1)
        assert summary.count("failed") == 1 and not os.listdir(tmp_path / codec)
        reasons.append(summary.failures[0].reason)
    assert reasons[0] == reasons[1]
    assert "decode" not in calls


def test_without_nvimgcodec_codec_gpu_falls_back_per_file(tmp_path, missing):
    """Where the module is missing in a worker (e.g. on Dask, where nothing is settled
    before the files), each file is read on the CPU, saying why."""
    source = jpeg(tmp_path / "o6.jpg", orientation=6, icc=True)
    gpu, cpu, (a, a_info, _), (b, b_info, _) = both(tmp_path, source, ext=".jpg")
    np.testing.assert_array_equal(a, b)
    assert a_info == b_info
    assert gpu.notes[0] == f"decoded on the CPU by Pillow: nvImageCodec is not installed ({gpu_codecs.INSTALL})"
    assert not any("GPU" in note for note in cpu.notes)


# ---- choosing the codecs --------------------------------------------------------------------------

def test_codec_gpu_without_nvimgcodec_is_one_error_before_any_file(tmp_path, missing):
    source = jpeg(tmp_path / "a.jpg")
    with pytest.raises(gpu_codecs.CodecError, match="codec gpu: nvImageCodec is not installed"):
        dpdown.downscale_files(str(source), str(tmp_path / "out"), 2, device="cuda", codec="gpu")
    assert not (tmp_path / "out").exists()
    # auto: the CPU codecs, and no note about a fallback
    summary = dpdown.downscale_files(str(source), str(tmp_path / "auto"), 2, device="cuda", codec="auto", jobs=1)
    assert summary.count("done") == 1 and not any("decoded" in n for o in summary.outcomes for n in o.notes)


def test_codec_auto_uses_the_gpu_codecs_where_they_run(tmp_path, calls):
    source = jpeg(tmp_path / "a.jpg")
    summary = dpdown.downscale_files(str(source), str(tmp_path / "out"), 2, device="cuda", jobs=1,
                                     format="jpg")
    assert summary.count("done") == 1 and calls == ["decode", "encode"]
    assert summary.outcomes[0].notes[:1] == ["decoded on the GPU by nvImageCodec"]
    calls.clear()
    summary = dpdown.downscale_files(str(source), str(tmp_path / "cpu"), 2, device="cuda", jobs=1, codec="cpu")
    assert summary.count("done") == 1 and calls == []


def test_codec_choices_and_conflicts(calls):
    assert gpu_codecs.resolve("cpu", "cuda") == "cpu"
    assert gpu_codecs.resolve("gpu", "cuda") == "gpu"
    assert gpu_codecs.resolve("auto", "cuda") == "gpu"
    with pytest.raises(dpdown.errors.ParameterError, match="needs --device cuda"):
        gpu_codecs.resolve("gpu", "cpu")
    with pytest.raises(dpdown.errors.ParameterError, match="unknown codec"):
        gpu_codecs.resolve("nvjpeg", "cuda")
    with pytest.raises(dpdown.errors.ParameterError, match="unknown codec"):
        dpdown.downscale_files([], None, 2, codec="nvjpeg")


def test_a_gpu_that_cannot_start_is_a_clear_error(tmp_path, calls, monkeypatch):
    nv = sys.modules["nvidia.nvimgcodec"]

    def broken(backends=None):
        raise RuntimeError("CUDA Runtime failure: '#35'\nmore detail")

    monkeypatch.setattr(nv, "Decoder", broken)
    with pytest.raises(gpu_codecs.CodecError, match=r"^codec gpu: nvImageCodec cannot start \(CUDA Runtime failure"):
        gpu_codecs.resolve("gpu", "cuda")
    assert gpu_codecs.resolve("auto", "cuda") == "cpu"


def test_cli_codec_gpu_without_nvimgcodec(tmp_path):
    """One line on stderr and exit 1, no traceback, no output file: in a fresh process where
    ``nvidia.nvimgcodec`` cannot be imported (whether or not it is installed here)."""
    hide = tmp_path / "hide" / "nvidia" / "nvimgcodec"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    (hide.parent / "__init__.py").write_text("")
    source = jpeg(tmp_path / "a.jpg")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "hide"), str(one_file.__file__).rsplit(
        os.sep + "dpdown" + os.sep, 1)[0]]))
    for args in (["--device", "cuda"], ["--device", "cuda", "-j", "1", str(jpeg(tmp_path / "b.jpg"))]):
        result = subprocess.run([sys.executable, "-m", "dpdown", "scale", str(source), *args[2:], "-k", "2",
                                 *args[:2], "--codec", "gpu", "-o", str(tmp_path / "out") + os.sep],
                                check=False, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"dpdown: error: codec gpu: nvImageCodec is not installed ({gpu_codecs.INSTALL})"], result.stderr
        assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_importing_dpdown_never_imports_nvimgcodec():
    code = textwrap.dedent("""
        import sys, dpdown, dpdown.cli, dpdown.io.gpu_codecs, dpdown.io.one_file
        from dpdown.io import batch
        print("nvidia.nvimgcodec" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "False"


# ---- whole files or nothing ---------------------------------------------------------------------

def test_gpu_encoded_outputs_are_written_atomically(tmp_path, calls, monkeypatch):
    source = jpeg(tmp_path / "a.jpg", orientation=6)
    renamed = []
    real_replace = os.replace

    def replace(src, dst):
        renamed.append((os.path.basename(src), os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    report = scaled(source, tmp_path / "out.jpg", "gpu")
    assert "encoded on the GPU by nvImageCodec" in report.notes
    assert len(renamed) == 1 and renamed[0][0].startswith(".out.jpg.") and renamed[0][0].endswith(PART_SUFFIX)
    assert renamed[0][1] == "out.jpg"

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(dpdown.errors.ImageError, match="cannot write"):
        scaled(source, tmp_path / "failed.jpg", "gpu")
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "out.jpg"]  # no partial file, no leftover part
    with pytest.raises(dpdown.errors.ImageError, match="already exists"):
        scaled(source, tmp_path / "out.jpg", "gpu")
