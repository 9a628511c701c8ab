"""Acknowledgements are recorded for the receiver that confirmed: comms confirming its copy is not the agency's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.ack import acknowledge
from alerts.engine import evaluate
from alerts.stats import agency_times
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, AuditLog, Issue
from tests.telegram_server import alert_config, make_issue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_comms_ack_of_its_own_copy_does_not_acknowledge_the_agencys_alerts(db: Database, config: AppConfig) -> None:
    # The shipped route tells humas (Diskominfo) of viral issues, and the issue's agency as well.
    cfg = alert_config(config, receivers=[{"name": "humas", "agency": "diskominfo", "email": ["h@okikab.example"]}])
    with db.session() as s:
        issue = make_issue(s, T0, stage="viral")
        told = {a.receiver: a for a in evaluate(s, cfg, T0)}
        assert set(told) == {"humas", "agency:pupr"}
        acknowledge(
            s, token=told["humas"].ack_token, actor="telegram:@staf_kominfo", now=T0 + timedelta(minutes=5), config=cfg
        )
        pupr = s.get(Alert, told["agency:pupr"].id)
        assert pupr is not None and pupr.acknowledged_at is None and pupr.acknowledged_by is None
        assert s.get(Alert, told["humas"].id).acknowledged_by == "telegram:@staf_kominfo"  # type: ignore[union-attr]
        assert s.get(Issue, issue.id).acknowledged_at is None  # type: ignore[union-attr]
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "alert.acknowledge"))
        assert audit is not None and audit.detail["receiver"] == "humas"
        # PUPR's own confirmation is PUPR's, and it is the issue's.
        acknowledge(
            s,
            token=told["agency:pupr"].ack_token,
            actor="telegram:@staf_pupr",
            now=T0 + timedelta(minutes=9),
            config=cfg,
        )
        assert s.get(Alert, told["agency:pupr"].id).acknowledged_by == "telegram:@staf_pupr"  # type: ignore[union-attr]
        assert s.get(Alert, told["humas"].id).acknowledged_by == "telegram:@staf_kominfo"  # type: ignore[union-attr]
        done = s.get(Issue, issue.id)
        assert done is not None and done.acknowledged_by == "telegram:@staf_pupr"


def test_agency_not_confirming_is_still_escalated_after_comms_confirmed(sqlite_db: Database, config: AppConfig) -> None:
    cfg = alert_config(
        config,
        escalate_to="pimpinan",
        receivers=[
            {"name": "humas", "email": ["h@okikab.example"]},
            {"name": "pimpinan", "email": ["p@okikab.example"]},
        ],
    )
    with sqlite_db.session() as s:
        make_issue(s, T0, stage="viral")
        told = {a.receiver: a for a in evaluate(s, cfg, T0)}
        acknowledge(
            s, token=told["humas"].ack_token, actor="email:h@okikab.example", now=T0 + timedelta(minutes=5), config=cfg
        )
        later = evaluate(s, cfg, T0 + timedelta(minutes=cfg.alerts.escalate_after_minutes + 1))
    escalations = [a for a in later if a.kind == "escalation"]
    assert [e.payload["escalation"]["from"] for e in escalations] == ["agency:pupr"]


def test_agency_statistics_count_only_the_agencys_own_confirmations(sqlite_db: Database, config: AppConfig) -> None:
    cfg = alert_config(config)
    with sqlite_db.session() as s:
        make_issue(s, T0, stage="viral")
        told = {a.receiver: a for a in evaluate(s, cfg, T0)}
        acknowledge(s, token=told["humas"].ack_token, actor="telegram:@staf_kominfo", now=T0 + timedelta(minutes=5))
        times = agency_times(s, T0 + timedelta(hours=1), config=cfg)
    assert (times["pupr"].alerts, times["pupr"].acknowledged) == (1, 0)
