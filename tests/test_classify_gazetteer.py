"""The gazetteer: the 18 kecamatan, spelling variants, desa -> kecamatan, typos, confusers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers.gazetteer import KECAMATAN, WILAYAH_OKI, find_places

ROOT = Path(__file__).resolve().parent.parent


def test_kecamatan_are_the_18_of_the_taxonomy_and_the_official_list() -> None:
    assert len(KECAMATAN) == 18 == len(set(KECAMATAN))
    taxonomy = ROOT.parent / "shared" / "design" / "taxonomy.md"
    if taxonomy.exists():
        text = " ".join(taxonomy.read_text(encoding="utf-8").split())
        for name in KECAMATAN:
            assert name in text
    with WILAYAH_OKI.open(encoding="utf-8") as fh:
        official = {r["nama"] for r in csv.DictReader(fh) if r["level"] == "kecamatan"}
    assert official == set(KECAMATAN)


@pytest.mark.parametrize(
    ("text", "kecamatan"),
    [
        ("banjir di Kayuagung", "Kayu Agung"),
        ("banjir di Kayu Agung", "Kayu Agung"),
        ("air mati di SP Padang", "Sirah Pulau Padang"),
        ("air mati di S.P. Padang", "Sirah Pulau Padang"),
        ("jalan rusak Pangkalan Lapam", "Pangkalan Lampam"),
        ("jalan rusak Pangkalan Lampam", "Pangkalan Lampam"),
        ("lampu mati di Tl. Selapan", "Tulung Selapan"),
        ("warga Sei Menang mengeluh", "Sungai Menang"),
        ("Kec. Pedamaran Timur", "Pedamaran Timur"),
    ],
)
def test_spelling_variants(text: str, kecamatan: str) -> None:
    assert find_places(text).kecamatan == kecamatan


def test_desa_maps_to_its_kecamatan_including_sri_for_seri() -> None:
    # Kepmendagri lists Seritanjung under Tanjung Lubuk.
    ev = find_places("Jalan di Desa Sri Tanjung rusak parah")
    assert ev.kecamatan == "Tanjung Lubuk"
    assert ev.desa == "Seritanjung"
    # A kecamatan named in the post wins, and a desa from elsewhere is then not reported.
    ev = find_places("Jalan di Desa Sri Tanjung Kec. Cengal rusak parah")
    assert ev.kecamatan == "Cengal"
    assert ev.desa is None
    assert find_places("banjir di desa Ulak Kapal").kecamatan == "Tanjung Lubuk"
    assert find_places("Desa Pedamaran III").desa == "Pedamaran III"


def test_explicit_kecamatan_beats_a_regency_hashtag() -> None:
    ev = find_places("jembatan ambruk di desa Jadi Mulya kec Air Sugihan #Kayuagung")
    assert ev.kecamatan == "Air Sugihan"


def test_typos_after_a_cue_are_matched_fuzzily() -> None:
    ev = find_places("banjir di ds ulak kapl")
    assert ev.kecamatan == "Tanjung Lubuk"
    assert any(m.fuzzy for m in ev.matches)
    assert find_places("banjir di Kayuuagung").kecamatan == "Kayu Agung"


def test_common_word_village_names_need_a_cue() -> None:
    assert find_places("riding motor ke pantai").kecamatan is None
    assert find_places("jalan di desa Riding rusak").kecamatan == "Pangkalan Lampam"


@pytest.mark.parametrize(
    "text",
    [
        "Ceramah Ustazah Oki Setiana Dewi bikin adem",
        "KTT OKI kecam serangan Israel",
        "Printer OKI C332 paper jam terus",
    ],
)
def test_confusers_are_flagged_and_give_no_oki_evidence(text: str) -> None:
    ev = find_places(text)
    assert ev.confuser >= 1
    assert ev.strong == 0 and ev.place == 0


@pytest.mark.parametrize(
    "text",
    [
        "Jalan rusak di Baturaja OKU belum juga diperbaiki",
        "Banjir di Mesuji Lampung rendam ratusan rumah",
        "macet di Indralaya Ogan Ilir",
    ],
)
def test_neighbouring_regencies_are_flagged(text: str) -> None:
    ev = find_places(text)
    assert ev.neighbour >= 1
    assert ev.kecamatan is None


def test_mesuji_alone_is_weak_and_kayuagung_is_strong() -> None:
    mesuji = find_places("banjir di Mesuji")
    assert mesuji.weak == 1 and mesuji.strong == 0 and mesuji.place == 0
    assert find_places("Selamat pagi Kayuagung").strong == 1
    assert find_places("Min @pemkaboki jalan poros Cengal").strong == 1
    assert find_places("jalan rusak #OKI").bare_oki == 1


def test_a_shared_desa_name_alone_is_weak_evidence_that_names_its_kecamatan() -> None:
    # Sukadana is a kelurahan of Kayu Agung and a name of villages elsewhere: alone it is weak
    # evidence (the model decides relevance; a post judged not relevant gets no kecamatan).
    alone = find_places("air mati lagi di sukadana dari subuh")
    assert alone.weak == 1 and alone.place == 0 and alone.strong == 0
    assert alone.kecamatan == "Kayu Agung"
    assert find_places("@pdamtirtaagung air mati lagi di sukadana dari subuh").kecamatan == "Kayu Agung"
    # Sukaraja lies in two OKI kecamatan: evidence, but no guess between them.
    sukaraja = find_places("pemkab oki jalan desa sukaraja rusak")
    assert sukaraja.kecamatan is None and sukaraja.weak >= 1
    # A place elsewhere in the post: the shared name may be that place's.
    assert find_places("pemkab oki, air mati di sukadana indralaya").kecamatan is None
