"""The ingest pre-filter: is there any OKI evidence at all in a text?

Deliberately generous (recall first): a region-wide news feed or a keyword
search returns mostly posts about elsewhere, and those are dropped here
unread. Whether a post is *really* about OKI (not OKU, not the OIC, not
Oki Setiana Dewi) is the classifier's job, with all the context.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

WILAYAH = Path(__file__).resolve().parents[2] / "classifiers" / "data" / "oki_wilayah.csv"

# Names and bodies that point at Kabupaten OKI, beyond its official place names.
_TERMS = """oki | ogan komering ilir | kayu agung | bende seguguk | sp padang | pangkalan lampam |
pangkalan lapam | tl selapan | tirta agung | kapal betung | muchendi | kaboki | okikab""".replace("\n", " ")
_TOKEN = re.compile(r"[a-z0-9]+")
MAX_WORDS = 4


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    names = {t.strip() for t in _TERMS.split("|")}
    if WILAYAH.exists():
        with WILAYAH.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["level"] in ("kecamatan", "desa_kelurahan"):
                    names.add(" ".join(_TOKEN.findall(row["nama"].lower())))
    # "Kayu Agung" is also written "Kayuagung": accept every name with its spaces removed too.
    names |= {n.replace(" ", "") for n in names}
    return frozenset(n for n in names if len(n) >= 3)


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    """Every leading part of a name: a match starting at a word needs that word to be one."""
    return frozenset(name[:k] for name in _names() for k in range(1, len(name) + 1))


def has_oki_evidence(text: str) -> bool:
    """True when the text names OKI, one of its places or bodies; cheap enough for every item."""
    names = _names()
    prefixes = _prefixes()
    words = _TOKEN.findall(text.lower())
    for i in range(len(words)):
        if words[i] not in prefixes:
            continue  # no name, spaced or glued, starts with this word: skip its joins (most words)
        for n in range(1, MAX_WORDS + 1):
            gram = words[i : i + n]
            if len(gram) < n:
                break
            if " ".join(gram) in names or (n > 1 and "".join(gram) in names):
                return True
    return False


@lru_cache(maxsize=1)
def place_words() -> frozenset[str]:
    """Every word that is part of an OKI place name: say *where*, not *what* the problem is."""
    words = {word for name in _names() for word in name.split()}
    return frozenset(words - _PROBLEM_WORDS)


# Words inside place names that also name the problem itself ("air mati", "lampu mati").
_PROBLEM_WORDS = frozenset({"air", "mati", "api", "asap", "banjir", "jalan", "pasar"})
