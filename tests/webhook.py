"""A real JSON webhook on 127.0.0.1 that records what it receives, and a port nothing listens on."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Webhook:
    """The server's port and every (path, JSON body) posted to it."""

    port: int
    received: list[tuple[str, dict]] = field(default_factory=list)

    def url(self, path: str = "hook", scheme: str = "json") -> str:
        """An apprise URL posting JSON to this server under ``path``."""
        return f"{scheme}://127.0.0.1:{self.port}/{path}"


@contextmanager
def webhook(port: int = 0, on_request: Callable[[], None] | None = None) -> Iterator[Webhook]:
    """Serve a recording JSON webhook on ``port`` (0: any free one) until the block ends; ``on_request``
    runs as each request arrives."""
    hook = Webhook(port)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if on_request is not None:
                on_request()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
