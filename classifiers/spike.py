"""Streaming spike detector for count series: one implementation for every caller.

The per-issue assessment, the topic × kecamatan scan, ``oki-monitor detect``
and the evaluations all run :func:`run_detector`. It is causal: the output at
bin t depends only on bins up to t, so re-running it on a growing series gives
the same past answers as running it live.

Model, per series:

* expected count = level × seasonal factor of the slot (day type × WIB hour,
  see :mod:`classifiers.calendar_id`). The level is an exponentially weighted
  mean of de-seasonalised counts; slot factors start from the Indonesian prior
  and are learned only as fast as the counts can show a rhythm.
* surprise in windows of 1 bin, a quarter hour and an hour: the Anscombe
  (square-root) difference between observed and expected sums, so 0-2 posts a
  day never look like an explosion, divided by a per-window spread learned from
  the series' own quiet-time residuals (over-dispersion and autocorrelation
  differ a lot between a village's complaints and a national hashtag), plus a
  relative baseline error so a large, noisy series needs a relative jump.
* an absolute floor: the last hour must exceed its expectation by
  ``min_excess`` posts, so one extra post never alerts.
* lonjakan sesaat (sudden burst): a lone bin is capped in the window sums, so
  it is not growth; but a bin ``burst_ratio`` times its expectation, at least
  ``burst_min`` posts above it and ``burst_z`` deviations beyond what the
  calibrated spread allows (a big account's post picked up within minutes)
  starts an episode by itself. Repeats of it are learned as routine bursts.
* growth: consecutive rising hours add to the score, so an accelerating climb
  alerts earlier than a plateau of the same height.
* multi-horizon climb: the hour's ratio lags a climb by half an hour or more, so
  a last half hour ``climb_ratio`` times its normal also passes the size gate
  when the ratio does not fall from half hour to hour to two hours and the two
  hours are ``climb_long`` times up (capped counts: a dump cannot make it); it
  alarms at ``climb_z``, the larger normal score of the half hour and two hours.
* episodes with hysteresis: the alarm starts at ``spike_threshold`` and ends
  after ``release_bins`` bins below ``spike_release``; one onset per episode.
  During an episode the baseline is frozen so a rising issue is not absorbed
  into its own baseline; an excess whose raw hourly counts stay flat for six
  hours, once the episode is ``rebase_after_bins`` old, is a new normal: the
  level jumps to it and the episode closes (a fading viral tail is not flat).
* a second wave: once an open episode has stopped climbing, a fresh climb to
  ``rearm_ratio`` times its floor is a new onset, not hidden by the open alarm.
* routine bursts: a series that keeps producing short bursts (a spam account,
  one link forwarded around) learns their size; a surge not clearly bigger
  than those (``routine_margin``, ~10 %) opens a silent episode, and alerts
  only if it outlasts them: by ``routine_outlast`` (a quarter) while its last
  hour is half again the hour before, or for ``routine_short_bins`` anyway.
* novelty bar: in a busy series (that many short bursts within
  ``novelty_bins``) a surge alerts only once its largest bin or hourly count
  beats every day of that period; otherwise it stays silent as above.

The loop is compiled with numba for large workloads when numba is installed
(about 50 ns per point); small ones, and everything without numba, run the same
code as plain Python (about 100 times slower, and 115 MB lighter).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from classifiers.calendar_id import SLOTS, rhythm_prior

ACCELERATE_MIN_POINTS = 250_000
"""Workloads at least this big (series × bins) run compiled; smaller ones run as plain Python.

Importing and compiling numba costs the process about 115 MB of resident memory for good. The
service's own workloads (one issue's few hundred bins, the 18 kecamatan × 16 topics hourly scan,
~100,000 points in about a second) do not need it, so the service stays lean; the regency-scale
scan, ``detect`` on long files and the evaluations compile once and run ~100× faster."""

_KERNELS = ("_upper_z", "_surprise", "_run")
_N_MEM = 16
"""Remembered short bursts per series: a week of a spam account posting twice a day."""
_STATE_SCALARS = 20
"""Scalars at the head of a series' saved state; its arrays follow (see :func:`_state_size`)."""
_accelerated = False


def _accelerate() -> bool:
    """Swap the kernels for numba-compiled versions (once); False when numba is not installed.

    Callees first: numba resolves the kernels' calls to each other through this module's globals
    when it compiles, so they must already be compiled functions by then.
    """
    global _accelerated
    if _accelerated:
        return True
    try:
        from numba import njit
    except ImportError:  # numba is an accelerator, not a requirement
        return False
    namespace = globals()
    for name in _KERNELS:
        namespace[name] = njit(cache=True, nogil=True)(namespace[name])
    _accelerated = True
    return True


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """The numeric knobs of the detector, in bins and counts (built from ``ViralityParams``)."""

    bin_minutes: int = 5
    level_half_life_bins: float = 288.0
    season_days: float = 7.0
    relative_error: float = 0.15
    spike_threshold: float = 4.0
    spike_release: float = 1.5
    release_bins: int = 6
    min_excess: float = 4.0
    min_ratio: float = 3.0
    cusum_h: float = 8.0
    bin_cap: float = 4.0
    single_bin_weight: float = 0.0
    quarter_gate: bool = True
    learn_lag_bins: int = 1
    growth_weight: float = 0.5
    rebase_after_bins: int = 144
    warmup_bins: int = 288
    prior_strength: float = 1.0
    rearm_ratio: float = 0.0
    """A second climb to this multiple of an open episode's floor is a new onset (0: off)."""
    routine_episodes: int = 0
    """After this many short bursts within ``routine_bins``, a surge must outgrow their peaks to alert (0: off)."""
    routine_bins: int = 2016
    routine_rank: int = 2
    """Outgrow the peak of the ``routine_rank``-th largest remembered burst (1: the largest)."""
    routine_short_bins: int = 24
    """An episode whose last quarter hour was hot for fewer bins than this is a short burst."""
    routine_margin: float = 0.1
    """A surge must outgrow the routine peak by this much (hourly log ratio) to count as bigger."""
    burst_ratio: float = 8.0
    """Lonjakan sesaat: one bin at least this many times its expectation starts an episode by itself (0: off) ..."""
    burst_z: float = 10.0
    """... if it is also this improbable under the series' calibrated, over-dispersed model (normal score) ..."""
    burst_min: float = 20.0
    """... and at least this many posts above its expectation."""
    novelty_bins: int = 0
    """Busy series: after ``routine_episodes`` short bursts within this many bins (whole days), a surge alerts only once
    its largest bin or hourly count is at least the largest of any day in this period (0: off)."""
    routine_outlast: float = 0.0
    """A silent surge (routine or below the novelty bar) also alerts once hot this many times as long as the longest
    remembered short burst, if its last hour is half again the hour before (never later than ``routine_short_bins``;
    0: only after ``routine_short_bins``)."""
    climb_ratio: float = 0.0
    """Multi-horizon climb: the last half hour at least this many times its normal opens the size gate (0: off) ..."""
    climb_long: float = 3.0
    """... if the ratio does not fall from the half hour to the hour to two hours, the two hours this far up ..."""
    climb_z: float = 4.0
    """... and the score reaches the alarm threshold at this normal score of the half hour or two hours."""
    initial_level: float | None = None
    """Per-bin starting level; None learns it during ``warmup_bins`` (no alerts meanwhile)."""

    @property
    def hour_bins(self) -> int:
        """Bins per hour (at least one)."""
        return max(1, round(60 / self.bin_minutes))


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    """Per-bin results for ``n`` series × ``T`` bins."""

    expected: np.ndarray
    score: np.ndarray
    alarm: np.ndarray
    onset: np.ndarray


def _upper_z(p: float) -> float:
    """Normal quantile of an upper-tail probability (Abramowitz & Stegun 26.2.23, error < 5e-4)."""
    if p >= 0.5:
        return 0.0
    t = math.sqrt(-2.0 * math.log(max(p, 1e-300)))
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3)


def _surprise(x: float, m: float, phi: float) -> float:
    """How unusual ``x`` is for an expected ``m`` with variance ``phi``·m, as a standard-normal score.

    Counts are rescaled by ``phi`` (quasi-Poisson), then the exact Poisson upper tail
    P(N ≥ x) = P(a, μ) (regularised lower incomplete gamma) is used while counts are
    small, where the normal approximation badly understates how rare 6 posts are
    when 0.3 were expected; large counts use the Anscombe square-root deviate.
    """
    k = x / phi
    mu = max(m / phi, 1e-6)
    if k <= mu or k > 60.0:
        return 2.0 * (math.sqrt(k + 0.375) - math.sqrt(mu + 0.375))
    # Series for P(k, mu): mu^k e^-mu / Gamma(k+1) * sum mu^n / ((k+1)...(k+n)).
    term = 1.0
    total = 1.0
    for n in range(1, 400):
        term *= mu / (k + n)
        total += term
        if term < 1e-12 * total:
            break
    log_p = k * math.log(mu) - mu - math.lgamma(k + 1.0) + math.log(total)
    return _upper_z(math.exp(log_p))


def _run(
    values: np.ndarray,
    slots: np.ndarray,
    prior: np.ndarray,
    knobs: np.ndarray,
    expected_out: np.ndarray,
    score_out: np.ndarray,
    alarm_out: np.ndarray,
    onset_out: np.ndarray,
    state: np.ndarray,
    resume: bool,
    t0: int,
) -> None:
    n, t_len = values.shape
    h = int(knobs[0])
    alpha = knobs[1]
    beta = knobs[2]
    rel = knobs[3]
    on_thr = knobs[4]
    off_thr = knobs[5]
    release = int(knobs[6])
    min_excess = knobs[7]
    growth_w = knobs[8]
    rebase_after = int(knobs[9])
    warmup = int(knobs[10])
    init_level = knobs[11]
    min_ratio = knobs[12]
    cusum_h = knobs[13]
    bin_cap = knobs[14]
    single_w = knobs[15]
    quarter_gate = knobs[16] > 0.5
    lag = max(1, int(knobs[17]))
    rearm_ratio = knobs[18]
    routine_n = int(knobs[19])
    routine_bins = knobs[20]
    routine_rank = max(1, int(knobs[21]))
    short_bins = int(knobs[22])
    burst_ratio = knobs[23]
    burst_z = knobs[24]
    burst_min = knobs[25]
    routine_margin = knobs[26]
    day_bins = 24 * int(knobs[0])
    nov_days = int(knobs[27]) // day_bins
    outlast = knobs[28]
    climb_ratio = knobs[29]
    climb_long = knobs[30]
    climb_z = knobs[31]
    keep_bins = max(routine_bins, nov_days * day_bins)
    n_mem = _N_MEM
    log_ratio = math.log(max(min_ratio, 1.0001))
    q = max(1, h // 4)
    n_slots = prior.shape[0]
    ring = h + 1
    ring2 = 2 * h  # the climb's horizons reach back two hours: capped counts and expectations
    n_days = max(nov_days, 1)
    for i in range(n):
        season = prior.copy()
        known = not math.isnan(init_level)
        level = init_level if known else 0.0
        seen = warmup if known else 0
        xs = np.zeros(ring)
        raw = np.zeros(ring)
        xs2 = np.zeros(ring2)
        ms2 = np.zeros(ring2)
        pos2 = 0
        delay = np.full(lag, math.nan)
        dpos = 0
        ms = np.zeros(ring)
        cal = np.ones(3)
        pos = 0
        in_alarm = False
        quiet = 0
        age = 0
        rising = 0.0
        last_hour = 0.0
        hours = np.zeros(6)  # raw hourly sums of the last six hours: is an open excess flat?
        cusum = 0.0
        rhs = np.zeros(ring)  # raw hourly sum at each of the last h+1 bins: this hour against the one before
        floor = math.inf
        silent = False
        ep_max = 0.0  # the open episode's peak hourly log ratio
        ep_hot = 0  # bins of the open episode whose last quarter hour was min_ratio times above normal
        mem_t = np.full(n_mem, -1.0)
        mem_peak = np.zeros(n_mem)
        mem_hot = np.zeros(n_mem)  # ... and the longest their last quarter hour stayed hot (leaky, see hot_run)
        ep_run = 0.0  # the open episode's longest hot run
        mem_pos = 0
        hot_run = 0  # bins whose last quarter hour was min_ratio times above normal, less those since that were not
        day_bin = np.zeros(n_days)  # per day of the novelty period: largest raw bin ...
        day_hour = np.zeros(n_days)  # ... and largest raw hourly sum (outside the open episode)
        ep_bin = 0.0  # the open episode's largest raw bin and hourly sum so far
        ep_hour = 0.0
        st = state[i]
        if resume:
            # Where an earlier run over this series' first t0 bins stopped (layout: see _state_size).
            level = st[0]
            seen = int(st[1])
            pos = int(st[2])
            pos2 = int(st[3])
            dpos = int(st[4])
            in_alarm = st[5] > 0.5
            quiet = int(st[6])
            age = int(st[7])
            rising = st[8]
            last_hour = st[9]
            cusum = st[10]
            floor = st[11]
            silent = st[12] > 0.5
            ep_max = st[13]
            ep_hot = int(st[14])
            ep_run = st[15]
            mem_pos = int(st[16])
            hot_run = int(st[17])
            ep_bin = st[18]
            ep_hour = st[19]
            o = _STATE_SCALARS
            season[:] = st[o : o + n_slots]
            o += n_slots
            xs[:] = st[o : o + ring]
            o += ring
            raw[:] = st[o : o + ring]
            o += ring
            ms[:] = st[o : o + ring]
            o += ring
            rhs[:] = st[o : o + ring]
            o += ring
            xs2[:] = st[o : o + ring2]
            o += ring2
            ms2[:] = st[o : o + ring2]
            o += ring2
            delay[:] = st[o : o + lag]
            o += lag
            cal[:] = st[o : o + 3]
            o += 3
            hours[:] = st[o : o + 6]
            o += 6
            mem_t[:] = st[o : o + n_mem]
            o += n_mem
            mem_peak[:] = st[o : o + n_mem]
            o += n_mem
            mem_hot[:] = st[o : o + n_mem]
            o += n_mem
            day_bin[:] = st[o : o + n_days]
            o += n_days
            day_hour[:] = st[o : o + n_days]
        for tt in range(t_len):
            t = t0 + tt  # the bin's index in the whole series (day and hour boundaries, remembered bursts)
            x = values[i, tt]
            if not (x > 0.0):  # negatives and NaN count as nothing
                x = 0.0
            day = (t // day_bins) % max(nov_days, 1)
            if t % day_bins == 0:
                day_bin[day] = 0.0
                day_hour[day] = 0.0
            slot = slots[tt] % n_slots
            sv = season[slot]
            exp_t = level * sv
            pos = (pos + 1) % ring
            # One 5-minute burst (a bot, one forwarded link) is capped in the window sums:
            # a rise has to be carried by several bins to count.
            raw[pos] = x
            xs[pos] = min(x, exp_t + max(bin_cap * math.sqrt(cal[0] * exp_t + (rel * exp_t) ** 2), 3.0))
            ms[pos] = exp_t
            pos2 = (pos2 + 1) % ring2
            xs2[pos2] = xs[pos]
            ms2[pos2] = exp_t
            warming = seen < warmup
            # Window sums: 1 bin, a quarter hour, an hour.
            x1 = x
            m1 = exp_t
            xq = 0.0
            mq = 0.0
            xh = 0.0
            rh = 0.0
            rq = 0.0
            mh = 0.0
            for k in range(h):
                j = (pos - k) % ring
                xh += xs[j]
                rh += raw[j]
                mh += ms[j]
                if k < q:
                    rq += raw[j]
                    xq += xs[j]
                    mq += ms[j]
            za = 2.0 * (math.sqrt(x1 + 0.375) - math.sqrt(m1 + 0.375))
            zb = 2.0 * (math.sqrt(xq + 0.375) - math.sqrt(mq + 0.375))
            zc = 2.0 * (math.sqrt(xh + 0.375) - math.sqrt(mh + 0.375))
            za_n = _surprise(x1, m1, cal[0] + rel * rel * m1)
            zb_n = _surprise(xq, mq, cal[1] + rel * rel * mq)
            zc_n = _surprise(xh, mh, cal[2] + rel * rel * mh)
            z = max(za_n * single_w, zb_n, zc_n)
            if t % h == 0:
                rising = min(rising + 1.0, 4.0) if xh > last_hour * 1.15 and xh > mh else 0.0
                last_hour = xh
                hours[(t // h) % 6] = rh
            score = 0.0
            # Page's CUSUM for a rise to `min_ratio` times the baseline: sums the evidence of a
            # steady climb across hours, which no single window sees early enough.
            if not warming:
                llr = (xs[pos] * log_ratio - (min_ratio - 1.0) * exp_t) / (cal[0] + rel * rel * exp_t)
                cusum = min(max(cusum + llr, 0.0), 4.0 * cusum_h)
            # The size gates read the raw counts; the surprise reads the capped ones.
            # A fast climb shows in the last quarter hour before the hour catches up: twice the ratio there.
            big = rh >= min_ratio * mh or (quarter_gate and rq >= 2.0 * min_ratio * mq and rq - mq >= min_excess)
            # Multi-horizon climb: the last half hour `climb_ratio` times its normal, the ratio no lower at each
            # shorter horizon (quarter ≥ half hour ≥ hour ≥ two hours: still accelerating) and the two hours
            # already `climb_long` above normal (a climb, not a jump), on capped counts so a dump cannot make it.
            climb = 0.0
            if climb_ratio > 0.0 and not warming:
                x30 = 0.0
                m30 = 0.0
                x120 = 0.0
                m120 = 0.0
                for k in range(ring2):
                    j = (pos2 - k) % ring2
                    x120 += xs2[j]
                    m120 += ms2[j]
                    if k < 2 * q:
                        x30 += xs2[j]
                        m30 += ms2[j]
                if m30 > 0.0 and mh > 0.0 and m120 > 0.0:
                    r30 = x30 / m30
                    r60 = xh / mh
                    r120 = x120 / m120
                    if r30 >= climb_ratio and r30 >= r60 and r60 >= r120 and r120 >= climb_long:
                        z30 = _surprise(x30, m30, cal[1] + rel * rel * m30)
                        z120 = _surprise(x120, m120, cal[2] + rel * rel * m120)
                        climb = on_thr * max(z30, z120) / climb_z
                        big = True
            if not warming and rh - mh >= min_excess and big:
                score = max(z, on_thr * cusum / cusum_h, climb)
                if z > 1.0:
                    score += growth_w * rising
                score = max(score, 0.0)
            # Lonjakan sesaat: one bin far beyond anything the over-dispersed baseline allows (a big account's
            # post picked up at once) is news by itself; the caps above keep ordinary lone bins out of the sums.
            if burst_ratio > 0.0 and not warming and x >= burst_ratio * m1 and x - m1 >= burst_min and za_n >= burst_z:
                score = max(score, on_thr * za_n / burst_z)
            # A silent episode (a surge no bigger than this series' routine bursts) may still become news.
            onset = (not in_alarm or silent) and score >= on_thr
            cur = math.log((rh + 1.0) / (mh + 1.0))
            hot = rq >= min_ratio * mq and rq - mq >= 0.25 * min_excess
            # A silent surge hot for as long as the longest routine burst is news whatever its size. Hot time
            # leaks away while it is not hot (a few quiet minutes cost as many hot ones), so a days-long silent
            # episode of repeated bot dumps does not add up to "two hours hot".
            hot_run = hot_run + 1 if hot else max(hot_run - 1, 0)
            # Shape, not size: a viral climb starts small but keeps climbing, a bot's dump is over in minutes.
            # A silent surge that has stayed hot `outlast` times as long as the longest remembered routine
            # burst, and whose last hour is half again the hour before, is news (never later than two hours).
            rh_prev = rhs[(pos + 1) % ring]
            need = float(short_bins)
            if outlast > 0.0 and onset and silent and hot and rh >= 1.5 * rh_prev:
                known_hot = mem_hot[(mem_t >= 0.0) & (t - mem_t <= keep_bins)]
                if known_hot.size > 0:
                    need = min(need, outlast * known_hot.max())
            promote = onset and silent and hot and hot_run >= need
            # Re-arm: once an open episode has stopped climbing, its lowest de-seasonalised hourly rate
            # (never below the frozen baseline) is its floor; a fresh climb to `rearm_ratio` times the
            # floor is a second wave and a new onset, instead of being hidden by the open alarm.
            rhs[pos] = rh
            if in_alarm and not silent and rearm_ratio > 0.0 and age >= h and mh > 0.0:
                if rh <= 1.1 * rh_prev:
                    floor = min(floor, max(rh / mh, 1.0))
                elif floor < math.inf:
                    m_f = floor * mh
                    if (
                        rh >= rearm_ratio * m_f
                        and rh - m_f >= min_excess
                        and rh >= 1.3 * rh_prev
                        and _surprise(rh, m_f, cal[2] + rel * rel * m_f) >= on_thr
                    ):
                        onset = True
                        score = max(score, _surprise(rh, m_f, cal[2] + rel * rel * m_f))
            # Routine bursts: once this series has had `routine_n` short bursts within `routine_bins`, a new
            # surge must outgrow the `routine_rank`-th largest of their peaks (hourly log ratio) to alert.
            # A smaller one opens a silent episode: baseline frozen, no onset, its peak remembered too.
            # "Bigger" needs a margin: equal bursts differ by their noise, and without it every few
            # repeats one of them comes out on top by chance and alerts.
            if onset and routine_n > 0 and not promote:
                recent = np.sort(mem_peak[(mem_t >= 0.0) & (t - mem_t <= routine_bins)])
                routine = recent.size >= routine_n and cur < recent[max(0, recent.size - routine_rank)] + routine_margin
                # Novelty: in a busy series (`routine_n` short bursts within the novelty period) only a surge
                # that outdoes every day of that period, in its largest 5-minute or hourly count, is news:
                # a series that bursts every few days raises its own bar; a quiet one keeps it low.
                if not routine and nov_days > 0 and (not in_alarm or silent):
                    busy = np.sum((mem_t >= 0.0) & (t - mem_t <= nov_days * day_bins)) >= routine_n
                    if busy and max(ep_bin, x) < day_bin.max() and max(ep_hour, rh) < day_hour.max():
                        routine = True
                if routine:
                    onset = False
                    if not in_alarm:
                        in_alarm = True
                        silent = True
                        quiet = 0
                        age = 0
                        floor = math.inf
                        ep_max = cur
                        ep_hot = 0
                        ep_run = 0.0
            if in_alarm:
                ep_max = max(ep_max, cur)
                ep_run = max(ep_run, float(hot_run))
                if hot:
                    ep_hot += 1
                if score < off_thr:
                    quiet += 1
                else:
                    quiet = 0
                if quiet >= release:
                    in_alarm = False
                    silent = False
                    quiet = 0
                    cusum = 0.0
                    # Only short bursts (bots, one forwarded link) teach what is routine; a long
                    # episode, such as a viral one, must not make the next one look ordinary.
                    if ep_hot < short_bins:
                        mem_t[mem_pos] = t
                        mem_peak[mem_pos] = ep_max
                        mem_hot[mem_pos] = ep_run
                        mem_pos = (mem_pos + 1) % n_mem
                    day_bin[day] = max(day_bin[day], ep_bin)
                    day_hour[day] = max(day_hour[day], ep_hour)
                    ep_bin = 0.0
                    ep_hour = 0.0
            if onset:
                in_alarm = True
                quiet = 0
                age = 0
                floor = math.inf
                if not promote:
                    ep_max = cur
                    ep_hot = 0
                    ep_run = float(hot_run)
                silent = False
            if in_alarm:
                age += 1
                flat = hours.max() <= 1.3 * hours.min() + 2.0
                if age >= rebase_after and rising == 0.0 and flat:
                    # A flat excess this long is the new normal.
                    new_level = max(level, level * rh / mh) if mh > 0.0 else max(level, rh / h)
                    # The recent windows are re-judged against the new normal too.
                    if level > 0.0:
                        for k in range(ring):
                            ms[k] *= new_level / level
                        for k in range(ring2):
                            ms2[k] *= new_level / level
                    level = new_level
                    delay[:] = math.nan
                    in_alarm = False
                    silent = False
                    age = 0
                    cusum = 0.0
                    day_bin[day] = max(day_bin[day], ep_bin)
                    day_hour[day] = max(day_hour[day], ep_hour)
                    ep_bin = 0.0
                    ep_hour = 0.0
            # The novelty bar: each day's largest counts, an open episode's once it is over (never its own bar).
            if in_alarm:
                ep_bin = max(ep_bin, x)
                ep_hour = max(ep_hour, rh)
            else:
                day_bin[day] = max(day_bin[day], x)
                day_hour[day] = max(day_hour[day], rh)
            expected_out[i, tt] = exp_t
            score_out[i, tt] = score
            alarm_out[i, tt] = in_alarm and not silent
            onset_out[i, tt] = onset

            # Learn, winsorised; frozen while an episode is open. After warm-up the level learns
            # from bins `lag` old, so a slow climb is judged against the level from before it.
            if in_alarm:
                delay[dpos] = math.nan
                dpos = (dpos + 1) % lag
                seen += 1
                continue
            sd = math.sqrt(exp_t + (rel * exp_t) ** 2)
            cap = exp_t + max(3.0 * sd, 2.0)
            xc = x if warming else min(x, cap)
            target = xc / max(sv, 1e-3)
            if seen == 0:
                level = target
            elif warming:
                level += (target - level) / (seen + 1.0)
            else:
                old = delay[dpos]
                delay[dpos] = target
                dpos = (dpos + 1) % lag
                if not math.isnan(old):
                    level += alpha * (old - level)
            if not warming:
                lvl = max(level, 1e-9)
                evidence = lvl / (lvl + 0.5)
                ratio = min(max(xc / lvl, 0.0), 4.0)
                sv_new = sv + beta * evidence * (ratio - sv)
                season[slot] = min(max(sv_new, 0.1), 4.0)
                # Calibrate each window's spread on quiet-time residuals (clipped so bursts don't leak in).
                a_cal = 4.0 * alpha
                # Huber-style: a residual counts at most 4x the current spread (1.1 undoes the clipping bias).
                cal[0] += a_cal * (1.1 * min(za * za, 4.0 * cal[0]) - cal[0])
                cal[1] += a_cal * (1.1 * min(zb * zb, 4.0 * cal[1]) - cal[1])
                cal[2] += a_cal * (1.1 * min(zc * zc, 4.0 * cal[2]) - cal[2])
                for k in range(3):
                    cal[k] = min(max(cal[k], 1.0), 400.0)
            seen += 1
        st[0] = level
        st[1] = seen
        st[2] = pos
        st[3] = pos2
        st[4] = dpos
        st[5] = 1.0 if in_alarm else 0.0
        st[6] = quiet
        st[7] = age
        st[8] = rising
        st[9] = last_hour
        st[10] = cusum
        st[11] = floor
        st[12] = 1.0 if silent else 0.0
        st[13] = ep_max
        st[14] = ep_hot
        st[15] = ep_run
        st[16] = mem_pos
        st[17] = hot_run
        st[18] = ep_bin
        st[19] = ep_hour
        o = _STATE_SCALARS
        st[o : o + n_slots] = season
        o += n_slots
        st[o : o + ring] = xs
        o += ring
        st[o : o + ring] = raw
        o += ring
        st[o : o + ring] = ms
        o += ring
        st[o : o + ring] = rhs
        o += ring
        st[o : o + ring2] = xs2
        o += ring2
        st[o : o + ring2] = ms2
        o += ring2
        st[o : o + lag] = delay
        o += lag
        st[o : o + 3] = cal
        o += 3
        st[o : o + 6] = hours
        o += 6
        st[o : o + n_mem] = mem_t
        o += n_mem
        st[o : o + n_mem] = mem_peak
        o += n_mem
        st[o : o + n_mem] = mem_hot
        o += n_mem
        st[o : o + n_days] = day_bin
        o += n_days
        st[o : o + n_days] = day_hour


def _knobs(s: DetectorSettings) -> np.ndarray:
    """The settings as the kernel reads them (one float vector, so the compiled kernel takes them as one argument)."""
    return np.array(
        [
            s.hour_bins,
            1.0 - 0.5 ** (1.0 / max(s.level_half_life_bins, 1.0)),
            1.0 / max(s.season_days * s.hour_bins, 1.0),
            s.relative_error,
            s.spike_threshold,
            s.spike_release,
            s.release_bins,
            s.min_excess,
            s.growth_weight,
            s.rebase_after_bins,
            s.warmup_bins,
            math.nan if s.initial_level is None else s.initial_level,
            s.min_ratio,
            s.cusum_h,
            s.bin_cap,
            s.single_bin_weight,
            1.0 if s.quarter_gate else 0.0,
            s.learn_lag_bins,
            s.rearm_ratio,
            s.routine_episodes,
            s.routine_bins,
            s.routine_rank,
            s.routine_short_bins,
            s.burst_ratio,
            s.burst_z,
            s.burst_min,
            s.routine_margin,
            s.novelty_bins,
            s.routine_outlast,
            s.climb_ratio,
            s.climb_long,
            s.climb_z,
        ],
        dtype=np.float64,
    )


def _state_size(s: DetectorSettings) -> int:
    """Floats in one series' saved state: the scalars, then season, four hour rings, two two-hour rings, the
    learning delay, the spreads, six hours, the remembered bursts and the novelty days, in :func:`_run`'s order."""
    h = s.hour_bins
    nov_days = max(int(s.novelty_bins) // (24 * h), 1)
    return (
        _STATE_SCALARS
        + SLOTS
        + 4 * (h + 1)
        + 2 * (2 * h)
        + max(1, int(s.learn_lag_bins))
        + 3
        + 6
        + 3 * _N_MEM
        + 2 * nov_days
    )


@dataclass(frozen=True, slots=True)
class DetectorState:
    """Where a run of the detector stopped: :func:`detector_step` continues from it.

    Continuing over the next bins gives exactly what one run over the whole series gives for them (the
    detector is causal and this is all it carries from bin to bin).
    """

    settings: DetectorSettings
    bins: int
    """bins consumed so far"""
    data: np.ndarray
    """per series (rows), the kernel's saved variables"""


def detector_step(
    values: np.ndarray, slots: np.ndarray, settings: DetectorSettings, state: DetectorState | None = None
) -> tuple[DetectorOutput, DetectorState]:
    """Run the detector over the next bins ``values`` (n series × T) in ``slots``, from ``state`` (None: bin 0).

    Returns the outputs for these bins and the state after them.
    """
    values = np.ascontiguousarray(np.atleast_2d(np.asarray(values, dtype=np.float64)))
    n, t_len = values.shape
    if state is not None and (state.settings != settings or state.data.shape[0] != n):
        raise ValueError("state is from other settings or another number of series")
    # The prior shape, pulled towards flat by 1 - prior_strength: a wrong prior costs days to unlearn.
    prior = 1.0 + settings.prior_strength * (rhythm_prior() - np.ones(SLOTS))
    if values.size >= ACCELERATE_MIN_POINTS:
        _accelerate()
    expected = np.empty((n, t_len))
    score = np.empty((n, t_len))
    alarm = np.empty((n, t_len), dtype=np.bool_)
    onset = np.empty((n, t_len), dtype=np.bool_)
    # The kernel writes the state in place: a copy, so a state handed out earlier still means what it did.
    data = np.zeros((n, _state_size(settings))) if state is None else state.data.copy()
    _run(
        values,
        np.ascontiguousarray(slots, dtype=np.int64),
        prior,
        _knobs(settings),
        expected,
        score,
        alarm,
        onset,
        data,
        state is not None,
        0 if state is None else state.bins,
    )
    out = DetectorOutput(expected=expected, score=score, alarm=alarm, onset=onset)
    return out, DetectorState(settings=settings, bins=(0 if state is None else state.bins) + t_len, data=data)


def run_detector(values: np.ndarray, slots: np.ndarray, settings: DetectorSettings) -> DetectorOutput:
    """Run the detector over ``values`` (n series × T bins) whose bins fall in ``slots`` (length T).

    Series that start with empty bins share that start: it is run once, on one series of zeros, and each series
    continues from its state where its own first post falls (the same answers: the detector sees only the bins).
    A topic × kecamatan scan looks back two weeks, and most places have no complaint in most of them.
    """
    values = np.ascontiguousarray(np.atleast_2d(np.asarray(values, dtype=np.float64)))
    n, t_len = values.shape
    if values.size >= ACCELERATE_MIN_POINTS:
        _accelerate()  # decided on the whole workload, as before the split below
    # The kernel reads anything not above zero (negatives, NaN) as an empty bin.
    busy = values > 0.0
    first = np.where(busy.any(axis=1), busy.argmax(axis=1), t_len)
    if n < 2 or int(first.sum()) - int(first.max()) < t_len:  # too little shared emptiness to pay for the split
        return detector_step(values, slots, settings)[0]
    slots = np.ascontiguousarray(slots, dtype=np.int64)
    expected = np.empty((n, t_len))
    score = np.empty((n, t_len))
    alarm = np.empty((n, t_len), dtype=np.bool_)
    onset = np.empty((n, t_len), dtype=np.bool_)
    state: DetectorState | None = None
    done = 0
    empty = np.zeros((1, t_len))
    for start in sorted(set(first.tolist())):
        if start > done:
            quiet, state = detector_step(empty[:, done:start], slots[done:start], settings, state)
            waiting = first >= start  # the series still empty here (the others already ran on)
            expected[waiting, done:start] = quiet.expected
            score[waiting, done:start] = quiet.score
            alarm[waiting, done:start] = quiet.alarm
            onset[waiting, done:start] = quiet.onset
            done = start
        rows = np.nonzero(first == start)[0]
        if start == t_len:
            continue  # series with no post at all: the empty series' answers, filled in above
        shared = (
            None if state is None else DetectorState(settings, state.bins, np.repeat(state.data, rows.size, axis=0))
        )
        out, _ = detector_step(values[rows, start:], slots[start:], settings, shared)
        expected[rows, start:] = out.expected
        score[rows, start:] = out.score
        alarm[rows, start:] = out.alarm
        onset[rows, start:] = out.onset
    return DetectorOutput(expected=expected, score=score, alarm=alarm, onset=onset)


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    values: bytes
    """digests of the bins the state has consumed, and of their slots"""
    slots: bytes
    state: DetectorState
    tail: DetectorOutput
    """outputs of the last bins before it (up to the ``tail`` asked for)"""


def _digest(array: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).digest()


_FIELDS = ("expected", "score", "alarm", "onset")


def _joined(parts: list[DetectorOutput], tail: int) -> DetectorOutput:
    """The last ``tail`` bins of consecutive outputs."""
    return DetectorOutput(**{f: np.concatenate([getattr(p, f) for p in parts], axis=1)[:, -tail:] for f in _FIELDS})


class DetectorMemo:
    """The detector's state per series key (an issue), so a series that only grew at its end runs its new bins only.

    A service re-assesses each open issue every few minutes over its whole series from the first post; the
    detector is causal, so the earlier bins' answers and state cannot have changed unless their inputs did.
    Per key, two checkpoints are kept: where the last run ended, and ``settling`` bins before that (the bins a
    late post or a changed weight may still move). A checkpoint is used only when the settings are equal and
    the bins (values and slots) it consumed are, byte for byte, the start of the new series; with none usable
    the series runs from bin 0. Bounded: the least recently used keys are dropped beyond ``capacity``. Safe to
    share between threads.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[DetectorSettings, list[_Checkpoint]]] = OrderedDict()
        self._lock = threading.Lock()
        self.resumed = 0
        """calls that continued from a checkpoint"""
        self.full = 0
        """calls that ran the whole series"""

    def __len__(self) -> int:
        return len(self._entries)

    def run(
        self,
        key: Hashable,
        values: np.ndarray,
        slots: np.ndarray,
        settings: DetectorSettings,
        tail: int,
        settling: int = 0,
    ) -> DetectorOutput:
        """The detector's outputs for the last ``tail`` bins of one series ``values`` (1 × at most ``tail`` bins).

        ``settling``: how many of the last bins may still change on a later call (a checkpoint is kept before them).
        """
        values = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
        slots = np.ascontiguousarray(np.asarray(slots, dtype=np.int64).reshape(-1))
        n_bins = len(values)
        if len(slots) != n_bins:
            raise ValueError(f"{n_bins} values but {len(slots)} slots")
        tail = max(1, tail)
        with self._lock:
            entry = self._entries.get(key)
        start: _Checkpoint | None = None
        if entry is not None and entry[0] == settings:
            for cp in reversed(entry[1]):  # the latest first
                done = cp.state.bins
                if (
                    done <= n_bins
                    and cp.tail.score.shape[1] + (n_bins - done) >= min(tail, n_bins)
                    and _digest(values[:done]) == cp.values
                    and _digest(slots[:done]) == cp.slots
                ):
                    start = cp
                    break
        if start is None:
            self.full += 1
        else:
            self.resumed += 1
        done = 0 if start is None else start.state.bins
        state = None if start is None else start.state
        parts = [] if start is None else [start.tail]
        kept = [] if start is None else [start]
        for stop in sorted({max(done, n_bins - max(settling, 0)), n_bins}):
            if stop > done or state is None:
                out, state = detector_step(values[None, done:stop], slots[done:stop], settings, state)
                parts.append(out)
                done = stop
            cp = _Checkpoint(_digest(values[:stop]), _digest(slots[:stop]), state, _joined(parts, tail))
            if kept and kept[-1].state.bins == stop:
                kept[-1] = cp
            else:
                kept.append(cp)
        with self._lock:
            self._entries[key] = (settings, kept[-2:])
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return kept[-1].tail
