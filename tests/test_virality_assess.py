"""assess(): stages on a demo-shaped issue, small issues, buzzer bursts, hysteresis, params."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from classifiers.virality import Assessment, EngagementReading, PostEvent, ViralityParams, assess

START = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # Monday 00:00 WIB
PARAMS = ViralityParams()
PEAK_HOUR = 38.0


def road_rate(hour: float) -> float:
    """Posts per hour: 1-2 an hour from hour 6, accelerating from hour 16 to dozens an hour at 36-40."""
    if hour < 6:
        return 0.0
    if hour < 16:
        return 1.2
    if hour <= PEAK_HOUR:
        return min(1.2 * math.exp((hour - 16) / 6.5), 40.0)
    return max(40.0 * math.exp(-(hour - PEAK_HOUR) / 3.0), 0.5)


def road_events(seed: int = 3) -> list[PostEvent]:
    rng = random.Random(seed)
    events: list[PostEvent] = []
    hour = 6.0
    while True:
        hour += rng.expovariate(max(road_rate(hour), 0.05))
        if hour >= 48:
            break
        heat = road_rate(hour) / 40.0
        events.append(
            PostEvent(
                at=START + timedelta(hours=hour),
                author=f"warga{rng.randint(1, 5000)}",
                platform=rng.choice(["x", "mastodon", "telegram", "youtube"]),
                engagement=(1 + 60 * heat) * rng.uniform(5, 15),
                is_news=False,
            )
        )
    for i in range(4):  # news portals pick it up as it grows
        events.append(PostEvent(START + timedelta(hours=28 + 3 * i), f"portal{i}", "rss", 0.0, True))
    return sorted(events, key=lambda e: e.at)


def run_stages(events: list[PostEvent], hours: float = 48, every_minutes: int = 15) -> list[tuple[float, Assessment]]:
    out = []
    stage: str | None = None
    for k in range(int(hours * 60 / every_minutes) + 1):
        now = START + timedelta(minutes=every_minutes * k)
        seen = [e for e in events if e.at <= now]
        if not seen:
            continue
        result = assess(seen, [], now, PARAMS, previous_stage=stage)
        out.append((k * every_minutes / 60, result))
        stage = result.stage
    return out


def test_demo_road_issue_is_naik_hours_before_the_peak_then_viral_then_mereda() -> None:
    timeline = run_stages(road_events())
    first = {}
    for hour, a in timeline:
        first.setdefault(a.stage, hour)
    assert "naik" in first, "never warned"
    assert first["naik"] <= PEAK_HOUR - 6, f"naik only at hour {first['naik']}"
    assert first["naik"] >= 8, "warned on the first trickle of posts"
    assert first["viral"] > first["naik"]
    assert first["viral"] <= PEAK_HOUR
    assert first.get("mereda", 99) > PEAK_HOUR
    # Hysteresis: once naik, the issue never falls back to baru, and it changes stage only a few times.
    stages = [a.stage for _, a in timeline]
    after = stages[stages.index("naik") :]
    assert "baru" not in after
    changes = sum(1 for a, b in itertools.pairwise(stages) if a != b)
    assert changes <= 4
    at_naik = next(a for h, a in timeline if a.stage == "naik")
    assert at_naik.p_viral >= PARAMS.naik_probability or at_naik.spike
    assert any("unggahan/jam" in r for r in at_naik.reasons)


@pytest.mark.parametrize("n_posts", [1, 2, 3])
def test_small_issues_stay_baru(n_posts: int) -> None:
    events = [
        PostEvent(START + timedelta(minutes=3 * i), f"a{i}", "x", engagement=500.0, is_news=False)
        for i in range(n_posts)
    ]
    for minutes in (5, 30, 120, 24 * 60, 25 * 60):
        now = START + timedelta(minutes=minutes)
        result = assess(events, [], now, PARAMS)
        assert result.stage == "baru", (n_posts, minutes, result)
        assert result.p_viral < PARAMS.naik_exit_probability
        in_window = [e for e in events if now - timedelta(hours=24) < e.at <= now]
        assert result.mentions == len(in_window)


def test_viral_by_count_and_by_engagement() -> None:
    now = START + timedelta(hours=10)
    many = [PostEvent(now - timedelta(minutes=5 * i), f"a{i}", "x", 1.0, False) for i in range(70)]
    assert assess(many, [], now, PARAMS).stage == "viral"
    few = [PostEvent(now - timedelta(minutes=30 * i), f"a{i}", "x", 1.0, False) for i in range(6)]
    readings = [EngagementReading(now - timedelta(minutes=1), "p1", 9000.0)]
    result = assess(few, readings, now, PARAMS)
    assert result.stage == "viral"
    assert result.engagement == 9000.0
    assert result.eta_minutes is None


def _burst(coordinated: bool) -> list[PostEvent]:
    now = START + timedelta(hours=20)
    events = [PostEvent(START + timedelta(hours=h), f"w{h}", "x", 3.0, False) for h in range(0, 20, 2)]
    for i in range(40):
        # 40 posts in the last 40 minutes: by 5 accounts within seconds of each other, or by 40 people.
        if coordinated:
            at = now - timedelta(minutes=10 * (i // 10), seconds=i % 10)
            author = f"buzzer{i % 5}"
        else:
            at = now - timedelta(minutes=i)
            author = f"warga{i}"
        events.append(PostEvent(at, author, "x", 2.0, False))
    return events


def test_buzzer_like_burst_is_flagged_and_weighed_down_not_hidden() -> None:
    now = START + timedelta(hours=20)
    organic = assess(_burst(False), [], now, PARAMS)
    buzz = assess(_burst(True), [], now, PARAMS)
    assert not organic.buzzer_suspected
    assert buzz.buzzer_suspected
    assert buzz.buzzer_share >= 0.5
    assert buzz.score < organic.score
    assert buzz.mentions == organic.mentions  # counted and shown, only weighed less
    assert any("buzzer" in r for r in buzz.reasons)


def test_assess_is_deterministic_and_ignores_future_posts() -> None:
    events = road_events()
    now = START + timedelta(hours=30)
    a = assess(events, [], now, PARAMS, "naik")
    b = assess(list(reversed(events)), [], now, PARAMS, "naik")
    assert a == b
    assert a.mentions == sum(1 for e in events if now - timedelta(hours=24) < e.at <= now)


def test_params_reject_unknown_keys_and_broken_hysteresis() -> None:
    with pytest.raises(pydantic.ValidationError):
        ViralityParams.model_validate({"viral_mention": 10})
    with pytest.raises(pydantic.ValidationError, match="naik_exit_probability"):
        ViralityParams(naik_probability=0.3, naik_exit_probability=0.6)
    assert ViralityParams.model_validate({"viral_mentions": 30}).viral_mentions == 30
