"""Synthetic mention-count series with known answers, for evaluating and testing the spike detector.

Each series is weeks of 5-minute counts of posts about one scope: a base
rate (from about one post a day to dozens an hour) shaped by the Indonesian
daily and weekly rhythm, over-dispersed noise (gamma-Poisson), and events:

* ``shift``: a lasting level change (×0.5 to ×2) that must *not* be alerted;
* ``stalled``: a burst that grows for an hour or three to 1.5-3× the usual rate at that hour, then fades,
  never coming near the viral level (a false alarm if alerted);
* ``viral``: exponential growth (doubling every 30-120 minutes) from a small
  seed to 2-5× the viral level, then decay. The viral level is ten times the
  normal rate at that place and hour, and at least 20 posts an hour;
  ``cross_bin`` is the first bin whose true rate reaches it. An alert before it is early.

Deterministic for a given seed (numpy's PCG64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from classifiers.calendar_id import IndonesianCalendar, rhythm_prior

DEFAULT_START = datetime(2026, 1, 4, 17, 0, tzinfo=UTC)
"""Monday 5 January 2026, 00:00 WIB."""


@dataclass(frozen=True, slots=True)
class Episode:
    """One planted event: kind, first bin, bin it crossed the viral level (viral only), last bin."""

    kind: str
    start_bin: int
    cross_bin: int | None
    end_bin: int


@dataclass(frozen=True, slots=True)
class SimSeries:
    """A simulated series, its true rate per bin, the viral level (posts/hour) and the planted events."""

    start: datetime
    values: np.ndarray
    rate: np.ndarray
    viral_per_hour: float
    episodes: tuple[Episode, ...]


def rhythm(start: datetime, bins: int, bin_minutes: int) -> np.ndarray:
    """Relative activity per bin (mean ≈ 1) from the Indonesian daily/weekly prior."""
    slots = IndonesianCalendar().regular_slots(start, bins, bin_minutes)
    shape = rhythm_prior()[slots]
    # Sundays and holidays are a little quieter overall.
    shape = np.where((slots // 24) % 2 == 1, 0.85 * shape, shape)
    return shape / shape.mean()


def simulate_series(
    rng: np.random.Generator,
    *,
    weeks: float = 2.0,
    bin_minutes: int = 5,
    start: datetime = DEFAULT_START,
    base_per_hour: float | None = None,
    viral_rate: float = 0.5,
    stalled_rate: float = 1.5,
    shift_rate: float = 0.7,
    doubling_minutes: tuple[float, float] = (30.0, 120.0),
) -> SimSeries:
    """One series; the ``*_rate`` arguments are expected events per week."""
    per_hour = 60 // bin_minutes
    bins = int(weeks * 7 * 24 * per_hour)
    if base_per_hour is None:
        base_per_hour = float(math.exp(rng.uniform(math.log(0.05), math.log(40.0))))
    base = np.full(bins, base_per_hour / per_hour)
    shape = rhythm(start, bins, bin_minutes)
    # Each scope has its own phase: shift its rhythm by up to an hour.
    shape = np.roll(shape, int(rng.integers(-per_hour, per_hour + 1)))
    level = np.ones(bins)
    extra = np.zeros(bins)
    episodes: list[Episode] = []
    viral_per_hour = max(10.0 * base_per_hour, 20.0)
    warm = 2 * 24 * per_hour  # leave the first two days quiet so every detector has history
    span = bins - warm - 12 * per_hour

    def place(count_rate: float) -> list[int]:
        k = int(rng.poisson(count_rate * weeks))
        return sorted(int(warm + rng.integers(0, max(span, 1))) for _ in range(k)) if span > 0 else []

    for b in place(shift_rate):
        factor = float(rng.choice([0.5, 0.7, 1.4, 1.7, 2.0]))
        level[b:] *= factor
        episodes.append(Episode("shift", b, None, min(bins - 1, b + 6 * per_hour)))
    t_bins = np.arange(bins)
    for b in place(stalled_rate):
        peak = rng.uniform(1.5, 3.0) - 1.0
        rise = int(rng.uniform(1.0, 3.0) * per_hour)
        seed = 0.1 * peak
        g = math.log(peak / seed) / rise
        # Relative to what is normal at that hour: a 3x burst at 03:00 is a handful of posts.
        local_base = base[b] * level[b] * shape[b]
        dt = t_bins[b:] - b
        bump = np.where(dt < rise, seed * np.exp(g * dt), peak * np.exp(-(dt - rise) / (2.0 * per_hour)))
        extra[b:] += local_base * bump
        episodes.append(Episode("stalled", b, None, min(bins - 1, b + rise + 6 * per_hour)))
    for b in place(viral_rate):
        doubling = rng.uniform(*doubling_minutes) / bin_minutes
        g = math.log(2.0) / doubling
        # Viral means an order of magnitude above what is normal there and then (and at least 20/h).
        normal_hourly = base[b] * level[b] * shape[b] * per_hour
        viral_here = max(viral_per_hour, 10.0 * normal_hourly)
        seed_hourly = max(0.3 * normal_hourly, 0.5)
        peak_hourly = viral_here * rng.uniform(2.0, 5.0)
        rise = int(math.log(peak_hourly / seed_hourly) / g)
        dt = t_bins[b:] - b
        decay = peak_hourly * np.exp(-(dt - rise) / (4.0 * per_hour))
        hourly = np.where(dt < rise, seed_hourly * np.exp(g * dt), decay)
        extra[b:] += hourly / per_hour
        total_hourly = (base[b:] * level[b:] * shape[b:] + extra[b:]) * per_hour
        over = np.nonzero(total_hourly >= viral_here)[0]
        # Already above the level at its start (riding on another episode): no early warning possible.
        cross = b + int(over[0]) if over.size and over[0] > 0 else None
        below = np.nonzero((dt > rise) & (hourly < seed_hourly))[0]
        end = b + int(below[0]) if below.size else bins - 1
        episodes.append(Episode("viral", b, cross, end))
    rate = base * level * shape + extra
    dispersion = float(rng.uniform(2.0, 10.0))
    noisy = rng.gamma(dispersion, rate / dispersion)
    values = rng.poisson(noisy).astype(float)
    return SimSeries(start, values, rate, viral_per_hour, tuple(sorted(episodes, key=lambda e: e.start_bin)))


def add_bot_bursts(
    rng: np.random.Generator,
    series: SimSeries,
    bin_minutes: int = 5,
    gap_hours: tuple[float, float] = (8.0, 36.0),
    ratio: tuple[float, float] = (8.0, 20.0),
    min_posts: float = 20.0,
    clear_hours: float = 2.0,
) -> SimSeries:
    """The same series with a bot dumping posts every 8-36 hours: a "busy" series.

    Each burst lasts 1-6 bins at 8-20× the true rate (at least ``min_posts`` a bin). None starts
    within ``clear_hours`` before a viral episode or inside one, so a viral climb is never helped
    by a bot. Bursts are planted as ``bot`` episodes: any onset they cause is a false alert.
    """
    per_hour = 60 // bin_minutes
    values = series.values.copy()
    rate = series.rate.copy()
    viral = [e for e in series.episodes if e.kind == "viral"]
    bots: list[Episode] = []
    b = int(rng.uniform(*gap_hours) * per_hour)
    while b < len(values):
        width = int(rng.integers(1, 7))
        end = min(len(values), b + width)
        blocked = any(e.start_bin - clear_hours * per_hour <= b <= e.end_bin for e in viral)
        if not blocked:
            extra = np.maximum(rng.uniform(*ratio) * rate[b:end], min_posts)
            values[b:end] += np.round(extra)
            rate[b:end] += extra
            bots.append(Episode("bot", b, None, end - 1))
        b += int(rng.uniform(*gap_hours) * per_hour)
    episodes = tuple(sorted((*series.episodes, *bots), key=lambda e: e.start_bin))
    return SimSeries(series.start, values, rate, series.viral_per_hour, episodes)


def simulate(
    seed: int = 7,
    n_series: int = 200,
    weeks: float = 2.0,
    bin_minutes: int = 5,
    doubling_minutes: tuple[float, float] = (30.0, 120.0),
) -> list[SimSeries]:
    """A reproducible set of series (the evaluation's default corpus; ``doubling_minutes`` for slower climbs)."""
    rng = np.random.default_rng(seed)
    return [
        simulate_series(rng, weeks=weeks, bin_minutes=bin_minutes, doubling_minutes=doubling_minutes)
        for _ in range(n_series)
    ]


def regency_week(
    seed: int, n_series: int, bin_minutes: int = 5, start: datetime = DEFAULT_START
) -> tuple[np.ndarray, datetime]:
    """A cheap n_series × one-week count matrix with rhythm and noise, for the speed benchmark."""
    rng = np.random.default_rng(seed)
    bins = 7 * 24 * 60 // bin_minutes
    shape = rhythm(start, bins, bin_minutes)
    base = np.exp(rng.uniform(math.log(0.002), math.log(2.0), size=(n_series, 1)))
    return rng.poisson(base * shape[None, :]).astype(np.float32), start


def step(bin_minutes: int) -> timedelta:
    """The bin width as a timedelta."""
    return timedelta(minutes=bin_minutes)


@dataclass(frozen=True, slots=True)
class SimIssue:
    """A simulated issue: its posts (time, author, platform) and when it first reached the viral level, if it did."""

    kind: str
    times: tuple[datetime, ...]
    authors: tuple[str, ...]
    platforms: tuple[str, ...]
    viral_at: datetime | None
    end: datetime


def first_viral(times: list[datetime], viral_mentions: int, window_hours: float) -> datetime | None:
    """The first post time at which the rolling window holds ``viral_mentions`` posts (times sorted)."""
    window = timedelta(hours=window_hours)
    lo = 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        if hi - lo + 1 >= viral_mentions:
            return t
    return None


def simulate_issues(
    seed: int,
    n_issues: int = 300,
    hours: float = 96.0,
    viral_mentions: int = 60,
    window_hours: float = 24.0,
    start: datetime = DEFAULT_START,
) -> list[SimIssue]:
    """Issues as the pipeline sees them (posts of one complaint), with known outcomes, for the forecast's calibration.

    Every issue has a trickle (0.05-1.5 posts/h) shaped by the daily rhythm; most also take off at a random
    hour and grow (doubling every 1-6 h) to a peak of 1-80 posts/h, then fade (half-life 2-8 h), so the outcome
    ranges from never viral through stalled climbs to clearly viral. A fifth get a one-off burst of 5-40 posts in
    an hour instead (one forwarded link). Posts come from a large pool of accounts on several platforms.
    """
    rng = np.random.default_rng(seed)
    bin_minutes = 5
    per_hour = 60 // bin_minutes
    bins = int(hours * per_hour)
    t_h = np.arange(bins) / per_hour
    issues: list[SimIssue] = []
    platforms = ("x", "facebook", "instagram", "tiktok", "youtube", "mastodon", "telegram")
    for k in range(n_issues):
        offset = int(rng.integers(0, 7 * 24 * per_hour))
        first = start + timedelta(minutes=bin_minutes * offset)
        shape = rhythm(first, bins, bin_minutes)
        trickle = float(math.exp(rng.uniform(math.log(0.05), math.log(1.5))))
        rate = np.full(bins, trickle)
        roll = rng.uniform()
        if roll < 0.65:
            kind = "climb"
            onset = rng.uniform(2.0, 40.0)
            doubling = rng.uniform(1.0, 6.0)
            peak = float(math.exp(rng.uniform(math.log(1.0), math.log(80.0))))
            seed_rate = min(max(trickle, 0.3), peak)
            g = math.log(2.0) / doubling
            rise = math.log(peak / seed_rate) / g
            half_life = rng.uniform(2.0, 8.0)
            dt = t_h - onset
            grow = seed_rate * np.exp(g * np.maximum(dt, 0.0))
            fade = peak * 0.5 ** ((dt - rise) / half_life)
            climb = np.where(dt < 0.0, 0.0, np.where(dt < rise, grow, fade))
            rate = rate + climb
        elif roll < 0.85:
            kind = "burst"
            at = int(rng.uniform(2.0, 60.0) * per_hour)
            rate[at : at + per_hour] += rng.uniform(5.0, 40.0)
        else:
            kind = "trickle"
        counts = rng.poisson(rate * shape / per_hour)
        times: list[datetime] = []
        for b in np.nonzero(counts)[0]:
            for _ in range(int(counts[b])):
                times.append(first + timedelta(minutes=bin_minutes * (int(b) + float(rng.uniform()))))
        times.sort()
        if not times:
            continue
        authors = tuple(f"akun{int(a)}" for a in rng.integers(0, 1_000_000, size=len(times)))
        plats = tuple(platforms[int(i)] for i in rng.integers(0, len(platforms), size=len(times)))
        issues.append(
            SimIssue(
                kind=f"{kind}-{k}",
                times=tuple(times),
                authors=authors,
                platforms=plats,
                viral_at=first_viral(times, viral_mentions, window_hours),
                end=first + timedelta(hours=hours),
            )
        )
    return issues
