"""Compiling ahead: `dpdown compile`, and batches and evaluations compiling each kernel once.

The disk cache is what carries a compiled kernel from one process to the next, so these tests
run fresh processes on a cache folder of their own (``NUMBA_CACHE_DIR``).
"""

import ast
import json
import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner
from PIL import Image

import dpdown
from dpdown.cli import cli
from dpdown.core import warmup
from dpdown.evaluation import datasets, evaluate
from dpdown.io import batch

from conftest import random_image

# A fresh process runs one kind and says which of its kernels compiled and which came from the cache.
MISSES = r"""
import json, sys
from dpdown.core import warmup
from dpdown.kernels.jit import Lazy

compiled = []
real = Lazy.compiled
def recording(self, target="cpu"):
    dispatcher = real(self, target)
    compiled.append(dispatcher)
    return dispatcher
Lazy.compiled = recording
warmup.warm(warmup.Kind(*json.loads(sys.argv[1])))
misses = sum(sum(d.stats.cache_misses.values()) for d in set(compiled) if hasattr(d, "stats"))
hits = sum(sum(d.stats.cache_hits.values()) for d in set(compiled) if hasattr(d, "stats"))
print(json.dumps([misses, hits]))
"""


def _fresh_run(kind, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", MISSES, json.dumps(list(kind.__dict__.values())[:5])],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_dpdown_compile_leaves_nothing_to_compile(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "dpdown", "compile", "avg", "dpid", "-k", "2", "--no-coverage",
                           "--image", "rgb8", "-j", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "2 of 2 compiled" in done.stderr
    misses, hits = _fresh_run(warmup.Kind("dpid", 2, "uint8", 3, False), tmp_path)
    assert misses == 0 and hits > 0, (misses, hits)  # loaded, not compiled
    # avg's kernel was saved by both workers at once (DPID's guidance runs it to float64):
    # neither variant is lost from the cache's index (jit._serialise_cache_saves)
    done = subprocess.run([sys.executable, "-m", "dpdown", "compile", "avg", "dpid", "-k", "2", "--no-coverage",
                           "--image", "rgbf32", "-j", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    misses, hits = _fresh_run(warmup.Kind("avg", 2, "float32", 3, False), tmp_path)
    assert misses == 0 and hits > 0, (misses, hits)
    misses, _ = _fresh_run(warmup.Kind("dpid", 2, "uint16", 3, False), tmp_path)
    assert misses > 0  # a kind not asked for is compiled on first use (the test can tell)


STABLE = r"""
from dpdown.core import warmup
from dpdown.kernels.jit import Lazy
from dpdown.methods import lp
rule = Lazy(lp._finish, bindings=dict(MEAN=True))
before = rule.digest()
warmup.warm(warmup.Kind("lp", 2, "float32", 3, False))  # compiles, on an empty cache
print(before == rule.digest())
"""


def test_a_kernels_digest_does_not_change_when_numba_compiles_it(tmp_path):
    """A kernel's cache name carries a digest of its code. Taken with marshal, it changed
    once Numba had compiled the code (marshal marks shared objects by their reference
    count): a variant named after such a compile (lp at k = 3 after k = 2) was saved under a
    name a fresh process asking for it alone did not find, and compiled it again."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", STABLE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stdout + out.stderr


SHARED = r"""
import numpy as np
import dpdown
from dpdown.kernels import jit
img = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
for method in ("avg", "sum"):
    dpdown.downscale(img, 2, method=method)  # compiles: the cache folder is empty
print(sorted(name for module, name, ssa in jit._INLINED_IR))
"""


def test_an_inlined_helper_is_made_once_for_variants_that_bind_it_alike(tmp_path):
    """Each inlined helper's IR is made once per process (jit._reuse_inlined_ir), keyed by
    its digest, which covers only the bindings it reads: avg and sum bind different rules,
    but the pixel store reads neither, so both variants inline one ``store``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", SHARED], env=env, capture_output=True, text=True, check=True)
    names = ast.literal_eval(out.stdout)
    stores = [n for n in names if n.startswith("store_")]
    finishes = [n for n in names if n.startswith("mean_") or n.startswith("_sum_")]
    assert len(stores) == 1 and len(finishes) == 2, names


def test_compile_kinds_and_bad_requests():
    kinds = warmup.kinds(["avg", "max"], (2, warmup.COVERAGE), ("rgb8", "rgbf32"))
    assert len(kinds) == 8 and kinds[0] == warmup.Kind("avg", 2, "uint8", 3, False)
    sample = warmup.sample(warmup.Kind("avg", 3, "float32", 4, True))
    assert sample.shape == (13, 17, 4) and sample.dtype == np.float32
    result = CliRunner().invoke(cli, ["compile", "nosuchmethod"])
    assert result.exit_code == 2 and "unknown method" in result.output
    kind, why = warmup.try_warm(warmup.Kind("learned", 2))
    assert "needs --operator" in why


def test_an_evaluation_compiles_every_kind_first_each_once(tmp_path, monkeypatch):
    root = tmp_path / "pics"
    root.mkdir()
    Image.fromarray(random_image((30, 40, 3), np.uint8)).save(root / "a.png")
    Image.fromarray(random_image((30, 40), np.uint8)).save(root / "grey.png")
    asked, order = [], []
    real = batch.compile_ahead

    def recording(kinds, jobs=None, on_done=None):
        asked.extend(kinds)
        order.append("compile")
        return real(kinds, 1, on_done)

    monkeypatch.setattr(batch, "compile_ahead", recording)
    monkeypatch.setattr(evaluate, "evaluate_image", lambda task: order.append("image") or
                        evaluate.ImageResult(task.dataset, task.path))
    specs = [evaluate.MethodSpec("avg"), evaluate.parse_method("dpp:lambda=2")]
    evaluate.run(datasets.resolve([str(root)]), (2, 3), specs, jobs=1)
    assert order == ["compile", "image", "image"]
    # the first image of the set says RGB: every method at every k, once
    assert sorted(asked, key=str) == sorted([warmup.Kind(m.name, k, "float32", 3, params=m.params)
                                            for m in specs for k in (2, 3)], key=str)


_DONE_HERE = []  # files processed in this process (each worker process has its own list)
_PROCESS = batch.process


def _recording_process(job, item):
    """batch.process, noting the file in this process: a module-level function, so that the
    worker processes can unpickle the task."""
    _DONE_HERE.append(item.source)
    return _PROCESS(job, item)


def test_a_pooled_batch_does_its_first_file_here_before_the_workers(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(random_image((20, 16, 3), np.uint8, seed=i)).save(src / f"{i}.png")
    monkeypatch.setattr(batch, "process", _recording_process)
    _DONE_HERE.clear()
    summary = dpdown.downscale_files(str(src), str(tmp_path / "out"), 2, method="avg", jobs=2)
    assert summary.count("done") == 3
    assert _DONE_HERE == [str(src / "0.png")]  # the workers (other processes) did the rest
