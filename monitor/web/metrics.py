"""Prometheus metrics: read from the database at scrape time, plus in-process timings.

Counts that the database already keeps (items per source, deliveries by
status, queue depth) are read when Prometheus scrapes, so they are right even
when the scheduler runs in another process. Timings that only exist in a
process (classification, dashboard requests) use histograms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.kernel.metrics import CLASSIFY_SECONDS, PROCESS_REGISTRY, observe_classify
from monitor.store.models import Delivery, JobRun, Source
from monitor.web.queries import queue_depth

log = logging.getLogger(__name__)

__all__ = ["CLASSIFY_SECONDS", "PROCESS_REGISTRY", "observe_classify"]


class _DatabaseCollector(Collector):
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        items = CounterMetricFamily("oki_source_items", "Posts read per source since it was added", labels=["source"])
        errors = GaugeMetricFamily("oki_source_failures", "Consecutive failed runs per source", labels=["source"])
        status = GaugeMetricFamily(
            "oki_source_status", "1 for the current status of each source", labels=["source", "status"]
        )
        deliveries = GaugeMetricFamily("oki_alert_deliveries", "Alert deliveries by status", labels=["status"])
        queue = GaugeMetricFamily("oki_queue_depth", "Work waiting", labels=["queue"])
        job = GaugeMetricFamily("oki_job_last_duration_seconds", "Duration of each job's last run", labels=["job"])
        try:
            with self.sessions() as session:
                for s in session.scalars(select(Source)):
                    items.add_metric([s.name], float(s.items_total or 0))
                    errors.add_metric([s.name], float(s.consecutive_failures or 0))
                    status.add_metric([s.name, s.status or "ok"], 1.0)
                counts = {
                    st: n for st, n in session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
                }
                for name in ("sent", "failed", "dead", "pending"):
                    deliveries.add_metric([name], float(counts.get(name, 0)))
                for name, depth in queue_depth(session).items():
                    queue.add_metric([name], float(depth))
                for run in session.scalars(select(JobRun)):
                    if run.last_started_at and run.last_finished_at and run.last_finished_at >= run.last_started_at:
                        job.add_metric([run.job_id], (run.last_finished_at - run.last_started_at).total_seconds())
        except Exception as exc:  # a scrape must never take the dashboard down
            log.warning("metrics: database read failed: %s", exc.__class__.__name__)
        yield from (items, errors, status, deliveries, queue, job)


class WebMetrics:
    """The registry one app serves at /metrics."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_DatabaseCollector(sessions))
        self.requests = Histogram(
            "oki_http_request_seconds",
            "Dashboard/API request duration",
            labelnames=["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, seconds: float) -> None:
        self.requests.labels(route, method).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text of this app's and the process's metrics."""
        return generate_latest(self.registry) + generate_latest(PROCESS_REGISTRY), CONTENT_TYPE_LATEST
