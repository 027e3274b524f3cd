"""A Logic App (HTTP-triggered playbook) stand-in on loopback: records each POST and answers 202 with a run id."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class LogicApp:
    failures: int = 0
    """The first `failures` POSTs answer 503 (to exercise the caller's retries)."""
    run_id: Callable[[int], str] = lambda n: f"logic-run-{n}"
    """The run id answered to the n-th POST."""
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    """(headers, JSON body) of every POST, in order."""
    url: str = ""


@contextmanager
def serve_logic_app(app: LogicApp, path: str = "/workflows/heal/triggers/manual/run?sig=s3cret") -> Iterator[LogicApp]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            app.requests.append((dict(self.headers), json.loads(self.rfile.read(length))))
            if len(app.requests) <= app.failures:
                self.send_response(503)
                self.end_headers()
                return
            body = json.dumps({"runId": app.run_id(len(app.requests))}).encode()
            self.send_response(202)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
