"""Two regions of the province on two `oki-monitor worker` processes, two SIGKILLs: nothing lost, nothing twice,
every alert to its own region's agency (a short run of ``bench/regions_kill.py``; harness: tests/regions_kill.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.region import NATIONAL_LIST
from tests.regions_kill import run

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")


def test_two_regions_two_workers_two_kills_lose_nothing_and_send_to_the_right_region(tmp_path: Path) -> None:
    figures = run(
        tmp=tmp_path,
        db_name="regionskill_smoke",
        kills=2,
        per_day=6000,
        hours=4,
        day_minutes=0.4,
        bursts=2,
        regions=2,
        seed=3,
        drain_timeout=120,
        log=lambda _line: None,
    )
    report = "\n".join([*figures.lines(), *figures.notes, *figures.worker_errors])
    assert figures.kills == 2, report
    assert figures.published == figures.served == figures.stored > 1000, report
    assert figures.posts_lost == figures.posts_twice == figures.posts_wrong_region == 0, report
    assert figures.expected_alerts == figures.expected_made == 2, report
    assert figures.deliveries > 0 and figures.received > 0, report
    assert figures.deliveries_wrong_region == figures.received_wrong_region == figures.received_unknown == 0, report
    assert figures.first_alerts_twice == figures.sent_twice == 0, report
    assert figures.ok, report
