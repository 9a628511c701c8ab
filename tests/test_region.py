"""Any regency by its code: `init --region` writes its config, `classify` reads that region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.gazetteer import Gazetteer
from classifiers.normalise import normalise
from classifiers.region import NATIONAL_LIST, WilayahRow, build_region_gazetteer, region_extract, region_relevance
from monitor.cli import main
from monitor.kernel.config import load_config

ROOT = Path(__file__).resolve().parent.parent
POST = {"id": "1", "text": "jalan rusak parah di Baturaja Timur"}

# A small made-up province: regency 91.01 with two kecamatan, a neighbour 91.02 and a regency of
# another province whose kecamatan must not become a look-alike.
ROWS = [
    WilayahRow("91", "Papua Contoh", "provinsi", ""),
    WilayahRow("91.01", "Kabupaten Sungai Kecil", "kabupaten_kota", "91"),
    WilayahRow("91.01.01", "Tanjung Sari", "kecamatan", "91.01"),
    WilayahRow("91.01.01.2001", "Sukajadi", "desa_kelurahan", "91.01.01"),
    WilayahRow("91.01.01.2002", "Karang Anyar", "desa_kelurahan", "91.01.01"),
    WilayahRow("91.01.02", "Muara Dua", "kecamatan", "91.01"),
    WilayahRow("91.01.02.2001", "Karang Anyar", "desa_kelurahan", "91.01.02"),
    WilayahRow("91.02", "Kota Bukit Tinggi", "kabupaten_kota", "91"),
    WilayahRow("91.02.01", "Lembah Hijau", "kecamatan", "91.02"),
    WilayahRow("91.02.02", "Muara Dua", "kecamatan", "91.02"),
    WilayahRow("92", "Jauh", "provinsi", ""),
    WilayahRow("92.01", "Kabupaten Seberang", "kabupaten_kota", "92"),
    WilayahRow("92.01.01", "Pulau Jauh", "kecamatan", "92.01"),
]


def _kinds(gaz: Gazetteer, phrase: str) -> set[tuple[str, str]]:
    return {(e.kind, e.strength) for e in gaz.index.get(tuple(normalise(phrase).split()), [])}


def test_the_builder_reads_one_regency_and_its_look_alike_neighbours() -> None:
    gaz = build_region_gazetteer(ROWS, "91.01")
    assert _kinds(gaz, "Tanjung Sari") == {("kecamatan", "place")}
    assert _kinds(gaz, "tg sari") == {("kecamatan", "place")}  # the short form of "Tanjung"
    assert _kinds(gaz, "kabupaten sungai kecil") == {("oki", "strong")}
    assert _kinds(gaz, "Lembah Hijau") == {("neighbour", "neighbour")}
    assert _kinds(gaz, "kota bukit tinggi") == {("neighbour", "neighbour")}
    # A name the region uses itself is never evidence against it; another province is not a neighbour.
    assert _kinds(gaz, "Muara Dua") == {("kecamatan", "place")}
    assert _kinds(gaz, "Pulau Jauh") == set()
    # A desa name several kecamatan share does not choose between them; a one-word one needs a cue.
    ev = gaz.evidence(normalise("banjir di Karang Anyar"))
    assert ev.weak and ev.kecamatan is None
    assert gaz.evidence(normalise("ada Sukajadi")).weak == 0
    ev = gaz.evidence(normalise("jalan putus di desa Sukajadi"))
    assert (ev.weak, ev.kecamatan, ev.desa) == (1, "Tanjung Sari", "Sukajadi")
    assert region_relevance(gaz.evidence(normalise("jalan rusak di Lembah Hijau"))) < 0.5
    assert region_relevance(gaz.evidence(normalise("jalan rusak di Tanjung Sari"))) >= 0.5
    assert [r.kode for r in region_extract(ROWS, "91.01")] == [r.kode for r in ROWS[1:10]]


@pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")
def test_init_region_then_classify_reads_that_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "oku.yaml"
    assert main(["init", "--region", "16.01", "--output", str(out)]) == 0
    capsys.readouterr()
    cfg = load_config(out)
    assert (cfg.region, cfg.region_code) == ("Kabupaten Ogan Komering Ulu", "16.01")
    assert (tmp_path / str(cfg.region_places)).exists()
    assert {a.code for a in cfg.agencies} == {a.code for a in load_config(ROOT / "config.yaml").agencies}
    assert all("OKI" not in a.name and "okikab" not in " ".join(a.emails) for a in cfg.agencies)
    news = next(s for s in cfg.sources if s.kind == "googlenews")
    assert '"Kabupaten Ogan Komering Ulu"' in news.settings["queries"]
    assert any('"Baturaja Timur"' in q for q in news.settings["queries"])

    src = tmp_path / "post.jsonl"
    src.write_text(json.dumps(POST) + "\n", encoding="utf-8")
    assert main(["--config", str(out), "classify", "--input", str(src)]) == 0
    oku = json.loads(capsys.readouterr().out)
    assert (oku["relevant"], oku["kecamatan"]) == (True, "Baturaja Timur")
    assert main(["--config", str(ROOT / "config.yaml"), "classify", "--input", str(src)]) == 0
    oki = json.loads(capsys.readouterr().out)
    assert (oki["relevant"], oki["kecamatan"]) == (False, None)


def test_init_refuses_an_unknown_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    national = tmp_path / "wilayah.csv"
    national.write_text(
        "kode,nama,level,kode_induk\n" + "".join(f"{r.kode},{r.nama},{r.level},{r.kode_induk}\n" for r in ROWS),
        encoding="utf-8",
    )
    out = tmp_path / "x.yaml"
    assert main(["init", "--region", "91.01.01", "--wilayah", str(national), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bukan kabupaten/kota" in err and "not a regency" in err
    assert list(tmp_path.iterdir()) == [national]  # nothing written
    assert main(["init", "--region", "91.01", "--wilayah", str(national), "--output", str(out)]) == 0
    assert load_config(out).region == "Kabupaten Sungai Kecil"
