"""A local HTTP server (127.0.0.1 only) whose routes can misbehave at the byte level.

Each route is a function that gets the request handler and writes whatever it likes:
a gzip bomb, a body that never ends, a redirect loop, a wrong Content-Length. Used by
the collector tests for hostile-input cases the JSON replay server cannot express.
"""

from __future__ import annotations

import functools
import gzip
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.demo.local_http import LocalHTTPServer

Handler = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]


class HostileServer(LocalHTTPServer):
    """Routes path → handler (GET and POST alike); other paths go to ``default``, else answer 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.default: Handler | None = None
        """Answers every path without a route (a server that is hostile everywhere)."""
        self.hits: list[tuple[str, dict[str, str], dict[str, str]]] = []
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server.hits.append((parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)  # a POST body: read it so the connection stays in step
                route = server.routes.get(parts.path) or server.default
                try:
                    if route is None:
                        send(self, 404, b'{"error":"Record not found"}', "application/json")
                    else:
                        route(self, query)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on purpose (cap or deadline reached)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._serve(_H, poll_interval=0.02)


@contextmanager
def hostile() -> Iterator[HostileServer]:
    """A running :class:`HostileServer`."""
    server = HostileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """Write one complete response."""
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@functools.cache
def gzip_bomb(decoded_mib: int) -> bytes:
    """``decoded_mib`` MiB of zeros, gzip-compressed (about 1 KiB on the wire per MiB).

    One MiB is deflated once and its compressed form repeated: a full flush after it resets the
    compressor, so every MiB compresses to the same bytes (deflating 256 MiB took ~2 s of CPU per
    use). Cached: the bombs are immutable and several tests send the same one.
    """
    block = b"\0" * (1024 * 1024)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate inside a gzip frame built here
    one = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(decoded_mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # magic, deflate, no flags/time, max compression, unix
    trailer = struct.pack("<II", crc, (decoded_mib << 20) & 0xFFFFFFFF)
    return header + one * decoded_mib + comp.flush() + trailer


def gzip_body(data: bytes) -> bytes:
    return gzip.compress(data)


def drip(h: BaseHTTPRequestHandler, every: float, total: float) -> None:
    """Send headers, then one byte every ``every`` seconds for ``total`` seconds (chunked)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    end = time.monotonic() + total
    while time.monotonic() < end:
        h.wfile.write(b"1\r\n \r\n")
        h.wfile.flush()
        time.sleep(every)
    h.wfile.write(b"0\r\n\r\n")


def endless(h: BaseHTTPRequestHandler, chunk: int = 64 * 1024) -> None:
    """A chunked body that never ends (until the client hangs up)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    block = b"%x\r\n" % chunk + b"[" * chunk + b"\r\n"
    while True:
        h.wfile.write(block)


def cut_short(h: BaseHTTPRequestHandler, body: bytes, content_type: str = "application/json") -> None:
    """Promise the whole body in Content-Length, send half of it, then close the connection."""
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.write(body[: len(body) // 2])
    h.wfile.flush()
    h.close_connection = True
