"""Several regions in one deployment: the region key (migration 0012), where it comes from, and grouping
that never mixes two regions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from alerts.engine import evaluate
from alerts.queue import queue_alert
from classifiers.labels import Labels
from classifiers.region import NATIONAL_LIST
from collectors.base import RawItem
from monitor.cli import main
from monitor.domain.incident import CandidateView, PostView, Rules, decide
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig, load_config, packaged_config_text
from monitor.kernel.regions import DEFAULT_REGION, region_label, region_names
from monitor.stages.group import group_new, merge_issues
from monitor.stages.ingest import Ingestor, ingest_raw
from monitor.stages.pipeline import run_pipeline
from monitor.store.db import Database
from monitor.store.models import Agency, Alert, Issue, IssuePost, JobRun, Label, Post, Source
from tests.conftest import drop_pg_schema, make_pg_database
from tests.migration_support import migrate
from tests.pipeline_support import label_row, road_label
from tests.telegram_server import make_issue

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OKU = "16.01"
OKU_SOURCE = "googlenews-ogan-komering-ulu"
"""A source `oki-monitor init --region 16.01` writes: its posts are OKU's."""
OKU_KECAMATAN = "Baturaja Timur"


@pytest.fixture(scope="module")
def deployment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OKI's shipped config (16.02) plus the region file of OKU (16.01), as an operator would write them."""
    if not NATIONAL_LIST.exists():
        pytest.skip("needs ../shared/data/wilayah_id")
    folder = tmp_path_factory.mktemp("deployment")
    assert main(["init", "--region", OKU, "--output", str(folder / "regions" / "16.01.yaml")]) == 0
    path = folder / "config.yaml"
    path.write_text(packaged_config_text() + "\nregions: [regions/16.01.yaml]\n", encoding="utf-8")
    return path


@pytest.fixture
def deployment(deployment_file: Path, config: AppConfig) -> AppConfig:
    """The two-region config (after ``config`` set the author key the ingest needs)."""
    loaded = load_config(deployment_file)
    assert list(loaded.deployment_regions()) == [DEFAULT_REGION, OKU]
    # These tests send OKI's words from both regions' sources; the pre-filter reads each region's own places
    # (test_regions_deployment.py) and would drop OKU's copies before they reach what is tested here.
    return loaded.model_copy(update={"ingest": loaded.ingest.model_copy(update={"prefilter": False})})


def test_migration_keeps_existing_rows_as_oki_and_goes_back(empty_db: Database) -> None:
    """0012 on a database written by 0011: every row is OKI's, users see every region; down and up again."""
    migrate(empty_db, "0011_laporan_inbox")
    with empty_db.engine.begin() as conn:
        # Rows in 0011's own shape: no region column yet.
        conn.execute(text("INSERT INTO sources (name, kind, enabled, cursor, consecutive_failures, status, "
                          "items_last_run, items_total, rejected_total, calls_today, rate_limit) "
                          "VALUES ('s', 'rss', true, '{}', 0, 'ok', 0, 0, 0, 0, '{}')"))  # fmt: skip
        conn.execute(text("INSERT INTO posts (source_id, platform, external_id, kind, created_at, collected_at, "
                          "content_hash, likes, shares, replies, views, extra, stage) "
                          "VALUES (1, 'rss', 'p1', 'post', :at, :at, 'h', 0, 0, 0, 0, '{}', 'new')"),
                     {"at": datetime(2026, 11, 1, 3, 0)})  # fmt: skip
        conn.execute(text("INSERT INTO agencies (code, name, non_pemkab) VALUES ('pupr', 'Dinas PUPR', false)"))
        conn.execute(text("INSERT INTO users (username, password_hash, role, active, created_at) "
                          "VALUES ('kominfo', 'x', 'comms', true, :at)"), {"at": datetime(2026, 11, 1)})  # fmt: skip
    migrate(empty_db, "0012_regions")
    with empty_db.engine.connect() as conn:
        for table in ("sources", "posts", "agencies"):
            assert conn.scalar(text(f"SELECT region_code FROM {table}")) == "16.02", table
        assert conn.scalar(text("SELECT region_code FROM users")) is None
    issue_indexes = {ix["name"] for ix in inspect(empty_db.engine).get_indexes("issues")}
    assert "ix_issues_region_status" in issue_indexes
    # The same agency code in another regency is a different agency; twice in one regency is refused.
    with empty_db.engine.begin() as conn:
        oku_pupr = {"code": "pupr", "name": "Dinas PUPR OKU", "non_pemkab": False, "region_code": OKU}
        conn.execute(insert(Agency), [oku_pupr])
    with pytest.raises(IntegrityError), empty_db.engine.begin() as conn:
        conn.execute(insert(Agency), [{"code": "pupr", "name": "lagi", "non_pemkab": False, "region_code": OKU}])
    migrate(empty_db, "0011_laporan_inbox", down=True)
    assert "region_code" not in {c["name"] for c in inspect(empty_db.engine).get_columns("posts")}
    with empty_db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM posts")) == 1
        assert conn.execute(text("SELECT code, name FROM agencies")).all() == [("pupr", "Dinas PUPR")]
    with pytest.raises(IntegrityError), empty_db.engine.begin() as conn:  # unique on the code alone again
        conn.execute(text("INSERT INTO agencies (code, name, non_pemkab) VALUES ('pupr', 'x', false)"))
    migrate(empty_db, "head")
    with empty_db.engine.connect() as conn:
        assert conn.scalar(text("SELECT region_code FROM posts")) == "16.02"
    assert empty_db.current_revision() == empty_db.head_revision()


def _item(source: str, n: int, text_: str, at: datetime = NOW) -> RawItem:
    return RawItem(source=source, platform="rss", external_id=f"{source}-{n}", text=text_, created_at=at)


def test_posts_take_their_sources_region(db: Database, deployment: AppConfig, config: AppConfig) -> None:
    ingest_raw(db, deployment, [_item("okinews", 1, "Jalan rusak di Cengal OKI")], NOW, kind="rss")
    ingest_raw(db, deployment, [_item(OKU_SOURCE, 1, "Jalan rusak di Cengal, kata warga")], NOW, kind="rss")
    with db.session() as s:
        regions = dict(s.execute(select(Source.name, Source.region_code)).all())
        assert regions == {"okinews": DEFAULT_REGION, OKU_SOURCE: OKU}
        posts = dict(s.execute(select(Post.external_id, Post.region_code)).all())
        assert posts == {"okinews-1": DEFAULT_REGION, f"{OKU_SOURCE}-1": OKU}
        # The config is the truth: a source stored as OKU's that the one-region config calls OKI's is OKI's again
        # for the posts it brings next; the posts already stored keep their region.
        Ingestor(config).source_row(s, OKU_SOURCE, "googlenews")
    ingest_raw(db, config, [_item(OKU_SOURCE, 2, "Jalan rusak lagi di Cengal")], NOW, kind="rss")
    with db.session() as s:
        posts = dict(s.execute(select(Post.external_id, Post.region_code)).all())
        assert posts[f"{OKU_SOURCE}-1"] == OKU and posts[f"{OKU_SOURCE}-2"] == DEFAULT_REGION


def _classified(db: Database, ids: list[int]) -> None:
    with db.session() as s:
        for pid in ids:
            s.add(label_row(pid, road_label(), NOW))
            s.get_one(Post, pid).stage = "classified"


def test_grouping_never_puts_two_regions_in_one_issue(db: Database, deployment: AppConfig) -> None:
    """The same complaint word for word, in the same kecamatan name, from a source of each region: two issues."""
    config = deployment
    story = "Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar, truk amblas"
    ingest_raw(db, config, [_item("okinews", 1, story)], NOW, kind="rss")
    ingest_raw(db, config, [_item(OKU_SOURCE, 1, story + " ")], NOW + timedelta(minutes=5), kind="rss")
    ingest_raw(db, config, [_item("okinews", 2, story + "!")], NOW + timedelta(minutes=9), kind="rss")
    with db.session() as s:
        ids = list(s.scalars(select(Post.id).order_by(Post.id)))
    _classified(db, ids)
    with db.session() as s:
        grouped, created, _, _ = group_new(s, config, NOW + timedelta(hours=1))
    assert (grouped, created) == (3, 2)
    with db.session() as s:
        rows = s.execute(
            select(Post.region_code, Issue.region_code, Issue.id).join(IssuePost, IssuePost.post_id == Post.id)
            .join(Issue, Issue.id == IssuePost.issue_id)
        ).all()  # fmt: skip
        assert all(post_region == issue_region for post_region, issue_region, _ in rows)
        by_region = {}
        for region, _, issue_id in rows:
            by_region.setdefault(region, set()).add(issue_id)
        assert {r: len(v) for r, v in by_region.items()} == {DEFAULT_REGION: 1, OKU: 1}
        oki_issue, oku_issue = by_region[DEFAULT_REGION].pop(), by_region[OKU].pop()
        # Nor by hand: merging issues of two regions is refused and changes nothing.
        with pytest.raises(ValueError, match="wilayah berbeda"):
            merge_issues(s, oki_issue, [oku_issue], "admin", NOW)
        # Alerts take their issue's region.
        alert = queue_alert(
            s, config, receiver="agency:pupr", kind="first", now=NOW, payload={}, issue_id=oku_issue,
            with_deliveries=False,
        )  # fmt: skip
        assert alert.region_code == OKU
    with db.session() as s:
        assert s.get_one(Issue, oku_issue).status == "open"
        assert s.scalar(select(Alert.region_code)) == OKU


def test_decide_joins_only_candidates_of_the_posts_region() -> None:
    """The pure decision: the closest issue of another region is not a candidate at all."""
    post = PostView(
        topic="infrastruktur", kecamatan="Cengal", desa=None, at=NOW, anchors=frozenset(), region_code=OKU
    )
    other = CandidateView(
        issue_id=7, status="open", topic="infrastruktur", kecamatan="Cengal", desa=None, first_seen=NOW,
        last_seen=NOW, similarity=0.99, near=True,
    )  # fmt: skip
    assert decide(post, [other], Rules()).action == "new"
    same = replace(other, issue_id=8, region_code=OKU)
    decision = decide(post, [other, same], Rules())
    assert (decision.action, decision.issue_id) == ("join", 8)


def test_region_names_prefer_the_config_then_the_national_list() -> None:
    names = region_names(["16.02", OKU, "99.99"], {"16.02": "Kabupaten OKI (config)"})
    assert names["16.02"] == "Kabupaten OKI (config)"
    assert names[OKU] == "Kabupaten Ogan Komering Ulu"
    assert names["99.99"] == "99.99"  # known nowhere: nothing better to show
    assert region_label(None, names) == "Semua wilayah"
    assert region_label("16.74", {}) == "Kota Prabumulih"


def test_agencies_are_mirrored_per_region(db: Database, deployment: AppConfig) -> None:
    from monitor.stages.regions import mirror_agencies

    oku = deployment.deployment_regions()[OKU]
    with db.session() as s:
        assert mirror_agencies(s, deployment) == len(deployment.agencies) + len(oku.agencies)
        assert mirror_agencies(s, deployment) == 0  # nothing changed: nothing written
    with db.session() as s:
        rows = {(r, c): name for r, c, name in s.execute(select(Agency.region_code, Agency.code, Agency.name))}
    assert {c for r, c in rows if r == DEFAULT_REGION} == {a.code for a in deployment.agencies}
    assert {c for r, c in rows if r == OKU} == {a.code for a in oku.agencies}
    assert rows[(OKU, "pupr")] == "Dinas PUPR Ogan Komering Ulu" and rows[(DEFAULT_REGION, "pupr")] == "Dinas PUPR OKI"


def test_scope_spikes_are_per_region(db: Database, config: AppConfig) -> None:
    """A burst in OKU's "Pampangan" is OKU's signal; OKI's quiet kecamatan of the same name stays quiet."""
    from monitor.stages.scopes import scan_scopes
    from monitor.store.models import ScopeCount, Signal

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with db.session() as s:
        for h in range(14 * 24):
            hour = now - timedelta(hours=14 * 24 - h)
            burst = 14 * 24 - h <= 2
            for region in (DEFAULT_REGION, OKU):
                complaints = 25 if burst and region == OKU else (1 if h % 8 == 0 else 0)
                s.add(ScopeCount(hour=hour, topic="bencana", kecamatan="Pampangan", complaints=complaints, posts=1,
                                 region_code=region))  # fmt: skip
    with db.session() as s:
        found = {sig.scope for sig in scan_scopes(s, config, now)}
        stored = set(s.scalars(select(Signal.scope)))
    assert found == stored == {f"{OKU}:bencana:Pampangan"}


# --- each region's pipeline pass on its own: several workers run them at once -----------------


class _RoadReader:
    """Reads every text as a road complaint in Cengal, in any region (a classifier taking a region's gazetteer)."""

    version = "regions-test"

    def predict(self, texts: list[str], gazetteer: object | None = None) -> list[Labels]:
        return [road_label(self.version) for _ in texts]


def _stages(db: Database) -> dict[str, set[str]]:
    with db.session() as s:
        found: dict[str, set[str]] = {}
        for region, stage in s.execute(select(Post.region_code, Post.stage)):
            found.setdefault(region, set()).add(stage)
        return found


def test_a_regions_pipeline_pass_reads_and_writes_only_that_regions_rows(db: Database, deployment: AppConfig) -> None:
    story = "Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar, truk amblas"
    ingest_raw(db, deployment, [_item("okinews", n, f"{story} {n}") for n in range(3)], NOW, kind="rss")
    ingest_raw(db, deployment, [_item(OKU_SOURCE, n, f"{story} {n}") for n in range(3)], NOW, kind="rss")
    report = run_pipeline(db, _RoadReader(), deployment, NOW + timedelta(minutes=5), alert_hook=evaluate, region=OKU)
    assert (report.classified, report.grouped, report.new_issues) == (3, 3, 1)
    assert _stages(db) == {DEFAULT_REGION: {"new"}, OKU: {"grouped"}}, "OKI's posts wait for OKI's own pass"
    with db.session() as s:
        assert list(s.scalars(select(Issue.region_code))) == [OKU]
        assert s.scalar(select(func.count()).select_from(Label)) == 3
    run_pipeline(db, _RoadReader(), deployment, NOW + timedelta(minutes=6), alert_hook=evaluate, region=DEFAULT_REGION)
    assert _stages(db) == {DEFAULT_REGION: {"grouped"}, OKU: {"grouped"}}
    with db.session() as s:
        assert sorted(s.scalars(select(Issue.region_code))) == [OKU, DEFAULT_REGION]
        assert s.scalar(select(func.count()).select_from(Label)) == 6, "no post read twice"


def test_a_regions_alert_pass_decides_only_its_issues_and_each_receiver_hears_once(
    db: Database, deployment: AppConfig
) -> None:
    """Humas (the deployment's receiver) hears of each region's viral issue once, from that region's pass."""
    with db.session() as s:
        oki = make_issue(s, NOW, stage="viral", score=95)
        oku = make_issue(s, NOW, stage="viral", score=95, kecamatan=OKU_KECAMATAN)
        oku.region_code = OKU
    with db.session() as s:
        first = evaluate(s, deployment, NOW, region=OKU)
        assert first and {a.issue_id for a in first} == {oku.id}
        assert {a.region_code for a in first} == {OKU}
    with db.session() as s:
        second = evaluate(s, deployment, NOW, region=DEFAULT_REGION)
        assert second and {a.issue_id for a in second} == {oki.id}
    with db.session() as s:
        assert evaluate(s, deployment, NOW) == [], "the deployment-wide pass finds both decided"
        told = Counter((a.issue_id, a.receiver) for a in s.scalars(select(Alert)))
    assert max(told.values()) == 1
    assert {issue for issue, receiver in told if receiver == "humas"} == {oki.id, oku.id}


def test_two_regions_decide_at_once_and_a_deployment_wide_decision_waits_for_both(
    deployment: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision locks on PostgreSQL: a region's pass holds its own lock and the deployment's shared."""
    import monitor.store.db as store_db

    # Advisory locks are the server's, not a schema's: a key of its own keeps other tests' decisions out.
    monkeypatch.setattr(store_db, "DECISION_LOCK_KEY", 0x4F4B0000 + uuid.uuid4().int % 0xFFFF)
    pg, schema = make_pg_database()
    sessions: list[Session] = []

    def holds(region: str | None) -> bool:
        """Whether a new transaction gets the lock of ``region`` (None: the deployment's) within a second."""
        session = pg.new_session()
        sessions.append(session)
        session.execute(text("SET LOCAL lock_timeout = '1s'"))
        try:
            store_db.lock_decisions(session, region)
        except OperationalError:
            session.rollback()
            return False
        return True

    try:
        assert holds(OKU)
        assert holds(DEFAULT_REGION), "another region's pass decides at the same time"
        assert not holds(OKU), "one region's decisions are taken in turn"
        assert not holds(None), "housekeeping (every region's escalations, digests) waits for the regions' passes"
        for session in sessions:
            session.rollback()
        assert holds(None)
        assert not holds(DEFAULT_REGION), "and a region's pass waits for housekeeping"
    finally:
        for session in sessions:
            session.close()
        pg.dispose()
        drop_pg_schema(schema)


def test_two_workers_run_two_regions_pipeline_passes_at_once(deployment: AppConfig, pg_db: Database) -> None:
    """`oki-monitor worker` plans a pipeline job per region; two workers each hold one's lease at the same time
    and each pass processes its own region's posts."""
    from monitor.service import MonitorService
    from monitor.worker import Worker

    pg = pg_db
    story = "Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar, truk amblas"
    ingest_raw(pg, deployment, [_item("okinews", n, f"{story} {n}") for n in range(4)], NOW, kind="rss")
    ingest_raw(pg, deployment, [_item(OKU_SOURCE, n, f"{story} {n}") for n in range(4)], NOW, kind="rss")
    clock = SimulatedClock(NOW + timedelta(minutes=5))
    engines = [Database(pg.url) for _ in range(2)]
    services = [MonitorService(deployment, e, clock, classifier=_RoadReader()) for e in engines]
    both_running = threading.Barrier(2, timeout=30)
    held: list[set[str]] = []

    def pass_of(service: MonitorService, region: str) -> None:
        both_running.wait()  # each worker is inside its job: both leases are held now
        with pg.session() as s:
            held.append(set(s.scalars(select(JobRun.job_id).where(JobRun.lease_owner.is_not(None)))))
        service.pipeline(region)

    workers = [
        Worker(
            svc,
            jobs=["pipeline:*"],
            functions={f"pipeline:{code}": partial(pass_of, svc, code) for code in deployment.deployment_regions()},
        )
        for svc in services
    ]
    assert set(workers[0].specs) == {f"pipeline:{DEFAULT_REGION}", f"pipeline:{OKU}"}
    workers[0].prepare()
    claims: list[Any] = []
    threads = [threading.Thread(target=lambda w=w: claims.append(w.run_once())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for svc in services:
        svc.close()
    for e in engines:
        e.dispose()
    assert sorted(c.job_id for c in claims) == [f"pipeline:{OKU}", f"pipeline:{DEFAULT_REGION}"]
    assert held == [{f"pipeline:{OKU}", f"pipeline:{DEFAULT_REGION}"}] * 2
    assert _stages(pg) == {DEFAULT_REGION: {"grouped"}, OKU: {"grouped"}}
    with pg.session() as s:
        assert sorted(s.scalars(select(Issue.region_code))) == [OKU, DEFAULT_REGION]


def test_one_process_keeps_one_pipeline_job_and_workers_get_one_per_region(
    deployment: AppConfig, config: AppConfig
) -> None:
    from monitor.domain.jobs import plan_jobs

    def pipelines(cfg: AppConfig, **kw: bool) -> list[str]:
        return [s.job_id for s in plan_jobs(cfg, [], **kw) if s.job_id.startswith("pipeline")]

    assert pipelines(deployment) == ["pipeline"], "`oki-monitor run` passes over every region in one job"
    assert pipelines(deployment, region_pipelines=True) == [f"pipeline:{DEFAULT_REGION}", f"pipeline:{OKU}"]
    assert pipelines(config, region_pipelines=True) == ["pipeline"], "one region: one job, as before"


def test_a_worker_keeps_a_loop_for_collection_while_regions_passes_are_due(
    deployment: AppConfig, pg_db: Database
) -> None:
    """With two loops, a worker runs one region's pass at a time: the other loop is left to other jobs."""
    from monitor.service import MonitorService
    from monitor.worker import Worker

    pg = pg_db
    service = MonitorService(deployment, pg, SimulatedClock(NOW), classifier=_RoadReader())
    inside, leave = threading.Event(), threading.Event()

    def blocked() -> None:
        inside.set()
        leave.wait(30)

    worker = Worker(
        service,
        threads=2,
        jobs=["pipeline:*"],
        functions={f"pipeline:{code}": blocked for code in deployment.deployment_regions()},
    )
    worker.prepare()
    first = threading.Thread(target=worker.run_once, args=(worker.owners[0],))
    first.start()
    try:
        assert inside.wait(30)
        assert worker.run_once(worker.owners[1]) is None, "the second region's pass waits for a free slot"
    finally:
        leave.set()
        first.join(30)
    assert worker.run_once(worker.owners[1]) is not None, "and is run once the first pass is over"
    service.close()
