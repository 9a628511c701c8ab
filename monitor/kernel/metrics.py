"""In-process timings for Prometheus, recorded by the pipeline and served by the dashboard's /metrics.

Kept outside monitor/web so the pipeline does not depend on the web layer.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

PROCESS_REGISTRY = CollectorRegistry()
CLASSIFY_SECONDS = Histogram(
    "oki_classify_seconds",
    "Time to classify one batch of posts",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=PROCESS_REGISTRY,
)


def observe_classify(seconds: float) -> None:
    """Record one classification batch's duration (called by the pipeline)."""
    CLASSIFY_SECONDS.observe(seconds)
