"""The on-disk kernel cache works when dpdown is installed read-only (start-up).

Numba looks for a cache directory per source file: ``$NUMBA_CACHE_DIR`` if set, else a
``__pycache__`` beside the source if it can be written, else a user-wide directory,
``numba.misc.appdirs.user_cache_dir`` (``$XDG_CACHE_HOME/numba``, by default
``~/.cache/numba``; ``numba.core.caching.UserWideCacheLocator``). A copy of the package is
made read-only and imported (``PYTHONPATH``) by two fresh processes in turn, each
downscaling a small image with ``avg``: the first compiles and saves the kernels under the
user cache, the second loads them, and nothing is written inside the package.

Root ignores file permissions, so as root the processes are demoted: to ``nobody`` when the
interpreter and its packages are reachable by other users, else (e.g. Python under a 0700
``/root``) they stay root but lose ``CAP_DAC_OVERRIDE``, which makes root obey the mode
bits of the files it owns. Either way the test first checks that the process really cannot
write into the copy.
"""

import ctypes
import json
import os
import pathlib
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dpdown"

CHILD = r"""
import json, os, sys
import numpy as np
import dpdown

copy = os.path.realpath(sys.argv[1])
assert os.path.realpath(dpdown.__file__).startswith(copy + os.sep), dpdown.__file__
img = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
out = dpdown.downscale(img, 2, method="avg")
expect = img.reshape(6, 2, 5, 2, 3).astype(np.float64).mean(axis=(1, 3))
assert out.shape == (6, 5, 3) and np.abs(out.astype(np.float64) - expect).max() <= 0.5 + 1e-6
print(json.dumps({"uid": os.geteuid(), "package": dpdown.__file__}))
"""

# Tries to write where Numba and Python would: exits 0 only if every attempt is refused.
PROBE = r"""
import os, sys
for folder in sys.argv[1:]:
    try:
        os.mkdir(os.path.join(folder, "__pycache__"))
    except PermissionError:
        continue
    sys.exit(f"could write into {folder}")
"""

CAP_DAC_OVERRIDE = 1
PR_CAPBSET_DROP = 24


def _nobody():
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _reachable_by_others(paths):
    """Whether every directory above each path is searchable, and the path readable, by others."""
    for path in paths:
        path = pathlib.Path(os.path.realpath(path))
        if not path.stat().st_mode & stat.S_IROTH:
            return False
        if not all(p.stat().st_mode & stat.S_IXOTH for p in path.parents):
            return False
    return True


def _as_nobody():
    uid, gid = _nobody()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _without_dac_override():
    # Dropped from the bounding set, the capability is not regained on exec (the inheritable
    # and ambient sets hold none here: checked by the probe, which must fail to write).
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


def _demotion(top):
    """(preexec_fn, description) that keeps a child from ignoring file permissions."""
    if os.geteuid() != 0:
        return None, f"uid {os.geteuid()}"
    import llvmlite
    import numba
    import numpy
    import PIL

    needed = [sys.executable, os.__file__, numpy.__file__, numba.__file__, llvmlite.__file__, PIL.__file__,
              top]
    if _reachable_by_others(needed):
        return _as_nobody, "nobody"
    return _without_dac_override, "root without CAP_DAC_OVERRIDE"


def _cache_files(folder):
    return {p: p.stat().st_mtime_ns for p in pathlib.Path(folder).rglob("*") if p.suffix in (".nbi", ".nbc")}


def test_kernel_cache_of_a_read_only_install():
    top = tempfile.mkdtemp(prefix="dpdown-cache-", dir="/tmp")  # not pytest's 0700 tmp_path: see _demotion
    site = os.path.join(top, "site")
    copy = os.path.join(site, "dpdown")
    home = os.path.join(top, "home")
    xdg = os.path.join(top, "xdg-cache")
    try:
        os.chmod(top, 0o755)
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for folder in (home, xdg):
            os.mkdir(folder)
            os.chmod(folder, 0o777)
        for root, dirs, files in os.walk(site):
            for name in files:
                os.chmod(os.path.join(root, name), 0o444)
            os.chmod(root, 0o555)
        preexec, who = _demotion(top)

        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NUMBA_") and k not in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE",
                                                           "PYTHONHOME", "PYTHONSAFEPATH")}
        env.update(PYTHONPATH=site, HOME=home, XDG_CACHE_HOME=xdg, NUMBA_DEBUG_CACHE="1")

        def run(code, *args):
            # cwd is not the repository: ``python -c`` puts the cwd first on sys.path
            return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=home, preexec_fn=preexec,
                                  capture_output=True, text=True, timeout=120)

        package_dirs = [root for root, _, _ in os.walk(copy)]
        try:
            probe = run(PROBE, site, *package_dirs)
        except subprocess.SubprocessError as exc:  # the demotion itself failed
            pytest.skip(f"running as root, and could not run a process as {who} to make file permissions "
                        f"apply: {exc}")
        assert probe.returncode == 0, f"as {who} the read-only copy is still writable: {probe.stderr}"

        first = run(CHILD, copy)
        assert first.returncode == 0, first.stderr
        saved = _cache_files(xdg)
        second = run(CHILD, copy)
        assert second.returncode == 0, second.stderr

        # nothing written inside the package: no bytecode, no Numba index or data
        written = [p for p in pathlib.Path(site).rglob("*")
                   if p.name == "__pycache__" or p.suffix in (".pyc", ".nbi", ".nbc")]
        assert written == []
        # the kernels went to the user-wide cache, $XDG_CACHE_HOME/numba/<folder>_<hash>/
        assert saved, f"no *.nbi / *.nbc under {xdg}:\n{first.stdout}"
        assert {p.suffix for p in saved} == {".nbi", ".nbc"}
        assert all(p.is_relative_to(os.path.join(xdg, "numba")) for p in saved)
        assert "data saved to" in first.stdout
        # the second run loaded every kernel and compiled none
        assert "data loaded from" in second.stdout
        assert "data saved to" not in second.stdout and "index saved to" not in second.stdout, second.stdout
        assert _cache_files(xdg) == saved
        uid = _nobody()[0] if who == "nobody" else os.geteuid()
        assert [json.loads(r.stdout.splitlines()[-1])["uid"] for r in (first, second)] == [uid, uid]
    finally:
        for root, dirs, files in os.walk(top):
            os.chmod(root, 0o755)  # a non-root user cannot remove entries of a read-only folder
        shutil.rmtree(top, ignore_errors=True)


def test_a_bound_array_enters_the_cache_name_by_all_its_bytes():
    """Kernels are cached under a digest of what is compiled into them; an array's repr
    elides its middle beyond 1000 values, so two tables differing there must still differ."""
    import numpy as np

    from dpdown.kernels.jit import Lazy

    def kernel():
        return TABLE[0]  # noqa: F821 (bound)

    table = np.zeros(2000)
    other = table.copy()
    other[1000] = 1.0
    assert repr(table) == repr(other)
    assert Lazy(kernel, bindings=dict(TABLE=table)).digest() != Lazy(kernel, bindings=dict(TABLE=other)).digest()
    assert Lazy(kernel, bindings=dict(TABLE=table)).digest() == Lazy(kernel, bindings=dict(TABLE=table.copy())).digest()
