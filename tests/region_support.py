"""A deployment of two regions for the tests: OKI's shipped config (16.02) plus OKU's region file (16.01),
and OKU data beside the dashboard tests' OKI data (``web_support.seed``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.cli import main
from monitor.kernel.config import packaged_config_text
from monitor.store.db import Database
from monitor.store.models import (
    Alert,
    Delivery,
    Issue,
    Label,
    Post,
    ScopeCount,
    Silence,
    Source,
    User,
)
from monitor.web.auth import hash_password, hash_token
from tests.web_support import NOW, PASSWORD, Seeded, file_under

OKU = "16.01"
OKU_SOURCE = "googlenews-ogan-komering-ulu"
"""A source `oki-monitor init --region 16.01` writes: its posts are OKU's."""
OKU_MARK = "RAHASIA-OKU"
"""In every OKU title and post text: no user of another region may ever be shown it."""
OKU_KECAMATAN = "Baturaja Timur"
OKU_AGENCY_TOKEN = "oki_test-oku-agency-token-0123456789"


def two_region_config(folder: Path) -> Path:
    """Write the two-region deployment into ``folder`` (as an operator would) and return its main config file."""
    assert main(["init", "--region", OKU, "--output", str(folder / "regions" / "16.01.yaml")]) == 0
    path = folder / "config.yaml"
    path.write_text(packaged_config_text() + "\nregions: [regions/16.01.yaml]\n", encoding="utf-8")
    return path


@dataclass
class OkuSeeded:
    issue_id: int
    post_ids: list[int]
    alert_id: int


def seed_oku(db: Database, now: datetime = NOW) -> OkuSeeded:
    """OKU users (its PUPR officer, its comms), a rising OKU road issue of PUPR with its posts, an alert and trends."""
    pw = hash_password(PASSWORD)
    with db.session() as s:
        s.add_all(
            [
                User(
                    username="pupr-oku",
                    password_hash=pw,
                    role="agency",
                    agency_code="pupr",
                    created_at=now,
                    region_code=OKU,
                    api_token_hash=hash_token(OKU_AGENCY_TOKEN),
                ),
                User(username="kominfo-oku", password_hash=pw, role="comms", created_at=now, region_code=OKU),
                User(username="analis-oku", password_hash=pw, role="analyst", created_at=now, region_code=OKU),
            ]
        )
        src = Source(name=OKU_SOURCE, kind="googlenews", enabled=True, cursor={}, region_code=OKU)
        s.add(src)
        s.flush()
        issue = Issue(
            topic="infrastruktur",
            agency_code="pupr",
            kecamatan=OKU_KECAMATAN,
            title=f"{OKU_MARK} jalan amblas di {OKU_KECAMATAN}",
            status="open",
            stage="naik",
            score=0.95,
            p_viral=0.9,
            post_count=0,
            author_count=0,
            first_seen=now - timedelta(hours=8),
            last_seen=now - timedelta(minutes=10),
            created_at=now - timedelta(hours=8),
            updated_at=now,
            region_code=OKU,
        )
        s.add(issue)
        s.flush()
        post_ids = []
        for k in range(3):
            post = Post(
                source_id=src.id,
                platform="googlenews",
                external_id=f"oku{k}",
                url=f"https://berita.example/oku/{k}",
                text=f"{OKU_MARK} jalan amblas {OKU_KECAMATAN} kabar {k}",
                created_at=now - timedelta(hours=7 - k),
                collected_at=now,
                content_hash=f"oku{k}",
                stage="grouped",
                region_code=OKU,
            )
            file_under(s, issue, post, now)
            post_ids.append(post.id)
        alert = Alert(
            issue_id=issue.id,
            receiver="agency:pupr",
            agency_code="pupr",
            kind="first",
            stage="naik",
            created_at=now - timedelta(hours=2),
            ack_token="tok-oku",
            payload={},
            region_code=OKU,
        )
        s.add(alert)
        s.flush()
        for week in range(4):
            s.add(
                ScopeCount(
                    hour=now - timedelta(days=7 * week, hours=2),
                    topic="infrastruktur",
                    kecamatan=OKU_KECAMATAN,
                    agency_code="pupr",
                    platform="googlenews",
                    posts=1000 + week,
                    complaints=100 + week,
                    engagement=5.0,
                    region_code=OKU,
                )
            )
        return OkuSeeded(issue.id, post_ids, alert.id)


@dataclass
class Silenced:
    oki_ids: list[int]
    """OKI's silences: a snooze of its rising issue, its source's, and a province-wide topic × kecamatan one."""
    oku_id: int


OKI_SILENCE_NOTE = "Jalan rusak di Kayu Agung sedang diperbaiki"
"""The reason on each of OKI's silences (an OKI mark: never shown to a user of 16.01)."""


def seed_silences_and_queues(db: Database, oki: Seeded, oku: OkuSeeded, now: datetime = NOW) -> Silenced:
    """Silences of both regions, work waiting in OKI's queues (posts to classify, a delivery to send) and a post of
    each region waiting for triage."""
    until = now + timedelta(hours=24)
    with db.session() as s:
        rows = [
            Silence(matchers=m, starts_at=now - timedelta(hours=1), ends_at=until, created_by="kominfo",
                    comment=OKI_SILENCE_NOTE)
            for m in ({"issue_id": [str(oki.rising_id)]}, {"source": ["mastodon-oki"]},
                      {"topic": ["air_bersih"], "kecamatan": ["Pedamaran"]})
        ]  # fmt: skip
        own = Silence(
            matchers={"issue_id": [str(oku.issue_id)]},
            starts_at=now - timedelta(hours=1),
            ends_at=until,
            created_by="kominfo-oku",
            comment=f"{OKU_MARK} menunggu alat berat",
        )
        s.add_all([*rows, own])
        source_id = s.scalar(select(Source.id).where(Source.name == "mastodon-oki"))
        for k in range(2):
            s.add(
                Post(
                    source_id=source_id,
                    platform="mastodon",
                    external_id=f"waiting{k}",
                    text="menunggu klasifikasi",
                    created_at=now,
                    collected_at=now,
                    content_hash=f"waiting{k}",
                    stage="new",
                )
            )
        s.add(
            Delivery(
                alert_id=oki.alert_id,
                channel="email",
                recipient="pupr@okikab.example",
                idempotency_key="oki-pending",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        # One uncertain post of each region waits for triage.
        for post_id in (oki.plain_post_id, oku.post_ids[0]):
            s.scalars(select(Label).where(Label.post_id == post_id)).one().needs_triage = True
        s.flush()
        return Silenced([r.id for r in rows], own.id)
