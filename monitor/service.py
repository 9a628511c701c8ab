"""The application's jobs, as plain methods: the scheduler runs them on wall time, the demo on a simulated clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from alerts.channels.telegram import poll_updates
from alerts.digest import queue_digests
from alerts.engine import evaluate
from alerts.outbox import DeliveryReport, deliver_due
from alerts.source_health import check as check_source_health
from collectors.base import Collector
from monitor.kernel.clock import Clock
from monitor.kernel.config import AppConfig
from monitor.kernel.sources import build_collector, source_states
from monitor.stages.classify import Classifier
from monitor.stages.collect import CollectReport, run_source
from monitor.stages.ingest import Ingestor
from monitor.stages.intake import attach as attach_inbox
from monitor.stages.intake import send_replies
from monitor.stages.lapor import LaporReport, scan_folder
from monitor.stages.pipeline import PipelineReport, run_pipeline
from monitor.stages.retention import PurgeReport, purge
from monitor.stages.scopes import scan_scopes
from monitor.stages.track import TrackingReport, run_tracking
from monitor.stages.tracked_queries import tracked_for
from monitor.store.db import Database, lock_decisions

log = logging.getLogger(__name__)

USER_AGENT = "oki-viral-monitor/0.1 (+https://github.com/; Diskominfo OKI)"


@dataclass
class MonitorService:
    """Everything a job needs, built once per process."""

    config: AppConfig
    db: Database
    clock: Clock
    classifier: Classifier | None = None
    client: httpx.Client | None = None
    collectors: dict[str, Collector] = field(default_factory=dict)
    disabled: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = httpx.Client(
                headers={"User-Agent": USER_AGENT}, follow_redirects=False, timeout=httpx.Timeout(10.0, connect=5.0)
            )
        self._ingestor = Ingestor(self.config)
        # Set when get_classifier loads the model file (an injected classifier has none): the
        # file's identity at load time, so a replaced file is noticed.
        self._model_path: Path | None = None
        self._model_stamp: tuple[int, int, int] | None = None
        for state in source_states(self.config):
            if not state.runnable:
                self.disabled[state.config.name] = state.reason or "nonaktif"
                continue
            try:
                self.collectors[state.config.name] = build_collector(state.config)
                attach_inbox(self.collectors[state.config.name], self.db, self.config)
            except Exception as exc:  # a bad source must not stop the others
                self.disabled[state.config.name] = f"gagal dibuat: {exc}"
                log.error("source %s cannot start: %s", state.config.name, exc)

    def get_classifier(self) -> Classifier:
        """The loaded model; reloaded when its file was replaced (a promoted retrain, `oki-monitor train`)."""
        from monitor.stages.retrain import model_stamp

        if (
            self.classifier is not None
            and self._model_path is not None
            and model_stamp(self._model_path) != self._model_stamp
        ):
            self.reload_classifier()
        if self.classifier is None:
            from classifiers.model import default_model_path, load_classifier

            path = Path(self.config.classifier.model_path) if self.config.classifier.model_path else None
            classifier = load_classifier(path)
            classifier.triage_threshold = self.config.classifier.triage_threshold
            self._model_path = (path or default_model_path()).resolve()
            self._model_stamp = model_stamp(self._model_path)
            self.classifier = classifier
        return self.classifier

    def reload_classifier(self) -> None:
        """Forget the loaded model (memory and load_classifier's cache): the next use reads the file again."""
        from monitor.stages.retrain import forget_cached_model

        if self._model_path is not None:
            forget_cached_model(self._model_path)
            self.classifier = None
            self._model_path = self._model_stamp = None

    def collect(self, name: str, *, force: bool = False) -> CollectReport:
        """Run one source once."""
        if name not in self.collectors:
            reason = self.disabled.get(name, "tidak ada di config")
            return CollectReport(name, ok=False, skipped=reason)
        assert self.client is not None
        src = self.config.source(name)
        now = self.clock.now()
        with self.db.session() as session:
            # Rising incidents' places and words, searched too while they rise (monitor/stages/tracked_queries.py).
            tracked = tracked_for(session, self.config, now, src.kind)
        queries = [d.query for d in tracked if d.query]
        return run_source(
            self.db,
            self.config,
            src,
            self.collectors[name],
            self.client,
            now,
            ingestor=self._ingestor,
            force=force,
            tracked=queries,
            incidents={d.query: d.incident() for d in tracked if d.query},
        )

    def pipeline(self, region: str | None = None) -> PipelineReport:
        """Classify, group, assess, and decide alerts in the same transaction as the stage change.

        New alerts go out at once instead of waiting for the next delivery tick (up to
        ``schedules.delivery_seconds``): an early warning is the point. The outbox claims each
        delivery with a lease, so this and the scheduled delivery job never send one twice.
        ``region``: that region's rows only (a worker's ``pipeline:CODE`` job); None: every region's.
        """
        report = run_pipeline(
            self.db, self.get_classifier(), self.config, self.clock.now(), alert_hook=evaluate, region=region
        )
        if report.alerts:
            self.deliver()
        self.reply_reports()
        return report

    def reply_reports(self) -> int:
        """Answer forwarded reports whose issue (or "tidak terkait OKI") is now known."""
        return send_replies(self.db, self.config, self.clock.now())

    def deliver(self) -> DeliveryReport:
        """Send what is due in the outbox."""
        return deliver_due(self.db, self.config, self.clock.now(), clock=self.clock.now)

    def poll_acks(self) -> int:
        """Read Telegram button presses (acknowledgements, feedback)."""
        if not self.config.alerts.telegram.enabled:
            return 0
        return poll_updates(self.db, self.config, self.clock.now())

    def housekeeping(self) -> None:
        """Digests, source-health checks and escalations that do not wait for new posts."""
        now = self.clock.now()
        with self.db.session() as session:
            lock_decisions(session)  # digests, health notices and escalations are alert decisions too
            queue_digests(session, self.config, now)
            check_source_health(session, self.config, now)
            evaluate(session, self.config, now)  # escalations and repeats are due by time, not by new posts
            scan_scopes(session, self.config, now)
        self.reply_reports()  # retries of replies that failed, and reports that waited too long

    def track(self) -> TrackingReport:
        """Re-measure engagement of posts in open issues."""
        assert self.client is not None
        return run_tracking(self.db, self.config, self.clock.now(), self.client, self.collectors)

    def import_lapor_folder(self) -> list[LaporReport]:
        """Import the LAPOR! exports in ``lapor.folder`` not imported before (monitor/stages/lapor.py)."""
        return scan_folder(self.db, self.config, self.clock.now())

    def purge(self) -> PurgeReport:
        """Apply the retention period (UU PDP)."""
        return purge(self.db, self.config, self.clock.now())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
