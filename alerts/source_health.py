"""Tell the admins when a collector stops producing, judged against its own learned cadence."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.directory import Directory
from alerts.hygiene import active_silences, source_health_silenced
from alerts.queue import queue_alert
from alerts.stats import minutes_text
from monitor.store.models import Alert, Post, Source

HISTORY = 200
MIN_GAPS = 4


def usual_gap(times: list[datetime]) -> timedelta | None:
    """Median gap between distinct collection times (newest first input), or None with too little history."""
    distinct = sorted({t.replace(second=0, microsecond=0) for t in times}, reverse=True)
    gaps = [(a - b).total_seconds() for a, b in pairwise(distinct) if a > b]
    if len(gaps) < MIN_GAPS:
        return None
    return timedelta(seconds=median(gaps))


def admin_receiver(config: Directory) -> str:
    """The configured admin receiver, else the Diskominfo agency, else the first agency."""
    if config.alerts.admin_receiver:
        return config.alerts.admin_receiver
    if config.agency("diskominfo") is not None:
        return "agency:diskominfo"
    return f"agency:{config.agencies[0].code}"


@cache
def silence_is_normal(kind: str) -> bool:
    """True for a source fed by people when they choose (``SILENCE_IS_NORMAL`` in its collector module, as
    reports forwarded to the bot): a quiet day there is no broken collector."""
    try:
        module = importlib.import_module(f"collectors.{kind}")
    except (ImportError, ValueError):
        return False
    return bool(getattr(module, "SILENCE_IS_NORMAL", False))


def check(session: Session, config: Directory, now: datetime) -> list[Alert]:
    """One alert per silent source per silence (not repeated while the same last item stays the newest)."""
    created: list[Alert] = []
    known = {s.name: s for s in config.sources}
    silences = active_silences(session, now)
    for source in session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id)):
        if source.kind.startswith("_") or source.name not in known or silence_is_normal(source.kind):
            continue
        if source_health_silenced(silences, source.name, now):
            continue  # comms silenced it (down for maintenance, say)
        times = list(
            session.scalars(
                select(Post.collected_at)
                .where(Post.source_id == source.id)
                .order_by(Post.collected_at.desc())
                .limit(HISTORY)
            )
        )
        if not times:
            continue
        interval = timedelta(seconds=known[source.name].interval_seconds)
        gap = max(usual_gap(times) or interval * 6, interval)
        last = times[0]
        if now - last <= gap * config.alerts.source_silence_factor:
            continue
        prior = session.scalars(select(Alert).where(Alert.kind == "source_health", Alert.created_at >= last))
        if any((a.payload.get("source") or {}).get("name") == source.name for a in prior):
            continue
        # Told to the silent source's own regency (its Diskominfo), like every other alert of that region.
        regional = config.for_region(source.region_code)
        created.append(
            queue_alert(
                session,
                regional,
                receiver=admin_receiver(regional),
                kind="source_health",
                now=now,
                payload={
                    "source": {
                        "name": source.name,
                        "last_item_at": last.isoformat(),
                        "usual_gap_text": minutes_text(gap.total_seconds() / 60),
                        "last_error": source.last_error,
                        "status": source.status,
                    }
                },
                region_code=source.region_code,  # the silent source's regency
            )
        )
    return created
