"""The typed result of reading one post."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Labels:
    """What the classifier says about one text.

    ``topic`` is always a taxonomy key (the most likely one); consumers combine
    it with ``relevant`` and ``is_complaint``. Agency routing is applied later
    from config, not here.
    """

    relevant: bool
    relevance_score: float
    is_complaint: bool
    complaint_score: float
    topic: str
    topic_score: float
    kecamatan: str | None
    desa: str | None
    urgent: bool
    urgency_cues: tuple[str, ...]
    confidence: float
    """Overall confidence in [0, 1]: the weakest of the decisions that matter."""
    needs_triage: bool
    """Low confidence: a human on the comms team should look."""
    model_version: str
    topics: tuple[str, ...] = ()
    """Every topic the post is about, primary (``topic``) first: a second one when the model gives it
    enough weight (pungli at Disdukcapil is ``pungli_korupsi`` and ``adminduk``). Empty when the
    classifier that made the labels did not say."""
