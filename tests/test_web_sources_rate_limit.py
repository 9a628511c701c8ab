"""The sources page shows rate-limit reset times in WIB, like every other time on the dashboard."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Source
from monitor.web.app import create_app
from tests.web_support import ANALYST_TOKEN, make_clock, seed


def test_rate_limit_reset_is_shown_in_wib(config: AppConfig, sqlite_db: Database) -> None:
    seed(sqlite_db)
    with sqlite_db.session() as s:
        src = s.scalar(select(Source).where(Source.name == "mastodon-oki"))
        assert src is not None
        src.rate_limit = {
            "remaining": 0,
            "reset": "2026-11-29T10:00:00+00:00",
            "lookup": {"remaining": 3, "reset": "2026-11-29T11:30:00+00:00"},
        }
    with TestClient(create_app(config, sqlite_db, make_clock())) as client:
        page = client.get("/sources", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert page.status_code == 200
    assert "+00:00" not in page.text, [line for line in page.text.splitlines() if "+00:00" in line]
    assert "17.00 WIB" in page.text and "18.30 WIB" in page.text
