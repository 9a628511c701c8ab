"""Lead time the leading signals add to the per-issue assessment, on simulated issues with engagement.

    python bench/lead_signals.py [--seed 7] [--issues 120] [--every 15]

The issues are :func:`classifiers.simulate.simulate_issues` (trickles, climbs that stall or go viral,
one-off bursts; their post times and accounts unchanged). A separate random stream adds what the
pipeline would also read: a follower count per account (log-normal, median 300), a home platform per
issue that posts leave more often as the issue heats up, and per post the shares + replies it collects
over the two hours after it is published, read every 15 minutes. The one assumption that makes
engagement a leading sign is stated, not measured: a post's shares grow with the posts that follow it
within two hours (the cascade it starts), times log-normal noise. So this measures how much earlier
``assess`` says ``naik`` when engagement does lead, and what that costs in ``naik`` stages of issues
that never become viral; stored history (``oki-monitor backtest``) is where a deployment checks it.

Each issue is assessed every ``--every`` minutes with ``lead_signals`` at its default and at 0 (off);
prints issues viral, warned before viral, median lead (first ``naik`` to ``viral``) and issues that
were ``naik`` but never viral.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers.simulate import SimIssue, simulate_issues
from classifiers.spike import _accelerate
from classifiers.virality import EngagementReading, PostEvent, ViralityParams, assess

PLATFORMS = ("x", "facebook", "instagram", "tiktok", "youtube", "mastodon", "telegram")


def engaged(
    issue: SimIssue, rng: np.random.Generator, followers: dict[str, float]
) -> tuple[list[PostEvent], list[EngagementReading]]:
    """The issue's posts with platform, reach and key, and their tracking readings (see the module docstring)."""
    secs = np.array([t.timestamp() for t in issue.times])
    home = PLATFORMS[int(rng.integers(0, len(PLATFORMS)))]
    events: list[PostEvent] = []
    readings: list[EngagementReading] = []
    for i, (t, author) in enumerate(zip(issue.times, issue.authors, strict=True)):
        s = secs[i]
        before = int(np.searchsorted(secs, s - 3600.0, side="left"))
        heat = i - before  # posts in the hour before this one
        away = min(0.7, 0.05 + 0.03 * heat)
        platform = PLATFORMS[int(rng.integers(0, len(PLATFORMS)))] if rng.uniform() < away else home
        if author not in followers:
            followers[author] = float(np.exp(rng.normal(np.log(300.0), 1.5)))
        after = int(np.searchsorted(secs, s + 7200.0, side="right")) - i - 1
        total = float(np.exp(rng.normal(np.log(2.0), 1.0))) * (1.0 + 0.5 * after)
        key = f"{issue.kind}:{i}"
        events.append(PostEvent(t, author, platform, 0.0, False, key=key, reach=followers[author]))
        for k in range(1, 13):  # every 15 minutes for 3 hours; full after 2 hours
            at = t + timedelta(minutes=15 * k)
            spread = total * min(1.0, k / 8.0)
            readings.append(EngagementReading(at, key, 2.0 * spread, spread=spread))
    readings.sort(key=lambda r: r.at)
    return events, readings


def first_times(
    events: list[PostEvent], readings: list[EngagementReading], end: datetime, params: ViralityParams, every: int
) -> tuple[datetime | None, datetime | None]:
    """When the issue was first ``naik`` (or viral without it) and first ``viral``, assessed every ``every`` minutes."""
    reading_times = [r.at for r in readings]
    stage: str | None = None
    naik_at = viral_at = None
    now = events[0].at + timedelta(minutes=every)
    while now <= end:
        seen = [e for e in events if e.at <= now]
        known = readings[: bisect.bisect_right(reading_times, now)]
        stage = assess(seen, known, now, params, previous_stage=stage).stage
        if stage in ("naik", "viral") and naik_at is None:
            naik_at = now
        if stage == "viral":
            viral_at = now
            break
        now += timedelta(minutes=every)
    return naik_at, viral_at


def main() -> None:
    """Run both settings over the same issues and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--issues", type=int, default=120)
    ap.add_argument("--every", type=int, default=15, help="minutes between assessments")
    args = ap.parse_args()
    _accelerate()  # the detector compiled: thousands of small runs
    rng = np.random.default_rng(args.seed + 1000)
    followers: dict[str, float] = {}
    issues = [(i, *engaged(i, rng, followers)) for i in simulate_issues(args.seed, n_issues=args.issues)]
    on = ViralityParams()
    off = on.model_copy(update={"lead_signals": 0})
    print("| setting | issues | viral | warned before viral | median lead (min) | naik, never viral |")
    print("|---|---|---|---|---|---|")
    for name, params in (("leading signals off", off), (f"leading signals on ({on.lead_signals} of 3)", on)):
        leads: list[float] = []
        viral = false = 0
        for issue, events, readings in issues:
            naik_at, viral_at = first_times(events, readings, issue.end, params, args.every)
            if viral_at is not None:
                viral += 1
                if naik_at is not None and naik_at < viral_at:
                    leads.append((viral_at - naik_at).total_seconds() / 60.0)
            elif naik_at is not None:
                false += 1
        median = f"{statistics.median(leads):.0f}" if leads else "-"
        print(f"| {name} | {len(issues)} | {viral} | {len(leads)} | {median} | {false} |")


if __name__ == "__main__":
    main()
