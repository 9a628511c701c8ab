"""The offline demo end to end: real collectors, pipeline, SMTP and Telegram servers, simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import AppConfig
from monitor.demo.runner import DemoResult, run_demo
from monitor.models import Alert, Issue, Source


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    from monitor.config import load_config

    root = Path(__file__).resolve().parent.parent
    mp = pytest.MonkeyPatch()
    mp.setenv("OKI_MONITOR_AUTHOR_KEY", "demo-test-key-0123456789")
    mp.chdir(tmp_path_factory.mktemp("demo-cwd"))
    try:
        cfg: AppConfig = load_config(root / "config.yaml")
        return run_demo(cfg, Path("var/demo"))
    finally:
        mp.undo()


def test_road_issue_is_alerted_to_pupr_before_the_peak(demo: DemoResult) -> None:
    assert demo.first_alert_at is not None and demo.peak_at is not None
    lead_hours = (demo.peak_at - demo.first_alert_at).total_seconds() / 3600
    assert lead_hours >= 2, f"first alert only {lead_hours:.1f} h before the peak"
    with demo.db.session() as s:
        first = s.scalar(select(Alert).where(Alert.issue_id == demo.road_issue_id).order_by(Alert.created_at).limit(1))
        assert first is not None and first.agency_code == "pupr" and first.stage == "naik"
        road = s.get(Issue, demo.road_issue_id)
        assert road is not None and road.kecamatan == "Cengal" and road.topic == "infrastruktur"


def test_lookalikes_never_form_an_alerting_issue(demo: DemoResult) -> None:
    assert any("yang masuk isu: 0" in line for line in demo.lines), demo.lines
    with demo.db.session() as s:
        alerted = set(s.scalars(select(Alert.issue_id).where(Alert.issue_id.is_not(None))))
        issues = {i.id: i for i in s.scalars(select(Issue).where(Issue.id.in_(alerted)))}
    assert all(i.kecamatan not in ("Mesuji",) for i in issues.values())


def test_alerts_were_delivered_by_email_and_telegram_with_ack_and_escalation(demo: DemoResult) -> None:
    assert demo.emails, "no e-mail reached the local SMTP server"
    assert demo.telegram_messages, "no message reached the local Telegram server"
    assert any("pupr@okikab.example" in m.rcpt_tos for m in demo.emails)
    with demo.db.session() as s:
        kinds = set(s.scalars(select(Alert.kind)))
        acked = s.scalar(select(Alert).where(Alert.acknowledged_at.is_not(None)).limit(1))
    assert "escalation" in kinds
    assert acked is not None


def test_pupr_duty_officer_gets_the_road_alert_on_whatsapp(demo: DemoResult) -> None:
    from alerts.conversation import normalise_number
    from monitor.demo.runner import DEMO_WHATSAPP_NUMBER

    assert demo.whatsapp_messages, "no message reached the local WhatsApp Cloud API"
    assert all(m["to"] == normalise_number(DEMO_WHATSAPP_NUMBER) for m in demo.whatsapp_messages)
    alerts = [
        m for m in demo.whatsapp_messages if m["type"] == "template" and m["template"]["name"] == "oki_peringatan"
    ]
    headlines = [m["template"]["components"][0]["parameters"][0]["text"] for m in alerts]
    assert any(f"OKI-{demo.road_issue_id} " in h for h in headlines), headlines
    assert any("pesan WhatsApp (Cloud API lokal):" in line for line in demo.lines)
    with demo.db.session() as s:
        from monitor.models import Delivery

        sent = s.scalars(select(Delivery).where(Delivery.channel == "whatsapp", Delivery.status == "sent")).all()
    assert len(sent) == len(demo.whatsapp_messages)


def test_demo_used_several_real_sources(demo: DemoResult) -> None:
    with demo.db.session() as s:
        used = {src.kind for src in s.scalars(select(Source)) if src.items_total > 0}
    assert {"rss", "mastodon", "bluesky"} <= used
    assert len(used) >= 5


def test_report_is_in_bahasa_indonesia(demo: DemoResult) -> None:
    text = "\n".join(demo.lines)
    assert "Laporan demo" in text and "sebelum puncak" in text and "WIB" in text


def test_demo_refuses_a_workdir_that_is_not_its_own(tmp_path: Path) -> None:
    """`demo --workdir var` must never wipe production data (issue 19 item 6)."""
    from monitor.cli import main
    from monitor.demo.runner import MARKER, WorkdirRefused, prepare_workdir

    precious = tmp_path / "var"
    precious.mkdir()
    (precious / "oki-monitor.db").write_bytes(b"production")
    with pytest.raises(WorkdirRefused, match="bukan milik demo"):
        prepare_workdir(precious)
    assert main(["demo", "--workdir", str(precious)]) == 2
    assert (precious / "oki-monitor.db").read_bytes() == b"production"
    fresh = tmp_path / "baru" / "demo"
    prepare_workdir(fresh)  # absent: created and marked
    assert (fresh / MARKER).is_file()
    (fresh / "demo.db").write_bytes(b"old run")
    prepare_workdir(fresh)  # the demo's own folder: emptied and marked again
    assert sorted(p.name for p in fresh.iterdir()) == [MARKER]
    empty = tmp_path / "kosong"
    empty.mkdir()
    prepare_workdir(empty)
    assert (empty / MARKER).is_file()
    old = tmp_path / "lama"  # a folder from a demo before the marker existed: only its database
    old.mkdir()
    (old / "demo.db").write_bytes(b"x")
    (old / "demo.db-wal").write_bytes(b"x")
    prepare_workdir(old)
    assert sorted(p.name for p in old.iterdir()) == [MARKER]
    link = tmp_path / "tautan"
    link.symlink_to(precious)
    with pytest.raises(WorkdirRefused):
        prepare_workdir(link)
    assert (precious / "oki-monitor.db").exists()
