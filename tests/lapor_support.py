"""SP4N-LAPOR! exports as the tests write them: three tickets filed on 30 November 2026 (two road complaints in
Desa Menang Raya, one water outage in Kayuagung) and the bytes of a CSV or XLSX export."""

from __future__ import annotations

import io

from openpyxl import Workbook

HEADER = ["Tracking ID", "Judul", "Isi", "Kategori", "Instansi", "Status", "Tanggal"]
ROAD_A = [
    "4210001",
    "Jalan rusak parah di Desa Menang Raya",
    "Jalan utama Desa Menang Raya Kecamatan Pedamaran rusak parah dan berlubang, motor sering jatuh. Mohon diperbaiki.",
    "Infrastruktur",
    "Dinas PUPR Kabupaten Ogan Komering Ilir",
    "Belum Terverifikasi",
    "30/11/2026 08:15",
]
ROAD_B = [
    "4210002",
    "Jalan berlubang Menang Raya",
    "Jalan di Desa Menang Raya Pedamaran berlubang dan rusak parah, sudah banyak korban jatuh dari motor.",
    "Infrastruktur",
    "Dinas PUPR Kabupaten Ogan Komering Ilir",
    "Belum Terverifikasi",
    "Senin, 30 November 2026 10.40 WIB",
]
WATER = [
    "4210003",
    "Air PDAM mati",
    "Air PDAM di Kelurahan Kayuagung mati sudah tiga hari, warga kesulitan air bersih.",
    "Air Minum",
    "PDAM Tirta Agung",
    "Proses",
    "2026-11-30T13:05:00+07:00",
]


def csv_bytes(rows: list[list[str]], sep: str = ",", header: list[str] = HEADER) -> bytes:
    """An export as LAPOR! writes CSV: ``header`` then ``rows``, quoted only where needed, CRLF line ends."""
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if (sep in value or '"' in value or "\n" in value) else value

    lines = [sep.join(cell(c) for c in row) for row in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode()


def xlsx_bytes(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    """An export as an Excel workbook: one sheet, ``header`` then ``rows``."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
