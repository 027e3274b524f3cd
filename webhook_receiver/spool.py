"""A durable on-disk spool for alerts the API server could not take.

One file per Incident, named `<namespace>.<name>.json` (both DNS labels, so no
clashes and a duplicate alert finds its twin already waiting). Each file is
written to a temporary name, fsync'd, renamed into place and the directory
fsync'd: a crash leaves either the whole file or a `.tmp-*` leftover that is
ignored and cleaned up. Bounded by file count and bytes. Files the API server
rejects as invalid are moved to `rejected/` so they are kept but never retried.

Methods do blocking I/O: call them from a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiops_operator.api.labels import RUN_ID_HASH_LABEL

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
SUFFIX = ".json"
FORMAT_VERSION = 1
STALE_TMP_SECONDS = 60.0


@dataclass(frozen=True)
class SpooledIncident:
    path: Path
    namespace: str
    name: str
    body: dict[str, Any]


class SpoolFull(Exception):
    """The spool is at its file or byte bound (or the disk failed): the caller must answer 503."""


class Spool:
    def __init__(self, directory: Path, *, max_files: int, max_bytes: int) -> None:
        self.directory = directory
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}
        self._run_id_hashes: dict[str, str] = {}

    # -- bookkeeping ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directory, drop stale temp files from a crash, and count what is waiting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        now = time.time()
        sizes: dict[str, int] = {}
        hashes: dict[str, str] = {}
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TMP_PREFIX):
                try:
                    if now - entry.stat().st_mtime > STALE_TMP_SECONDS:
                        os.unlink(entry.path)
                except OSError:
                    pass
                continue
            if entry.is_file() and entry.name.endswith(SUFFIX):
                sizes[entry.name] = entry.stat().st_size
                loaded = self._read(Path(entry.path))
                if loaded is not None:
                    hashes[entry.name] = _run_id_hash(loaded.body)
        with self._lock:
            self._sizes, self._run_id_hashes = sizes, hashes

    @property
    def depth(self) -> int:
        return len(self._sizes)

    @property
    def bytes_used(self) -> int:
        return sum(self._sizes.values())

    def has_room(self, size: int = 16 * 1024) -> bool:
        with self._lock:
            return len(self._sizes) < self.max_files and sum(self._sizes.values()) + size <= self.max_bytes

    def contains(self, namespace: str, name: str) -> bool:
        return _file_name(namespace, name) in self._sizes

    def holds_run_id_hash(self, run_id_hash: str) -> list[str]:
        """Names of spooled Incidents with this run-id hash."""
        return [n.split(".")[1] for n, h in list(self._run_id_hashes.items()) if h == run_id_hash]

    # -- writing -------------------------------------------------------------------------------

    def put(self, namespace: str, name: str, body: dict[str, Any]) -> bool:
        """Store durably; False if it was already spooled. Raises SpoolFull when out of room."""
        file_name = _file_name(namespace, name)
        data = json.dumps({"version": FORMAT_VERSION, "namespace": namespace, "name": name, "object": body}).encode()
        with self._lock:
            if file_name in self._sizes:
                return False
            if len(self._sizes) >= self.max_files or sum(self._sizes.values()) + len(data) > self.max_bytes:
                raise SpoolFull(f"spool holds {len(self._sizes)} alerts / {sum(self._sizes.values())} bytes")
            # Reserve the slot so concurrent writers of the same name do not both write.
            self._sizes[file_name] = len(data)
        tmp = self.directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self.directory / file_name)
            _fsync_dir(self.directory)
        except OSError as exc:
            with self._lock:
                self._sizes.pop(file_name, None)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise SpoolFull(f"cannot write to the spool: {type(exc).__name__}: {exc.strerror}") from exc
        with self._lock:
            self._run_id_hashes[file_name] = _run_id_hash(body)
        return True

    # -- replay --------------------------------------------------------------------------------

    def pending(self) -> list[SpooledIncident]:
        """Spooled Incidents, oldest first; unreadable files are moved to rejected/."""
        entries: list[tuple[float, Path]] = []
        for entry in os.scandir(self.directory):
            if entry.is_file() and entry.name.endswith(SUFFIX) and not entry.name.startswith(TMP_PREFIX):
                try:
                    entries.append((entry.stat().st_mtime, Path(entry.path)))
                except OSError:
                    continue
        result: list[SpooledIncident] = []
        for _, path in sorted(entries):
            loaded = self._read(path)
            if loaded is None:
                self.reject(path, "unreadable")
            else:
                result.append(loaded)
        return result

    def remove(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
            _fsync_dir(self.directory)
        finally:
            with self._lock:
                self._sizes.pop(path.name, None)
                self._run_id_hashes.pop(path.name, None)

    def reject(self, path: Path, why: str) -> None:
        """Keep a file the API server will never take, out of the replay loop."""
        rejected = self.directory / "rejected"
        try:
            rejected.mkdir(exist_ok=True)
            os.rename(path, rejected / path.name)
            log.error("spooled alert %s rejected (%s); kept in %s", path.name, why, rejected)
        except OSError as exc:
            log.error("cannot move rejected spool file %s: %s", path.name, exc.strerror)
        with self._lock:
            self._sizes.pop(path.name, None)
            self._run_id_hashes.pop(path.name, None)

    @staticmethod
    def _read(path: Path) -> SpooledIncident | None:
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("object"), dict):
            return None
        namespace, name = doc.get("namespace"), doc.get("name")
        if not isinstance(namespace, str) or not isinstance(name, str):
            return None
        return SpooledIncident(path=path, namespace=namespace, name=name, body=doc["object"])


def _file_name(namespace: str, name: str) -> str:
    return f"{namespace}.{name}{SUFFIX}"


def _run_id_hash(body: dict[str, Any]) -> str:
    labels = body.get("metadata", {}).get("labels", {})
    value = labels.get(RUN_ID_HASH_LABEL, "") if isinstance(labels, dict) else ""
    return str(value)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
