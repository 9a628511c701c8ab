"""CSV and XLSX exports of trend rows (pure: rows in, bytes out)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

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


def to_csv(rows: Sequence[TrendRow]) -> bytes:
    """UTF-8 CSV with a BOM so spreadsheet apps read Indonesian text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(_values(row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[TrendRow]) -> bytes:
    """One-sheet workbook with the same columns as the CSV."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("tren")
    ws.append(list(HEADER))
    for row in rows:
        ws.append(_values(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
