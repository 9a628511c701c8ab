"""UU PDP: authors pseudonymised in storage unless the admin setting says otherwise; the scheduled purge purges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from collectors.base import RawItem
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.kernel.privacy import AuthorPseudonymiser
from monitor.service import MonitorService
from monitor.stages.ingest import Ingestor, ingest_raw
from monitor.store.db import Database
from monitor.store.models import AuditLog, Post, PostMetric
from tests.secrets_support import database_text

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
HANDLES = ["@Warga_Cengal", "budi.kayuagung", "Siti Aminah", "@PEMKAB_OKI_fans", "user_12345"]


def items(age: timedelta, prefix: str) -> list[RawItem]:
    return [
        RawItem(
            source="privasi",
            platform="x",
            external_id=f"{prefix}-{i}",
            text=f"Air PDAM di Kayuagung OKI mati lagi, laporan {prefix} {i}",
            created_at=NOW - age,
            author=handle,
            url=f"https://x.example/{handle}/status/{i}",
            likes=i + 1,
        )
        for i, handle in enumerate(HANDLES)
    ]


def test_stored_authors_are_keyed_hashes_never_the_handle(db: Database, config: AppConfig) -> None:
    ingest_raw(db, config, items(timedelta(hours=1), "a"), NOW)
    with db.session() as s:
        keys = list(s.scalars(select(Post.author_key)))
    assert len(keys) == len(HANDLES) and len(set(keys)) == len(HANDLES)
    for key in keys:
        assert key is not None and key.startswith("a_") and len(key) == 26
    # The handle appears nowhere in the author column, in any normalised form.
    lowered = " ".join(k.lower() for k in keys if k)
    for handle in HANDLES:
        assert handle.lstrip("@").lower() not in lowered


def test_pseudonym_depends_on_the_deployment_key() -> None:
    a = AuthorPseudonymiser(b"key-one-0123456789")
    b = AuthorPseudonymiser(b"key-two-0123456789")
    assert a("@Warga_Cengal") == a("warga_cengal")  # same person, same pseudonym
    assert a("@Warga_Cengal") != b("@Warga_Cengal")  # not a plain hash: a dictionary of handles does not reverse it
    assert a(None) is None and a("") is None


def test_admin_setting_off_stores_the_handle(db: Database, config: AppConfig) -> None:
    cfg = config.model_copy(update={"privacy": config.privacy.model_copy(update={"pseudonymise_authors": False})})
    ingest_raw(db, cfg, items(timedelta(hours=1), "b"), NOW)
    with db.session() as s:
        keys = set(s.scalars(select(Post.author_key)))
    assert keys == {h.lstrip("@").lower() for h in HANDLES}
    assert Ingestor(cfg).pseudonymise.enabled is False


def test_scheduled_retention_job_purges_old_text_and_keeps_counts(db: Database, config: AppConfig) -> None:
    days = config.privacy.retention_days
    ingest_raw(db, config, items(timedelta(days=days + 5), "old"), NOW - timedelta(days=days + 5))
    ingest_raw(db, config, items(timedelta(days=1), "new"), NOW - timedelta(days=1))
    svc = MonitorService(config.model_copy(update={"sources": []}), db, SimulatedClock(NOW))
    try:
        report = svc.purge()  # what the "retention" scheduler job calls
        again = svc.purge()
    finally:
        svc.close()
    assert report is not None and report.posts_purged == len(HANDLES)
    assert again is not None and again.posts_purged == 0  # idempotent: a misfired double run changes nothing
    with db.session() as s:
        old = list(s.scalars(select(Post).where(Post.external_id.like("old-%"))))
        new = list(s.scalars(select(Post).where(Post.external_id.like("new-%"))))
        old_ids = [p.id for p in old]
        old_metrics = s.scalar(select(func.count()).select_from(PostMetric).where(PostMetric.post_id.in_(old_ids)))
        audits = list(s.scalars(select(AuditLog).where(AuditLog.action == "purge")))
    assert len(old) == len(new) == len(HANDLES)  # rows (and so counts) survive
    assert all(p.text is None and p.author_key is None and p.url is None and p.purged_at for p in old)
    assert all(p.text and p.author_key for p in new)
    assert old_metrics == 0
    assert len(audits) == 2 and audits[0].actor == "sistem"
    # Nothing readable of the purged posts is left anywhere in the database.
    dump = database_text(db)
    assert "laporan old" not in dump and "laporan new" in dump


def test_pseudonym_is_the_keyed_hash_remembered_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import hmac

    from monitor.kernel import privacy

    monkeypatch.setattr(privacy, "MEMO_SIZE", 3)
    key = b"key-one-0123456789"
    a = AuthorPseudonymiser(key)
    handles = [f"@Warga_{k % 5}" for k in range(20)] + ["@ñ😡", "x\x00y"]
    for handle in handles:
        plain = handle.lstrip("@").lower().encode("utf-8", "replace")
        assert a(handle) == "a_" + hmac.new(key, plain, hashlib.sha256).hexdigest()[:24]
    assert len(a._seen) <= 3  # bounded, and still right after starting over
