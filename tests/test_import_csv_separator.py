"""A semicolon CSV (Excel in an Indonesian locale) whose texts hold commas is still read."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors.import_file import parse_csv

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def test_semicolon_csv_with_comma_rich_text() -> None:
    text = (
        "source;external_id;text;created_at\r\n"
        "lapor;L-1;Jalan rusak, berlubang, licin, gelap, sempit, banjir, macet, parah, bahaya, mohon segera;"
        "2026-11-02T08:15:00+07:00\r\n"
    )
    items, errors = parse_csv(text, now=NOW)
    assert errors == []
    assert [i.external_id for i in items] == ["L-1"] and items[0].text.startswith("Jalan rusak, berlubang")


def test_comma_csv_with_semicolons_in_text() -> None:
    text = 'source,external_id,text,created_at\r\nlapor,L-2,"a; b; c; d; e; f",2026-11-02T08:15:00+07:00\r\n'
    items, errors = parse_csv(text, now=NOW)
    assert errors == [] and items[0].text == "a; b; c; d; e; f"
