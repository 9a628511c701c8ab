"""Trend and export date filters outside 2000..2100 answer 422 (API) / 400 (pages) naming the field, never 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web_support import ANALYST_TOKEN, login, make_clock, seed

BAD = [("end", "9999-12-31"), ("start", "0001-01-01"), ("end", "0001-01-01"), ("start", "9999-12-31")]


@pytest.fixture
def client(config: AppConfig, sqlite_db: Database) -> Iterator[TestClient]:
    seed(sqlite_db)
    with TestClient(create_app(config, sqlite_db, make_clock()), raise_server_exceptions=False) as c:
        login(c, "kominfo")
        yield c


@pytest.mark.parametrize(("field", "value"), BAD)
@pytest.mark.parametrize("path", ["/api/trends", "/api/export?format=csv"])
def test_api_refuses_out_of_range_dates_naming_the_field(client: TestClient, path: str, field: str, value: str) -> None:
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}{field}={value}", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["detail"] == (
        f"{field}: tanggal {value} di luar rentang yang didukung (2000-01-01 s.d. 2100-12-31)"
    )


@pytest.mark.parametrize(("field", "value"), BAD)
@pytest.mark.parametrize("path", ["/trends", "/trends/export?format=csv"])
def test_pages_refuse_out_of_range_dates_naming_the_field(
    client: TestClient, path: str, field: str, value: str
) -> None:
    sep = "&" if "?" in path else "?"
    r = client.get(f"{path}{sep}{field}={value}")
    assert r.status_code == 400, r.text[:300]
    assert f"{field}: tanggal {value} di luar rentang" in r.text


def test_edges_of_the_range_and_malformed_dates_still_work(client: TestClient) -> None:
    ok = client.get("/api/trends?start=2000-01-01&end=2002-12-31", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert ok.status_code == 200
    late = client.get("/api/trends?end=2100-12-31", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert late.status_code == 200
    malformed = client.get("/api/trends?end=2026-99-01", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert malformed.status_code == 200 and any("tidak valid" in w for w in malformed.json()["warnings"])
