"""The repository layout keeps the standard library's `operator` module importable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_operator_folder_is_not_a_package() -> None:
    assert not (REPO / "operator" / "__init__.py").exists()


def test_stdlib_operator_wins_from_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c",
         "import operator, functools, aiops_operator; print(operator.__file__)"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out.endswith("/operator.py")
    assert "/lib/python3" in out
    assert str(REPO / "operator") not in out


def test_console_script_lists_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "aiops_operator.cli", "--help"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "crds" in out
    assert "controlplane" in out
