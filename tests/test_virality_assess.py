"""assess(): stages on a demo-shaped issue, small issues, buzzer bursts, hysteresis, params."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pydantic
import pytest

from classifiers.virality import Assessment, EngagementReading, PostEvent, ViralityParams, assess
from tests.virality_support import PEAK_HOUR, START, road_events

PARAMS = ViralityParams()


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


# --- the steps of assess(), each on its own ------------------------------------------------


def test_gather_signals_counts_weights_and_bins() -> None:
    from classifiers.virality import gather_signals

    now = START + timedelta(hours=20)
    assert gather_signals([], [], now, PARAMS) is None
    assert gather_signals([PostEvent(now + timedelta(minutes=1), "a", "x", 1.0, False)], [], now, PARAMS) is None
    organic = gather_signals(_burst(False), [], now, PARAMS)
    buzz = gather_signals(_burst(True), [], now, PARAMS)
    assert organic is not None and buzz is not None
    assert organic.mentions == buzz.mentions == 50
    assert organic.eff_mentions == 50 and organic.buzzer_share == 0.0
    assert buzz.eff_mentions < 30 and buzz.buzzer_suspected
    # The weighted series holds the weighted posts after its start, its last bin ending at now.
    bins = len(organic.series)
    assert organic.series_start + timedelta(minutes=PARAMS.bin_minutes * bins) == now
    after = [e for e in _burst(False) if e.at > organic.series_start]
    assert len(after) >= 49 and math.isclose(float(organic.series.sum()), len(after))
    assert float(buzz.series.sum()) < float(organic.series.sum())
    # Engagement: readings win over the posts' own numbers; velocity is the last hour's gain.
    readings = [
        EngagementReading(now - timedelta(minutes=90), "p", 100.0),
        EngagementReading(now - timedelta(minutes=10), "p", 400.0),
        EngagementReading(now + timedelta(minutes=10), "p", 9999.0),  # after now: ignored
    ]
    few = [PostEvent(now - timedelta(hours=2), "a", "x", 0.0, False)]
    sig = gather_signals(few, readings, now, PARAMS)
    assert sig is not None and sig.engagement == 400.0 and sig.velocity == 300.0


def test_weigh_evidence_sees_a_climb_and_not_a_trickle() -> None:
    from classifiers.virality import gather_signals, weigh_evidence

    events = road_events()
    early = gather_signals(events, [], START + timedelta(hours=12), PARAMS)
    late = gather_signals(events, [], START + timedelta(hours=27), PARAMS)
    assert early is not None and late is not None
    calm, climb = weigh_evidence(early, PARAMS), weigh_evidence(late, PARAMS)
    assert not calm.spike and calm.forecast.p_viral < 0.5
    assert climb.growth > 0.05 and climb.forecast.p_viral > 0.5 + calm.forecast.p_viral / 2
    assert climb.rate_hour > calm.rate_hour


def test_read_outlook_gives_small_issues_no_probability() -> None:
    from classifiers.virality import gather_signals, read_outlook, weigh_evidence

    now = START + timedelta(hours=1)
    two = [PostEvent(now - timedelta(minutes=m), f"a{m}", "x", 0.0, False) for m in (1, 2)]
    sig = gather_signals(two, [], now, PARAMS)
    assert sig is not None
    out = read_outlook(sig, weigh_evidence(sig, PARAMS), PARAMS)
    assert out.small and out.p_viral == 0.0 and out.eta_minutes is None


def test_decide_stage_transitions() -> None:
    from classifiers.forecast import Forecast
    from classifiers.virality import Evidence, Outlook, decide_stage, gather_signals

    now = START + timedelta(hours=10)
    steady = [PostEvent(now - timedelta(minutes=20 * i), f"a{i}", "x", 0.0, False) for i in range(20)]
    sig = gather_signals(steady, [], now, PARAMS)
    assert sig is not None

    def ev(spike: bool, fresh: bool = False) -> Evidence:
        return Evidence(spike, 6.0 if spike else 0.0, fresh, 1.0, 3.0, 0.0, Forecast(0.0, None, 0.0))

    def out(p: float, growing: bool = True, small: bool = False) -> Outlook:
        return Outlook(small=small, p_viral=p, eta_minutes=None, growing=growing)

    assert decide_stage(sig, ev(False), out(0.1), PARAMS, "baru") == "baru"
    assert decide_stage(sig, ev(True), out(0.1), PARAMS, "baru") == "naik"
    assert decide_stage(sig, ev(False), out(0.6), PARAMS, "baru") == "naik"
    assert decide_stage(sig, ev(False), out(0.6, growing=False), PARAMS, "baru") == "baru"
    assert decide_stage(sig, ev(True), out(0.9, small=True), PARAMS, "baru") == "baru"
    # Hysteresis: naik holds above the exit probability, then cools to mereda.
    assert decide_stage(sig, ev(False), out(0.3), PARAMS, "naik") == "naik"
    assert decide_stage(sig, ev(False), out(0.1), PARAMS, "naik") == "mereda"
    # mereda revives only on a fresh surge.
    assert decide_stage(sig, ev(True), out(0.9), PARAMS, "mereda") == "mereda"
    assert decide_stage(sig, ev(True, fresh=True), out(0.9), PARAMS, "mereda") == "naik"
    # viral stays viral while the rate holds (a steady rate is not cooling).
    assert decide_stage(sig, ev(False), out(0.0), PARAMS, "viral") == "viral"


def test_rise_score_and_reasons() -> None:
    from classifiers.virality import explain, gather_signals, read_outlook, rise_score, weigh_evidence

    now = START + timedelta(hours=20)
    sig = gather_signals(_burst(False), [], now, PARAMS)
    assert sig is not None
    ev = weigh_evidence(sig, PARAMS)
    out = read_outlook(sig, ev, PARAMS)
    naik = rise_score(sig, ev, out, "naik", PARAMS)
    assert 0.0 <= rise_score(sig, ev, out, "mereda", PARAMS) < naik <= 100.0
    assert rise_score(sig, ev, out, "viral", PARAMS) >= 80.0
    reasons = explain(sig, ev, out, "naik", 42.0, PARAMS)
    assert reasons[0].startswith("laju ")
    assert any("50 unggahan dari 50 akun" in r for r in reasons)
    assert any("perkiraan 42 menit lagi" in r for r in reasons)
    assert "laju menurun" in explain(sig, ev, out, "mereda", None, PARAMS)
