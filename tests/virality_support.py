"""A demo-shaped road issue as post events: the series the virality tests assess and calibrate on."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np

from classifiers import spike
from classifiers.simulate import simulate
from classifiers.virality import PostEvent, ViralityParams

START = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # Monday 00:00 WIB
PEAK_HOUR = 38.0


def road_rate(hour: float) -> float:
    """Posts per hour: 1-2 an hour from hour 6, accelerating from hour 16 to dozens an hour at 36-40."""
    if hour < 6:
        return 0.0
    if hour < 16:
        return 1.2
    if hour <= PEAK_HOUR:
        return min(1.2 * math.exp((hour - 16) / 6.5), 40.0)
    return max(40.0 * math.exp(-(hour - PEAK_HOUR) / 3.0), 0.5)


def road_events(seed: int = 3) -> list[PostEvent]:
    """The demo's road issue as posts over two days (``road_rate`` an hour, random but fixed by ``seed``), with
    four news portals picking it up from hour 28."""
    rng = random.Random(seed)
    events: list[PostEvent] = []
    hour = 6.0
    while True:
        hour += rng.expovariate(max(road_rate(hour), 0.05))
        if hour >= 48:
            break
        heat = road_rate(hour) / 40.0
        events.append(
            PostEvent(
                at=START + timedelta(hours=hour),
                author=f"warga{rng.randint(1, 5000)}",
                platform=rng.choice(["x", "mastodon", "telegram", "youtube"]),
                engagement=(1 + 60 * heat) * rng.uniform(5, 15),
                is_news=False,
            )
        )
    for i in range(4):  # news portals pick it up as it grows
        events.append(PostEvent(START + timedelta(hours=28 + 3 * i), f"portal{i}", "rss", 0.0, True))
    return sorted(events, key=lambda e: e.at)


def detector_workload(n_series: int = 3) -> tuple[np.ndarray, np.ndarray, spike.DetectorSettings]:
    """``n_series`` simulated series (the first three pass through every onset path: bursts, repeats of them
    (routine memory), a second wave), their slots and the default detector settings."""
    params = ViralityParams()
    sims = simulate(seed=5, n_series=n_series, weeks=1.5)
    values = np.stack([s.values for s in sims])
    for day in (2, 3, 4, 5):
        values[0, day * 288 + 100] += 150.0
        values[1, day * 288 + 40 : day * 288 + 48] += 30.0
    values[2, 600:636] += 3.0
    values[2, 672:] += np.minimum(0.2 * np.exp(np.log(2) / 9 * np.arange(values.shape[1] - 672)), 40.0)
    slots = params.calendar().regular_slots(sims[0].start, values.shape[1], params.bin_minutes)
    return values, slots, params.detector_settings()
