"""The classify stage: label the posts not yet read, keep complaints (and government answers) for grouping.

Writes one ``labels`` row per post and the hourly ``scope_counts`` aggregates; re-runnable on stored data.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from classifiers.gazetteer import Gazetteer
from classifiers.labels import Labels
from collectors.lapor import PLATFORM as LAPOR
from monitor.domain.incident import is_response
from monitor.kernel.config import AppConfig
from monitor.kernel.metrics import observe_classify
from monitor.kernel.regions import DEFAULT_REGION
from monitor.stages.assess import engagement_of
from monitor.stages.group import post_text
from monitor.store.db import bulk_insert, one_of
from monitor.store.models import Label, Post, ScopeCount, table_of

log = logging.getLogger(__name__)


class Classifier(Protocol):
    version: str

    def predict(self, texts: list[str], gazetteer: Gazetteer | None = None) -> list[Labels]:
        """Labels per text; `gazetteer` reads another region's places (None: OKI's hand-tuned one)."""
        ...


def predict_by_region(
    classifier: Classifier, config: AppConfig, texts: list[str], regions: list[str]
) -> list[Labels | None]:
    """Each text read with the gazetteer of its region, one predict call per region (order kept).

    A region whose gazetteer cannot be built (its extract file gone) leaves its texts unread (None)
    and says so once per pass; the other regions are read.
    """
    out: list[Labels | None] = [None] * len(texts)
    by_region: dict[str, list[int]] = defaultdict(list)
    for index, code in enumerate(regions):
        by_region[code].append(index)
    for code, indices in by_region.items():
        region = config.region_of(code)
        try:
            gazetteer = region.gazetteer()
        except (OSError, ValueError) as exc:
            log.error("region %s: its gazetteer cannot be built from %s (%s); its posts wait", code, region.places, exc)
            continue
        chunk = [texts[i] for i in indices]
        # OKI's hand-tuned reading is the plain call, as every classifier takes it.
        labels = classifier.predict(chunk) if gazetteer is None else classifier.predict(chunk, gazetteer)
        for index, lab in zip(indices, labels, strict=True):
            out[index] = lab
    return out


def classify_new(
    session: Session,
    classifier: Classifier,
    config: AppConfig,
    now: datetime,
    limit: int = 2000,
    region: str | None = None,
) -> tuple[int, int]:
    """Label posts not yet read (``region``: of that region); returns (classified, complaints kept for grouping)."""
    # Plain rows and Core statements: this stage sees every collected post.
    query = (
        select(
            Post.id,
            Post.title,
            Post.text,
            Post.created_at,
            Post.platform,
            Post.likes,
            Post.shares,
            Post.replies,
            Post.views,
            Post.region_code,
        )
        .where(Post.stage == "new")
        .order_by(Post.id)
        .limit(limit)
    )
    if region is not None:
        query = query.where(Post.region_code == region)
    posts = session.execute(query).all()
    if not posts:
        return 0, 0
    texts = [
        f"{p.title}. {p.text}" if p.title and p.title not in (p.text or "") else (p.text or p.title or "")
        for p in posts
    ]
    codes = [p.region_code for p in posts]  # the source's region, given at ingest
    started = time.perf_counter()
    read = predict_by_region(classifier, config, texts, codes)
    observe_classify(time.perf_counter() - started)
    if any(lab is None for lab in read):  # a region that cannot be read now: its posts stay new
        keep = [i for i, lab in enumerate(read) if lab is not None]
        if not keep:
            return 0, 0
        posts = [posts[i] for i in keep]
        texts = [texts[i] for i in keep]
        codes = [codes[i] for i in keep]
    labels = [lab for lab in read if lab is not None]
    labels = _incident_places(session, posts, texts, labels)
    if config.lapor.trust_tickets:
        labels = [_lapor_ticket(lab) if p.platform == LAPOR else lab for p, lab in zip(posts, labels, strict=True)]
    rows: list[dict[str, object]] = []
    kept_ids: list[int] = []
    filtered_ids: list[int] = []
    # Per region, then per hour × topic × kecamatan × agency × platform.
    counts: dict[str, dict[tuple[datetime, str, str, str, str], list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0.0])
    )
    # Each region's routing once per batch: looking the region up per post was ~7 % of this stage.
    routing = {code: config.region_of(code).routing for code in set(codes)}
    for post, lab, code in zip(posts, labels, codes, strict=True):
        agency = routing[code].get(lab.topic)
        rows.append(
            {
                "post_id": post.id,
                "model_version": classifier.version,
                "relevant": lab.relevant,
                "relevance_score": lab.relevance_score,
                "is_complaint": lab.is_complaint,
                "complaint_score": lab.complaint_score,
                "topic": lab.topic,
                "topic_score": lab.topic_score,
                "agency_code": agency,
                "kecamatan": lab.kecamatan,
                "desa": lab.desa,
                "urgent": lab.urgent,
                "urgency_cues": list(lab.urgency_cues),
                "confidence": lab.confidence,
                "needs_triage": lab.needs_triage,
                "created_at": now,
            }
        )
        # A government statement is no complaint, but it belongs to the issue it answers: the grouper
        # joins it as a response (or drops it when it answers nothing).
        grouped = lab.relevant and (lab.is_complaint or is_response(post_text(post)))
        (kept_ids if grouped else filtered_ids).append(post.id)
        if lab.relevant:
            hour = post.created_at.replace(minute=0, second=0, microsecond=0)
            key = (hour, lab.topic, lab.kecamatan or "", agency or "", post.platform)
            agg = counts[post.region_code][key]
            agg[0] += 1
            agg[1] += 1 if lab.is_complaint else 0
            agg[2] += engagement_of(post.likes, post.shares, post.replies, post.views)
    bulk_insert(session, table_of(Label), rows)
    for stage, ids in (("classified", kept_ids), ("filtered", filtered_ids)):
        for start in range(0, len(ids), 500):  # bounded IN lists
            session.execute(
                update(Post).where(one_of(session, Post.id, ids[start : start + 500])).values(stage=stage),
                execution_options={"synchronize_session": False},
            )
    kept = len(kept_ids)
    for region, region_counts in counts.items():
        _add_scope_counts(session, region_counts, region)
    return len(posts), kept


def _lapor_ticket(lab: Labels) -> Labels:
    """A LAPOR! ticket from the regency's own inbox is about OKI and a report to handle (``lapor.trust_tickets``),
    whatever the text says; its topic and place still come from the text."""
    return replace(
        lab,
        relevant=True,
        relevance_score=max(lab.relevance_score, 0.99),
        is_complaint=True,
        complaint_score=max(lab.complaint_score, 0.99),
    )


def _incident_places(session: Session, posts: Sequence[Any], texts: list[str], labels: list[Labels]) -> list[Labels]:
    """A post a rising incident's tracked query fetched names the incident's place (monitor/stages/tracked_queries.py).

    Only the few posts stored with ``extra["incident"]`` are read again (a text match on the JSON
    keeps the others' extra unread).
    """
    from sqlalchemy import Text, cast

    from monitor.stages.tracked_queries import place_from_incident

    # The batch's own ids, not the range they span: a region's pass reads a batch of its posts only,
    # and between its first and last id lie every other region's posts of the same hours.
    found = {
        post_id: extra["incident"]
        for post_id, extra in session.execute(
            select(Post.id, Post.extra).where(
                one_of(session, Post.id, [p.id for p in posts]), cast(Post.extra, Text).like('%"incident"%')
            )
        )
        if isinstance(extra, dict) and isinstance(extra.get("incident"), dict)
    }
    if not found:
        return labels
    return [
        place_from_incident(lab, text, found[post.id]) if post.id in found else lab
        for post, text, lab in zip(posts, texts, labels, strict=True)
    ]


SCOPE_KEY = ("hour", "topic", "kecamatan", "agency_code", "platform", "region_code")
"""The unique key of ``scope_counts`` (migration 0012 added the region)."""


def _add_scope_counts(
    session: Session,
    counts: dict[tuple[datetime, str, str, str, str], list[float]],
    region_code: str = DEFAULT_REGION,
) -> None:
    """Hourly aggregates of one region that survive the retention purge (trends read these)."""
    if not counts:
        return
    rows: list[dict[str, Any]] = [
        {
            "hour": hour,
            "topic": topic,
            "kecamatan": kec,
            "agency_code": agency,
            "platform": platform,
            "region_code": region_code,
            "posts": int(n),
            "complaints": int(c),
            "engagement": eng,
        }
        for (hour, topic, kec, agency, platform), (n, c, eng) in counts.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # One upsert statement for the batch: a query and a flush per key was most of this stage.
        dialect_insert = sqlite_insert if dialect == "sqlite" else pg_insert
        table = table_of(ScopeCount)
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(SCOPE_KEY),
            set_={
                "posts": table.c.posts + stmt.excluded.posts,
                "complaints": table.c.complaints + stmt.excluded.complaints,
                "engagement": table.c.engagement + stmt.excluded.engagement,
            },
        )
        session.execute(stmt, rows)
        return
    for row in rows:  # other databases: read, then add or update
        key = {k: row[k] for k in SCOPE_KEY}
        existing = session.scalar(select(ScopeCount).filter_by(**key))
        if existing is None:
            session.add(ScopeCount(**row))
            session.flush()
        else:
            existing.posts += row["posts"]
            existing.complaints += row["complaints"]
            existing.engagement += row["engagement"]
