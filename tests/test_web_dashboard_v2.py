"""Dashboard v2 (issue 22): the board says what needs action, the issue page speaks Bahasa, no code or
Python value reaches a page, and the pages stay small."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from monitor.domain import display
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Issue, IssueEvent
from monitor.web import queries, timeline
from monitor.web.auth import Principal
from tests.web_support import (
    NOW,
    REASONS,
    Seeded,
    busy_issue,
    dashboard,
    many_open_issues,
    seed,
    seed_history,
)

EVERYONE = Principal(user_id=0, username="t", role="comms", agency_code=None)


@pytest.fixture
def env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    seeded = seed(sqlite_db)
    seed_history(sqlite_db, seeded)
    with dashboard(config, sqlite_db, "admin") as c:
        yield c, seeded, sqlite_db


class _Text(HTMLParser):
    """The text a person reads (and a screen reader speaks): text nodes outside scripts and styles, and the
    accessible names and hover texts in attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if k in ("title", "aria-label", "placeholder") and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


RAW = re.compile(
    r"\b(first|update|repeat|escalation|regression|source_health|delivery_failed|pending|sent|failed|dead)\b"
    r"|agency:\w+|-100\d{6,}|628\d{8,}|\{'|datetime\.|\bNone\b|\bTrue\b|\bFalse\b|\w+=\d+|quota_used|salah_dinas"
    r"|belum_ditanggapi|bukan_keluhan|air_bersih|label_corrected|closed_quiet|merged_into"
)
"""Codes of alert kinds, delivery statuses, receivers, chat ids and phone numbers, stored keys, Python reprs."""


def test_no_page_shows_a_code_or_a_python_value(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    pages = [
        "/",
        "/partials/board",
        f"/issues/{s.rising_id}",
        f"/issues/{s.rising_id}?hal=2",
        f"/issues/{s.pdam_id}",
        "/trends",
        "/trends?view=agency",
        "/trends?view=kecamatan&bucket=week",
        "/kinerja",
        "/agency",
        "/agency/pupr",
        "/peta",
        "/sources",
        "/admin/users",
        "/silences",
        "/triage",
        "/account/password",
    ]
    found = {}
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        hits = sorted({m.group(0) for m in RAW.finditer(visible_text(r.text))})
        if hits:
            found[path] = hits
    assert found == {}
    # The same page did show these stored facts, by name.
    issue = visible_text(client.get(f"/issues/{s.rising_id}").text)
    for words in ("Eskalasi", "Pembaruan", "Untuk diketahui", "Gagal permanen", "Gagal, akan dicoba lagi",
                  "Menunggu dikirim", "Telegram Dinas PUPR OKI", "WhatsApp Dinas PUPR OKI", "Humas"):  # fmt: skip
        assert words in issue, words
    sources = visible_text(client.get("/sources").text)
    assert "batas 450, sisa 449, pulih 29 Nov 2026 14.00 WIB" in sources and "kuota terpakai 927 dari 9000" in sources


def test_issue_page_opens_with_stage_reasons_and_forecast_and_tells_its_history(
    env: tuple[TestClient, Seeded, Database],
) -> None:
    client, s, _db = env
    html = client.get(f"/issues/{s.rising_id}").text
    head = html[html.index('id="issue-why"') : html.index("</section>", html.index('id="issue-why"'))]
    assert html.index('id="issue-why"') < html.index('id="tanggapan"') < html.index('id="chart-hourly"')
    assert "Naik karena laju 6 unggahan/jam, 3x di atas garis dasar dan tumbuh 40% per jam." in head
    assert "<li>Peluang viral 91% dalam 24 jam (terkalibrasi), perkiraan ±1,6 jam lagi.</li>" in head
    assert "Perkiraan viral: <strong>±1,6 jam</strong>" in head
    history = html[html.index('id="issue-timeline"') :]
    history = visible_text(history[: history.index("</ul>")])
    for sentence in (
        "Tahap berubah dari Baru ke Naik (laju 6 unggahan/jam, 3x di atas garis dasar; tumbuh 40% per jam).",
        "Topik utama berubah dari Air bersih ke Infrastruktur.",
        "Diterima oleh pupr (peringatan untuk Dinas PUPR OKI).",
        f"Label unggahan #{s.plain_post_id} dikoreksi oleh kominfo: OPD menjadi PDAM Tirta Agung OKI.",
        "Dinas PUPR OKI menandai isu diproses oleh pupr lewat Telegram: “Tim turun”",
        "Dinas PUPR OKI menyatakan salah dinas oleh pupr lewat dasbor; isu dialihkan ke PDAM Tirta Agung OKI.",
        "Ditunda sampai 30 Nov 2026 13.00 WIB oleh pupr lewat API: “menunggu alat”",
        f"Isu #{s.quiet_id} digabung ke isu ini oleh kominfo.",
        "Isu terbentuk dari unggahan pertama.",
    ):
        assert sentence in history, (sentence, history)


def test_event_sentences_never_show_the_stored_detail() -> None:
    def name(code: str | None) -> str:
        return {"pupr": "Dinas PUPR OKI"}.get(code or "", "OPD lain")

    odd = timeline.event_sentence("something_new", {"x": {"y": None}}, "kominfo", name)
    assert odd == "Perubahan pada isu dicatat oleh kominfo." and "{" not in odd
    assert timeline.event_sentence("stage", {"from": "naik", "to": "viral"}, "sistem", name) == (
        "Tahap berubah dari Naik ke Viral."
    )
    assert timeline.event_sentence("split", {"to": 7, "posts": [1, 2]}, "ani", name) == (
        "2 unggahan dipisah ke isu baru #7 oleh ani."
    )


def test_stage_sentence_picks_the_telling_reasons() -> None:
    assert display.stage_sentence("naik", REASONS) == (
        "Naik karena laju 6 unggahan/jam, 3x di atas garis dasar dan tumbuh 40% per jam."
    )
    viral = ["laju 40 unggahan/jam", "diberitakan 2 kali oleh portal berita", "sudah melewati ambang viral (50 ...)"]
    assert display.stage_sentence("viral", viral) == (
        "Viral karena sudah melewati ambang viral dan laju 40 unggahan/jam."
    )
    assert display.stage_sentence("baru", ["laju 1 unggahan/jam", "masih sedikit unggahan/akun"]) == (
        "Baru karena masih sedikit unggahan/akun dan laju 1 unggahan/jam."
    )
    assert display.stage_sentence("mereda", []) == "Mereda: belum ada penilaian."


def test_board_puts_what_needs_action_first_and_sums_it_up(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    with db.session() as session:
        # A viral issue somebody already took: high score, but it needs no action now.
        taken = Issue(topic="bencana", agency_code="bpbd", kecamatan="Cengal", title="Banjir sudah ditangani",
                      status="open", stage="viral", score=99.0, p_viral=1.0, first_seen=NOW, last_seen=NOW,
                      created_at=NOW, updated_at=NOW, acknowledged_at=NOW, acknowledged_by="bpbd")  # fmt: skip
        session.add(taken)
        session.flush()
        session.add(IssueEvent(issue_id=taken.id, at=NOW - timedelta(hours=1), kind="stage",
                               detail={"from": "naik", "to": "viral", "reasons": []}, actor="sistem"))  # fmt: skip
        session.add(IssueEvent(issue_id=taken.id, at=NOW - timedelta(days=2), kind="stage",
                               detail={"from": "naik", "to": "viral", "reasons": []}, actor="sistem"))  # fmt: skip
        taken_id = taken.id
    html = client.get("/").text
    order = [int(i) for i in re.findall(r'<tr class="[^"]*" data-issue="(\d+)"', html)]
    # The rising, unacknowledged issue leads; the acknowledged viral one (score 99) follows it.
    assert order[0] == s.rising_id and order.index(taken_id) > 0
    first = html[html.index(f'data-issue="{s.rising_id}"') :]
    first = first[: first.index("</tr>")]
    assert "act-now" in html[html.rindex("<tr", 0, html.index(f'data-issue="{s.rising_id}"')) :][:60]
    assert "Perlu tindakan" in first and "Naik karena laju 6 unggahan/jam" in first
    summary = visible_text(html[html.index('<section id="board-summary"') : html.index("</section>")])
    assert re.sub(r"\s+", " ", summary).strip() == (
        "Ringkasan isu terbuka 4 isu terbuka 1 Viral 1 Naik 2 Baru 0 Mereda "
        "1 belum diterima 0 terlambat 1 viral hari ini"
    )
    stage_link = re.search(r'href="(/\?stage=naik)"', html)
    assert stage_link and f'data-issue="{s.pdam_id}"' not in client.get(stage_link.group(1).replace("&amp;", "&")).text
    # Filtered, the strip counts what the filter keeps.
    pdam = visible_text(client.get("/partials/board?opd=pdam").text)
    assert "1 isu terbuka" in re.sub(r"\s+", " ", pdam)


def test_sparkline_and_issue_chart_are_the_same_counts(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    with db.session() as session:
        rows = queries.board(session, EVERYONE, NOW).rows
    spark = next(r for r in rows if r.issue.id == s.rising_id).spark
    assert len(spark) == 24 and sum(spark) == 9  # the seeded posts of the last day, by hour
    board = client.get("/").text
    row = board[board.index(f'data-issue="{s.rising_id}"') :]
    drawn = re.search(r'<svg class="spark"[^>]*data-values="([^"]*)"', row)
    assert drawn and [int(v) for v in drawn.group(1).split(",")] == spark
    assert re.search(r'aria-label="Unggahan per jam, 24 jam terakhir: 9 unggahan, puncak \d+ pada [^"]+ WIB', row)
    page = client.get(f"/issues/{s.rising_id}").text
    table = page[page.index('id="hourly-table"') :]
    listed = dict(
        re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', table[: table.index("</table>")])
    )
    start = NOW.replace(minute=0) - timedelta(hours=23)
    from monitor.kernel.clock import format_wib

    expected = {format_wib(start + timedelta(hours=k)): str(n) for k, n in enumerate(spark) if n}
    assert {k: v for k, v in listed.items() if k in expected} == expected


def test_trends_default_to_two_weeks_by_day_with_views_by_agency_and_kecamatan(
    env: tuple[TestClient, Seeded, Database],
) -> None:
    client, _s, _db = env
    html = client.get("/trends").text
    chart = html[html.index('<svg class="chart"') : html.index("</svg>", html.index('<svg class="chart"'))]
    assert chart.count('class="hit"') == 14  # fourteen days, one hover column each
    assert "Keluhan per topik" in html and 'aria-current="true" class="current">Per topik' in html
    agency = client.get("/trends?view=agency").text
    assert "Keluhan per OPD" in agency and "Dinas PUPR OKI" in agency[agency.index('id="trend-bars"') :]
    kec = client.get("/trends?view=kecamatan").text
    bars = kec[kec.index('id="trend-bars"') :]
    assert "Kayu Agung" in bars and "Pedamaran" in bars
    assert "tampilan 'x' tidak dikenal" in visible_text(client.get("/trends?view=x").text)


def test_board_is_small_with_two_hundred_open_issues(config: AppConfig, sqlite_db: Database) -> None:
    seed(sqlite_db)
    many_open_issues(sqlite_db, 200)
    with dashboard(config, sqlite_db, "kominfo") as client:
        html = client.get("/").content
        summary = visible_text(html.decode())
    assert "203 isu terbuka" in re.sub(r"\s+", " ", summary)
    assert len(gzip.compress(html)) < 30_000, (len(html), len(gzip.compress(html)))
    print(f"board with 203 open issues: {len(html)} bytes, {len(gzip.compress(html))} gzipped")


def test_issue_page_is_small_with_two_thousand_posts(config: AppConfig, sqlite_db: Database) -> None:
    seed(sqlite_db)
    issue_id = busy_issue(sqlite_db, 2000)
    with dashboard(config, sqlite_db, "kominfo") as client:
        first = client.get(f"/issues/{issue_id}")
        last = client.get(f"/issues/{issue_id}?hal=80")
    assert first.status_code == 200 and len(first.content) < 100_000, len(first.content)
    print(f"issue page with 2000 posts: {len(first.content)} bytes")
    assert "Halaman 1 dari 80" in first.text and "Unggahan 1976–2000 dari 2000" in last.text


def test_summary_and_rows_keep_the_agency_scope(config: AppConfig, sqlite_db: Database) -> None:
    s = seed(sqlite_db)
    seed_history(sqlite_db, s)
    many_open_issues(sqlite_db, 12)  # four of them PDAM's, with posts and alerts
    with dashboard(config, sqlite_db, "pupr") as client:
        html = client.get("/").text
    summary = re.sub(
        r"\s+", " ", visible_text(html[html.index('<section id="board-summary"') : html.index("</section>")])
    )
    # PUPR's own: the two seeded issues and four of the twelve; PDAM's and BPBD's are neither counted nor listed.
    assert "6 isu terbuka" in summary and "5 belum diterima" in summary
    listed = {int(i) for i in re.findall(r'data-issue="(\d+)"', html)}
    with sqlite_db.session() as session:
        agencies = {i.agency_code for i in session.query(Issue).filter(Issue.id.in_(listed))}
    assert len(listed) == 6 and agencies == {"pupr"}
