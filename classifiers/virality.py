"""Spike detection and virality forecasting (pure, deterministic; time comes from ``now``).

This is the walking-skeleton detector: an issue's recent posting rate is
compared with its own trailing baseline (a Poisson test that copes with the
0-2 posts a day most issues have), and its early growth is extrapolated
log-linearly (the Szabo-Huberman observation that early reach predicts later
reach) into a probability of reaching the viral level and a time until then.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class PostEvent:
    """One post that belongs to an issue."""

    at: datetime
    author: str
    platform: str
    engagement: float
    is_news: bool


@dataclass(frozen=True, slots=True)
class EngagementReading:
    """One metrics snapshot of one post."""

    at: datetime
    post_key: str
    engagement: float


class ViralityParams(BaseModel):
    """The `virality:` section of config.yaml."""

    model_config = ConfigDict(extra="forbid")

    bin_minutes: int = Field(5, ge=1, le=60)
    viral_mentions: int = Field(60, ge=1)
    """Posts within `window_hours` that make an issue viral."""
    viral_engagement: float = Field(5000.0, gt=0)
    window_hours: float = Field(24.0, gt=0)
    naik_probability: float = Field(0.5, ge=0, le=1)
    """Forecast probability of going viral at which an issue is `naik` (and its agency is warned)."""
    naik_min_mentions: int = Field(5, ge=1)
    naik_min_authors: int = Field(3, ge=1)
    spike_z: float = Field(3.0, gt=0)
    recent_hours: float = Field(2.0, gt=0)
    mereda_fraction: float = Field(0.3, gt=0, lt=1)
    """A `naik`/`viral` issue cools (`mereda`) when its rate falls below this fraction of its peak rate."""
    buzzer_share: float = Field(0.6, gt=0, le=1)
    """Share of recent posts from the three busiest accounts above which growth looks coordinated."""


@dataclass(frozen=True, slots=True)
class Assessment:
    stage: str
    score: float
    spike: bool
    p_viral: float
    eta_minutes: float | None
    mentions: int
    authors: int
    engagement: float
    velocity: float
    platforms: int
    news_pickup: int
    buzzer_suspected: bool
    buzzer_share: float
    reasons: tuple[str, ...]


def _hourly_counts(times: Sequence[datetime], now: datetime, hours: int) -> np.ndarray:
    counts = np.zeros(hours)
    for t in times:
        age = (now - t).total_seconds() / 3600
        if 0 <= age < hours:
            counts[hours - 1 - int(age)] += 1
    return counts


def _growth_rate(hourly: np.ndarray) -> float:
    """Per-hour exponential growth rate of the cumulative count over the last hours (0 if not growing)."""
    cum = np.cumsum(hourly)
    tail = cum[-6:]
    if tail[-1] < 3 or tail[0] == tail[-1]:
        return 0.0
    x = np.arange(len(tail), dtype=float)
    y = np.log(tail + 1.0)
    slope = float(np.polyfit(x, y, 1)[0])
    return max(slope, 0.0)


def assess(
    events: Sequence[PostEvent],
    readings: Sequence[EngagementReading],
    now: datetime,
    params: ViralityParams,
    previous_stage: str | None = None,
) -> Assessment:
    """Where an issue stands now: stage, rise score, spike, forecast, buzzer flag, with reasons."""
    window = params.window_hours
    recent = [e for e in events if e.at <= now and (now - e.at).total_seconds() <= window * 3600]
    mentions = len(recent)
    authors = len({e.author for e in recent})
    engagement = float(sum(e.engagement for e in events if e.at <= now))
    platforms = len({e.platform for e in recent})
    news = sum(1 for e in recent if e.is_news)
    hourly = _hourly_counts([e.at for e in events], now, 48)
    recent_h = max(round(params.recent_hours), 1)
    observed = float(hourly[-recent_h:].sum())
    base_rate = max(float(hourly[:-recent_h].sum()) / (48 - recent_h), 0.05)
    expected = base_rate * recent_h
    z = (observed - expected) / math.sqrt(expected)
    spike = observed >= 3 and z >= params.spike_z
    velocity = observed / recent_h
    rate = _growth_rate(hourly)
    cum = max(mentions, 1)
    horizon = 12.0
    projected = cum * math.exp(min(rate * horizon, 20.0))
    sigma = 0.6
    p_viral = 1.0 / (1.0 + math.exp(-(math.log(projected) - math.log(params.viral_mentions)) / sigma))
    eta = None
    if mentions < params.viral_mentions and rate > 0:
        eta = 60.0 * math.log(params.viral_mentions / cum) / rate
    # Coordinated bursts: a few accounts carry most of the recent growth.
    last = [e.author for e in events if 0 <= (now - e.at).total_seconds() <= params.recent_hours * 3600]
    top = sum(c for _, c in Counter(last).most_common(3))
    buzzer_share = top / len(last) if len(last) >= 6 else 0.0
    buzzer = buzzer_share >= params.buzzer_share
    if buzzer:
        p_viral *= 1.0 - 0.5 * buzzer_share
    viral_now = mentions >= params.viral_mentions or engagement >= params.viral_engagement
    rising = (spike or p_viral >= params.naik_probability) and mentions >= params.naik_min_mentions
    rising = rising and authors >= params.naik_min_authors
    peak_velocity = float(max(np.convolve(hourly, np.ones(recent_h), "valid").max() / recent_h, velocity))
    cooling = velocity < params.mereda_fraction * peak_velocity
    reasons: list[str] = []
    if viral_now:
        stage = "viral"
        reasons.append(f"{mentions} unggahan dalam {window:.0f} jam, keterlibatan {engagement:,.0f}")
    elif previous_stage in ("naik", "viral") and cooling:
        stage = "mereda"
        reasons.append(f"laju turun ke {velocity:.1f} unggahan/jam dari puncak {peak_velocity:.1f}")
    elif (rising and (previous_stage != "mereda" or spike)) or previous_stage == "naik":
        # From `mereda` only a fresh spike brings an issue back: a slow tail must not flap.
        stage = "naik"
        if spike:
            reasons.append(
                f"laju {velocity:.1f} unggahan/jam, {observed / max(expected, 1e-9):.0f}x di atas garis dasar"
            )
        reasons.append(f"peluang viral {p_viral:.0%}")
    else:
        stage = "mereda" if previous_stage == "mereda" else "baru"
    if previous_stage == "viral" and stage == "naik":
        stage = "viral"  # no flapping down from viral except by cooling
    if buzzer:
        reasons.append(f"{buzzer_share:.0%} unggahan terbaru dari 3 akun (indikasi pendengung)")
    if news:
        reasons.append(f"diberitakan {news} portal")
    score = round(100.0 * p_viral * (1.0 - 0.5 * buzzer_share if buzzer else 1.0), 1)
    return Assessment(
        stage=stage,
        score=score,
        spike=spike,
        p_viral=round(p_viral, 4),
        eta_minutes=None if viral_now else eta,
        mentions=mentions,
        authors=authors,
        engagement=engagement,
        velocity=velocity,
        platforms=platforms,
        news_pickup=news,
        buzzer_suspected=buzzer,
        buzzer_share=round(buzzer_share, 3),
        reasons=tuple(reasons),
    )


def series_baseline(
    timestamps: Sequence[datetime], values: Sequence[float], params: ViralityParams | None = None
) -> list[float]:
    """Expected value per bin: the trailing median of the previous day of bins."""
    params = params or ViralityParams()
    arr = np.asarray(values, dtype=float)
    span = max(int(24 * 60 / params.bin_minutes), 1)
    out = []
    for i in range(len(arr)):
        lo = max(0, i - span)
        out.append(float(np.median(arr[lo:i])) if i > lo else float(arr[i]))
    return out


def detect_onsets(
    timestamps: Sequence[datetime], values: Sequence[float], params: ViralityParams | None = None
) -> list[tuple[datetime, float]]:
    """Alert onsets in a series: a robust z-score over the trailing day, one onset per episode."""
    params = params or ViralityParams()
    arr = np.asarray(values, dtype=float)
    onsets: list[tuple[datetime, float]] = []
    if len(arr) < 10:
        return onsets
    step = (timestamps[1] - timestamps[0]) if len(timestamps) > 1 else timedelta(minutes=params.bin_minutes)
    span = max(int(timedelta(days=1) / step), 10)
    in_episode_until = -1
    for i in range(span, len(arr)):
        window = arr[i - span : i]
        med = float(np.median(window))
        mad = float(np.median(np.abs(window - med))) * 1.4826 + 1.0
        z = (arr[i] - med) / mad
        if z >= params.spike_z * 2 and i > in_episode_until:
            onsets.append((timestamps[i], round(min(z / 20.0, 1.0), 4)))
            in_episode_until = i + span
    return onsets
