"""The normaliser: slang and Palembang words, elongation, emoji, hashtags, mentions, money."""

from __future__ import annotations

import pytest

from classifiers.normalise import lexicon_coverage, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gk bs", "tidak bisa"),
        ("jalan dak pacak dilewati", "jalan tidak bisa dilewati"),
        ("rusak nian", "rusak sekali"),
        ("cak mano ini pak", "bagaimana ini bapak"),
        ("yg udh lamo", "yang sudah lama"),
        ("galak lemak kagek", "mau enak nanti"),
        ("tdk ado", "tidak ada"),
    ],
)
def test_slang_and_palembang_words_become_standard(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_negations_survive() -> None:
    # Complaint detection depends on them; a stopword-style removal would be a bug.
    assert normalise("belum diperbaiki, gak ada respon").split()[:1] == ["belum"]
    assert "tidak" in normalise("gak ada respon").split()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("parahhhh", "parah"),
        ("tolooong", "tolong"),
        ("bangettt", "banget"),
        ("maaaaf", "maaf"),
        ("parahh", "parah"),
    ],
)
def test_elongation_is_undone(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_roman_numerals_of_village_names_are_not_elongation() -> None:
    assert normalise("Desa Pedamaran III") == "desa pedamaran iii"
    assert normalise("Pedamaran II") == "pedamaran ii"


def test_emoji_keep_meaning_where_it_matters() -> None:
    assert normalise("jalan rusak 😡😡") == "jalan rusak marah marah"
    assert normalise("mohon 🙏") == "mohon mohon"
    assert normalise("info aja 🌴✨") == "info saja"


def test_urls_dropped_mentions_dropped_unless_official_hashtag_words_kept() -> None:
    text = "Min @pemkaboki cek https://t.co/abc @budi_99 #JalanRusak #OKIMaju"
    assert normalise(text) == "admin pemkab oki cek jalan rusak oki maju"


def test_money_and_units() -> None:
    assert normalise("pungli Rp 50.000 per KK") == "pungutan liar nominaluang per kk"
    assert normalise("bayar 2jt") == "bayar nominaluang"
    assert normalise("gas 3kg langka") == "gas 3 kg langka"
    assert normalise("1.500 orang, tahun 2000") == "1500 orang tahun 2000"  # numbers are not elongated


def test_reduplication_with_two() -> None:
    assert normalise("anak2 sekolah") == "anak anak sekolah"


def test_empty_and_whitespace() -> None:
    assert normalise("") == ""
    assert normalise("   \n ") == ""


def test_lexicon_coverage_counts_changed_and_exact_forms() -> None:
    cov = lexicon_coverage([("gk", "tidak"), ("bgt", "banget"), ("xyzzy", "kata"), ("sama", "sama")])
    assert cov["forms"] == 3  # identical pairs are not slang
    assert cov["exact"] == pytest.approx(2 / 3)
    assert cov["covered"] == pytest.approx(2 / 3)


def test_komering_words_become_standard_and_mak_alone_stays_mother() -> None:
    assert normalise("ulun haga ngurus KTP, petugasnya mak wat") == "saya mau mengurus ktp petugasnya tidak ada"
    assert normalise("lampu mati unyin bingi, anak lunik takut") == "lampu mati semua malam anak kecil takut"
    assert normalise("mak ijah sakit") == "ibu ijah sakit"
    assert normalise("ram sunyin ngungsi, bantuan pagun mak wat") == "kami semua mengungsi bantuan masih tidak ada"


def test_palembang_o_forms_and_bribe_names() -> None:
    assert normalise("katonyo la dibagike, tapi ke siapo?") == "katanya sudah dibagikan tapi ke siapa"
    # What a bribe is called in passing becomes the lexicon's bribe word.
    assert normalise("surat selesai asal ado uang kopi") == "surat selesai asal ada uang pelicin"
