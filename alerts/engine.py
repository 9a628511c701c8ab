"""Decide who is told what about which issue, now: the alerting state machine.

For every open issue and every receiver its route names, the history of alerts in the
database is the state (Alertmanager's notification log, but durable and in the same
transaction as the decision):

* no alert yet and the issue reached an alert stage (or carries crisis words) → ``first``
  (or ``crisis``); several small first alerts for one receiver in one pass → one ``group``;
* the issue climbed above the highest stage already told → ``update`` referring to the first;
* same stage, not acknowledged, older than the repeat interval → ``repeat``;
* came back after being resolved → ``regression``;
* not acknowledged by its deadline, or past its SLA response deadline → ``escalation``
  to the route's ``escalate_to`` receiver;
* an agency whose topic is only a facet of the issue (``monitor.domain.incident``: children cannot reach
  school because the bridge collapsed) → one ``info`` ("untuk diketahui") when the issue first
  becomes alertable: no crisis, no acknowledgement deadline, no escalation, no updates.

Silences, inhibition and quiet hours are applied before any of this, in Alertmanager's order.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.decision import (
    ROOT_KINDS,
    AlertDecision,
    IssueState,
    Overdue,
    Policy,
    Told,
    decide,
    decide_escalation,
    gate,
)
from alerts.directory import Directory
from alerts.hygiene import (
    SNOOZE_STAGE_KEY,
    active_silences,
    bypasses_quiet_hours,
    in_quiet_hours,
    inhibited_by,
    is_silenced,
    quiet_hours_end,
    silence_applies,
)
from alerts.progress import issue_progress
from alerts.queue import queue_alert, receiver_label
from alerts.render import clean_post_text
from alerts.routing import AlertLabels, RouteMatch, route
from alerts.sla import CLOCK_LABELS, Clocks, Deadlines, deadlines, overdue
from classifiers.urgency import find_terms
from monitor.domain.incident import secondary_topics
from monitor.domain.personal_urls import author_alias, public_url
from monitor.store.db import lock_decisions
from monitor.store.ledger import record_assigned
from monitor.store.models import Alert, Issue, IssueEvent, IssuePost, Post, Signal, Silence, Source

log = logging.getLogger(__name__)

INFO_KIND = "info"
"""Told once, for information, to an agency whose topic is a secondary facet of the issue."""
TOLD_KINDS = ("first", "crisis", "update", "repeat", "regression")
"""Alerts that tell a receiver about an issue's state (escalations go to someone else)."""


@dataclass(frozen=True)
class _Candidate:
    issue: Issue
    labels: AlertLabels
    match: RouteMatch
    crisis: str | None


def labels_for(issue: Issue, config: Directory) -> AlertLabels:
    """Routing labels of an issue; its agency falls back to its region's agency for the topic."""
    agency = issue.agency_code or config.for_region(issue.region_code).routing.get(issue.topic, "")
    return AlertLabels(issue.topic, agency, issue.kecamatan or "", issue.stage, bool(issue.urgent), issue.region_code)


def crisis_reason(issue: Issue, config: Directory) -> str | None:
    """Crisis words found in the issue (title or its posts' words), or 'mendesak' for urgent issues; else None."""
    # The words are the keys of the term vector's "w" (the vector's own keys are "w", "sigs", ...): a crisis
    # word the posts share counts even when the title's phrase does not quote it.
    # A phrase is read only from the title, never across the bag of words, and a denied one does not count.
    words = (issue.terms or {}).get("w", {})
    found = find_terms(re.sub(r"\s+", " ", issue.title or ""), config.alerts.crisis_words, words)
    if found:
        return ", ".join(found[:3])
    return "mendesak" if issue.urgent else None


def secondary_agencies(issue: Issue, config: Directory) -> list[tuple[str, str]]:
    """(topic, agency code) of the issue's secondary facets: agencies to inform, not to alarm."""
    topics = (issue.facets or {}).get("topics") or {}
    return secondary_topics(topics, issue.topic, config.routing)


def issue_payload(session: Session, config: Directory, issue: Issue) -> dict[str, Any]:
    """What the renderer needs about an issue, frozen now (text cleaned: no handles, shortened)."""
    agency = config.agency(issue.agency_code or config.routing.get(issue.topic))
    signals = list(
        session.scalars(select(Signal).where(Signal.issue_id == issue.id).order_by(Signal.at.desc()).limit(24))
    )
    growth = [[s.at.isoformat(), s.mentions] for s in reversed(signals)]
    rows = session.execute(
        select(Post)
        .join(IssuePost, IssuePost.post_id == Post.id)
        # Complaints as evidence: the government's own response is not what people say.
        .where(IssuePost.issue_id == issue.id, Post.text.is_not(None), IssuePost.is_response.is_(False))
        .order_by((Post.likes + Post.shares + Post.replies).desc(), Post.id)
        .limit(3)
    ).scalars()
    hide = config.privacy.pseudonymise_authors  # a post URL must not undo the author's pseudonym
    posts = [
        {
            "id": p.id,
            "text": clean_post_text(p.title if not p.text else p.text),
            "url": public_url(p.url, pseudonymise=hide),
            "platform": p.platform,
        }
        for p in rows
    ]
    return {
        "issue": {
            "id": issue.id,
            "title": issue.title,
            "topic": issue.topic,
            "agency_code": agency.code if agency else issue.agency_code,
            "agency_name": agency.name if agency else issue.agency_code,
            "kecamatan": issue.kecamatan,
            "desa": issue.desa,
            "stage": issue.stage,
            "score": round(float(issue.score or 0), 1),
            "p_viral": round(float(issue.p_viral or 0), 3),
            "eta_minutes": issue.eta_minutes,
            "post_count": issue.post_count,
            "author_count": issue.author_count,
            "urgent": bool(issue.urgent),
            "secondary": [
                {"topic": topic, "agency_code": code, "agency_name": _agency_name(config, code)}
                for topic, code in secondary_agencies(issue, config)
            ],
        },
        "growth": growth,
        "posts": posts,
        "spread": spread_summary(session, issue),
    }


_HASHTAG = re.compile(r"(?<![\w&])#(\w{2,60})")
SPREAD_TEXT_SCAN = 2000
"""Most recent posts read for hashtags: enough for the top few, bounded for very large issues."""


def spread_summary(session: Session, issue: Issue, *, top: int = 5) -> dict[str, Any]:
    """Where an issue spreads: posts per platform and per source, the first post, the top hashtags.

    The first post's author is shown only as the dashboard's alias (``akun-1a2b3c4d``), never the
    stored key; hashtags come from post texts and from the platforms' own tag lists (``extra``).
    """
    member = (IssuePost.issue_id == issue.id, IssuePost.is_response.is_(False))
    by_platform = session.execute(
        select(Post.platform, func.count())
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(*member)
        .group_by(Post.platform)
        .order_by(func.count().desc(), Post.platform)
    ).all()
    by_source = session.execute(
        select(Source.name, func.count())
        .join(Post, Post.source_id == Source.id)
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(*member)
        .group_by(Source.name)
        .order_by(func.count().desc(), Source.name)
        .limit(top)
    ).all()
    first = session.execute(
        select(Post.platform, Post.author_key, Post.created_at, Post.text, Post.title)
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(*member)
        .order_by(Post.created_at, Post.id)
        .limit(1)
    ).first()
    tags: Counter[str] = Counter()
    display: dict[str, str] = {}
    rows = session.execute(
        select(Post.text, Post.extra)
        .join(IssuePost, IssuePost.post_id == Post.id)
        .where(*member)
        .order_by(Post.id.desc())
        .limit(SPREAD_TEXT_SCAN)
    )
    for text, extra in rows:
        found = set(_HASHTAG.findall(text or ""))
        listed = (extra or {}).get("hashtags") if isinstance(extra, dict) else None
        if isinstance(listed, list):
            found |= {str(t).lstrip("#") for t in listed if str(t).strip("# ")}
        for tag in found:
            # One post counts once per tag; #Banjir and #banjir are the same tag.
            key = tag.lower()
            tags[key] += 1
            display.setdefault(key, tag)
    return {
        "platforms": [[platform or "lain", int(n)] for platform, n in by_platform],
        "sources": [[name, int(n)] for name, n in by_source],
        "first": (
            {
                "platform": first.platform,
                "author": author_alias(first.author_key),
                "at": first.created_at.isoformat(),
                "text": clean_post_text(first.text or first.title, 140),
            }
            if first is not None
            else None
        ),
        "hashtags": [[display[k], n] for k, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
    }


def evaluate(session: Session, config: Directory, now: datetime, region: str | None = None) -> list[Alert]:
    """Decide and store the alerts due now (with their deliveries); the caller commits.

    Under the decision lock (:func:`monitor.store.db.lock_decisions`): two processes deciding at
    once would both see "not told yet" and both tell. ``region``: only that region's issues and
    alerts (its pipeline pass). Every decision here is about one issue or one alert, and each is
    of one region (groups and inhibitions are per region too), so the passes of two regions never
    decide the same thing; a deployment-wide receiver (``humas``) is told of each issue once, by
    its region's pass.
    """
    lock_decisions(session, region)
    cfg = config.alerts
    query = select(Issue).where(Issue.status == "open")
    if region is not None:
        query = query.where(Issue.region_code == region)
    issues = list(session.scalars(query.order_by(Issue.id)))
    labels = {i.id: labels_for(i, config) for i in issues}
    open_sources = [(i.id, labels[i.id]) for i in issues]
    silences = active_silences(session, now)
    history: dict[tuple[int, str], list[Alert]] = defaultdict(list)
    if issues:
        q = select(Alert).where(Alert.issue_id.in_([i.id for i in issues])).order_by(Alert.id)
        for a in session.scalars(q):
            assert a.issue_id is not None
            history[(a.issue_id, a.receiver)].append(a)

    created: list[Alert] = []
    # Grouped per region too: OKU's pupr and OKI's pupr share a receiver name, not an inbox.
    to_group: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    for issue in issues:
        lab = labels[issue.id]
        here = config.for_region(issue.region_code)  # its region's agencies and routing
        crisis = crisis_reason(issue, config)
        if issue.stage not in cfg.alert_stages and not crisis:
            continue  # what gate() says first; checked here so a quiet issue costs no query
        state = IssueState(
            stage=issue.stage,
            crisis=crisis,
            acknowledged=issue.acknowledged_at is not None,
            reopened_at=_reopened_at(session, issue) if issue.regression else None,
            inhibited_by=inhibited_by(cfg.inhibit_rules, issue.id, lab, open_sources),
            muted=_muted(silences, lab, issue.id, now),
        )
        if gate(state, cfg.alert_stages) is not None:
            continue
        matches = route(cfg, lab)
        for match in matches:
            told = [a for a in history[(issue.id, match.receiver)] if a.kind in TOLD_KINDS]
            policy = Policy(tuple(cfg.alert_stages), timedelta(hours=match.repeat_interval_hours))
            decision = decide(state, [_told(a) for a in told], policy, now)
            cand = _Candidate(issue, lab, match, crisis)
            if decision.action in ROOT_KINDS and _groupable(cand, here):
                to_group[(issue.region_code, match.receiver)].append(cand)
            else:
                created.extend(_apply(session, here, cand, decision, told, now))
        created.extend(_inform_secondaries(session, here, issue, lab, matches, history, silences, now))

    for (region, receiver), cands in to_group.items():
        here = config.for_region(region)
        if len(cands) >= cfg.grouping.min_issues:
            created.extend(_tell_group(session, here, receiver, cands, now))
        else:
            created.extend(_tell(session, here, c, "first", None, now) for c in cands)

    created.extend(_escalate(session, config, now, region))
    _start_clocks(session, created, now)
    return created


def _start_clocks(session: Session, created: list[Alert], now: datetime) -> None:
    """An issue's first alert to anyone starts its agency's clock (``alerts.respond``)."""
    routed = {a.issue_id: a.agency_code for a in reversed(created) if a.kind in ROOT_KINDS and a.issue_id is not None}
    for iid in sorted(routed):
        issue = session.get(Issue, iid)
        if issue is not None:
            record_assigned(session, issue, now, agency=issue.agency_code or routed[iid])


def _agency_name(config: Directory, code: str) -> str:
    agency = config.agency(code)
    return agency.name if agency else code


def _inform_secondaries(
    session: Session,
    config: Directory,
    issue: Issue,
    lab: AlertLabels,
    matches: list[RouteMatch],
    history: dict[tuple[int, str], list[Alert]],
    silences: list[Silence],
    now: datetime,
) -> list[Alert]:
    """One ``info`` alert to each secondary agency not yet told anything about the issue."""
    created: list[Alert] = []
    primary = {m.receiver for m in matches}
    quiet = config.alerts.quiet_hours
    for topic, code in secondary_agencies(issue, config):
        receiver = f"agency:{code}"
        if receiver in primary or history[(issue.id, receiver)]:
            continue  # told already (informed, or once its primary agency): never twice, never alarmed
        labels = AlertLabels(topic, code, lab.kecamatan, lab.stage, lab.urgent, lab.region)
        if is_silenced(silences, labels, issue.id, now):
            continue
        # For information: waits for the morning, whatever its topic or urgency.
        deliver_at = quiet_hours_end(now, quiet) if in_quiet_hours(now, quiet) else now
        payload = issue_payload(session, config, issue) | {
            "info": {"topic": topic, "agency_code": code, "agency_name": _agency_name(config, code)},
            "deliver_at": deliver_at.isoformat(),
        }
        alert = queue_alert(
            session,
            config,
            receiver=receiver,
            kind=INFO_KIND,
            now=now,
            payload=payload,
            issue_id=issue.id,
            agency_code=code,
            stage=issue.stage,
            deliver_at=deliver_at,
        )
        history[(issue.id, receiver)].append(alert)
        created.append(alert)
    return created


def _groupable(c: _Candidate, config: Directory) -> bool:
    g = config.alerts.grouping
    return (
        g.enabled
        and c.crisis is None
        and not c.issue.urgent
        and float(c.issue.score or 0) < g.max_score
        and c.issue.stage == config.alerts.alert_stages[0]
    )


def _told(alert: Alert) -> Told:
    return Told(alert.kind, alert.stage, alert.created_at, alert.acknowledged_at is not None)


def _muted(
    silences: list[Silence], lab: AlertLabels, issue_id: int, now: datetime
) -> Literal["silenced", "snoozed"] | None:
    """Whether a silence mutes the issue, and whether only snoozes do ("sampai naik tahap")."""
    holding = [s for s in silences if silence_applies(s, lab, issue_id, now)]
    if not holding:
        return None
    return "snoozed" if all(SNOOZE_STAGE_KEY in (s.matchers or {}) for s in holding) else "silenced"


def _apply(
    session: Session, config: Directory, c: _Candidate, decision: AlertDecision, told: list[Alert], now: datetime
) -> list[Alert]:
    """Write the alert ``alerts.decision.decide`` chose for one receiver (none for ``none``)."""
    if decision.action == "none":
        return []
    root = told[decision.root] if decision.root is not None else None
    return [_tell(session, config, c, decision.action, root, now, previous_stage=decision.previous_stage)]


def _reopened_at(session: Session, issue: Issue) -> datetime | None:
    """When the issue last came back after being resolved.

    Grouping clears ``resolved_at`` when it reopens an issue, so the time is read from the
    issue's latest ``regression`` event; ``resolved_at`` on an open issue counts too.
    """
    at = session.scalar(
        select(func.max(IssueEvent.at)).where(IssueEvent.issue_id == issue.id, IssueEvent.kind == "regression")
    )
    if at is not None and issue.resolved_at is not None:
        return max(at, issue.resolved_at)
    return at if at is not None else issue.resolved_at


def _group_issues(session: Session, alert: Alert) -> list[Issue]:
    """The issues a group alert told about (still in the database)."""
    ids = [int(i["id"]) for i in alert.payload.get("group", []) if i.get("id") is not None]
    return [i for i in (session.get(Issue, iid) for iid in ids) if i is not None]


def _deliver_at(config: Directory, lab: AlertLabels, now: datetime) -> datetime:
    quiet = config.alerts.quiet_hours
    if in_quiet_hours(now, quiet) and not bypasses_quiet_hours(lab, quiet):
        return quiet_hours_end(now, quiet)
    return now


def _tell(
    session: Session,
    config: Directory,
    c: _Candidate,
    kind: str,
    root: Alert | None,
    now: datetime,
    *,
    previous_stage: str | None = None,
    at_once: bool = False,
) -> Alert:
    cfg = config.alerts
    payload = issue_payload(session, config, c.issue)
    deliver_at = now if at_once else _deliver_at(config, c.labels, now)
    ack_due = deliver_at + timedelta(minutes=c.match.escalate_after_minutes)
    if root is not None and kind == "update":
        respond_due = root.respond_due_at
        clocks = root.payload.get("deadlines")
        sla_days = root.payload.get("sla_days", cfg.sla.respond_working_days)
    else:
        due = deadlines(deliver_at, cfg.sla.clocks(c.issue.topic, c.issue.stage), cfg.sla.calendar())
        respond_due, clocks, sla_days = due.respond, deadlines_payload(due), due.clocks.respond
    payload |= {
        "escalate_to": c.match.escalate_to,
        "crisis": c.crisis,
        "reason": c.crisis if kind == "crisis" else None,
        "sla_days": sla_days,
        "deadlines": clocks,
        "ack_due_at": ack_due.isoformat(),
        "respond_due_at": respond_due.isoformat() if respond_due else None,
        "deliver_at": deliver_at.isoformat(),
    }
    if root is not None:
        payload |= {
            "first_alert_id": root.id,
            "first_sent_at": root.created_at.isoformat(),
            "previous_stage": previous_stage,
            "thread_alert_id": root.id,
        }
    return queue_alert(
        session,
        config,
        receiver=c.match.receiver,
        kind=kind,
        now=now,
        payload=payload,
        issue_id=c.issue.id,
        agency_code=c.labels.agency,
        stage=c.issue.stage,
        parent_alert_id=root.id if root is not None else None,
        deliver_at=deliver_at,
        ack_due_at=ack_due,
        respond_due_at=respond_due,
    )


def _tell_group(
    session: Session, config: Directory, receiver: str, cands: list[_Candidate], now: datetime
) -> list[Alert]:
    cfg = config.alerts
    deliver_at = max(_deliver_at(config, c.labels, now) for c in cands)
    match = cands[0].match
    ack_due = deliver_at + timedelta(minutes=match.escalate_after_minutes)
    # One clock for the whole group: the shortest any of its issues has (a disaster among them sets the pace).
    due = min(
        (deadlines(deliver_at, cfg.sla.clocks(c.issue.topic, c.issue.stage), cfg.sla.calendar()) for c in cands),
        key=lambda d: (d.respond, d.process, d.finish),
    )
    respond_due = due.respond
    agencies = {c.labels.agency for c in cands}
    agency = next(iter(agencies)) if len(agencies) == 1 else None
    items = [issue_payload(session, config, c.issue)["issue"] for c in cands]
    group = queue_alert(
        session,
        config,
        receiver=receiver,
        kind="group",
        now=now,
        payload={
            "group": items,
            "agency_name": receiver_label(config, receiver),
            "escalate_to": match.escalate_to,
            "ack_due_at": ack_due.isoformat(),
            "respond_due_at": respond_due.isoformat(),
            "sla_days": due.clocks.respond,
            "deadlines": deadlines_payload(due),
        },
        agency_code=agency,
        stage=cfg.alert_stages[0],
        region_code=cands[0].issue.region_code,  # a group is of one region (evaluate groups per region)
        deliver_at=deliver_at,
        ack_due_at=ack_due,
        respond_due_at=respond_due,
    )
    members = [
        queue_alert(
            session,
            config,
            receiver=receiver,
            kind="first",
            now=now,
            payload={"grouped_into": group.id, "issue": item, "deadlines": deadlines_payload(due)},
            issue_id=c.issue.id,
            agency_code=c.labels.agency,
            stage=c.issue.stage,
            respond_due_at=respond_due,
            with_deliveries=False,
        )
        for c, item in zip(cands, items, strict=True)
    ]
    return [group, *members]


def _escalate(session: Session, config: Directory, now: datetime, region: str | None = None) -> list[Alert]:
    """Escalate alerts not acknowledged by their deadline, and roots past their SLA response deadline.

    ``region``: only that region's alerts (an escalation is in its alert's region, so the ones that
    count as done are too).
    """
    created: list[Alert] = []
    in_region = (Alert.region_code == region,) if region is not None else ()
    q = select(Alert).where(
        Alert.kind.in_([*TOLD_KINDS, "group"]),
        Alert.acknowledged_at.is_(None),
        Alert.escalated_at.is_(None),
        Alert.ack_due_at.is_not(None),
        Alert.ack_due_at <= now,
        *in_region,
    )
    # One escalation per issue and target: an update that also goes unacknowledged does not page again.
    done: set[tuple[int | None, str]] = {
        (a.issue_id, a.receiver)
        for a in session.scalars(
            select(Alert).where(Alert.kind == "escalation", Alert.issue_id.is_not(None), *in_region)
        )
        if not (a.payload.get("escalation") or {}).get("regression")
    }
    for alert in session.scalars(q.order_by(Alert.id)):
        issue = session.get(Issue, alert.issue_id) if alert.issue_id is not None else None
        target = alert.payload.get("escalate_to")
        key = (alert.issue_id if alert.issue_id is not None else -alert.id, str(target))
        decision = decide_escalation(
            Overdue(
                kind=alert.kind,
                receiver=alert.receiver,
                escalate_to=str(target) if target else None,
                rerouted=bool(alert.payload.get("rerouted_to")),
                needs_ack=_still_waits(session, alert, issue),
                target_told=key in done,
            )
        )
        if decision.close:
            alert.escalated_at = now
        if not decision.escalate:
            continue
        done.add(key)
        root_id = alert.parent_alert_id or alert.id
        here = config.for_region(alert.region_code)
        created.append(_escalation(session, here, alert, root_id, str(target), issue, now, "tidak ada konfirmasi"))

    sla_q = select(Alert).where(
        Alert.kind.in_([*ROOT_KINDS, "regression", "group"]),
        Alert.respond_due_at.is_not(None),
        Alert.respond_due_at <= now,  # the earliest of the three clocks: nothing can be late before it
        *in_region,
    )
    for alert in session.scalars(sla_q.order_by(Alert.id)):
        done_clocks = _sla_escalated(alert)
        if done_clocks is None or set(done_clocks) >= set(CLOCK_LABELS) or alert.payload.get("rerouted_to"):
            continue
        issue = session.get(Issue, alert.issue_id) if alert.issue_id is not None else None
        watched = [issue] if issue is not None else _group_issues(session, alert)
        watched = [i for i in watched if i.status == "open" and i.resolved_at is None]
        if not watched:
            continue
        due = alert_deadlines(alert)
        since = _parse_iso(alert.payload.get("deliver_at")) or alert.created_at
        # A regression, or a reroute to this agency, starts the clocks again: earlier steps do not count.
        fresh = alert.kind == "regression" or bool(alert.payload.get("reroute"))
        progress = issue_progress(session, [i.id for i in watched], since=since if fresh else None)
        late = sorted(
            {c for i in watched for c in overdue(due, progress[i.id], now)} - set(done_clocks),
            key=list(CLOCK_LABELS).index,
        )
        if not late:
            continue
        target = alert.payload.get("escalate_to")
        alert.payload = {
            **alert.payload,
            "sla_escalated": {**done_clocks, **{c: now.isoformat() for c in late}},
        }
        if not target or target == alert.receiver:
            continue
        reason = "lewat batas SLA " + ", ".join(f"{CLOCK_LABELS[c]} {due.clocks.days(c)} hari kerja" for c in late)
        escalation = _escalation(
            session, config.for_region(alert.region_code), alert, alert.id, str(target), issue, now, reason
        )
        escalation.payload = {**escalation.payload, "overdue": late}
        created.append(escalation)
    return created


def deadlines_payload(due: Deadlines) -> dict[str, Any]:
    """The three deadlines as an alert stores them (ISO times and working days)."""
    return {clock: {"due": due.due(clock).isoformat(), "days": due.clocks.days(clock)} for clock in CLOCK_LABELS}


def alert_deadlines(alert: Alert) -> Deadlines:
    """The deadlines a root alert was given (alerts stored before the three clocks have only the response one)."""
    stored = alert.payload.get("deadlines") or {}
    fallback = alert.respond_due_at or alert.created_at
    when = {c: _parse_iso((stored.get(c) or {}).get("due")) or fallback for c in CLOCK_LABELS}
    days = {c: int((stored.get(c) or {}).get("days") or alert.payload.get("sla_days") or 0) for c in CLOCK_LABELS}
    start = _parse_iso(alert.payload.get("deliver_at")) or alert.created_at
    return Deadlines(
        start=start,
        respond=when["respond"],
        process=when["process"],
        finish=when["finish"],
        clocks=Clocks(**days),
    )


def _sla_escalated(alert: Alert) -> dict[str, str] | None:
    """Clocks already escalated for this alert; None when all were (an alert from before the three clocks)."""
    value = alert.payload.get("sla_escalated")
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return None


def _parse_iso(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def tell_rerouted(
    session: Session, config: Directory, issue: Issue, reroute: dict[str, Any], now: datetime
) -> list[Alert]:
    """Tell the agency an issue was just handed to (``issue.agency_code`` already set), at once.

    A person moved it, so it goes now, through quiet hours and whatever the stage: the new
    agency's clock starts with this ``first`` alert (``reroute`` in its payload: from whom, the
    note). Its other receivers on the route (comms for a viral issue) already know the issue.
    """
    config = config.for_region(issue.region_code)  # the agency it was handed to is of its region
    lab = labels_for(issue, config)
    mine = f"agency:{lab.agency}"
    cfg = config.alerts
    match = next((m for m in route(cfg, lab) if m.receiver == mine), None)
    if match is None:
        match = RouteMatch(mine, cfg.repeat_interval_hours, cfg.escalate_after_minutes, cfg.escalate_to)
    cand = _Candidate(issue, lab, match, crisis_reason(issue, config))
    alert = _tell(session, config, cand, "first", None, now, at_once=True)
    alert.payload = {**alert.payload, "reroute": reroute}
    return [alert]


def _still_waits(session: Session, alert: Alert, issue: Issue | None) -> bool:
    """Whether the alert's issue still waits for an acknowledgement.

    A group is acknowledged as a whole, or issue by issue on the dashboard (which does not touch
    the group): it waits while one of its issues does.
    """
    if issue is not None and not _needs_ack(alert, issue):
        return False
    return alert.kind != "group" or any(_needs_ack(alert, i) for i in _group_issues(session, alert))


def _needs_ack(alert: Alert, issue: Issue) -> bool:
    if issue.status != "open":
        return False
    if issue.acknowledged_at is None:
        return True
    # An issue that came back after being resolved needs a fresh acknowledgement.
    return alert.kind == "regression" and issue.acknowledged_at < alert.created_at


def _escalation(
    session: Session,
    config: Directory,
    alert: Alert,
    root_id: int,
    target: str,
    issue: Issue | None,
    now: datetime,
    reason: str,
) -> Alert:
    base = issue_payload(session, config, issue) if issue is not None else {"group": alert.payload.get("group", [])}
    # Escalations are held through quiet hours like any alert (a group goes at once if one of its issues would).
    held = [issue] if issue is not None else _group_issues(session, alert)
    deliver_at = min(
        (_deliver_at(config, labels_for(i, config), now) for i in held),
        default=quiet_hours_end(now, config.alerts.quiet_hours),
    )
    payload = base | {
        "escalation": {
            "from": alert.receiver,
            "from_name": receiver_label(config, alert.receiver),
            "since": alert.created_at.isoformat(),
            "reason": reason,
            "alert_id": alert.id,
        },
        "first_alert_id": root_id,
        "respond_due_at": alert.respond_due_at.isoformat() if alert.respond_due_at else None,
        "sla_days": alert.payload.get("sla_days", config.alerts.sla.respond_working_days),
        "deliver_at": deliver_at.isoformat(),
    }
    return queue_alert(
        session,
        config,
        receiver=target,
        kind="escalation",
        now=now,
        payload=payload,
        issue_id=alert.issue_id,
        agency_code=alert.agency_code,
        stage=issue.stage if issue is not None else alert.stage,
        parent_alert_id=root_id,
        deliver_at=deliver_at,
        respond_due_at=alert.respond_due_at,
        escalation_level=alert.escalation_level + 1,
        # In the escalated alert's region: a group alert has no issue to take it from.
        region_code=alert.region_code,
    )
