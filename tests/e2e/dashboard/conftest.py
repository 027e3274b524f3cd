"""A real dashboard (in-process uvicorn on a free port) watching the test's namespace, and a headless
Chromium (Debian's, driven by Playwright) looking at it. Screenshots land in test-artifacts/."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from aiops_operator.kube import INCIDENTS, KubeClient, load_config
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright
from starlette.applications import Starlette

from dashboard.app import create_app
from dashboard.settings import Settings
from dashboard.watch import Backoff
from devtools.samples import SampleIncident
from devtools.seeding import create_sample

CHROMIUM = os.environ.get("AIOPS_RCA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@dataclass
class Dashboard:
    url: str
    app: Starlette
    loop: asyncio.AbstractEventLoop
    kubeconfig: Path
    namespace: str

    def call(self, fn: Callable[[], object]) -> None:
        """Run `fn` on the dashboard's event loop (its objects are not thread-safe)."""
        self.loop.call_soon_threadsafe(fn)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the dashboard's loop (Playwright's sync API owns this thread's loop)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def seed(self, *samples: SampleIncident) -> None:
        async def go() -> None:
            async with KubeClient(load_config(self.kubeconfig)) as kube:
                await asyncio.gather(*(create_sample(kube, self.namespace, s) for s in samples))

        self.run(go())

    def patch_status(self, name: str, status: dict[str, Any]) -> None:
        async def go() -> None:
            async with KubeClient(load_config(self.kubeconfig)) as kube:
                await kube.patch(INCIDENTS, self.namespace, name, {"status": status}, status=True)

        self.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard(kubeconfig: Path, namespace: str) -> Iterator[Dashboard]:
    settings = Settings(port=_free_port(), namespaces=(namespace,), kubeconfig=str(kubeconfig))
    app = create_app(settings, backoff=Backoff(initial=0.1, maximum=1.0))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=settings.port, log_level="warning", ws="none", http="h11",
        loop="asyncio", timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=serve, name="dashboard", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310  (loopback)
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("dashboard did not become healthy")
        time.sleep(0.05)
    yield Dashboard(url, app, loops[0], kubeconfig, namespace)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope, not session: Playwright's sync API keeps an event loop running in the main
    # thread while it is open, and asyncio tests collected after these would refuse to start.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make provision` installs Debian's chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Watched:
    """What the page did that it must not: dialogs, uncaught errors, console errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, watched: Watched) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 960}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(10_000)

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            watched.errors.append(msg.text)

    pg.on("dialog", on_dialog)
    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"dashboard-{request.node.name}.png"), full_page=False)
    finally:
        context.close()
