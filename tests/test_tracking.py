"""Engagement tracking: the pure planner, the call pacing, and a replayed run against a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from collectors.base import MetricsReading, RateLimited, RawItem
from collectors.wire.x import x_lookup_response, x_rate_limit_headers
from collectors.x import create as create_x
from monitor.kernel.config import AppConfig, parse_config
from monitor.stages.track import (
    SourceBudget,
    TrackingParams,
    TrackTarget,
    calls_allowed,
    is_due,
    plan,
    plan_detail,
    run_tracking,
    tracking_interval,
)
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, Post, PostMetric, Source
from tests.platform_replay import Reply, fixture, replay

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 08:00 WIB
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


# --- schedule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "stage", "every"),
    [
        (timedelta(minutes=30), "naik", 5 * MIN),
        (timedelta(minutes=119), "viral", 5 * MIN),
        (2 * HOUR, "naik", 15 * MIN),
        (11 * HOUR, "naik", 15 * MIN),
        (12 * HOUR, "viral", HOUR),
        (47 * HOUR, "naik", HOUR),
        (48 * HOUR, "naik", 6 * HOUR),
        (30 * 24 * HOUR, "naik", 6 * HOUR),
        (timedelta(minutes=30), "baru", 15 * MIN),
        (3 * HOUR, "baru", HOUR),
        (timedelta(minutes=30), "mereda", HOUR),
        (3 * HOUR, "mereda", 6 * HOUR),
        (timedelta(minutes=30), "unknown-stage", 15 * MIN),
    ],
)
def test_interval_is_dense_while_young_and_rising(age: timedelta, stage: str, every: timedelta) -> None:
    assert tracking_interval(age, stage) == every


def target(post_id: int, *, source: str = "x", issue: int = 1, score: float = 1.0, stage: str = "naik",
           first_seen: datetime = T0, measured: datetime = T0, engagement: int = 0) -> TrackTarget:
    return TrackTarget(post_id=post_id, source=source, external_id=f"e{post_id}", issue_id=issue,
                       issue_score=score, issue_stage=stage, issue_first_seen=first_seen,
                       last_measured_at=measured, engagement=engagement)


def test_due_uses_slack_for_job_jitter() -> None:
    t = target(1)
    assert not is_due(t, T0 + 3 * MIN)
    assert is_due(t, T0 + 4 * MIN + 30 * timedelta(seconds=1))  # a job that ran 30 s early still measures
    assert not is_due(t, T0 + 4 * MIN + 30 * timedelta(seconds=1), slack=0.0)


def test_plan_busiest_issue_first_and_capped_by_budget() -> None:
    now = T0 + 10 * MIN
    targets = [
        target(1, issue=1, score=2.0, engagement=5),
        target(2, issue=2, score=9.0, engagement=1),
        target(3, issue=2, score=9.0, engagement=50),
        target(4, issue=3, score=5.0, source="yt"),
        target(5, issue=1, score=2.0, measured=now),  # just measured: not due
    ]
    budgets = {"x": SourceBudget(calls=1, max_ids_per_call=2), "yt": SourceBudget(calls=5, max_ids_per_call=50)}
    detail = plan_detail(targets, now, budgets)
    assert [(b.source, b.post_ids) for b in detail.batches] == [("x", (3, 2)), ("yt", (4,))]
    assert detail.due == 4
    assert detail.deferred == {"x": 1}
    assert [b.external_ids for b in plan(targets, now, budgets)] == [("e3", "e2"), ("e4",)]


def test_plan_packs_batches_and_skips_sources_without_budget() -> None:
    targets = [target(i, score=float(i)) for i in range(1, 8)] + [target(99, source="nolookup")]
    batches = plan(targets, T0 + HOUR, {"x": SourceBudget(calls=10, max_ids_per_call=3)})
    assert [b.post_ids for b in batches] == [(7, 6, 5), (4, 3, 2), (1,)]
    assert plan(targets, T0 + HOUR, {"x": SourceBudget(calls=0, max_ids_per_call=3)}) == []


def test_calls_allowed_paces_the_daily_budget() -> None:
    kwargs: dict[str, Any] = {"seconds_left_today": 12 * 3600, "run_every_seconds": 300, "per_run_cap": 20}
    assert calls_allowed(daily_budget=None, used_today=10**6, **kwargs) == 20
    assert calls_allowed(daily_budget=1000, used_today=1000, **kwargs) == 0
    assert calls_allowed(daily_budget=1000, used_today=1200, **kwargs) == 0
    # 144 runs left, 1000 calls left: even share ~7, burst ×4 → 28, cut by the per-run cap.
    assert calls_allowed(daily_budget=1000, used_today=0, **kwargs) == 20
    assert calls_allowed(daily_budget=1000, used_today=0, burst=1.0, **kwargs) == 7
    assert calls_allowed(daily_budget=1000, used_today=997, **kwargs) == 1
    # Last run of the day may spend what is left, up to the cap.
    assert calls_allowed(daily_budget=100, used_today=90, seconds_left_today=60, run_every_seconds=300,
                         per_run_cap=20) == 10


# --- replayed runs against a database ----------------------------------------------------


@pytest.fixture
def tdb(sqlite_db: Database) -> Database:
    """Runner tests that need one backend; the scenario tests below use ``db`` (SQLite and PostgreSQL)."""
    return sqlite_db


def make_config(base_url: str, daily_call_budget: int | None = None) -> AppConfig:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["sources"] = [{"name": "x-oki", "kind": "x", "token_env": "X_BEARER_TOKEN",
                        "daily_call_budget": daily_call_budget, "settings": {"base_url": base_url}}]
    return parse_config(data)


def seed(db: Database) -> dict[str, int]:
    """Two open issues with X posts: a young rising one (busy) and an old cooling one."""
    ids: dict[str, int] = {}
    with db.session() as s:
        src = Source(name="x-oki", kind="x", enabled=True, cursor={})
        s.add(src)
        s.flush()
        rising = Issue(topic="infrastruktur", title="Jalan rusak Cengal", status="open", stage="naik", score=8.0,
                       first_seen=T0, last_seen=T0, created_at=T0, updated_at=T0)
        cooling = Issue(topic="air_bersih", title="Air PDAM Kayuagung", status="open", stage="mereda", score=1.0,
                        first_seen=T0 - 30 * HOUR, last_seen=T0 - 20 * HOUR, created_at=T0 - 30 * HOUR,
                        updated_at=T0)
        closed = Issue(topic="listrik", title="Listrik padam", status="closed", stage="mereda", score=3.0,
                       first_seen=T0, last_seen=T0, created_at=T0, updated_at=T0)
        s.add_all([rising, cooling, closed])
        s.flush()
        for key, ext, issue, collected in [
            ("a", "1985000000000000003", rising, T0),
            ("b", "1985000000000000002", rising, T0),
            ("c", "1985000000000000001", cooling, T0 - 7 * HOUR),
            ("d", "1985000000000000009", closed, T0),
        ]:
            post = Post(source_id=src.id, platform="x", external_id=ext, text="...", created_at=collected,
                        collected_at=collected, content_hash=ext, likes=1)
            s.add(post)
            s.flush()
            s.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=collected, post_created_at=post.created_at))
            ids[key] = post.id
    return ids


def growing_lookup(counter: list[int]) -> Any:
    """X lookup replies whose counts grow with every call (a rising post)."""
    def respond(query: dict[str, str]) -> Reply:
        counter[0] += 1
        n = counter[0]
        ids = query["ids"].split(",")
        posts = [RawItem(source="x", platform="x", external_id=i, text="…", created_at=T0, shares=2 * n,
                         replies=n, likes=10 * n, views=100 * n) for i in ids]
        return Reply(200, x_lookup_response(posts, ids), x_rate_limit_headers(T0, remaining=800, limit=900))
    return respond


def snapshot_times(db: Database, post_id: int) -> list[datetime]:
    with db.session() as s:
        return list(s.scalars(select(PostMetric.at).where(PostMetric.post_id == post_id).order_by(PostMetric.at)))


def test_replayed_scenario_snapshots_follow_schedule_within_budget(db: Database) -> None:
    tdb = db
    ids = seed(tdb)
    counter = [0]
    runs = []
    with replay() as (server, client):
        server.add("GET", "/2/tweets", growing_lookup(counter))
        config = make_config(server.base_url, daily_call_budget=500)
        collectors = {"x-oki": create_x("x-oki", {"base_url": server.base_url}, {"X_BEARER_TOKEN": "tok-123456"})}
        for k in range(1, 37):  # every 5 minutes for 3 hours
            runs.append(run_tracking(tdb, config, T0 + k * 5 * MIN, client, collectors))
    times_a = snapshot_times(tdb, ids["a"])
    gaps = [(b - a) for a, b in zip([T0, *times_a], times_a, strict=False)]
    young = [g for g, t in zip(gaps, times_a, strict=True) if t - T0 <= 2 * HOUR]
    older = [g for g, t in zip(gaps, times_a, strict=True) if t - T0 > 2 * HOUR + 15 * MIN]
    assert young and all(g == 5 * MIN for g in young)
    assert older and all(g == 15 * MIN for g in older)
    assert snapshot_times(tdb, ids["b"]) == times_a  # same issue, measured in the same call
    assert len(snapshot_times(tdb, ids["c"])) == 1  # cooling issue: once (every 6 h)
    assert snapshot_times(tdb, ids["d"]) == []  # closed issue: never
    total_calls = sum(r.calls.get("x-oki", 0) for r in runs)
    assert total_calls == len(server.calls("/2/tweets")) == counter[0]
    assert total_calls == len([r for r in runs if r.snapshots])  # one call per run: all ids fit one batch
    with tdb.session() as s:
        src = s.scalar(select(Source).where(Source.name == "x-oki"))
        assert src is not None
        assert src.calls_today == total_calls <= 500
        assert src.rate_limit["lookup"]["remaining"] == 800
        post_a = s.get(Post, ids["a"])
        assert post_a is not None and post_a.likes == 10 * counter[0] and post_a.views == 100 * counter[0]
    likes_a = [snap.likes for r in runs for snap in r.snapshots if snap.post_id == ids["a"]]
    assert likes_a == sorted(likes_a) and likes_a[-1] > likes_a[0]  # growth is visible in the snapshots


def test_budget_caps_calls_and_busiest_issue_goes_first(db: Database) -> None:
    tdb = db
    ids = seed(tdb)
    counter = [0]
    with replay() as (server, client):
        server.add("GET", "/2/tweets", growing_lookup(counter))
        config = make_config(server.base_url, daily_call_budget=4)
        x = create_x("x-oki", {"base_url": server.base_url}, {"X_BEARER_TOKEN": "tok-123456"})
        x.max_ids_per_call = 1  # one post per call makes the budget bite
        reports = [run_tracking(tdb, config, T0 + k * 5 * MIN, client, {"x-oki": x},
                                TrackingParams(per_run_cap=2)) for k in range(1, 7)]
    assert sum(sum(r.calls.values()) for r in reports) == 4 == counter[0]
    first = reports[0]
    assert [s.post_id for s in first.snapshots] == [ids["a"]]  # rising issue first, cooling one deferred
    assert first.deferred == {"x-oki": 2}
    assert "anggaran" in reports[-1].skipped["x-oki"]
    with tdb.session() as s:
        src = s.scalar(select(Source).where(Source.name == "x-oki"))
        assert src is not None and src.calls_today == 4


def test_revoked_token_marks_source_and_stops_calls(tdb: Database) -> None:
    seed(tdb)
    with replay() as (server, client):
        server.add("GET", "/2/tweets", fixture("x", "unauthorized_401.json"))
        config = make_config(server.base_url)
        collectors = {"x-oki": create_x("x-oki", {"base_url": server.base_url}, {"X_BEARER_TOKEN": "tok-123456"})}
        first = run_tracking(tdb, config, T0 + 5 * MIN, client, collectors)
        second = run_tracking(tdb, config, T0 + 10 * MIN, client, collectors)
    assert "X_BEARER_TOKEN" in first.errors["x-oki"]
    assert len(server.calls("/2/tweets")) == 1
    assert "token" in second.skipped["x-oki"] and second.calls == {}
    with tdb.session() as s:
        src = s.scalar(select(Source).where(Source.name == "x-oki"))
        assert src is not None and src.status == "auth_failed" and "X_BEARER_TOKEN" in (src.last_error or "")


def test_rate_limit_backs_off_until_reset(tdb: Database) -> None:
    seed(tdb)
    with replay() as (server, client):
        server.add("GET", "/2/tweets", fixture("x", "rate_limited_429.json"))
        config = make_config(server.base_url)
        collectors = {"x-oki": create_x("x-oki", {"base_url": server.base_url}, {"X_BEARER_TOKEN": "tok-123456"})}
        now = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # the fixture's window resets at 05:00
        run_tracking(tdb, config, now, client, collectors)
        later = run_tracking(tdb, config, now + 10 * MIN, client, collectors)
    assert len(server.calls("/2/tweets")) == 1
    assert "menunggu" in later.skipped["x-oki"]
    with tdb.session() as s:
        src = s.scalar(select(Source).where(Source.name == "x-oki"))
        assert src is not None and src.status == "rate_limited"
        assert src.backoff_until == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


class VanishingLookup:
    """A collector whose posts are all deleted: tracking must give up on them, not poll forever."""

    max_ids_per_call = 10

    def __init__(self) -> None:
        self.calls = 0

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        self.calls += 1
        return [], 1


def test_missing_posts_stop_being_tracked(tdb: Database) -> None:
    seed(tdb)
    config = make_config("http://127.0.0.1:9")
    gone = VanishingLookup()
    with httpx.Client() as client:
        reports = [run_tracking(tdb, config, T0 + k * 10 * MIN, client, {"x-oki": gone}) for k in range(1, 8)]
    assert gone.calls == 3
    assert reports[0].missing == 3 and reports[-1].due == 0


class FlakyLookup:
    max_ids_per_call = 10

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        raise RateLimited("slow down", retry_after=60)


def test_collectors_without_lookup_are_ignored(tdb: Database) -> None:
    seed(tdb)
    config = make_config("http://127.0.0.1:9")
    with httpx.Client() as client:
        report = run_tracking(tdb, config, T0 + HOUR, client, {"x-oki": object()})
        flaky = run_tracking(tdb, config, T0 + HOUR, client, {"x-oki": FlakyLookup()})
    assert report.due == 0 and report.calls == {} and report.skipped == {}
    assert "slow down" in flaky.errors["x-oki"]
    assert json.dumps(flaky.budget) == '{"x-oki": 20}'


def test_stored_lookup_window_is_respected_after_restart(tdb: Database) -> None:
    seed(tdb)
    now = T0 + HOUR
    with tdb.session() as s:
        src = s.scalar(select(Source).where(Source.name == "x-oki"))
        assert src is not None
        src.rate_limit = {"remaining": 300, "lookup": {"remaining": 0, "reset": (now + 5 * MIN).isoformat()}}
    gone = VanishingLookup()
    with httpx.Client() as client:
        blocked = run_tracking(tdb, make_config("http://127.0.0.1:9"), now, client, {"x-oki": gone})
        reopened = run_tracking(tdb, make_config("http://127.0.0.1:9"), now + 6 * MIN, client, {"x-oki": gone})
    assert gone.calls == 1
    assert "jendela" in blocked.skipped["x-oki"] and reopened.calls == {"x-oki": 1}


class PoisonedLookup:
    """One reading claims 10^30 likes (a broken or hostile API): that reading alone is dropped."""

    max_ids_per_call = 10

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        return [MetricsReading(e, likes=10**30 if k == 0 else 7) for k, e in enumerate(external_ids)], 1


def test_an_impossible_reading_is_dropped_alone(db: Database) -> None:
    ids = seed(db)
    config = make_config("http://127.0.0.1:9")
    with httpx.Client() as client:
        report = run_tracking(db, config, T0 + 10 * MIN, client, {"x-oki": PoisonedLookup()})
    assert report.rejected == 1 and report.readings == 2
    with db.session() as s:
        likes = {pid: n for pid, n in s.execute(select(Post.id, Post.likes))}
    assert sorted(likes[ids[k]] for k in "abc") == [1, 7, 7]  # the poisoned post keeps its old count
