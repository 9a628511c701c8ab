"""Grouping posts into issues: same problem joins, copies are spread, different problems stay apart."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.stages.group import (
    IssueGrouper,
    close_quiet,
    group_new,
    merge_issues,
    split_issue,
    terms_of,
)
from monitor.store.db import Database
from monitor.store.ledger import resolve_issue
from monitor.store.models import Issue, IssueEvent, IssuePost, Post
from tests.grouping_support import NOW, ROAD, Harness


def test_same_problem_joins_one_issue(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, a = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    _, b = h.add("jalan sungai lumpur cengal makin rusak, lubang dimana-mana", at=NOW + timedelta(hours=1))
    _, c = h.add("Truk amblas di jalan rusak Sungai Lumpur Cengal", at=NOW + timedelta(hours=3))
    assert a == b == c
    with db.session() as s:
        issue = s.get(Issue, a)
        assert issue is not None
        assert issue.post_count == 3 and issue.agency_code == "pupr" and issue.kecamatan == "Cengal"
        assert "Cengal" in issue.title and issue.title.startswith("Infrastruktur")


def test_two_problems_in_one_kecamatan_stay_apart(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, road = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    water_label = replace(ROAD, topic="air_bersih", desa=None)
    _, water = h.add("Air PDAM di Cengal mati tiga hari, warga beli air galon", label=water_label)
    bridge_label = replace(ROAD, desa="Sungai Lumpur")
    _, bridge = h.add("Jembatan gantung Sungai Lumpur putus, anak sekolah menyeberang pakai perahu", label=bridge_label)
    assert len({road, water, bridge}) == 3


def test_reply_and_syndicated_copy_are_spread(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    pid, issue = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    _, reply_issue = h.add("setuju, parah nian", parent="p1", at=NOW + timedelta(minutes=5))
    _, copy_issue = h.add("Warga keluhkan jalan rusak (salinan berita)", dup_of=pid, at=NOW + timedelta(minutes=9))
    assert reply_issue == copy_issue == issue
    with db.session() as s:
        spread = dict(s.execute(select(IssuePost.post_id, IssuePost.is_spread)).all())
    assert spread == {1: False, 2: True, 3: True}


def test_old_issue_outside_window_is_not_joined(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, a = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    later = NOW + timedelta(hours=config.issues.match_window_hours + 1)
    _, b = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah lagi", at=later)
    assert a != b


def test_resolved_issue_that_comes_back_is_reopened_as_regression(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, a = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    with db.session() as s:
        resolve_issue(s, a, "pupr-user", NOW + timedelta(hours=2))
    _, b = h.add("Jalan Sungai Lumpur Cengal rusak lagi, lubang besar muncul lagi", at=NOW + timedelta(days=3))
    assert a == b
    with db.session() as s:
        issue = s.get(Issue, a)
        assert issue is not None and issue.status == "open" and issue.regression
        kinds = list(s.scalars(select(IssueEvent.kind).where(IssueEvent.issue_id == a)))
    assert "regression" in kinds and "resolved" in kinds


def test_merge_and_split_keep_history(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, a = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    other = replace(ROAD, topic="transportasi", desa=None)
    p2, b = h.add("Truk ODOL lewat Cengal bikin macet dan jalan hancur", label=other)
    assert a != b
    with db.session() as s:
        merge_issues(s, a, [b], "comms", NOW)
    with db.session() as s:
        target, merged = s.get(Issue, a), s.get(Issue, b)
        assert target is not None and merged is not None
        assert target.post_count == 2 and merged.status == "merged" and merged.merged_into_id == a
    with db.session() as s:
        new = split_issue(s, a, [p2], "comms", NOW)
        new_id = new.id
    with db.session() as s:
        assert s.scalar(select(IssuePost.issue_id).where(IssuePost.post_id == p2)) == new_id
        kinds = set(s.scalars(select(IssueEvent.kind).where(IssueEvent.issue_id == a)))
    assert {"created", "merged", "split"} <= kinds


def test_quiet_issue_closes(db: Database, config: AppConfig) -> None:
    h = Harness(db, config)
    _, a = h.add("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar")
    with db.session() as s:
        assert close_quiet(s, config, NOW + timedelta(hours=1)) == 0
        assert close_quiet(s, config, NOW + timedelta(hours=config.issues.close_after_hours + 1)) == 1
        issue = s.get(Issue, a)
        assert issue is not None and issue.status == "closed"


def test_terms_ignore_filler_words() -> None:
    terms = terms_of("Mohon pak, jalan di desa kami rusak banget!!!")
    assert "jalan" in terms and "rusak" in terms
    assert "mohon" not in terms and "kami" not in terms


def test_batch_grouping_writes_issues_once_with_per_post_results(
    db: Database, config: AppConfig, tmp_path: Path
) -> None:
    """group_new keeps term vectors, signatures, titles and counts in memory for the batch and writes
    them once; the result must be what placing and writing back post by post gives."""
    rng = random.Random(3)
    vocab = [f"kata{i}" for i in range(90)]  # more words than TERM_CAP, so the cap and its ties matter
    texts = []
    for _ in range(120):
        problem = rng.choice(["jalan rusak berlubang", "lampu jalan padam", "sampah menumpuk bau"])
        texts.append((f"{problem} {' '.join(rng.sample(vocab, 6))}", rng.choice(["Cengal", "Tulung Selapan", None])))
    other = Database(f"sqlite:///{tmp_path / 'per_post.db'}")
    other.upgrade()
    results = []
    for database, batch in ((db, True), (other, False)):
        h = Harness(database, config)
        h.grouper = IssueGrouper(config)  # per post: written back after every placement
        with database.session() as s:
            for i, (text, kec) in enumerate(texts):
                label = replace(ROAD, kecamatan=kec, desa=None)
                post = h.store(s, text, at=NOW + timedelta(minutes=i), label=label)
                if not batch:
                    h.grouper.place(s, post, label, NOW)
        if batch:
            with database.session() as s:
                grouped, _, _, _ = group_new(s, config, NOW, limit=1000)
            assert grouped == len(texts)
        with database.session() as s:
            members = sorted(
                (p, i, round(sim, 4), spread)
                for p, i, sim, spread in s.execute(
                    select(Post.external_id, IssuePost.issue_id, IssuePost.similarity, IssuePost.is_spread).join(
                        IssuePost, IssuePost.post_id == Post.id
                    )
                )
            )
            issues = [
                (i.id, i.title, i.post_count, i.terms, i.kecamatan, i.first_seen, i.last_seen)
                for i in s.scalars(select(Issue).order_by(Issue.id))
            ]
        results.append((members, issues))
    other.dispose()
    assert len(results[0][1]) > 1
    assert results[0] == results[1]


def test_batch_signatures_equal_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """simhashes (grouping's vectorised signing) gives simhash's bits: empty, long, repeated words,
    and across a restart of its word table."""
    import monitor.stages.group as issues

    rng = random.Random(11)
    vocab = [f"kata{i}" for i in range(400)] + ["jalan", "rusak", "berlubang"]
    bags: list[Counter[str]] = [Counter()] + [
        Counter({w: rng.randint(1, 5) for w in rng.sample(vocab, rng.choice([1, 2, 7, 20, 64, 65, 150]))})
        for _ in range(1200)
    ]
    bags.append(terms_of("Mohon pak, jalan di desa kami rusak banget!!! jalan jalan"))
    expected = [issues.simhash(b) for b in bags]
    assert issues.simhashes(bags) == expected
    monkeypatch.setattr(issues, "_SIGN_TABLE_LIMIT", 100)
    monkeypatch.setattr(issues, "_SIGNS", issues._SignTable())
    assert issues.simhashes(bags[:300]) == expected[:300]
    assert issues.simhashes(bags[300:]) == expected[300:]
