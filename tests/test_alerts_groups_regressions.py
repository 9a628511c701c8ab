"""Alerts promised by the docs: regressions told after grouping reopens an issue, groups escalated, acknowledged and
rendered as groups, escalations held through quiet hours, a huge group still fits Telegram, digests count issues."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.ack import acknowledge
from alerts.engine import evaluate
from alerts.render import TELEGRAM_LIMIT, Links, _utf16_len, render
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig
from monitor.stages.group import post_text, simhash, split_issue, terms_of
from monitor.store.db import Database
from monitor.store.ledger import resolve_issue
from monitor.store.models import Delivery, Issue, Post
from monitor.web import actions
from tests.grouping_support import Harness
from tests.telegram_server import alert_config, group_of_three

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB


def test_issue_reopened_by_grouping_is_told_as_regression(sqlite_db: Database, config: AppConfig) -> None:
    """engine docstring: 'came back after being resolved -> regression'. End to end with the real grouper."""
    cfg = alert_config(config)
    h = Harness(sqlite_db, cfg)
    _, iid = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar", at=T0)
    with sqlite_db.session() as s:
        issue = s.get(Issue, iid)
        assert issue is not None
        issue.stage, issue.score = "naik", 70.0
        first = next(a for a in evaluate(s, cfg, T0) if a.receiver == "agency:pupr")
        acknowledge(s, alert_id=first.id, actor="dashboard", now=T0 + timedelta(minutes=10))
        resolve_issue(s, iid, "pupr-user", T0 + timedelta(hours=2))
    back = T0 + timedelta(days=3)
    _, again = h.add("Jalan Sungai Lumpur Cengal rusak lagi, lubang besar muncul lagi", at=back)
    assert again == iid
    kinds: list[str] = []
    with sqlite_db.session() as s:
        issue = s.get(Issue, iid)
        assert issue is not None and issue.status == "open" and issue.regression
        for minutes in range(0, 24 * 60, 30):
            # the assessment lifts the stage back to an alert stage after a while
            issue.stage = "naik" if minutes >= 60 else issue.stage
            created = evaluate(s, cfg, back + timedelta(minutes=minutes))
            kinds += [a.kind for a in created if a.receiver == "agency:pupr"]
    assert "regression" in kinds, kinds


def test_group_is_not_escalated_when_every_issue_was_acknowledged_on_the_dashboard(
    sqlite_db: Database, config: AppConfig
) -> None:
    """ack.py: 'Acknowledging any alert of an issue acknowledges the issue: escalation stops for every receiver'."""
    cfg = alert_config(config)
    with sqlite_db.session() as s:
        _, ids = group_of_three(s, cfg, T0)
        for iid in ids:
            issue = s.get(Issue, iid)
            assert issue is not None
            actions.acknowledge(s, issue, "pupr-user", T0 + timedelta(minutes=5))
        later = evaluate(s, cfg, T0 + timedelta(minutes=cfg.alerts.escalate_after_minutes + 1))
    assert [a.kind for a in later] == [], [(a.kind, a.receiver, a.payload.get("escalation")) for a in later]


def test_group_is_not_sla_escalated_when_every_issue_is_resolved(sqlite_db: Database, config: AppConfig) -> None:
    """engine._escalate skips SLA escalation for resolved issues; a group of resolved issues must be skipped too."""
    cfg = alert_config(config, escalate_to="humas")
    with sqlite_db.session() as s:
        group, ids = group_of_three(s, cfg, T0)
        acknowledge(s, token=group.ack_token, actor="telegram:@staf", now=T0 + timedelta(minutes=5))
        for iid in ids:
            resolve_issue(s, iid, "pupr-user", T0 + timedelta(hours=1))
        later = evaluate(s, cfg, T0 + timedelta(days=10))
    assert [a.kind for a in later] == [], [(a.kind, a.receiver, a.payload.get("escalation")) for a in later]


def test_escalation_of_a_group_names_its_issues(sqlite_db: Database, config: AppConfig) -> None:
    """An escalation of a group must tell the head which issues were not acted on (the payload holds them)."""

    cfg = alert_config(config)
    with sqlite_db.session() as s:
        _, ids = group_of_three(s, cfg, T0)
        later = evaluate(s, cfg, T0 + timedelta(minutes=cfg.alerts.escalate_after_minutes + 1))
    esc = [a for a in later if a.kind == "escalation"]
    assert len(esc) == 1 and len(esc[0].payload["group"]) == 3
    out = render(esc[0].payload, Links(dashboard="http://127.0.0.1:8080"))
    print(out.subject)
    print(out.plain)
    assert "Jalan berlubang Cengal" in out.plain, out.subject
    assert "Apa: None" not in out.plain
    with sqlite_db.session() as s:
        acknowledge(s, token=esc[0].ack_token, actor="telegram:@humas", now=T0 + timedelta(hours=3))
        assert all(s.get(Issue, i).acknowledged_at is not None for i in ids)  # type: ignore[union-attr]


def test_large_group_telegram_render_terminates() -> None:
    """render(): 'the Telegram text always fits in one message' - and must return."""

    items = [
        {"id": 1000 + i, "title": f"Jalan berlubang {i}", "kecamatan": "Cengal", "post_count": 3} for i in range(60)
    ]
    payload = {"kind": "group", "group": items, "agency_name": "Dinas PUPR OKI"}
    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(render(payload, Links(dashboard="http://127.0.0.1:8080")).telegram), daemon=True
    )
    worker.start()
    worker.join(10)
    assert result, "render() did not return within 10 s (endless shortening loop)"
    assert _utf16_len(result[0]) <= TELEGRAM_LIMIT


def test_split_signatures_are_the_ones_grouping_compares(sqlite_db: Database, config: AppConfig) -> None:
    """split_issue stores post signatures; grouping signs post_terms(post) (title and text), so must split."""

    h = Harness(sqlite_db, config)
    _, iid = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar", at=T0)
    pid, iid2 = h.add("Jalan Sungai Lumpur Cengal rusak parah, lubang makin besar", at=T0 + timedelta(minutes=5))
    assert iid2 == iid
    with sqlite_db.session() as s:
        post = s.get(Post, pid)
        assert post is not None
        post.title = "Warga keluhkan jembatan ambruk di Cengal"  # a news item / video / reddit post has a title
        s.flush()
        new = split_issue(s, iid, [pid], "admin", T0 + timedelta(hours=1))
        assert new.terms["sigs"] == [simhash(terms_of(post_text(post)))]


def test_escalation_of_a_routine_issue_is_held_during_quiet_hours(sqlite_db: Database, config: AppConfig) -> None:
    """QuietHours: 'Hold non-urgent alerts during the night (WIB); deliveries go out when quiet hours end'."""
    from tests.telegram_server import make_issue

    cfg = alert_config(config, quiet_hours={"enabled": True, "start": "21:00", "end": "06:00"})
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=WIB)  # decided before quiet hours: sent at once
    with sqlite_db.session() as s:
        make_issue(s, evening)
        assert [a.kind for a in evaluate(s, cfg, evening)] == ["first"]
        night = evening + timedelta(minutes=cfg.alerts.escalate_after_minutes + 1)  # 22:01 WIB
        esc = [a for a in evaluate(s, cfg, night) if a.kind == "escalation"]
        assert len(esc) == 1
        due = [d.next_attempt_at for d in s.scalars(select(Delivery).where(Delivery.alert_id == esc[0].id))]
    assert due and all(d.astimezone(WIB) >= datetime(2026, 12, 2, 6, 0, tzinfo=WIB) for d in due), due


def test_digest_counts_an_overdue_issue_once(sqlite_db: Database, config: AppConfig) -> None:
    """The digest says 'Lewat batas SLA: N isu': one open issue past its deadline is one isu, whoever was told."""
    from alerts.digest import queue_digests
    from tests.telegram_server import make_issue

    cfg = alert_config(config)
    with sqlite_db.session() as s:
        make_issue(s, T0, stage="viral", score=90)  # viral: told to the agency and to humas (route continue)
        told = evaluate(s, cfg, T0)
        assert sorted(a.receiver for a in told if a.kind == "first") == ["agency:pupr", "humas"]
        morning = datetime(2026, 12, 10, 7, 5, tzinfo=WIB)
        digest = next(a for a in queue_digests(s, cfg, morning) if a.receiver == "agency:pupr")
    assert digest.payload["digest"]["open"] == 1
    assert digest.payload["digest"]["overdue"] == 1, digest.payload["digest"]
