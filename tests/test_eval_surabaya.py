"""Surabaya evaluation plumbing: the mapping table, the loaders and the extra scores (no model needed)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers import evaluation as ev
from classifiers.model import TOPICS


def _map_rows() -> list[dict[str, str]]:
    with ev.SURABAYA_MAP.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_mapping_rows_are_unique_valid_and_explained() -> None:
    rows = _map_rows()
    names = [r["topik"].strip() for r in rows]
    assert len(names) == len(set(names)), "a Surabaya topic is listed twice"
    for r in rows:
        assert r["taxonomy_key"] == "-" or r["taxonomy_key"] in TOPICS, r
        assert r["why"].strip(), f"no reason given for {r['topik']!r}"


def test_mapping_leaves_out_mixed_desks() -> None:
    # Decided on the 2022 development set: these desks mix subjects, so they are not scored.
    mapping = ev.load_surabaya_map()
    for name in ("Kinerja / Disiplin Pegawai", "Disiplin Petugas Satpol PP", "Permasalahan Kewilayahan Kelurahan"):
        assert name not in mapping
    assert mapping["Lowongan Pekerjaan"] == "ketenagakerjaan"
    assert mapping["Informasi Lokasi Genangan"] == "infrastruktur"


def test_mapping_refuses_an_unknown_key(tmp_path: Path) -> None:
    bad = tmp_path / "map.csv"
    bad.write_text("topik,taxonomy_key,why\nJalan,jalan_rusak,typo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="jalan_rusak"):
        ev.load_surabaya_map(bad)


def test_load_surabaya_skips_unmapped_and_empty_rows(tmp_path: Path) -> None:
    data = tmp_path / "complaints_2022.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "keluhan", "topik"])
        w.writerow(["1", "jalan berlubang", "Jalan Rusak dan Berlubang"])
        w.writerow(["2", "apa saja", "Permasalahan Kewilayahan Kelurahan"])
        w.writerow(["3", "  ", "PJU"])
        w.writerow(["4", "air mati", " Pelayanan PDAM "])
    texts, keys, skipped = ev.load_surabaya(data, ev.load_surabaya_map())
    assert texts == ["jalan berlubang", "air mati"]
    assert keys == ["infrastruktur", "air_bersih"]
    assert skipped == 2


def test_report_key_keeps_the_historical_name() -> None:
    assert ev.surabaya_report_key(Path("x/complaints_2023H1.csv")) == ("surabaya_2023h1", "2023 H1")
    key, title = ev.surabaya_report_key(Path("complaints_2022.csv"))
    assert key == "surabaya_2022" and "2022" in title
    assert ev.surabaya_report_key(Path("other file.csv"))[0] == "surabaya_other_file"


def test_macro_f1_min_support_drops_only_small_classes() -> None:
    truth = ["a"] * 4 + ["b"] * 4 + ["c"]
    pred = ["a"] * 4 + ["b"] * 4 + ["a"]
    full = ev.topic_scores(truth, pred)["macro_f1"]
    big, n = ev.macro_f1_min_support(truth, pred, 2)
    assert n == 2
    assert big > full  # the one-row class c (F1 0) is left out
    assert big == pytest.approx((8 / 9 + 1.0) / 2)  # a: precision 4/5, recall 1
    assert ev.macro_f1_min_support(truth, pred, 10) == (0.0, 0)
