"""Stand-ins for the pipeline's parts when another part is under test."""

from __future__ import annotations

from datetime import datetime

from classifiers.labels import Labels
from monitor.store.models import Label


def road_label(model_version: str = "t") -> Labels:
    """A confident road complaint in Sungai Lumpur, Cengal: the label tests give posts when the model is not
    under test."""
    return Labels(
        relevant=True,
        relevance_score=0.99,
        is_complaint=True,
        complaint_score=0.95,
        topic="infrastruktur",
        topic_score=0.9,
        kecamatan="Cengal",
        desa="Sungai Lumpur",
        urgent=False,
        urgency_cues=(),
        confidence=0.9,
        needs_triage=False,
        model_version=model_version,
    )


def label_row(post_id: int, label: Labels, at: datetime) -> Label:
    """The stored label of a post the tests place by hand: a sure complaint with ``label``'s topic and place."""
    return complaint_label(post_id, at, topic=label.topic, kecamatan=label.kecamatan, desa=label.desa)


def complaint_label(
    post_id: int,
    at: datetime,
    *,
    topic: str | None,
    kecamatan: str | None,
    desa: str | None = None,
    agency_code: str | None = None,
    model_version: str = "t",
    score: float = 1.0,
    topic_score: float = 1.0,
) -> Label:
    """The stored label of a relevant complaint about ``topic`` in ``kecamatan``: ``score`` is how sure the model
    was that it is a (relevant) complaint, ``topic_score`` how sure of its topic (the label's confidence too)."""
    return Label(
        post_id=post_id,
        model_version=model_version,
        relevant=True,
        relevance_score=score,
        is_complaint=True,
        complaint_score=score,
        topic=topic,
        topic_score=topic_score,
        agency_code=agency_code,
        kecamatan=kecamatan,
        desa=desa,
        confidence=topic_score,
        created_at=at,
    )


class FixedClassifier:
    """Says every post is a road complaint in Cengal: for tests of everything around the model."""

    version = "outage-test"

    def predict(self, texts: list[str]) -> list[Labels]:
        label = road_label(self.version)
        return [label for _ in texts]
