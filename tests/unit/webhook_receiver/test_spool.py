"""The durable spool: atomic files, bounds, crash leftovers ignored, replay order."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from webhook_receiver.spool import Spool, SpoolFull


def body(name: str, run_hash: str = "h") -> dict[str, object]:
    return {"metadata": {"name": name, "labels": {"aiops-rca.io/run-id-hash": run_hash}}, "spec": {"x": "y" * 100}}


def opened(path: Path, max_files: int = 10, max_bytes: int = 1 << 20) -> Spool:
    spool = Spool(path, max_files=max_files, max_bytes=max_bytes)
    spool.open()
    return spool


def test_put_is_durable_and_idempotent(tmp_path: Path) -> None:
    spool = opened(tmp_path / "spool")
    assert spool.put("ns", "inc-a", body("inc-a"))
    assert not spool.put("ns", "inc-a", body("inc-a"))
    assert spool.contains("ns", "inc-a")
    assert spool.depth == 1
    files = os.listdir(tmp_path / "spool")
    assert files == ["ns.inc-a.json"]
    doc = json.loads((tmp_path / "spool" / "ns.inc-a.json").read_text())
    assert doc["object"]["metadata"]["name"] == "inc-a"
    # A new process sees what the old one left.
    again = opened(tmp_path / "spool")
    assert again.depth == 1
    assert again.holds_run_id_hash("h") == ["inc-a"]


@pytest.mark.parametrize(
    ("max_files", "max_bytes"),
    [pytest.param(2, 1 << 20, id="by-count"), pytest.param(100, 700, id="by-bytes")],
)
def test_bounded(tmp_path: Path, max_files: int, max_bytes: int) -> None:
    spool = opened(tmp_path, max_files=max_files, max_bytes=max_bytes)
    spool.put("ns", "a", body("a"))
    spool.put("ns", "b", body("b"))
    with pytest.raises(SpoolFull):
        spool.put("ns", "c", body("c"))
    assert not spool.has_room()


def test_partial_temp_files_are_ignored_and_stale_ones_removed(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    spool.put("ns", "good", body("good"))
    fresh = tmp_path / ".tmp-crashed-now"
    fresh.write_bytes(b'{"version": 1, "namesp')
    stale = tmp_path / ".tmp-crashed-long-ago"
    stale.write_bytes(b'{"vers')
    old = time.time() - 3600
    os.utime(stale, (old, old))
    restarted = opened(tmp_path)
    assert [p.name for p in restarted.pending()] == ["good"]
    assert restarted.depth == 1
    assert not stale.exists()
    assert fresh.exists()  # may still be being written by a live process


def test_corrupt_final_file_is_moved_aside(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    (tmp_path / "ns.broken.json").write_text("{not json")
    spool.put("ns", "good", body("good"))
    assert [p.name for p in spool.pending()] == ["good"]
    assert (tmp_path / "rejected" / "ns.broken.json").exists()


def test_pending_is_oldest_first_and_remove_frees_room(tmp_path: Path) -> None:
    spool = opened(tmp_path, max_files=2)
    spool.put("ns", "first", body("first"))
    os.utime(tmp_path / "ns.first.json", (1, 1))
    spool.put("ns", "second", body("second"))
    pending = spool.pending()
    assert [p.name for p in pending] == ["first", "second"]
    spool.remove(pending[0].path)
    assert spool.has_room()
    assert spool.depth == 1


def test_unwritable_directory_is_spool_full(tmp_path: Path) -> None:
    spool = opened(tmp_path / "s")
    (tmp_path / "s").rename(tmp_path / "gone")
    with pytest.raises(SpoolFull):
        spool.put("ns", "a", body("a"))
    assert spool.depth == 0
