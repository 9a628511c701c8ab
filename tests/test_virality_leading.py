"""Leading evidence in assess(): engagement velocity, cross-platform spread, reach; their reasons and guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from classifiers.virality import (
    EngagementReading,
    Leading,
    PostEvent,
    ViralityParams,
    assess,
    leading_verdict,
    read_leading,
)
from monitor.stages.assess import FOLLOWERS, followers_of
from monitor.store.db import Database
from monitor.store.models import Post, Source

NOW = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB
PARAMS = ViralityParams()
OFF = PARAMS.model_copy(update={"lead_signals": 0})
PLATFORMS = ("x", "facebook", "instagram")


def steady_then_three(
    platforms: tuple[str, ...] = PLATFORMS, reach: float = 0.0, authors: tuple[str, ...] | None = None
) -> list[PostEvent]:
    """A post an hour for a day, then three in the last hour: growing, but too little for the counts alone."""
    events = [
        PostEvent(NOW - timedelta(minutes=60 * (i + 1)), f"lama{i}", platforms[i % len(platforms)], 0.0, False, f"o{i}")
        for i in range(23)
    ]
    for j, minutes in enumerate((50, 30, 10)):
        author = authors[j] if authors else f"warga{j}"
        at = NOW - timedelta(minutes=minutes)
        events.append(PostEvent(at, author, platforms[j % len(platforms)], 0.0, False, f"p{j}", reach=reach))
    return events


def shares(per_post: dict[str, float]) -> list[EngagementReading]:
    """A reading 70 minutes ago with nothing, and one now with ``per_post`` shares + replies."""
    out = []
    for key, spread in per_post.items():
        out.append(EngagementReading(NOW - timedelta(minutes=70), key, 0.0, spread=0.0))
        out.append(EngagementReading(NOW, key, 3 * spread, spread=spread))
    return out


def lead_of(events: list[PostEvent], readings: list[EngagementReading], params: ViralityParams = PARAMS) -> Leading:
    ordered = sorted(events, key=lambda e: e.at)
    return read_leading(ordered, np.ones(len(ordered), dtype=bool), readings, NOW, params)


def test_counts_alone_stay_baru_two_leading_signals_make_naik() -> None:
    events = steady_then_three(reach=30_000.0)  # three platforms and 90,000 followers in the last 3 h
    before = assess(events, [], NOW, OFF, previous_stage="baru")
    after = assess(events, [], NOW, PARAMS, previous_stage="baru")
    assert before.stage == "baru"
    assert after.stage == "naik"
    assert any(r.startswith("tanda awal: 2 dari 3") for r in after.reasons)


def test_one_leading_signal_never_raises_the_stage() -> None:
    reach_only = steady_then_three(platforms=("x",), reach=30_000.0)
    result = assess(reach_only, [], NOW, PARAMS, previous_stage="baru")
    assert result.stage == "baru"
    assert any(r.startswith("jangkauan 90.000 pengikut dari 3 akun") for r in result.reasons)
    assert not any(r.startswith("tanda awal") for r in result.reasons)


def test_velocity_reason_from_tracking_readings() -> None:
    events = steady_then_three(platforms=("x",))
    readings = shares({"p0": 60.0, "p1": 50.0, "p2": 40.0, "o0": 30.0})
    lead = lead_of(events, readings)
    # 60 + 50 + 40 + 30 shares/replies in the last 60 minutes; o0 was read before the window began.
    assert lead.velocity == 3.0 and lead.velocity_posts == 4
    assert leading_verdict(lead, PARAMS) == (("velocity",), ())
    result = assess(events, readings, NOW, PARAMS, previous_stage="baru")
    assert (
        "keterlibatan melaju: 3,0 bagikan/balasan per menit dalam 60 menit terakhir dari 4 unggahan" in result.reasons
    )


def test_velocity_guard_one_post_carries_it() -> None:
    events = steady_then_three(platforms=("x",))
    readings = shares({"p0": 400.0, "p1": 5.0, "p2": 5.0})
    lead = lead_of(events, readings)
    assert leading_verdict(lead, PARAMS) == ((), ("velocity",))
    result = assess(events, readings, NOW, PARAMS, previous_stage="baru")
    assert any("tidak dihitung sebagai tanda awal: 98% dari satu unggahan" in r for r in result.reasons)


def test_velocity_ignores_an_old_post_first_read_late() -> None:
    # o5 was published 6 h ago and first read now with 900 shares: those came over hours, not in the last 60 min.
    events = steady_then_three(platforms=("x",))
    lead = lead_of(events, [EngagementReading(NOW, "o5", 2000.0, spread=900.0)])
    assert lead.velocity == 0.0 and lead.velocity_posts == 0


def test_spread_reason_and_guard_few_accounts() -> None:
    spread = lead_of(steady_then_three(), [])
    assert spread.platforms == 3 and leading_verdict(spread, PARAMS) == (("spread",), ())
    result = assess(steady_then_three(), [], NOW, PARAMS, previous_stage="baru")
    assert "menyebar di 3 platform dalam 3 jam terakhir (5 akun)" in result.reasons
    # The same three platforms from two accounts (one of them cross-posting) is not spread.
    few = [e for e in steady_then_three(authors=("a", "b", "a")) if e.key.startswith("p")]
    lead = lead_of(few, [])
    assert lead.accounts == 2 and leading_verdict(lead, PARAMS) == ((), ("spread",))
    said = assess(few, [], NOW, PARAMS.model_copy(update={"naik_min_authors": 2}), previous_stage="baru").reasons
    assert "3 platform tidak dihitung sebagai tanda awal: hanya 2 akun dalam 3 jam terakhir" in said


def test_reach_guard_one_big_account() -> None:
    events = steady_then_three(platforms=("x",), reach=100.0)
    big = [
        e if e.key != "p0" else PostEvent(e.at, e.author, e.platform, 0.0, False, e.key, reach=2_000_000.0)
        for e in events
    ]
    lead = lead_of(big, [])
    assert lead.reach_top > 0.99 and leading_verdict(lead, PARAMS) == ((), ("reach",))
    result = assess(big, [], NOW, PARAMS, previous_stage="baru")
    assert result.stage == "baru"
    assert any(
        r.startswith("jangkauan 2.000.200 pengikut tidak dihitung sebagai tanda awal: 100% dari satu akun")
        for r in result.reasons
    )


def test_bot_dump_does_not_raise_through_leading_signals() -> None:
    # The quiet issue of the first test plus a dump: 12 posts within a minute from three accounts, one platform.
    events = steady_then_three(reach=30_000.0)
    dump = [
        PostEvent(NOW - timedelta(minutes=5, seconds=5 * k), f"bot{k % 3}", "x", 0.0, False, f"b{k}", reach=30_000.0)
        for k in range(12)
    ]
    result = assess(events + dump, [], NOW, PARAMS, previous_stage="baru")
    assert result.buzzer_suspected
    # Whatever the counts say, the leading signals add nothing: the same stage as with them off.
    assert result.stage == assess(events + dump, [], NOW, OFF, previous_stage="baru").stage
    assert "tanda awal tidak dihitung: diduga ada akun terkoordinasi (buzzer)" in result.reasons
    assert not any(r.startswith("tanda awal:") for r in result.reasons)


def test_followers_from_the_collectors_extra() -> None:
    assert followers_of({"followers": 1234}) == 1234.0
    assert followers_of({"followers": 12.5}) == 12.5
    for bad in (None, {}, {"followers": "many"}, {"followers": -3}, {"followers": True}, {"followers": float("nan")}):
        assert followers_of(bad) == 0.0


def test_collectors_keep_the_accounts_followers() -> None:
    import json
    from pathlib import Path

    from collectors.mastodon import parse_statuses
    from collectors.x import parse_search_page

    fixtures = Path(__file__).parent / "fixtures"
    statuses = json.loads((fixtures / "mastodon" / "tag_page1.json").read_text())["body"]
    statuses[0]["account"]["followers_count"] = 4321
    statuses[1]["account"]["followers_count"] = 10**40  # absurd: dropped, not stored
    page = parse_statuses(statuses, source="m", instance="https://mastodon.example", now=NOW)
    assert page.items[0].extra["followers"] == 4321
    assert all("followers" not in item.extra for item in page.items[1:])
    body = json.loads((fixtures / "x" / "search_page1.json").read_text())["body"]
    for user in body["includes"]["users"]:
        user["public_metrics"] = {"followers_count": 250_000}
    items = parse_search_page(body, "x").items
    assert items and all(item.extra["followers"] == 250_000 for item in items)
    assert followers_of(items[0].extra) == 250_000.0


def test_assessment_reads_followers_from_the_stored_posts(db: Database) -> None:
    """The assessment selects only ``extra["followers"]`` from the database: the same value on SQLite and PostgreSQL."""
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with db.session() as s:
        src = Source(name="t", kind="mastodon", cursor={})
        s.add(src)
        s.flush()
        extras: list[dict[str, Any]] = [{"followers": 250_000, "lang": "id"}, {"lang": "id"}, {"followers": "banyak"}]
        for n, extra in enumerate(extras):
            s.add(
                Post(
                    source_id=src.id,
                    platform="mastodon",
                    external_id=f"p{n}",
                    text="jalan rusak",
                    created_at=at,
                    collected_at=at,
                    content_hash=f"h{n}",
                    extra=extra,
                )
            )
        s.flush()
        rows = s.execute(select(FOLLOWERS).order_by(Post.external_id)).all()
    assert [followers_of({"followers": r.followers}) for r in rows] == [250_000.0, 0.0, 0.0]
