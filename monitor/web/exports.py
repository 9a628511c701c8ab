"""CSV and XLSX exports of trend rows and of posts (pure: rows in, bytes out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from monitor.domain.display import topic_label
from monitor.kernel.clock import to_wib
from monitor.web.queries import TrendRow

HEADER: tuple[str, ...] = (
    "Periode mulai (WIB)",
    "Topik",
    "Kecamatan",
    "OPD",
    "Sumber",
    "Unggahan",
    "Keluhan",
    "Keterlibatan",
)
"""Columns of the trend export, the same in CSV and XLSX: names, not codes."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TIME = "%Y-%m-%d %H:%M"
"""Times in CSV: sortable, and read as a date-time by spreadsheet apps in any locale."""
XLSX_TIME = "yyyy-mm-dd hh:mm"
"""The number format of XLSX time cells (real date-times, in WIB: Excel has no time zones)."""
MIN_WIDTH, MAX_WIDTH = 10, 60


def _cell(value: str) -> str:
    # Spreadsheet apps run a cell starting with = + - @ as a formula (CSV injection): make it plain text.
    return "'" + value if value.startswith(_FORMULA_START) else value


def plain_cell(value: str) -> str:
    """A text cell a spreadsheet app will not run as a formula."""
    return _cell(value)


def _values(row: TrendRow, agency_name: Callable[[str | None], str]) -> list[str | int | datetime]:
    return [
        row.bucket,
        topic_label(row.topic) if row.topic else "",
        row.kecamatan,
        agency_name(row.agency) if row.agency else "",
        row.source,
        row.posts,
        row.complaints,
        # Engagement is a sum of likes, shares, replies and views, spread over a post's buckets: a
        # count of actions, so a whole number in the file (53.58 reads like a measurement).
        round(row.engagement),
    ]


def _csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return to_wib(value).strftime(CSV_TIME)
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, str):
        return _cell(value)
    return "" if value is None else value


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a BOM so spreadsheet apps read Indonesian text correctly.

    Times become ``YYYY-MM-DD HH:MM`` in WIB, booleans ``ya``/``tidak``, text that a spreadsheet would
    run as a formula is made plain text: the same columns and values as :func:`table_xlsx`.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_value(v) for v in row] for row in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def table_xlsx(
    sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]], widths: Mapping[str, int] | None = None
) -> bytes:
    """One-sheet workbook with the same columns as the CSV, ready to sort and filter.

    Bold header row frozen at the top, an autofilter over the table, times as real date-times in
    WIB, numbers as numbers, and text never read as a formula. ``widths``: column widths by header
    (characters); other columns fit their header.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.freeze_panes = "A2"
    for i, name in enumerate(header, start=1):
        width = (widths or {}).get(name, len(name) + 4)
        ws.column_dimensions[get_column_letter(i)].width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    count = 0
    for row in rows:
        ws.append([_xlsx_value(ws, v) for v in row])
        count += 1
    # Set before saving: write-only sheets write the filter with the sheet's end.
    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(header)))}{count + 1}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(ws: Any, value: object) -> object:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=to_wib(value).replace(tzinfo=None))
        cell.number_format = XLSX_TIME
        return cell
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        # openpyxl stores a string starting with "=" as a formula: keep it the text it is.
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


REGION_HEADER = "Wilayah"
"""The extra last column of a trend export of a deployment with several regions (the region's name)."""


def _table(
    rows: Sequence[TrendRow],
    agency_name: Callable[[str | None], str],
    region_name: Callable[[str], str] | None,
) -> tuple[tuple[str, ...], Iterable[list[str | int | datetime]]]:
    if region_name is None:  # one region: the columns of a one-region deployment, unchanged
        return HEADER, (_values(row, agency_name) for row in rows)
    return (*HEADER, REGION_HEADER), ([*_values(row, agency_name), region_name(row.region)] for row in rows)


def to_csv(
    rows: Sequence[TrendRow],
    agency_name: Callable[[str | None], str],
    region_name: Callable[[str], str] | None = None,
) -> bytes:
    """Trend rows as CSV (agencies, topics and, with ``region_name``, regions by name)."""
    header, values = _table(rows, agency_name, region_name)
    return table_csv(header, values)


def to_xlsx(
    rows: Sequence[TrendRow],
    agency_name: Callable[[str | None], str],
    region_name: Callable[[str], str] | None = None,
) -> bytes:
    """Trend rows as a one-sheet workbook with the CSV's columns."""
    header, values = _table(rows, agency_name, region_name)
    return table_xlsx("Tren", header, values, widths=TREND_WIDTHS)


TREND_WIDTHS = {"Periode mulai (WIB)": 18, "Topik": 24, "OPD": 32, "Sumber": 20, REGION_HEADER: 32}


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


MAX_POST_ROWS = 100_000
"""Largest post export in one file (keeps one request's memory bounded)."""

POST_HEADER: tuple[str, ...] = (
    "ID unggahan",
    "ID isu",
    "Waktu (WIB)",
    "Platform",
    "Akun",
    "Tautan",
    "Judul",
    "Teks",
    "Suka",
    "Dibagikan",
    "Balasan",
    "Dilihat",
    "Salinan atau balasan",
)
"""Columns of the post export, the same in CSV and XLSX."""

POST_WIDTHS = {"Waktu (WIB)": 18, "Akun": 16, "Tautan": 40, "Judul": 40, "Teks": 60, "Salinan atau balasan": 12}


@dataclass(frozen=True, slots=True)
class PostRow:
    """One exported post, in :data:`POST_HEADER` order; ``author`` is already an alias or a handle."""

    post_id: int
    issue_id: int
    created_at: datetime
    platform: str
    author: str
    url: str
    title: str
    text: str
    likes: int
    shares: int
    replies: int
    views: int
    is_spread: bool


def posts_to_csv(rows: Sequence[PostRow]) -> bytes:
    """UTF-8 CSV (with BOM) of posts; text cells that look like formulas are made plain text."""
    return table_csv(POST_HEADER, (astuple(row) for row in rows))


def posts_to_xlsx(rows: Sequence[PostRow]) -> bytes:
    """One-sheet workbook with the same columns as :func:`posts_to_csv`."""
    return table_xlsx("Unggahan", POST_HEADER, (astuple(row) for row in rows), widths=POST_WIDTHS)
