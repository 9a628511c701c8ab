"""One labelled text: what the trainer learns from and the evaluation scores against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text; a ``None`` label means "not labelled for this decision"."""

    text: str
    relevant: bool | None = None
    is_complaint: bool | None = None
    topic: str | None = None
    kecamatan: str | None = None
    split: str = "train"
    source: str = "corpus"
    template: str = ""
    topics: tuple[str, ...] = ()
    """Every topic, primary first, where the data says (the hand-written set); else just ``topic``."""
