"""The spike detector's baseline (rhythm, zeros, level shift), growth alerts, episodes and calendar."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from classifiers.calendar_id import RAMADAN_RESTDAY, RAMADAN_WORKDAY, RESTDAY, WORKDAY, IndonesianCalendar
from classifiers.simulate import add_bot_bursts, rhythm, simulate
from classifiers.spike import run_detector
from classifiers.virality import ViralityParams, detect_onsets, scan_series, series_baseline

START = datetime(2026, 1, 4, 17, 0, tzinfo=UTC)  # Monday 00:00 WIB
PARAMS = ViralityParams()
BIN = timedelta(minutes=5)
PER_DAY = 288


def stamps(n: int, start: datetime = START) -> list[datetime]:
    return [start + BIN * i for i in range(n)]


def poisson(rate: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate).astype(float)


def test_baseline_learns_the_daily_rhythm_and_stays_quiet() -> None:
    days = 10
    shape = rhythm(START, days * PER_DAY, 5)
    rate = 1.0 * shape  # ~12 posts an hour on average, 4x between night and evening
    values = poisson(rate, seed=1)
    expected = np.array(series_baseline(stamps(len(values)), values.tolist(), PARAMS))
    last3 = slice(7 * PER_DAY, None)
    # Hourly expected follows the true rhythm closely after a week.
    exp_h = expected[last3].reshape(-1, 12).sum(axis=1)
    true_h = rate[last3].reshape(-1, 12).sum(axis=1)
    assert np.corrcoef(exp_h, true_h)[0, 1] > 0.9
    assert abs(exp_h.sum() / true_h.sum() - 1.0) < 0.15
    assert detect_onsets(stamps(len(values)), values.tolist(), PARAMS) == []


def test_very_low_counts_never_alert_on_single_posts() -> None:
    # 0-2 posts a day for four weeks, including days with a pair of posts in the same hour.
    values = poisson(np.full(28 * PER_DAY, 1.0 / PER_DAY), seed=2)
    values[10 * PER_DAY + 100 : 10 * PER_DAY + 102] = 1.0
    assert values.sum() >= 20
    assert detect_onsets(stamps(len(values)), values.tolist(), PARAMS) == []


def test_low_counts_do_alert_on_a_real_burst() -> None:
    values = poisson(np.full(14 * PER_DAY, 1.0 / PER_DAY), seed=3)
    burst_at = 10 * PER_DAY + 150
    values[burst_at : burst_at + 24] += 2.0  # 24 posts an hour for two hours where ~0 is normal
    onsets = detect_onsets(stamps(len(values)), values.tolist(), PARAMS)
    assert len(onsets) == 1
    assert stamps(len(values))[burst_at] <= onsets[0][0] <= stamps(len(values))[burst_at + 12]


def test_lasting_level_shift_is_absorbed_without_alert() -> None:
    n = 12 * PER_DAY
    shape = rhythm(START, n, 5)
    rate = 0.5 * shape
    rate[6 * PER_DAY :] *= 2.0  # the scope simply gets twice as much chatter from day 6 on
    values = poisson(rate, seed=4)
    assert detect_onsets(stamps(n), values.tolist(), PARAMS) == []
    expected = np.array(series_baseline(stamps(n), values.tolist(), PARAMS))
    late = slice(10 * PER_DAY, None)
    assert abs(expected[late].sum() / rate[late].sum() - 1.0) < 0.2


def test_large_flat_jump_alerts_once_then_becomes_the_new_normal() -> None:
    n = 12 * PER_DAY
    rate = np.full(n, 0.5)
    rate[5 * PER_DAY :] = 4.0  # 8x, and it stays
    values = poisson(rate, seed=5)
    onsets = detect_onsets(stamps(n), values.tolist(), PARAMS)
    assert len(onsets) == 1
    expected = np.array(series_baseline(stamps(n), values.tolist(), PARAMS))
    assert abs(expected[-PER_DAY:].mean() / 4.0 - 1.0) < 0.25


def test_accelerating_growth_alerts_well_before_the_viral_level() -> None:
    n = 10 * PER_DAY
    base = 2.0 / 12  # 2 posts an hour
    rate = np.full(n, base)
    start = 8 * PER_DAY
    t = np.arange(n - start)
    rate[start:] += base * 0.3 * np.exp(np.log(2) / 12 * t)  # doubles every hour
    rate = np.minimum(rate, 100.0)
    values = poisson(rate, seed=6)
    cross = start + int(np.nonzero(rate[start:] * 12 >= 20 * 2.0)[0][0])  # 20x the usual hour
    onsets = detect_onsets(stamps(n), values.tolist(), PARAMS)
    assert onsets, "no alert on exponential growth"
    first = onsets[0][0]
    assert stamps(n)[start] <= first
    lead = (stamps(n)[cross] - first).total_seconds() / 60
    assert lead >= 90, f"alert only {lead:.0f} minutes before the viral level"


def test_one_onset_per_episode_and_score_in_unit_range() -> None:
    n = 6 * PER_DAY
    rate = np.full(n, 1.0)
    rate[4 * PER_DAY : 4 * PER_DAY + 36] = 12.0  # three hours of a big spike
    values = poisson(rate, seed=7)
    onsets = detect_onsets(stamps(n), values.tolist(), PARAMS)
    assert len(onsets) == 1
    assert 0.5 <= onsets[0][1] <= 1.0


def test_detector_is_causal() -> None:
    sims = simulate(seed=11, n_series=1, weeks=1)
    values = sims[0].values
    full = series_baseline(stamps(len(values)), values.tolist(), PARAMS)
    prefix = series_baseline(stamps(1000), values[:1000].tolist(), PARAMS)
    assert full[:1000] == pytest.approx(prefix)


def test_bad_values_count_as_zero() -> None:
    values = [float("nan"), -3.0, 1.0] * 200
    ts = stamps(len(values))
    assert detect_onsets(ts, values, PARAMS) == []
    with pytest.raises(ValueError, match="timestamps"):
        detect_onsets(ts[:-1], values, PARAMS)


def test_bot_bursts_make_a_busy_series_and_never_touch_a_viral_climb() -> None:
    sims = simulate(seed=5, n_series=40, weeks=2)
    busy = [add_bot_bursts(np.random.default_rng(1), s) for s in sims]
    for before, after in zip(sims, busy, strict=True):
        bots = [e for e in after.episodes if e.kind == "bot"]
        viral = [e for e in after.episodes if e.kind == "viral"]
        assert len(bots) >= 9  # two weeks, one burst every 8-36 hours, a few skipped near viral episodes
        added = after.values - before.values
        assert (added >= 0).all()
        for e in bots:
            assert 1 <= e.end_bin - e.start_bin + 1 <= 6
            assert (added[e.start_bin : e.end_bin + 1] >= 20).all()
            assert not any(v.start_bin - 24 <= e.start_bin <= v.end_bin for v in viral)
        inside = np.zeros(len(added), dtype=bool)
        for e in bots:
            inside[e.start_bin : e.end_bin + 1] = True
        assert (added[~inside] == 0).all()  # nothing else changed
        assert [e for e in after.episodes if e.kind != "bot"] == list(before.episodes)


def test_scan_series_matches_detect_onsets() -> None:
    sims = simulate(seed=3, n_series=4, weeks=1)
    matrix = np.stack([s.values for s in sims])
    scanned = scan_series(sims[0].start, matrix, PARAMS)
    for row, sim in zip(scanned, sims, strict=True):
        single = detect_onsets(stamps(len(sim.values), sim.start), sim.values.tolist(), PARAMS)
        assert [t for t, _ in row] == [t for t, _ in single]


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 1, 5), WORKDAY),  # Monday
        (date(2026, 1, 10), WORKDAY),  # Saturday: offices and schools open
        (date(2026, 1, 11), RESTDAY),  # Sunday
        (date(2026, 8, 17), RESTDAY),  # HUT RI on a Monday
        (date(2026, 2, 25), RAMADAN_WORKDAY),
        (date(2026, 3, 1), RAMADAN_RESTDAY),  # Sunday in Ramadan
        (date(2026, 3, 20), RESTDAY),  # Idulfitri, fasting is over
    ],
)
def test_calendar_day_types(day: date, kind: int) -> None:
    assert IndonesianCalendar().day_type(day) == kind


def test_calendar_extra_holiday_and_wib_hours() -> None:
    cal = IndonesianCalendar(extra_holidays=[date(2026, 1, 6)])
    assert cal.day_type(date(2026, 1, 6)) == RESTDAY
    # 17:30 UTC on Monday is 00:30 WIB Tuesday: slot = rest day (extra holiday) hour 0.
    assert cal.slot_of(datetime(2026, 1, 5, 17, 30, tzinfo=UTC)) == RESTDAY * 24 + 0
    regular = cal.regular_slots(datetime(2026, 1, 5, 16, 50, tzinfo=UTC), 4, 5)
    assert list(regular) == [WORKDAY * 24 + 23, WORKDAY * 24 + 23, RESTDAY * 24, RESTDAY * 24]


def test_decaying_viral_tail_does_not_become_the_new_normal() -> None:
    # A quiet scope (0.1 posts/h) goes viral, decays over hours, and a day and a half later climbs again.
    n = 9 * PER_DAY
    rate = np.full(n, 0.1 / 12)
    t = np.arange(n)
    for start in (4 * PER_DAY, 6 * PER_DAY + 60):
        climb = 0.5 / 12 * np.exp(np.log(2) / 12 * (t - start))  # doubles every hour from 0.5/h
        peak_at = start + int(np.log(80.0 / 0.5) * 12 / np.log(2))
        decay = 80.0 / 12 * np.exp(-(t - peak_at) / 48.0)  # then fades with a 4-hour time constant
        rate += np.where(t < start, 0.0, np.where(t < peak_at, climb, decay))
    values = poisson(rate, seed=12)
    ts = stamps(n)
    expected = np.array(series_baseline(ts, values.tolist(), PARAMS))
    # Before the second climb the baseline is back near the quiet level, not at the tail's last rate.
    before = slice(6 * PER_DAY + 48, 6 * PER_DAY + 60)
    assert expected[before].sum() < 3 * rate[before].sum() + 0.5
    second = 6 * PER_DAY + 60
    cross = second + int(np.nonzero(rate[second:] * 12 >= 20.0)[0][0])
    onsets = [o for o, _ in detect_onsets(ts, values.tolist(), PARAMS) if o >= ts[second]]
    assert onsets and onsets[0] < ts[cross], "the second climb was not alerted before 20 posts/h"


def test_a_lone_burst_bin_does_not_alert_through_the_growth_sum() -> None:
    values = poisson(np.full(8 * PER_DAY, 2.0 / 12), seed=13)
    for day in (3, 5, 7):
        values[day * PER_DAY + 100] += 120.0  # one bot dumps 120 posts in five minutes
    # Only the sudden-burst rule may react to a lone bin: without it, the window sums stay quiet.
    no_burst = dataclasses.replace(PARAMS.detector_settings(), burst_ratio=0.0)
    ts = stamps(len(values))
    out = run_detector(values, PARAMS.calendar().slots(ts), no_burst)
    assert not out.onset.any()


def test_a_huge_lone_bin_is_a_sudden_burst_until_it_is_routine() -> None:
    values = poisson(np.full(8 * PER_DAY, 2.0 / 12), seed=13)
    dumps = [day * PER_DAY + 100 for day in (3, 5, 7)]
    for b in dumps:
        values[b] += 120.0  # 120 posts in five minutes where 2 an hour is normal
    small = 2 * PER_DAY + 30
    values[small] += 12.0  # many times the baseline too, but only a dozen posts: not news on its own
    ts = stamps(len(values))
    onsets = [o for o, _ in detect_onsets(ts, values.tolist(), PARAMS)]
    # Alerted in the very bin, not an hour later when the window sums would have caught up.
    assert onsets == [ts[dumps[0]], ts[dumps[1]]], "the first two dumps alert, the third is routine by now"


def test_a_sudden_burst_needs_a_big_ratio_on_a_busy_series() -> None:
    rate = np.full(8 * PER_DAY, 40.0 / 12)  # 40 posts an hour
    values = poisson(rate, seed=16)
    busy = 5 * PER_DAY + 100
    values[busy] += 4 * rate[busy]  # five times the usual bin: unusual, but not a sudden burst
    ts = stamps(len(values))
    assert not any(ts[busy] <= o <= ts[busy + 12] for o, _ in detect_onsets(ts, values.tolist(), PARAMS))
    values[busy] += 40 * rate[busy]  # forty-five times the usual bin
    assert any(o == ts[busy] for o, _ in detect_onsets(ts, values.tolist(), PARAMS))


def test_second_wave_while_the_alarm_is_still_open_gets_its_own_onset() -> None:
    n = 6 * PER_DAY
    rate = np.full(n, 1.0 / 12)
    first = 4 * PER_DAY
    rate[first : first + 24] = 1.5  # two hours at 18 posts/h where 1/h is normal, then back to normal
    second = first + 24 + 18  # 90 minutes later, while that alarm is still open, a new climb starts
    t = np.arange(n - second)
    rate[second:] += np.minimum(0.5 / 12 * np.exp(np.log(2) / 9 * t), 100.0 / 12)  # doubling every 45 min
    values = poisson(rate, seed=14)
    ts = stamps(n)
    onsets = [o for o, _ in detect_onsets(ts, values.tolist(), PARAMS)]
    cross = second + int(np.nonzero(rate[second:] * 12 >= 20.0)[0][0])
    assert any(ts[first] <= o <= ts[first + 12] for o in onsets)
    assert any(ts[second] <= o < ts[cross] for o in onsets), "second wave hidden by the open alarm"


def test_routine_short_bursts_stop_alerting_but_a_longer_surge_still_does() -> None:
    n = 10 * PER_DAY
    rate = np.full(n, 2.0 / 12)
    bursts = [d * PER_DAY + off for d in range(2, 8) for off in (60, 200)]
    for b in bursts:
        rate[b : b + 8] = 25.0  # forty minutes of a spam account, twice a day
    surge = 8 * PER_DAY + 150
    rate[surge : surge + 6 * 12] = 25.0  # the same height, but for six hours
    values = poisson(rate, seed=15)
    ts = stamps(n)
    onsets = [o for o, _ in detect_onsets(ts, values.tolist(), PARAMS)]
    burst_onsets = [o for o in onsets if any(ts[b] <= o <= ts[b + 24] for b in bursts)]
    assert burst_onsets, "the first bursts are news"
    assert len(burst_onsets) <= 3, f"{len(burst_onsets)} of {len(bursts)} routine bursts alerted"
    assert any(ts[surge] <= o <= ts[surge + 36] for o in onsets), "a surge outlasting the bursts must alert"
    no_memory = PARAMS.model_copy(update={"routine_bursts": 0})
    assert len(detect_onsets(ts, values.tolist(), no_memory)) > len(onsets)


def test_a_busy_series_alerts_only_on_a_surge_bigger_than_its_recent_days() -> None:
    """The novelty bar: after routine bursts, another of their height stays quiet; a taller one alerts."""
    n = 14 * PER_DAY
    rate = np.full(n, 1.0)
    for b in [d * PER_DAY + off for d in (2, 3, 5, 7) for off in (100, 230)]:
        rate[b : b + 6] = 20.0  # half an hour of a spam account, twice a day every day or two
    same = 10 * PER_DAY + 150
    rate[same : same + 6] = 18.0  # one more of those, at another hour: nothing new here
    taller = 12 * PER_DAY + 150
    rate[taller : taller + 6] = 60.0  # three times taller than anything of the last three weeks
    ts = stamps(n)
    no_bar = PARAMS.model_copy(update={"novelty_days": 0})
    same_alerts = same_alerts_without_bar = 0
    for seed in range(21, 41):
        values = poisson(rate, seed=seed).tolist()
        onsets = [o for o, _ in detect_onsets(ts, values, PARAMS)]
        same_alerts += any(ts[same] <= o <= ts[same + 24] for o in onsets)
        assert any(ts[taller] <= o <= ts[taller + 6] for o in onsets), f"seed {seed}: a taller surge is news"
        same_alerts_without_bar += any(ts[same] <= o <= ts[same + 24] for o, _ in detect_onsets(ts, values, no_bar))
    assert same_alerts == 0
    assert same_alerts_without_bar > 0  # the routine memory alone lets some of them through


def test_a_busy_series_still_warns_early_of_a_climb_smaller_than_its_bot() -> None:
    """Shape, not size: a viral climb that starts far below a daily bot's dumps outlasts them and alerts early."""
    n = 12 * PER_DAY
    rate = np.full(n, 1.0)  # 12 posts an hour
    dumps = [d * PER_DAY + 100 for d in range(2, 10)]
    for b in dumps:
        rate[b : b + 6] = 20.0  # half an hour of a bot, every day
    climb = 10 * PER_DAY + 150
    t = np.arange(n - climb)
    rate[climb:] += np.minimum(0.3 * np.exp(np.log(2) / 24 * t), 40.0)  # doubling every two hours
    cross = climb + int(np.nonzero(rate[climb:] >= 10.0)[0][0])  # ten times the normal rate
    ts = stamps(n)
    off = PARAMS.model_copy(update={"routine_outlast": 0.0})
    early_without = 0
    for seed in range(21, 31):
        values = poisson(rate, seed=seed).tolist()
        onsets = [o for o, _ in detect_onsets(ts, values, PARAMS)]
        before = [o for o, _ in detect_onsets(ts, values, off)]
        assert any(ts[climb] <= o < ts[cross] for o in onsets), f"seed {seed}: the climb was not alerted early"
        early_without += any(ts[climb] <= o < ts[cross] for o in before)
        # The first two dumps are news; later ones stay routine. (Equal dumps differ by their noise: a few seeds
        # have a later dump beat the novelty bar by chance, with or without the shape rule; it must add none.)
        assert any(ts[dumps[0]] <= o <= ts[dumps[0] + 6] for o in onsets)
        assert any(ts[dumps[1]] <= o <= ts[dumps[1] + 6] for o in onsets)
        for b in dumps[2:]:
            alerted = any(ts[b] <= o <= ts[b + 24] for o in onsets)
            assert not alerted or any(ts[b] <= o <= ts[b + 24] for o in before), f"seed {seed}: a routine dump alerted"
    assert early_without < 5  # without the rule the climb waits for two hours hot: mostly too late
