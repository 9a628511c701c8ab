"""Whether a receiver is told about an issue now, and why: the alert decision, pure.

``decide`` reads what the engine (``alerts.engine.evaluate``) gathered from the database (the
issue's state, the alerts already told to this receiver, whether a silence, snooze or inhibition
holds) and returns an :class:`AlertDecision`; the engine writes the alert it names. Nothing here
reads a clock or a session, so every reason has a test that needs no database (tests/test_alert_decision.py).

Order, as Alertmanager's: an issue below the alert stages without crisis words is not alertable;
then inhibition, silences and snoozes; then, per receiver, the first alert, a climb, a comeback,
a repeat — or nothing, because it was acknowledged or the repeat interval has not passed.
``decide_escalation`` says what becomes of an alert nobody acknowledged by its deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from classifiers.virality import ESCALATION

STAGE_RANK: dict[str, int] = {stage: rank for rank, stage in enumerate(ESCALATION)}
"""baru 0, naik 1, viral 2: the order the stages climb in (``mereda`` has no rank)."""
"""Order of stages an issue climbs; 'mereda' (calming down) is not a climb."""

ROOT_KINDS = ("first", "crisis")
"""Alerts that open a receiver's thread about an issue."""

Action = Literal["first", "crisis", "update", "regression", "repeat", "none"]


class Reason(StrEnum):
    """Why the decision is what it is (the value is stable: logs and tests name it)."""

    NOT_ALERTABLE = "not_alertable"
    INHIBITED = "inhibited"
    SILENCED = "silenced"
    SNOOZED = "snoozed"
    ALERT_STAGE = "alert_stage"
    CRISIS_WORDS = "crisis_words"
    STAGE_CLIMBED = "stage_climbed"
    CAME_BACK = "came_back"
    REPEAT_DUE = "repeat_due"
    ACKNOWLEDGED = "acknowledged"
    REPEAT_NOT_DUE = "repeat_not_due"


REASON_TEXT: dict[Reason, str] = {
    Reason.NOT_ALERTABLE: "isu belum mencapai tahap peringatan dan tidak memuat kata krisis",
    Reason.INHIBITED: "diserap isu lain yang lebih besar (inhibisi)",
    Reason.SILENCED: "dibisukan",
    Reason.SNOOZED: "ditunda sampai isu naik tahap",
    Reason.ALERT_STAGE: "isu mencapai tahap peringatan",
    Reason.CRISIS_WORDS: "isu memuat kata krisis",
    Reason.STAGE_CLIMBED: "isu naik tahap sejak peringatan terakhir",
    Reason.CAME_BACK: "isu muncul lagi setelah selesai",
    Reason.REPEAT_DUE: "belum dikonfirmasi dan selang pengulangan sudah lewat",
    Reason.ACKNOWLEDGED: "sudah dikonfirmasi",
    Reason.REPEAT_NOT_DUE: "selang pengulangan belum lewat",
}
"""The reason in Bahasa Indonesia, for people reading why an alert was (not) sent."""


@dataclass(frozen=True, slots=True)
class IssueState:
    """What the decision reads of an issue."""

    stage: str
    crisis: str | None = None
    """The crisis words found in the issue, if any (``alerts.engine.crisis_reason``)."""
    acknowledged: bool = False
    """Someone acknowledged the issue itself (on the dashboard, or by answering)."""
    reopened_at: datetime | None = None
    """When the issue last came back after being resolved; None when it never did."""
    inhibited_by: int | None = None
    """An open issue that absorbs this one's alerts (an inhibit rule), if any."""
    muted: Literal["silenced", "snoozed"] | None = None
    """A silence in force over the issue's labels, or a snooze holding until it climbs."""


@dataclass(frozen=True, slots=True)
class Told:
    """An alert already told to this receiver about the issue (a kind of ``TOLD_KINDS``)."""

    kind: str
    stage: str | None
    created_at: datetime
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings the decision applies: alert stages (lowest first) and the route's repeat interval."""

    alert_stages: tuple[str, ...]
    repeat_interval: timedelta


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What to tell a receiver now, and why; ``root`` indexes the told alert a follow-up threads under."""

    action: Action
    reason: Reason
    root: int | None = None
    previous_stage: str | None = None

    @property
    def text(self) -> str:
        """The reason in Bahasa Indonesia."""
        return REASON_TEXT[self.reason]


def gate(issue: IssueState, alert_stages: Sequence[str]) -> AlertDecision | None:
    """Why nobody is told about the issue now (not alertable, inhibited, muted), or None when someone may be."""
    if issue.stage not in alert_stages and not issue.crisis:
        return AlertDecision("none", Reason.NOT_ALERTABLE)
    if issue.inhibited_by is not None:
        return AlertDecision("none", Reason.INHIBITED)
    if issue.muted == "snoozed":
        return AlertDecision("none", Reason.SNOOZED)
    if issue.muted == "silenced":
        return AlertDecision("none", Reason.SILENCED)
    return None


def decide(issue: IssueState, told: Sequence[Told], policy: Policy, now: datetime) -> AlertDecision:
    """What one receiver is told about the issue now, given what it was told before (oldest first)."""
    blocked = gate(issue, policy.alert_stages)
    if blocked is not None:
        return blocked
    alertable = issue.stage in policy.alert_stages
    if not told:
        if issue.crisis and not alertable:
            return AlertDecision("crisis", Reason.CRISIS_WORDS)
        return AlertDecision("first", Reason.ALERT_STAGE)
    root = next((n for n, a in enumerate(told) if a.kind in ROOT_KINDS), 0)
    told_rank = max(STAGE_RANK.get(a.stage or "", -1) for a in told)
    if STAGE_RANK.get(issue.stage, -1) > told_rank:
        # Crisis words carry a climb below the alert stages too (gate let the issue through).
        return AlertDecision("update", Reason.STAGE_CLIMBED, root, previous_stage=told[-1].stage)
    if issue.reopened_at is not None and not any(
        a.kind == "regression" and a.created_at >= issue.reopened_at for a in told
    ):
        return AlertDecision("regression", Reason.CAME_BACK, root)
    if issue.acknowledged or any(a.acknowledged for a in told):
        return AlertDecision("none", Reason.ACKNOWLEDGED, root)
    if now - told[-1].created_at >= policy.repeat_interval:
        return AlertDecision("repeat", Reason.REPEAT_DUE, root)
    return AlertDecision("none", Reason.REPEAT_NOT_DUE, root)


# --- escalation of an alert nobody acknowledged ---------------------------------------------------


class EscalationReason(StrEnum):
    """Why an alert past its acknowledgement deadline is (not) escalated."""

    REROUTED = "rerouted"
    ACKNOWLEDGED = "acknowledged"
    NO_TARGET = "no_target"
    ALREADY_ESCALATED = "already_escalated"
    ACK_OVERDUE = "ack_overdue"


ESCALATION_TEXT: dict[EscalationReason, str] = {
    EscalationReason.REROUTED: "isu sudah dialihkan ke dinas lain: jam dinas ini berhenti",
    EscalationReason.ACKNOWLEDGED: "sudah dikonfirmasi (atau isu tidak lagi terbuka)",
    EscalationReason.NO_TARGET: "rute tidak punya penerima eskalasi selain penerima ini",
    EscalationReason.ALREADY_ESCALATED: "isu ini sudah dieskalasi ke penerima yang sama",
    EscalationReason.ACK_OVERDUE: "tidak ada konfirmasi sampai batas waktunya",
}
"""The reason in Bahasa Indonesia."""


@dataclass(frozen=True, slots=True)
class Overdue:
    """An alert past its acknowledgement deadline, not acknowledged nor escalated yet."""

    kind: str
    receiver: str
    escalate_to: str | None
    rerouted: bool = False
    """The issue went to another agency (``payload.rerouted_to``)."""
    needs_ack: bool = True
    """Its issue (for a group: one of its issues) is open and still waits for an acknowledgement."""
    target_told: bool = False
    """The issue was already escalated to ``escalate_to`` (not for a regression)."""


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    """Whether to escalate; ``close`` marks the alert as handled (``escalated_at``) even without a new alert."""

    escalate: bool
    close: bool
    reason: EscalationReason

    @property
    def text(self) -> str:
        """The reason in Bahasa Indonesia."""
        return ESCALATION_TEXT[self.reason]


def decide_escalation(alert: Overdue) -> EscalationDecision:
    """What to do with an alert nobody acknowledged by its deadline.

    A rerouted or acknowledged one stays open (a regression may need it later); one with nobody
    else to tell, or whose issue already reached that person, is closed silently; the rest escalate.
    One escalation per issue and target: an update that also goes unacknowledged does not page again,
    but a regression does (the issue came back).
    """
    if alert.rerouted:
        return EscalationDecision(False, False, EscalationReason.REROUTED)
    if not alert.needs_ack:
        return EscalationDecision(False, False, EscalationReason.ACKNOWLEDGED)
    if not alert.escalate_to or alert.escalate_to == alert.receiver:
        return EscalationDecision(False, True, EscalationReason.NO_TARGET)
    if alert.target_told and alert.kind != "regression":
        return EscalationDecision(False, True, EscalationReason.ALREADY_ESCALATED)
    return EscalationDecision(True, True, EscalationReason.ACK_OVERDUE)
