"""Posts for the triage tests (API, page and browser): two uncertain OKI complaints and one of each post the
triage list leaves out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.store.db import Database
from monitor.store.models import Label, LabelCorrection, Post, Source
from tests.web_support import NOW


@dataclass
class TriagePosts:
    """Ids of the seeded posts: the two the triage list must hold, and those it must not, by why not."""

    road: int
    water: int
    excluded: dict[str, int]


def seed_triage(db: Database, now: datetime = NOW) -> TriagePosts:
    """Two posts that belong on the list and one of each kind that does not."""
    with db.session() as s:
        src = Source(name="fb-oki", kind="import", cursor={})
        s.add(src)
        s.flush()

        def post(key: str, text: str | None, labels: list[dict[str, object]], minutes: int) -> int:
            p = Post(
                source_id=src.id,
                platform="facebook",
                external_id=key,
                url=f"https://facebook.example/{key}",
                text=text,
                created_at=now - timedelta(minutes=minutes),
                collected_at=now,
                content_hash=f"t-{key}",
                stage="classified",
            )
            s.add(p)
            s.flush()
            for k, over in enumerate(labels):
                row: dict[str, object] = {
                    "relevant": False,
                    "relevance_score": 0.45,
                    "is_complaint": True,
                    "complaint_score": 0.55,
                    "topic": "infrastruktur",
                    "topic_score": 0.5,
                    "confidence": 0.45,
                    "needs_triage": True,
                    "created_at": now - timedelta(minutes=minutes - k),
                    "model_version": f"m{k}",
                }
                row.update(over)
                s.add(Label(post_id=p.id, **row))
            return p.id

        road = post("road", "Jalan ke Pedamaran Timur kok begini terus, kapan dibenahi", [{}], 10)
        water = post(
            "water",
            "Ledeng di Teluk Gelam mampet lagi",
            [{"topic": "air_bersih", "relevance_score": 0.55, "relevant": True}],
            5,
        )
        excluded = {
            "no_evidence": post("none", "Jalan rusak di kota sebelah", [{"relevance_score": 0.15}], 20),
            "not_complaint": post("praise", "Mantap Pedamaran", [{"complaint_score": 0.2, "is_complaint": False}], 21),
            "sure": post("sure", "Jalan rusak parah di Cengal", [{"needs_triage": False, "confidence": 0.9}], 22),
            "purged": post("gone", None, [{}], 23),
            "relabelled": post("again", "Lampu jalan di Jejawi mati", [{}, {"needs_triage": False}], 24),
            "corrected": post("done", "Sampah di Kayuagung menumpuk", [{}], 25),
        }
        s.add(
            LabelCorrection(
                post_id=excluded["corrected"], field="relevant", value="true", source="telegram", created_at=now
            )
        )
    return TriagePosts(road, water, excluded)
