"""Spikes per topic × kecamatan: many small issues about one thing in one place is a signal too.

Reads the hourly aggregates (``scope_counts``, which survive the retention
purge), runs the same detector the issues use over every scope at once, and
stores a scope-level :class:`~monitor.store.models.Signal` for each new onset.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.virality import scan_series
from monitor.kernel.config import AppConfig
from monitor.kernel.regions import DEFAULT_REGION
from monitor.store.models import ScopeCount, Signal

LOOKBACK = timedelta(days=14)
FRESH = timedelta(hours=3)
"""Onsets older than this are history, not news: they are not stored again on a later pass."""


def scope_key(region: str, topic: str, kecamatan: str) -> str:
    """``Signal.scope`` of a topic × kecamatan: "topic:kecamatan" in the default region (as before regions),
    "region:topic:kecamatan" in another."""
    return f"{topic}:{kecamatan}" if region == DEFAULT_REGION else f"{region}:{topic}:{kecamatan}"


def scan_scopes(session: Session, config: AppConfig, now: datetime) -> list[Signal]:
    """Store a signal for every topic × kecamatan whose complaint count spiked in the last hours."""
    hour0 = (now - LOOKBACK).replace(minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(
            ScopeCount.hour, ScopeCount.topic, ScopeCount.kecamatan, ScopeCount.complaints, ScopeCount.region_code
        ).where(ScopeCount.hour >= hour0, ScopeCount.hour <= now, ScopeCount.kecamatan != "")
    ).all()
    if not rows:
        return []
    # Per region too: two regencies may have a kecamatan of the same name, and their counts are not one place's.
    scopes = sorted({(r.region_code, r.topic, r.kecamatan) for r in rows})
    index = {scope: i for i, scope in enumerate(scopes)}
    bins = int((now - hour0).total_seconds() // 3600) + 1
    values = np.zeros((len(scopes), bins))
    for r in rows:
        values[index[(r.region_code, r.topic, r.kecamatan)], int((r.hour - hour0).total_seconds() // 3600)] += (
            r.complaints
        )
    params = config.virality.model_copy(update={"bin_minutes": 60})
    stored = set(
        session.execute(select(Signal.scope, Signal.at).where(Signal.scope.is_not(None), Signal.at >= now - FRESH))
    )
    new: list[Signal] = []
    for (region, topic, kecamatan), onsets in zip(scopes, scan_series(hour0, values, params), strict=True):
        scope = scope_key(region, topic, kecamatan)
        for at, score in onsets:
            if now - at > FRESH or (scope, at) in stored:
                continue
            row = values[index[(region, topic, kecamatan)]]
            signal = Signal(
                scope=scope,
                at=at,
                stage="naik",
                score=round(100 * score, 1),
                spike=True,
                mentions=int(row[-24:].sum()),
                reasons=[f"lonjakan keluhan {topic} di Kecamatan {kecamatan}"],
            )
            session.add(signal)
            new.append(signal)
    return new
