"""Secrets never leak: known fake secrets are set, everything the program writes is searched for them.

Searched: every log record at DEBUG (httpx and httpcore included, which log
request URLs, and a Telegram bot token is part of its URL), everything written
to stdout/stderr, every text stored in the database (source health errors are
shown on the dashboard), and the output of the real CLI in a subprocess.
Servers are local (127.0.0.1) and echo secrets back in their errors on purpose,
as a buggy or hostile API might.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from collectors.base import FetchResult, RawItem
from monitor.demo.local_http import send_json
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig, SourceConfig, secret
from monitor.service import MonitorService
from monitor.store.db import Database
from tests.pipeline_support import FixedClassifier
from tests.secrets_support import SECRETS, database_text, debug_logging_into, leaks

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


class LeakyApi(BaseHTTPRequestHandler):
    """Answers like the real services would, and echoes credentials into its errors."""

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _json(self, status: int, body: object) -> None:
        send_json(self, status, body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/bot"):
            # Telegram-style: the token is in the path; a 502 from a proxy in front of it.
            self._json(502, {"ok": False, "description": f"Bad Gateway for {url.path}"})
        elif url.path == "/2/tweets/search/recent":
            auth = self.headers.get("Authorization", "")
            self._json(401, {"title": "Unauthorized", "detail": f"Invalid credentials: {auth}", "status": 401})
        elif url.path == "/feed":
            key = parse_qs(url.query).get("key", [""])[0]
            if key != SECRETS["OKI_TEST_FEED_KEY"]:
                self._json(403, {"error": f"bad key {key}"})
                return
            items = [
                {"id": f"f{i}", "text": f"Jalan di Desa Sungai Lumpur Kecamatan Cengal OKI rusak parah {i}"}
                for i in range(20)
            ]
            self._json(200, {"items": items, "echo_key": key})
        else:
            self._json(404, {"error": "not found"})


@pytest.fixture
def leaky_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LeakyApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
        secret(name)  # what config loading does for every secret it reads
    return SECRETS


class TelegramLikeCollector:
    """Token in the URL path, ``raise_for_status`` on errors: httpx's message then carries the URL."""

    name = "tg-channel"
    platform = "telegram"

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: datetime) -> FetchResult:
        client.get(f"{self.base}/bot{self.token}/getUpdates", params={"offset": "0"}).raise_for_status()
        return FetchResult(items=[], cursor=cursor, calls=1)


class KeyInQueryCollector:
    """API key in the query string: httpx logs the full URL at INFO."""

    name = "feed"
    platform = "mastodon"

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: datetime) -> FetchResult:
        response = client.get(f"{self.base}/feed", params={"key": self.key})
        response.raise_for_status()
        data = response.json()
        items = [
            RawItem(
                source=self.name,
                platform=self.platform,
                external_id=it["id"],
                text=it["text"],
                created_at=now - timedelta(minutes=5),
                author=f"warga_{it['id']}",
                extra={"note": "fetched"},
            )
            for it in data["items"]
        ]
        return FetchResult(items=items, cursor={"n": len(items)}, calls=1)


LOG_BUFFER = io.StringIO()


@pytest.fixture
def debug_logging(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The program's own logging set-up, turned all the way up (an operator chasing a bug).

    Depends on ``capfd`` so the handler writes to the captured stderr.
    """
    # Write the program's log lines to a buffer this fixture owns (pytest swaps and closes its own streams).
    with debug_logging_into(LOG_BUFFER):
        yield
    LOG_BUFFER.seek(0)
    LOG_BUFFER.truncate()


def test_collect_pipeline_purge_leak_no_secret(
    sqlite_db: Database,
    config: AppConfig,
    leaky_api: str,
    fake_secrets: dict[str, str],
    debug_logging: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    sources = [
        SourceConfig(name="tg-channel", kind="telegram", enabled=False),
        SourceConfig(name="feed", kind="mastodon", enabled=False),
    ]
    cfg = config.model_copy(update={"sources": sources})
    svc = MonitorService(cfg, sqlite_db, SimulatedClock(NOW), classifier=FixedClassifier())
    svc.collectors["tg-channel"] = TelegramLikeCollector(leaky_api, fake_secrets["OKI_MONITOR_TELEGRAM_TOKEN"])
    svc.collectors["feed"] = KeyInQueryCollector(leaky_api, fake_secrets["OKI_TEST_FEED_KEY"])
    try:
        tg = svc.collect("tg-channel")
        feed = svc.collect("feed")
        print(f"report: {tg} {feed}")  # what `oki-monitor collect` prints comes from these reports
        svc.pipeline()
        svc.purge()
    finally:
        svc.close()
    assert not tg.ok and tg.error, "the Telegram-like source should have failed (test did not exercise errors)"
    assert feed.ok and feed.ingest is not None and feed.ingest.stored == 20
    out, err = capfd.readouterr()
    logged = LOG_BUFFER.getvalue()
    assert "/feed" in logged and "getUpdates" in logged, "httpx request lines were not captured: the scan saw nothing"
    everything = f"{out}\n{err}\n{logged}"
    assert not leaks(everything, fake_secrets), leaks(everything, fake_secrets)
    stored = database_text(sqlite_db)
    assert "Bad Gateway" in stored or "502" in stored, "the source error was not stored (test did not exercise it)"
    assert not leaks(stored, fake_secrets), leaks(stored, fake_secrets)


def test_cli_collect_with_rejected_token_leaks_nothing(tmp_path: Path, leaky_api: str) -> None:
    """The real `oki-monitor` and the real X collector against a server that echoes the bearer token."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = f"sqlite:///{tmp_path / 'cli.db'}"
    data["sources"] = [
        {
            "name": "x-oki",
            "kind": "x",
            "interval_seconds": 600,
            "token_env": ["X_BEARER_TOKEN"],
            "settings": {"base_url": leaky_api, "max_pages": 1},
        }
    ]
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKI_MONITOR_")}
    env.update(SECRETS)
    cli = [sys.executable, "-m", "monitor.cli", "--config", str(cfg_path)]
    outputs = []
    for args in (["db", "upgrade"], ["-v", "collect", "--source", "x-oki", "--once"], ["sources"]):
        proc = subprocess.run(
            [*cli[:3], *args[:1], *cli[3:], *args[1:]] if args[0] == "-v" else [*cli, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs.append(f"$ {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    everything = "\n".join(outputs)
    assert "x-oki" in everything and ("401" in everything or "rejected" in everything), everything[-3000:]
    assert not leaks(everything, SECRETS), leaks(everything, SECRETS)
    assert not leaks(database_text(Database(data["database_url"])), SECRETS)
