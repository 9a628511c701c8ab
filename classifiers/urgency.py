"""Urgency cues in normalised text: deaths, children at risk, fire, flood, explicit emergency.

Pure and cheap: one scan of the text with a single alternation of named groups. Cues are
words a reader on the comms team would also react to; "lampu mati" / "air mati" are not
deaths, so "mati" alone is not a cue. A cue said not to have happened ("untung dak ado
korban jiwa", "tanpa korban jiwa", "korban jiwa nihil") is no cue: see :func:`negated`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_FAMILIES: tuple[tuple[str, str], ...] = (
    (
        "korban_jiwa",
        r"meninggal(?: dunia)?|tewas|korban jiwa|merenggut nyawa|renggut nyawa|mayat"
        r"|mati tenggelam|mati terseret|orang mati|warga mati|anak mati",
    ),
    ("kebakaran", r"kebakaran|terbakar|dilalap api|ludes|hangus|karhutla|titik api|api"),
    ("banjir", r"banjir bandang|banjir|terendam|tenggelam|air meluap|tanggul jebol"),
    ("darurat", r"darurat|gawat|sos|segera evakuasi|kritis|tolong segera"),
    ("anak", r"balita|bayi|anak anak|anak kecil|anak sekolah|murid|siswa|bocah"),
    (
        "bahaya",
        r"jatuh|luka|terluka|celaka|kecelakaan|sakit|keracunan|hanyut|gizi buruk|diare|demam"
        r"|batuk|sesak|tertimpa|terseret|bahaya",
    ),
)
_PATTERN = re.compile("|".join(f"\\b(?P<{name}>{body})\\b" for name, body in _FAMILIES))


def _first_word(alternative: str) -> str:
    # "meninggal(?: dunia)?" starts with "meninggal": the regex syntax is not part of the word.
    found = re.match(r"[a-z]+", alternative)
    if found is None:
        raise ValueError(f"cue {alternative!r} must start with a word")
    return found.group()


# Every cue starts with a whole word (it is anchored by \b and written as words), so the regex can
# only match where a word of _FIRST_WORDS starts; it is tried there and nowhere else.
_FIRST_WORDS = frozenset(_first_word(alt) for _name, body in _FAMILIES for alt in body.split("|"))
# First words of every cue except children: a post with none of them has no cue at all
# (children count only with a harm word), so most posts skip the scan.
_TRIGGERS = frozenset(_first_word(alt) for name, body in _FAMILIES if name != "anak" for alt in body.split("|"))
_ORDER = ("korban_jiwa", "kebakaran", "banjir", "darurat")

# Words that deny what follows. Normalised text already reads "dak ado"/"idak ado"/"nggak ada" as
# "tidak ada"; the raw spellings are listed too because titles and term words are matched unnormalised.
_NEGATORS = frozenset(
    {
        "tidak", "tak", "tiada", "tanpa", "bukan", "belum", "nihil", "nol", "zero",
        "dak", "idak", "ndak", "nggak", "ngga", "enggak", "gak", "ga", "kagak", "endak",
    }
)  # fmt: skip
# Between the denial and the cue: "tidak ada (laporan) korban jiwa", "belum ada (warga yang) meninggal".
_FILLERS = frozenset(
    {"ada", "ado", "yang", "yg", "laporan", "dilaporkan", "lagi", "satu", "satupun", "seorang", "pun", "orang", "warga"}
)
_AFTER = frozenset({"nihil", "nol"})
"""Words after a cue that deny it: "korban jiwa nihil"."""


def negated(text: str, start: int, end: int) -> bool:
    """True when the words around ``text[start:end]`` deny it ("tidak ada korban jiwa", "korban jiwa nihil").

    A denial counts when it stands right before the cue or is separated from it only by filler
    words ("ada", "yang", "laporan", ...), at most three; "tidak ada bantuan, warga tewas" is a death.
    """
    before = re.findall(r"\w+", text[max(0, start - 80) : start].lower())[-4:]
    for word in reversed(before):
        if word in _NEGATORS:
            return True
        if word not in _FILLERS:
            break
    after = re.findall(r"\w+", text[end : end + 40].lower())[:1]
    return bool(after) and after[0] in _AFTER


def find_terms(text: str, terms: Iterable[str], words: Mapping[str, object] | Iterable[str] = ()) -> list[str]:
    """The ``terms`` said (not denied) in ``text``, in the order given; one-word terms also count from ``words``.

    ``words`` is a bag of words (an issue's term vector): a phrase is never read across it, since
    its words sit side by side only by accident ("korban" and "jiwa" from "tidak ada korban jiwa").
    """
    bag = {str(w).lower() for w in words}
    found: list[str] = []
    for term in terms:
        term = term.strip().lower()
        if not term:
            continue
        if " " not in term and term in bag:
            found.append(term)
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            if not negated(text, m.start(), m.end()):
                found.append(term)
                break
    return found


def urgency_cues(normalised: str, tokens: list[str] | None = None) -> tuple[str, ...]:
    """Names of the urgency cues present in already-normalised text, in a fixed order.

    `tokens` is ``normalised.split()`` when the caller has it already. Children ("anak_anak")
    count only together with a harm word, or with another cue: "anak sekolah" alone is
    everyday text, "anak sekolah jatuh" is not.
    """
    if _TRIGGERS.isdisjoint(normalised.split() if tokens is None else tokens):
        return ()
    spans = (
        _scan_spans(normalised, tokens)
        if tokens is not None
        else [(m.lastgroup, m.start(), m.end()) for m in _PATTERN.finditer(normalised)]
    )
    seen = {name for name, start, end in spans if not negated(normalised, start, end)}
    if not seen:
        return ()
    # "tenggelam" and "kritis" are harm words as well as flood/emergency cues.
    harm = "bahaya" in seen or "banjir" in seen or "korban_jiwa" in seen or "darurat" in seen
    found = [name for name in _ORDER if name in seen]
    if "anak" in seen and harm:
        found.append("anak_anak")
    return tuple(found)


def _scan(normalised: str, tokens: list[str]) -> set[str | None]:
    """The cue names _PATTERN.finditer(normalised) finds (negated or not)."""
    return {name for name, _start, _end in _scan_spans(normalised, tokens)}


def _scan_spans(normalised: str, tokens: list[str]) -> list[tuple[str | None, int, int]]:
    # What _PATTERN.finditer(normalised) finds, for text whose words `tokens` are separated by
    # single spaces: the regex is tried left to right only where a word that can start a cue
    # starts, skipping words inside the previous match, instead of at every character.
    seen: list[tuple[str | None, int, int]] = []
    pos = 0
    resume = 0
    for word in tokens:
        if pos >= resume and word in _FIRST_WORDS:
            match = _PATTERN.match(normalised, pos)
            if match is not None:
                seen.append((match.lastgroup, match.start(), match.end()))
                resume = match.end()
        pos += len(word) + 1
    return seen
