"""Normalisation of Indonesian social-media text, the way every classifier stage reads it.

`normalise(text)` is pure and cheap (a few regex passes and one dictionary lookup per
token) because it runs on every post before vectorising, gazetteer lookup and issue
grouping. The output is lower-case words separated by single spaces:

- URLs are dropped; mentions are dropped except official OKI accounts, which become
  words ("@pemkaboki" -> "pemkab oki") because they are evidence of relevance;
- hashtags keep their words ("#JalanRusak" -> "jalan rusak");
- emoji that carry meaning for complaints become words ("😡" -> "marah"), others vanish;
- money becomes the token ``nominaluang``; digits glued to units are split ("3kg" -> "3 kg");
- letter elongation is undone ("parahhhh" -> "parah", "tolooong" -> "tolong");
- "anak2" becomes "anak anak";
- slang, abbreviations and Palembang words are mapped through a lexicon written for this
  project (``classifiers/data/slang_id.tsv``), e.g. "gk" / "dak" -> "tidak", "nian" -> "sekali",
  "cak mano" -> "bagaimana".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON_PATH = DATA_DIR / "slang_id.tsv"

# Official accounts are evidence that a post talks to or about Pemkab OKI; keep them as words.
# The handles are guesses from the research notes (not verified live), so they live here, in one place.
OFFICIAL_HANDLES: dict[str, str] = {
    "pemkaboki": "pemkab oki",
    "pemkab_oki": "pemkab oki",
    "humaspemkaboki": "humas pemkab oki",
    "humas_oki": "humas pemkab oki",
    "humasoki": "humas pemkab oki",
    "diskominfooki": "diskominfo oki",
    "diskominfo_oki": "diskominfo oki",
    "kominfooki": "diskominfo oki",
    "bupatioki": "bupati oki",
    "polresoki": "polres oki",
    "polres_oki": "polres oki",
    "bpbdoki": "bpbd oki",
    "dinkesoki": "dinkes oki",
    "infooki": "info oki",
    "info_oki": "info oki",
    "okiterkini": "oki terkini",
    "kayuagunginfo": "kayuagung info",
    "infokayuagung": "info kayuagung",
    "dukcapil_oki": "dukcapil oki",
    "dukcapiloki": "dukcapil oki",
    "disdukcapil_oki": "disdukcapil oki",
    "disdukcapiloki": "disdukcapil oki",
    "pdamtirtaagung": "pdam tirta agung",
    "pdam_tirtaagung": "pdam tirta agung",
    "pdamtirtaagungoki": "pdam tirta agung oki",
}

# Agency words of official handles written `<agency>_oki` / `<agency>oki` ("@dinsos_oki",
# "@bpbdoki", "@satpol_pp_oki"): such a handle is the regency's agency, like "Dinsos OKI".
# Only these words: "@oki_rahman" or "@okisetianadewi" are people, not the regency.
AGENCY_HANDLE_WORDS = frozenset(
    "pemkab pemda humas humaspemkab diskominfo kominfo dukcapil disdukcapil dinkes dinsos dishub pupr dlh bpbd "
    "satpolpp satpol disdik dinaspendidikan disnaker disnakertrans disdag disperindag perkim dpmd distan disbun "
    "dkpp dpkp bappeda bapenda bkpsdm bpkad inspektorat kesbangpol setda sekda dprd kpu bawaslu baznas polres "
    "kodim kejari rsud pdam pln bupati wabup dispora dispar dinpar dinkominfo".split()
)
_GLUED_AGENCY = {"satpolpp": "satpol pp", "humaspemkab": "humas pemkab", "dinaspendidikan": "dinas pendidikan"}

# Hashtags that are one glued word; split so the place/topic words are seen.
HASHTAG_WORDS: dict[str, str] = {
    "okihebat": "oki hebat",
    "okimaju": "oki maju",
    "okimajuberkelanjutan": "oki maju berkelanjutan",
    "infooki": "info oki",
    "beritaoki": "berita oki",
    "kabupatenoki": "kabupaten oki",
    "pemkaboki": "pemkab oki",
    "oganKomeringilir": "ogan komering ilir",
    "ogankomeringilir": "ogan komering ilir",
    "kayuagung": "kayuagung",
    "bumibendeseguguk": "bumi bende seguguk",
    "bendeseguguk": "bende seguguk",
    "jalanrusak": "jalan rusak",
    "lapor": "lapor",
    "sumsel": "sumsel",
}

# Emoji whose meaning matters for reading complaints; everything else in the symbol
# ranges is removed. Meaning words are chosen so the complaint model can use them.
_EMOJI_WORDS: dict[str, str] = {
    "😡": "marah",
    "🤬": "marah",
    "😠": "marah",
    "👿": "marah",
    "💢": "marah",
    "😤": "kesal",
    "😒": "kesal",
    "🙄": "kesal",
    "😑": "kesal",
    "😩": "lelah",
    "😫": "lelah",
    "😭": "sedih",
    "😢": "sedih",
    "😞": "sedih",
    "😔": "sedih",
    "💔": "sedih",
    "🥺": "sedih",
    "😱": "takut",
    "😨": "takut",
    "😰": "takut",
    "🙏": "mohon",
    "👍": "jempol",
    "👏": "tepuktangan",
    "💪": "semangat",
    "🥰": "senang",
    "😍": "senang",
    "❤": "senang",
    "♥": "senang",
    "😊": "senang",
    "😁": "senang",
    "🤩": "senang",
    "✅": "selesai",
    "😂": "tertawa",
    "🤣": "tertawa",
    "🚨": "darurat",
    "🆘": "darurat",
    "⚠": "peringatan",
    "💀": "mati",
}

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9.-]+\.(?:com|id|net|org|co\.id|go\.id|ly|me)/\S*", re.I)
_MENTION = re.compile(r"@([A-Za-z0-9_.]+)")
_HASHTAG = re.compile(r"#([A-Za-z0-9_]+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])")
# Money: "Rp 50.000", "rp50rb", "50 ribu", "2jt", "1,5 juta", "100k". The amount itself is rarely
# what a complaint is about; that money is mentioned is (levies, bills, prices).
_MONEY_BODY = (
    r"\brp\.?\s?\d[\d.,]*\s?(?:rb|ribu|k|jt|juta|m|miliar)?\b"
    r"|\b\d[\d.,]*\s?(?:rb|ribu|rebu|k|jt|juta|jeti|miliar|milyar)\b"
)
# One pass over the digits of a post: money becomes "nominaluang", other numbers lose their
# thousands separators and are split from glued letters ("3kg" -> "3 kg"). Same matches as
# f"(?P<money>{_MONEY_BODY})|(?P<num>\d[\d.,]*)" (a test checks it), written so that every match
# starts with one character class: the regex engine then skips to the next "r" or digit in C
# instead of trying three alternatives at every character (5.5 -> 2 us per post).
_NUMBER = re.compile(
    r"[r\d](?:(?P<rp>(?<=\br)p\.?\s?\d[\d.,]*\s?(?:rb|ribu|k|jt|juta|m|miliar)?\b)"
    r"|(?P<unit>(?<=\b\d)[\d.,]*\s?(?:rb|ribu|rebu|k|jt|juta|jeti|miliar|milyar)\b)"
    r"|(?P<num>(?<=\d)[\d.,]*))"
)
_THOUSANDS = re.compile(r"(?<=\d)[.,](?=\d{3}\b)")
_REDUP = re.compile(r"\b([a-z]{2,})2\b")
# Cheap test for _REDUP: a "2" right after a letter (starts with a literal, so the scan is a fast search).
_LETTER_2 = re.compile(r"2(?<=[a-z]2)")
_LONG_RUN = re.compile(r"([a-z])\1{2,}")
# Same answer as _LONG_RUN.search, without the open-ended repeat: ~40 % cheaper on every post.
_HAS_LONG_RUN = re.compile(r"([a-z])\1\1")
_END_RUN = re.compile(r"([a-z])\1+\b")
_TOKEN = re.compile(r"[a-z0-9]+")
_HAS_DIGIT = re.compile(r"\d")

# Real words ending in a doubled letter; the end-of-word elongation rule must not touch them.
_KEEP_DOUBLE_END = frozenset({"allah", "akk", "tt", "ll", "jj"})
_ROMAN = frozenset({"ii", "iii", "vii", "viii", "xii", "xiii"})
_NOT_ELONGATED = _KEEP_DOUBLE_END | _ROMAN


def _build_emoji_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for emoji, word in _EMOJI_WORDS.items():
        table[ord(emoji[0])] = f" {word} "
    # Variation selectors, zero-width joiners and skin tones glue emoji together; drop them.
    for cp in (0xFE0F, 0xFE0E, 0x200D, 0x20E3, *range(0x1F3FB, 0x1F400)):
        table.setdefault(cp, " ")
    return table


_EMOJI_TABLE = _build_emoji_table()
_PHRASE_HEADS: set[str] = set()
_PHRASE_TAILS: set[str] = set()
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]")


@lru_cache(maxsize=1)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Read the slang lexicon: single-word entries and two-word phrases ("cak mano")."""
    words: dict[str, str] = {}
    phrases: dict[tuple[str, str], str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        slang, _, standard = raw.partition("\t")
        slang, standard = slang.strip().lower(), standard.strip().lower()
        if not standard:
            continue
        parts = slang.split()
        if len(parts) == 1:
            words[parts[0]] = standard
        elif len(parts) == 2:
            phrases[(parts[0], parts[1])] = standard
    # Phrases that need two words to mean something; "cak" alone means "seperti".
    phrases.setdefault(("cak", "mano"), "bagaimana")
    phrases.setdefault(("cak", "mana"), "bagaimana")
    phrases.setdefault(("cak", "ini"), "seperti ini")
    phrases.setdefault(("cak", "itu"), "seperti itu")
    phrases.setdefault(("oki", "doki"), "oke")
    _PHRASE_HEADS.update(a for a, _ in phrases)
    _PHRASE_TAILS.update(b for _, b in phrases)
    return words, phrases


def _mention(match: re.Match[str]) -> str:
    handle = match.group(1).lower().rstrip(".")
    official = OFFICIAL_HANDLES.get(handle) or official_handle(handle)
    return f" {official} " if official else " "


def official_handle(handle: str) -> str | None:
    """``"dinsos_oki"`` / ``"bpbdoki"`` / ``"satpol_pp_oki"`` -> ``"dinsos oki"`` ...; None if not an OKI agency.

    `handle` is lower-case without the "@". The handles of the list above are looked up first.
    """
    if not handle.endswith("oki"):
        return None
    agency = handle[:-3].rstrip("_.")
    words = agency.replace(".", "_").split("_")
    if agency.replace("_", "").replace(".", "") in AGENCY_HANDLE_WORDS or (words and words[0] in AGENCY_HANDLE_WORDS):
        return " ".join(_GLUED_AGENCY.get(w, w) for w in words if w) + " oki"
    return None


def _hashtag(match: re.Match[str]) -> str:
    tag = match.group(1)
    known = HASHTAG_WORDS.get(tag.lower())
    if known:
        return f" {known} "
    return " " + _CAMEL.sub(" ", tag).replace("_", " ") + " "


def normalise(text: str) -> str:
    """Return `text` as lower-case standard-Indonesian words separated by single spaces.

    Pure and deterministic; see the module docstring for what each step does and why.
    """
    return normalise_split(text)[0]


# "Pedamaran Tim." (research §1; OKI's only kecamatan named "... Timur"): with its period "Tim." is
# "Timur"; without it "tim" is a team ("Pedamaran, tim gabungan ...") and stays.
_TIMUR = re.compile(r"(\bpedamaran )tim\.(?!\w)", re.IGNORECASE)


def normalise_split(text: str) -> tuple[str, list[str]]:
    """``(normalise(text), normalise(text).split())`` from one pass.

    The classifier hands the word list to the features, the gazetteer and the urgency cues
    instead of having each of them split the text again.
    """
    if not text:
        return "", []
    words, phrases = load_lexicon()
    # Each pass is guarded by a cheap test: most posts have no URL, emoji or digits, and
    # this function runs on every post (the classifier's throughput target is 20k posts/s).
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_EMOJI_TABLE)
        text = _SYMBOLS.sub(" ", text)
    if "/" in text or "www" in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(_mention, text)
    if "#" in text:
        text = _HASHTAG.sub(_hashtag, text)
    if "im." in text or "IM." in text:
        text = _TIMUR.sub(r"\1Timur", text)
    text = text.lower()
    if _HAS_DIGIT.search(text):
        if "2" in text and _LETTER_2.search(text):
            text = _REDUP.sub(r"\1 \1", text)
        text = _NUMBER.sub(_number, text)
    tokens = _TOKEN.findall(text)
    # Elongation ("parahhh") lies inside one word, so it is undone word by word; a word once seen
    # without a run of three letters is remembered, and most posts pass with one set check.
    if not _RUN_FREE.issuperset(tokens):
        tokens = _collapse_runs(tokens)
    if not _PHRASE_HEADS.isdisjoint(tokens) and not _PHRASE_TAILS.isdisjoint(tokens):
        tokens = _join_phrases(tokens, phrases)
    # Words repeat across posts: each distinct word is looked up once (bounded memo) and a post
    # is one dictionary lookup per word.
    memo = _WORD_MEMO
    try:
        out = [memo[tok] for tok in tokens]
    except KeyError:
        if len(memo) > _WORD_MEMO_LIMIT:
            memo.clear()
        out = []
        for tok in tokens:
            mapped = memo.get(tok)
            if mapped is None:
                mapped = memo[tok] = _standard_word(tok, words)
            out.append(mapped)
    joined = " ".join(out)
    # A lexicon entry can stand for several words ("gpp" -> "tidak apa apa"): only then re-split.
    if joined.count(" ") != len(out) - 1:
        return joined, joined.split()
    return joined, out


_WORD_MEMO: dict[str, str] = {}
_WORD_MEMO_LIMIT = 200_000
_RUN_FREE: set[str] = set()
"""Words known to hold no run of three equal letters (bounded like `_WORD_MEMO`)."""


def _collapse_runs(tokens: list[str]) -> list[str]:
    """`tokens` with letter runs undone in each word, as `_LONG_RUN` would on the whole text."""
    if len(_RUN_FREE) > _WORD_MEMO_LIMIT:
        _RUN_FREE.clear()
    out = []
    for tok in tokens:
        if tok not in _RUN_FREE:
            if _HAS_LONG_RUN.search(tok):
                tok = _LONG_RUN.sub(_collapse, tok)
            else:
                _RUN_FREE.add(tok)
        out.append(tok)
    return out


def _standard_word(tok: str, words: dict[str, str]) -> str:
    """One token through the lexicon, undoing a doubled last letter first if needed."""
    mapped = words.get(tok)
    # A doubled last letter is elongation ("parahh"), except in a few real words.
    if mapped is None and len(tok) > 3 and tok[-1] == tok[-2] and tok[-1].isalpha() and tok not in _NOT_ELONGATED:
        tok = tok.rstrip(tok[-1]) + tok[-1]
        mapped = words.get(tok)
    return mapped if mapped is not None else tok


def _join_phrases(tokens: list[str], phrases: dict[tuple[str, str], str]) -> list[str]:
    # Most posts with a phrase head ("oki", "cak") do not contain the phrase: check only there.
    hits = [i for i, tok in enumerate(tokens[:-1]) if tok in _PHRASE_HEADS and (tok, tokens[i + 1]) in phrases]
    if not hits:
        return tokens
    joined: list[str] = []
    last = 0
    for i in hits:
        if i < last:
            continue  # overlaps the previous phrase
        joined.extend(tokens[last:i])
        joined.extend(phrases[(tokens[i], tokens[i + 1])].split())
        last = i + 2
    joined.extend(tokens[last:])
    return joined


def _number(match: re.Match[str]) -> str:
    if match.group("num") is None:
        return " nominaluang "
    number = match.group()
    return f" {_THOUSANDS.sub('', number) if '.' in number or ',' in number else number} "


def _collapse(match: re.Match[str]) -> str:
    run = match.group(0)
    # "Pedamaran III" is a village name, not an elongated "i".
    return run if run == "iii" else match.group(1)


def lexicon_coverage(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """How well the lexicon handles (slang, formal) pairs from another lexicon.

    ``covered``: share of distinct slang forms our normaliser changes at all;
    ``exact``: share it maps to exactly the reference formal form. Used by the eval
    command against the colloquial-Indonesian lexicon (evaluation only, never shipped).
    """
    seen: dict[str, str] = {}
    for slang, formal in pairs:
        seen.setdefault(slang.lower().strip(), formal.lower().strip())
    items = [(s, f) for s, f in seen.items() if s and " " not in s and s != f]
    if not items:
        return {"forms": 0.0, "covered": 0.0, "exact": 0.0}
    changed = exact = 0
    for slang, formal in items:
        got = normalise(slang)
        if got != slang:
            changed += 1
        if got == formal:
            exact += 1
    return {"forms": float(len(items)), "covered": changed / len(items), "exact": exact / len(items)}
