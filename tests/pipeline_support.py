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
    return Label(
        post_id=post_id,
        model_version="t",
        relevant=True,
        relevance_score=1,
        is_complaint=True,
        complaint_score=1,
        topic=label.topic,
        topic_score=1,
        kecamatan=label.kecamatan,
        desa=label.desa,
        confidence=1,
        created_at=at,
    )


class FixedClassifier:
    """Says every post is a road complaint in Cengal: for tests of everything around the model."""

    version = "outage-test"

    def predict(self, texts: list[str]) -> list[Labels]:
        label = road_label(self.version)
        return [label for _ in texts]
