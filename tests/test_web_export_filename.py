"""Export file names carry the WIB date, like every other user-facing time."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web_support import ANALYST_TOKEN, seed

LATE = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)  # 30 Nov 2026 01:00 WIB


def test_export_file_names_use_the_wib_date(config: AppConfig, sqlite_db: Database) -> None:
    seed(sqlite_db)
    auth = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    with TestClient(create_app(config, sqlite_db, SimulatedClock(LATE))) as client:
        names = [
            client.get(path, headers=auth).headers["content-disposition"]
            for path in ("/api/export", "/api/posts/export", "/trends/export")
        ]
    assert all("20261130" in name for name in names), names
