"""The application's jobs, as plain methods: the scheduler runs them on wall time, the demo on a simulated clock.

Optional stages (alerts, tracking) are looked up by module so the service keeps
working while a stage is being developed or is switched off.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from collectors.base import Collector
from monitor.clock import Clock
from monitor.collect import CollectReport, run_source
from monitor.config import AppConfig
from monitor.db import Database
from monitor.ingest import Ingestor
from monitor.pipeline import Classifier, PipelineReport, run_pipeline
from monitor.sources import build_collector, source_states

log = logging.getLogger(__name__)

USER_AGENT = "oki-viral-monitor/0.1 (+https://github.com/; Diskominfo OKI)"


def _optional(path: str) -> Callable[..., Any] | None:
    module, _, name = path.rpartition(".")
    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return found
    except (ModuleNotFoundError, AttributeError):
        return None


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
        for state in source_states(self.config):
            if not state.runnable:
                self.disabled[state.config.name] = state.reason or "nonaktif"
                continue
            try:
                self.collectors[state.config.name] = build_collector(state.config)
            except Exception as exc:  # a bad source must not stop the others
                self.disabled[state.config.name] = f"gagal dibuat: {exc}"
                log.error("source %s cannot start: %s", state.config.name, exc)

    def get_classifier(self) -> Classifier:
        if self.classifier is None:
            from pathlib import Path

            from classifiers.model import load_classifier

            path = Path(self.config.classifier.model_path) if self.config.classifier.model_path else None
            self.classifier = load_classifier(path)
        return self.classifier

    def collect(self, name: str, *, force: bool = False) -> CollectReport:
        """Run one source once."""
        if name not in self.collectors:
            reason = self.disabled.get(name, "tidak ada di config")
            return CollectReport(name, ok=False, skipped=reason)
        assert self.client is not None
        return run_source(
            self.db,
            self.config,
            self.config.source(name),
            self.collectors[name],
            self.client,
            self.clock.now(),
            ingestor=self._ingestor,
            force=force,
        )

    def pipeline(self) -> PipelineReport:
        """Classify, group, assess, and decide alerts in the same transaction as the stage change."""
        evaluate = _optional("alerts.engine.evaluate")
        return run_pipeline(self.db, self.get_classifier(), self.config, self.clock.now(), alert_hook=evaluate)

    def deliver(self) -> Any:
        """Send what is due in the outbox."""
        deliver_due = _optional("alerts.outbox.deliver_due")
        if deliver_due is None:
            return None
        return deliver_due(self.db, self.config, self.clock.now())

    def poll_acks(self) -> int:
        """Read Telegram button presses (acknowledgements, feedback)."""
        poll = _optional("alerts.channels.telegram.poll_updates")
        if poll is None or not self.config.alerts.telegram.enabled:
            return 0
        return int(poll(self.db, self.config, self.clock.now()))

    def housekeeping(self) -> None:
        """Digests, source-health checks and escalations that do not wait for new posts."""
        now = self.clock.now()
        hooks = [
            _optional("alerts.digest.queue_digests"),
            _optional("alerts.source_health.check"),
            _optional("alerts.engine.evaluate"),
        ]
        with self.db.session() as session:
            for hook in hooks:
                if hook is not None:
                    hook(session, self.config, now)

    def track(self) -> Any:
        """Re-measure engagement of posts in open issues."""
        run_tracking = _optional("monitor.tracking.run_tracking")
        if run_tracking is None:
            return None
        return run_tracking(self.db, self.config, self.clock.now(), self.client, self.collectors)

    def purge(self) -> Any:
        """Apply the retention period (UU PDP)."""
        purge = _optional("monitor.retention.purge")
        if purge is None:
            return None
        return purge(self.db, self.config, self.clock.now())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
