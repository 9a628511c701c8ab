"""A local HTTP server in a background thread: what the demo's stand-ins and the tests' fake APIs share.

Every stand-in for a remote service (the sources' replay server, the Telegram Bot API stub, the
tests' hostile and recorded-reply servers) listens on 127.0.0.1 only, on a free port unless told
otherwise, serves each request in its own daemon thread, and starts and stops with a ``with`` block.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalHTTPServer:
    """Base of the local stand-ins: call :meth:`_serve` with the handler class at the end of ``__init__``."""

    _httpd: ThreadingHTTPServer
    _thread: threading.Thread

    def _serve(self, handler: type[BaseHTTPRequestHandler], port: int = 0, poll_interval: float = 0.05) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port the server listens on (chosen by the system unless one was given)."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send_json(handler: BaseHTTPRequestHandler, status: int, body: object, **headers: str) -> None:
    """Answer the request ``handler`` serves with ``body`` as JSON; ``headers`` (e.g. ``Retry_After``) go with it."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(data)
