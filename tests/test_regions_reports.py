"""Reports of a deployment of several regions: each region's weekly brief (its issues, its agencies' names,
its addresses) and the performance table under that region's agency names (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.channels.base import OutgoingMessage
from classifiers.region import NATIONAL_LIST
from monitor.cli import main
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig, load_config
from monitor.reports import kinerja
from monitor.reports.brief import brief_addresses, last_week, send
from monitor.store.db import Database
from tests.region_support import OKU, OKU_MARK, seed_oku, two_region_config
from tests.web_support import NOW, seed, tell_agency

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=WIB)
"""The week of 23 to 29 November (the seeded alerts') has just ended."""
OKU_COMMS = "diskominfo@ogan-komering-ulu.example"
"""OKU's Diskominfo, as `oki-monitor init --region 16.01` writes it."""


class Mailbox:
    """An e-mail channel that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutgoingMessage]] = []

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        self.sent.append((recipient, message))
        return f"kept-{len(self.sent)}"

    def close(self) -> None:
        pass


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # local: ~0.5 s to import

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def deployment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_region_config(tmp_path_factory.mktemp("deployment"))


@pytest.fixture
def deployment(deployment_file: Path, config: AppConfig, db: Database) -> AppConfig:
    seeded = seed(db)
    seed_oku(db)
    tell_agency(db, seeded.rising_id, "pupr", NOW - timedelta(hours=8), "k-brief")
    return load_config(deployment_file)  # after `config` set the author key


def test_each_region_gets_its_own_brief_at_its_own_addresses(deployment: AppConfig, db: Database) -> None:
    assert brief_addresses(deployment) == ["humas@okikab.example"]
    assert brief_addresses(deployment, OKU) == [OKU_COMMS]  # no receiver reaches OKU: its own comms office
    box = Mailbox()
    assert sorted(send(db, deployment, MONDAY, box)) == [OKU_COMMS, "humas@okikab.example"]
    assert send(db, deployment, MONDAY + timedelta(minutes=30), box) == []  # once per week and region
    assert len(box.sent) == 2
    texts = {to: _pdf_text(m.attachments[0][2]) for to, m in box.sent}
    oku, oki = texts[OKU_COMMS], texts["humas@okikab.example"]
    assert OKU_MARK in oku and "Dinas PUPR Ogan Komering Ulu" in oku and "Kabupaten Ogan Komering Ulu" in oku
    assert "Kayu Agung" not in oku and "Dinas PUPR OKI" not in oku
    assert "Jalan rusak di Kayu Agung" in oki and "Dinas PUPR OKI" in oki
    assert OKU_MARK not in oki and "Ogan Komering Ulu" not in oki
    plain = {to: m.plain for to, m in box.sent}
    assert "Kabupaten Ogan Komering Ulu" in plain[OKU_COMMS]


def test_brief_command_writes_one_regions_brief(
    deployment_file: Path, deployment: AppConfig, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", db.url)
    out = tmp_path / "oku.pdf"
    args = ["--config", str(deployment_file), "brief", "--week", "2026-11-25", "--output", str(out)]
    assert main([*args, "--region", OKU]) == 0
    assert "Kabupaten Ogan Komering Ulu" in capsys.readouterr().out
    text = _pdf_text(out.read_bytes())
    assert OKU_MARK in text and "Kayu Agung" not in text
    assert main([*args, "--region", "16.03"]) == 2
    assert "bukan wilayah deployment ini" in capsys.readouterr().err
    assert main(args) == 0  # every region: the province's view
    text = _pdf_text(out.read_bytes())
    assert OKU_MARK in text and "Jalan rusak di Kayu Agung" in text and "Semua wilayah" in text


def test_performance_of_one_region_goes_by_its_agencies_names(deployment: AppConfig, db: Database) -> None:
    week = last_week(MONDAY.date())
    with db.session() as s:
        rows = kinerja.agency_performance(s, deployment, week, MONDAY, region=OKU)
    received = {r.agency: r for r in rows if r.received}
    assert list(received) == ["pupr"] and received["pupr"].name == "Dinas PUPR Ogan Komering Ulu"
