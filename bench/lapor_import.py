"""Benchmark: a LAPOR! export of N tickets parsed (CSV and XLSX) and imported into a fresh SQLite database.

Prints seconds and tickets per second for parsing each format, for the first import (every ticket
new) and for the same export imported again (every ticket known: the status comparison only).

    python bench/lapor_import.py [--n 5000]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402

from collectors.lapor import parse_export  # noqa: E402
from monitor.kernel.config import load_config  # noqa: E402
from monitor.stages.lapor import import_export  # noqa: E402
from monitor.store.db import Database  # noqa: E402

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
HEADER = ["Tracking ID", "Judul", "Isi", "Kategori", "Instansi", "Status", "Tanggal"]
PLACES = ["Pedamaran", "Kayuagung", "Tulung Selapan", "Cengal", "Jejawi", "Lempuing", "Mesuji", "Air Sugihan"]
PROBLEMS = ["jalan rusak parah", "air PDAM mati", "lampu jalan padam", "sampah menumpuk", "jembatan retak"]


def rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        place, problem = PLACES[i % len(PLACES)], PROBLEMS[(i // len(PLACES)) % len(PROBLEMS)]
        at = NOW - timedelta(minutes=7 * i)
        out.append(
            [
                str(4_000_000 + i),
                f"{problem.capitalize()} di {place}",
                f"Mohon ditindaklanjuti, {problem} di Kecamatan {place} sudah lama, warga kesulitan (laporan {i}).",
                "Infrastruktur",
                "Pemerintah Kabupaten Ogan Komering Ilir",
                "Proses" if i % 3 else "Belum Terverifikasi",
                at.astimezone().strftime("%d/%m/%Y %H:%M"),
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    data = rows(args.n)
    csv_data = "\n".join(";".join(r) for r in [HEADER, *data]).encode()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r in [HEADER, *data]:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx_data = buffer.getvalue()

    def timed(label: str, fn: object) -> None:
        started = time.perf_counter()
        result = fn()  # type: ignore[operator]
        seconds = time.perf_counter() - started
        print(f"{label:<28} {seconds:7.2f} s  {args.n / seconds:9.0f} tiket/s  {result}")

    timed(f"parse CSV ({len(csv_data) // 1024} KiB)", lambda: len(parse_export(csv_data, "b.csv", now=NOW).tickets))
    timed(f"parse XLSX ({len(xlsx_data) // 1024} KiB)", lambda: len(parse_export(xlsx_data, "b.xlsx", now=NOW).tickets))
    os.environ.setdefault("OKI_MONITOR_AUTHOR_KEY", "bench-author-key")
    config = load_config(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        timed("import, all new", lambda: import_export(db, config, csv_data, "b.csv", NOW).stored)
        timed("import again, all known", lambda: import_export(db, config, csv_data, "b.csv", NOW).known)
        db.dispose()


if __name__ == "__main__":
    main()
