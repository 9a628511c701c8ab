"""An item never blocks its batch: one impossible count is rejected with its reason, the rest stored, the cursor moves.

A count beyond what a database integer holds (a Mastodon ``favourites_count`` of 10^30 from a hostile
or broken instance) would otherwise fail the whole batch's insert, keep the cursor and leave the source
saying ``ok``. Counts have one bound, ``collectors.common.MAX_COUNT`` (10^12), checked at ingest for
every origin.
"""

from __future__ import annotations

import copy
import logging
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from collectors.base import RawItem
from collectors.common import (
    MAX_COUNT,
    MAX_LOGGED,
    MAX_NOTES,
    OUT_OF_RANGE,
    collecting_notes,
    count_problem,
    log_rejected,
    to_int,
)
from collectors.mastodon import create
from monitor.cli import main
from monitor.kernel.config import AppConfig, SourceConfig
from monitor.stages.collect import run_source
from monitor.stages.ingest import Ingestor
from monitor.store.db import Database
from monitor.store.models import Post, Source
from tests.platform_replay import Reply, fixture, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/api/v1/timelines/tag/kayuagung"
HUGE = 10**30


def _page_with_a_poisoned_status() -> Reply:
    page = fixture("mastodon", "tag_page1.json")
    body = copy.deepcopy(page.body)
    assert isinstance(body, list)
    by_id = {s["id"]: s for s in reversed(body)}  # the recorded page repeats 104 on purpose; once is enough here
    good = [by_id["113400000000000105"], by_id["113400000000000104"]]
    poisoned = copy.deepcopy(good[0])
    poisoned["id"] = "113400000000000103"
    poisoned["favourites_count"] = HUGE  # what a hostile or broken instance sent
    poisoned["content"] = "<p>Lampu jalan di Kayuagung padam</p>"
    return Reply(status=200, body=[*good, poisoned], headers=page.headers)


# ---------------------------------------------------------------- the bound itself


@settings(max_examples=300, deadline=None)
@given(
    st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet="0123456789 -.e", max_size=40)
    | st.none()
    | st.booleans()
)
def test_to_int_is_always_a_bounded_count(value: Any) -> None:
    n = to_int(value)
    assert isinstance(n, int) and 0 <= n <= OUT_OF_RANGE
    # In range it is exact; out of range it is marked, never silently shrunk to a plausible number.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        assert n == value
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_COUNT:
        assert n == OUT_OF_RANGE and count_problem("likes", n) is not None


def test_count_bounds() -> None:
    assert to_int(HUGE) == OUT_OF_RANGE and to_int(float("inf")) == OUT_OF_RANGE and to_int(1e30) == OUT_OF_RANGE
    assert to_int("9" * 5000) == OUT_OF_RANGE  # no int() of a 5000-digit string (3.11 refuses those)
    assert to_int(-5) == 0 and to_int(float("nan")) == 0 and to_int("12") == 12 and to_int(MAX_COUNT) == MAX_COUNT
    assert count_problem("likes", MAX_COUNT) is None
    assert "10^12" in (count_problem("likes", MAX_COUNT + 1) or "")
    assert count_problem("views", -1) == "views is negative" and count_problem("views", True) is not None


# ---------------------------------------------------------------- ingest


@pytest.mark.parametrize("count", [HUGE, MAX_COUNT + 1, 2**63])
def test_ingest_rejects_the_impossible_count_and_stores_the_rest(db: Database, config: AppConfig, count: int) -> None:
    items = [
        RawItem("m", "mastodon", f"id-{k}", f"Jalan rusak di Kayuagung nomor {k}", NOW, likes=count if k == 1 else k)
        for k in range(4)
    ]
    with db.session() as session:
        source = Ingestor(config).source_row(session, "m", "mastodon")
        report = Ingestor(config).store(session, source, items, NOW)
    assert report.stored == 3 and report.rejected == 1
    assert "'id-1'" in report.errors[0] and "likes is larger than 10^12" in report.errors[0]
    with db.session() as session:
        assert sorted(session.scalars(select(Post.external_id))) == ["id-0", "id-2", "id-3"]


def test_a_value_the_driver_refuses_costs_only_its_item(db: Database, config: AppConfig) -> None:
    """The per-item retry also catches what a driver raises unwrapped (not only SQLAlchemy errors)."""
    items = [RawItem("m", "mastodon", f"id-{k}", f"Air PDAM mati di Kayuagung {k}", NOW) for k in range(3)]
    bad = RawItem("m", "mastodon", "id-bad", "Air PDAM mati di Kayuagung lagi", NOW, extra={"x": {1, 2}})
    with db.session() as session:
        source = Ingestor(config).source_row(session, "m", "mastodon")
        report = Ingestor(config).store(session, source, [*items, bad], NOW)
    assert report.stored == 3 and report.rejected == 1 and "'id-bad' not stored" in report.errors[0]


# ---------------------------------------------------------------- collect: the real path


def _mastodon_source(base: str) -> tuple[SourceConfig, Any]:
    settings = {"base_url": base, "hashtags": ["kayuagung"], "min_request_interval": 0}
    return SourceConfig(name="mastodon-oki", kind="mastodon", settings=settings), create("mastodon-oki", settings, {})


def test_collect_keeps_the_batch_moves_the_cursor_and_shows_the_reject(db: Database, config: AppConfig) -> None:
    with replay() as (server, client):
        server.add("GET", PATH, _page_with_a_poisoned_status())
        src, collector = _mastodon_source(server.base_url)
        report = run_source(db, config, src, collector, client, NOW, rng=random.Random(1))
        again = run_source(db, config, src, collector, client, NOW, rng=random.Random(1))
    assert report.ok and report.ingest is not None and report.ingest.stored == 2
    assert report.rejected == 1 and any("10^12" in r and "113400000000000103" in r for r in report.reasons)
    with db.session() as session:
        row = session.scalar(select(Source).where(Source.name == "mastodon-oki"))
        assert row is not None
        stored = sorted(session.scalars(select(Post.external_id)))
        assert stored == ["113400000000000104", "113400000000000105"]
        # The cursor moved past the bad status: it is not fetched (and rejected) forever.
        assert row.cursor == {"streams": {"tag:kayuagung": {"newest_id": "113400000000000105"}}}
        assert row.status == "ok" and row.rejected_total == 2 and row.rejected_last_run == 1
        assert row.last_reject is not None and "likes is larger than 10^12" in row.last_reject
    assert again.ok and again.ingest is not None and again.ingest.duplicates == 2


def test_a_storage_failure_marks_the_source_instead_of_leaving_it_ok(
    sqlite_db: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should ingest ever raise on a batch, the run is a recorded failure (status error), not a silent crash."""

    def broken_store(self: Ingestor, session: Any, source: Source, items: Any, now: datetime) -> Any:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(Ingestor, "store", broken_store)
    with replay() as (server, client):
        server.add("GET", PATH, _page_with_a_poisoned_status())
        src, collector = _mastodon_source(server.base_url)
        report = run_source(sqlite_db, config, src, collector, client, NOW, rng=random.Random(1))
    assert not report.ok and "penyimpanan gagal" in (report.error or "")
    with sqlite_db.session() as session:
        row = session.scalar(select(Source).where(Source.name == "mastodon-oki"))
        assert row is not None and row.status == "error" and row.consecutive_failures == 1 and row.cursor == {}


def test_collector_rejections_are_captured_for_source_health() -> None:
    with collecting_notes() as notes:
        log_rejected("s", "abc", "status without a string id")
    log_rejected("s", "outside", "not captured")
    assert notes == ["item 'abc': status without a string id"]


def test_a_flood_of_rejections_logs_a_bounded_number_of_lines_but_notes_and_counts_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="collectors")
    with collecting_notes() as notes:
        for n in range(MAX_LOGGED + 500):
            log_rejected("junk", n, "not an object")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == MAX_LOGGED + 1 and lines[0] == "source junk: item '0' skipped: not an object"
    assert lines[-1].startswith("source junk: 500 more items skipped in this run, not logged one by one")
    assert len(notes) == MAX_NOTES
    caplog.clear()
    log_rejected("junk", "outside", "no capture: every one is logged")
    assert len(caplog.records) == 1


def test_cli_collect_and_sources_show_the_reject(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from tests.conftest import ROOT

    with replay() as (server, _client):
        server.add("GET", PATH, _page_with_a_poisoned_status())
        data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        data["database_url"] = f"sqlite:///{tmp_path / 'cli.db'}"
        data["sources"] = [
            {
                "name": "mastodon-oki",
                "kind": "mastodon",
                "settings": {
                    "base_url": server.base_url,
                    "hashtags": ["kayuagung"],
                    "min_request_interval": 0,
                    "allow_private_redirects": True,
                },
            }
        ]
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
        monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
        assert main(["--config", str(cfg), "db", "upgrade"]) == 0
        code = main(["--config", str(cfg), "collect", "--source", "mastodon-oki", "--once"])
        out = capsys.readouterr().out
        assert code == 0
        assert "2 baru disimpan" in out and "1 ditolak" in out and "likes is larger than 10^12" in out
        assert main(["--config", str(cfg), "sources"]) == 0
        listing = capsys.readouterr().out
    line = next(x for x in listing.splitlines() if x.startswith("mastodon-oki"))
    assert " ok " in line and "1/1" in line and "ditolak: item '113400000000000103' skipped: likes" in line


def test_sources_page_shows_last_run_rejects_and_why(config: AppConfig, sqlite_db: Database) -> None:
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app
    from tests.web_support import ANALYST_TOKEN, make_clock, seed

    seed(sqlite_db)
    with replay() as (server, client):
        server.add("GET", PATH, _page_with_a_poisoned_status())
        src, collector = _mastodon_source(server.base_url)
        assert run_source(sqlite_db, config, src, collector, client, NOW, rng=random.Random(1)).ok
    with TestClient(create_app(config, sqlite_db, make_clock())) as web:
        page = web.get("/sources", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert page.status_code == 200
    row = page.text[page.text.index("<td>mastodon-oki</td>") :]
    row = row[: row.index("</tr>")]
    assert "<td>1 / 1<details>" in row
    assert "item &#39;113400000000000103&#39; skipped: likes is larger than 10^12" in row
