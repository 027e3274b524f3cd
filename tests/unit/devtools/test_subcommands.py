"""`aiops-rca controlplane|demo` load the dev tools from a checkout and say so clearly anywhere else."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from aiops_operator import cli

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("command", [pytest.param("controlplane", id="controlplane"), pytest.param("demo", id="demo")])
def test_dev_subcommand_without_a_checkout_says_where_it_lives(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(cli, "repo_root", lambda: tmp_path)
    assert cli.main([command, "status"]) == 2
    assert "only available from a source checkout" in capsys.readouterr().err


def test_dev_subcommand_from_a_checkout_finds_devtools_without_the_dev_venv(tmp_path: Path) -> None:
    # A plain interpreter with only the product on its path (no .pth, cwd elsewhere): the CLI adds the
    # checkout it runs from, as it would for an editable install made without `make venv`.
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if p != sys.argv[1]];"
        "from aiops_operator.cli import main; sys.exit(main(['controlplane', '--help']))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(REPO)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={"PYTHONPATH": f"{REPO / 'operator'}"},
    )
    assert out.returncode == 0, out.stderr
    assert "local etcd + kube-apiserver" in out.stdout
