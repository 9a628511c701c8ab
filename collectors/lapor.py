"""SP4N-LAPOR! ticket exports (CSV or XLSX) read into tickets: pure parsing, no storage.

The regency's LAPOR! admin exports its tickets with the columns Tracking ID, judul, isi,
kategori, instansi, status and tanggal. The spelling of the header row varies between export
versions and hand-edited copies ("Tracking ID", "tracking_id", "No. Tracking", "Judul Laporan",
"Isi Laporan", "Tanggal Laporan" ...), so headers are matched case- and punctuation-insensitively
against :data:`HEADERS`. Dates come as ISO 8601 or Indonesian ("Senin, 2 November 2026 08.15 WIB",
"02/11/2026", "2 Nov 2026"); a time without an offset is WIB, the export's local time.

Every bad row is named (Excel row number, what is wrong) and skipped; the good rows are kept.
A file that is not a ticket export at all (too big, a PDF, an old ``.xls``, a zip bomb, no
Tracking ID column) gives one clear error and no tickets. A cell starting like a spreadsheet
formula (``=``, ``+``, ``@``, ``-`` followed by a non-space) rejects its row: such text would
run as a formula when someone opens the monitor's own CSV/XLSX exports in a spreadsheet.

A ticket becomes a post of platform ``lapor`` (:func:`to_item`): external id = Tracking ID, the
text is judul and isi, the link is the public ticket page (``https://www.lapor.go.id/pengaduan/<id>``
as LAPOR!'s API documentation gives it; configurable), and kategori, instansi and status ride
along in ``extra["lapor"]``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from collectors.base import RawItem
from collectors.common import as_utc, clean_text, time_problem

WIB = ZoneInfo("Asia/Jakarta")
PLATFORM = "lapor"
DEFAULT_TICKET_URL = "https://www.lapor.go.id/pengaduan/{tracking_id}"
"""The public page of a ticket, as LAPOR!'s API documentation (Open Government Indonesia) links it."""

MAX_FILE_BYTES = 20 * 1024 * 1024
"""A regency's export is a few hundred tickets (well under 1 MB); 20 MB leaves room for years of them."""
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
"""An XLSX is a zip: its parts together may not unpack beyond this (a zip bomb is refused unread)."""
MAX_ROWS = 50_000
MAX_TEXT = 20_000
MAX_ERRORS = 200
"""Row errors kept per file; past this the rest are counted, not listed."""

HEADERS: dict[str, tuple[str, ...]] = {
    "tracking_id": (
        "tracking id",
        "trackingid",
        "tracking",
        "id tracking",
        "no tracking",
        "nomor tracking",
        "kode tracking",
        "tracking number",
        "id laporan",
        "no laporan",
        "nomor laporan",
    ),
    "judul": ("judul", "judul laporan", "judul pengaduan", "subjek", "title"),
    "isi": ("isi", "isi laporan", "isi pengaduan", "uraian", "uraian laporan", "deskripsi", "laporan", "content"),
    "kategori": ("kategori", "kategori laporan", "topik", "category"),
    "instansi": ("instansi", "instansi tujuan", "instansi terdisposisi", "disposisi", "instansi terkait", "agency"),
    "status": ("status", "status laporan", "status tindak lanjut"),
    "tanggal": (
        "tanggal",
        "tanggal laporan",
        "tanggal masuk",
        "tanggal dibuat",
        "tgl",
        "tgl laporan",
        "waktu",
        "waktu laporan",
        "created at",
        "date",
    ),
}
REQUIRED = ("tracking_id", "tanggal")
"""Besides these, a row needs judul or isi (a file needs one of the two columns)."""

_HEADER_WORDS = re.compile(r"[^a-z0-9]+")
_TRACKING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-\S)")


@dataclass(frozen=True, slots=True)
class Ticket:
    """One LAPOR! ticket as the export states it."""

    row: int
    """The row in the file (the header is row 1), for messages."""
    tracking_id: str
    judul: str
    isi: str
    kategori: str
    instansi: str
    status: str
    created_at: datetime
    """Aware UTC."""


@dataclass
class ParsedExport:
    """What one file held: the good tickets, and one message per bad row (or one for a bad file)."""

    tickets: list[Ticket] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rows: int = 0
    """Data rows read (blank rows not counted)."""
    file_error: bool = False
    """The file as a whole was refused (no row was read)."""
    more_errors: int = 0
    """Row errors beyond :data:`MAX_ERRORS`, counted only."""

    def error(self, row: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"baris {row}: {message}")
        else:
            self.more_errors += 1


def refuse(message: str) -> ParsedExport:
    """A whole file refused with one message."""
    return ParsedExport(errors=[message], file_error=True)


def parse_export(data: bytes, filename: str, *, now: datetime) -> ParsedExport:
    """The tickets of an export file's bytes (CSV or XLSX, told apart by content, not by name)."""
    name = filename.rsplit("/", 1)[-1][:100] or "berkas"
    if len(data) > MAX_FILE_BYTES:
        return refuse(f"{name}: berkas {len(data):,} byte terlalu besar (maks {MAX_FILE_BYTES:,} byte)")
    if not data.strip():
        return refuse(f"{name}: berkas kosong")
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, name)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        return refuse(f"{name}: format Excel lama (.xls) tidak didukung; simpan ulang sebagai .xlsx atau .csv")
    elif data.startswith(b"%PDF") or b"\x00" in data[:8192]:
        return refuse(f"{name}: bukan berkas CSV atau XLSX (isi biner); unggah ekspor LAPOR! dalam CSV atau XLSX")
    else:
        rows = _csv_rows(data, name)
    if isinstance(rows, str):
        return refuse(rows)
    return parse_rows(rows, name, now=now)


def parse_rows(rows: Iterator[tuple[int, list[Any]]], name: str, *, now: datetime) -> ParsedExport:
    """Tickets from ``(row number, cells)`` pairs, the first non-blank pair being the header row."""
    result = ParsedExport()
    columns: dict[str, int] | None = None
    seen: dict[str, int] = {}
    for number, cells in rows:
        if cells and isinstance(cells[0], _BrokenRow):
            if columns is None:
                return refuse(f"{name}: baris judul kolom rusak ({cells[0]})")
            result.rows += 1
            result.error(number, f"CSV rusak ({cells[0]}); baris dilewati")
            continue
        if all(_blank(c) for c in cells):
            continue
        if columns is None:
            columns, problem = header_columns(cells)
            if problem:
                return refuse(f"{name}: {problem}")
            continue
        result.rows += 1
        if result.rows > MAX_ROWS:
            return refuse(f"{name}: lebih dari {MAX_ROWS:,} baris data; pecah ekspor per bulan")
        ticket, problem = parse_row(number, cells, columns, now=now)
        if ticket is None:
            result.error(number, problem)
            continue
        if ticket.tracking_id in seen:
            result.error(number, f"Tracking ID {ticket.tracking_id} sudah ada di baris {seen[ticket.tracking_id]}")
            continue
        seen[ticket.tracking_id] = number
        result.tickets.append(ticket)
    if columns is None:
        return refuse(f"{name}: tidak ada baris judul kolom (Tracking ID, judul, isi, ..., tanggal)")
    return result


def header_columns(cells: Sequence[Any]) -> tuple[dict[str, int], str]:
    """Field → column index from a header row, or a message naming what is missing."""
    wanted = {alias: key for key, aliases in HEADERS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = _HEADER_WORDS.sub(" ", str(cell if cell is not None else "").lower()).strip()
        key = wanted.get(label) or wanted.get(label.replace(" ", ""))
        if key and key not in columns:
            columns[key] = index
    missing = [k for k in REQUIRED if k not in columns]
    if "judul" not in columns and "isi" not in columns:
        missing.append("judul atau isi")
    if missing:
        names = {"tracking_id": "Tracking ID", "tanggal": "tanggal"}
        shown = ", ".join(names.get(m, m) for m in missing)
        found = ", ".join(str(c)[:30] for c in cells if not _blank(c))[:200]
        return {}, f"kolom wajib tidak ditemukan: {shown} (baris judul berisi: {found or '-'})"
    return columns, ""


def parse_row(
    number: int, cells: Sequence[Any], columns: dict[str, int], *, now: datetime
) -> tuple[Ticket | None, str]:
    """One data row as a :class:`Ticket`, or ``(None, what is wrong)``."""

    def cell(key: str) -> Any:
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    for key in HEADERS:
        value = cell(key)
        if isinstance(value, str) and _FORMULA.match(value.lstrip(" ")):
            return None, f"kolom {key} diawali {value.lstrip(' ')[:1]!r} seperti rumus spreadsheet; baris ditolak"
    tracking = _tracking_id(cell("tracking_id"))
    if not tracking:
        shown = str(cell("tracking_id") or "")[:40]
        return None, f"Tracking ID {shown!r} kosong atau tidak sah (huruf, angka, - _ . /; maks 40)"
    judul = _text(cell("judul"), 500)
    isi = _text(cell("isi"), MAX_TEXT)
    if not judul and not isi:
        return None, f"Tracking ID {tracking}: judul dan isi kosong"
    raw_date = cell("tanggal")
    created = parse_date(raw_date)
    if created is None:
        return None, (
            f"Tracking ID {tracking}: tanggal {str(raw_date or '')[:40]!r} tidak terbaca "
            "(contoh: 2026-11-02, 02/11/2026 08:15, 2 November 2026 08.15 WIB)"
        )
    if created > now + timedelta(days=1):
        return None, f"Tracking ID {tracking}: tanggal {str(raw_date)[:40]!r} ada di masa depan"
    if time_problem(created, now):
        return None, f"Tracking ID {tracking}: tanggal {str(raw_date)[:40]!r} sebelum tahun 2000"
    return (
        Ticket(
            row=number,
            tracking_id=tracking,
            judul=judul,
            isi=isi,
            kategori=_text(cell("kategori"), 200),
            instansi=_text(cell("instansi"), 300),
            status=_text(cell("status"), 100),
            created_at=created,
        ),
        "",
    )


def ticket_url(tracking_id: str, pattern: str = DEFAULT_TICKET_URL) -> str:
    """The ticket's public LAPOR! page."""
    return pattern.replace("{tracking_id}", quote(tracking_id, safe=""))


def to_item(ticket: Ticket, source: str, *, url_pattern: str = DEFAULT_TICKET_URL) -> RawItem:
    """The post a ticket is stored as: text = judul + isi; kategori/instansi/status kept in ``extra["lapor"]``."""
    text = f"{ticket.judul}.\n{ticket.isi}" if ticket.judul and ticket.isi else ticket.judul or ticket.isi
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=ticket.tracking_id,
        text=text,
        title=ticket.judul or None,
        created_at=ticket.created_at,
        url=ticket_url(ticket.tracking_id, url_pattern),
        extra={
            "lapor": {
                "tracking_id": ticket.tracking_id,
                "kategori": ticket.kategori,
                "instansi": ticket.instansi,
                "status": ticket.status,
            }
        },
    )


# ------------------------------------------------------------------ dates

_MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "pebruari": 2, "peb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agst": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nopember": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip
_ZONES = {"wib": 7, "wita": 8, "wit": 9}
_DAYS = r"(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad)"
_CLOCK = r"(?:\s*(?:,|pukul|jam)?\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?\s*(wib|wita|wit)?"
_NAMED = re.compile(rf"^(?:{_DAYS}\s*,?\s*)?(\d{{1,2}})\s+([a-z]+)\.?\s+(\d{{4}}){_CLOCK}$")
_NUMERIC = re.compile(rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}}){_CLOCK}$")


def parse_date(value: Any) -> datetime | None:
    """A ticket date as aware UTC: ISO 8601, Indonesian words or day-first numbers; WIB unless it says."""
    if isinstance(value, datetime):
        return as_utc(value if value.tzinfo else value.replace(tzinfo=WIB))
    if isinstance(value, date):
        return as_utc(datetime.combine(value, time(), tzinfo=WIB))
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().lower().split())
    if not text or len(text) > 64:
        return None
    iso = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    if iso.endswith("z"):
        iso = iso[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(iso.upper())
    except ValueError:
        parsed = None
    if parsed is not None:
        return as_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=WIB))
    named = _NAMED.match(text)
    if named:
        month = _MONTHS.get(named.group(2))
        if month is None:
            return None
        return _build(int(named.group(3)), month, int(named.group(1)), named.groups()[3:])
    numeric = _NUMERIC.match(text)
    if numeric:  # Indonesian order: day, month, year
        return _build(int(numeric.group(3)), int(numeric.group(2)), int(numeric.group(1)), numeric.groups()[3:])
    return None


def _build(year: int, month: int, day: int, clock: Sequence[str | None]) -> datetime | None:
    hour, minute, second, zone = clock
    offset = _ZONES.get(zone or "wib", 7)
    try:
        return as_utc(
            datetime(
                year,
                month,
                day,
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=timezone(timedelta(hours=offset)),
            )
        )
    except ValueError:
        return None


# ------------------------------------------------------------------ cells


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value), limit)


def _tracking_id(value: Any) -> str:
    """The Tracking ID as text: a number stays a number (Excel stores 1916449 as 1916449.0), ``#`` dropped."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):
        if not value.is_integer() or value < 0:
            return ""
        value = int(value)
    text = str(value).strip().lstrip("#").strip()
    return text if _TRACKING.match(text) else ""


def _csv_rows(data: bytes, name: str) -> Iterator[tuple[int, list[Any]]] | str:
    """Rows of a CSV export (comma, semicolon or tab, by the header row), UTF-8 or else Windows-1252."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" on Indonesian Windows is Windows-1252; UTF-8 validation is strict, so a file
        # that fails it is not UTF-8 at all.
        text = data.decode("cp1252", errors="replace")
    header = text[:8192].split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=header.count)
    if header.count(delimiter) == 0:
        return f"{name}: baris judul kolom tidak berisi pemisah (koma, titik koma atau tab); bukan CSV ekspor LAPOR!"
    return _csv_iter(text, delimiter)


def _csv_iter(text: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, [_BrokenRow(str(exc))]
            continue
        yield start, list(cells)


class _BrokenRow(str):
    """A CSV record the csv module could not read (over its field limit, a stray quote)."""

    __slots__ = ()


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[int, list[Any]]] | str:
    """Rows of the first sheet of an XLSX; formulas come back as their text (never evaluated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            unpacked = sum(p.file_size for p in parts)
            names = {p.filename for p in parts}
    except (zipfile.BadZipFile, ValueError) as exc:
        return f"{name}: berkas zip/XLSX rusak ({str(exc)[:80]})"
    if unpacked > MAX_UNZIPPED_BYTES or len(parts) > 10_000:
        return f"{name}: isi XLSX terlalu besar setelah dibuka ({unpacked:,} byte); berkas ditolak"
    if "xl/workbook.xml" not in names:
        return f"{name}: berkas zip ini bukan XLSX (tidak ada xl/workbook.xml)"
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt workbook; all mean "cannot read"
        return f"{name}: XLSX tidak bisa dibaca ({exc.__class__.__name__}: {str(exc)[:80]})"
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        book.close()
        return f"{name}: XLSX tanpa lembar kerja"
    return _sheet_iter(book, sheet)


def _sheet_iter(book: Any, sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def create(name: str, settings: Any, secrets: Any) -> Any:
    """Not a polled source: LAPOR! exports come through the ``lapor:`` section (folder), upload or CLI."""
    raise ValueError("LAPOR! tidak dipasang sebagai sources[]; pakai bagian 'lapor:' (folder) di config.yaml")
