"""Is this issue starting to blow up? Signals, spike test, viral forecast and stage, for one issue at a time.

The pipeline calls :func:`assess` every few minutes for each open issue with
all its posts and engagement snapshots. Everything here is pure: no clock, no
database, no randomness; time comes from ``now``.

The spike test is the streaming detector of :mod:`classifiers.spike`, the same
one :func:`detect_onsets` runs for ``oki-monitor detect``, the topic ×
kecamatan scan (:func:`scan_series`) and the evaluations. The forecast is
:mod:`classifiers.forecast`. Coordinated bursts (a few accounts posting in
concert) are found by :func:`buzzer_flags`; their posts count for less in
every number that decides the stage, and the reasons say so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from classifiers.calendar_id import IndonesianCalendar, to_local, to_utc
from classifiers.calibration import Calibration
from classifiers.forecast import Forecast, GrowthFit, fit_growth, forecast
from classifiers.spike import DetectorMemo, DetectorOutput, DetectorSettings, run_detector


class Stage(StrEnum):
    """An issue's stage, as stored in ``issues.stage`` and shown (in Bahasa) on the dashboard and in alerts."""

    BARU = "baru"
    NAIK = "naik"
    VIRAL = "viral"
    MEREDA = "mereda"


STAGES: tuple[Stage, ...] = tuple(Stage)
"""Every stage, in the order of an issue's life."""

ESCALATION: tuple[Stage, ...] = (Stage.BARU, Stage.NAIK, Stage.VIRAL)
"""The stages an issue climbs through, lowest first; ``mereda`` is a way down, not a step up."""


@dataclass(frozen=True, slots=True)
class PostEvent:
    """One post that belongs to an issue."""

    at: datetime
    """tz-aware UTC publication time"""
    author: str
    """pseudonymised author key"""
    platform: str
    engagement: float
    """latest likes+shares+replies (+ a little of views) known at ``now``"""
    is_news: bool
    key: str = ""
    """the post's id as :class:`EngagementReading` names it ("" when unknown: its readings count only for velocity
    once a reading before the velocity window exists)"""
    reach: float = 0.0
    """followers of the posting account when the collector reported them (0: unknown)"""


@dataclass(frozen=True, slots=True)
class EngagementReading:
    """One metrics snapshot of one post."""

    at: datetime
    post_key: str
    engagement: float
    spread: float = 0.0
    """shares + replies at this reading: the part of engagement that carries the post to new people"""


class ViralityParams(BaseModel):
    """``virality:`` in config.yaml. Every field has a default tuned on the simulator and NAB realTweets."""

    model_config = ConfigDict(extra="forbid")

    bin_minutes: int = Field(5, ge=1, le=60)
    """Width of a time bin for every series."""
    viral_mentions: int = Field(60, ge=2)
    """An issue is viral at this many posts within ``viral_window_hours`` ..."""
    viral_window_hours: float = Field(24, gt=0)
    viral_engagement: float = Field(5000, gt=0)
    """... or at this total engagement."""
    horizon_hours: float = Field(24, gt=0, le=168)
    """p_viral is the chance of reaching the viral level within this many hours."""
    naik_probability: float = Field(0.5, gt=0, le=1)
    """Enter ``naik`` at this p_viral (or when the spike detector fires)."""
    naik_growth_z: float = Field(1.0, ge=0)
    """Entering ``naik`` on the forecast needs growth this many standard deviations above zero."""
    naik_exit_probability: float = Field(0.25, ge=0, le=1)
    """Leave ``naik`` (to ``mereda``) only below this p_viral and with no spike: hysteresis."""
    naik_min_posts: int = Field(5, ge=1)
    naik_min_authors: int = Field(3, ge=1)
    """A handful of posts by one or two people never makes an issue ``naik``."""
    mereda_fraction: float = Field(0.35, gt=0, lt=1)
    """A viral issue is ``mereda`` when its last-3-hour rate falls below this share of its peak rate."""
    spike_threshold: float = Field(5.0, gt=0)
    """Detector score at which an alarm starts (≈ standard deviations on the square-root scale)."""
    spike_release: float = Field(1.5, ge=0)
    release_minutes: int = Field(180, ge=0)
    """An alarm ends after the score stays below ``spike_release`` this long."""
    min_excess: float = Field(4.0, ge=0)
    """Posts above expectation in the last hour needed before any alarm."""
    min_ratio: float = Field(3.5, ge=1)
    """The last hour (or quarter hour) must be at least this many times its expectation: a stalled
    burst or a doubling of chatter is not a warning; growth towards viral passes it early."""
    cusum_threshold: float = Field(12.0, gt=0)
    """Evidence (log-likelihood ratio) of a steady rise to ``min_ratio``× that alarms on its own."""
    bin_cap_sd: float = Field(4.0, gt=0)
    """A single bin counts at most this many standard deviations above expectation in window sums."""
    single_bin_weight: float = Field(0.0, ge=0, le=1)
    """Weight of the one-bin window in the score (0: it does not enter the score; a lone 5-minute bin
    alerts only through the sudden-burst rule, ``DetectorSettings.burst_*``)."""
    rearm_ratio: float = Field(3.0, ge=0)
    """While an alarm is open and its rate has stopped climbing, a fresh climb to this multiple of its lowest
    hourly rate since (never below the baseline) is a second wave and a new onset; 0 turns this off."""
    routine_bursts: int = Field(2, ge=0)
    """After this many short bursts within ``routine_days``, a new surge must outgrow them to alert (0: off)."""
    routine_rank: int = Field(2, ge=1)
    """... outgrow the peak of the ``routine_rank``-th largest of those bursts (1: the largest)."""
    routine_days: float = Field(7, gt=0)
    routine_burst_minutes: float = Field(120, gt=0)
    """A burst whose last quarter hour stays ``min_ratio``× above normal for less than this is short (bots,
    one forwarded link); a surge that stays up longer alerts even when it is no bigger than those."""
    novelty_days: float = Field(21, ge=0)
    """A busy series (``routine_bursts`` short bursts within this many days) alerts only on a surge whose largest
    5-minute or hourly count beats every day of that period: a series that bursts every few days raises its own
    bar, a quiet one keeps it low. A surge hot for ``routine_burst_minutes`` still alerts. 0 (or no routine
    memory): off."""
    routine_outlast: float = Field(1.25, ge=0)
    """Shape, not size: a surge kept silent by the routine memory or the novelty bar alerts once its last quarter
    hour has been hot this many times as long as the longest remembered short burst of the period and its last
    hour is at least 1.5× the hour before (a viral climb starts small but keeps climbing; a bot's dump is over in
    minutes). Never later than ``routine_burst_minutes``; 0: only after ``routine_burst_minutes``."""
    climb_ratio: float = Field(3.5, ge=0)
    """Multi-horizon climb (issue #21): the last half hour at this multiple of its normal (capped counts) passes the
    size gate before the hour does, if the ratio is no lower at each shorter horizon (half hour ≥ hour ≥ two hours:
    still climbing) and the two hours are ``climb_long``× up; it alarms at ``climb_z`` (0: off)."""
    climb_long: float = Field(3.0, ge=1)
    climb_z: float = Field(4.0, gt=0)
    """Normal score of the half hour or the two hours at which a climb alarms (the hour needs ``spike_threshold``)."""
    baseline_lag_hours: float = Field(0, ge=0)
    """The level learns from bins this old, so a slow climb is compared with the level from before it."""
    baseline_half_life_hours: float = Field(24, gt=0)
    season_days: float = Field(3, gt=0)
    """How many days of a slot's history shape its daily/weekly factor."""
    relative_error: float = Field(0.3, ge=0)
    """Relative uncertainty of the baseline; keeps large noisy series calm."""
    growth_weight: float = Field(0.5, ge=0)
    """Score bonus per consecutive rising hour (accelerating growth alerts earlier)."""
    rebase_after_hours: float = Field(12, gt=0)
    """A flat excess lasting this long is a new normal, not a spike."""
    warmup_hours: float = Field(24, ge=0)
    """A series without a known level is watched this long before it may alert."""
    rhythm_prior: float = Field(0.5, ge=0, le=1)
    """How strongly to seed the daily rhythm with Indonesian social-media hours (WIB): 0 flat, 1 full prior."""
    ramadan_profile: bool = True
    extra_holidays: list[date] = Field(default_factory=list)
    """Holidays missing from the built-in table (e.g. cuti bersama)."""
    issue_prior_per_hour: float = Field(0.5, ge=0)
    """Baseline posting rate of a brand-new issue."""
    lookback_hours: float = Field(72, gt=0)
    growth_half_life_hours: float = Field(3, gt=0)
    damping_hours: float = Field(12, gt=0)
    """How fast a cascade's growth fades (self-exciting kernel)."""
    prior_growth_sd: float = Field(0.7, ge=0)
    """Spread of growth rates among issues (per hour); a fit from few posts is shrunk towards 0 by it."""
    buzzer_window_minutes: int = Field(360, ge=10)
    buzzer_burst_seconds: int = Field(120, ge=10)
    buzzer_repeat_posts: int = Field(3, ge=2)
    """An account with this many posts in the window is posting in bulk."""
    buzzer_share_threshold: float = Field(0.4, gt=0, le=1)
    buzzer_min_posts: int = Field(8, ge=1)
    buzzer_weight: float = Field(0.3, ge=0, le=1)
    """How much one buzzer-like post counts compared with an organic one."""
    lead_signals: int = Field(2, ge=0, le=3)
    """Leading evidence: this many of engagement velocity, cross-platform spread and reach agreeing, while the
    mentions grow, make an issue ``naik`` before its counts alone would (0: off). One signal never does."""
    lead_window_hours: float = Field(3, gt=0)
    """The leading signals read this recent stretch (platforms and reach) ..."""
    lead_velocity_minutes: float = Field(60, gt=0)
    """... and engagement velocity over this many minutes of tracking readings."""
    lead_velocity_per_minute: float = Field(2.0, gt=0)
    """Engagement velocity: shares + replies gained per minute (tracking readings, organic posts)."""
    lead_platforms: int = Field(3, ge=2)
    """Cross-platform spread: organic posts on at least this many platforms within ``lead_window_hours``."""
    lead_reach: float = Field(50_000, gt=0)
    """Reach: followers of the distinct organic accounts posting within ``lead_window_hours``."""
    lead_max_share: float = Field(0.5, gt=0, le=1)
    """Guard: no single post (velocity), platform (spread) or account (reach) may carry more than this share of a
    leading signal; one big account's post or one dump on one platform is not a spreading issue."""
    lead_min_sources: int = Field(3, ge=1)
    """Guard: each leading signal needs at least this many distinct organic accounts (velocity: posts) behind it."""

    @model_validator(mode="after")
    def _check(self) -> ViralityParams:
        if self.naik_exit_probability > self.naik_probability:
            raise ValueError("naik_exit_probability must not exceed naik_probability (hysteresis)")
        if self.spike_release > self.spike_threshold:
            raise ValueError("spike_release must not exceed spike_threshold")
        return self

    def detector_settings(self, initial_level: float | None = None) -> DetectorSettings:
        """The detector's knobs in bins."""
        per_hour = 60.0 / self.bin_minutes
        return DetectorSettings(
            bin_minutes=self.bin_minutes,
            level_half_life_bins=self.baseline_half_life_hours * per_hour,
            season_days=self.season_days,
            relative_error=self.relative_error,
            spike_threshold=self.spike_threshold,
            spike_release=self.spike_release,
            release_bins=max(1, round(self.release_minutes / self.bin_minutes)),
            min_excess=self.min_excess,
            min_ratio=self.min_ratio,
            learn_lag_bins=max(1, round(self.baseline_lag_hours * per_hour)),
            cusum_h=self.cusum_threshold,
            bin_cap=self.bin_cap_sd,
            single_bin_weight=self.single_bin_weight,
            growth_weight=self.growth_weight,
            rebase_after_bins=max(1, round(self.rebase_after_hours * per_hour)),
            warmup_bins=round(self.warmup_hours * per_hour),
            prior_strength=self.rhythm_prior,
            rearm_ratio=self.rearm_ratio,
            routine_episodes=self.routine_bursts,
            routine_bins=max(1, round(self.routine_days * 24 * per_hour)),
            routine_rank=self.routine_rank,
            routine_short_bins=max(1, round(self.routine_burst_minutes / self.bin_minutes)),
            novelty_bins=round(self.novelty_days * 24 * per_hour),
            routine_outlast=self.routine_outlast,
            climb_ratio=self.climb_ratio,
            climb_long=self.climb_long,
            climb_z=self.climb_z,
            initial_level=initial_level,
        )

    def calendar(self) -> IndonesianCalendar:
        """The calendar the baseline uses."""
        return IndonesianCalendar(self.extra_holidays, ramadan=self.ramadan_profile)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict on one issue at one time, with the evidence behind it."""

    stage: str
    """"baru" | "naik" | "viral" | "mereda\""""
    score: float
    """0..100 rise score used to rank the board (buzzer-weighted)"""
    spike: bool
    p_viral: float
    eta_minutes: float | None
    mentions: int
    """posts in the viral window (raw count)"""
    authors: int
    engagement: float
    velocity: float
    """engagement gained per hour over the last hour"""
    platforms: int
    news_pickup: int
    """distinct news portals/feeds carrying the issue (news posts)"""
    buzzer_suspected: bool
    buzzer_share: float
    reasons: tuple[str, ...]
    p_calibrated: bool = False
    """``p_viral`` went through the stored calibration (reliability checked); otherwise it is the model's own"""


def score_to_unit(score: float, params: ViralityParams) -> float:
    """Map a detector score to 0..1 (0.5 at the alarm threshold) for reports and NAB."""
    return float(score / (score + params.spike_threshold)) if score > 0 else 0.0


def run_series(
    timestamps: Sequence[datetime], values: np.ndarray, params: ViralityParams, initial_level: float | None = None
) -> DetectorOutput:
    """Run the detector over one or many series (rows of ``values``) sharing ``timestamps``."""
    slots = params.calendar().slots(timestamps)
    return run_detector(np.atleast_2d(values), slots, params.detector_settings(initial_level))


def detect_onsets(
    timestamps: Sequence[datetime], values: Sequence[float], params: ViralityParams | None = None
) -> list[tuple[datetime, float]]:
    """The same streaming detector, used by `detect` and by the topic×kecamatan scan; returns (onset time, score).

    One entry per alarm episode (its first bin), score in 0..1. Rows are read
    as consecutive bins in the order given; naive timestamps are local (WIB) time.
    """
    params = params or ViralityParams()
    if len(timestamps) != len(values):
        raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
    if not timestamps:
        return []
    out = run_series(timestamps, np.asarray(values, dtype=float), params)
    idx = np.nonzero(out.onset[0])[0]
    return [(timestamps[int(i)], score_to_unit(float(out.score[0, i]), params)) for i in idx]


def series_baseline(
    timestamps: Sequence[datetime], values: Sequence[float], params: ViralityParams | None = None
) -> list[float]:
    """Expected value per bin (what the detector compared each bin with), for the dashboard chart."""
    params = params or ViralityParams()
    if not timestamps:
        return []
    out = run_series(timestamps, np.asarray(values, dtype=float), params)
    return [float(v) for v in out.expected[0]]


def scan_series(
    start: datetime, values: np.ndarray, params: ViralityParams | None = None
) -> list[list[tuple[datetime, float]]]:
    """Onsets for many regular series at once (rows of ``values``, bin 0 at ``start``), e.g. topic × kecamatan.

    Returns, per row, the list of (onset time, score 0..1).
    """
    params = params or ViralityParams()
    values = np.atleast_2d(np.asarray(values, dtype=float))
    slots = params.calendar().regular_slots(start, values.shape[1], params.bin_minutes)
    out = run_detector(values, slots, params.detector_settings())
    step = timedelta(minutes=params.bin_minutes)
    result: list[list[tuple[datetime, float]]] = []
    for row in range(values.shape[0]):
        idx = np.nonzero(out.onset[row])[0]
        result.append([(start + step * int(i), score_to_unit(float(out.score[row, i]), params)) for i in idx])
    return result


# --- buzzer-like bursts ---------------------------------------------------------------


def buzzer_flags(seconds: np.ndarray, authors: Sequence[str], params: ViralityParams, now_seconds: float) -> np.ndarray:
    """Which posts (sorted by time, as seconds) look coordinated, among those in the recent window.

    Two patterns, both about accounts rather than text: an account posting
    ``buzzer_repeat_posts`` or more times in the window (its extra posts are
    flagged), and a burst of posts from several accounts within
    ``buzzer_burst_seconds`` far denser than the issue's own recent pace.
    """
    n = len(seconds)
    flags = np.zeros(n, dtype=bool)
    if n == 0:
        return flags
    window = params.buzzer_window_minutes * 60.0
    recent = seconds >= now_seconds - window
    idx = np.nonzero(recent)[0]
    if idx.size < params.buzzer_min_posts:
        return flags
    seen: Counter[str] = Counter()
    counts = Counter(authors[i] for i in idx.tolist())
    for i in idx.tolist():
        a = authors[i]
        seen[a] += 1
        if counts[a] >= params.buzzer_repeat_posts and seen[a] > 1:
            flags[i] = True
    # Bursts: posts whose burst-window neighbourhood holds far more than the window's average pace.
    burst = float(params.buzzer_burst_seconds)
    ts = seconds[idx]
    pace = idx.size * burst / window
    lo = np.searchsorted(ts, ts - burst / 2, side="left")
    hi = np.searchsorted(ts, ts + burst / 2, side="right")
    dense = (hi - lo) >= max(5.0, 6.0 * pace)
    for k in np.nonzero(dense)[0]:
        group = {authors[int(idx[j])] for j in range(int(lo[k]), int(hi[k]))}
        if len(group) >= 3:
            flags[idx[k]] = True
    return flags


# --- assessment -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leading:
    """Leading evidence beside the mention counts, from organic posts only (buzzer-like posts are left out).

    Engagement velocity, spread across platforms and the reach of the posting accounts move before the counts
    do: a complaint shared by many people, on several platforms, by accounts that are followed. Each comes with
    its guard figures, so one big account's post or one dump on one platform cannot pass for a spreading issue.
    """

    velocity: float
    """shares + replies gained per minute over the last ``lead_velocity_minutes`` (tracking readings)"""
    velocity_posts: int
    """posts whose shares + replies grew in that time"""
    velocity_top: float
    """share of that growth from the fastest post"""
    platforms: int
    """platforms with posts within ``lead_window_hours``"""
    accounts: int
    """distinct accounts posting within ``lead_window_hours``"""
    reach: float
    """their followers (accounts whose followers are known)"""
    reach_accounts: int
    reach_top: float
    """share of the reach from the most followed account"""


LEAD_NAMES = ("velocity", "spread", "reach")


def read_leading(
    events: Sequence[PostEvent],
    organic: np.ndarray,
    readings: Sequence[EngagementReading],
    now: datetime,
    params: ViralityParams,
) -> Leading:
    """Velocity, platforms and reach at ``now`` from the posts marked ``organic`` (a bool per event).

    A post's velocity is its shares + replies at ``now`` less those at the start of the velocity window; a post
    first read inside the window counts from 0 only if it was published inside it (an old post found late would
    otherwise bring all its past shares at once).
    """
    now_s = to_utc(now).timestamp()
    win_start = now_s - params.lead_window_hours * 3600.0
    vel_start = now_s - params.lead_velocity_minutes * 60.0
    by_key: dict[str, float] = {}
    for e, ok in zip(events, organic, strict=True):
        if ok and e.key and to_utc(e.at).timestamp() <= now_s:
            by_key[e.key] = to_utc(e.at).timestamp()
    # Per post: the last reading at or before `now`, and the last one at or before the window's start.
    latest: dict[str, tuple[float, float]] = {}
    before: dict[str, tuple[float, float]] = {}
    for r in readings:
        at = to_utc(r.at).timestamp()
        if r.post_key not in by_key or at > now_s:
            continue
        # Whole seconds at the window's start: a replay stores a reading a millisecond after its pass
        # (monitor.reports.backtest.READING_AFTER), and that must not move it out of "before the window".
        for book, inside in ((latest, True), (before, math.floor(at) <= vel_start)):
            prev = book.get(r.post_key)
            if inside and (prev is None or at >= prev[0]):
                book[r.post_key] = (at, r.spread)
    gains: list[float] = []
    for key, (_, spread_now) in latest.items():
        if key in before:
            start = before[key][1]
        elif by_key[key] > vel_start:
            start = 0.0
        else:
            continue
        if spread_now > start:
            gains.append(spread_now - start)
    gained = float(sum(gains))
    recent = [e for e, ok in zip(events, organic, strict=True) if ok and win_start < to_utc(e.at).timestamp() <= now_s]
    followers: dict[str, float] = {}
    for e in recent:
        if e.reach > 0:
            followers[e.author] = max(followers.get(e.author, 0.0), e.reach)
    reach = float(sum(followers.values()))
    return Leading(
        velocity=gained / params.lead_velocity_minutes,
        velocity_posts=len(gains),
        velocity_top=max(gains) / gained if gained > 0 else 0.0,
        platforms=len({e.platform for e in recent}),
        accounts=len({e.author for e in recent}),
        reach=reach,
        reach_accounts=len(followers),
        reach_top=max(followers.values()) / reach if reach > 0 else 0.0,
    )


def leading_verdict(lead: Leading, params: ViralityParams) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which leading signals count (:data:`LEAD_NAMES`), and which reached their level but were stopped by a guard."""
    passed: list[str] = []
    guarded: list[str] = []
    checks = (
        (
            "velocity",
            lead.velocity >= params.lead_velocity_per_minute,
            lead.velocity_posts >= params.lead_min_sources and lead.velocity_top <= params.lead_max_share,
        ),
        ("spread", lead.platforms >= params.lead_platforms, lead.accounts >= params.lead_min_sources),
        (
            "reach",
            lead.reach >= params.lead_reach,
            lead.reach_accounts >= params.lead_min_sources and lead.reach_top <= params.lead_max_share,
        ),
    )
    for name, level, guard in checks:
        if level:
            (passed if guard else guarded).append(name)
    return tuple(passed), tuple(guarded)


@dataclass(frozen=True, slots=True)
class Signals:
    """Step 1 of :func:`assess`: what the issue's posts and engagement readings say at ``now``, before any judgement."""

    now: datetime
    mentions: int
    """posts in the viral window (raw count)"""
    eff_mentions: float
    """the same, buzzer-like posts weighted ``buzzer_weight``"""
    authors: int
    platforms: int
    news_pickup: int
    engagement: float
    eff_engagement: float
    velocity: float
    """engagement gained over the last hour"""
    buzzer_share: float
    buzzer_suspected: bool
    series: np.ndarray
    """weighted posts per bin, the last bin ending at ``now``"""
    series_start: datetime
    window_times: np.ndarray
    """seconds of the posts in the viral window, and their weights"""
    window_weights: np.ndarray
    lead: Leading


@dataclass(frozen=True, slots=True)
class Evidence:
    """Step 2: the spike detector's verdict on the weighted series and the growth forecast."""

    spike: bool
    z_now: float
    fresh_surge: bool
    """an alarm onset within the last hour"""
    expected_hour: float
    rate_hour: float
    growth: float
    """fitted growth per hour (before shrinkage)"""
    forecast: Forecast


@dataclass(frozen=True, slots=True)
class Outlook:
    """Step 3: the forecast as the stage reads it (small issues get no probability)."""

    small: bool
    p_viral: float
    eta_minutes: float | None
    growing: bool


def _engagement_at(readings: Sequence[EngagementReading], when: datetime) -> float:
    """Total engagement known at ``when``: per post, the last reading at or before it."""
    latest: dict[str, tuple[datetime, float]] = {}
    for r in readings:
        if r.at <= when:
            prev = latest.get(r.post_key)
            if prev is None or r.at >= prev[0]:
                latest[r.post_key] = (r.at, r.engagement)
    return sum(v for _, v in latest.values())


def _fmt_minutes(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} menit"
    return f"{minutes / 60:.1f} jam".replace(".", ",")


def gather_signals(
    events: Sequence[PostEvent], readings: Sequence[EngagementReading], now: datetime, params: ViralityParams
) -> Signals | None:
    """Counts, accounts, platforms, engagement and the buzzer-weighted mention series at ``now``; None without posts.

    Posts after ``now`` are ignored; the order of ``events`` does not matter.
    """
    now = to_utc(now)
    evs = sorted((e for e in events if to_utc(e.at) <= now), key=lambda e: to_utc(e.at))
    if not evs:
        return None
    bin_s = params.bin_minutes * 60.0
    now_s = now.timestamp()
    secs = np.array([to_utc(e.at).timestamp() for e in evs])
    flags = buzzer_flags(secs, [e.author for e in evs], params, now_s)
    weights = np.where(flags, params.buzzer_weight, 1.0)

    win_s = params.viral_window_hours * 3600.0
    in_win = secs > now_s - win_s
    engagement = float(sum(max(e.engagement, 0.0) for e in evs))
    if readings:
        engagement = max(engagement, _engagement_at(readings, now))
        velocity = max(engagement - _engagement_at(readings, now - timedelta(hours=1)), 0.0)
    else:
        velocity = float(sum(max(e.engagement, 0.0) for e in evs if to_utc(e.at).timestamp() > now_s - 3600))
    recent_w = secs >= now_s - params.buzzer_window_minutes * 60.0
    buzzer_share = float(flags[recent_w].sum() / max(recent_w.sum(), 1))
    buzzer_suspected = bool(
        flags.sum() >= max(3, params.buzzer_min_posts // 2) and buzzer_share >= params.buzzer_share_threshold
    )

    # The weighted mention series, bin-aligned so its last bin ends at `now`.
    start_s = max(secs[0], now_s - params.lookback_hours * 3600.0)
    n_bins = max(1, math.ceil((now_s - start_s) / bin_s))
    first_bin_s = now_s - n_bins * bin_s
    keep = secs > first_bin_s
    pos = np.minimum(((secs[keep] - first_bin_s) // bin_s).astype(int), n_bins - 1)
    series = np.bincount(pos, weights=weights[keep], minlength=n_bins)
    return Signals(
        now=now,
        mentions=int(in_win.sum()),
        eff_mentions=float(weights[in_win].sum()),
        authors=len({e.author for e in evs}),
        platforms=len({e.platform for e in evs}),
        news_pickup=sum(1 for e in evs if e.is_news),
        engagement=engagement,
        eff_engagement=engagement * (1.0 - buzzer_share * (1.0 - params.buzzer_weight)),
        velocity=velocity,
        buzzer_share=buzzer_share,
        buzzer_suspected=buzzer_suspected,
        series=series,
        series_start=datetime.fromtimestamp(first_bin_s, tz=now.tzinfo),
        window_times=secs[in_win],
        window_weights=weights[in_win],
        lead=read_leading(evs, ~flags, readings, now, params),
    )


def growth_forecast(sig: Signals, params: ViralityParams) -> tuple[GrowthFit, Forecast]:
    """Fit the last 12 hours' growth in quarter hours and project it: P(viral within ``horizon_hours``) and ETA."""
    series = sig.series
    n_bins = len(series)
    per_15 = max(1, round(15 / params.bin_minutes))
    k = min(n_bins, round(12 * 60 / params.bin_minutes))
    tail = series[-k:]
    cut = len(tail) - (len(tail) // per_15) * per_15
    coarse = tail[cut:].reshape(-1, per_15).sum(axis=1) if len(tail) >= per_15 else tail
    fit = fit_growth(coarse, per_15 * params.bin_minutes / 60.0, params.growth_half_life_hours)
    tau = np.arange(1, int(params.horizon_hours * 4) + 1) * 0.25
    now_s = sig.now.timestamp()
    leave_at = (sig.window_times + params.viral_window_hours * 3600.0 - now_s) / 3600.0
    order = np.argsort(leave_at)
    cum = np.concatenate(([0.0], np.cumsum(sig.window_weights[order])))
    leaving = cum[np.searchsorted(leave_at[order], tau, side="right")]
    fc = forecast(
        fit,
        window_now=sig.eff_mentions,
        leaving=leaving,
        tau=tau,
        viral_count=float(params.viral_mentions),
        engagement_now=sig.eff_engagement,
        engagement_rate=sig.velocity * (1.0 - sig.buzzer_share * (1.0 - params.buzzer_weight)),
        viral_engagement=params.viral_engagement,
        damping_hours=params.damping_hours,
        prior_growth_sd=params.prior_growth_sd,
    )
    return fit, fc


def weigh_evidence(
    sig: Signals, params: ViralityParams, memo: DetectorMemo | None = None, key: Hashable = None
) -> Evidence:
    """Run the spike detector over the issue's series (from the new-issue prior) and fit and project its growth.

    With a ``memo``, the detector resumes from where it stopped on the series under ``key`` (the issue) when
    only bins at the end are new: the same answers for a fraction of the work.
    """
    series = sig.series
    n_bins = len(series)
    slots = params.calendar().regular_slots(sig.series_start, n_bins, params.bin_minutes)
    prior = params.issue_prior_per_hour * params.bin_minutes / 60.0
    settings = params.detector_settings(initial_level=prior)
    hour_bins = max(1, round(60 / params.bin_minutes))
    if memo is None:
        det = run_detector(series[None, :], slots, settings)
    else:
        # The last bins may still move: buzzer weights change while posts are in the buzzer window, and a post
        # can be collected an hour after it was written. A checkpoint is kept before them.
        settling = math.ceil(params.buzzer_window_minutes / params.bin_minutes) + hour_bins
        det = memo.run(key, series, slots, settings, tail=hour_bins, settling=settling)

    fit, fc = growth_forecast(sig, params)
    return Evidence(
        spike=bool(det.alarm[0, -1]),
        z_now=float(det.score[0, -1]),
        fresh_surge=bool(det.onset[0, -hour_bins:].any()),
        expected_hour=float(det.expected[0, -hour_bins:].sum()),
        rate_hour=float(series[-hour_bins:].sum()),
        growth=fit.growth,
        forecast=fc,
    )


def small_issue(sig: Signals, params: ViralityParams) -> bool:
    """A handful of posts or accounts: never ``naik``, no probability."""
    return (
        sig.mentions < params.naik_min_posts
        or sig.authors < params.naik_min_authors
        or sig.eff_mentions < params.naik_min_posts
    )


def read_outlook(sig: Signals, ev: Evidence, params: ViralityParams) -> Outlook:
    """The forecast as shown and as the stage reads it: an issue of a handful of posts or accounts gets 0."""
    fc = ev.forecast
    small = small_issue(sig, params)
    p_viral = 0.0 if small and fc.p_viral < 1.0 else fc.p_viral
    eta = fc.eta_minutes if p_viral >= params.naik_exit_probability else None
    # `naik` means rising: a likely-viral forecast counts only when growth is confidently positive,
    # so a steady trickle at half the viral pace is not announced as a rising issue.
    growing = fc.growth_mean >= params.naik_growth_z * fc.growth_sd
    return Outlook(small=small, p_viral=p_viral, eta_minutes=eta, growing=growing)


def leading_rise(sig: Signals, ev: Evidence, params: ViralityParams) -> bool:
    """``lead_signals`` leading signals agree while the mentions grow and no buzzer burst is suspected.

    The mentions must be growing (fitted growth above zero and the last hour above its baseline): engagement on
    an old post, or a quiet issue that happens to sit on three platforms, is not a rising issue.
    """
    if params.lead_signals <= 0 or sig.buzzer_suspected:
        return False
    passed, _ = leading_verdict(sig.lead, params)
    return len(passed) >= params.lead_signals and ev.growth > 0.0 and ev.rate_hour > ev.expected_hour


def decide_stage(sig: Signals, ev: Evidence, out: Outlook, params: ViralityParams, previous_stage: str) -> str:
    """The stage at ``now`` given the stage before, with hysteresis (see the README for the transitions)."""
    series = sig.series
    n_bins = len(series)
    hour_bins = max(1, round(60 / params.bin_minutes))
    viral_now = sig.eff_mentions >= params.viral_mentions or sig.eff_engagement >= params.viral_engagement
    hourly = np.add.reduceat(series, np.arange(0, n_bins, hour_bins)) if n_bins else series
    peak = float(hourly.max()) if hourly.size else 0.0
    last3 = float(series[-3 * hour_bins :].sum()) / 3.0
    # Cooling is about the rate only: the detector's episode may stay open through a long decay.
    cooling = peak > 0 and last3 < params.mereda_fraction * peak
    small = out.small
    early = leading_rise(sig, ev, params)
    rising = not small and (ev.spike or (out.p_viral >= params.naik_probability and out.growing) or early)
    holding = not small and (ev.spike or out.p_viral >= params.naik_exit_probability or early)
    prev = previous_stage
    if prev == "viral":
        return "mereda" if cooling else "viral"
    if prev == "mereda":
        # A cooled issue stays over the 24-hour count for a while; only a new surge revives it.
        return ("viral" if viral_now else "naik") if ev.fresh_surge and not small else "mereda"
    if viral_now:
        return "viral"
    if prev == "naik":
        return "naik" if holding else "mereda"
    return "naik" if rising else "baru"


def rise_score(sig: Signals, ev: Evidence, out: Outlook, stage: str, params: ViralityParams) -> float:
    """0..100 board rank: forecast, spike strength and progress to the viral level, buzzer-weighted."""
    spike_part = min(1.0, ev.z_now / (2.0 * params.spike_threshold))
    progress = min(1.0, sig.eff_mentions / params.viral_mentions)
    score = 100.0 * (0.55 * out.p_viral + 0.25 * spike_part + 0.20 * progress)
    if stage == "viral":
        score = max(score, 80.0)
    elif stage == "mereda":
        score *= 0.5  # cooling issues sink on the board
    score *= 1.0 - 0.5 * sig.buzzer_share
    return float(min(100.0, max(0.0, score)))


def calibrated_probability(
    out: Outlook, stage: str, calibration: Calibration | None, params: ViralityParams
) -> float | None:
    """P(viral within ``horizon_hours``) as an observed frequency, or None when no matching calibration is loaded.

    An issue at the viral level keeps 1.0 (the board reads it as "sudah viral").
    """
    if calibration is None or not calibration.matches(params):
        return None
    if stage == "viral" or out.p_viral >= 1.0:
        return 1.0
    return calibration.apply(out.p_viral)


def _thousands(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def lead_reasons(sig: Signals, ev: Evidence, params: ViralityParams) -> list[str]:
    """One sentence per leading signal that counts or that a guard stopped, and whether they raised the stage."""
    if params.lead_signals <= 0:
        return []
    lead = sig.lead
    hours = f"{params.lead_window_hours:g} jam terakhir"
    passed, guarded = leading_verdict(lead, params)
    said = {
        "velocity": (
            f"keterlibatan melaju: {lead.velocity:.1f} bagikan/balasan per menit dalam "
            f"{params.lead_velocity_minutes:g} menit terakhir dari {lead.velocity_posts} unggahan"
        ).replace(".", ",", 1),
        "spread": f"menyebar di {lead.platforms} platform dalam {hours} ({lead.accounts} akun)",
        "reach": (
            f"jangkauan {_thousands(lead.reach)} pengikut dari {lead.reach_accounts} akun yang mengunggah dalam {hours}"
        ),
    }
    stopped = {
        "velocity": (
            f"keterlibatan {lead.velocity:.1f} bagikan/balasan per menit tidak dihitung sebagai tanda awal: "
            f"{100 * lead.velocity_top:.0f}% dari satu unggahan ({lead.velocity_posts} unggahan bertambah)"
        ).replace(".", ",", 1),
        "spread": (
            f"{lead.platforms} platform tidak dihitung sebagai tanda awal: hanya {lead.accounts} akun dalam {hours}"
        ),
        "reach": (
            f"jangkauan {_thousands(lead.reach)} pengikut tidak dihitung sebagai tanda awal: "
            f"{100 * lead.reach_top:.0f}% dari satu akun ({lead.reach_accounts} akun)"
        ),
    }
    reasons = [said[name] for name in passed] + [stopped[name] for name in guarded]
    if passed and sig.buzzer_suspected:
        reasons.append("tanda awal tidak dihitung: diduga ada akun terkoordinasi (buzzer)")
    elif leading_rise(sig, ev, params):
        reasons.append(f"tanda awal: {len(passed)} dari 3 (keterlibatan, sebaran platform, jangkauan) menguat")
    return reasons


def explain(
    sig: Signals,
    ev: Evidence,
    out: Outlook,
    stage: str,
    eta: float | None,
    params: ViralityParams,
    p_shown: float | None = None,
) -> tuple[str, ...]:
    """The reasons shown with the stage (Bahasa Indonesia)."""
    reasons: list[str] = []
    ratio = ev.rate_hour / ev.expected_hour if ev.expected_hour > 0 else 0.0
    laju = f"laju {ev.rate_hour:.0f} unggahan/jam"
    if ratio >= 1.5:
        laju += f", {ratio:.0f}x di atas garis dasar".replace(".", ",")
    reasons.append(laju)
    if ev.spike:
        reasons.append("lonjakan terdeteksi")
    if ev.growth > 0.05 and not out.small:
        reasons.append(f"tumbuh {100 * (math.exp(ev.growth) - 1):.0f}% per jam")
    reasons.append(
        f"{sig.mentions} unggahan dari {sig.authors} akun di {sig.platforms} platform dalam "
        f"{params.viral_window_hours:g} jam"
    )
    if sig.news_pickup:
        reasons.append(f"diberitakan {sig.news_pickup} kali oleh portal berita")
    if sig.engagement > 0:
        reasons.append(f"keterlibatan {sig.engagement:,.0f} (+{sig.velocity:,.0f}/jam)".replace(",", "."))
    reasons.extend(lead_reasons(sig, ev, params))
    if stage == "viral":
        reasons.append(
            f"sudah melewati ambang viral ({params.viral_mentions} unggahan/"
            f"{params.viral_window_hours:g} jam atau keterlibatan {params.viral_engagement:,.0f})".replace(",", ".")
        )
    elif not out.small:
        if p_shown is None:
            chance = f"peluang viral {100 * out.p_viral:.0f}% dalam {params.horizon_hours:g} jam"
        else:
            chance = f"peluang viral {100 * p_shown:.0f}% dalam {params.horizon_hours:g} jam (terkalibrasi)"
        if eta is not None:
            chance += f", perkiraan {_fmt_minutes(eta)} lagi"
        reasons.append(chance)
    else:
        reasons.append("masih sedikit unggahan/akun")
    if stage == "mereda":
        reasons.append("laju menurun")
    if sig.buzzer_suspected:
        reasons.append(
            f"diduga digerakkan akun terkoordinasi (buzzer): {100 * sig.buzzer_share:.0f}% unggahan terbaru, "
            "bobotnya diturunkan"
        )
    return tuple(reasons)


def assess(
    events: Sequence[PostEvent],
    readings: Sequence[EngagementReading],
    now: datetime,
    params: ViralityParams,
    previous_stage: str | None = None,
    calibration: Calibration | None = None,
    memo: DetectorMemo | None = None,
    key: Hashable = None,
) -> Assessment:
    """Signals, spike test, forecast and stage of one issue at ``now`` (posts after ``now`` are ignored).

    The steps, each a pure function: :func:`gather_signals` → :func:`weigh_evidence` (detector and
    growth forecast) → :func:`read_outlook` → :func:`decide_stage` → :func:`rise_score` and :func:`explain`.
    With a ``calibration`` fitted for these parameters, ``p_viral`` is the calibrated probability
    (:func:`calibrated_probability`); the stage and the score still read the model's own, so the
    calibration never moves a stage or an alert. ``memo`` and ``key`` (the issue) spare the detector the bins it
    has already run (:class:`~classifiers.spike.DetectorMemo`); the answer is the same without them.
    """
    prev = previous_stage if previous_stage in STAGES else "baru"
    sig = gather_signals(events, readings, now, params)
    if sig is None:
        return Assessment(
            prev if prev != "naik" else "mereda",
            0.0,
            False,
            0.0,
            None,
            0,
            0,
            0.0,
            0.0,
            0,
            0,
            False,
            0.0,
            ("belum ada unggahan",),
        )
    ev = weigh_evidence(sig, params, memo, key)
    out = read_outlook(sig, ev, params)
    stage = decide_stage(sig, ev, out, params, prev)
    eta = None if stage == "viral" else out.eta_minutes
    score = rise_score(sig, ev, out, stage, params)
    p_cal = calibrated_probability(out, stage, calibration, params)
    return Assessment(
        stage=stage,
        score=round(score, 1),
        spike=ev.spike,
        p_viral=round(float(out.p_viral if p_cal is None else p_cal), 4),
        eta_minutes=None if eta is None else round(eta, 1),
        mentions=sig.mentions,
        authors=sig.authors,
        engagement=round(sig.engagement, 1),
        velocity=round(sig.velocity, 1),
        platforms=sig.platforms,
        news_pickup=sig.news_pickup,
        buzzer_suspected=sig.buzzer_suspected,
        buzzer_share=round(sig.buzzer_share, 3),
        reasons=explain(sig, ev, out, stage, eta, params, p_cal),
        p_calibrated=p_cal is not None,
    )


__all__ = [
    "ESCALATION",
    "LEAD_NAMES",
    "STAGES",
    "Assessment",
    "EngagementReading",
    "Evidence",
    "Leading",
    "Outlook",
    "PostEvent",
    "Signals",
    "Stage",
    "ViralityParams",
    "assess",
    "buzzer_flags",
    "calibrated_probability",
    "decide_stage",
    "detect_onsets",
    "explain",
    "gather_signals",
    "growth_forecast",
    "lead_reasons",
    "leading_rise",
    "leading_verdict",
    "read_leading",
    "read_outlook",
    "rise_score",
    "scan_series",
    "series_baseline",
    "small_issue",
    "to_local",
    "weigh_evidence",
]
