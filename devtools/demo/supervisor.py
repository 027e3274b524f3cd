"""Start local processes, wait until they answer, and stop every one of them on the way out."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

Progress = Callable[[str], None]


class ProcessFailed(RuntimeError):
    """A supervised process exited or never became ready; the message carries its log tail."""


@dataclass
class Supervised:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Supervisor:
    """Owns child processes: each logs to `<log_dir>/<name>.log`; all are stopped on exit."""

    def __init__(self, log_dir: Path, progress: Progress) -> None:
        self.log_dir = log_dir
        self.progress = progress
        self.children: list[Supervised] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Supervised:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )
        child = Supervised(name, popen, log)
        self.children.append(child)
        self.progress(f"started {name} (pid {popen.pid}, log {log})")
        return child

    def wait_http(self, child: Supervised, url: str, timeout: float = 60.0, verify: bool | str = True) -> None:
        """Poll `url` until it answers 2xx; fail early (with the log) if the process exits."""
        deadline = time.monotonic() + timeout
        last_note = time.monotonic()
        while time.monotonic() < deadline:
            if not child.alive():
                raise ProcessFailed(f"{child.name} exited ({child.popen.returncode}); log:\n{child.tail()}")
            try:
                if httpx.get(url, timeout=2.0, verify=verify).is_success:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() - last_note > 10:
                self.progress(f"  still waiting for {child.name} at {url} ...")
                last_note = time.monotonic()
            time.sleep(0.3)
        raise ProcessFailed(f"{child.name} not ready at {url} after {timeout:.0f}s; log:\n{child.tail()}")

    def check_alive(self) -> None:
        for child in self.children:
            if not child.alive():
                raise ProcessFailed(f"{child.name} exited ({child.popen.returncode}); log:\n{child.tail()}")

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM in reverse start order, SIGKILL whatever is left after `timeout`."""
        for child in reversed(self.children):
            if child.alive():
                self.progress(f"stopping {child.name}")
                os.killpg(child.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            try:
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.progress(f"  {child.name} ignored SIGTERM; killing it")
                os.killpg(child.popen.pid, signal.SIGKILL)
                child.popen.wait()
        self.children.clear()
