"""The stages after ingest, each re-runnable on stored data: classify → group → assess → alert.

Every stage reads its input from the database and writes its output there in
one transaction per batch, so a crash between stages loses nothing and a
restart continues where it stopped.

A pass may be of one region (``region``): it reads and writes only that region's posts, issues
and alerts, so in a deployment of several regions `oki-monitor worker` processes run the passes
of different regions at once (one job per region, :func:`monitor.domain.jobs.plan_jobs`).
Nothing a pass decides crosses regions: a post joins only its own region's issues, and alerts
are decided per issue or per alert, each of one region, under that region's decision lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from monitor.kernel.config import AppConfig
from monitor.stages.assess import assess_issues
from monitor.stages.classify import Classifier, classify_new
from monitor.stages.group import close_quiet, group_new
from monitor.store.db import Database, lock_decisions

log = logging.getLogger(__name__)


@dataclass
class PipelineReport:
    classified: int = 0
    complaints: int = 0
    grouped: int = 0
    new_issues: int = 0
    regressions: int = 0
    assessed: int = 0
    stage_changes: list[tuple[int, str, str]] = field(default_factory=list)
    closed: int = 0
    alerts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class AlertHook(Protocol):
    """Decides alerts in the caller's transaction (:func:`alerts.engine.evaluate`); ``region``: that region's only."""

    def __call__(
        self, session: Session, config: AppConfig, now: datetime, region: str | None = None
    ) -> Sequence[object]: ...


def run_pipeline(
    db: Database,
    classifier: Classifier,
    config: AppConfig,
    now: datetime,
    *,
    alert_hook: AlertHook | None = None,
    batch: int = 2000,
    region: str | None = None,
) -> PipelineReport:
    """One pass of every stage after ingest (``region``: of that region's rows only). Safe to run again at any
    time."""
    report = PipelineReport()
    t0 = time.perf_counter()
    while True:
        with db.session() as session:
            n, kept = classify_new(session, classifier, config, now, limit=batch, region=region)
        report.classified += n
        report.complaints += kept
        if n < batch:
            break
    t1 = time.perf_counter()
    touched: set[int] = set()
    while True:
        with db.session() as session:
            g, created, regressions, ids = group_new(session, config, now, limit=batch, region=region)
        report.grouped += g
        report.new_issues += created
        report.regressions += regressions
        touched |= ids
        if g < batch:
            break
    t2 = time.perf_counter()
    with db.session() as session:
        if alert_hook is not None:
            # Before assess writes issues: the alert decision at the end of this transaction takes
            # this lock anyway, and a holder of issue rows waiting for it could deadlock another.
            lock_decisions(session, region)
        report.assessed, report.stage_changes = assess_issues(session, config, now, region=region)
        report.closed = close_quiet(session, config, now, region=region)
        if alert_hook is not None:
            # Same transaction as the stage decision: an alert is never decided and lost.
            decided = alert_hook(session, config, now) if region is None else alert_hook(session, config, now, region)
            report.alerts = len(decided)
    t3 = time.perf_counter()
    report.seconds = {"classify": t1 - t0, "group": t2 - t1, "assess_alert": t3 - t2}
    return report
