"""Places and OKI evidence in normalised text: kecamatan, desa/kelurahan, landmarks, confusers.

Built once from the official region list (``classifiers/data/oki_wilayah.csv``, MIT, from
Kepmendagri codes) plus aliases written here. Lookup is token n-gram dictionary matching on
the output of :func:`classifiers.normalise.normalise`, with a fuzzy fallback only right after
a place cue ("desa", "kecamatan", ...), so it stays fast on every post.

Evidence strength follows the research notes (shared/research/oki-gazetteer.md):

- **strong**: names only OKI has ("Ogan Komering Ilir", "Pemkab OKI", "Kayuagung", "Bende
  Seguguk", "RSUD Kayuagung", "Polres OKI", ...);
- **place**: an OKI kecamatan or desa name that exists nowhere else in Sumatera Selatan;
- **weak**: a name that also exists elsewhere (Mesuji in Lampung, "Sukamaju", "Tanjung Baru",
  ...) or a bare "OKI";
- **confuser**: other meanings of OKI (the OIC, Oki Setiana Dewi, printers, "oki doki");
- **neighbour**: places of the neighbouring regencies (OKU, Ogan Ilir, Lampung's Mesuji, ...).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from classifiers.normalise import normalise

DATA_DIR = Path(__file__).resolve().parent / "data"
WILAYAH_OKI = DATA_DIR / "oki_wilayah.csv"
WILAYAH_SUMSEL_DESA = DATA_DIR / "sumsel_desa_kelurahan.csv"
WILAYAH_SUMSEL_KEC = DATA_DIR / "sumsel_kabupaten_kecamatan.csv"

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
    "Pedamaran Timur": ("pedamaran tim", "pedamaran timur", "pedamanran timur", "pedamarantimur"),
    "Air Sugihan": ("airsugihan", "air sugihan"),
    "Lempuing Jaya": ("lempuingjaya", "lempuing jaya"),
    "Mesuji Makmur": ("mesuji makmur", "mesujimakmur"),
    "Mesuji Raya": ("mesuji raya", "mesujiraya"),
}

# Kecamatan names that exist outside OKI or are ordinary words: weak alone.
_WEAK_KECAMATAN = frozenset({"Mesuji", "Tanjung Lubuk", "Pedamaran", "Lempuing"})

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

# Single-word desa names that are ordinary words or too short to trust without "desa ..." before them.
_NEEDS_CUE = frozenset(
    {
        "anyar", "darat", "pantai", "berkat", "nusantara", "paku", "kuro", "toman", "sepang", "riding",
        "lirik", "keman", "kandis", "pedu", "deling", "rambai", "bangsal", "pulauan", "balian", "terate",
        "serdang", "petaling", "tapus", "jungkal", "kuripan", "embacang", "belanti", "benawa", "jermun",
        "perigi", "kedaton", "lingkis", "secondong", "serapek", "bubusan", "sukaraja", "sukadana",
        "sukamaju", "sukarami", "sidomulyo", "kotabumi", "maribaya", "kalideras", "pelimbangan",
        "kutaraja", "sukamulya", "sukadamai", "muarabaru", "cambai", "celikah",
    }
)
_CUES = frozenset({"desa", "kelurahan", "dusun", "kecamatan", "kampung"})

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


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A name found in a text (token span in the normalised text)."""

    phrase: str
    start: int
    end: int
    entry: Entry
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
class Gazetteer:
    """The name index. Build with :func:`get_gazetteer`; lookups are pure."""

    index: dict[tuple[str, ...], list[Entry]] = field(default_factory=dict)
    heads: set[str] = field(default_factory=set)
    """First words of all names: most tokens are not, and are skipped with one set lookup."""
    max_len: int = 1
    fuzzy_names: dict[int, dict[str, list[Entry]]] = field(default_factory=dict)
    typo_prefix: dict[str, dict[str, Entry]] = field(default_factory=dict)
    """Kecamatan names written as one word, by first three letters: "kayuuagung", "pedamran"."""

    def add(self, phrase: str, entry: Entry, fuzzy: bool = False) -> None:
        key = tuple(normalise(phrase).split())
        if not key:
            return
        bucket = self.index.setdefault(key, [])
        if entry not in bucket:
            bucket.append(entry)
        self.max_len = max(self.max_len, len(key))
        self.heads.add(key[0])
        if fuzzy and len(" ".join(key)) >= 5:
            self.fuzzy_names.setdefault(len(key), {}).setdefault(" ".join(key), []).append(entry)

    def find(self, normalised: str) -> list[PlaceMatch]:
        """All names in already-normalised text, longest match first at each position."""
        tokens = normalised.split()
        heads = self.heads
        # Only positions where a name can start, or right after a cue, need any work.
        typo_prefix = self.typo_prefix
        starts = [
            i for i, t in enumerate(tokens) if t in heads or t in _CUES or (len(t) > 5 and t[:3] in typo_prefix)
        ]
        if not starts:
            return []
        found: list[PlaceMatch] = []
        n = len(tokens)
        index = self.index
        free = 0  # first token not inside an earlier match
        for pos in starts:
            for i in (pos, pos + 1) if tokens[pos] in _CUES else (pos,):
                if i < free or i >= n:
                    continue
                cued = i > 0 and tokens[i - 1] in _CUES
                if tokens[i] in heads:
                    matched = False
                    for size in range(min(self.max_len, n - i), 0, -1):
                        entries = index.get(tuple(tokens[i : i + size]))
                        if entries is None:
                            continue
                        for entry in entries:
                            if entry.needs_cue and not cued:
                                continue
                            found.append(PlaceMatch(" ".join(tokens[i : i + size]), i, i + size, entry))
                            matched = True
                        if matched:
                            free = i + size
                            break
                    if matched:
                        continue
                if cued and tokens[i] not in _CUES:
                    fuzzy = self._fuzzy_at(tokens, i)
                    if fuzzy is not None:
                        found.append(fuzzy)
                        free = fuzzy.end
                        continue
                candidates = typo_prefix.get(tokens[i][:3]) if len(tokens[i]) > 5 else None
                if candidates:
                    best = process.extractOne(tokens[i], candidates.keys(), scorer=fuzz.ratio, score_cutoff=86)
                    if best is not None:
                        found.append(PlaceMatch(best[0], i, i + 1, candidates[best[0]], fuzzy=True))
                        free = i + 1
        return found

    def _fuzzy_at(self, tokens: list[str], i: int) -> PlaceMatch | None:
        # Typos in place names after a cue ("desa sri tanjng", "kec pedamran"); the cue makes a
        # fuzzy guess safe enough, and restricting to it keeps the cost off ordinary words.
        for size in (3, 2, 1):
            names = self.fuzzy_names.get(size)
            if not names or i + size > len(tokens):
                continue
            query = " ".join(tokens[i : i + size])
            if len(query) < 5:
                continue
            best = process.extractOne(query, names.keys(), scorer=fuzz.ratio, score_cutoff=84)
            if best is not None:
                entry = names[best[0]][0]
                return PlaceMatch(best[0], i, i + size, entry, fuzzy=True)
        return None

    def evidence(self, normalised: str) -> Evidence:
        """Summarise matches in normalised text: evidence counts, kecamatan and desa."""
        matches = self.find(normalised)
        counts = dict.fromkeys(_STRENGTH_ORDER, 0)
        kec_votes: dict[str, float] = {}
        desa: str | None = None
        for m in matches:
            counts[m.entry.strength] += 1
            if m.entry.kecamatan:
                # An explicit kecamatan outranks a desa (desa names repeat across kecamatan).
                # "Kayuagung" is also how people name the whole regency (#Kayuagung), so it
                # loses to any more specific place in the same post.
                weight = 3.0 if m.entry.kind == "kecamatan" else 2.0 if m.entry.kind == "desa" else 1.0
                if m.entry.kecamatan == "Kayu Agung" and m.entry.kind != "desa":
                    weight = 0.9
                if m.entry.kind == "desa" and len(self.index.get(tuple(m.phrase.split()), ())) > 1:
                    weight = 1.0
                kec_votes[m.entry.kecamatan] = kec_votes.get(m.entry.kecamatan, 0.0) + weight
            if m.entry.kind == "desa" and desa is None:
                desa = m.entry.desa
        tokens = normalised.split()
        oki_in_phrase = sum(1 for m in matches if "oki" in m.phrase.split())
        bare = max(0, tokens.count("oki") - oki_in_phrase)
        kecamatan = max(kec_votes, key=lambda k: (kec_votes[k], -KECAMATAN.index(k))) if kec_votes else None
        return Evidence(
            matches=tuple(matches),
            strong=counts["strong"],
            place=counts["place"],
            weak=counts["weak"],
            confuser=counts["confuser"],
            neighbour=counts["neighbour"],
            bare_oki=bare,
            kecamatan=kecamatan,
            desa=desa,
        )


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


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The gazetteer built from the bundled region files (cached per process)."""
    oki_rows = _read_csv(WILAYAH_OKI)
    elsewhere: set[str] = set()
    for row in _read_csv(WILAYAH_SUMSEL_DESA):
        if row["kode_kabupaten"] != "16.02":
            elsewhere.add(normalise(row["nama"]))
    other_kec: set[str] = set()
    for row in _read_csv(WILAYAH_SUMSEL_KEC):
        if row["level"] == "kecamatan" and row["kode_kabupaten"] != "16.02":
            other_kec.add(normalise(row["nama"]))
    oki_names = {normalise(r["nama"]) for r in oki_rows}

    gaz = Gazetteer()
    for kec in KECAMATAN:
        # "Kayuagung" only means OKI's seat: strong evidence, not just a place name.
        strength = "strong" if kec == "Kayu Agung" else "weak" if kec in _WEAK_KECAMATAN else "place"
        entry = Entry("kecamatan", strength, kecamatan=kec)
        for variant in {*_split_variants(kec), *KECAMATAN_ALIASES.get(kec, ())}:
            gaz.add(variant, entry, fuzzy=True)

    for row in oki_rows:
        if row["level"] != "desa_kelurahan":
            continue
        name, kec = row["nama"], row["nama_kecamatan"]
        key = normalise(name)
        shared = key in elsewhere or key in other_kec
        single = len(key.split()) == 1
        needs_cue = key in _NEEDS_CUE or (single and (shared or len(key) < 6))
        strength = "weak" if shared or needs_cue else "place"
        if tuple(key.split()) in gaz.index and any(e.kind == "kecamatan" for e in gaz.index[tuple(key.split())]):
            # A desa named like its kecamatan: the kecamatan entry already covers it.
            continue
        entry = Entry("desa", strength, kecamatan=kec, desa=name, needs_cue=needs_cue)
        for variant in _split_variants(name):
            gaz.add(variant, entry, fuzzy=True)

    for kec in KECAMATAN:
        glued = normalise(kec).replace(" ", "")
        if len(glued) > 5:
            entry = gaz.index[tuple(normalise(kec).split())][0]
            gaz.typo_prefix.setdefault(glued[:3], {})[glued] = entry
    for phrase, kec_or_none, strength in LANDMARKS:
        gaz.add(phrase, Entry("landmark", strength, kecamatan=kec_or_none))
    for phrase in STRONG_OKI:
        gaz.add(phrase, Entry("oki", "strong"))
    for phrase in CONFUSERS:
        gaz.add(phrase, Entry("confuser", "confuser"))
    for phrase in NEIGHBOURS:
        if normalise(phrase) in oki_names:
            continue
        gaz.add(phrase, Entry("neighbour", "neighbour"))
    return gaz


def find_places(text: str) -> Evidence:
    """Find OKI places and evidence in raw text (normalises first). Pure."""
    return get_gazetteer().evidence(normalise(text))


def evidence_many(normalised_texts: Iterable[str]) -> list[Evidence]:
    """`Gazetteer.evidence` over already-normalised texts."""
    gaz = get_gazetteer()
    return [gaz.evidence(t) for t in normalised_texts]
