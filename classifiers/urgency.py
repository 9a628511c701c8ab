"""Urgency cues in normalised text: deaths, children at risk, fire, flood, explicit emergency.

Pure and cheap: one regex search per cue family. Cues are words a reader on the comms team
would also react to; "lampu mati" / "air mati" are not deaths, so "mati" alone is not a cue.
"""

from __future__ import annotations

import re

_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("korban_jiwa", re.compile(
        r"\b(?:meninggal(?: dunia)?|tewas|korban jiwa|renggut nyawa|merenggut nyawa|mayat|jenazah korban"
        r"|mati tenggelam|mati terseret|orang mati|warga mati|anak mati)\b")),
    ("kebakaran", re.compile(r"\b(?:kebakaran|terbakar|dilalap api|ludes|hangus|karhutla|titik api|api)\b")),
    ("banjir", re.compile(r"\b(?:banjir|terendam|tenggelam|air meluap|tanggul jebol|banjir bandang)\b")),
    ("darurat", re.compile(r"\b(?:darurat|gawat|sos|segera evakuasi|kritis|tolong segera)\b")),
)
_CHILDREN = re.compile(r"\b(?:balita|bayi|anak anak|anak kecil|anak sekolah|murid|siswa|bocah)\b")
_HARM = re.compile(
    r"\b(?:jatuh|luka|terluka|celaka|kecelakaan|sakit|keracunan|tenggelam|hanyut|gizi buruk|diare|demam"
    r"|batuk|sesak|tertimpa|terseret|bahaya|kritis|meninggal)\b"
)


def urgency_cues(normalised: str) -> tuple[str, ...]:
    """Names of the urgency cues present in already-normalised text, in a fixed order."""
    found = [name for name, pattern in _CUES if pattern.search(normalised)]
    if _CHILDREN.search(normalised) and _HARM.search(normalised):
        found.append("anak_anak")
    return tuple(found)
