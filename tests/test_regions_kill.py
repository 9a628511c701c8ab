"""Two regions of the province on two `oki-monitor worker` processes, two SIGKILLs: nothing lost, nothing twice,
every alert to its own region's agency (a short run of ``bench/regions_kill.py``; harness: tests/regions_kill.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.region import NATIONAL_LIST
from monitor.store.db import Database
from tests.regions_kill import run

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")


# The database: a fresh schema of the test database, migrated as conftest's ``db`` builds it (none to create, drop).
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_regions_two_workers_two_kills_lose_nothing_and_send_to_the_right_region(
    db: Database, tmp_path: Path
) -> None:
    figures = run(
        tmp=tmp_path,
        kills=2,
        per_day=3000,  # 1,300 posts: 500 a region and each region's growing complaint
        hours=4,
        day_minutes=0.25,  # 15 s: the first 6 s the quiet opening (three polls), then the posts
        bursts=2,
        regions=2,
        seed=3,
        drain_timeout=120,
        log=lambda _line: None,
        database_url=db.url,
        fork=True,  # the workers forked from one warmed-up process: the same command, without ~2 s of CPU each
        kill_busy=True,  # each kill lands on a worker amid a collection or a pipeline pass
        kills_before=0.6,  # 6-9 s in: its jobs' leases (8 s) run out as the day ends, not deep into the drain
    )
    report = "\n".join([*figures.lines(), *figures.notes, *figures.worker_errors])
    assert figures.kills == 2, report
    # Each kill interrupted a collection or a region's pipeline pass: work on posts was in flight.
    assert figures.kills_in_work == 2, report
    assert figures.published == figures.served == figures.stored > 1000, report
    assert figures.posts_lost == figures.posts_twice == figures.posts_wrong_region == 0, report
    assert figures.expected_alerts == figures.expected_made == 2, report
    assert figures.deliveries > 0 and figures.received > 0, report
    assert figures.deliveries_wrong_region == figures.received_wrong_region == figures.received_unknown == 0, report
    assert figures.first_alerts_twice == figures.sent_twice == 0, report
    assert figures.ok, report
