"""Batch processing: folders, globs, parallel workers, resuming, Dask."""

import importlib
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
from dpdown.io.write import PART_SUFFIX

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


def test_killed_worker_loses_no_file(tmp_path):
    """kill -9 of a worker (or the OOM killer) breaks the pool: the files it held are tried
    again by a new worker, each ends done, and nothing partial is left."""
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
    assert proc.returncode == 0, err
    assert "worker process died" in err and "tried again" in err and "Traceback" not in err
    assert len(files_under(out)) == 16
    for name in files_under(out):  # every output there is whole
        with Image.open(out / name) as im:
            im.load()


def _dies_on_bad(item):
    """A task whose worker is killed outright whenever it takes the item named "bad"."""
    if item == "bad":
        os.kill(os.getpid(), signal.SIGKILL)
    return ("done", item)


def _dies_once(item):
    """A task whose worker is killed the first time it takes item "flaky" (a marker file remembers)."""
    path, name = item
    if name == "flaky" and not os.path.exists(path):
        open(path, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return ("done", name)


def test_a_file_that_kills_its_worker_fails_alone_and_every_other_is_done():
    from dpdown.io.batch import run_tasks

    items = ["a", "b", "bad", "c", "d", "e", "f"]
    results = []
    with pytest.warns(RuntimeWarning, match="worker process died"):
        run_tasks(_dies_on_bad, items, jobs=2, done=results.append, lost=lambda item, why: ("failed", item, why))
    assert len(results) == len(items)
    assert sorted(r[1] for r in results if r[0] == "done") == ["a", "b", "c", "d", "e", "f"]
    (failed,) = [r for r in results if r[0] == "failed"]
    assert failed[1] == "bad" and "also when tried alone" in failed[2]


def test_a_worker_killed_from_outside_costs_no_file(tmp_path):
    from dpdown.io.batch import run_tasks

    marker = str(tmp_path / "killed-once")
    names = ["a", "flaky", "b", "c"]
    results = []
    with pytest.warns(RuntimeWarning, match="tried again"):
        run_tasks(_dies_once, [(marker, n) for n in names], jobs=2, done=results.append,
                  lost=lambda item, why: ("failed", item, why))
    assert sorted(results) == [("done", n) for n in sorted(names)]


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


def _installed(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("args,text", [
    (["-k", "2", "--overwrite", "--skip-existing"], "exclude each other"),
    (["-k", "2", "--name", "{stem}_{bogus}.png"], "unknown field {bogus}"),
    pytest.param(["-k", "2", "--dask", "tcp://127.0.0.1:9"], "Dask scheduler", marks=pytest.mark.skipif(
        not _installed("distributed"), reason="needs the dask extra: dpdown[dask]")),
])
def test_bad_batch_arguments(tree, tmp_path, args, text, monkeypatch):
    monkeypatch.setenv("DPDOWN_DASK_TIMEOUT", "1")  # an unreachable scheduler: fail fast
    result = run(tree, "-o", tmp_path / "out", *args)
    assert result.exit_code in (1, 2) and text in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_dask_without_its_extra_says_which_package(tree, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    result = run(tree, "-o", tmp_path / "out", "-k", "2", "--dask", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and result.output.strip() == \
        "dpdown: error: --dask needs the distributed package: pip install 'dpdown[dask]'"


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

    from dpdown.io.write import part_name, write_atomic

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


# ---- names stay inside the output folder -----------------------------------------------------

@pytest.mark.parametrize("template", ["../../escape_{stem}.{ext}", "../{stem}.{ext}", "/tmp/{stem}.{ext}",
                                      "sub/../../{stem}.{ext}", "{stem}/"])
def test_a_name_leaving_the_output_folder_is_a_usage_error(tree, tmp_path, template):
    before = files_under(tmp_path)
    result = run(tree, "-o", tmp_path / "out", "-k", "2", "-m", "avg", "--name", template, "-j", "1")
    assert result.exit_code == 2, result.output
    assert "must stay inside the output folder" in result.output and len(result.output.strip().splitlines()) == 1
    assert files_under(tmp_path) == before
    with pytest.raises(dpdown.errors.ParameterError, match="inside the output folder"):
        dpdown.downscale_files(tree, tmp_path / "out", 2, method="avg", name=template, jobs=1)


def test_a_name_with_subfolders_makes_them_inside_the_output_folder(tree, tmp_path):
    result = run(tree, "-o", tmp_path / "out", "-k", "2", "-m", "avg", "--name", "{method}/k{k}/{stem}.{ext}",
                 "-j", "1")
    assert result.exit_code == 0, result.output
    assert files_under(tmp_path / "out") == [os.path.join("avg", "k2", "flower.png"),
                                             os.path.join("avg", "k2", "keong.png")]


# ---- every failure names its file; an unwritable output stops early -------------------------

def test_a_size_failure_in_a_batch_names_the_file(tree, tmp_path):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tree / "dot.png")
    result = run(tree, "-o", tmp_path / "out", "-k", "2", "-m", "avg", "-j", "1")
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "larger than the image" in line]
    assert len(failed) == 2 and all(str(tree / "dot.png") in line for line in failed), failed  # live line, summary


def _read_only_folder(tmp_path):
    """A folder no file can be made in: one without write permission, or, for root (whom
    permissions do not stop), a folder of sysfs."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked
    return "/sys/fs"


def test_a_read_only_output_folder_is_one_line_before_any_file(tree, tmp_path):
    result = run(tree, "-o", _read_only_folder(tmp_path), "-k", "2", "-m", "avg", "-j", "1")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpdown: error:") and "cannot write" in lines[0], lines
    assert "Errno" not in result.output and "PermissionError" not in result.output


def test_inputs_whose_output_folder_is_read_only_fail_and_the_others_are_done(tree, tmp_path):
    from dpdown.io import batch

    job = batch.Job(dict(k=2, method="avg"))
    items = [batch.Item(str(tree / "flower.png"), str(tmp_path / "out")),
             batch.Item(str(tree / "keong.png"), str(_read_only_folder(tmp_path)))]
    summary = batch.run(job, items, jobs=1)
    assert [o.status for o in summary.outcomes] == ["failed", "done"]
    assert "cannot write to the output folder" in summary.outcomes[0].reason


# ---- interrupted: nothing partial, a summary, the signal's exit status ----------------------

def test_sigterm_mid_batch_prints_what_finished_and_exits_143(tree, tmp_path, monkeypatch):
    from dpdown.io import batch

    real, seen = batch.process, []

    def process_then_terminate(job, item):
        seen.append(item)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while this file is being written
        return real(job, item)

    monkeypatch.setattr(batch, "process", process_then_terminate)
    result = run(tree, "-r", "-o", tmp_path / "out", "-k", "2", "-m", "avg", "-j", "1")
    assert result.exit_code == 143, result.output
    assert result.output.strip().splitlines()[-1] == "dpdown: error: interrupted"
    assert "files not done" in result.output and "dpdown scale" in result.output  # the summary table
    assert not [f for f in files_under(tmp_path / "out") if f.endswith(PART_SUFFIX)]
    assert len(files_under(tmp_path / "out")) <= 1


def test_an_interrupted_batch_says_what_finished_through_the_api(tree, tmp_path):
    from dpdown.errors import Interrupted
    from dpdown.io import batch

    items = batch.collect([tree], tmp_path / "out", recursive=True)

    def stop_after_the_first(outcome):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C; its handler runs before raise_signal returns

    # Python's own Ctrl-C handler, as in a terminal: a job a shell starts in the background
    # (``cmd &`` in a script) inherits Ctrl-C ignored, and Python then installs none
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(Interrupted) as stopped:
            batch.run(batch.Job(dict(k=2, method="avg")), items, jobs=1, on_outcome=stop_after_the_first)
    finally:
        signal.signal(signal.SIGINT, previous)
    summary = stopped.value.summary
    assert stopped.value.exit_code == 130 and len(summary.outcomes) == 1
    assert len(summary.unfinished) == len(items) - 1


# ---- after a review: the pool breaking between two results, names, stale parts ---------------

class _BreakingPool:
    """A pool whose worker died while one task had already finished: the next submit is
    refused, as ProcessPoolExecutor refuses it once it knows it is broken."""

    def __init__(self):
        from concurrent.futures import Future

        self.finished, self.running = Future(), Future()
        self.finished.set_result(("done", "a"))
        self.given = []

    def submit(self, task, item):
        from concurrent.futures.process import BrokenProcessPool

        if len(self.given) == 2:
            raise BrokenProcessPool("a child process terminated abruptly")
        self.given.append(item)
        return self.finished if len(self.given) == 1 else self.running


def test_a_pool_that_breaks_before_its_futures_say_so_loses_no_file():
    from concurrent.futures.process import BrokenProcessPool

    from dpdown.io.batch import _fill_pool

    pool, pending, suspects, results = _BreakingPool(), ["c", "b", "a"], [], []
    with pytest.warns(RuntimeWarning, match="tried again"), pytest.raises(BrokenProcessPool):
        _fill_pool(pool, None, pending, 3, results.append, suspects)
    assert results == [("done", "a")]  # reported once
    assert suspects == ["b"] and pending == ["c"]  # "b" was running: tried again; "c" was never taken


def test_workers_ignore_ctrl_c_so_their_files_finish():
    from dpdown.io.batch import _init_worker

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    threads = os.environ.get("NUMBA_NUM_THREADS")
    try:
        _init_worker(1)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        os.environ["NUMBA_NUM_THREADS"] = threads


@pytest.mark.parametrize("template,text", [("{stem}_{k:03d}.{ext}", "Unknown format code"),
                                           ("{stem}/..", "inside the output folder"),
                                           (".", "inside the output folder")])
def test_names_that_fail_for_some_run_are_refused_up_front(template, text):
    from dpdown.io.batch import check_name

    with pytest.raises(dpdown.errors.ParameterError, match=text):
        check_name(template)


def test_stale_parts_are_found_on_a_host_with_dots_in_its_name(tmp_path, monkeypatch):
    from dpdown.io import write

    monkeypatch.setattr(socket, "gethostname", lambda: "node1.cluster.local")
    stale = tmp_path / f".out.png.node1.cluster.local-{_dead_pid()}-12345{PART_SUFFIX}"
    stale.write_bytes(b"half")
    mine = tmp_path / os.path.basename(write.part_name(tmp_path / "out.png"))
    mine.write_bytes(b"being written")
    write.remove_stale_parts(tmp_path)
    assert not stale.exists() and mine.exists()
