"""Place evidence grounded in the national region list: the namesake tables, the place-weight rule,
official handles, and look-alike places of the neighbouring regencies (issues #17, #18)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

import classifiers.model as model_module
from classifiers.gazetteer import (
    ELSEWHERE,
    NAMESAKES,
    Namesakes,
    find_places,
    get_gazetteer,
    load_namesakes,
    place_strength,
)
from classifiers.model import TextClassifier, data_hash, load_classifier, relevance_rule
from classifiers.normalise import normalise, official_handle

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = pytest.mark.xdist_group("test_classify_places")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "classifiers" / "data"


def _wilayah_source() -> Path | None:
    """The national region list: ../shared next to the repository, or $OKI_SHARED_DATA/wilayah_id."""
    candidates = [ROOT.parent / "shared" / "data" / "wilayah_id" / "wilayah_id.csv"]
    if os.environ.get("OKI_SHARED_DATA"):
        candidates.insert(0, Path(os.environ["OKI_SHARED_DATA"]) / "wilayah_id" / "wilayah_id.csv")
    return next((p for p in candidates if p.exists()), None)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_namesakes", DATA / "make_namesakes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_namesakes"] = module
    spec.loader.exec_module(module)
    return module


def test_shipped_tables_equal_a_fresh_derivation_from_the_national_list(generator: ModuleType) -> None:
    source = _wilayah_source()
    if source is None:
        if os.environ.get("CI"):
            pytest.fail("../shared/data/wilayah_id/wilayah_id.csv is missing: CI must check the derived tables")
        pytest.skip("../shared/data/wilayah_id is not here (set OKI_SHARED_DATA to the shared data directory)")
    namesakes, elsewhere = generator.build(generator.read_regions(source))
    assert NAMESAKES.read_text(encoding="utf-8") == namesakes, "run classifiers/data/make_namesakes.py"
    assert ELSEWHERE.read_text(encoding="utf-8") == elsewhere, "run classifiers/data/make_namesakes.py"


def test_the_product_reads_only_its_own_data_directory() -> None:
    assert NAMESAKES.parent == DATA and ELSEWHERE.parent == DATA
    license_text = (DATA / "LICENSE.wilayah").read_text(encoding="utf-8")
    assert "MIT License" in license_text and "Cahya DSN" in license_text
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "namesakes.csv" in readme and "elsewhere_places.csv" in readme


def test_model_retrains_when_the_place_tables_change() -> None:
    assert NAMESAKES in model_module._HASHED_FILES and ELSEWHERE in model_module._HASHED_FILES
    assert data_hash() == data_hash()


# --- the place-weight rule, on names as the national list has them --------------------------------


def test_table_rows_say_where_the_namesakes_are() -> None:
    table = load_namesakes()
    pedamaran = table["pedamaran"]
    assert (pedamaran.oki_level, pedamaran.total, pedamaran.desa_kelurahan) == ("kecamatan", 1, 1)
    mesuji = table["mesuji"]
    assert mesuji.kabupaten_kota == 1 and mesuji.neighbour >= 1  # Kabupaten Mesuji, Lampung
    assert table["tanjung lubuk"].neighbour == 1  # a village of Ogan Ilir
    assert table["jejawi"].total == 0
    assert pedamaran.codes == ("14.07.14.2001",) and {"14", "14.07", "14.07.14"} == pedamaran.around


@pytest.mark.parametrize(
    ("name", "level", "strength"),
    [
        ("jejawi", "kecamatan", "place"),  # exists nowhere else
        ("pedamaran", "kecamatan", "place"),  # elsewhere one village (Riau)
        ("lempuing", "kecamatan", "place"),  # elsewhere one kelurahan (Kota Bengkulu)
        ("tanjung lubuk", "kecamatan", "place"),  # elsewhere one village, in Ogan Ilir next door
        ("pampangan", "kecamatan", "place"),  # three distant villages
        ("mesuji", "kecamatan", "weak"),  # a regency and a kecamatan in Lampung
    ],
)
def test_place_weight_rule_on_kecamatan_names(name: str, level: str, strength: str) -> None:
    assert place_strength(load_namesakes()[name], level) == strength
    entries = [e for e in get_gazetteer().index[tuple(name.split())] if e.kind == "kecamatan"]
    assert entries and all(e.strength == strength for e in entries)


def test_place_weight_rule_on_desa_names() -> None:
    table = load_namesakes()
    desa = {name: ns for name, ns in table.items() if ns.oki_level == "desa_kelurahan"}
    unique = [name for name, ns in desa.items() if ns.total == 0]
    one_village = [name for name, ns in desa.items() if ns.total == 1 and ns.desa_kelurahan == 1]
    widely = [name for name, ns in desa.items() if ns.total >= 10]
    assert unique and one_village and widely
    assert all(place_strength(desa[n], "desa_kelurahan") == "place" for n in unique)
    # A desa shares its level with any other village: one namesake is enough to make it weak.
    assert all(place_strength(desa[n], "desa_kelurahan") == "weak" for n in one_village + widely)


def test_place_weight_rule_thresholds() -> None:
    def kec(**counts: int) -> str:
        return place_strength(Namesakes("x", "kecamatan", **counts), "kecamatan")

    assert kec() == "place"
    assert kec(desa_kelurahan=4) == "place"
    assert kec(desa_kelurahan=5) == "weak"  # shared by many villages
    assert kec(desa_kelurahan=1, neighbour=1) == "place"
    assert kec(desa_kelurahan=2, neighbour=2) == "weak"  # two villages next door
    assert kec(kecamatan=1) == "weak"  # a kecamatan elsewhere
    assert kec(kabupaten_kota=1) == "weak"
    assert place_strength(None, "desa_kelurahan") == "place"


# --- official accounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "min @dukcapil_oki KTP saya belum jadi",
        "@pemkaboki jalan rusak",
        "@diskominfo_oki tolong info",
        "@humaspemkaboki kapan diperbaiki",
        "@pdamtirtaagung air mati",
        "@dinsos_oki bansos belum cair",
        "@bpbdoki banjir",
        "@satpol_pp_oki pedagang liar",
        "@dinkesoki puskesmas tutup",
    ],
)
def test_official_handles_are_strong_evidence(text: str) -> None:
    ev = find_places(text)
    assert ev.strong >= 1 and not ev.confuser
    assert relevance_rule(0.1, ev) >= 0.9


def test_other_handles_are_not_the_regency() -> None:
    assert official_handle("oki_rahman") is None
    assert official_handle("okisetianadewi") is None
    assert official_handle("tokoki") is None
    assert normalise("@oki_rahman mantap") == "mantap"
    assert not find_places("@okisetianadewi ceramahnya adem").positive


# --- places of the neighbours count against OKI ----------------------------------------------------


def test_neighbour_names_come_from_the_national_list() -> None:
    gaz = get_gazetteer()
    for name in ("indralaya", "pemulutan", "muara kuang", "rantau alai", "belitang", "gelumbang", "menggala"):
        entries = gaz.index.get(tuple(name.split()), [])
        if name == "gelumbang" and not entries:
            continue  # a name many places share is not evidence
        assert any(e.kind == "neighbour" for e in entries), name
    # Names OKI uses are never against OKI, and ordinary words are not place names.
    assert not any(e.kind == "neighbour" for e in gaz.index.get(("mesuji",), []))
    assert ("peninjauan",) not in gaz.index
    assert find_places("di Kabupaten Batu Bara").neighbour == 1
    assert find_places("angkutan batu bara lewat jalan desa").neighbour == 0


def test_bridge_in_ogan_ilir_is_not_oki() -> None:
    for text in (
        "jembatan ambruk di Tanjung Raja, Indralaya",
        "Yang mau ke Kayuagung jangan lewat Tanjung Raja dulu, jembatan ambruk",
        "Jembatan ambruk di Tanjung Raja, akses Palembang Kayuagung putus total",
    ):
        ev = find_places(text)
        assert relevance_rule(0.95, ev) < 0.5, text


def test_oki_place_with_a_destination_elsewhere_stays_oki() -> None:
    ev = find_places("jalan rusak di Pedamaran, ambulans ke Palembang susah lewat")
    assert ev.neighbour == 0 and ev.place == 1
    assert relevance_rule(0.4, ev) >= 0.7
    assert relevance_rule(0.2, find_places("jalan lintas Palembang Kayuagung rusak parah")) >= 0.9


def test_weak_kecamatan_alone_is_now_oki() -> None:
    for text, kec in (
        ("jalan rusak di Pedamaran", "Pedamaran"),
        ("air PDAM kecil nian di Tanjung Lubuk", "Tanjung Lubuk"),
        ("Lempuing banjir lagi", "Lempuing"),
        ("Desa Bangsal Pampangan jembatan gantung putus", "Pampangan"),
    ):
        ev = find_places(text)
        assert ev.kecamatan == kec and ev.place >= 1
        assert relevance_rule(0.3, ev) >= 0.7
    assert find_places("Desa Bangsal Pampangan jembatan gantung putus").desa == "Bangsal"


def test_an_oki_name_next_to_the_region_of_its_namesake_means_the_namesake() -> None:
    # Pedamaran's only namesake is a village in Kabupaten Rokan Hilir, Riau.
    for text in ("banjir di Pedamaran, Rokan Hilir, Riau", "Desa Pedamaran Riau banjir"):
        ev = find_places(text)
        assert ev.neighbour >= 1 and ev.place == 0 and ev.strong == 0, text
        assert ev.kecamatan is None
        assert relevance_rule(0.95, ev) < 0.5
    # Lempuing's is a kelurahan of Kota Bengkulu; Cengal's are villages in Kuningan and Majalengka.
    assert relevance_rule(0.95, find_places("banjir di kelurahan Lempuing kota Bengkulu")) < 0.5
    assert relevance_rule(0.95, find_places("jalan desa Cengal Kuningan rusak")) < 0.5
    # Another place elsewhere does not make Pedamaran the Riau one: the model decides.
    ev = find_places("jalan rusak di Pedamaran, sama parahnya dengan di Banyuasin")
    assert ev.place == 1 and ev.neighbour == 1
    assert relevance_rule(0.8, ev) == pytest.approx(0.8)


def test_shared_desa_does_not_choose_a_kecamatan_next_to_a_place_elsewhere() -> None:
    assert find_places("banjir di desa Sukamaju").kecamatan is not None
    assert find_places("banjir di desa Sukamaju Indralaya").kecamatan is None


# --- the trained classifier ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clf() -> TextClassifier:
    """The shared test model: trained from these data files once, then reused (conftest's ``_test_model_dir``)."""
    return load_classifier()


def test_classifier_reads_places_as_a_resident(clf: TextClassifier) -> None:
    texts = [
        "jalan rusak di Pedamaran, lubang dimano-mano",
        "Desa Bangsal Pampangan jembatan gantung putus, anak sekolah naik perahu",
        "min @dukcapil_oki KTP saya sudah 3 bulan belum jadi",
        "jembatan ambruk di Tanjung Raja, Indralaya",
        "Yang mau ke Kayuagung jangan lewat Tanjung Raja dulu, jembatan ambruk",
    ]
    road, bridge, ktp, ogan_ilir, detour = clf.predict(texts)
    assert road.relevant and road.kecamatan == "Pedamaran"
    assert bridge.relevant and bridge.kecamatan == "Pampangan" and bridge.desa == "Bangsal"
    assert ktp.relevant
    assert not ogan_ilir.relevant and ogan_ilir.kecamatan is None
    assert not detour.relevant and detour.kecamatan is None


def test_a_desa_no_other_region_has_needs_no_cue_but_an_ordinary_word_does() -> None:
    # Celikah (Kayu Agung) exists nowhere else: said bare it is the place.
    assert load_namesakes()["celikah"].total == 0
    ev = find_places("sekolah anak di celikah tidak ada buku paket")
    assert ev.kecamatan == "Kayu Agung" and ev.place == 1
    # Riding is also a word, Sukamaju a name of 119 other villages: both need a cue before them
    # ("desa", a facility named after the desa); "di" is not one.
    assert find_places("riding motor ke pantai").kecamatan is None
    assert not find_places("banjir di Sukamaju lagi").positive
    assert not find_places("pasien terlantar di bangsal rsud").positive
    assert not find_places("sampah numpuk di pantai").positive
    assert find_places("banjir di desa Sukamaju").kecamatan is not None
    riding = find_places("puskesmas riding kehabisan obat")
    assert riding.place == 1 and riding.kecamatan == "Pangkalan Lampam"  # no namesake: cued, it is OKI's
    assert find_places("atap sdn 1 kedaton bocor").kecamatan == "Kayu Agung"
    assert find_places("jalan di dusun iii embacang rusak").kecamatan == "Mesuji Raya"


def test_oki_as_a_first_name_is_a_confuser_but_desa_names_ending_in_mas_are_not() -> None:
    assert find_places("si oki anak kos sebelah gk bayar utang").confuser == 1
    assert relevance_rule(0.9, find_places("si oki anak kos sebelah gk bayar utang")) < 0.5
    ev = find_places("jembatan baru di desa Gading Mas OKI mulai dikerjakan")
    assert ev.confuser == 0 and ev.kecamatan == "Sungai Menang"


# How residents write a place they live in (issue #17: kecamatan accuracy on text nobody here wrote).


@pytest.mark.parametrize(
    "text, kecamatan",
    [
        # A desa name that is also a word counts after "di" or a facility named after it.
        ("listrik mati-idup dari siang di Embacang, PLN jangan diem bae", "Mesuji Raya"),
        ("puskesmas riding kehabisan obat", "Pangkalan Lampam"),
        ("atap SDN 1 Kedaton bocor kalau hujan", "Kayu Agung"),
        ("jalan di Dusun III Embacang mangkrak", "Mesuji Raya"),
        ("kantor desa di lirik mak pernah buka", "Pangkalan Lampam"),
        # A shared one-word name counts alone (weak evidence): "pasar kalangan Tugumulyo".
        ("kangen pasar kalangan tugumulyo waktu kecil", "Lempuing"),
        # An official one-word name written apart, and apart names written glued.
        ("saluran irigasi di Sumber Agung dangkal", "Lempuing"),
        # Short forms of the geographic word that starts a name, and a spelling from the news.
        ("banjir lagi di Tg. Lubuk, air masuk rumah", "Tanjung Lubuk"),
        ("tiga anak di Kutaraya kena DBD", "Kayu Agung"),
        # "Pedamaran Tim." is Pedamaran Timur; "Pedamaran, tim gabungan" is Pedamaran.
        ("kabel listrik menjuntai di Pedamaran Tim. bahaya", "Pedamaran Timur"),
        ("titik api di lahan gambut Pedamaran, tim gabungan memadamkan api", "Pedamaran"),
        # The office the complaint is about outweighs where the complainant comes from.
        ("antri di capil kayuagung dari subuh, yg dr Mesuji jauh2 datang pulang gigit jari", "Kayu Agung"),
        ("pasar kayuagung becek, kami dari pedamaran jauh-jauh belanja", "Kayu Agung"),
        # A specific desa outweighs a widely shared crossroads name.
        ("lampu lalu lintas di simpang empat Kayuagung mati", "Kayu Agung"),
    ],
)
def test_places_as_residents_write_them(text: str, kecamatan: str) -> None:
    assert find_places(text).kecamatan == kecamatan


def test_a_desa_name_several_oki_kecamatan_share_does_not_choose_between_them() -> None:
    # Kertamukti lies in Air Sugihan and in Mesuji Raya: evidence for OKI, no kecamatan.
    ev = find_places("pungli di pasar desa Kertamukti OKI")
    assert ev.positive and ev.kecamatan is None
    # Another place in the post still decides.
    assert find_places("pungli di desa Kertamukti, Kecamatan Mesuji Raya").kecamatan == "Mesuji Raya"


def test_a_shared_name_next_to_its_namesakes_region_is_that_namesake() -> None:
    # Tugumulyo is also a kecamatan of Musi Rawas: said with Musi Rawas it is not OKI's.
    ev = find_places("pasar tugumulyo musi rawas banjir lagi")
    assert ev.neighbour >= 1 and ev.place == 0 and ev.strong == 0
    assert relevance_rule(0.9, ev) < 0.5
