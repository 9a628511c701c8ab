"""Shared data and helpers for the dashboard tests (test_web_*.py, test_browser_*.py)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from alerts.engine import deadlines_payload
from alerts.sla import Clocks, WorkCalendar, deadlines
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import (
    Alert,
    Base,
    Delivery,
    Issue,
    IssuePost,
    Post,
    ScopeCount,
    Signal,
    Source,
    User,
)
from monitor.web import auth
from monitor.web.app import create_app
from monitor.web.auth import hash_password, hash_token
from tests.pipeline_support import complaint_label

# Same algorithm (argon2id), lighter cost: the production cost (~0.5 s a hash here) would make the suite slow.
auth._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
PASSWORD = "kata-sandi-uji-123"
XSS_SCRIPT = "<script>document.title='PWNED'</script> jalan rusak parah"
XSS_IMG = "<img src=x onerror=\"document.title='PWNED2'\"> banjir di desa"
ANALYST_TOKEN = "oki_test-analyst-token-0123456789"
AGENCY_TOKEN = "oki_test-agency-token-0123456789"


@dataclass
class Seeded:
    rising_id: int
    pdam_id: int
    quiet_id: int
    xss_post_ids: list[int]
    plain_post_id: int
    alert_id: int


def seed(db: Database, now: datetime = NOW) -> Seeded:
    """Users of every role, a rising PUPR issue with hostile post text, a PDAM issue, trends."""
    pw = hash_password(PASSWORD)
    with db.session() as s:
        s.add_all(
            [
                User(username="admin", password_hash=pw, role="admin", created_at=now),
                User(username="kominfo", password_hash=pw, role="comms", created_at=now),
                User(
                    username="pupr",
                    password_hash=pw,
                    role="agency",
                    agency_code="pupr",
                    created_at=now,
                    api_token_hash=hash_token(AGENCY_TOKEN),
                ),
                User(username="pdam", password_hash=pw, role="agency", agency_code="pdam", created_at=now),
                User(
                    username="analis",
                    password_hash=pw,
                    role="analyst",
                    created_at=now,
                    api_token_hash=hash_token(ANALYST_TOKEN),
                ),
            ]
        )
        src = Source(name="mastodon-oki", kind="mastodon", enabled=True, cursor={}, items_total=42, items_last_run=3)
        s.add(src)
        s.flush()

        def issue(topic: str, agency: str, kec: str, title: str, stage: str, score: float, eta: float | None) -> Issue:
            row = Issue(
                topic=topic,
                agency_code=agency,
                kecamatan=kec,
                title=title,
                status="open",
                stage=stage,
                score=score,
                p_viral=min(score, 1.0),
                eta_minutes=eta,
                post_count=0,
                author_count=0,
                first_seen=now - timedelta(hours=10),
                last_seen=now - timedelta(minutes=5),
                created_at=now - timedelta(hours=10),
                updated_at=now,
            )
            s.add(row)
            s.flush()
            return row

        rising = issue("infrastruktur", "pupr", "Kayu Agung", "Jalan rusak di Kayu Agung", "naik", 0.91, 95)
        pdam = issue("air_bersih", "pdam", "Pedamaran", "Air PDAM mati di Pedamaran", "baru", 0.35, None)
        quiet = issue("infrastruktur", "pupr", "Jejawi", "Jembatan Jejawi retak", "baru", 0.1, None)
        texts = [(rising, XSS_SCRIPT), (rising, XSS_IMG), (rising, "Jalan Lintas Timur berlubang, mohon diperbaiki")]
        texts += [(rising, f"jalan rusak lagi di kayuagung #{k}") for k in range(6)]
        texts += [(pdam, "Air PDAM mati tiga hari di Pedamaran"), (quiet, "Jembatan di Jejawi retak")]
        posts: list[Post] = []
        for k, (iss, text) in enumerate(texts):
            p = Post(
                source_id=src.id,
                platform="mastodon",
                external_id=f"m{k}",
                url="javascript:alert(1)" if k == 1 else f"https://mastodon.example/@warga/{k}",
                author_key=f"rawhandle_{k}",
                text=text,
                created_at=now - timedelta(hours=9 - k % 9, minutes=k),
                collected_at=now,
                content_hash=f"h{k}",
                likes=10 * k,
                shares=k,
                replies=k,
                views=0,
                stage="grouped",
            )
            posts.append(p)
            file_under(s, iss, p, now)
        for h in range(10):
            s.add(
                Signal(
                    issue_id=rising.id,
                    at=now - timedelta(hours=9 - h),
                    stage="naik" if h > 5 else "baru",
                    score=0.1 * h,
                    mentions=h * h,
                    engagement=10.0 * h * h,
                )
            )
        alert = Alert(
            issue_id=rising.id,
            receiver="pupr",
            agency_code="pupr",
            kind="first",
            stage="naik",
            created_at=now - timedelta(hours=1),
            ack_token="tok-rising",
            payload={},
        )
        s.add(alert)
        s.flush()
        s.add(
            Delivery(
                alert_id=alert.id,
                channel="email",
                recipient="pupr@okikab.example",
                idempotency_key="d1",
                status="sent",
                attempts=1,
                next_attempt_at=now,
                created_at=now,
                sent_at=now,
            )
        )
        for week in range(8):
            for topic, agency, kec, n in (
                ("infrastruktur", "pupr", "Kayu Agung", 3 + week),
                ("air_bersih", "pdam", "Pedamaran", 2),
                ("=cmd|' /C calc'!A0", "pupr", "Jejawi", 1),
            ):
                s.add(
                    ScopeCount(
                        hour=now - timedelta(days=7 * week, hours=3),
                        topic=topic,
                        kecamatan=kec,
                        agency_code=agency,
                        platform="mastodon",
                        posts=n + 1,
                        complaints=n,
                        engagement=float(n * 10),
                    )
                )
        return Seeded(rising.id, pdam.id, quiet.id, [posts[0].id, posts[1].id], posts[2].id, alert.id)


def file_under(s: Session, issue: Issue, post: Post, now: datetime) -> None:
    """Store ``post`` in ``issue`` as the pipeline leaves it: the post, its link to the issue, a sure complaint
    label of the issue's topic, agency and kecamatan, and one more post in the issue's count."""
    s.add(post)
    s.flush()
    s.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=now, post_created_at=post.created_at))
    s.add(
        complaint_label(
            post.id,
            now,
            topic=issue.topic,
            kecamatan=issue.kecamatan,
            agency_code=issue.agency_code,
            model_version="t1",
            score=0.9,
            topic_score=0.8,
        )
    )
    issue.post_count += 1


def viral_flood_issue(now: datetime = NOW) -> Issue:
    """A new viral disaster issue that tops the board (to show the board picks up new rows)."""
    return Issue(
        topic="bencana",
        agency_code="bpbd",
        kecamatan="Cengal",
        title="Banjir rob di Cengal",
        status="open",
        stage="viral",
        score=0.99,
        p_viral=0.99,
        first_seen=now,
        last_seen=now,
        created_at=now,
        updated_at=now,
    )


def tell_agency(db: Database, issue_id: int, agency: str, at: datetime, token: str) -> None:
    """An unanswered first alert that told ``agency`` of the issue at ``at`` (deadlines of 3, 5 and 10 working
    days), as the engine would have stored it."""
    due = deadlines(at, Clocks(3, 5, 10), WorkCalendar(national=False))
    with db.session() as s:
        s.add(
            Alert(
                issue_id=issue_id,
                receiver=f"agency:{agency}",
                agency_code=agency,
                kind="first",
                stage="naik",
                created_at=at,
                ack_token=token,
                respond_due_at=due.respond,
                payload={"deadlines": deadlines_payload(due), "deliver_at": at.isoformat(), "sla_days": 3},
            )
        )


def make_clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def stored_user(db: Database, name: str) -> User:
    """The user ``name`` as stored now, detached from its session."""
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == name))
        assert user is not None
        s.expunge(user)
    return user


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Sign in through the real form (login CSRF cookie included)."""
    page = client.get("/login")
    token = csrf_from(page.text)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client


@contextmanager
def dashboard(config: AppConfig, db: Database, username: str | None = None) -> Iterator[TestClient]:
    """The dashboard app over ``db`` on the tests' clock, signed in through the form as ``username`` (``None``: no
    session)."""
    with TestClient(create_app(config, db, make_clock())) as client:
        if username is not None:
            login(client, username)
        yield client


# Fixtures shared by the dashboard test modules: a module takes one by naming it at its top
# (``client = web_support.client``), as pytest finds fixtures by their names in the test module. Not through
# conftest: importing this module there would put the light password hasher above into every test.


@pytest.fixture
def seeded(sqlite_db: Database) -> Seeded:
    """The dashboard data (``seed``) in the test's own SQLite database."""
    return seed(sqlite_db)


@pytest.fixture
def client(config: AppConfig, sqlite_db: Database, seeded: Seeded) -> Iterator[TestClient]:
    """The app over the seeded database, with no session."""
    with dashboard(config, sqlite_db) as c:
        yield c


@pytest.fixture
def kominfo_env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    """The seeded app signed in as the communications team: (client, the seeded ids, the database)."""
    seeded = seed(sqlite_db)
    with dashboard(config, sqlite_db, "kominfo") as c:
        yield c, seeded, sqlite_db


def every_row(db: Database) -> dict[str, list[str]]:
    """Every row of every table, to show that a request changed nothing at all."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
            for t in Base.metadata.sorted_tables
            if inspect(conn).has_table(t.name)
        }


def action_form_token(html: str) -> str:
    """The token of the confirmation form an e-mail action link opens (the POST that acts)."""
    m = re.search(
        r'<form method="post" action="/alerts/action"[^>]*>\s*<input type="hidden" name="token" value="([^"]+)"', html
    )
    assert m is not None, html
    return m.group(1)


def flash_after(client: TestClient, response: object) -> tuple[str, bool]:
    """Follow a form's 303 and read the one-shot message the landing page shows: (text, is it an error)."""
    import html as html_lib

    assert getattr(response, "status_code", None) == 303, getattr(response, "text", "")[:300]
    page = client.get(response.headers["location"]).text  # type: ignore[attr-defined]
    match = re.search(r'<p id="flash" class="(error|notice)" role="(alert|status)">([^<]*)</p>', page)
    assert match, "no message on the page the form led to"
    assert (match.group(1) == "error") == (match.group(2) == "alert")  # an error is announced as one
    return html_lib.unescape(match.group(3)), match.group(1) == "error"


REASONS = [
    "laju 6 unggahan/jam, 3x di atas garis dasar",
    "tumbuh 40% per jam",
    "9 unggahan dari 9 akun di 1 platform dalam 6 jam",
    "peluang viral 91% dalam 24 jam (terkalibrasi), perkiraan ±1,6 jam lagi",
]


def seed_history(db: Database, s: Seeded, now: datetime = NOW) -> None:
    """What an issue page shows beyond posts, stored as the system stores it: assessment reasons, a stage
    change, alerts of several kinds to an agency and to comms, deliveries by e-mail, Telegram (a chat id)
    and WhatsApp in every status, an acknowledgement, a label correction, answer steps, source quotas.

    The codes here (``escalation``, ``agency:pupr``, ``failed``, ``-1001234567890``, ``limit``) must never
    reach a page as they are.
    """
    from monitor.store.models import IssueEvent

    with db.session() as session:
        # The assessments' reasons (the seed's signals carry none).
        session.execute(update(Signal).where(Signal.issue_id == s.rising_id).values(reasons=REASONS))
        events = [
            ("created", {"post_id": s.plain_post_id}, "sistem", 9),
            ("stage", {"from": "baru", "to": "naik", "reasons": REASONS[:2]}, "sistem", 3),
            ("primary", {"from": "air_bersih", "to": "infrastruktur", "topics": {"infrastruktur": 2.0}}, "sistem", 3),
            ("acknowledged", {"alert_id": 1, "receiver": "agency:pupr"}, "pupr", 2),
            ("label_corrected", {"post": s.plain_post_id, "field": "agency", "value": "pdam"}, "kominfo", 2),
            ("status", {"status": "diproses", "agency": "pupr", "note": "Tim turun", "channel": "telegram"}, "pupr", 1),
            (
                "reroute",
                {"status": "salah_dinas", "agency": "pupr", "to_agency": "pdam", "channel": "dashboard"},
                "pupr",
                1,
            ),
            (
                "snoozed",
                {
                    "status": "diproses",
                    "agency": "pupr",
                    "until": (now + timedelta(days=1)).isoformat(),
                    "note": "menunggu alat",
                    "channel": "api",
                },
                "pupr",
                1,
            ),
            ("merged", {"from": s.quiet_id}, "kominfo", 1),
        ]
        for kind, detail, actor, hours in events:
            session.add(
                IssueEvent(issue_id=s.rising_id, at=now - timedelta(hours=hours), kind=kind, detail=detail, actor=actor)
            )
        for k, (kind, receiver) in enumerate(
            [("escalation", "agency:pupr"), ("update", "agency:pupr"), ("first", "humas"), ("info", "agency:pdam")]
        ):
            alert = Alert(
                issue_id=s.rising_id,
                receiver=receiver,
                agency_code=receiver.removeprefix("agency:"),
                kind=kind,
                stage="naik",
                created_at=now - timedelta(minutes=50 - k),
                ack_token=f"tok-h{k}",
                payload={},
                acknowledged_at=now - timedelta(minutes=20) if k == 0 else None,
                acknowledged_by="pupr" if k == 0 else None,
            )
            session.add(alert)
            session.flush()
            for j, (channel, recipient, status) in enumerate(
                [
                    ("telegram", "-1001234567890", "failed"),
                    ("whatsapp", "6281234567890", "dead"),
                    ("email", "humas@okikab.example", "pending"),
                    ("webhook", "https://hook.example/x", "sent"),
                ]
            ):
                session.add(
                    Delivery(
                        alert_id=alert.id,
                        channel=channel,
                        recipient=recipient,
                        idempotency_key=f"h{k}-{j}",
                        status=status,
                        attempts=j,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        source = session.query(Source).first()
        assert source is not None
        source.rate_limit = {"limit": 450, "remaining": 449, "reset": (now + timedelta(hours=1)).isoformat()}
        session.add(
            Source(
                name="youtube-oki",
                kind="youtube",
                enabled=True,
                cursor={},
                rate_limit={"quota_used": 927, "quota_budget": 9000},
            )
        )


def busy_issue(db: Database, posts: int, now: datetime = NOW) -> int:
    """An open naik issue with ``posts`` posts spread over its last two weeks (a size test's worst case)."""
    with db.session() as session:
        source = session.query(Source).first()
        assert source is not None
        issue = Issue(
            topic="infrastruktur",
            agency_code="pupr",
            kecamatan="Kayu Agung",
            title="Jalan amblas",
            status="open",
            stage="naik",
            score=0.8,
            p_viral=0.6,
            post_count=posts,
            author_count=posts,
            first_seen=now - timedelta(days=14),
            last_seen=now,
            created_at=now - timedelta(days=14),
            updated_at=now,
        )
        session.add(issue)
        session.flush()
        for k in range(posts):
            at = now - timedelta(minutes=(k * 10) % (14 * 24 * 60))
            post = Post(
                source_id=source.id,
                platform="mastodon",
                external_id=f"busy{k}",
                url=f"https://mastodon.example/@w/{k}",
                author_key=f"w{k}",
                text=f"jalan amblas lagi nomor {k}, mohon segera diperbaiki sebelum ada korban",
                created_at=at,
                collected_at=now,
                content_hash=f"busy{k}",
                likes=k % 7,
                shares=k % 3,
                replies=1,
                views=0,
                stage="grouped",
            )
            session.add(post)
            session.flush()
            session.add(
                IssuePost(post_id=post.id, issue_id=issue.id, added_at=now, post_created_at=at, is_spread=k % 3 == 0)
            )
        for h in range(0, 14 * 24, 2):
            session.add(
                Signal(
                    issue_id=issue.id,
                    at=now - timedelta(hours=h),
                    stage="naik",
                    score=50.0,
                    mentions=10,
                    engagement=100.0 + h,
                    reasons=REASONS,
                )
            )
        return issue.id


def many_open_issues(db: Database, n: int, now: datetime = NOW) -> None:
    """``n`` open issues across topics, kecamatan and stages, each with an alert and a few posts in the last day."""
    from classifiers.gazetteer import KECAMATAN

    stages = ("baru", "naik", "viral", "mereda")
    topics = (("infrastruktur", "pupr"), ("air_bersih", "pdam"), ("bencana", "bpbd"))
    with db.session() as session:
        source = session.query(Source).first()
        assert source is not None
        for k in range(n):
            topic, agency = topics[k % 3]
            issue = Issue(
                topic=topic,
                agency_code=agency,
                kecamatan=KECAMATAN[k % len(KECAMATAN)],
                title=f"Keluhan warga nomor {k} tentang {topic} yang belum tertangani",
                status="open",
                stage=stages[k % 4],
                score=float(k % 100),
                p_viral=(k % 10) / 10,
                eta_minutes=30.0 * (k % 5),
                post_count=3,
                author_count=3,
                first_seen=now - timedelta(hours=20),
                last_seen=now,
                created_at=now - timedelta(hours=20),
                updated_at=now,
            )
            session.add(issue)
            session.flush()
            for j in range(3):
                at = now - timedelta(hours=(k + j * 5) % 24)
                post = Post(
                    source_id=source.id,
                    platform="mastodon",
                    external_id=f"many{k}-{j}",
                    text="keluhan",
                    created_at=at,
                    collected_at=now,
                    content_hash=f"many{k}-{j}",
                    stage="grouped",
                )
                session.add(post)
                session.flush()
                session.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=now, post_created_at=at))
            session.add(
                Signal(
                    issue_id=issue.id,
                    at=now,
                    stage=issue.stage,
                    score=issue.score,
                    mentions=3,
                    engagement=10.0,
                    reasons=REASONS,
                )
            )
            session.add(
                Alert(
                    issue_id=issue.id,
                    receiver=f"agency:{agency}",
                    agency_code=agency,
                    kind="first",
                    stage=issue.stage,
                    created_at=now - timedelta(hours=2),
                    ack_token=f"tok-many{k}",
                    payload={},
                )
            )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (for servers that cannot be handed a socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers_health(base: str, proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait until the dashboard that ``proc`` serves answers ``base``/healthz: True, or False once ``proc`` has
    exited or ``seconds`` have passed (a server still starting up refuses or times out, so those are retried)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            return False
        time.sleep(0.2)
