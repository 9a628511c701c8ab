"""Import files (CSV / JSON lines): good rows kept, each bad row reported by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from collectors.common import MAX_COUNT
from collectors.import_file import decode, parse_import_file, parse_jsonl
from monitor.cli import main
from monitor.store.db import Database
from monitor.store.models import Post

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
    # Not guessed: read as UTF-8 the row is named and skipped; said to be cp1252, it reads right.
    unread, why = parse_import_file(path, now=NOW)
    assert unread == [] and why[0].startswith("baris 2: byte 0x96 bukan UTF-8") and "--encoding cp1252" in why[0]
    items2, errors2 = parse_import_file(path, now=NOW, encoding="cp1252")
    assert errors2 == [] and items2[0].text == items[0].text


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


# ---------------------------------------------------------------- issue 19: one bad line never costs the file


def _lines(*records: dict[str, object]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"


def test_a_count_of_ten_to_the_thirty_rejects_its_line_only(tmp_path: Path) -> None:
    path = tmp_path / "lapor.jsonl"
    path.write_text(
        _lines(GOOD, {**GOOD, "external_id": "LPR-2", "likes": 10**30}, {**GOOD, "external_id": "LPR-3"}),
        encoding="utf-8",
    )
    items, errors = parse_import_file(path, now=NOW)
    assert [i.external_id for i in items] == ["LPR-1", "LPR-3"]
    assert errors == ["baris 2: kolom 'likes' harus bilangan bulat 0 s.d. 10^12, bukan angka 31 digit"]
    csv_path = tmp_path / "lapor.csv"
    csv_path.write_text(
        "source,external_id,text,created_at,views\n"
        "lapor,A,Jalan rusak di Kayuagung,2026-11-02T08:15:00+07:00,1000000000000\n"
        "lapor,B,Jalan rusak di Kayuagung,2026-11-02T08:15:00+07:00,1000000000001\n"
        "lapor,C,Jalan rusak di Kayuagung,2026-11-02T08:15:00+07:00,99999999999999999999999999999\n",
        encoding="utf-8",
    )
    items, errors = parse_import_file(csv_path, now=NOW)
    assert [(i.external_id, i.views) for i in items] == [("A", 10**12)]
    assert [e.split(":")[0] for e in errors] == ["baris 3", "baris 4"]


def test_one_invalid_byte_names_its_line_and_every_other_row_keeps_its_exact_text(tmp_path: Path) -> None:
    texts = ["Jalan rusak di Kayuagung – parah", "Air PDAM keruh di Sirah Pulau Padang “lagi”", "Lampu padam ✓"]
    rows = [json.dumps({**GOOD, "external_id": f"L{k}", "text": t}, ensure_ascii=False) for k, t in enumerate(texts)]
    bad = (
        json.dumps({**GOOD, "external_id": "LX", "text": "Banjir di Cengal"}).encode().replace(b"Cengal", b"Ceng\xe2l")
    )
    data = rows[0].encode() + b"\n" + bad + b"\n" + rows[1].encode() + b"\n" + rows[2].encode() + b"\n"
    path = tmp_path / "campur.jsonl"
    path.write_bytes(data)
    items, errors = parse_import_file(path, now=NOW)
    assert [i.text for i in items] == texts  # not Windows-1252 mojibake ("â€“")
    assert len(errors) == 1 and errors[0].startswith("baris 2: byte 0xE2 bukan UTF-8 yang sah")
    csv_data = (
        b"source,external_id,text,created_at\n"
        + f"lapor,C1,{texts[0]},2026-11-02T08:15:00+07:00\n".encode()
        + b"lapor,C2,Banjir di Ceng\xe2l,2026-11-02T08:15:00+07:00\n"
        + f'lapor,C3,"{texts[1].replace(chr(34), chr(34) * 2)}",2026-11-02T08:15:00+07:00\n'.encode()
    )
    csv_path = tmp_path / "campur.csv"
    csv_path.write_bytes(csv_data)
    items, errors = parse_import_file(csv_path, now=NOW)
    assert [i.text for i in items] == texts[:2] and [e.split(":")[0] for e in errors] == ["baris 3"]


def test_a_csv_field_over_128_kib_is_named_and_the_rest_of_the_file_is_read(tmp_path: Path) -> None:
    head = "source,external_id,text,created_at\n"
    good = "lapor,{},Jalan rusak di Kayuagung,2026-11-02T08:15:00+07:00\n"
    huge = "lapor,BIG," + "x" * (140 * 1024) + ",2026-11-02T08:15:00+07:00\n"
    path = tmp_path / "besar.csv"
    path.write_text(head + good.format("A") + huge + good.format("B") + good.format("C"), encoding="utf-8")
    items, errors = parse_import_file(path, now=NOW)
    assert [i.external_id for i in items] == ["A", "B", "C"]
    assert len(errors) == 1 and errors[0].startswith("baris 3: CSV rusak") and "dilewati" in errors[0]


def test_cli_import_stores_the_good_rows_names_the_bad_and_prints_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'imp.db'}")
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    path = tmp_path / "lapor.jsonl"
    path.write_bytes(
        _lines(GOOD, {**GOOD, "external_id": "LPR-2", "likes": 10**30}).encode()
        + b'{"source": "lapor", "external_id": "LPR-3", "text": "Jalan \xff rusak"}\n'
        + _lines({**GOOD, "external_id": "LPR-4", "text": "Jembatan Kayuagung retak – bahaya"}).encode()
    )
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    code = main(["import", str(path)])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.out + out.err
    assert "dilewati: baris 2: kolom 'likes'" in out.out and "dilewati: baris 3: byte 0xFF" in out.out
    assert "2 disimpan" in out.out and "2 ditolak" in out.out
    db = Database(f"sqlite:///{tmp_path / 'imp.db'}")
    with db.session() as s:
        texts = {ext: text for ext, text in s.execute(select(Post.external_id, Post.text))}
    db.dispose()
    assert texts == {"LPR-1": GOOD["text"], "LPR-4": "Jembatan Kayuagung retak – bahaya"}


# ---------------------------------------------------------------- property tests: import rows

_count_values = (
    st.integers(min_value=-5, max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet="0123456789-. ", max_size=30)
    | st.none()
    | st.booleans()
)
_records = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["lapor", "wa"]),
        "external_id": st.text(alphabet="ABCDEFGH0123456789-", min_size=1, max_size=12),
        "text": st.text(min_size=1, max_size=80),
        "created_at": st.sampled_from(["2026-11-02T08:15:00+07:00", "2026-11-01 20:00:00", "kemarin"]),
    },
    optional={name: _count_values for name in ("likes", "shares", "replies", "views")},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_records, st.booleans()), max_size=8))
def test_import_rows_property(rows: list[tuple[dict[str, object], bool]]) -> None:
    """Any rows, some with a broken byte: never a crash; each line is kept or named; counts stay in range;
    a kept row's text is exactly what parsing that row alone gives (no other line can change it)."""
    lines: list[bytes] = []
    for record, corrupt in rows:
        line = json.dumps(record, ensure_ascii=False).encode("utf-8")
        lines.append(line[:-1] + b'"\xff": 1}' if corrupt else line)
    items, errors = parse_jsonl(decode(b"\n".join(lines)), now=NOW)
    named = {int(e.split(":")[0].removeprefix("baris ")) for e in errors}
    assert len(items) + len(named) == len(rows)  # each line: stored or named, never both, never lost
    for number, (_record, corrupt) in enumerate(rows, start=1):
        if corrupt:
            assert number in named
    kept = [record for number, (record, _c) in enumerate(rows, start=1) if number not in named]
    for item, record in zip(items, kept, strict=True):
        assert all(0 <= getattr(item, n) <= MAX_COUNT for n in ("likes", "shares", "replies", "views"))
        alone, _ = parse_jsonl(json.dumps(record, ensure_ascii=False), now=NOW)
        assert alone and alone[0].text == item.text and alone[0].external_id == item.external_id


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
