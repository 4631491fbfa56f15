"""Image fidelity: formats, alpha, colour and metadata, pipes, huge and bad images."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image, ImageCms

import dpdown
from dpdown.cli import cli
from dpdown.io.read import orient, read
from dpdown.io.write import write
from dpdown.kernels.colour import to_linear, to_srgb
from dpdown.methods import registry

from conftest import make_operator, random_image

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width, height):
    """A PNG whose header claims ``width × height`` RGB pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10))
            + _png_chunk(b"IEND", b""))


# ---- formats ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,shape,dtype", [
    ("png", (9, 7), np.uint8), ("png", (9, 7, 2), np.uint8), ("png", (9, 7, 3), np.uint8),
    ("png", (9, 7, 4), np.uint8), ("png", (9, 7), np.uint16), ("png", (9, 7, 2), np.uint16),
    ("png", (9, 7, 3), np.uint16), ("png", (9, 7, 4), np.uint16),
    ("tif", (9, 7, 3), np.uint8), ("tif", (9, 7, 4), np.uint16), ("tif", (9, 7), np.float32),
    ("tif", (9, 7, 5), np.uint16), ("bmp", (9, 7, 3), np.uint8),
])
def test_lossless_formats_round_trip_at_full_depth(tmp_path, fmt, shape, dtype):
    img = random_image(shape, dtype)
    path = tmp_path / f"x.{fmt}"
    write(img, path, {"icc_profile": SRGB} if fmt != "bmp" else {})
    back = read(path)
    assert back.pixels.dtype == img.dtype and np.array_equal(back.pixels, img)
    assert back.has_alpha == (len(shape) == 3 and shape[2] in (2, 4))
    if fmt != "bmp":
        assert back.info["icc_profile"] == SRGB


def test_16bit_png_keeps_icc_exif_and_resolution_for_other_readers(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "dpdown-test"  # Make
    write(random_image((6, 5, 3), np.uint16), tmp_path / "d.png",
          {"icc_profile": SRGB, "exif": exif.tobytes(), "dpi": (300, 300)})
    with Image.open(tmp_path / "d.png") as im:  # Pillow reads the chunks of libpng's file
        assert im.info["icc_profile"] == SRGB and im.getexif()[0x010F] == "dpdown-test"
        assert round(im.info["dpi"][0]) == 300


def test_lossy_formats_quality_and_8bit_note(tmp_path):
    img = (random_image((32, 32, 3), np.uint16) // 64 + 20000).astype(np.uint16)  # smooth enough
    notes = []
    write(img, tmp_path / "lo.jpg", quality=20, notes=notes)
    write(img, tmp_path / "hi.jpg", quality=95)
    assert os.path.getsize(tmp_path / "lo.jpg") < os.path.getsize(tmp_path / "hi.jpg")
    assert "8 bits" in notes[0]
    write(random_image((8, 8, 4), np.uint8), tmp_path / "a.webp", quality=100)
    assert read(tmp_path / "a.webp").has_alpha


def test_palette_cmyk_and_animation_are_converted_and_said(tmp_path):
    rgb = random_image((8, 8, 3), np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    image = read(tmp_path / "p.png")
    assert image.pixels.shape == (8, 8, 3) and "palette" in image.notes[0]
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    image = read(tmp_path / "c.jpg")
    assert image.pixels.shape == (8, 8, 3) and "CMYK" in image.notes[0]
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 200)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    image = read(tmp_path / "a.gif")
    assert any("2 frames: the first frame" in note for note in image.notes)
    assert (image.pixels[0, 0] == 10).all()
    result = run("scale", tmp_path / "p.png", "-k", "2", "-m", "avg", "-o", tmp_path / "o.png", "-v")
    assert result.exit_code == 0 and "palette image expanded" in result.output


# ---- alpha -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["avg", "dpid"])
def test_transparent_border_never_bleeds_its_colour(method):
    img = np.zeros((16, 16, 4), np.uint8)
    img[..., 0] = 255                      # transparent red everywhere...
    img[5:11, 5:11] = (0, 200, 0, 255)     # ...around an opaque green square
    out = dpdown.downscale(img, 4, method=method)
    edge = out[1, 1]                       # the window straddling the square's corner
    assert 0 < edge[3] < 255 and edge[0] == 0 and edge[1] == 200
    assert (out[0, 0] == 0).all()  # fully transparent stays transparent, with no colour


# ---- colour and metadata ---------------------------------------------------------------------

def test_linear_light_matches_the_formula_and_brightens_fine_detail():
    checker = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, 2)
    assert dpdown.downscale(checker, 2, method="avg")[0, 0, 0] == 128
    assert dpdown.downscale(checker, 2, method="avg", linear=True)[0, 0, 0] == 188  # sRGB of half the light
    img = random_image((12, 10, 3), np.uint8)
    expect = to_srgb(to_linear(img / 255.0).reshape(6, 2, 5, 2, 3).mean((1, 3)))
    assert np.array_equal(dpdown.downscale(img, 2, method="avg", linear=True), np.rint(expect * 255))


def test_linear_dpid_on_16bit_with_alpha_is_dpid_of_the_linear_image():
    img = random_image((12, 10, 4), np.uint16)
    lin = img / 65535.0
    lin[..., :3] = to_linear(lin[..., :3])
    out = dpdown.downscale(lin, 2, method="dpid")
    expect = np.rint(np.concatenate([to_srgb(out[..., :3]), out[..., 3:]], axis=2).clip(0, 1) * 65535)
    got = dpdown.downscale(img, 2, method="dpid", linear=True)
    assert np.abs(got.astype(np.int64) - expect).max() <= 1


def test_exif_orientation_applied_and_reset(tmp_path):
    img = random_image((6, 9, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(img).save(tmp_path / "o.png", exif=exif.tobytes())
    image = read(tmp_path / "o.png")
    from PIL import ImageOps

    assert np.array_equal(image.pixels, np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png"))))
    assert image.pixels.shape == (9, 6, 3)
    for orientation in range(1, 9):
        exif[0x0112] = orientation
        Image.fromarray(img).save(tmp_path / "o.png", exif=exif.tobytes())
        assert np.array_equal(orient(img, orientation),
                              np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png"))))
    reloaded = Image.Exif()
    reloaded.load(image.info["exif"])
    assert reloaded[0x0112] == 1


def test_cli_keeps_icc_and_exif_by_default_and_strip_drops_them(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "camera"
    Image.fromarray(random_image((16, 16, 3), np.uint8)).save(tmp_path / "in.jpg", icc_profile=SRGB,
                                                               exif=exif.tobytes())
    assert run("scale", tmp_path / "in.jpg", "-k", "2", "-m", "avg", "-o", tmp_path / "keep.jpg").exit_code == 0
    assert run("scale", tmp_path / "in.jpg", "-k", "2", "-m", "avg", "--strip", "-o",
               tmp_path / "bare.jpg").exit_code == 0
    with Image.open(tmp_path / "keep.jpg") as keep, Image.open(tmp_path / "bare.jpg") as bare:
        assert keep.info.get("icc_profile") == SRGB and keep.getexif()[0x010F] == "camera"
        assert not bare.info.get("icc_profile") and 0x010F not in bare.getexif()


def test_cli_16bit_rgba_png_stays_16bit_with_linear(tmp_path):
    img = random_image((8, 8, 4), np.uint16)
    write(img, tmp_path / "in.png", {"icc_profile": SRGB})
    result = run("scale", tmp_path / "in.png", "-k", "2", "-m", "avg", "--linear", "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    out = read(tmp_path / "out.png")
    assert out.pixels.dtype == np.uint16 and out.has_alpha and out.info["icc_profile"] == SRGB
    assert np.array_equal(out.pixels, dpdown.downscale(img, 2, method="avg", linear=True))


# ---- pipes -----------------------------------------------------------------------------------

def test_stdin_to_stdout(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(random_image((8, 8, 3), np.uint8)).save(buf, "PNG")
    result = CliRunner().invoke(cli, ["scale", "-", "-k", "2", "-m", "avg", "-o", "-", "--format", "tiff"],
                                input=buf.getvalue())
    assert result.exit_code == 0
    assert tifffile.imread(io.BytesIO(result.stdout_bytes)).shape == (4, 4, 3)
    assert run("scale", "-", "-k", "2", "-o", "-", input=buf.getvalue()).exit_code == 2  # -o - needs --format


# ---- huge images -----------------------------------------------------------------------------

STRIP_CASES = [(name, {}) for name in registry.standalone()] + [
    ("dpp", {"guide": "full"}), ("stochastic", {"seed": 3}),
    ("learned", {"operator": make_operator(2, 4, 3)})]  # tiles of 4 across strips of one output row


@pytest.mark.parametrize("name,params", STRIP_CASES, ids=[f"{n}{'-' + next(iter(p)) if p else ''}"
                                                           for n, p in STRIP_CASES])
def test_strips_are_bit_identical_to_the_whole_image(name, params):
    img = random_image((23, 17, 3), np.uint8, seed=5)
    budget = 9 * 3 * 8 * 4 * 3  # three output rows of 9 columns: strips of one row
    for geometry in ({"k": 2}, {"shape": (7, 9)}) if name not in ("s3pool", "s3dpp", "gated", "learned") \
            else ({"k": 2},):
        whole = dpdown.downscale(img, method=name, **geometry, **params)
        cut = dpdown.downscale(img, method=name, memory_budget=budget, **geometry, **params)
        assert np.array_equal(whole, cut), geometry


def test_uncompressed_tiff_is_memory_mapped_and_strips_match(tmp_path):
    img = random_image((40, 30, 3), np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", img, photometric="rgb")
    image = read(tmp_path / "big.tif")
    assert isinstance(image.pixels, np.memmap) and "memory-mapped" in image.notes[0]
    whole = dpdown.downscale(img, 4, method="dpid")
    assert np.array_equal(dpdown.downscale(image.pixels, 4, method="dpid", memory_budget="3K"), whole)


# ---- bad input: one line, exit 1, nothing written ----------------------------------------------

def _make_bad(kind, path):
    if kind == "nan":
        img = random_image((8, 8), np.float32)
        img[3, 3] = np.nan
        tifffile.imwrite(path, img)
    elif kind == "inf":
        img = random_image((8, 8, 3), np.float32)
        img[0, 0, 1] = np.inf
        tifffile.imwrite(path, img, photometric="rgb")
    elif kind == "zero":
        path.write_bytes(_png_header_only(0, 7))
    elif kind == "orientation":
        exif = Image.Exif()
        exif[0x0112] = 77
        Image.fromarray(random_image((8, 8, 3), np.uint8)).save(path, exif=exif.tobytes())
    elif kind == "truncated":
        buf = io.BytesIO()
        Image.fromarray(random_image((64, 64, 3), np.uint8)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif kind == "huge":
        path.write_bytes(_png_header_only(100_000, 100_000))


@pytest.mark.parametrize("kind,suffix,text", [
    ("nan", ".tif", "NaN"), ("inf", ".tif", "infinite"), ("zero", ".png", ""),
    ("orientation", ".png", "orientation"), ("truncated", ".jpg", "truncated"),
    ("huge", ".png", "--max-pixels"),
])
def test_bad_input_is_one_line_and_no_output(tmp_path, kind, suffix, text):
    src = tmp_path / f"bad{suffix}"
    _make_bad(kind, src)
    before = set(os.listdir(tmp_path))
    result = run("scale", src, "-k", "2", "-m", "avg", "-o", tmp_path / "out.png")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpdown: error:") and text in lines[0], result.output
    assert set(os.listdir(tmp_path)) == before


def test_max_pixels_option(tmp_path):
    Image.fromarray(random_image((20, 20, 3), np.uint8)).save(tmp_path / "in.png")
    result = run("scale", tmp_path / "in.png", "-k", "2", "--max-pixels", "100", "-o", tmp_path / "o.png")
    assert result.exit_code == 1 and "--max-pixels" in result.output
    assert run("scale", tmp_path / "in.png", "-k", "2", "-m", "avg", "--max-pixels", "400",
               "-o", tmp_path / "o.png").exit_code == 0


@pytest.mark.cuda
@pytest.mark.parametrize("dtype,method", [(np.uint8, "dpid"), (np.uint16, "avg")])
def test_linear_light_on_cuda_matches_the_cpu(dtype, method):
    # uint8: the table in CUDA constant memory; uint16: the formula (the CPU uses a table)
    img = random_image((9, 8, 4), dtype, seed=2)
    cpu = dpdown.downscale(img, 3, method=method, linear=True)
    gpu = dpdown.downscale(img, 3, method=method, linear=True, device="cuda")
    assert np.abs(cpu.astype(np.int64) - gpu).max() <= 1
