"""Urgency cues in normalised text: deaths, children at risk, fire, flood, explicit emergency.

Pure and cheap: one scan of the text with a single alternation of named groups. Cues are
words a reader on the comms team would also react to; "lampu mati" / "air mati" are not
deaths, so "mati" alone is not a cue.
"""

from __future__ import annotations

import re

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
# First words of every cue except children: a post with none of them has no cue at all
# (children count only with a harm word), so most posts skip the regex scan.
_TRIGGERS = frozenset(alt.split()[0] for name, body in _FAMILIES if name != "anak" for alt in body.split("|"))
_ORDER = ("korban_jiwa", "kebakaran", "banjir", "darurat")


def urgency_cues(normalised: str) -> tuple[str, ...]:
    """Names of the urgency cues present in already-normalised text, in a fixed order.

    Children ("anak_anak") count only together with a harm word, or with another cue:
    "anak sekolah" alone is everyday text, "anak sekolah jatuh" is not.
    """
    if _TRIGGERS.isdisjoint(normalised.split()):
        return ()
    seen = {m.lastgroup for m in _PATTERN.finditer(normalised)}
    if not seen:
        return ()
    # "tenggelam" and "kritis" are harm words as well as flood/emergency cues.
    harm = "bahaya" in seen or "banjir" in seen or "korban_jiwa" in seen or "darurat" in seen
    found = [name for name in _ORDER if name in seen]
    if "anak" in seen and harm:
        found.append("anak_anak")
    return tuple(found)
