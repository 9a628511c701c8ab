"""The alerting state machine on a simulated clock: first alert, updates, repeats, escalation, hygiene."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from alerts.ack import acknowledge
from alerts.engine import evaluate
from alerts.hygiene import snooze
from alerts.routing import AlertLabels, check_routing, route
from alerts.sla import add_working_days
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue, Silence
from tests.telegram_server import add_posts, alert_config, group_of_three, make_issue

# Tuesday 1 December 2026, 09:00 WIB: a working day, outside quiet hours.
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def cfg(config: AppConfig) -> AppConfig:
    return alert_config(config)


def _alerts(db: Database, **where: object) -> list[Alert]:
    with db.session() as s:
        q = select(Alert).order_by(Alert.id)
        for k, v in where.items():
            q = q.where(getattr(Alert, k) == v)
        return list(s.scalars(q))


def test_rising_issue_one_first_alert_one_update_per_stage_and_escalation(db: Database, cfg: AppConfig) -> None:
    with db.session() as s:
        issue_id = make_issue(s, T0, stage="baru", score=20).id
    # The issue rises for 8 hours: naik after 1 h, viral after 3 h; nobody acknowledges.
    now = T0
    while now <= T0 + timedelta(hours=8):
        with db.session() as s:
            issue = s.get(Issue, issue_id)
            assert issue is not None
            if now >= T0 + timedelta(hours=3):
                issue.stage, issue.score = "viral", 90
            elif now >= T0 + timedelta(hours=1):
                issue.stage, issue.score = "naik", 65
            if (now - T0) % timedelta(hours=1) == timedelta(0):
                add_posts(s, issue, now, 2)
            evaluate(s, cfg, now)
        now += timedelta(minutes=10)

    agency = _alerts(db, receiver="agency:pupr")
    assert [(a.kind, a.stage) for a in agency] == [("first", "naik"), ("update", "viral")]
    first, update = agency
    assert first.created_at == T0 + timedelta(hours=1)
    assert update.parent_alert_id == first.id
    assert update.payload["first_alert_id"] == first.id
    escalations = _alerts(db, kind="escalation")
    assert len(escalations) == 1, "one escalation per issue, not one per unacknowledged update"
    esc = escalations[0]
    assert esc.receiver == "humas" and esc.parent_alert_id == first.id
    assert esc.created_at == first.created_at + timedelta(minutes=cfg.alerts.escalate_after_minutes)
    with db.session() as s:
        channels = sorted(d.channel for d in s.scalars(select(Delivery).where(Delivery.alert_id == first.id)))
    assert channels == ["email", "telegram"]


def test_acknowledged_issue_is_not_escalated_nor_repeated(sqlite_db: Database, config: AppConfig) -> None:
    db = sqlite_db
    cfg = alert_config(config, repeat_interval_hours=2)
    with db.session() as s:
        make_issue(s, T0)
        first = evaluate(s, cfg, T0)[0]
        acknowledge(s, alert_id=first.id, actor="dashboard:pupr", now=T0 + timedelta(minutes=30))
    for minutes in range(40, 600, 20):
        with db.session() as s:
            assert evaluate(s, cfg, T0 + timedelta(minutes=minutes)) == []
    with db.session() as s:
        issue = s.scalar(select(Issue))
        assert issue is not None and issue.acknowledged_by == "dashboard:pupr"


def test_repeat_only_after_repeat_interval(sqlite_db: Database, config: AppConfig) -> None:
    db = sqlite_db
    cfg = alert_config(config, repeat_interval_hours=3, escalate_to=None)
    with db.session() as s:
        make_issue(s, T0)
    times = [T0 + timedelta(minutes=m) for m in range(0, 7 * 60, 15)]
    for now in times:
        with db.session() as s:
            evaluate(s, cfg, now)
    kinds = [(a.kind, a.created_at - T0) for a in _alerts(db, receiver="agency:pupr")]
    assert kinds == [("first", timedelta(0)), ("repeat", timedelta(hours=3)), ("repeat", timedelta(hours=6))]


def test_silence_and_snooze_until_the_issue_climbs(sqlite_db: Database, cfg: AppConfig) -> None:
    db = sqlite_db
    with db.session() as s:
        issue = make_issue(s, T0, stage="naik")
        snooze(s, issue, actor="admin", now=T0)
        assert evaluate(s, cfg, T0) == []
        issue.stage = "viral"
        created = evaluate(s, cfg, T0 + timedelta(minutes=5))
    assert sorted((a.kind, a.stage, a.receiver) for a in created) == [
        ("first", "viral", "agency:pupr"),
        ("first", "viral", "humas"),
    ]
    with db.session() as s:
        other = make_issue(s, T0, topic="air_bersih", kecamatan="Tulung Selapan", title="Air PDAM mati")
        s.add(Silence(matchers={"topic": ["air_bersih"]}, starts_at=T0, ends_at=T0 + timedelta(hours=2)))
        s.flush()
        assert all(a.issue_id != other.id for a in evaluate(s, cfg, T0 + timedelta(hours=1)))
        assert any(a.issue_id == other.id for a in evaluate(s, cfg, T0 + timedelta(hours=2)))


def test_quiet_hours_hold_routine_alerts_but_not_urgent_ones(sqlite_db: Database, config: AppConfig) -> None:
    db = sqlite_db
    cfg = alert_config(config, quiet_hours={"enabled": True, "start": "21:00", "end": "06:00"})
    night = datetime(2026, 12, 1, 23, 30, tzinfo=WIB)
    with db.session() as s:
        road = make_issue(s, night)
        flood = make_issue(s, night, topic="bencana", title="Banjir di Pampangan", kecamatan="Pampangan", urgent=True)
        evaluate(s, cfg, night)
        due = {d.alert_id: d.next_attempt_at for d in s.scalars(select(Delivery))}
        by_issue = {a.issue_id: a.id for a in s.scalars(select(Alert))}
    assert due[by_issue[road.id]] == datetime(2026, 12, 2, 6, 0, tzinfo=WIB)
    assert due[by_issue[flood.id]] == night


def test_flood_inhibits_road_alert_in_the_same_kecamatan(sqlite_db: Database, cfg: AppConfig) -> None:
    db = sqlite_db
    with db.session() as s:
        make_issue(s, T0, topic="bencana", title="Banjir merendam Cengal", stage="naik")
        road_same = make_issue(s, T0, title="Jalan putus di Cengal")
        road_other = make_issue(s, T0, title="Jalan rusak di Lempuing", kecamatan="Lempuing")
        told = {a.issue_id for a in evaluate(s, cfg, T0)}
    assert road_same.id not in told
    assert road_other.id in told


def test_crisis_words_alert_at_once_without_a_spike(sqlite_db: Database, cfg: AppConfig) -> None:
    db = sqlite_db
    with db.session() as s:
        issue = make_issue(s, T0, stage="baru", score=5, title="Dua anak tenggelam di sungai Komering", posts=1)
        quiet = make_issue(s, T0, stage="baru", score=5, title="Lampu jalan mati")
        created = evaluate(s, cfg, T0)
    crisis = [a for a in created if a.issue_id == issue.id]
    assert [a.kind for a in crisis] == ["crisis"]
    assert "tenggelam" in crisis[0].payload["reason"]
    assert not [a for a in created if a.issue_id == quiet.id]


def test_crisis_word_in_the_posts_words_counts_even_if_the_title_lacks_it(sqlite_db: Database, cfg: AppConfig) -> None:
    with sqlite_db.session() as s:
        issue = make_issue(s, T0, topic="bencana", stage="baru", score=5, title="Bencana di Cengal: sungai meluap")
        issue.terms = {"w": {"sungai": 9.0, "meluap": 8.0, "tenggelam": 5.0}, "sigs": [], "t": [1, 1]}
        created = evaluate(s, cfg, T0)
    crisis = [a for a in created if a.issue_id == issue.id]
    assert [a.kind for a in crisis] == ["crisis"] and "tenggelam" in crisis[0].payload["reason"]


def test_small_issues_of_one_agency_are_grouped_and_one_ack_covers_them(sqlite_db: Database, cfg: AppConfig) -> None:
    db = sqlite_db
    with db.session() as s:
        group, ids = group_of_three(s, cfg, T0)
        assert sorted(i["id"] for i in group.payload["group"]) == sorted(ids)
        deliveries = list(s.scalars(select(Delivery)))
        assert {d.alert_id for d in deliveries} == {group.id}
        acknowledge(s, token=group.ack_token, actor="telegram:@staf", now=T0 + timedelta(minutes=5))
        assert all(s.get(Issue, i).acknowledged_at is not None for i in ids)  # type: ignore[union-attr]
        assert evaluate(s, cfg, T0 + timedelta(hours=5)) == []


def test_regression_is_told_again(sqlite_db: Database, cfg: AppConfig) -> None:
    db = sqlite_db
    with db.session() as s:
        issue = make_issue(s, T0)
        first = evaluate(s, cfg, T0)[0]
        acknowledge(s, alert_id=first.id, actor="dashboard", now=T0 + timedelta(minutes=10))
        issue.resolved_at = T0 + timedelta(hours=5)
        issue.regression = True
        created = evaluate(s, cfg, T0 + timedelta(hours=6))
    assert [a.kind for a in created] == ["regression"]
    assert created[0].parent_alert_id == first.id


def test_sla_deadline_counts_working_days_and_escalates_when_missed(db: Database, cfg: AppConfig) -> None:
    with db.session() as s:
        make_issue(s, T0)
        first = evaluate(s, cfg, T0)[0]
        acknowledge(s, alert_id=first.id, actor="dashboard", now=T0 + timedelta(minutes=10))
        # Acknowledged: the response clock (Tuesday 1 Dec + 3 working days = Friday 4 Dec) is met.
        assert first.respond_due_at == T0 + timedelta(days=3)
        assert first.payload["deadlines"]["process"]["due"] == (T0 + timedelta(days=7)).isoformat()
        assert evaluate(s, cfg, T0 + timedelta(days=6)) == []
        # Nobody said what is being done within 5 working days (Tuesday 8 Dec, same time).
        late = evaluate(s, cfg, T0 + timedelta(days=7, minutes=1))
        assert [(a.kind, a.receiver) for a in late] == [("escalation", "humas")]
        assert late[0].payload["escalation"]["reason"] == "lewat batas SLA tindak lanjut 5 hari kerja"
        assert late[0].payload["overdue"] == ["process"]
        assert evaluate(s, cfg, T0 + timedelta(days=8)) == []
        # Not finished within 10 working days (Tuesday 15 Dec): one more escalation, for that clock only.
        finish = evaluate(s, cfg, T0 + timedelta(days=14, minutes=1))
        assert [a.payload["overdue"] for a in finish] == [["finish"]]
        assert evaluate(s, cfg, T0 + timedelta(days=15)) == []


def test_unacknowledged_issue_escalates_at_the_response_deadline(db: Database, cfg: AppConfig) -> None:
    with db.session() as s:
        issue = make_issue(s, T0)
        evaluate(s, cfg, T0)
        evaluate(s, cfg, T0 + timedelta(days=1))  # the unacknowledged-alert escalation (minutes) is done
        late = evaluate(s, cfg, T0 + timedelta(days=3, minutes=1))
        assert [a.payload["overdue"] for a in late if a.kind == "escalation"] == [["respond"]]
        issue.resolved_at = T0 + timedelta(days=4)
        later = evaluate(s, cfg, T0 + timedelta(days=14, minutes=1))
        assert [a for a in later if a.kind == "escalation"] == []  # finished: no more clocks run


def test_disaster_clocks_are_shorter(db: Database, cfg: AppConfig) -> None:
    with db.session() as s:
        make_issue(s, T0, topic="bencana")
        first = next(a for a in evaluate(s, cfg, T0) if a.receiver.startswith("agency:"))
    days = {c: v["days"] for c, v in first.payload["deadlines"].items()}
    assert days == {"respond": 1, "process": 2, "finish": 5}
    assert first.respond_due_at == T0 + timedelta(days=1)


def test_add_working_days_skips_weekends_and_holidays() -> None:
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=WIB)
    assert add_working_days(friday, 1, []) == datetime(2026, 12, 7, 10, 0, tzinfo=WIB)
    assert add_working_days(friday, 5, []) == datetime(2026, 12, 11, 10, 0, tzinfo=WIB)
    # Christmas (Friday 25 Dec 2026) is a national holiday.
    assert add_working_days(datetime(2026, 12, 24, 9, 0, tzinfo=WIB), 1, [date(2026, 12, 25)]) == datetime(
        2026, 12, 28, 9, 0, tzinfo=WIB
    )
    saturday = datetime(2026, 12, 5, 20, 0, tzinfo=WIB)
    assert add_working_days(saturday, 1, []) == datetime(2026, 12, 8, 8, 0, tzinfo=WIB)


def test_routing_tree_with_continue_and_start_up_check(config: AppConfig) -> None:
    cfg = alert_config(
        config,
        receivers=[{"name": "humas", "email": ["humas@x.example"]}, {"name": "bupati", "email": ["b@x.example"]}],
        route={
            "receiver": "$agency",
            "routes": [
                {"match": {"stage": ["viral"]}, "receiver": "humas", "continue": True},
                {"match": {"stage": ["viral"]}, "receiver": "$agency", "continue": True},
                {
                    "match": {"topic": ["bencana"], "urgent": ["true"]},
                    "receiver": "bupati",
                    "escalate_after_minutes": 15,
                },
            ],
        },
    )
    viral = route(cfg.alerts, AlertLabels("infrastruktur", "pupr", "Cengal", "viral", False))
    assert [m.receiver for m in viral] == ["humas", "agency:pupr"]
    urgent = route(cfg.alerts, AlertLabels("bencana", "bpbd", "Cengal", "naik", True))
    assert [(m.receiver, m.escalate_after_minutes) for m in urgent] == [("bupati", 15)]
    assert check_routing(cfg) == []

    nowhere = alert_config(config, route={"routes": [{"match": {"topic": ["bencana"]}, "receiver": "humas"}]})
    problems = check_routing(nowhere)
    assert any("'infrastruktur'" in p and "no receiver" in p for p in problems)
    assert not any("'bencana'" in p for p in problems)
    # A route to a receiver nobody defined is a config error naming the key path, not a start-up warning.
    with pytest.raises(ValidationError, match=r"alerts\.route\.routes\.0\.receiver: receiver 'tidak-ada'"):
        alert_config(config, route={"receiver": "$agency", "routes": [{"receiver": "tidak-ada"}]})


def test_shipped_config_routes_every_topic(config: AppConfig) -> None:
    assert check_routing(config) == []


def test_evaluate_is_idempotent_within_one_moment(sqlite_db: Database, cfg: AppConfig, tmp_path: Path) -> None:
    db = sqlite_db
    with db.session() as s:
        make_issue(s, T0)
        assert len(evaluate(s, cfg, T0)) == 1
        assert evaluate(s, cfg, T0) == []
        assert evaluate(s, cfg, T0 + timedelta(minutes=1)) == []


def test_digest_overdue_counts_open_clocks_not_an_acknowledged_issue(db: Database, cfg: AppConfig) -> None:
    from alerts.stats import agency_times

    with db.session() as s:
        make_issue(s, T0)
        first = evaluate(s, cfg, T0)[0]
        acknowledge(s, alert_id=first.id, actor="dashboard", now=T0 + timedelta(minutes=10))
        # Past the response deadline (Friday) but acknowledged, and before the process deadline (Tuesday 8 Dec).
        assert agency_times(s, T0 + timedelta(days=4), config=cfg)["pupr"].overdue == 0
        assert agency_times(s, T0 + timedelta(days=7, minutes=1), config=cfg)["pupr"].overdue == 1
