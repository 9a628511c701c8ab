"""Bluesky logs in with an app password against a local PDS that refuses search without a session.

The stand-in answers like the documented XRPC methods: ``com.atproto.server.createSession``
(``{"identifier", "password"}`` → ``accessJwt``/``refreshJwt``; a wrong password → 401
``AuthenticationRequired``), ``com.atproto.server.refreshSession`` (Bearer refresh token), and
``app.bsky.feed.searchPosts``: 403 "Request forbidden by administrative rules" without a session,
400 ``ExpiredToken`` with an expired access token, 200 with a valid one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest

from collectors.base import AuthFailed
from collectors.bluesky import BlueskyCollector, create
from monitor.demo.local_http import LocalHTTPServer, send_json
from tests.platform_replay import FIXTURES

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
HANDLE = "diskominfo-oki.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


class FakePds(LocalHTTPServer):
    def __init__(self) -> None:
        self.generation = 0
        self.access: str | None = None
        self.refresh: str | None = None
        self.expired: set[str] = set()
        self.calls: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()
        page = json.loads((FIXTURES / "bluesky" / "search_page2.json").read_text())["body"]
        pds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization")
                method = self.path.removeprefix("/xrpc/")
                with pds.lock:
                    pds.calls.append((method, auth))
                    if method == "com.atproto.server.createSession":
                        body = json.loads(raw)
                        if body != {"identifier": HANDLE, "password": APP_PASSWORD}:
                            return self._reply(
                                401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
                            )
                        return self._reply(200, pds._new_session())
                    if method == "com.atproto.server.refreshSession":
                        if auth != f"Bearer {pds.refresh}" or pds.refresh in pds.expired:
                            return self._reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
                        return self._reply(200, pds._new_session())
                return self._reply(404, {"error": "MethodNotImplemented"})

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization")
                with pds.lock:
                    pds.calls.append((self.path.split("?")[0].removeprefix("/xrpc/"), auth))
                    if auth is None:
                        return self._reply(
                            403, {"error": "Forbidden", "message": "Request forbidden by administrative rules"}
                        )
                    token = auth.removeprefix("Bearer ")
                    if token in pds.expired:
                        return self._reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
                    if token != pds.access:
                        return self._reply(401, {"error": "InvalidToken", "message": "Bad token"})
                    return self._reply(200, page)

        self._serve(Handler)

    def _new_session(self) -> dict[str, Any]:
        self.generation += 1
        self.access, self.refresh = f"access-jwt-{self.generation}", f"refresh-jwt-{self.generation}"
        return {"did": "did:plc:oki", "handle": HANDLE, "accessJwt": self.access, "refreshJwt": self.refresh}

    def expire_access(self) -> None:
        with self.lock:
            assert self.access is not None
            self.expired.add(self.access)

    def expire_refresh(self) -> None:
        with self.lock:
            assert self.refresh is not None
            self.expired.add(self.refresh)

    def searches(self) -> list[str | None]:
        return [auth for method, auth in self.calls if method == "app.bsky.feed.searchPosts"]


@pytest.fixture
def pds() -> Iterator[FakePds]:
    with FakePds() as server:
        yield server


def _collector(pds: FakePds, password: str | None = APP_PASSWORD, **settings: Any) -> BlueskyCollector:
    base = {"queries": ["OKI"], "min_request_interval": 0, "service": pds.base_url, "identifier": HANDLE}
    return create("bluesky-oki", base | settings, {"OKI_MONITOR_BLUESKY_APP_PASSWORD": password} if password else {})


def test_without_a_session_search_is_refused(pds: FakePds) -> None:
    anonymous = create("bluesky-oki", {"queries": ["OKI"], "min_request_interval": 0, "base_url": pds.base_url}, {})
    with httpx.Client(timeout=5) as client, pytest.raises(AuthFailed, match="403"):
        anonymous.fetch({}, client, NOW)
    assert pds.searches() == [None]


def test_app_password_login_then_search_succeeds(pds: FakePds, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bsky = _collector(pds)
    with httpx.Client(timeout=5) as client:
        first = bsky.fetch({}, client, NOW)
        second = bsky.fetch(first.cursor, client, NOW)
    assert [i.text for i in first.items] == ["Pelayanan MPP Kayuagung cepat"]
    assert second.items == []
    # One login for both runs: the session stays in memory.
    assert bsky.logins == 1 and pds.searches() == ["Bearer access-jwt-1", "Bearer access-jwt-1"]
    shown = repr(bsky) + caplog.text
    for secret in (APP_PASSWORD, "access-jwt-1", "refresh-jwt-1"):
        assert secret not in shown


def test_expired_access_token_is_refreshed_once(pds: FakePds) -> None:
    bsky = _collector(pds)
    with httpx.Client(timeout=5) as client:
        bsky.fetch({}, client, NOW)
        pds.expire_access()
        result = bsky.fetch({}, client, NOW)
    assert len(result.items) == 1
    assert (bsky.logins, bsky.refreshes) == (1, 1)
    assert pds.searches() == ["Bearer access-jwt-1", "Bearer access-jwt-1", "Bearer access-jwt-2"]
    refresh_call = [auth for method, auth in pds.calls if method == "com.atproto.server.refreshSession"]
    assert refresh_call == ["Bearer refresh-jwt-1"]


def test_refused_refresh_logs_in_again(pds: FakePds) -> None:
    bsky = _collector(pds)
    with httpx.Client(timeout=5) as client:
        bsky.fetch({}, client, NOW)
        pds.expire_access()
        pds.expire_refresh()
        result = bsky.fetch({}, client, NOW)
    assert len(result.items) == 1 and (bsky.logins, bsky.refreshes) == (2, 1)
    assert pds.searches()[-1] == "Bearer access-jwt-2"


def test_wrong_app_password_is_an_auth_failure_without_the_password(pds: FakePds) -> None:
    bsky = _collector(pds, password="wrong-pass-word-0000")
    with httpx.Client(timeout=5) as client, pytest.raises(AuthFailed) as err:
        bsky.fetch({}, client, NOW)
    assert "app password" in str(err.value) and "wrong-pass-word-0000" not in str(err.value)
    assert pds.searches() == []


def test_missing_app_password_says_which_setting(pds: FakePds) -> None:
    with httpx.Client(timeout=5) as client, pytest.raises(AuthFailed, match="token_env"):
        _collector(pds, password=None).fetch({}, client, NOW)


def test_per_run_copies_share_one_session(pds: FakePds) -> None:
    bsky = _collector(pds)
    with httpx.Client(timeout=5) as client:
        bsky.for_run(["Kayuagung"], None).fetch({}, client, NOW)
        bsky.for_run(["Cengal"], None).fetch({}, client, NOW)
    assert bsky.logins == 1 and set(pds.searches()) == {"Bearer access-jwt-1"}
