import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from dpdown import __version__
from dpdown.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def photo(tmp_path, samples):
    path = tmp_path / "photo.png"
    Image.open(samples / "keong_macan.png").crop((0, 0, 120, 90)).save(path)
    return path


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


def test_version_and_help(runner):
    assert __version__ in run(runner, "--version").output
    out = run(runner, "scale", "--help").output
    for flag in ("--lambda", "--alpha", "--variant", "--guide", "--filter", "--size", "--scale", "--stride",
                 "Examples"):
        assert flag in out


def test_methods_table(runner):
    result = run(runner, "methods")
    assert result.exit_code == 0
    for name in ("avg", "dpid", "dpp", "Weber", "Saeedan"):
        assert name in result.output
    one = run(runner, "methods", "dpp")
    assert one.exit_code == 0 and "ρ_Sym" in one.output and "--variant" in one.output
    assert run(runner, "methods", "nope").exit_code == 2


@pytest.mark.parametrize("args,size", [
    (["-k", "4", "--method", "dpid", "--lambda", "1"], (30, 23)),
    (["-k", "4", "--method", "dpp", "--lambda", "1", "--alpha", "1", "--variant", "asym"], (30, 23)),
    (["--size", "40x"], (40, 30)),
    (["--size", "x45"], (60, 45)),
    (["--size", "50x20"], (50, 20)),
    (["--scale", "0.3"], (36, 27)),
    (["-k", "3", "--stride", "2", "-m", "avg"], (60, 45)),
    (["-k", "2", "-m", "dpp", "--guide", "full", "--filter", "0,0,0,0,1,0,0,0,0"], (60, 45)),
])
def test_scale_writes_expected_size(runner, photo, tmp_path, args, size):
    out = tmp_path / "out.png"
    result = run(runner, "scale", photo, *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == size


def test_result_matches_api(runner, photo, tmp_path):
    import dpdown
    run(runner, "scale", photo, "-k", "3", "-m", "dpp", "--variant", "asym", "-o", tmp_path / "o.png")
    expected = dpdown.downscale(np.asarray(Image.open(photo)), 3, method="dpp", variant="asym")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "o.png")), expected)


def test_default_output_name_beside_input(runner, photo, tmp_path):
    assert run(runner, "scale", photo, "-k", "4", "-m", "dpp").exit_code == 0
    assert (tmp_path / "photo_dpp_k4.png").exists()
    assert run(runner, "scale", photo, "--size", "30x").exit_code == 0
    assert (tmp_path / "photo_dpid_30x22.png").exists()


def test_output_folder(runner, photo, tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    assert run(runner, "scale", photo, "-k", "2", "-o", folder).exit_code == 0
    assert (folder / "photo_dpid_k2.png").exists()


def test_gray_alpha_and_16bit(runner, tmp_path, samples):
    for name in ("keong_macan_gray.png", "riaphotographs_alpha.png"):
        result = run(runner, "scale", samples / name, "-k", "5", "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert Image.open(tmp_path / name).mode == Image.open(samples / name).mode
    deep = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert run(runner, "scale", tmp_path / "deep.png", "-k", "2", "-o", tmp_path / "d2.png").exit_code == 0
    back = np.asarray(Image.open(tmp_path / "d2.png"))
    assert back.max() > 255 and back.shape == (24, 32)


def test_jpeg_output(runner, photo, tmp_path):
    assert run(runner, "scale", photo, "-k", "2", "-o", tmp_path / "o.jpg").exit_code == 0
    assert Image.open(tmp_path / "o.jpg").format == "JPEG"


# ---- bad input: one line on stderr, exit 2 (usage) or 1 (processing), nothing written --------

def _fails(runner, tmp_path, args, code, text):
    before = set(os.listdir(tmp_path))
    result = run(runner, "scale", *args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpdown: error:") and text in lines[0], result.output
    assert "Traceback" not in result.output
    assert set(os.listdir(tmp_path)) == before, "no file (not even a partial one) is left behind"


@pytest.mark.parametrize("make,args,code,text", [
    (None, ["missing.png", "-k", "2"], 1, "no such file"),
    ("dir", ["-k", "2"], 1, "no image files found"),
    ("text", ["-k", "2"], 1, "not an image"),
    ("empty", ["-k", "2"], 1, "empty file"),
    ("truncated", ["-k", "2"], 1, "cannot decode"),
    ("photo", ["-k", "0"], 2, "-k"),
    ("photo", ["-k", "-3"], 2, "-k"),
    ("photo", ["-k", "500"], 2, "larger than the image"),
    ("photo", ["-k", "2", "-m", "unknown"], 2, "unknown"),
    ("photo", ["--size", "12y"], 2, "malformed size"),
    ("photo", ["--size", "4000x"], 2, "only downscales"),
    ("photo", ["-k", "2", "--alpha", "1"], 2, "does not apply"),
    ("photo", ["-k", "2", "--lambda", "-1"], 2, "must be in"),
    ("photo", ["-k", "2", "-m", "dpp", "--filter", "1,2"], 2, "needs 9"),
    ("photo", [], 2, "exactly one"),
    ("photo", ["-k", "2", "--scale", "0.5"], 2, "exactly one"),
    ("photo", ["-k", "2", "-o", "nodir/out.png"], 1, "does not exist"),
    ("photo", ["-k", "2", "-o", "out.xyz"], 1, "unknown output format"),
    ("alpha", ["-k", "2", "-o", "out.jpg"], 1, "transparency"),
])
def test_bad_input(runner, tmp_path, photo, samples, make, args, code, text):
    src = tmp_path / "input.png"
    if make == "dir":
        src.mkdir()
    elif make == "text":
        src.write_text("not an image")
    elif make == "empty":
        src.write_bytes(b"")
    elif make == "truncated":
        src.write_bytes(photo.read_bytes()[:3000])
    elif make == "photo":
        shutil.copy(photo, src)
    elif make == "alpha":
        shutil.copy(samples / "riaphotographs_alpha.png", src)
    else:
        src = tmp_path / args.pop(0)
    os.chdir(tmp_path)
    _fails(runner, tmp_path, [src, *args], code, text)


def test_existing_output_and_input_are_not_overwritten(runner, photo, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    _fails(runner, tmp_path, [photo, "-k", "2", "-o", out], 1, "already exists")
    assert out.read_bytes() == b"keep me"
    original = photo.read_bytes()
    _fails(runner, tmp_path, [photo, "-k", "2", "-o", photo], 2, "overwrite the input")
    assert photo.read_bytes() == original
    assert run(runner, "scale", photo, "-k", "2", "-o", out, "--overwrite").exit_code == 0
    assert Image.open(out).size == (60, 45)


def test_unwritable_output(runner, photo, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # root may write anywhere on disk, but nobody may create files in /proc
        target = locked if not os.access(locked, os.W_OK) else "/proc"
        result = run(runner, "scale", photo, "-k", "2", "-o", os.path.join(target, "o.png"))
        assert result.exit_code == 1
        assert result.output.startswith("dpdown: error:") and "cannot write" in result.output
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_failed_encode_leaves_no_partial_file(runner, photo, tmp_path, monkeypatch):
    from PIL import Image as PILImage

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(PILImage.Image, "save", broken_save)
    _fails(runner, tmp_path, [photo, "-k", "2", "-o", tmp_path / "o.png"], 1, "disk full")


def test_readme_methods_table_is_generated_from_the_registry():
    import pathlib

    from dpdown.methods.registry import markdown_table
    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("<!-- methods:start -->\n")[1].split("\n<!-- methods:end -->")[0]
    assert block == markdown_table(), "regenerate with: dpdown methods --markdown"


@pytest.mark.parametrize("args", [
    ["-k", "2", "-m", "softpool", "--beta", "20"],
    ["-k", "3", "--stride", "1", "-m", "ordinal", "--pool-range", "3", "--weights", "1,0,0"],
    ["--scale", "0.4", "-m", "lp", "--p", "3"],
    ["-k", "2", "-m", "gated", "--gate-weights", "1,2,3,4"],
    ["-k", "2", "-m", "s3pool", "--grid", "4", "--seed", "3"],
    ["-k", "2", "-m", "stochastic", "--mode", "weighted"],
    ["-k", "1", "-m", "avg", "--channel-pool", "max", "--channel-stride", "3"],
    ["-k", "2", "-m", "lip", "--logit-filter", "0,0,0,0,20,0,0,0,0"],
])
def test_family_from_the_cli(runner, photo, tmp_path, args):
    result = run(runner, "scale", photo, *args, "-o", tmp_path / "o.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").exists()
    if "--channel-pool" in args:
        assert Image.open(tmp_path / "o.png").mode == "L"


# ---- interrupted, cleaned up; folders; formats -------------------------------------------------

def test_sigterm_while_writing_leaves_no_partial_file_and_exits_143(runner, photo, tmp_path, monkeypatch):
    import signal

    from PIL import Image as PILImage

    def save_then_terminated(self, fp, *args, **kwargs):
        fp.write(b"partial")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(PILImage.Image, "save", save_then_terminated)
    before = set(os.listdir(tmp_path))
    result = run(runner, "scale", photo, "-k", "2", "-o", tmp_path / "o.png")
    assert result.exit_code == 143 and result.output.strip() == "dpdown: error: interrupted", result.output
    assert set(os.listdir(tmp_path)) == before


def test_a_single_file_run_removes_what_a_killed_run_left(runner, photo, tmp_path):
    import subprocess
    import sys

    from dpdown.io.write import part_name

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / os.path.basename(part_name(tmp_path / "o.png").replace(f"-{os.getpid()}-", f"-{dead.pid}-"))
    stale.write_bytes(b"half an image")
    assert run(runner, "scale", photo, "-k", "2", "-m", "avg", "-o", tmp_path / "o.png").exit_code == 0
    assert not stale.exists() and (tmp_path / "o.png").exists()


def test_a_trailing_slash_names_a_folder_to_create(runner, photo, tmp_path):
    result = run(runner, "scale", photo, "-k", "2", "-m", "avg", "-o", f"{tmp_path / 'newdir'}/")
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path / "newdir") == ["photo_avg_k2.png"]


def test_a_missing_input_folder_is_named_as_missing_and_nothing_is_made(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(runner, "scale", "nothere/", "-k", "2")
    assert result.exit_code == 1 and "nothere/: no such file or folder" in result.output, result.output
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("output,fmt,code", [("x.jpg", "png", 2), ("x.jpeg", "jpg", 0), ("x.out", "png", 0)])
def test_format_and_extension_must_agree(runner, photo, tmp_path, output, fmt, code):
    result = run(runner, "scale", photo, "-k", "2", "-m", "avg", "--format", fmt, "-o", tmp_path / output)
    assert result.exit_code == code, result.output
    if code:
        assert "does not match the file's extension" in result.output and not (tmp_path / output).exists()


def test_readme_first_set_up_command_runs_twice(runner, tmp_path, samples, monkeypatch):
    import pathlib
    import shlex

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    (line,) = [ln for ln in readme.splitlines() if "pip install -e . && dpdown scale" in ln]
    args = shlex.split(line.split("&& dpdown ", 1)[1])
    (tmp_path / "sample_images").symlink_to(samples)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == ["out", "sample_images"] and len(os.listdir(tmp_path / "out")) == 1


@pytest.mark.parametrize("args,whole", [
    (["datasets"], "sudo apt-get install libjxl-testdata lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 "
                   "plasma-workspace-wallpapers"),
    (["methods"], "Saeedan, Weber, Goesele, Roth. Detail-Preserving Pooling in Deep Networks. CVPR 2018"),
])
def test_tables_are_whole_when_piped(runner, args, whole, monkeypatch, tmp_path):
    """Not on a terminal (CliRunner's output is not one), a table is printed at its full width:
    nothing a user may copy is cut to 80 columns."""
    monkeypatch.setenv("DPDOWN_DATASETS_ROOT", str(tmp_path))  # none installed: the whole command shows
    monkeypatch.delenv("COLUMNS", raising=False)
    result = run(runner, *args)
    assert result.exit_code == 0 and "…" not in result.output
    assert whole in result.output
