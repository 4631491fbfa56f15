"""The package's layers, as pyproject.toml's import-linter contracts state them: a module
imports only from the layers below its own (function-local imports included), and no two
modules of one package import each other, directly or not."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_layers_and_no_import_cycles():
    check = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(" \
            f"config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout
