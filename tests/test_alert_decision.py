"""The alert decision (alerts/decision.py), pure: one test per reason, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerts.decision import (
    ESCALATION_TEXT,
    REASON_TEXT,
    EscalationReason,
    IssueState,
    Overdue,
    Policy,
    Reason,
    Told,
    decide,
    decide_escalation,
    gate,
)

NOW = datetime(2026, 11, 4, 3, 0, tzinfo=UTC)
POLICY = Policy(alert_stages=("naik", "viral"), repeat_interval=timedelta(hours=6))
NAIK = IssueState(stage="naik")
FIRST = Told("first", "naik", NOW - timedelta(hours=1))


def test_reason_not_alertable() -> None:
    d = decide(IssueState(stage="baru"), [], POLICY, NOW)
    assert (d.action, d.reason) == ("none", Reason.NOT_ALERTABLE)
    # 'mereda' is no alert stage either, even for a receiver told before.
    assert decide(IssueState(stage="mereda"), [FIRST], POLICY, NOW).reason == Reason.NOT_ALERTABLE


def test_reason_inhibited() -> None:
    d = decide(replace(NAIK, inhibited_by=3), [], POLICY, NOW)
    assert (d.action, d.reason) == ("none", Reason.INHIBITED)


def test_reason_silenced() -> None:
    d = decide(replace(NAIK, muted="silenced"), [], POLICY, NOW)
    assert (d.action, d.reason) == ("none", Reason.SILENCED)


def test_reason_snoozed() -> None:
    d = decide(replace(NAIK, muted="snoozed"), [FIRST], POLICY, NOW + timedelta(days=1))
    assert (d.action, d.reason) == ("none", Reason.SNOOZED)


def test_reason_alert_stage_first() -> None:
    d = decide(NAIK, [], POLICY, NOW)
    assert (d.action, d.reason, d.root) == ("first", Reason.ALERT_STAGE, None)
    # Crisis words in an issue already at an alert stage: a plain first alert (its payload names the words).
    assert decide(replace(NAIK, crisis="meninggal"), [], POLICY, NOW).action == "first"


def test_reason_crisis_words() -> None:
    d = decide(IssueState(stage="baru", crisis="meninggal"), [], POLICY, NOW)
    assert (d.action, d.reason) == ("crisis", Reason.CRISIS_WORDS)


def test_reason_stage_climbed() -> None:
    told = [FIRST, Told("repeat", "naik", NOW - timedelta(minutes=5))]
    d = decide(IssueState(stage="viral", acknowledged=True), told, POLICY, NOW)
    assert (d.action, d.reason, d.root, d.previous_stage) == ("update", Reason.STAGE_CLIMBED, 0, "naik")
    # Told at viral already: no climb.
    assert decide(IssueState(stage="viral"), [replace(FIRST, stage="viral")], POLICY, NOW).action == "none"


def test_reason_came_back() -> None:
    back = NOW - timedelta(minutes=30)
    old = Told("first", "naik", NOW - timedelta(days=3), acknowledged=True)
    d = decide(replace(NAIK, reopened_at=back, acknowledged=True), [old], POLICY, NOW)
    assert (d.action, d.reason, d.root) == ("regression", Reason.CAME_BACK, 0)
    # Told since it came back: not twice.
    told = [old, Told("regression", "naik", back + timedelta(minutes=1))]
    assert decide(replace(NAIK, reopened_at=back), told, POLICY, NOW).reason != Reason.CAME_BACK


def test_reason_repeat_due() -> None:
    d = decide(NAIK, [replace(FIRST, created_at=NOW - timedelta(hours=6))], POLICY, NOW)
    assert (d.action, d.reason, d.root) == ("repeat", Reason.REPEAT_DUE, 0)


def test_reason_acknowledged() -> None:
    late = replace(FIRST, created_at=NOW - timedelta(hours=12))
    assert decide(replace(NAIK, acknowledged=True), [late], POLICY, NOW).reason == Reason.ACKNOWLEDGED
    # The receiver's own acknowledgement of an earlier alert counts as much as the issue's.
    d = decide(NAIK, [replace(late, acknowledged=True)], POLICY, NOW)
    assert (d.action, d.reason) == ("none", Reason.ACKNOWLEDGED)


def test_reason_repeat_not_due() -> None:
    d = decide(NAIK, [replace(FIRST, created_at=NOW - timedelta(hours=5, minutes=59))], POLICY, NOW)
    assert (d.action, d.reason) == ("none", Reason.REPEAT_NOT_DUE)


def test_follow_ups_thread_under_the_root_not_the_oldest_alert() -> None:
    told = [Told("repeat", "naik", NOW - timedelta(hours=9)), Told("crisis", "naik", NOW - timedelta(hours=8))]
    assert decide(NAIK, told, POLICY, NOW).root == 1


def test_gate_is_what_decide_applies_first() -> None:
    assert gate(NAIK, POLICY.alert_stages) is None
    blocked = gate(replace(NAIK, inhibited_by=1, muted="silenced"), POLICY.alert_stages)
    assert blocked is not None and blocked.reason == Reason.INHIBITED


def test_every_reason_has_bahasa_text() -> None:
    assert set(REASON_TEXT) == set(Reason)
    assert decide(NAIK, [], POLICY, NOW).text == "isu mencapai tahap peringatan"


OVERDUE = Overdue(kind="first", receiver="agency:pupr", escalate_to="role:kominfo")


def test_escalation_reason_ack_overdue() -> None:
    d = decide_escalation(OVERDUE)
    assert (d.escalate, d.close, d.reason) == (True, True, EscalationReason.ACK_OVERDUE)


def test_escalation_reason_rerouted() -> None:
    d = decide_escalation(replace(OVERDUE, rerouted=True))
    assert (d.escalate, d.close, d.reason) == (False, False, EscalationReason.REROUTED)


def test_escalation_reason_acknowledged() -> None:
    d = decide_escalation(replace(OVERDUE, needs_ack=False))
    assert (d.escalate, d.close, d.reason) == (False, False, EscalationReason.ACKNOWLEDGED)


def test_escalation_reason_no_target() -> None:
    for target in (None, "agency:pupr"):  # none, or only the receiver itself
        d = decide_escalation(replace(OVERDUE, escalate_to=target))
        assert (d.escalate, d.close, d.reason) == (False, True, EscalationReason.NO_TARGET)


def test_escalation_reason_already_escalated() -> None:
    d = decide_escalation(replace(OVERDUE, kind="update", target_told=True))
    assert (d.escalate, d.close, d.reason) == (False, True, EscalationReason.ALREADY_ESCALATED)
    # A regression pages again: the issue came back.
    assert decide_escalation(replace(OVERDUE, kind="regression", target_told=True)).escalate


def test_every_escalation_reason_has_bahasa_text() -> None:
    assert set(ESCALATION_TEXT) == set(EscalationReason)
    assert decide_escalation(OVERDUE).text == "tidak ada konfirmasi sampai batas waktunya"
