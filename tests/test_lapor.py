"""SP4N-LAPOR! bridge: export parsing (CSV/XLSX, header and date variants, bad rows, hostile files) and the
import through ingest, classification and grouping (same export twice, status changes), SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.engine import evaluate
from classifiers.model import load_classifier
from collectors import lapor as parser
from collectors.lapor import parse_date, parse_export
from monitor.cli import main
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.scheduler import build_scheduler
from monitor.service import MonitorService
from monitor.stages.lapor import EVENT_KIND, event_sentence, import_export, tickets_of_issue
from monitor.stages.pipeline import run_pipeline
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, IssueEvent, IssuePost, Post, Source
from tests.lapor_support import ROAD_A, ROAD_B, WATER, csv_bytes, xlsx_bytes

# Tuesday 1 December 2026, 09:00 WIB: a working day, outside quiet hours.
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

# ------------------------------------------------------------------ parsing (pure)


def test_csv_with_header_variants_semicolons_and_indonesian_dates() -> None:
    header = ["No. Tracking", "JUDUL LAPORAN", "Isi Laporan", "kategori", "Instansi Tujuan", "Status Laporan", "Tgl"]
    rows = [["#4210001", "Jalan rusak", "Isi; dengan titik koma", "Infrastruktur", "PUPR", "Proses", "2 Nov 2026"]]
    parsed = parse_export(csv_bytes(rows, sep=";", header=header), "ekspor.csv", now=NOW)
    assert parsed.errors == [] and len(parsed.tickets) == 1
    t = parsed.tickets[0]
    assert (t.tracking_id, t.judul, t.isi, t.kategori, t.instansi, t.status) == (
        "4210001",
        "Jalan rusak",
        "Isi; dengan titik koma",
        "Infrastruktur",
        "PUPR",
        "Proses",
    )
    assert t.created_at == datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # midnight WIB


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        ("2026-11-02 08:15:00", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),
        ("2026-11-02T08:15:00+07:00", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),
        ("2026-11-02T01:15:00Z", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),
        ("Senin, 2 November 2026 08.15 WIB", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),
        ("02 Nop 2026 08:15", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),
        ("2 Agustus 2026 pukul 10.00 WITA", datetime(2026, 8, 2, 2, 0, tzinfo=UTC)),
        ("2/11/2026 08:15", datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),  # day first, as Indonesia writes
        ("02-11-2026", datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
        (datetime(2026, 11, 2, 8, 15), datetime(2026, 11, 2, 1, 15, tzinfo=UTC)),  # an XLSX cell, WIB
        ("31/02/2026", None),
        ("2 Brumaire 2026", None),
        ("kemarin", None),
        (None, None),
    ],
)
def test_dates(text: object, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_xlsx_with_numeric_tracking_ids_and_date_cells() -> None:
    rows: list[list[object]] = [
        [
            4210001.0,
            "Jalan rusak",
            "Jalan rusak di Pedamaran",
            "Infrastruktur",
            "PUPR",
            "Proses",
            datetime(2026, 11, 30, 8, 15),
        ],
        ["4210002", "Air mati", "Air PDAM mati", "Air", "PDAM", "Selesai", "30 November 2026"],
    ]
    parsed = parse_export(xlsx_bytes(rows), "ekspor.xlsx", now=NOW)
    assert parsed.errors == []
    assert [t.tracking_id for t in parsed.tickets] == ["4210001", "4210002"]
    assert parsed.tickets[0].created_at == datetime(2026, 11, 30, 1, 15, tzinfo=UTC)


def test_bad_rows_are_named_and_good_rows_kept() -> None:
    rows = [
        ROAD_A,
        ["", "Tanpa nomor", "isi", "", "", "", "2026-11-30"],  # row 3
        ["4210009", "Tanggal aneh", "isi", "", "", "", "besok pagi"],  # row 4
        ["4210010", "", "", "", "", "", "2026-11-30"],  # row 5
        ["4210011", '=HYPERLINK("http://evil")', "isi", "", "", "", "2026-11-30"],  # row 6
        ["4210012", "Masa depan", "isi", "", "", "", "2027-06-01"],  # row 7
        ["4210001", "Ganda", "isi", "", "", "", "2026-11-30"],  # row 8
        ["4210013", "Catatan", "-2+3 @SUM(A1)", "", "", "", "2026-11-30"],  # row 9
        ["4210014", "Daftar", "- jalan rusak\n- lampu mati", "", "", "", "2026-11-30"],  # a bullet is text
        WATER,
    ]
    parsed = parse_export(csv_bytes(rows), "ekspor.csv", now=NOW)
    assert [t.tracking_id for t in parsed.tickets] == ["4210001", "4210014", "4210003"]
    assert parsed.rows == 10
    assert [e.split(":", 1)[0] for e in parsed.errors] == [f"baris {n}" for n in (3, 4, 5, 6, 7, 8, 9)]
    assert "Tracking ID" in parsed.errors[0] and "besok pagi" in parsed.errors[1]
    assert "judul dan isi kosong" in parsed.errors[2] and "rumus" in parsed.errors[3]
    assert "masa depan" in parsed.errors[4] and "baris 2" in parsed.errors[5] and "rumus" in parsed.errors[6]


def test_windows_1252_export_and_an_oversized_csv_field() -> None:
    """Excel's "CSV" on Indonesian Windows is Windows-1252; a field beyond the csv module's limit costs its row only."""
    rows = [["4210001", "Jalan rusak – café", "Isi", "", "", "Proses", "2026-11-30"]]
    parsed = parse_export(csv_bytes(rows).decode().encode("cp1252"), "excel.csv", now=NOW)
    assert parsed.errors == [] and parsed.tickets[0].judul == "Jalan rusak – café"
    huge = ["4210099", "Panjang", "x" * (200 * 1024), "", "", "", "2026-11-30"]
    parsed = parse_export(csv_bytes([huge, ROAD_B]), "besar.csv", now=NOW)
    assert [t.tracking_id for t in parsed.tickets] == ["4210002"]  # ROAD_B, the next row
    assert len(parsed.errors) == 1 and parsed.errors[0].startswith("baris 2: CSV rusak")


def test_formula_cell_in_xlsx_is_refused_not_evaluated() -> None:
    rows: list[list[object]] = [["4210001", "Judul", "=1+1", "", "", "", "2026-11-30"], ROAD_B]
    parsed = parse_export(xlsx_bytes(rows), "ekspor.xlsx", now=NOW)
    assert [t.tracking_id for t in parsed.tickets] == ["4210002"]
    assert parsed.errors[0].startswith("baris 2:") and "rumus" in parsed.errors[0]


def test_hostile_files_give_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        "huge": (b"a,b\n" + b"x" * (parser.MAX_FILE_BYTES + 1), "terlalu besar"),
        "pdf": (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj", "bukan berkas CSV atau XLSX"),
        "binary": (b"\x7fELF\x02\x01\x00\x00" * 10, "bukan berkas CSV atau XLSX"),
        "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        "empty": (b"  \n", "kosong"),
        "no_columns": (b"nama,alamat\nBudi,Kayuagung\n", "kolom wajib tidak ditemukan: Tracking ID, tanggal"),
        "not_csv": (b"hanya satu kalimat tanpa pemisah\n", "pemisah"),
        "broken_zip": (b"PK\x03\x04" + b"rusak" * 20, "rusak"),
    }
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("data.txt", "bukan excel")
    cases["zip_not_xlsx"] = (plain_zip.getvalue(), "bukan XLSX")
    for label, (data, expected) in cases.items():
        parsed = parse_export(data, f"{label}.csv", now=NOW)
        assert parsed.file_error and parsed.tickets == [], label
        assert len(parsed.errors) == 1 and expected in parsed.errors[0], (label, parsed.errors)
    # A workbook that unpacks beyond the limit (a zip bomb) is refused before openpyxl reads it.
    monkeypatch.setattr(parser, "MAX_UNZIPPED_BYTES", 1000)
    parsed = parse_export(xlsx_bytes([ROAD_A]), "bom.xlsx", now=NOW)
    assert parsed.file_error and "terlalu besar setelah dibuka" in parsed.errors[0]


def test_ticket_becomes_a_lapor_post() -> None:
    ticket = parse_export(csv_bytes([ROAD_A]), "e.csv", now=NOW).tickets[0]
    item = parser.to_item(ticket, "lapor", url_pattern="https://www.lapor.go.id/pengaduan/{tracking_id}")
    assert (item.platform, item.external_id, item.url) == (
        "lapor",
        "4210001",
        "https://www.lapor.go.id/pengaduan/4210001",
    )
    assert item.text.startswith("Jalan rusak parah di Desa Menang Raya.\nJalan utama") and item.author is None
    assert item.extra["lapor"]["instansi"] == "Dinas PUPR Kabupaten Ogan Komering Ilir"
    assert item.extra["lapor"]["status"] == "Belum Terverifikasi"


# ------------------------------------------------------------------ import through the pipeline (both databases)


def _process(db: Database, config: AppConfig, now: datetime) -> None:
    run_pipeline(db, load_classifier(), config, now, alert_hook=evaluate)


def _counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {
            "posts": s.scalar(select(func.count()).select_from(Post)) or 0,
            "events": s.scalar(select(func.count()).select_from(IssueEvent)) or 0,
            "lapor_events": s.scalar(select(func.count()).select_from(IssueEvent).where(IssueEvent.kind == EVENT_KIND))
            or 0,
            "alerts": s.scalar(select(func.count()).select_from(Alert)) or 0,
            "issues": s.scalar(select(func.count()).select_from(Issue)) or 0,
        }


def _issue_of(db: Database, tracking_id: str) -> int:
    with db.session() as s:
        issue_id = s.scalar(
            select(IssuePost.issue_id).join(Post, Post.id == IssuePost.post_id).where(Post.external_id == tracking_id)
        )
    assert issue_id is not None, f"ticket {tracking_id} is in no issue"
    return issue_id


def test_same_export_twice_changes_nothing_and_a_status_change_shows_once(db: Database, config: AppConfig) -> None:
    export = csv_bytes([ROAD_A, ROAD_B, WATER])
    first = import_export(db, config, export, "lapor-november.csv", NOW)
    assert (first.tickets, first.stored, first.known, first.errors) == (3, 3, 0, [])
    _process(db, config, NOW + timedelta(minutes=1))
    road = _issue_of(db, "4210001")
    assert _issue_of(db, "4210002") == road  # two tickets about one road: one issue
    assert _issue_of(db, "4210003") != road
    with db.session() as s:
        tickets = tickets_of_issue(s, road)
    assert [(t["tracking_id"], t["url"], t["status"]) for t in tickets] == [
        ("4210001", "https://www.lapor.go.id/pengaduan/4210001", "Belum Terverifikasi"),
        ("4210002", "https://www.lapor.go.id/pengaduan/4210002", "Belum Terverifikasi"),
    ]
    before = _counts(db)
    assert before["posts"] == 3 and before["lapor_events"] == 0

    again = import_export(db, config, export, "lapor-november (1).csv", NOW + timedelta(hours=1))
    assert (again.stored, again.known, again.status_changes) == (0, 3, 0)
    _process(db, config, NOW + timedelta(hours=1, minutes=1))
    assert _counts(db) == before  # no post, no timeline entry, no alert, no issue

    # A later export: ticket A is now being handled.
    later = csv_bytes([[*ROAD_A[:5], "Proses", ROAD_A[6]], ROAD_B, WATER], sep=";")
    for hour in (2, 3):  # imported twice: the change is written once
        report = import_export(db, config, later, "lapor-desember.csv", NOW + timedelta(hours=hour))
        _process(db, config, NOW + timedelta(hours=hour, minutes=1))
        assert report.status_changes == (1 if hour == 2 else 0)
    after = _counts(db)
    assert after["lapor_events"] == 1 and after["posts"] == 3 and after["alerts"] == before["alerts"]
    with db.session() as s:
        event = s.scalars(select(IssueEvent).where(IssueEvent.kind == EVENT_KIND)).one()
        assert event.issue_id == road and event.actor == "LAPOR!"
        sentence = event_sentence(event.detail)
        status = tickets_of_issue(s, road)[0]["status"]
    assert sentence == "Status laporan LAPOR! #4210001 berubah dari “Belum Terverifikasi” menjadi “Proses”."
    assert status == "Proses"


def test_status_change_before_grouping_is_kept_with_the_ticket(db: Database, config: AppConfig) -> None:
    """A change seen while the ticket is in no issue yet has no timeline to go to: the ticket keeps it."""
    import_export(db, config, csv_bytes([ROAD_A]), "a.csv", NOW)
    changed = import_export(
        db, config, csv_bytes([[*ROAD_A[:5], "Proses", ROAD_A[6]]]), "b.csv", NOW + timedelta(hours=1)
    )
    assert (changed.status_changes, changed.timeline) == (1, 0)
    _process(db, config, NOW + timedelta(hours=1, minutes=1))
    with db.session() as s:
        (ticket,) = tickets_of_issue(s, _issue_of(db, "4210001"))
    assert ticket["status"] == "Proses"
    assert [(h["from"], h["to"], h["at"]) for h in ticket["history"]] == [
        ("Belum Terverifikasi", "Proses", NOW + timedelta(hours=1))
    ]
    assert _counts(db)["lapor_events"] == 0


def test_ticket_without_oki_words_is_still_stored_and_grouped(db: Database, config: AppConfig) -> None:
    """The export is the regency's own inbox: the ingest pre-filter and the relevance model must not drop it."""
    plain = [
        "4219999",
        "Lampu jalan mati",
        "Lampu penerangan jalan di depan rumah saya mati sudah seminggu.",
        "",
        "",
        "",
        "2026-11-30",
    ]
    report = import_export(db, config, csv_bytes([plain]), "e.csv", NOW)
    assert report.stored == 1
    _process(db, config, NOW + timedelta(minutes=1))
    _issue_of(db, "4219999")


def test_cli_imports_xlsx_and_names_bad_rows(
    db: Database, config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", str(db.engine.url.render_as_string(hide_password=False)))
    path = tmp_path / "lapor.xlsx"
    path.write_bytes(xlsx_bytes([ROAD_A, ["4210077", "Tanpa tanggal", "isi", "", "", "", ""], WATER]))
    config_path = Path(__file__).resolve().parent.parent / "config.yaml"
    assert main(["--config", str(config_path), "import-lapor", str(path)]) == 1
    out = capsys.readouterr().out
    assert "ditolak: baris 3: Tracking ID 4210077: tanggal ''" in out
    assert "3 baris, 2 laporan terbaca: 2 baru, 0 sudah ada, 0 berubah status; 1 baris ditolak" in out
    (tmp_path / "bukan.xlsx").write_bytes(b"%PDF-1.4 bukan excel")
    assert main(["--config", str(config_path), "import-lapor", str(tmp_path / "bukan.xlsx")]) == 2
    assert "ditolak" in capsys.readouterr().out
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 2


def test_folder_schedule_reads_a_new_file_once(db: Database, config: AppConfig, tmp_path: Path) -> None:
    folder = tmp_path / "lapor-masuk"
    folder.mkdir()
    cfg = config.model_copy(
        update={
            "sources": [],
            "lapor": config.lapor.model_copy(update={"folder": str(folder), "interval_seconds": 600}),
        }
    )
    clock = SimulatedClock(NOW)
    service = MonitorService(cfg, db, clock)
    job = next(j for j in build_scheduler(service, "host:1").get_jobs() if j.id == "lapor-folder")
    assert job.trigger.interval == timedelta(seconds=600)

    def tick() -> list[tuple[str, int]]:
        clock.advance(timedelta(minutes=10))
        return [(r.file, r.stored) for r in job.func()]

    (folder / "catatan.txt").write_text("bukan ekspor")
    assert tick() == []
    (folder / "november.csv").write_bytes(csv_bytes([ROAD_A, ROAD_B]))
    assert tick() == [("november.csv", 2)]
    assert tick() == []  # seen: not read again
    # The same content under another name is known by its hash; a new export is read once.
    (folder / "november-salinan.csv").write_bytes(csv_bytes([ROAD_A, ROAD_B]))
    (folder / "desember.xlsx").write_bytes(xlsx_bytes([WATER]))
    assert tick() == [("desember.xlsx", 1)]
    assert tick() == []
    # A hostile file is refused once, with its reason on the source, and not retried every tick.
    (folder / "rusak.xlsx").write_bytes(b"PK\x03\x04 bukan excel")
    assert tick() == [("rusak.xlsx", 0)]
    assert tick() == []
    service.close()
    with db.session() as s:
        source = s.scalars(select(Source).where(Source.name == "lapor")).one()
        assert source.kind == "lapor" and len(source.cursor["files"]) == 3
        assert source.last_error is not None and "rusak.xlsx: ditolak" in source.last_error
        assert s.scalar(select(func.count()).select_from(Post)) == 3
