"""The crash hook lives in the tests: production settings cannot reach it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aiops_operator.settings import OperatorSettings

REPO = Path(__file__).resolve().parents[3]


def test_production_code_never_reads_the_crash_variables() -> None:
    product = [REPO / "operator" / "aiops_operator", REPO / "webhook_receiver", REPO / "dashboard"]
    readers = [str(p.relative_to(REPO)) for root in product for p in root.rglob("*.py")
               if "AIOPS_RCA_CRASH" in p.read_text() or "CrashHook" in p.read_text()]
    assert readers == []
    assert not any("crash" in name for name in OperatorSettings.model_fields)


def _fire(tmp_path: Path, at: str, point: str, key: str = "") -> int:
    code = ("from pathlib import Path; from tests.support.crash import CrashHook; "
            f"CrashHook({at!r}, Path({str(tmp_path / 'marker')!r}))({point!r}, {key!r} or None)")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode


def test_the_hook_kills_once_per_point_and_key(tmp_path: Path) -> None:
    assert _fire(tmp_path, "after-launch", "after-success") == 0  # not a listed point
    assert _fire(tmp_path, "after-launch,after-success", "after-launch", "inc-a") == -9
    assert _fire(tmp_path, "after-launch,after-success", "after-launch", "inc-a") == 0  # marker: once
    assert _fire(tmp_path, "after-launch,after-success", "after-launch", "inc-b") == -9
