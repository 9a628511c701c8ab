"""Issue titles a reader takes in at a glance: topic, place, and a phrase in the posts' own words.

A bag of the issue's top words ("blt cair dana kenapa") reads like a keyword list, and dropping
the small words loses negation ("cair" for "belum cair"). So the title quotes the shortest run of
words in one of the issue's posts that holds the most of the issue's weightiest words, as the
post wrote it after slang normalisation ("dana BLT kenapa belum cair"), and falls back to the top
words only when no post holds two of them close together.

Pure functions: the grouping and assessment stages pick the texts and store the result.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from classifiers.normalise import normalise
from classifiers.places import place_parts
from classifiers.taxonomy import TOPIC_LABELS

TOP_WORDS = 4
"""How many of the issue's weightiest words a title phrase tries to hold."""
MAX_PHRASE_WORDS = 7
"""Longest quoted run of words: a title, not a sentence."""
FILLER_COST = 0.5
"""What a word that is not a top word costs a phrase, as a share of the lightest top word's weight."""
KEEP_MARGIN = 0.9
"""A new phrase replaces the current one only when the current one holds less than this share of its
weight: near ties would otherwise flip a title back and forth between passes."""

_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A phrase stays within one clause: "jalan rusak, anak sekolah jalan kaki" must not give "jalan rusak anak".
_CLAUSE = re.compile(r"[.,!?;:()\[\]\n\"“”]+|\s[-–—]\s")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_REGENCY = (("ogan", "komering", "ilir"), ("oki",))
# Said before a place name ("di desa Sungai Lumpur"): dropped with the name, which the title already gives.
_PLACE_LEAD = frozenset("di ke dari desa dusun kecamatan kec kelurahan kel kab kabupaten".split())
_NEGATION = frozenset({"tidak", "belum", "tak", "bukan", "jangan", "tanpa"})
# Written in capitals in Indonesian news and by agencies; the normaliser lower-cases everything.
_ACRONYMS = frozenset(
    """
    atm bbm blt bpbd bpjs bpnt bsu dprd ktp kia kip kis kk lpg nik opd pdam pkh pln ppdb pupr rsud
    sd smk sma smp tpa tps umkm
    """.split()
)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A run of words quoted from a post, and how much of the issue's top-word weight it holds."""

    text: str
    weight: float
    top_words: int


def top_words(weights: Mapping[str, float], n: int = TOP_WORDS) -> list[str]:
    """The ``n`` weightiest words, heaviest first (ties alphabetical, so titles are reproducible)."""
    return [w for w, _ in heapq.nsmallest(n, weights.items(), key=lambda kv: (-kv[1], kv[0]))]


def _display(words: Iterable[str]) -> str:
    return " ".join(w.upper() if w in _ACRONYMS else w for w in words)


@lru_cache(maxsize=1024)
def _place_names(places: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The word sequences that name the issue's places and the regency ("Kayu Agung" is also "kayuagung")."""
    names: list[tuple[str, ...]] = list(_REGENCY)
    for place in places:
        words = tuple(_TOKEN.findall(normalise(place).lower())) if place else ()
        names += [words, ("".join(words),)] if len(words) > 1 else [words]
    return tuple(n for n in names if n)


def _without_places(tokens: list[str], places: Sequence[str]) -> list[str]:
    """``tokens`` without the issue's own place names (and the regency's), nor the "di desa" before them."""
    drop = [False] * len(tokens)
    for name in _place_names(tuple(places)):
        for i in range(len(tokens) - len(name) + 1):
            if tuple(tokens[i : i + len(name)]) == name:
                drop[i : i + len(name)] = [True] * len(name)
                k = i - 1
                while k >= 0 and tokens[k] in _PLACE_LEAD:
                    drop[k] = True
                    k -= 1
    return [t for t, d in zip(tokens, drop, strict=True) if not d]


def phrase_of(text: str, weights: Mapping[str, float], places: Sequence[str] = ()) -> Phrase | None:
    """The shortest run of words in one clause of ``text`` that starts and ends on a top word and holds the most
    top-word weight.

    A negation just before the run belongs to it ("belum cair"); the issue's ``places`` (kecamatan, desa) are
    left out, since the title names them already. None when the text holds no top word.
    """
    top = set(top_words(weights))
    if not top:
        return None
    best: tuple[float, int, list[str]] | None = None
    for clause in _CLAUSE.split(_URL.sub(" ", text)):
        tokens = _without_places(_TOKEN.findall(normalise(clause).lower()), places)
        found = _best_run(tokens, top, weights)
        if found is not None and (best is None or found[:2] > best[:2]):
            best = found
    if best is None:
        return None
    total, _, words = best
    return Phrase(_display(words), total, len(top.intersection(words)))


def _best_run(tokens: list[str], top: set[str], weights: Mapping[str, float]) -> tuple[float, int, list[str]] | None:
    """(weight, -length, words) of the best run within one clause, with a negation just before it."""
    # Each word between top words costs half the lightest top word: a concise phrase beats a long one that
    # reaches one more top word through filler ("motor setiap pagi gara gara jalan rusak").
    filler_cost = FILLER_COST * min(weights[w] for w in top)
    best: tuple[float, int, int, int] | None = None  # (weight less filler, -length, start, end)
    for i, first in enumerate(tokens):
        if first not in top:
            continue
        seen: set[str] = set()
        total = 0.0
        for j in range(i, min(len(tokens), i + MAX_PHRASE_WORDS)):
            word = tokens[j]
            if word not in top:
                continue
            if word not in seen:
                seen.add(word)
                total += weights[word]
            filler = sum(1 for w in tokens[i : j + 1] if w not in top)
            key = (total - filler_cost * filler, i - j, i, j)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is None:
        return None
    total, minus_len, start, end = best
    if start > 0 and tokens[start - 1] in _NEGATION:
        start -= 1
    return total, minus_len, tokens[start : end + 1]


def best_phrase(
    texts: Iterable[str], weights: Mapping[str, float], current: str | None = None, places: Sequence[str] = ()
) -> str | None:
    """The phrase of ``texts`` holding the most top-word weight (at least two top words), or None.

    ``current`` (the words of the present title) is kept unless a new phrase outweighs it clearly.
    """
    best: Phrase | None = None
    for text in texts:
        phrase = phrase_of(text, weights, places)
        if phrase is not None and phrase.top_words >= 2 and (best is None or phrase.weight > best.weight):
            best = phrase
    if best is None:
        return None
    if current:
        kept = phrase_of(current, weights)
        if kept is not None and kept.top_words >= 2 and kept.weight >= KEEP_MARGIN * best.weight:
            return current
    return best.text


def make_title(
    topic: str, kecamatan: str | None, desa: str | None, weights: Mapping[str, float], phrase: str | None = None
) -> str:
    """A short Indonesian title: topic, place, then ``phrase`` or else the issue's top words."""
    # "Kelurahan Kedaton", not "Desa Kedaton": the region file's code says which it is.
    village, kec = place_parts(kecamatan, desa)
    place = f"{village}, {kec}" if village and kec else (kec or "lokasi belum jelas")
    words = phrase or _display(top_words(weights))
    return f"{TOPIC_LABELS.get(topic, topic)} di {place}" + (f": {words}" if words else "")


def words_of(title: str) -> str | None:
    """The phrase part of a title built by ``make_title`` (after the place), or None."""
    _, sep, words = title.partition(": ")
    return words if sep else None
