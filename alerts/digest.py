"""A daily summary per agency at the configured WIB time: open, new, resolved, response times."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.directory import Directory
from alerts.queue import queue_alert
from alerts.stats import agency_times, minutes_text
from monitor.kernel.clock import WIB, format_date
from monitor.store.models import Alert, Issue, IssueStatus

CATCH_UP = timedelta(hours=3)


def queue_digests(session: Session, config: Directory, now: datetime) -> list[Alert]:
    """Queue today's digest for each agency with something to report, once per WIB day."""
    local = now.astimezone(WIB)
    due = datetime.combine(local.date(), config.alerts.digest_time, tzinfo=WIB)
    # A digest is a morning routine: catch up if the process was down at that time, but not all day long.
    if not due <= local < due + CATCH_UP:
        return []
    day_start = datetime.combine(local.date(), datetime.min.time(), tzinfo=WIB)
    created: list[Alert] = []
    for region in config.deployment_regions():
        created.extend(_region_digests(session, config.for_region(region), region, now, day_start))
    return created


def _region_digests(
    session: Session, config: Directory, region: str, now: datetime, day_start: datetime
) -> list[Alert]:
    """The digests of one region's agencies: its own issues only."""
    local = now.astimezone(WIB)
    times = agency_times(session, now, since=now - timedelta(days=30), config=config, region=region)
    created: list[Alert] = []
    for agency in config.agencies:
        receiver = f"agency:{agency.code}"
        done = session.scalar(
            select(Alert.id).where(
                Alert.kind == "digest",
                Alert.receiver == receiver,
                Alert.region_code == region,
                Alert.created_at >= day_start,
            )
        )
        if done is not None:
            continue
        topics = [t for t, code in config.routing.items() if code == agency.code]
        mine = (Issue.region_code == region) & or_(
            Issue.agency_code == agency.code, Issue.agency_code.is_(None) & Issue.topic.in_(topics)
        )
        open_issues = list(
            session.scalars(select(Issue).where(mine, Issue.status == IssueStatus.OPEN).order_by(Issue.score.desc()))
        )
        new = sum(1 for i in open_issues if i.created_at >= now - timedelta(hours=24))
        resolved = len(
            list(session.scalars(select(Issue.id).where(mine, Issue.resolved_at >= now - timedelta(hours=24))))
        )
        if not open_issues and not resolved:
            continue
        t = times.get(agency.code)
        digest = {
            "date": format_date(local),
            "open": len(open_issues),
            "new": new,
            "resolved": resolved,
            "ack_text": minutes_text(t.median_ack_minutes if t else None),
            "resolve_text": minutes_text(t.median_resolve_hours * 60 if t and t.median_resolve_hours else None),
            "overdue": t.overdue if t else 0,
            "top": [{"title": i.title, "kecamatan": i.kecamatan, "stage": i.stage} for i in open_issues[:5]],
        }
        created.append(
            queue_alert(
                session,
                config,
                receiver=receiver,
                kind="digest",
                now=now,
                payload={"digest": digest, "agency_name": agency.name},
                agency_code=agency.code,
                region_code=region,
            )
        )
    return created
