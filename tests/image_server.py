"""A loopback HTTP server for image tests: files, redirects, an endless body, request log.

Tests never connect anywhere but 127.0.0.1: refused addresses appear only as
strings in URLs (a redirect's Location, a task's image).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class _Handler(http.server.SimpleHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]]

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        self.seen.append((self.path, dict(self.headers)))
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.end_headers()
        elif parts.path == "/endless":  # no Content-Length: only streaming can stop it
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for _ in range(100_000):
                    self.wfile.write(b"\0" * 4096)
            except OSError:
                pass
        else:
            super().do_GET()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list]]:
    """(base URL on 127.0.0.1, the list of (path, headers) requests it received)."""
    seen: list = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
