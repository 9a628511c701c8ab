"""The offline demo end to end: real collectors, pipeline, SMTP and Telegram servers, simulated clock."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.demo.runner import DemoResult
from monitor.store.models import Alert, Issue, Post, Source
from tests.demo_run import DemoRun
from tests.secrets_support import SECRETS, database_text, leaks

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = pytest.mark.xdist_group("test_demo")


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> DemoResult:
    """The session's one demo run (``tests/demo_run.py``)."""
    return demo_run.result


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
        from monitor.store.models import Delivery

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


def test_demo_hours_outside_the_scenario_are_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    for hours in ("0", "49"):
        assert main(["demo", "--hours", hours, "--workdir", str(tmp_path / "demo")]) == 2
        assert "--hours: harus 1 sampai 48" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


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


def test_report_prints_the_performance_table(demo: DemoResult) -> None:
    """The /kinerja table at the end of the report: PUPR acknowledged the road issue after it went viral."""
    at = next(i for i, line in enumerate(demo.lines) if line.startswith("Kinerja OPD"))
    table = demo.lines[at + 1 :]
    assert table[0].split()[:3] == ["OPD", "Isu", "Konfirmasi"] and "Viral dulu" in table[0]
    pupr = next(line for line in table if "Dinas PUPR OKI" in line)
    assert pupr.split()[-1] == "1"  # viral sebelum ditanggapi


def test_brief_on_the_demo_database_names_its_agencies_and_viral_issue(
    demo: DemoResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`oki-monitor brief` on the demo database writes an A4 PDF whose text (read back with pypdf) names
    the agencies the demo told and its viral road issue."""
    from pypdf import PdfReader

    from tests.cli_support import run_main

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "ringkasan.pdf"
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", demo.config.database_url)
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", SECRETS["OKI_MONITOR_AUTHOR_KEY"])  # the key the demo ran with
    week = "2026-11-03"  # the scenario's Tuesday: the week of 2 to 8 November
    cmd = ["--config", str(root / "config.yaml"), "brief", "--week", week]
    done = run_main(capsys, *cmd, "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "2026-11-02 s.d. 2026-11-08" in done.stdout
    reader = PdfReader(out)
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4 in points
    # Words only: where a paragraph wraps depends on its length (how many issues the week had).
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    with demo.db.session() as s:
        road = s.get(Issue, demo.road_issue_id)
        assert road is not None
        told = {a.agency_code for a in s.scalars(select(Alert).where(Alert.receiver.like("agency:%")))}
    assert "Ringkasan mingguan" in text and "WIB" in text and "Kinerja OPD" in text
    assert f"Baru viral {road.id} " in text and "jalan poros rusak" in text
    assert "Ketepatan peringatan dini" in text and "sebelum viral" in text  # the monitor's own lead time
    names = {a.code: a.name for a in demo.config.agencies}
    for code in told - {None}:
        assert names[str(code)] in text, (code, text)
    bad = run_main(capsys, *cmd[:-1], "pekan-lalu", "--output", str(out))
    assert bad.returncode == 2 and "--week: tanggal" in bad.stderr


def test_backtest_on_the_demo_database_reproduces_its_alerts_and_lead(demo: DemoResult) -> None:
    """Issue 21: replaying the demo's stored posts and readings gives the same first alerts, viral times and lead."""
    from datetime import timedelta

    from monitor.demo.runner import STEP
    from monitor.demo.scenario import HOURS, START
    from monitor.reports.backtest import ALERT_KINDS, replay, summarise
    from monitor.store.models import IssueEvent

    with demo.db.session() as s:
        live_first: dict[int, object] = {}
        for a in s.scalars(select(Alert).where(Alert.kind.in_(ALERT_KINDS)).order_by(Alert.created_at, Alert.id)):
            if a.issue_id is not None:
                live_first.setdefault(a.issue_id, a.created_at)
        live_viral: dict[int, object] = {}
        for e in s.scalars(select(IssueEvent).where(IssueEvent.kind == "stage").order_by(IssueEvent.at)):
            if isinstance(e.detail, dict) and e.detail.get("to") == "viral":
                live_viral.setdefault(e.issue_id, e.at)
        before = s.scalar(select(func.count()).select_from(Alert))
    timelines = replay(demo.db, demo.config, START, START + timedelta(hours=HOURS), step=STEP)
    replayed_first = {t.issue_id: t.first_alert_at for t in timelines if t.first_alert_at is not None}
    replayed_viral = {t.issue_id: t.viral_at for t in timelines if t.viral_at is not None}
    assert replayed_first == live_first
    assert replayed_viral == live_viral
    outcomes, totals = summarise(timelines)
    road = next(o for o in outcomes if o.timeline.issue_id == demo.road_issue_id)
    assert road.timeline.first_alert_at == demo.first_alert_at
    assert road.lead_minutes is not None and road.lead_minutes > 0 and not road.false_alert
    assert totals.warned_early >= 1 and totals.alerted == len(live_first)
    with demo.db.session() as s:  # the real database was only read
        assert s.scalar(select(func.count()).select_from(Alert)) == before


def test_map_of_the_demo_matches_its_board(demo: DemoResult) -> None:
    """GET /api/map?level=kecamatan on the demo data: 18 features, counts equal to the board's (issue 22)."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from monitor.demo.runner import HOURS, START
    from monitor.kernel.clock import SimulatedClock
    from monitor.web.app import create_app
    from monitor.web.auth import Principal
    from monitor.web.queries import board

    comms = Principal(user_id=0, username="demo", role="comms", agency_code=None)
    clock = SimulatedClock(START + timedelta(hours=HOURS))
    with demo.db.session() as s:
        rows = board(s, comms, clock.now(), limit=10_000).rows
    on_board: dict[str, int] = {}
    for row in rows:
        if row.issue.kecamatan:
            on_board[row.issue.kecamatan] = on_board.get(row.issue.kecamatan, 0) + 1
    assert on_board, "the demo leaves open issues with a kecamatan"
    from monitor.web import routes_map

    app = create_app(demo.config, demo.db, clock)
    app.dependency_overrides[routes_map.current_principal] = lambda: comms
    with TestClient(app) as client:
        body = client.get("/api/map?level=kecamatan").json()
    assert len(body["features"]) == 18
    on_map = {f["properties"]["nama"]: f["properties"]["isu"] for f in body["features"] if f["properties"]["isu"]}
    assert on_map == on_board


def test_monitor_reports_its_own_lead_time_for_a_week(demo: DemoResult) -> None:
    """Issue 21 item 4: on stored history, how early the first warning came before viral, and false alerts."""
    from datetime import timedelta

    from monitor.demo.scenario import START
    from monitor.reports.backtest import stored_timelines, summarise

    with demo.db.session() as s:
        week = stored_timelines(s, START, START + timedelta(days=7))
        earlier = stored_timelines(s, START - timedelta(days=7), START)
    assert earlier == []
    road = next(t for t in week if t.issue_id == demo.road_issue_id)
    assert road.first_alert_at == demo.first_alert_at
    assert road.viral_at is not None and road.first_alert_at is not None
    outcomes, totals = summarise(week)
    assert totals.warned_early >= 1 and totals.median_lead_minutes is not None
    # Every issue warned before it was viral counts: the road issue, and (its leading signals) one more.
    leads = [
        (t.viral_at - t.first_alert_at).total_seconds() / 60
        for t in week
        if t.viral_at is not None and t.first_alert_at is not None and t.first_alert_at < t.viral_at
    ]
    assert (road.viral_at - road.first_alert_at).total_seconds() / 60 in leads
    assert totals.warned_early == len(leads) and totals.median_lead_minutes == statistics.median(leads)
    assert totals.false_alerts == sum(o.false_alert for o in outcomes)


def test_a_forwarded_screenshot_joins_the_road_issue(demo: DemoResult) -> None:
    """'Lapor ke monitor': the citizen's screenshot is read by OCR, joins the road issue, and is answered."""
    assert demo.road_issue_id is not None
    assert demo.report_issue_id == demo.road_issue_id
    assert demo.report_reply is not None and f"OKI-{demo.road_issue_id}" in demo.report_reply
    with demo.db.session() as s:
        [text] = s.scalars(select(Post.text).where(Post.platform == "laporan")).all()
    for word in ("sungai", "lumpur", "cengal", "amblas"):
        assert word in (text or "").lower(), text
    assert any("Laporan warga lewat bot Telegram" in line and f"#{demo.road_issue_id}" in line for line in demo.lines)


def test_full_demo_leaks_no_secret(demo_run: DemoRun) -> None:
    """The session's one demo run (``tests/demo_run.py``) ran with these secrets set and logging at DEBUG."""
    from monitor.demo.runner import DEMO_TOKEN

    result = demo_run.result
    values = {**SECRETS, "demo telegram token": DEMO_TOKEN}
    assert result.posts_stored > 0
    assert "Laporan demo" in demo_run.output and "httpx" in demo_run.output, "the scan saw no report or request log"
    assert not leaks(demo_run.output, values), leaks(demo_run.output, values)
    assert not leaks(database_text(result.db), values), leaks(database_text(result.db), values)
    for path in demo_run.workdir.rglob("*"):
        if path.is_file() and path.suffix != ".db":
            assert not leaks(path.read_text(errors="replace"), values), path
