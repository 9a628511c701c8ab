"""A bridge incident in Desa Bangsal, Kec. Pampangan, replayed through a local X that filters by query.

Issue 18 point 8: the default X query found only posts that named "Pampangan OKI", so most of
the incident ("jembatan gantung di Bangsal putus", no kecamatan) was never fetched. Here the
default queries find the posts that name Pampangan; once the issue is ``naik`` its tracked
query (``(Bangsal OR Pampangan) (jembatan OR gantung OR putus)``) fetches the rest, and when
the issue cools the query goes. Runs on SQLite and PostgreSQL, through ``MonitorService.collect``
(the scheduler's collect job) and ``oki-monitor queries --tracked``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from classifiers.labels import Labels
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig, parse_config
from monitor.service import MonitorService
from monitor.stages.classify import classify_new
from monitor.store.db import Database
from monitor.store.models import Issue, IssueEvent, IssuePost, Label, Post, Source
from tests.platform_replay import replay
from tests.x_search_server import Tweet, XSearch

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SEARCH = "/2/tweets/search/recent"
TOKEN_ENV = "OKI_TEST_X_TOKEN"
ROOT = Path(__file__).resolve().parent.parent

NAMING_PAMPANGAN = [
    "Jembatan gantung Desa Bangsal Kecamatan Pampangan putus, warga terisolasi",
    "Info: jembatan gantung di Pampangan ambruk pagi ini",
]
BANGSAL_ONLY = [
    "Jembatan gantung di Bangsal putus, anak sekolah nyebrang pakai rakit",
    "Sudah dua hari jembatan Bangsal putus, belum ada perbaikan",
    "Warga Bangsal bikin rakit drum karena jembatan gantung putus",
    "Tolong perhatikan jembatan gantung Bangsal, anak-anak tidak bisa sekolah",
]
ELSEWHERE = [
    "Bangsal rumah sakit penuh pasien DBD",  # a ward, not the village: no incident word
    "Jembatan ambruk di Tanjung Raja, Ogan Ilir, jangan lewat dulu",  # the neighbour's look-alike
]


class StubModel:
    """What the shipped model said of these texts (oki-monitor classify): a complaint, not placed in OKI."""

    version = "stub"

    def predict(self, texts: list[str]) -> list[Labels]:
        return [
            Labels(
                relevant="Pampangan" in t, relevance_score=0.3, is_complaint=True, complaint_score=0.9,
                topic="infrastruktur", topic_score=0.9, kecamatan="Pampangan" if "Pampangan" in t else None,
                desa=None, urgent=False, urgency_cues=(), confidence=0.8, needs_triage=False, model_version="stub",
            )
            for t in texts
        ]


def test_incident_place_only_when_the_text_names_it_and_points_nowhere_else() -> None:
    from monitor.stages.tracked_queries import place_from_incident

    model = StubModel()
    incident = {"issue_id": 1, "kecamatan": "Pampangan", "desa": "Bangsal"}
    [bangsal, neighbour, unnamed] = model.predict([
        "Jembatan gantung di Bangsal putus, anak sekolah nyebrang pakai rakit",
        "Jembatan gantung Bangsal putus, arah Tanjung Raja Ogan Ilir macet",
        "Jembatan gantung putus lagi",
    ])
    placed = place_from_incident(bangsal, BANGSAL_ONLY[0], incident)
    assert placed.relevant and (placed.kecamatan, placed.desa) == ("Pampangan", "Bangsal")
    assert place_from_incident(neighbour, "Jembatan gantung Bangsal putus, arah Tanjung Raja Ogan Ilir macet",
                               incident) == neighbour
    assert place_from_incident(unnamed, "Jembatan gantung putus lagi", incident) == unnamed
    assert place_from_incident(bangsal, BANGSAL_ONLY[0], {"issue_id": 1}) == bangsal


def make_config(base_url: str) -> AppConfig:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["sources"] = [
        {
            "name": "x-oki",
            "kind": "x",
            "interval_seconds": 900,
            "token_env": TOKEN_ENV,
            "daily_call_budget": 400,
            "settings": {"base_url": base_url, "token_env": TOKEN_ENV, "max_pages": 3, "first_run_hours": 24},
        }
    ]
    return parse_config(data)


def stored_texts(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(Post.text)))


def rise(db: Database, at: datetime) -> int:
    """The issue the pipeline would have made of the first posts, turning ``naik``."""
    with db.session() as s:
        issue = Issue(
            topic="infrastruktur",
            agency_code="pupr",
            kecamatan="Pampangan",
            desa="Bangsal",
            title="Infrastruktur di Bangsal, Pampangan: jembatan gantung putus",
            status="open",
            stage="naik",
            score=60.0,
            first_seen=at - timedelta(hours=1),
            last_seen=at,
            created_at=at - timedelta(hours=1),
            updated_at=at,
            terms={"w": {"jembatan": 4.0, "gantung": 3.0, "putus": 3.0, "warga": 1.0, "isolasi": 1.0}, "sigs": []},
        )
        s.add(issue)
        s.flush()
        s.add(IssueEvent(issue_id=issue.id, at=at, kind="stage", detail={"from": "baru", "to": "naik"}, actor="sistem"))
        return issue.id


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "test-x-token-queries")
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)


def test_bangsal_posts_are_fetched_once_the_issue_rises(db: Database, env: None) -> None:
    search = XSearch()
    posts = [*NAMING_PAMPANGAN, *BANGSAL_ONLY, *ELSEWHERE]
    for n, text in enumerate(posts, start=1):
        search.add(Tweet(1990000000000000000 + n, text, T0 - timedelta(minutes=60 - n)))
    clock = SimulatedClock(T0)
    with replay() as (server, client):
        server.add("GET", SEARCH, search)
        service = MonitorService(make_config(server.base_url), db, clock, client=client)
        try:
            first = service.collect("x-oki")
            assert first.ok, first.error
            assert stored_texts(db) == set(NAMING_PAMPANGAN), "the defaults find only the posts naming Pampangan"

            issue_id = rise(db, clock.advance(timedelta(minutes=15)))
            before = len(search.queries)
            second = service.collect("x-oki")
            assert second.ok, second.error
            tracked = search.queries[before]
            assert tracked.startswith("(Bangsal OR Pampangan) (jembatan OR gantung OR putus)"), tracked
            assert set(BANGSAL_ONLY) <= stored_texts(db), "the rest of the incident is fetched"
            assert not set(ELSEWHERE) & stored_texts(db), "no look-alike, no hospital ward"
            with db.session() as s:
                extras = {p.text: p.extra for p in s.scalars(select(Post))}
            incident = {"issue_id": issue_id, "kecamatan": "Pampangan", "desa": "Bangsal"}
            assert all(extras[text]["incident"] == incident for text in BANGSAL_ONLY)
            assert all("incident" not in extras[text] for text in NAMING_PAMPANGAN), "fetched before the rise"

            # Classification: the model alone calls "…di Bangsal putus" not OKI ("Bangsal" needs "desa"
            # before it); fetched by the incident's query, it is the incident's place.
            with db.session() as s:
                classified, _kept = classify_new(s, StubModel(), service.config, clock.now())
            assert classified == len(NAMING_PAMPANGAN) + len(BANGSAL_ONLY)
            with db.session() as s:
                rows = s.execute(select(Post, Label).join(Label, Label.post_id == Post.id))
                labels = {p.text: lab for p, lab in rows}
            for text in BANGSAL_ONLY:
                assert labels[text].relevant and (labels[text].kecamatan, labels[text].desa) == ("Pampangan", "Bangsal")

            with db.session() as s:
                row = s.scalar(select(Source).where(Source.name == "x-oki"))
                assert row is not None and tracked in row.cursor["queries"]
                assert row.calls_today <= 3 + 4, "max_pages per run, plus one call for the tracked query"
                issue = s.get(Issue, issue_id)
                assert issue is not None
                issue.stage = "mereda"

            clock.advance(timedelta(minutes=15))
            before = len(search.queries)
            assert service.collect("x-oki").ok
            assert tracked not in search.queries[before:], "a cooled issue is no longer searched"
            with db.session() as s:
                row = s.scalar(select(Source).where(Source.name == "x-oki"))
                assert row is not None and tracked not in row.cursor["queries"]
        finally:
            service.close()


def test_queries_command_prints_defaults_and_tracked(
    sqlite_db: Database, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = str(sqlite_db.engine.url)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    now = datetime.now(UTC)
    rise(sqlite_db, now - timedelta(hours=1))

    assert main(["--config", str(config_path), "queries", "--platform", "x"]) == 0
    out = capsys.readouterr().out
    assert "x-oki" in out and '"Ogan Komering Ilir"' in out and "-is:retweet" in out
    assert "googlenews-oki" not in out

    assert main(["--config", str(config_path), "queries", "--tracked", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tracked = [line for line in lines if line.get("tracked")]
    assert {line["platform"] for line in tracked} == {"x", "googlenews", "reddit", "bluesky"}
    x = next(line for line in tracked if line["platform"] == "x")
    assert x["active"] and x["reason"] == "naik" and x["query"].startswith("(Bangsal OR Pampangan)")

    assert main(["--config", str(config_path), "queries", "--platform", "facebook"]) == 2
    assert "facebook" in capsys.readouterr().err


def test_a_rise_is_dated_by_its_stage_event_and_expires(db: Database, config: AppConfig) -> None:
    from monitor.stages.tracked_queries import EXPIRED, VIRAL, decisions_now

    now = T0 + timedelta(days=3)
    old = rise(db, now - timedelta(hours=50))  # 48 hours is the default expiry
    fresh = rise(db, now - timedelta(hours=30))
    with db.session() as s:
        # naik -> viral is the same rise: it does not restart the clock.
        s.add(IssueEvent(issue_id=fresh, at=now - timedelta(hours=1), kind="stage",
                         detail={"from": "naik", "to": "viral"}, actor="sistem"))
        s.get(Issue, fresh).stage = "viral"  # type: ignore[union-attr]
    with db.session() as s:
        decisions = [d for d in decisions_now(s, config, now) if d.platform == "x"]
    by_issue = {d.issue_id: d for d in decisions}
    assert by_issue[old].reason == EXPIRED and not by_issue[old].active
    assert by_issue[fresh].reason == VIRAL and by_issue[fresh].active
    assert by_issue[fresh].expires_at == now - timedelta(hours=30) + timedelta(hours=48)


class GazetteerModel:
    """A stand-in for the model that places posts the way the gazetteer does ("Bangsal" alone is not OKI)."""

    version = "gazetteer-stub"

    def predict(self, texts: list[str]) -> list[Labels]:
        from classifiers.gazetteer import find_places

        out = []
        for t in texts:
            ev = find_places(t)
            placed = bool(ev.kecamatan) and not ev.neighbour and not ev.confuser
            out.append(
                Labels(
                    relevant=placed, relevance_score=0.9 if placed else 0.2, is_complaint=True, complaint_score=0.9,
                    topic="infrastruktur", topic_score=0.9, kecamatan=ev.kecamatan if placed else None,
                    desa=ev.desa if placed else None, urgent=False, urgency_cues=(), confidence=0.8,
                    needs_triage=False, model_version=self.version,
                )
            )
        return out


def test_the_whole_incident_ends_in_one_issue(sqlite_db: Database, env: None) -> None:
    from monitor.stages.pipeline import run_pipeline

    search = XSearch()
    for n, text in enumerate([*NAMING_PAMPANGAN, *BANGSAL_ONLY], start=1):
        search.add(Tweet(1990000000000000000 + n, text, T0 - timedelta(minutes=60 - n)))
    clock = SimulatedClock(T0)
    model = GazetteerModel()
    with replay() as (server, client):
        server.add("GET", SEARCH, search)
        service = MonitorService(make_config(server.base_url), sqlite_db, clock, classifier=model, client=client)
        try:
            assert service.collect("x-oki").ok
            run_pipeline(sqlite_db, model, service.config, clock.now())
            with sqlite_db.session() as s:
                [issue] = s.scalars(select(Issue)).all()
                assert (issue.kecamatan, issue.desa) == ("Pampangan", "Bangsal")
                issue.stage = "naik"  # what assess decides once the incident spreads
                s.add(IssueEvent(issue_id=issue.id, at=clock.now(), kind="stage",
                                 detail={"from": "baru", "to": "naik"}, actor="sistem"))
                issue_id = issue.id
            clock.advance(timedelta(minutes=15))
            assert service.collect("x-oki").ok
            run_pipeline(sqlite_db, model, service.config, clock.now())
        finally:
            service.close()
    with sqlite_db.session() as s:
        members = {p.text for p in s.scalars(select(Post).join(IssuePost, IssuePost.post_id == Post.id)
                                              .where(IssuePost.issue_id == issue_id))}
        issues = s.scalars(select(Issue.id)).all()
    assert members == {*NAMING_PAMPANGAN, *BANGSAL_ONLY}, "every post of the incident is in its issue"
    assert issues == [issue_id]
