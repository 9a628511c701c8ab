"""CSV and XLSX exports of trend rows and of posts (pure: rows in, bytes out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from openpyxl import Workbook

from monitor.kernel.clock import to_wib
from monitor.web.queries import TrendRow

HEADER: tuple[str, ...] = (
    "periode_mulai_wib",
    "topik",
    "kecamatan",
    "opd",
    "sumber",
    "unggahan",
    "keluhan",
    "keterlibatan",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    # Spreadsheet apps run a cell starting with = + - @ as a formula (CSV injection): make it plain text.
    return "'" + value if value.startswith(_FORMULA_START) else value


def plain_cell(value: str) -> str:
    """A text cell a spreadsheet app will not run as a formula."""
    return _cell(value)


def _values(row: TrendRow) -> list[str | int | float]:
    return [
        row.bucket.strftime("%Y-%m-%d %H:%M"),
        _cell(row.topic),
        _cell(row.kecamatan),
        _cell(row.agency),
        _cell(row.source),
        row.posts,
        row.complaints,
        row.engagement,
    ]


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a BOM so spreadsheet apps read Indonesian text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def table_xlsx(sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One-sheet workbook with the same columns as the CSV."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(rows: Sequence[TrendRow]) -> bytes:
    """Trend rows as CSV (text cells that look like formulas are made plain text)."""
    return table_csv(HEADER, (_values(row) for row in rows))


def to_xlsx(rows: Sequence[TrendRow]) -> bytes:
    """Trend rows as a one-sheet workbook."""
    return table_xlsx("tren", HEADER, (_values(row) for row in rows))


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


MAX_POST_ROWS = 100_000
"""Largest post export in one file (keeps one request's memory bounded)."""

POST_HEADER: tuple[str, ...] = (
    "id_unggahan",
    "id_isu",
    "waktu_wib",
    "platform",
    "akun",
    "tautan",
    "judul",
    "teks",
    "suka",
    "bagikan",
    "balasan",
    "dilihat",
    "sebaran",
)


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


def _post_values(row: PostRow) -> list[str | int]:
    values: list[str | int] = []
    for value in astuple(row):
        if isinstance(value, bool):
            values.append("ya" if value else "tidak")
        elif isinstance(value, datetime):
            values.append(to_wib(value).strftime("%Y-%m-%d %H:%M"))
        elif isinstance(value, str):
            values.append(_cell(value))
        else:
            values.append(value)
    return values


def posts_to_csv(rows: Sequence[PostRow]) -> bytes:
    """UTF-8 CSV (with BOM) of posts; text cells that look like formulas are made plain text."""
    return table_csv(POST_HEADER, (_post_values(row) for row in rows))


def posts_to_xlsx(rows: Sequence[PostRow]) -> bytes:
    """One-sheet workbook with the same columns as :func:`posts_to_csv`."""
    return table_xlsx("unggahan", POST_HEADER, (_post_values(row) for row in rows))
