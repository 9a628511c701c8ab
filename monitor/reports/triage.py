"""The triage list: posts the model was unsure about that may be OKI complaints, for the comms team.

A post is listed when its newest label says ``needs_triage`` (confidence below
``classifier.triage_threshold``), nobody has corrected it yet, its text is still stored, and it
passes two floors (``classifier.triage_relevance_floor`` / ``triage_complaint_floor``):

- relevance score **above 0.2**: :func:`classifiers.model.relevance_rule` caps a post with no
  OKI evidence at all at 0.2, so anything above names some OKI place, account or word. Posts
  with no OKI evidence are the whole internet's uncertain posts; nobody can triage those.
- complaint score **at least 0.4**: the lower edge of the uncertain band at the default
  threshold (confidence ``1 - 0.4 = 0.6``); below it the model is fairly sure the post is not a
  complaint, and a complaint it missed that badly is not "uncertain" but a training gap that
  the issue page's corrections reach.

A label given on the list is stored as corrections (:func:`monitor.stages.corrections.record_corrections`,
source ``triage``), which also takes the post off the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from classifiers.taxonomy import TOPIC_LABELS, TOPICS
from monitor.kernel.config import AppConfig
from monitor.store.models import Label, LabelCorrection, Post

FIELD_NAMES: dict[str, str] = {"relevant": "relevan", "is_complaint": "keluhan", "topic": "topik"}
"""How the fields are named to users (error messages name the field in Bahasa Indonesia)."""

_YES = {"true", "ya", "yes", "1"}
_NO = {"false", "tidak", "no", "0", "bukan"}


class TriageInputError(ValueError):
    """A triage label that cannot be stored; ``field`` is the JSON key, the message names it in Bahasa."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{FIELD_NAMES.get(field, field)}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class TriageItem:
    """One uncertain post with what the model guessed."""

    post_id: int
    platform: str
    url: str | None
    title: str | None
    text: str | None
    created_at: datetime
    relevance_score: float
    complaint_score: float
    topic: str
    topic_score: float
    confidence: float
    kecamatan: str | None


def _pending(config: AppConfig, region: str | None = None) -> Any:
    newer = aliased(Label)
    query = (
        select(Label, Post)
        .join(Post, Post.id == Label.post_id)
        .where(
            Label.needs_triage.is_(True),
            Label.relevance_score > config.classifier.triage_relevance_floor,
            Label.complaint_score >= config.classifier.triage_complaint_floor,
            Post.text.is_not(None),
            ~exists().where(newer.post_id == Label.post_id, newer.id > Label.id),
            ~exists().where(LabelCorrection.post_id == Label.post_id),
        )
    )
    # A user of one region triages that region's posts only.
    return query if region is None else query.where(Post.region_code == region)


def triage_list(
    session: Session, config: AppConfig, limit: int = 50, offset: int = 0, region: str | None = None
) -> list[TriageItem]:
    """Posts waiting for a human label (of ``region`` only, when given), newest classification first."""
    query = _pending(config, region).order_by(Label.created_at.desc(), Label.id.desc()).limit(limit).offset(offset)
    return [
        TriageItem(
            post_id=post.id,
            platform=post.platform,
            url=post.url,
            title=post.title,
            text=post.text,
            created_at=post.created_at,
            relevance_score=label.relevance_score,
            complaint_score=label.complaint_score,
            topic=label.topic,
            topic_score=label.topic_score,
            confidence=label.confidence,
            kecamatan=label.kecamatan,
        )
        for label, post in session.execute(query)
    ]


def triage_count(session: Session, config: AppConfig, region: str | None = None) -> int:
    """How many posts wait on the list (of ``region`` only, when given)."""
    return int(session.scalar(select(func.count()).select_from(_pending(config, region).subquery())) or 0)


def is_labelled_post(session: Session, post_id: int, region: str | None = None) -> bool:
    """The post exists and was classified (only those can be triaged), in ``region`` when given."""
    query = select(Label.id).where(Label.post_id == post_id)
    if region is not None:
        query = query.join(Post, Post.id == Label.post_id).where(Post.region_code == region)
    return session.scalar(query.limit(1)) is not None


def _flag(data: Mapping[str, Any], field: str) -> bool | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise TriageInputError(field, f"isi true atau false (ya/tidak), bukan {str(value)[:20]!r}")


def topic_key(raw: str) -> str | None:
    """A taxonomy key from its key or its display name (any case); ``None`` if neither."""
    wanted = " ".join(raw.split()).lower()
    for key in TOPICS:
        if wanted in (key, TOPIC_LABELS[key].lower()):
            return key
    return None


def parse_label(data: Mapping[str, Any]) -> dict[str, object]:
    """The corrections a triage label stands for, or :class:`TriageInputError` naming the field.

    ``relevant`` is required; a relevant post needs ``is_complaint``; a complaint needs ``topic``
    (key or name). Values that contradict each other (a topic for a non-complaint) are refused
    rather than dropped: a client that sends them has misunderstood something.
    """
    unknown = [k for k in data if k not in FIELD_NAMES]
    if unknown:
        raise TriageInputError(
            str(unknown[0]), "kolom tidak dikenal; pakai relevant (relevan), is_complaint (keluhan), topic (topik)"
        )
    relevant = _flag(data, "relevant")
    complaint = _flag(data, "is_complaint")
    raw_topic = data.get("topic")
    if raw_topic is not None and not isinstance(raw_topic, str):
        raise TriageInputError("topic", "isi nama topik berupa teks")
    raw_topic = (raw_topic or "").strip()
    if relevant is None:
        raise TriageInputError("relevant", "wajib diisi: true (tentang OKI) atau false (bukan OKI)")
    if not relevant:
        if complaint:
            raise TriageInputError("is_complaint", "hanya untuk unggahan yang relevan (tentang OKI)")
        if raw_topic:
            raise TriageInputError("topic", "hanya untuk keluhan tentang OKI")
        return {"relevant": False}
    if complaint is None:
        raise TriageInputError("is_complaint", "wajib diisi untuk unggahan tentang OKI: true atau false")
    if not complaint:
        if raw_topic:
            raise TriageInputError("topic", "hanya untuk keluhan; kosongkan atau isi is_complaint true")
        return {"relevant": True, "is_complaint": False}
    if not raw_topic:
        raise TriageInputError("topic", "wajib diisi untuk keluhan (nama topik, mis. 'Air bersih')")
    key = topic_key(raw_topic)
    if key is None:
        names = ", ".join(TOPIC_LABELS.values())
        raise TriageInputError("topic", f"{raw_topic[:40]!r} tidak dikenal; pilih salah satu: {names}")
    return {"relevant": True, "is_complaint": True, "topic": key}
