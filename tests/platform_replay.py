"""A local HTTP server that replays recorded platform API exchanges (its own tests: test_collectors_platforms_replay).

A recorded exchange is a JSON file under ``tests/fixtures/<platform>/``:
``{"status": 200, "headers": {...}, "body": <JSON or a string>}``; each folder's
README names the documentation page the wire format comes from. Routes match on
method, path and (optionally) query parameters; a route given several replies
serves them in order and repeats the last one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from monitor.demo.local_http import LocalHTTPServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def encode_body(body: Any) -> bytes:
    """A body to send as it goes on the wire: bytes as they are, text as UTF-8, anything else as JSON."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


@dataclass
class Reply:
    """One HTTP response to serve."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return encode_body(self.body)


def fixture(platform: str, name: str, **header_overrides: str) -> Reply:
    """A recorded exchange from ``tests/fixtures/<platform>/<name>``."""
    data = json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"))
    headers = dict(data.get("headers", {}))
    headers.update({k.replace("_", "-"): v for k, v in header_overrides.items()})
    return Reply(status=data.get("status", 200), body=data.get("body"), headers=headers)


@dataclass
class Seen:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Responder = Callable[[dict[str, str]], Reply]
"""Builds a reply from the query (for scenarios whose numbers change over time)."""


@dataclass
class Route:
    method: str
    path: str
    replies: list[Reply | Responder]
    when: Callable[[dict[str, str]], bool] | None = None
    served: int = 0


class ReplayServer(LocalHTTPServer):
    """Serves recorded replies on 127.0.0.1 (never the internet) and records every request."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server._match(
                    self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body
                )
                payload = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=UTF-8", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._serve(Handler, poll_interval=0.02)

    def add(
        self, method: str, path: str, *replies: Reply | Responder, when: Callable[[dict[str, str]], bool] | None = None
    ) -> Route:
        """Serve ``replies`` (in order, last repeated) to ``method path`` when ``when(query)`` holds."""
        route = Route(method, path, list(replies), when)
        self.routes.insert(0, route)  # later routes win, so a test can override a default
        return route

    def _match(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self.requests.append(Seen(method, path, query, headers, body))
            for route in self.routes:
                if route.method == method and route.path == path and (route.when is None or route.when(query)):
                    reply = route.replies[min(route.served, len(route.replies) - 1)]
                    route.served += 1
                    return reply if isinstance(reply, Reply) else reply(query)
        return Reply(404, {"error": f"no recorded reply for {method} {path}"})

    def calls(self, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests if path is None or r.path == path]


@contextmanager
def replay() -> Iterator[tuple[ReplayServer, httpx.Client]]:
    """A running replay server and a client with a short timeout."""
    server = ReplayServer()
    server.start()
    try:
        with httpx.Client(timeout=5.0) as client:
            yield server, client
    finally:
        server.stop()


def graph_pages(items: list[dict[str, Any]], page_size: int) -> Responder:
    """Graph API cursor paging over ``items``: ``page_size`` a page, ``after`` = the next offset, ``next`` on all but
    the last page (what Facebook and Instagram send: ``paging.cursors.after`` plus a ``next`` link)."""

    def respond(query: dict[str, str]) -> Reply:
        start = int(query.get("after", "0"))
        body: dict[str, object] = {"data": items[start : start + page_size]}
        if start + page_size < len(items):
            body["paging"] = {"cursors": {"after": str(start + page_size)}, "next": "x"}
        return Reply(200, body)

    return respond


def query_has(**expected: str) -> Callable[[Mapping[str, str]], bool]:
    """A route condition: the query carries these parameters with these values."""
    return lambda query: all(query.get(k.replace("__", ".")) == v for k, v in expected.items())


def query_lacks(*names: str) -> Callable[[Mapping[str, str]], bool]:
    """A route condition: the query does not carry any of these parameters."""
    return lambda query: all(n not in query for n in names)
