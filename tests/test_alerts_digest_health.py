"""Daily digest per agency at the configured WIB time, and silent-source alerts to the admins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.digest import queue_digests
from alerts.render import Links, render
from alerts.source_health import check, usual_gap
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Post, Source
from tests.telegram_server import alert_config, make_issue


def test_digest_once_per_day_after_the_configured_time(sqlite_db: Database, config: AppConfig) -> None:
    db = sqlite_db
    cfg = alert_config(config, digest_time="07:30")
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=WIB)
    with db.session() as s:
        make_issue(s, morning - timedelta(hours=3))
        make_issue(s, morning - timedelta(days=3), title="Jembatan retak", kecamatan="Jejawi")
        assert queue_digests(s, cfg, morning) == []
        made = queue_digests(s, cfg, morning + timedelta(minutes=31))
        assert [a.receiver for a in made] == ["agency:pupr"]
        digest = made[0].payload["digest"]
        assert (digest["open"], digest["new"], digest["resolved"]) == (2, 1, 0)
        assert queue_digests(s, cfg, morning + timedelta(hours=5)) == []
        assert len(queue_digests(s, cfg, morning + timedelta(days=1, minutes=31))) == 1
        assert s.query(Delivery).filter(Delivery.alert_id == made[0].id).count() == 2
    text = render(made[0].payload, Links(dashboard="http://x")).plain
    assert "Isu terbuka: 2; baru 24 jam: 1" in text


def _posts_every(s: object, source: Source, start: datetime, every: timedelta, n: int) -> None:
    for k in range(n):
        at = start + every * k
        s.add(  # type: ignore[attr-defined]
            Post(
                source_id=source.id,
                platform="rss",
                external_id=f"{source.name}{k}",
                text="x",
                created_at=at,
                collected_at=at,
                content_hash=f"{source.name}{k}",
            )
        )


def test_silent_source_is_reported_once_against_its_own_cadence(sqlite_db: Database, config: AppConfig) -> None:
    db = sqlite_db
    cfg = alert_config(config)
    start = datetime(2026, 12, 1, 0, 0, tzinfo=WIB)
    with db.session() as s:
        busy = Source(name="antara-sumsel", kind="rss", enabled=True, cursor={})
        slow = Source(name="okinews", kind="rss", enabled=True, cursor={})
        s.add_all([busy, slow])
        s.flush()
        _posts_every(s, busy, start, timedelta(minutes=15), 40)  # last at 09:45
        _posts_every(s, slow, start - timedelta(hours=12), timedelta(hours=3), 8)  # last at 09:00
        s.flush()
        assert check(s, cfg, start + timedelta(hours=10)) == []
        # Two hours without items: long for a 15-minute source, normal for a 3-hourly one.
        made = check(s, cfg, start + timedelta(hours=11, minutes=45))
        assert [a.payload["source"]["name"] for a in made] == ["antara-sumsel"]
        assert made[0].receiver == "agency:diskominfo"
        assert check(s, cfg, start + timedelta(hours=12)) == []
        assert s.scalar(select(Alert.kind)) == "source_health"


def test_a_quiet_report_intake_is_no_silent_source(sqlite_db: Database, config: AppConfig) -> None:
    """Forwarded reports come when people send them: days without one are no broken collector."""
    db = sqlite_db
    data = alert_config(config).model_dump(by_alias=True)
    data["sources"] = [{"name": "laporan", "kind": "laporan", "interval_seconds": 60}]
    cfg = AppConfig.model_validate(data)
    start = datetime(2026, 12, 1, 0, 0, tzinfo=WIB)
    with db.session() as s:
        intake = Source(name="laporan", kind="laporan", enabled=True, cursor={})
        s.add(intake)
        s.flush()
        _posts_every(s, intake, start, timedelta(minutes=10), 12)
        s.flush()
        assert check(s, cfg, start + timedelta(days=3)) == []


def test_usual_gap_needs_history() -> None:
    t = datetime(2026, 12, 1, tzinfo=WIB)
    assert usual_gap([t, t - timedelta(minutes=5)]) is None
    assert usual_gap([t - timedelta(minutes=10 * k) for k in range(10)]) == timedelta(minutes=10)
