"""A few random SIGKILLs through the whole real path, on SQLite and PostgreSQL (bench/kill_path.py runs 50).

Collect (real Mastodon collector against a local timeline), ingest, classify, group, alert and
deliver (aiosmtpd and the Telegram stub) in a worker process that is killed at random moments:
no served post lost or stored twice, no cursor ahead of a missing post, every alert of the
run without kills made, every delivery received, at most one extra copy per kill during delivery.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_postgres
from tests.kill_path import kill_rounds


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_kills_through_the_real_path_lose_nothing(db_kind: str, tmp_path: Path) -> None:
    if db_kind == "postgresql":
        require_postgres()
    figures = kill_rounds(db_kind, 3, total=150, seed=7, max_wait=1.5, tmp=tmp_path, log=lambda _line: None)
    report = "\n".join([*figures.lines(), *figures.notes])
    assert figures.kills >= 3, report
    assert figures.served == figures.stored > 0, report
    assert figures.posts_lost == figures.post_duplicates == figures.cursor_skips == 0, report
    assert figures.alerts_expected > 0 and figures.alerts_lost == figures.stale_stages == 0, report
    assert figures.deliveries > 0 and figures.deliveries_lost == 0 and figures.failed_final_runs == 0, report
    assert figures.delivery_duplicates <= figures.kills_by_phase["deliver"], report
