"""Stand-ins for the pipeline's parts when another part is under test."""

from __future__ import annotations

from classifiers.labels import Labels


class FixedClassifier:
    """Says every post is a road complaint in Cengal: for tests of everything around the model."""

    version = "outage-test"

    def predict(self, texts: list[str]) -> list[Labels]:
        label = Labels(
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
            model_version=self.version,
        )
        return [label for _ in texts]
