"""Batch processing (issue 5): folders, globs, parallel workers, resuming, Dask."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import dpdown
from dpdown.cli import cli
from dpdown.write import PART_SUFFIX

from conftest import random_image


def run(*args):
    return CliRunner().invoke(cli, ["scale", *[str(a) for a in args]])


@pytest.fixture
def tree(tmp_path, samples):
    """in/: two photos at the top, a JPEG, a corrupt PNG, a zero-byte JPEG and a text file below."""
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.open(samples / "flower.png").crop((0, 0, 90, 70)).save(root / "flower.png")
    Image.open(samples / "keong_macan.png").crop((0, 0, 64, 50)).save(root / "keong.png")
    Image.open(samples / "bliznaca.png").convert("RGB").crop((0, 0, 80, 60)).save(root / "sub" / "b.jpg")
    Image.open(samples / "keong_macan_gray.png").crop((0, 0, 40, 44)).save(root / "sub" / "deeper" / "gray.png")
    (root / "sub" / "corrupt.png").write_bytes((root / "flower.png").read_bytes()[:200])
    (root / "sub" / "deeper" / "zero.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("not an image")
    return root


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


EXPECTED = ["flower_avg_k2.png", "keong_avg_k2.png", os.path.join("sub", "b_avg_k2.jpg"),
            os.path.join("sub", "deeper", "gray_avg_k2.png")]


def test_tree_mirrored_bad_files_reported_and_the_rest_done(tree, tmp_path):
    result = run(tree, "-r", "-o", tmp_path / "out", "-k", "2", "-m", "avg", "--jobs", "2")
    assert result.exit_code == 1
    assert files_under(tmp_path / "out") == sorted(EXPECTED)
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert len(failed) == 2 and any("corrupt.png: cannot decode" in f for f in failed) \
        and any("zero.jpg: empty file" in f for f in failed)
    assert "notes.txt" not in result.output  # not an image name: never picked up
    assert "done" in result.output and "Traceback" not in result.output
    with Image.open(tmp_path / "out" / "sub" / "b_avg_k2.jpg") as im:
        assert im.format == "JPEG" and im.size == (40, 30)


def test_without_recursion_only_the_top_folder(tree, tmp_path):
    result = run(tree, "-o", tmp_path / "out", "-k", "2", "-m", "avg", "-j", "1")
    assert result.exit_code == 0, result.output
    assert files_under(tmp_path / "out") == ["flower_avg_k2.png", "keong_avg_k2.png"]


def test_one_and_two_jobs_give_identical_files(tree, tmp_path):
    for jobs in (1, 2):
        run(tree, "-r", "-o", tmp_path / f"out{jobs}", "-k", "3", "-m", "stochastic", "--seed", "7", "-j", jobs)
    assert files_under(tmp_path / "out1") == files_under(tmp_path / "out2") == \
        sorted(e.replace("avg_k2", "stochastic_k3") for e in EXPECTED)
    for rel in files_under(tmp_path / "out1"):
        assert (tmp_path / "out1" / rel).read_bytes() == (tmp_path / "out2" / rel).read_bytes(), rel


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_existing_outputs_refused_then_resumed_with_skip_existing(tree, tmp_path):
    out = tmp_path / "out"
    assert run(tree, "-r", "-o", out, "-k", "2", "-m", "avg", "-j", "1").exit_code == 1
    # a run interrupted after two files, one of them killed while writing
    os.remove(out / "keong_avg_k2.png")
    os.remove(out / "sub" / "deeper" / "gray_avg_k2.png")
    stale = out / f".keong_avg_k2.png.{socket.gethostname()}-{_dead_pid()}-140001{PART_SUFFIX}"
    stale.write_bytes(b"half an image")
    kept = (out / "flower_avg_k2.png").stat().st_mtime_ns

    resumed = run(tree, "-r", "-o", out, "-k", "2", "-m", "avg", "-j", "1", "--skip-existing")
    assert resumed.exit_code == 1  # the corrupt and empty inputs still fail
    assert sum(line.startswith("skipped ") for line in resumed.output.splitlines()) == 2
    assert files_under(out) == sorted(EXPECTED), "the missing outputs are made, the stale part removed"
    assert (out / "flower_avg_k2.png").stat().st_mtime_ns == kept

    again = run(tree, "-r", "-o", out, "-k", "2", "-m", "avg", "-j", "1")
    assert again.exit_code == 1 and again.output.count("already exists (use --overwrite") == 2 * 4
    assert run(tree, "-r", "-o", out, "-k", "2", "-m", "avg", "--overwrite", "-j", "1").exit_code == 1
    assert (out / "flower_avg_k2.png").stat().st_mtime_ns != kept


def test_killed_worker_fails_its_files_and_leaves_no_partial_file(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(16):
        Image.fromarray(random_image((300, 400, 3), np.uint8, seed=i)).save(src / f"img{i:02d}.png")
    proc = subprocess.Popen([sys.executable, "-m", "dpdown", "scale", src, "-o", out, "-k", "2", "-m", "avg",
                             "-j", "2"], stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.time() + 60
    while victim is None and time.time() < deadline and proc.poll() is None:
        victim = next((pid for pid in _children(proc.pid) if "spawn_main" in _cmdline(pid)), None)
        time.sleep(0.02)
    assert victim is not None, "no worker process seen"
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "worker process died" in err and "Traceback" not in err
    leftovers = [f for f in files_under(out)]
    assert not [f for f in leftovers if f.endswith(PART_SUFFIX)]
    for name in leftovers:  # every output there is whole
        with Image.open(out / name) as im:
            im.load()
    resumed = run(src, "-o", out, "-k", "2", "-m", "avg", "-j", "2", "--skip-existing")
    assert resumed.exit_code == 0, resumed.output
    assert len(files_under(out)) == 16


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_globs_several_inputs_name_template_and_format(tree, tmp_path):
    out = tmp_path / "out"
    result = run(tree / "flower.png", str(tree / "**" / "b*.jpg"), "-o", out, "-k", "2", "-m", "avg",
                 "--name", "{method}-{stem}-{size}.{ext}", "--format", "webp", "-j", "1")
    assert result.exit_code == 0, result.output
    assert files_under(out) == ["avg-flower-45x35.webp", os.path.join("sub", "avg-b-40x30.webp")]


def test_python_api_same_outcomes(tree, tmp_path):
    seen = []
    summary = dpdown.downscale_files(tree, tmp_path / "out", 2, recursive=True, method="avg", jobs=1,
                                     on_outcome=seen.append)
    assert (summary.count("done"), summary.count("failed"), summary.count("skipped")) == (4, 2, 0)
    assert len(seen) == 6 and files_under(tmp_path / "out") == sorted(EXPECTED)
    assert sorted(os.path.basename(o.source) for o in summary.failures) == ["corrupt.png", "zero.jpg"]
    done = [o for o in summary.outcomes if o.status == "done"]
    assert all(set(o.seconds) == {"decode", "compute", "encode"} for o in done)
    assert summary.megapixels_per_second > 0


def test_dask_local_cluster_gives_the_same_files_and_summary(tree, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = run(tree, "-r", "-o", tmp_path / "local", "-k", "2", "-m", "avg", "-j", "1")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = run(tree, "-r", "-o", tmp_path / "dask", "-k", "2", "-m", "avg", "--dask",
                     cluster.scheduler_address)
    assert remote.exit_code == local.exit_code == 1
    assert files_under(tmp_path / "dask") == files_under(tmp_path / "local")
    for rel in files_under(tmp_path / "local"):
        assert (tmp_path / "dask" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()
    assert sorted(line for line in remote.output.splitlines() if "✗" in line) == \
        sorted(line for line in local.output.splitlines() if "✗" in line)


@pytest.mark.parametrize("args,text", [
    (["-k", "2", "--overwrite", "--skip-existing"], "exclude each other"),
    (["-k", "2", "--name", "{stem}_{bogus}.png"], "unknown field {bogus}"),
    (["-k", "2", "--dask", "tcp://127.0.0.1:9"], "Dask scheduler"),
])
def test_bad_batch_arguments(tree, tmp_path, args, text, monkeypatch):
    monkeypatch.setenv("DPDOWN_DASK_TIMEOUT", "1")  # an unreachable scheduler: fail fast
    result = run(tree, "-o", tmp_path / "out", *args)
    assert result.exit_code in (1, 2) and text in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_glob_without_match_and_file_as_output_folder(tree, tmp_path):
    result = run(str(tree / "*.tiff"), "-k", "2")
    assert result.exit_code == 2 and "no image file matches" in result.output
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    result = run(tree / "flower.png", tree / "keong.png", "-o", target, "-k", "2")
    assert result.exit_code == 2 and "must be a folder" in result.output


def test_threads_write_under_their_own_part_names(tmp_path):
    """Two threads (a GPU batch's, a Dask worker's) writing inputs that map to one output name
    (a.png and a.bmp with --format png) each write a file of their own, then rename it."""
    import threading

    from dpdown.write import part_name, write_atomic

    target = tmp_path / "a.png"
    names, failures, started = [], [], threading.Barrier(2)

    def produce(stream):
        started.wait(timeout=10)  # both writers are inside write_atomic at once
        names.append(part_name(target))  # this writer's temporary file
        stream.write(b"whole " * 1000)

    def write():
        try:
            write_atomic(target, produce, True)
        except Exception as exc:
            failures.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert not failures and len(set(names)) == 2
    assert target.read_bytes() == b"whole " * 1000 and files_under(tmp_path) == ["a.png"]
