"""Who responds: the per-agency computation (pure), the API (scope, 422 in Bahasa, exports) and the /kinerja page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from alerts.sla import Clocks, Progress, WorkCalendar, deadlines
from monitor.kernel.config import AppConfig
from monitor.reports import kinerja
from monitor.store.db import Database
from monitor.store.models import IssueEvent, Signal
from monitor.web.app import create_app
from tests.web_support import AGENCY_TOKEN, ANALYST_TOKEN, NOW, Seeded, dashboard, login, make_clock, seed, tell_agency

CAL = WorkCalendar(national=False)
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB


def case(agency: str, issue_id: int, received: datetime, progress: Progress, viral_at: datetime | None = None):
    return kinerja.Case(
        issue_id=issue_id,
        agency=agency,
        title=f"isu {issue_id}",
        stage="viral" if viral_at else "naik",
        received_at=received,
        deadlines=deadlines(received, Clocks(3, 5, 10), CAL),
        progress=progress,
        viral_at=viral_at,
    )


def test_medians_share_within_deadline_and_viral_before_ack() -> None:
    h = timedelta(hours=1)
    cases = [
        # Acknowledged in 2 h, answered in 1 day, finished in 3 days: everything in time.
        case("pupr", 1, START, Progress(START + 2 * h, START + 24 * h, START + 72 * h)),
        # Acknowledged after 4 h, but it went viral after 1 h: viral before acknowledged; never answered.
        case("pupr", 2, START, Progress(acknowledged_at=START + 4 * h), viral_at=START + h),
        # Never acknowledged; viral: counts too.
        case("pupr", 3, START, Progress(), viral_at=START + 30 * h),
        # Viral only after the acknowledgement: the agency was first.
        case("pdam", 4, START, Progress(acknowledged_at=START + h), viral_at=START + 5 * h),
    ]
    now = START + timedelta(days=14)
    rows = {r.agency: r for r in kinerja.performance(cases, now, {"pupr": "Dinas PUPR OKI"}, ["bpbd"])}
    pupr = rows["pupr"]
    assert pupr.name == "Dinas PUPR OKI" and pupr.received == 3 and pupr.acknowledged == 2
    assert pupr.median_ack_hours == 3.0  # 2 h and 4 h
    assert pupr.median_response_hours == 24.0 and pupr.median_finish_hours == 72.0
    assert pupr.decided == 3 and pupr.within_deadline == 1 and pupr.share_within_deadline == pytest.approx(1 / 3)
    assert pupr.viral_before_ack == 2
    assert pupr.overdue_now == 2  # cases 2 and 3 still run open clocks past their deadlines
    assert rows["pdam"].viral_before_ack == 0
    assert rows["bpbd"].received == 0 and rows["bpbd"].share_within_deadline is None
    ranked = kinerja.sort_rows(list(rows.values()), "viral_before_ack", descending=True)
    assert [r.agency for r in ranked] == ["pupr", "pdam", "bpbd"]
    by_ack = kinerja.sort_rows(list(rows.values()), "median_ack_hours")
    assert [r.agency for r in by_ack] == ["pdam", "pupr", "bpbd"]  # no data last
    lines = kinerja.table_text(list(rows.values()))
    assert lines[0].startswith("OPD") and any("Dinas PUPR OKI" in line and "3,0 jam" in line for line in lines)


def test_a_case_not_yet_due_is_not_judged_and_a_rerouted_case_stops() -> None:
    fresh = case("pupr", 1, START, Progress())
    assert not kinerja.decided(fresh, START + timedelta(days=1))
    moved = case("pupr", 2, START, Progress(stopped_at=START + timedelta(hours=3)))
    assert kinerja.missed(moved, START + timedelta(days=30)) == []


def test_period_parsing_names_the_field_in_bahasa() -> None:
    today = date(2026, 11, 29)
    assert kinerja.parse_period(None, None, today) == kinerja.Period(date(2026, 10, 31), today)
    with pytest.raises(kinerja.PeriodError, match=r"^from: tanggal '2026-13-01' tidak valid"):
        kinerja.parse_period("2026-13-01", None, today)
    with pytest.raises(kinerja.PeriodError, match=r"^to: "):
        kinerja.parse_period(None, "kemarin", today)
    with pytest.raises(kinerja.PeriodError, match="sesudah tanggal akhir"):
        kinerja.parse_period("2026-11-20", "2026-11-10", today)


# ---------------------------------------------------------------- database, API and page


@pytest.fixture
def env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    seeded = seed(sqlite_db)
    told = NOW - timedelta(hours=8)
    tell_agency(sqlite_db, seeded.rising_id, "pupr", told, "k-rising")
    tell_agency(sqlite_db, seeded.pdam_id, "pdam", told, "k-pdam")
    with sqlite_db.session() as s:
        # The PUPR issue went viral 2 h after PUPR was told, and nobody acknowledged it.
        s.add(Signal(issue_id=seeded.rising_id, at=told + timedelta(hours=2), stage="viral", score=0.95, mentions=80))
        # PDAM acknowledged after 30 minutes.
        s.add(IssueEvent(issue_id=seeded.pdam_id, at=told + timedelta(minutes=30), kind="acknowledged", actor="pdam"))
    with TestClient(create_app(config, sqlite_db, make_clock())) as c:
        yield c, seeded, sqlite_db


def test_load_cases_from_the_database(env: tuple[TestClient, Seeded, Database], config: AppConfig) -> None:
    _client, seeded, db = env
    period = kinerja.Period(date(2026, 11, 1), date(2026, 11, 29))
    with db.session() as s:
        rows = {r.agency: r for r in kinerja.agency_performance(s, config, period, NOW)}
        cases = kinerja.load_cases(s, config, period)
    assert {c.issue_id for c in cases} == {seeded.rising_id, seeded.pdam_id}
    assert rows["pupr"].received == 1 and rows["pupr"].viral_before_ack == 1 and rows["pupr"].acknowledged == 0
    assert rows["pdam"].received == 1 and rows["pdam"].median_ack_hours == 0.5 and rows["pdam"].viral_before_ack == 0
    assert set(rows) >= set(config.routing.values())  # every routed agency has a row
    # A period before the alerts holds nothing.
    with db.session() as s:
        assert kinerja.load_cases(s, config, kinerja.Period(date(2026, 10, 1), date(2026, 10, 31))) == []


def test_api_scoping_sorting_and_exports(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, _db = env
    analyst = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    body = client.get("/api/agencies/performance?from=2026-11-01&to=2026-11-29", headers=analyst).json()
    assert body["from"] == "2026-11-01" and body["to"] == "2026-11-29"
    by = {a["agency"]: a for a in body["agencies"]}
    assert by["pupr"]["viral_before_acknowledged"] == 1 and by["pdam"]["median_hours_to_acknowledge"] == 0.5
    ranked = client.get("/api/agencies/performance?sort=viral_before_ack&desc=true", headers=analyst).json()
    assert ranked["agencies"][0]["agency"] == "pupr"
    # An agency user gets its own row only.
    own = client.get("/api/agencies/performance", headers={"Authorization": f"Bearer {AGENCY_TOKEN}"}).json()
    assert [a["agency"] for a in own["agencies"]] == ["pupr"]
    exported = client.get("/api/agencies/performance?format=csv", headers=analyst)
    assert exported.status_code == 200 and "kinerja-opd-" in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0] == list(kinerja.HEADER) and any(r[0] == "pupr" and r[7] == "1" for r in table[1:])
    xlsx = client.get("/api/agencies/performance?format=xlsx", headers=analyst)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(1, 1).value == "Kode OPD"


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2026-02-30", "from"), ("to=besok", "to"), ("from=2026-11-20&to=2026-11-01", "from")],
)
def test_api_bad_dates_are_422_in_bahasa(env: tuple[TestClient, Seeded, Database], query: str, field: str) -> None:
    client, _seeded, _db = env
    response = client.get(f"/api/agencies/performance?{query}", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: ") and "tanggal" in detail


def test_kinerja_page(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, _db = env
    login(client, "kominfo")
    html = client.get("/kinerja?from=2026-11-01&to=2026-11-29").text
    assert "Kinerja OPD" in html and "Viral sebelum ditanggapi" in html
    assert "Dinas PUPR OKI" in html and "<svg" in html and "format=csv" in html and "format=xlsx" in html
    assert 'aria-sort="descending"' in html  # sorted by viral-before-acknowledged by default
    sorted_page = client.get("/kinerja?sort=median_ack_hours&desc=false").text
    assert 'aria-sort="ascending"' in sorted_page
    bad = client.get("/kinerja?from=2026-02-30")
    assert bad.status_code == 400 and "from: tanggal" in bad.text


def test_kinerja_page_for_an_agency_shows_its_own_row(config: AppConfig, sqlite_db: Database) -> None:
    seeded = seed(sqlite_db)
    tell_agency(sqlite_db, seeded.pdam_id, "pdam", NOW - timedelta(hours=3), "k-pdam")
    with dashboard(config, sqlite_db, "pupr") as client:
        html = client.get("/kinerja").text
    assert 'data-agency="pupr"' in html and 'data-agency="pdam"' not in html


def test_rerouted_issue_counts_each_agency_for_its_own_steps(config: AppConfig, sqlite_db: Database) -> None:
    """PUPR acknowledges and hands the issue to Dinas Perhubungan (salah dinas); Dishub finishes it.

    The workflow's history (``issue_responses``) keeps the steps apart: Dishub's finish is not PUPR's, and
    PUPR's stopped clock is not missed.
    """
    from alerts import respond
    from alerts.engine import evaluate
    from monitor.store.models import Issue
    from tests.telegram_server import alert_config, make_issue

    cfg = alert_config(config)
    t0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB
    with sqlite_db.session() as s:
        issue = make_issue(s, t0)
        evaluate(s, cfg, t0)
    with sqlite_db.session() as s:
        issue = s.get(Issue, issue.id)
        assert issue is not None
        respond.set_status(s, cfg, issue, "diterima", None, actor="pupr", channel="api", now=t0 + timedelta(hours=1))
        respond.reroute(
            s,
            cfg,
            issue,
            "Dinas Perhubungan OKI",
            "jalan nasional",
            actor="pupr",
            channel="api",
            now=t0 + timedelta(hours=2),
        )
        to = issue.agency_code
    assert to != "pupr"
    with sqlite_db.session() as s:
        issue = s.get(Issue, issue.id)
        assert issue is not None
        respond.set_status(
            s, cfg, issue, "selesai", "sudah ditambal", actor=str(to), channel="api", now=t0 + timedelta(hours=30)
        )
    with sqlite_db.session() as s:
        rows = {
            r.agency: r
            for r in kinerja.agency_performance(
                s, cfg, kinerja.Period(date(2026, 12, 1), date(2026, 12, 7)), t0 + timedelta(days=20)
            )
        }
    pupr, other = rows["pupr"], rows[str(to)]
    assert pupr.received == 1 and pupr.median_ack_hours == 1.0 and pupr.finished == 0
    assert pupr.overdue_now == 0 and pupr.within_deadline == 1  # its clock stopped at the move
    assert other.received == 1 and other.finished == 1 and other.median_finish_hours == 28.0


def test_weekly_lead_time_is_split_by_wib_monday() -> None:
    """The monitor's own lead time per week: a Sunday-evening UTC warning is Monday in WIB."""
    from monitor.reports.backtest import IssueTimeline, weekly

    sunday_utc = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)  # Monday 30 Nov, 01:00 WIB
    timelines = [
        IssueTimeline(1, "a", "infrastruktur", "Cengal", sunday_utc, sunday_utc + timedelta(hours=3), 2),
        IssueTimeline(2, "b", "air_bersih", None, sunday_utc - timedelta(days=2), None, 1),
        IssueTimeline(3, "c", "banjir", None, None, sunday_utc - timedelta(days=3), 0),
        IssueTimeline(4, "d", "banjir", None, None, None, 0),
    ]
    weeks = weekly(timelines)
    assert [monday for monday, _o, _t in weeks] == [date(2026, 11, 23), date(2026, 11, 30)]
    early, late = weeks[0][2], weeks[1][2]
    assert (early.alerted, early.viral, early.missed, early.false_alerts) == (1, 1, 1, 1)
    assert (late.warned_early, late.median_lead_minutes, late.false_alerts) == (1, 180.0, 0)


def test_kinerja_page_shows_the_monitors_lead_time(env: tuple[TestClient, Seeded, Database]) -> None:
    client, seeded, db = env
    told = NOW - timedelta(hours=8)
    with db.session() as s:
        s.add(IssueEvent(issue_id=seeded.rising_id, at=told + timedelta(hours=2), kind="stage",
                         detail={"from": "naik", "to": "viral"}))  # fmt: skip
    login(client, "kominfo")
    html = client.get("/kinerja?from=2026-11-01&to=2026-11-29").text
    section = html[html.index('id="peringatan-dini"') :]
    assert "23 Nov 2026" in section and "2,0 jam" in section
    row = section[section.index("23 Nov 2026") : section.index("</tr>", section.index("23 Nov 2026"))]
    assert [c for c in re.findall(r'class="num">([^<]*)<', row)] == ["2", "1", "1", "2,0 jam", "0", "1"]
    login(client, "pupr")
    assert 'id="peringatan-dini"' not in client.get("/kinerja").text
