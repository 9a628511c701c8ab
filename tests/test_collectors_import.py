"""Import files (CSV / JSON lines): good rows kept, each bad row reported by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from collectors.import_file import parse_import_file, parse_jsonl

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
GOOD = {
    "source": "lapor",
    "external_id": "LPR-1",
    "url": "https://www.lapor.go.id/laporan/1",
    "author": "warga",
    "text": "Jalan di Desa Sungai Lumpur rusak",
    "created_at": "2026-11-02T08:15:00+07:00",
    "likes": 1,
    "shares": "2",
    "replies": 0,
    "views": "",
}


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({**GOOD, "external_id": "LPR-2", "created_at": "kemarin"}),
        json.dumps({**GOOD, "external_id": "LPR-3", "created_at": "2100-01-01T00:00:00Z"}),
        json.dumps({**GOOD, "external_id": "LPR-4", "likes": -3}),
        json.dumps(
            {
                **GOOD,
                "external_id": "LPR-5",
                "text": "<b>Air</b> keruh<script>x()</script>",
                "created_at": "2026-11-01 20:00:00",
            }
        ),
        json.dumps(GOOD),
        "",
    ]
    path = tmp_path / "lapor.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items, errors = parse_import_file(path, now=NOW)
    assert [i.external_id for i in items] == ["LPR-1", "LPR-5"]
    assert items[0].created_at == datetime(2026, 11, 2, 1, 15, tzinfo=UTC) and items[0].shares == 2
    assert items[1].text == "Air keruh" and items[1].created_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # WIB
    assert [e.split(":")[0] for e in errors] == ["baris 2", "baris 3", "baris 4", "baris 5", "baris 6", "baris 8"]
    assert "ISO 8601" in errors[2] and "sudah muncul" in errors[5]


def test_csv_with_semicolons_bom_and_cp1252(tmp_path: Path) -> None:
    header = "source;external_id;url;author;text;created_at;likes;shares;replies;views\n"
    row = "wa-hotline;WA-9;;Bu Sari;Listrik padam di Kayuagung sejak pagi – tolong;2026-11-02T07:00:00Z;0;0;0;0\n"
    path = tmp_path / "wa.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + row).encode("utf-8"))
    items, errors = parse_import_file(path, now=NOW)
    assert errors == [] and items[0].source == "wa-hotline" and items[0].url is None
    path.write_bytes((header + row).encode("cp1252"))
    items2, _ = parse_import_file(path, now=NOW)
    assert items2[0].text == items[0].text


def test_missing_columns_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,isi\n1,halo\n", encoding="utf-8")
    items, errors = parse_import_file(path, now=NOW)
    assert items == [] and "kolom wajib tidak ada" in errors[0] and "source" in errors[0]


def test_wrong_types_are_reported_not_crashing() -> None:
    text = "\n".join(
        json.dumps(r) for r in [{**GOOD, "text": 5}, {**GOOD, "source": None}, {**GOOD, "url": "javascript:x"}]
    )
    items, errors = parse_jsonl(text, now=NOW)
    assert items == [] and len(errors) == 3


def test_platform_from_column_else_url_host_else_import(tmp_path: Path) -> None:
    header = "source,external_id,url,platform,text,created_at\n"
    rows = [
        "humas,H-1,https://mobile.twitter.com/warga/status/42,,Jembatan Bangsal putus,2026-11-02T07:00:00Z",
        "humas,H-2,https://www.facebook.com/groups/oki/posts/7,,Jembatan Bangsal putus,2026-11-02T07:00:00Z",
        "humas,H-3,,Instagram,Jembatan Bangsal putus,2026-11-02T07:00:00Z",
        "humas,H-4,https://sumselupdate.example/berita/1,,Jembatan Bangsal putus,2026-11-02T07:00:00Z",
        "humas,H-5,,,Jembatan Bangsal putus,2026-11-02T07:00:00Z",
    ]
    path = tmp_path / "ekspor.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    items, errors = parse_import_file(path, now=NOW)
    assert errors == []
    assert [i.platform for i in items] == ["x", "facebook", "instagram", "import", "import"]
