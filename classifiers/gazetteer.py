"""Places and OKI evidence in normalised text: kecamatan, desa/kelurahan, landmarks, confusers.

Built once from the official region list (``classifiers/data/oki_wilayah.csv``, MIT, from
Kepmendagri codes) plus aliases written here. Lookup is token n-gram dictionary matching on
the output of :func:`classifiers.normalise.normalise`, with a fuzzy fallback only right after
a place cue ("desa", "kecamatan", ...), so it stays fast on every post.

Evidence strength:

- **strong**: names only OKI has ("Ogan Komering Ilir", "Pemkab OKI", "Kayuagung", "Bende
  Seguguk", "RSUD Kayuagung", "Polres OKI", official accounts such as ``@dukcapil_oki``, ...);
- **place** / **weak**: an OKI kecamatan or desa name, weighed by where else in Indonesia the
  same name exists (``data/namesakes.csv``, derived from the national region list by
  ``data/make_namesakes.py``). **The rule:** every region outside OKI that carries the name
  weighs 1 if it is a desa/kelurahan, 10 if a kecamatan, 100 if a kabupaten/kota or provinsi,
  and three times that if it lies in a neighbouring regency (a reader there could mean it).
  The name is OKI's (``place``) when its namesakes weigh less than half of the OKI place it
  names (a kecamatan weighs 10, a desa 1); otherwise it is ``weak``. So Pedamaran (one village
  in Riau), Lempuing (one kelurahan of Kota Bengkulu), Tanjung Lubuk (one village of Ogan Ilir)
  and Pampangan (three distant villages) are OKI's; Mesuji (a regency in Lampung) is weak; a
  desa name is OKI's only if no other region in the country has it. A bare "OKI" is weak too.
  A desa name shared with places elsewhere counts as weak evidence without a cue ("pasar kalangan
  Tugumulyo"), unless it is one word shared so widely that its namesakes weigh as much as a
  regency (Sukamaju, Sidomulyo); such names, ordinary words (Riding, Paku) and short names need a
  cue: "desa"/"dusun"/... or a facility named after its desa ("pasar", "puskesmas", "SDN 1"...).
  A local name that is a rare word elsewhere counts after "di" too, as weak evidence ("di
  Embacang"). The model decides
  relevance on weak evidence, and a post it finds not relevant gets no kecamatan;
- **confuser**: other meanings of OKI (the OIC, Oki Setiana Dewi, printers, "oki doki");
- **neighbour**: a name that points elsewhere (``data/elsewhere_places.csv`` plus a hand list
  of well-known neighbouring towns): the kecamatan and regency names of the neighbouring
  regencies (Ogan Ilir, OKU, OKU Timur/Selatan, Banyuasin, Muara Enim, PALI, Palembang,
  Lampung's Mesuji and Tulang Bawang), the other regencies of Sumatera Selatan, every other
  province, and any regency of Indonesia written with "kabupaten"/"kab"/"kota" before it.

A name right after a destination word ("ke Kayuagung", "arah Palembang") says where someone
goes, not where the post happens: a name elsewhere there is not counted, an OKI name there is
not counted as a place where it happens. When a post names more places elsewhere than OKI places
where it happens, and nothing but place names speaks for OKI (no institution, account, landmark
or "warga OKI"), its OKI place names count as weak: "mau ke Kayuagung jangan lewat Tanjung Raja
dulu, jembatan ambruk" is about Ogan Ilir. An OKI name shared with other places then does not
choose the kecamatan either. And an OKI name whose namesake lies in a region the post names is
that namesake, not OKI's: "banjir di Pedamaran, Rokan Hilir, Riau" (the regions around the
namesakes of a rarely shared kecamatan name are in ``data/elsewhere_places.csv`` for this).

Spellings: besides the official name, its glued and apart forms ("Sumberagung" is also matched as
"Sumber Agung" when exactly one split gives two words that region names of Sumatera Selatan are
made of), "Seri"/"Sri", roman numerals, the short form of a leading geographic word ("Tg. Lubuk",
"Sg. Menang", "Pulo ..."), and spellings seen in the news (`DESA_ALIASES`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from classifiers.normalise import normalise

DATA_DIR = Path(__file__).resolve().parent / "data"
WILAYAH_OKI = DATA_DIR / "oki_wilayah.csv"
NAMESAKES = DATA_DIR / "namesakes.csv"
ELSEWHERE = DATA_DIR / "elsewhere_places.csv"
SUMSEL_DESA = DATA_DIR / "sumsel_desa_kelurahan.csv"

KECAMATAN: tuple[str, ...] = (
    "Kayu Agung",
    "Lempuing",
    "Lempuing Jaya",
    "Mesuji",
    "Mesuji Makmur",
    "Mesuji Raya",
    "Tanjung Lubuk",
    "Teluk Gelam",
    "Pedamaran",
    "Pedamaran Timur",
    "Pampangan",
    "Pangkalan Lampam",
    "Air Sugihan",
    "Tulung Selapan",
    "Cengal",
    "Sungai Menang",
    "Jejawi",
    "Sirah Pulau Padang",
)
"""The 18 kecamatan of OKI, spelled as in shared/design/taxonomy.md (a contract)."""

# Spelling variants seen in posts and news (research §1), keyed by canonical kecamatan.
KECAMATAN_ALIASES: dict[str, tuple[str, ...]] = {
    "Kayu Agung": ("kayuagung", "kota kayuagung", "kota kayu agung", "kayu agung", "kyuagung", "kayuagug"),
    "Sirah Pulau Padang": ("sp padang", "s p padang", "sppadang", "sirah pulau padang", "sirah pulo padang"),
    "Pangkalan Lampam": ("pangkalan lapam", "pangkalan lampam", "pangkalanlampam", "p lampam", "pkl lampam"),
    "Tulung Selapan": ("tl selapan", "tulungselapan", "tulung selapan", "tlg selapan"),
    "Sungai Menang": ("sungaimenang", "sungai menang"),
    "Tanjung Lubuk": ("tanjunglubuk", "tanjung lubuk"),
    "Teluk Gelam": ("telukgelam", "teluk gelam"),
    "Pedamaran Timur": ("pedamaran timur", "pedamanran timur", "pedamarantimur"),
    "Air Sugihan": ("airsugihan", "air sugihan"),
    "Lempuing Jaya": ("lempuingjaya", "lempuing jaya"),
    "Mesuji Makmur": ("mesuji makmur", "mesujimakmur"),
    "Mesuji Raya": ("mesuji raya", "mesujiraya"),
}

# Desa spellings seen in news that differ from the official list (research §1: "Kutaraya" is how
# the news writes the Kutaraja of Kayu Agung). No other region has them, so they are OKI's.
DESA_ALIASES: dict[str, tuple[str, ...]] = {"Kutaraja": ("kutaraya", "kuta raya")}

# The place-weight rule (module docstring): what a namesake elsewhere weighs by its level, how
# much more it weighs in a neighbouring regency, and what the OKI place itself weighs.
LEVEL_WEIGHT: dict[str, float] = {"provinsi": 100.0, "kabupaten_kota": 100.0, "kecamatan": 10.0, "desa_kelurahan": 1.0}
NEIGHBOUR_FACTOR = 3.0
WIDELY_SHARED = LEVEL_WEIGHT["kabupaten_kota"]
"""A one-word desa name whose namesakes weigh this much (a regency's worth of villages) needs a cue."""


@dataclass(frozen=True, slots=True)
class Namesakes:
    """Regions outside OKI that carry an OKI place name (a row of ``data/namesakes.csv``)."""

    name: str
    oki_level: str
    """'kecamatan' or 'desa_kelurahan': what the name is in OKI."""
    provinsi: int = 0
    kabupaten_kota: int = 0
    kecamatan: int = 0
    desa_kelurahan: int = 0
    neighbour: int = 0
    """How many of them lie in a neighbouring regency."""
    codes: tuple[str, ...] = ()
    """Their region codes (all of them when at most four, else the first three)."""

    @property
    def around(self) -> frozenset[str]:
        """Codes of the regions that contain a namesake (province, regency, kecamatan)."""
        out: set[str] = set()
        for code in self.codes:
            parts = code.split(".")
            out.update(".".join(parts[:depth]) for depth in range(1, len(parts)))
        return frozenset(out)

    @property
    def total(self) -> int:
        """How many regions outside OKI carry the name."""
        return self.provinsi + self.kabupaten_kota + self.kecamatan + self.desa_kelurahan


def namesake_weight(ns: Namesakes) -> float:
    """What the namesakes of an OKI name weigh (see the module docstring).

    Neighbouring namesakes are not broken down by level in the table; they are weighed at the
    heaviest level present, which is exact whenever all namesakes share a level (the usual case)
    and errs towards "weak" otherwise.
    """
    far = 0.0
    heaviest = 0.0
    for level, weight in LEVEL_WEIGHT.items():
        count = getattr(ns, level)
        far += count * weight
        if count:
            heaviest = max(heaviest, weight)
    return far + ns.neighbour * heaviest * (NEIGHBOUR_FACTOR - 1.0)


def place_strength(ns: Namesakes | None, oki_level: str) -> str:
    """'place' when the name is OKI's by the place-weight rule, else 'weak'."""
    if ns is None or ns.total == 0:
        return "place"
    return "place" if namesake_weight(ns) < LEVEL_WEIGHT[oki_level] / 2 else "weak"


def load_namesakes(path: Path | None = None) -> dict[str, Namesakes]:
    """``data/namesakes.csv`` keyed by the normalised name."""
    out: dict[str, Namesakes] = {}
    for row in _read_csv(path or NAMESAKES):
        out[row["name"]] = Namesakes(
            name=row["name"],
            oki_level=row["oki_level"],
            provinsi=int(row["provinsi"]),
            kabupaten_kota=int(row["kabupaten_kota"]),
            kecamatan=int(row["kecamatan"]),
            desa_kelurahan=int(row["desa_kelurahan"]),
            neighbour=int(row["neighbour"]),
            codes=tuple(row["codes"].split()),
        )
    return out


# Landmarks and institutions: (phrase, kecamatan or None, strength).
LANDMARKS: tuple[tuple[str, str | None, str], ...] = (
    ("rsud kayuagung", "Kayu Agung", "strong"),
    ("rsud kayu agung", "Kayu Agung", "strong"),
    ("pasar shopping", "Kayu Agung", "place"),
    ("jalan sepucuk", "Kayu Agung", "place"),
    ("sepucuk", "Kayu Agung", "place"),
    ("talang kubu", "Kayu Agung", "place"),
    ("purna jaya", "Kayu Agung", "weak"),
    ("pln ulp kayuagung", "Kayu Agung", "strong"),
    ("danau teluk gelam", "Teluk Gelam", "place"),
    ("danau teloko", "Kayu Agung", "place"),
    ("tugu bedug", "Kayu Agung", "place"),
    ("taman ogan permata", "Kayu Agung", "place"),
    ("oki pulp", "Air Sugihan", "strong"),
    ("pt oki", "Air Sugihan", "strong"),
    ("oki mill", "Air Sugihan", "strong"),
    ("ulo tugu mulyo", "Lempuing", "place"),
    ("tol kapal betung", None, "strong"),
    ("tol kayuagung", None, "strong"),
    ("jalintim", None, "weak"),
    ("jalan lintas timur", None, "weak"),
    ("bende seguguk", None, "strong"),
    ("pdam tirta agung", None, "strong"),
    ("tirta agung", None, "strong"),
    ("muchendi", None, "strong"),
    ("kayuagung fm", None, "strong"),
)

# Phrases that mean Kabupaten OKI itself.
STRONG_OKI: tuple[str, ...] = (
    "ogan komering ilir",
    "kabupaten oki",
    "kabupaten ogan komering ilir",
    "pemkab oki",
    "pemda oki",
    "bupati oki",
    "wakil bupati oki",
    "wabup oki",
    "sekda oki",
    "dprd oki",
    "polres oki",
    "kapolres oki",
    "kodim 0402",
    "diskominfo oki",
    "disdukcapil oki",
    "dinkes oki",
    "dinas kesehatan oki",
    "dinsos oki",
    "dishub oki",
    "dinas pupr oki",
    "pupr oki",
    "dlh oki",
    "bpbd oki",
    "satpol pp oki",
    "disdik oki",
    "dinas pendidikan oki",
    "disnakertrans oki",
    "pdam oki",
    "kpu oki",
    "bawaslu oki",
    "baznas oki",
    "warga oki",
    "masyarakat oki",
    "wong oki",
    "orang oki",
    "bumi oki",
    "humas pemkab oki",
    "info oki",
    "oki terkini",
    "berita oki",
    "oki maju",
    "oki hebat",
    "kab oki",
    "info kayuagung",
)

# Other meanings of "OKI" and neighbouring regencies (research §3).
CONFUSERS: tuple[str, ...] = (
    "oki setiana",
    "setiana dewi",
    "okisetianadewi",
    "ustazah oki",
    "ustadzah oki",
    "ria ricis",
    "ktt oki",
    "negara anggota oki",
    "anggota oki",
    "sekjen oki",
    "organisasi kerja sama islam",
    "organisasi kerjasama islam",
    "organisasi konferensi islam",
    "konferensi islam",
    "oic",
    "palestina",
    "gaza",
    "israel",
    "jeddah",
    "menlu",
    "printer oki",
    "printer",
    "toner",
    "dot matrix",
    "microline",
    "oki data",
    "oki electric",
    "oki rengga",
    # "Oki" as a first name: "si Oki", "bang Oki" (research §3); not "mas oki": "Desa Cahaya Mas OKI".
    "si oki",
    "bang oki",
    "kak oki",
    "mbak oki",
    "oki island",
    "okinoshima",
)
NEIGHBOURS: tuple[str, ...] = (
    "oku",
    "oku timur",
    "oku selatan",
    "ogan komering ulu",
    "baturaja",
    "martapura",
    "muaradua",
    "belitang",
    "ogan ilir",
    "indralaya",
    "inderalaya",
    "tanjung raja",
    "pemulutan",
    "unsri",
    "muara kuang",
    "lampung",
    "tulang bawang",
    "kabupaten mesuji",
    "mesuji lampung",
    "simpang pematang",
    "wiralaga",
    "tirta raja",
    "banyuasin",
    "muara enim",
    "prabumulih",
    "lahat",
    "jambi",
)

# Single-word desa names a reader could take for something else: they need a cue ("desa Riding")
# before they count. Everyday words and names of places elsewhere (beach, land, blessing, nail,
# lyrics, ward, Deli Serdang, Petaling Jaya...) need one always; local names that are rare words
# elsewhere (a fruit, a fish, an old word for a well) also count after "di" ("di Embacang"), as
# weak evidence. Names shared with other places need a cue by the place-weight rule (see
# `get_gazetteer`), so they are not listed here.
_EVERYDAY = frozenset(
    "anyar darat pantai berkat nusantara paku riding lirik bangsal serdang jungkal rambai kandis sepang petaling "
    "kuripan".split()
)
_LOCAL_WORDS = frozenset("toman kuro keman pedu deling pulauan balian terate embacang tapus kedaton perigi".split())
_NEEDS_CUE = _EVERYDAY | _LOCAL_WORDS
_CUES = frozenset({"desa", "kelurahan", "dusun", "kecamatan", "kampung"})
# Facilities named after the desa they stand in ("Pasar Tugumulyo", "Puskesmas Riding", "SDN 1
# Kedaton", "kantor lurah Kedaton"): the name after one is a place, like after "desa". A school's
# number may stand between them.
_FACILITY_CUES = frozenset(
    "pasar puskesmas pustu polindes poskesdes polsek koramil kua sd sdn smp smpn sma sman smk smkn mts mi "
    "negeri spbu lurah kades kadus balai".split()
)
# A place preposition: "di Embacang" says where it happens. A desa name that is also an ordinary
# word, or short, counts after one only as weak evidence (the model decides), never as a cue.
_AT = frozenset({"di", "sekitar", "dekat"})
# Destination words: a name right after one says where someone goes, not where the post happens.
_ROUTE = frozenset({"ke", "kearah", "arah", "menuju", "tujuan", "jurusan"})
# Words before a regency name elsewhere that make it one ("kab. Batu", "Kota Metro").
_REGENCY_WORDS = ("kabupaten", "kab", "kota", "pemkab", "pemkot")
# Words that, right before "oki", make it the regency (normalised forms).
_OKI_OWNERS = frozenset(
    "dinas pertanian kesehatan pendidikan sosial perhubungan pupr kominfo diskominfo disdik dinkes dinsos dishub "
    "dlh bpbd disdukcapil disnakertrans disdag perkim dpmd distan bappeda bapeda bapenda inspektorat satpol pp "
    "kejari kejaksaan pengadilan kemenag bpn samsat kodim polres kapolres polsek rsud pdam pln kpu bawaslu baznas "
    "dprd pemkab pemda kabupaten bupati wabup sekda pj penjabat warga masyarakat wong orang bumi putra putri "
    "dukcapil humas setda kesbangpol disnaker disperindag dispora dispar bkpsdm bpkad dpkp disbun "
    "atlet pelajar petani nelayan buruh honorer asn pns guru bidan perawat ulama pemuda".split()
)
# Words that follow a cue without being a place ("desa kami", "kecamatan setempat").
_NOT_PLACES = frozenset(
    "kami kita saya kamu ini itu yang di ke dari dan tersebut setempat sekitar sebelah lain tetangga "
    "kalian mereka dia kito tidak sudah belum juga lagi saja sini sana situ untuk dengan pun nya".split()
)

def _word_before(text: str, start: int) -> str:
    """The word that ends right before character `start` of a normalised text ('' if none)."""
    if start < 2:
        return ""
    begin = text.rfind(" ", 0, start - 1) + 1
    return text[begin : start - 1]


def _located(text: str, start: int) -> bool:
    """The name at `start` follows an office or facility word ("Disdukcapil Kayuagung", "pasar
    Kayuagung"): it names where that office is, not the regency as a tag."""
    before = _word_before(text, start)
    return before in _OKI_OWNERS or before in _FACILITY_CUES


def _from(text: str, start: int) -> bool:
    """The name at `start` follows "dari" (where someone comes from, not where it happens)."""
    return _word_before(text, start) == "dari"


def is_cued(tokens: list[str], i: int) -> bool:
    """Whether the name starting at word `i` follows a place cue ("desa", "kecamatan"...) or a
    facility named after its desa ("pasar", "puskesmas", "sdn 1", "kantor desa di"...)."""
    if not i:
        return False
    before = tokens[i - 1]
    if before in _CUES or before in _FACILITY_CUES:
        return True
    # A number or "di" between them: "SDN 1 Kedaton", "Dusun III Embacang", "kantor desa di Lirik".
    if i < 2 or not (before.isdigit() or before in _ROMAN or before == "di"):
        return False
    return tokens[i - 2] in _CUES or tokens[i - 2] in _FACILITY_CUES


_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"})

_STRENGTH_ORDER = {"confuser": 0, "neighbour": 1, "weak": 2, "place": 3, "strong": 4}


@dataclass(frozen=True, slots=True)
class Entry:
    """One gazetteer name: what it is, where it points, and how much it says about OKI."""

    kind: str
    """'kecamatan', 'desa', 'landmark', 'oki', 'confuser' or 'neighbour'."""
    strength: str
    """'strong', 'place', 'weak', 'confuser' or 'neighbour'."""
    kecamatan: str | None = None
    desa: str | None = None
    needs_cue: bool = False
    kode: str = ""
    """For a name elsewhere: its region code ("16.10" Ogan Ilir, "14" Riau; "" for hand-listed towns)."""
    namesakes_around: frozenset[str] = frozenset()
    """For an OKI name: codes of the regions around its namesakes (a post naming one means them)."""
    shared: float = 0.0
    """For an OKI name: what its namesakes elsewhere weigh (`namesake_weight`)."""


# PlaceMatch and Evidence are created for every post; frozen dataclasses pay a setattr call per
# field on creation, so these two are plain slotted dataclasses (treat them as read-only).
@dataclass(slots=True)
class PlaceMatch:
    """A name found in a text (character span in the normalised text)."""

    phrase: str
    start: int
    end: int
    entry: Entry
    fuzzy: bool = False
    routed: bool = False
    """Right after a destination word ("ke", "arah", ...)."""


@dataclass(slots=True)
class Evidence:
    """What the gazetteer found in one text, summarised for relevance and place."""

    matches: tuple[PlaceMatch, ...] = ()
    strong: int = 0
    place: int = 0
    weak: int = 0
    confuser: int = 0
    neighbour: int = 0
    bare_oki: int = 0
    kecamatan: str | None = None
    desa: str | None = None

    @property
    def positive(self) -> bool:
        """Any OKI evidence at all (the minimum for calling a post relevant)."""
        return bool(self.strong or self.place or self.weak or self.bare_oki)


_NOT_TYPOS_LIMIT = 200_000


@dataclass(slots=True)
class Gazetteer:
    """The name index. Build with :func:`get_gazetteer`; lookups are pure."""

    index: dict[tuple[str, ...], list[Entry]] = field(default_factory=dict)
    heads: set[str] = field(default_factory=set)
    """First words of all names: most tokens are not, and are skipped with one set lookup."""
    max_len: int = 1
    head_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """First word of a name -> the word counts of the names it starts, longest first."""
    name_words: set[str] = field(default_factory=set)
    """Every word of every name: such a word is never a typo of a kecamatan."""
    fuzzy_names: dict[tuple[int, str], dict[str, list[Entry]]] = field(default_factory=dict)
    typo_prefix: dict[str, dict[str, Entry]] = field(default_factory=dict)
    pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(r"(?!x)x"))
    cue_pattern: re.Pattern[str] = field(default_factory=lambda: re.compile(r"(?!x)x"))
    typo_pattern: re.Pattern[str] | None = None
    """Kecamatan names written as one word, by first three letters: "kayuuagung", "pedamran"."""
    kecamatan_order: tuple[str, ...] = KECAMATAN
    """The region's kecamatan in tie-break order (OKI's contract order by default)."""
    _twins: dict[Entry, Entry] = field(default_factory=dict)
    not_typos: set[str] = field(default_factory=set)
    """Words seen that can never be a glued or misspelled kecamatan (a memo, so lookups stay pure in
    effect; bounded by _NOT_TYPOS_LIMIT)."""

    def add(self, phrase: str, entry: Entry, fuzzy: bool = False) -> None:
        key = tuple(normalise(phrase).split())
        if not key:
            return
        bucket = self.index.setdefault(key, [])
        if entry not in bucket:
            bucket.append(entry)
        self.max_len = max(self.max_len, len(key))
        self.heads.add(key[0])
        self.name_words.update(key)
        if fuzzy and len(" ".join(key)) >= 5:
            # Keyed by (words, first letter): typos rarely hit the first letter, and the
            # narrower candidate list keeps a fuzzy lookup in the microseconds.
            bucket_names = self.fuzzy_names.setdefault((len(key), key[0][0]), {})
            bucket_names.setdefault(" ".join(key), []).append(entry)

    def compile(self) -> None:
        """Build the lookup tables and scanning regexes; call after the last `add`."""
        sizes: dict[str, set[int]] = {}
        for key in self.index:
            sizes.setdefault(key[0], set()).add(len(key))
        self.head_lengths = {head: tuple(sorted(found, reverse=True)) for head, found in sizes.items()}
        names = [" ".join(key) for key in self.index]
        self.pattern = re.compile(r"\b(?:" + _trie_regex(names) + r")\b")
        self.cue_pattern = re.compile(r"\b(?:" + "|".join(sorted(_CUES)) + r") ([a-z0-9]+)")
        prefixes = sorted(self.typo_prefix)
        self.typo_pattern = re.compile(r"\b(?:" + "|".join(prefixes) + r")[a-z]{3,}\b") if prefixes else None

    def find(self, normalised: str, tokens: list[str] | None = None) -> list[PlaceMatch]:
        """All names in already-normalised text (character offsets), longest match at each position.

        `tokens` is ``normalised.split()`` when the caller has it already. Exact names are found
        by walking the words: a word that starts no name costs one set lookup, and at a word that
        does, the longest name wins (what the trie regex `pattern` finds, without scanning every
        character). Fuzzy matching is tried only right after a place cue and for long words that
        start like a kecamatan name, and only where no exact name was found.
        """
        if tokens is None:
            tokens = normalised.split()
        found: list[PlaceMatch] = []
        covered: set[int] = set()
        lengths = self.head_lengths
        if not lengths.keys().isdisjoint(tokens):
            index = self.index
            n = len(tokens)
            i = 0
            pos = 0  # character offset of tokens[i]
            while i < n:
                tok = tokens[i]
                sizes = lengths.get(tok)
                if sizes is not None:
                    for size in sizes:  # longest first, like the trie regex
                        if size == 1:
                            phrase = tok
                            entries = index.get((tok,))
                        elif i + size <= n:
                            key = tuple(tokens[i : i + size])
                            entries = index.get(key)
                            phrase = " ".join(key)
                        else:
                            continue
                        if entries is None:
                            continue
                        end = pos + len(phrase)
                        before = tokens[i - 1] if i else ""
                        cued = is_cued(tokens, i)
                        routed = before in _ROUTE
                        hit = False
                        for entry in entries:
                            if entry.needs_cue and not cued:
                                if before not in _AT or phrase not in _LOCAL_WORDS:
                                    continue
                                entry = self.weak_twin(entry)
                            found.append(PlaceMatch(phrase, pos, end, entry, False, routed))
                            hit = True
                        if hit:
                            covered.add(pos)
                        # Like the regex: the longest name is consumed even when every entry
                        # needed a cue, and the scan goes on after it.
                        i += size
                        pos = end + 1
                        break
                    else:
                        i += 1
                        pos += len(tok) + 1
                else:
                    i += 1
                    pos += len(tok) + 1
        # Fuzzy guesses only help when no exact place was found: they are for the post that
        # names its place once, misspelled.
        if any(m.entry.kecamatan for m in found):
            return found
        if "desa" in normalised or "kecamatan" in normalised or "kelurahan" in normalised or "dusun" in normalised:
            for m in self.cue_pattern.finditer(normalised):
                if m.start(1) in covered:
                    continue
                fuzzy = self._fuzzy_at(normalised, m.start(1))
                if fuzzy is not None:
                    found.append(fuzzy)
                    covered.add(fuzzy.start)
        # A glued or misspelled kecamatan: an all-letter word of 6+ letters whose first three
        # letters start one (what `typo_pattern` matches, found here without scanning characters).
        typo_prefix = self.typo_prefix
        plain = self.not_typos
        if plain.issuperset(tokens):
            return found  # most posts: every word is known to be no glued kecamatan
        if len(plain) > _NOT_TYPOS_LIMIT:
            plain.clear()
        for i, word in enumerate(tokens):
            if word in plain:
                continue
            if len(word) < 6 or word[:3] not in typo_prefix or not word.isalpha() or word in self.name_words:
                plain.add(word)
                continue
            start = sum(len(t) for t in tokens[:i]) + i
            if start in covered:
                continue
            candidates = typo_prefix[word[:3]]
            best = process.extractOne(word, candidates.keys(), scorer=fuzz.ratio, score_cutoff=86)
            if best is not None:
                routed = i > 0 and tokens[i - 1] in _ROUTE
                found.append(PlaceMatch(best[0], start, start + len(word), candidates[best[0]], True, routed))
        return found

    def weak_twin(self, entry: Entry) -> Entry:
        """The entry as weak evidence that needs no cue (a name that needs one, said after "di")."""
        twin = self._twins.get(entry)
        if twin is None:
            twin = self._twins[entry] = replace(entry, strength="weak", needs_cue=False)
        return twin

    def _fuzzy_at(self, text: str, pos: int) -> PlaceMatch | None:
        # Typos in place names after a cue ("desa sri tanjng", "kec pedamran"); the cue makes a
        # fuzzy guess safe enough, and restricting to it keeps the cost off ordinary words.
        words = text[pos:].split(" ", 3)[:3]
        if not words or words[0] in _NOT_PLACES or len(words[0]) < 3:
            return None
        for size in (3, 2, 1):
            if size > len(words):
                continue
            names = self.fuzzy_names.get((size, words[0][0]))
            if not names:
                continue
            query = " ".join(words[:size])
            if len(query) < 5:
                continue
            best = process.extractOne(query, names.keys(), scorer=fuzz.ratio, score_cutoff=84)
            if best is not None:
                return PlaceMatch(best[0], pos, pos + len(query), names[best[0]][0], fuzzy=True)
        return None

    def evidence(self, normalised: str, tokens: list[str] | None = None) -> Evidence:
        """Summarise matches in normalised text: evidence counts, kecamatan and desa.

        `tokens` is ``normalised.split()`` when the caller has it already (see :meth:`find`).
        """
        if tokens is None:
            tokens = normalised.split()
        matches = self.find(normalised, tokens)
        if not matches and "oki" not in normalised:
            return _NO_EVIDENCE  # most posts in a wide feed: skip the bookkeeping
        # One pass: evidence counts, where OKI places and places elsewhere are said, and votes.
        strong = place = weak = confuser = away = 0
        place_strong = located = 0  # strong/place evidence that is only an OKI place name
        kec_votes: dict[str, float] = {}
        shared_votes: list[tuple[str, float]] = []
        # Codes of the places elsewhere the post names: an OKI name whose namesake lies in one
        # of them means the namesake ("Pedamaran, Rokan Hilir, Riau").
        away_codes = {m.entry.kode for m in matches if m.entry.kode and not m.routed}
        # How many OKI desa of different kecamatan each matched name stands for.
        spans: dict[int, int] = {}
        for m in matches:
            if m.entry.kind == "desa":
                spans[m.start] = spans.get(m.start, 0) + 1
        for m in matches:
            entry = m.entry
            strength = entry.strength
            kind = entry.kind
            meant_elsewhere = bool(away_codes) and not away_codes.isdisjoint(entry.namesakes_around)
            if meant_elsewhere:
                strength = "weak"
            if strength == "neighbour":
                if not m.routed:
                    away += 1
                continue
            if strength == "confuser":
                confuser += 1
                continue
            is_place = kind == "kecamatan" or kind == "desa"
            if is_place:
                if not m.routed and not meant_elsewhere:  # "ke Kayuagung": where someone goes
                    located += 1
                if strength != "weak":
                    place_strong += 1
            if strength == "strong":
                strong += 1
            elif strength == "place":
                place += 1
            else:
                weak += 1
            if entry.kecamatan:
                # An explicit kecamatan outranks a desa (desa names repeat across kecamatan).
                # "Kayuagung" is also how people name the whole regency (#Kayuagung), so it
                # loses to any more specific place in the same post.
                weight = 3.0 if kind == "kecamatan" else 2.0 if kind == "desa" else 1.0
                if entry.kecamatan == "Kayu Agung" and kind == "kecamatan" and not _located(normalised, m.start):
                    weight = 0.9
                if kind == "desa" and (entry.needs_cue or entry.strength == "weak"):
                    # A name shared with other places votes less, and less again when its namesakes
                    # weigh as much as a kecamatan ("Simpang Empat" names a crossroads anywhere).
                    # A name that several OKI kecamatan have does not choose between them.
                    # Said without a cue, a name shared as widely as a kecamatan weighs votes half.
                    weight = (
                        0.0
                        if spans.get(m.start, 1) > 1
                        else 1.0
                        if entry.shared < LEVEL_WEIGHT["kecamatan"] or _word_before(normalised, m.start) in _CUES
                        else 0.5
                    )
                if m.routed or _from(normalised, m.start):
                    weight *= 0.5  # "ke Kayuagung", "dari Mesuji": where someone goes or comes from
                if weight and is_place and (entry.strength == "weak" or meant_elsewhere):
                    shared_votes.append((entry.kecamatan, weight))
                if weight:
                    kec_votes[entry.kecamatan] = kec_votes.get(entry.kecamatan, 0.0) + weight
        if away and shared_votes:
            # A post that names places elsewhere: an OKI name shared with other places does not
            # choose the kecamatan (the "Sukamaju" next to "Indralaya" is Ogan Ilir's).
            for kec, weight in shared_votes:
                left = kec_votes[kec] - weight
                if left > 1e-9:
                    kec_votes[kec] = left
                else:
                    del kec_votes[kec]
        bare = 0
        n_oki = tokens.count("oki")
        if n_oki:
            oki_in_phrase = sum(1 for m in matches if "oki" in m.phrase.split())
            # "Dinas Pertanian OKI", "Kejari OKI", "warga OKI": an institution or people word right
            # before "oki" means the regency; the confusers ("KTT OKI", "ustazah Oki") are listed.
            owned = 0
            i = 0
            for _ in range(n_oki):
                i = tokens.index("oki", i) + 1  # jumps from one "oki" to the next in C
                if i > 1 and tokens[i - 2] in _OKI_OWNERS:
                    owned += 1
            bare_all = max(0, n_oki - oki_in_phrase)
            extra = min(owned, bare_all)
            strong += extra
            bare = bare_all - extra
        if away > located and place_strong and strong + place == place_strong:
            # More places elsewhere than OKI places, and only place names speak for OKI: they
            # are weak ("lewat Tanjung Raja ... jembatan ambruk ... Kayuagung").
            strong = place = 0
            weak += place_strong
        if not kec_votes:
            kecamatan = None
        elif len(kec_votes) == 1:
            (kecamatan,) = kec_votes
        else:
            order = self.kecamatan_order
            kecamatan = max(kec_votes, key=lambda k: (kec_votes[k], -order.index(k)))
        # Only a desa that lies in the chosen kecamatan is reported (a "Sri Tanjung" named
        # together with "Kec. Cengal" is not the Seritanjung of Tanjung Lubuk).
        desa = None
        if kecamatan is not None:
            desa = next(
                (m.entry.desa for m in matches if m.entry.kind == "desa" and m.entry.kecamatan == kecamatan), None
            )
        return Evidence(
            matches=tuple(matches),
            strong=strong,
            place=place,
            weak=weak,
            confuser=confuser,
            neighbour=away,
            bare_oki=bare,
            kecamatan=kecamatan,
            desa=desa,
        )


_NO_EVIDENCE = Evidence()



def _split_variants(name: str) -> set[str]:
    """Spelling variants of an official name: glued words, "Seri"/"Sri", roman numerals."""
    low = name.lower().replace("-", " ")
    out = {low}
    words = low.split()
    if len(words) > 1:
        out.add("".join(words))
    if low.startswith("seri") and len(low) > 5:
        out.add("sri " + low[4:])
        out.add("sri" + low[4:])
    if words and words[-1] in {"i", "ii", "iii", "iv", "v", "vi"}:
        roman = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}[words[-1]]
        out.add(" ".join([*words[:-1], roman]))
    if "mulya" in low:
        out.add(low.replace("mulya", "mulia"))
    return out


# How the geographic word that starts many names is shortened in posts and news ("Tg. Lubuk",
# "Sg. Menang", "Pulo Geronggang"); "Tj.", "Tlk." and "Sei" the normaliser already spells out.
_SHORT_FORMS: dict[str, str] = {"tanjung": "tg", "sungai": "sg", "pulau": "pulo"}


def _abbreviated(name: str) -> set[str]:
    """A normalised name of two or more words with its first word in its short form ("tg lubuk")."""
    first, _, rest = name.partition(" ")
    short = _SHORT_FORMS.get(first)
    return {f"{short} {rest}"} if short and rest else set()


def _name_parts(rows: Iterable[dict[str, str]]) -> frozenset[str]:
    """Words of three letters or more that region names of several words are made of ("sumber",
    "agung", "tugu", "mulyo"): the pieces a glued official name is written apart in."""
    return frozenset(
        word for row in rows for word in normalise(row["nama"]).split() if len(word) >= 3 and " " in row["nama"].strip()
    )


def _split_glued(key: str, parts: frozenset[str]) -> str | None:
    """A one-word name written as two words ("sumberagung" -> "sumber agung") when exactly one split
    makes two known name words, else None."""
    if " " in key or len(key) < 6:
        return None
    splits = [f"{key[:i]} {key[i:]}" for i in range(3, len(key) - 2) if key[:i] in parts and key[i:] in parts]
    return splits[0] if len(splits) == 1 else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The gazetteer built from the bundled region files (cached per process)."""
    oki_rows = _read_csv(WILAYAH_OKI)
    namesakes = load_namesakes()
    oki_names = {normalise(r["nama"]) for r in oki_rows}

    gaz = Gazetteer()
    name_parts = _name_parts([*oki_rows, *_read_csv(SUMSEL_DESA)])
    for kec in KECAMATAN:
        for variant in sorted({*_split_variants(kec), *KECAMATAN_ALIASES.get(kec, ())}):
            # "Kayuagung" is OKI's seat and how people name the regency: strong evidence.
            key = normalise(variant)
            ns = namesakes.get(key)
            strength = "strong" if kec == "Kayu Agung" else place_strength(ns, "kecamatan")
            around = ns.around if ns is not None else frozenset()
            entry = Entry("kecamatan", strength, kecamatan=kec, namesakes_around=around)
            gaz.add(variant, entry, fuzzy=True)
            for short in _abbreviated(key):
                gaz.add(short, entry)

    for row in oki_rows:
        if row["level"] != "desa_kelurahan":
            continue
        name, kec = row["nama"], row["nama_kecamatan"]
        if any(e.kind == "kecamatan" for e in gaz.index.get(tuple(normalise(name).split()), [])):
            # A desa named like its kecamatan: the kecamatan entry already covers it.
            continue
        for variant in sorted(_split_variants(name)):
            key = normalise(variant)
            ns = namesakes.get(key)
            strength = place_strength(ns, "desa_kelurahan")
            # Ordinary words, short names and one-word names shared as widely as a regency weighs
            # (Sukamaju, Sidomulyo) need a cue ("desa Riding", "pasar Paku") before they count at
            # all; after one they weigh as the place-weight rule says. A local name that is a rare
            # word elsewhere counts after "di" as weak evidence (`_LOCAL_WORDS`). Other names
            # shared with places elsewhere count without a cue, as weak evidence ("pasar kalangan
            # Tugumulyo", "Simpang Tiga").
            needs_cue = key in _NEEDS_CUE or (
                " " not in key and (len(key) < 6 or namesake_weight(ns or Namesakes(key, "")) >= WIDELY_SHARED)
            )
            around = ns.around if ns is not None else frozenset()
            shared = namesake_weight(ns) if ns is not None else 0.0
            entry = Entry(
                "desa", strength, kecamatan=kec, desa=name, needs_cue=needs_cue, namesakes_around=around, shared=shared
            )
            gaz.add(variant, entry, fuzzy=True)
            for short in _abbreviated(key):
                gaz.add(short, entry)
            split = _split_glued(key, name_parts)
            if split is not None and not gaz.index.get(tuple(split.split())):
                gaz.add(split, entry)
        for alias in DESA_ALIASES.get(name, ()):
            gaz.add(alias, replace(entry, strength="place"))

    for kec in KECAMATAN:
        glued = normalise(kec).replace(" ", "")
        if len(glued) > 5:
            entry = next(e for e in gaz.index[tuple(normalise(kec).split())] if e.kind == "kecamatan")
            gaz.typo_prefix.setdefault(glued[:3], {})[glued] = entry
    for phrase, kec_or_none, strength in LANDMARKS:
        gaz.add(phrase, Entry("landmark", strength, kecamatan=kec_or_none))
    for phrase in STRONG_OKI:
        gaz.add(phrase, Entry("oki", "strong"))
    for phrase in CONFUSERS:
        gaz.add(phrase, Entry("confuser", "confuser"))
    phrases: list[tuple[str, Entry]] = []
    for row in _read_csv(ELSEWHERE):
        away = Entry("neighbour", "neighbour", kode=row["kode"])
        if row["form"] == "prefixed":
            phrases.extend((f"{word} {row['name']}", away) for word in _REGENCY_WORDS)
        else:
            phrases.append((row["name"], away))
    town = Entry("neighbour", "neighbour")
    phrases.extend((phrase, town) for phrase in NEIGHBOURS)
    for phrase, entry in phrases:
        words = tuple(normalise(phrase).split())
        # A name OKI uses too is not evidence against OKI; one name elsewhere is one entry.
        if " ".join(words) not in oki_names and words not in gaz.index:
            gaz.add(phrase, entry)
    gaz.compile()
    return gaz


def _trie_regex(names: Iterable[str]) -> str:
    """A regex alternation factored as a trie, so the scan does not try every name at every position.

    An optional continuation is greedy, so the longest name wins ("pedamaran timur" over
    "pedamaran"); with the trailing word boundary the regex backtracks to a shorter one.
    """
    trie: dict[str, Any] = {}
    for name in names:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def find_places(text: str) -> Evidence:
    """Find OKI places and evidence in raw text (normalises first). Pure."""
    return get_gazetteer().evidence(normalise(text))


def evidence_many(normalised_texts: Iterable[str]) -> list[Evidence]:
    """`Gazetteer.evidence` over already-normalised texts."""
    gaz = get_gazetteer()
    return [gaz.evidence(t) for t in normalised_texts]
