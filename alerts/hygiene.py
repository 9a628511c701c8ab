"""Silences, snoozes, quiet hours and inhibition: reasons not to speak now.

All pure except :func:`active_silences` and :func:`snooze`, which read and write the
``silences`` table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.config import InhibitRule, QuietHours
from alerts.decision import STAGE_RANK
from alerts.routing import AlertLabels, matches
from monitor.kernel.clock import WIB
from monitor.store.models import Issue, Silence

SNOOZE_STAGE_KEY = "_below_stage"
"""Matcher key of a snooze: it holds only while the issue's stage ranks below this stage."""


def in_quiet_hours(now: datetime, quiet: QuietHours) -> bool:
    """True when ``now`` (aware) falls in the WIB quiet window, which may span midnight."""
    if not quiet.enabled or quiet.start == quiet.end:
        return False
    t = now.astimezone(WIB).time()
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end


def quiet_hours_end(now: datetime, quiet: QuietHours) -> datetime:
    """When the current quiet window ends (aware); ``now`` itself when not in quiet hours."""
    if not in_quiet_hours(now, quiet):
        return now
    local = now.astimezone(WIB)
    end = datetime.combine(local.date(), quiet.end, tzinfo=WIB)
    if end <= local:
        end += timedelta(days=1)
    return end


def bypasses_quiet_hours(labels: AlertLabels, quiet: QuietHours) -> bool:
    """Urgent topics (disasters, deaths, children) are told at once, night or not."""
    return (quiet.bypass_urgent and labels.urgent) or labels.topic in quiet.bypass_topics


def silence_applies(silence: Silence, labels: AlertLabels, issue_id: int | None, now: datetime) -> bool:
    """Does this silence mute an alert with these labels now?"""
    if silence.starts_at > now or (silence.ends_at is not None and silence.ends_at <= now):
        return False
    m = dict(silence.matchers or {})
    if "source" in m:
        return False  # a source silence mutes that source's health alerts (source_health_silenced), not issues
    ids = m.get("issue_id")
    if ids is not None and str(issue_id) not in {str(i) for i in ids}:
        return False
    below = m.get(SNOOZE_STAGE_KEY)
    if below is not None and STAGE_RANK.get(labels.stage, 0) >= STAGE_RANK.get(str(below), 99):
        return False
    plain = {k: [str(v) for v in vs] for k, vs in m.items() if k != "issue_id" and not k.startswith("_")}
    return matches(plain, labels)


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences in force at ``now``."""
    q = select(Silence).where(Silence.starts_at <= now, or_(Silence.ends_at.is_(None), Silence.ends_at > now))
    return list(session.scalars(q))


def source_health_silenced(silences: Iterable[Silence], source_name: str, now: datetime) -> bool:
    """True when a silence in force names this source (its "sumber data diam" alerts are muted)."""
    for s in silences:
        if s.starts_at > now or (s.ends_at is not None and s.ends_at <= now):
            continue
        if source_name in {str(v) for v in (s.matchers or {}).get("source") or []}:
            return True
    return False


def is_silenced(silences: Iterable[Silence], labels: AlertLabels, issue_id: int | None, now: datetime) -> bool:
    """True when any silence mutes these labels."""
    return any(silence_applies(s, labels, issue_id, now) for s in silences)


def snooze(session: Session, issue: Issue, *, actor: str, now: datetime, comment: str | None = None) -> Silence:
    """Mute one issue until it climbs to the next stage ("sampai naik tahap")."""
    nxt = {0: "naik", 1: "viral"}.get(STAGE_RANK.get(issue.stage, 0), "__never__")
    silence = Silence(
        matchers={"issue_id": [str(issue.id)], SNOOZE_STAGE_KEY: nxt},
        starts_at=now,
        ends_at=None,
        until_escalation=True,
        created_by=actor,
        comment=comment or "ditunda sampai isu naik tahap",
    )
    session.add(silence)
    session.flush()
    return silence


def silence(
    session: Session,
    matchers: dict[str, list[str]],
    *,
    actor: str,
    now: datetime,
    hours: float,
    comment: str,
) -> Silence:
    """A time-bounded silence (at most 7 days, with a reason), as in Alertmanager."""
    if not comment.strip():
        raise ValueError("setiap pembisuan perlu alasan (comment)")
    hours = min(hours, 24 * 7)
    row = Silence(
        matchers=matchers, starts_at=now, ends_at=now + timedelta(hours=hours), created_by=actor, comment=comment
    )
    session.add(row)
    session.flush()
    return row


def inhibited_by(
    rules: Sequence[InhibitRule], issue_id: int, labels: AlertLabels, open_sources: Sequence[tuple[int, AlertLabels]]
) -> int | None:
    """The id of an open issue that absorbs this alert (e.g. a flood absorbing road alerts), or None."""
    for rule in rules:
        if not matches(rule.target, labels):
            continue
        for source_id, src in open_sources:
            if source_id == issue_id:
                continue
            if src.region != labels.region:
                continue  # a flood in one regency absorbs nothing of another's, whatever the kecamatan is called
            if matches(rule.source, src) and all(src.get(k) == labels.get(k) and src.get(k) for k in rule.equal):
                return source_id
    return None
