"""Shared data and helpers for the dashboard tests (test_web_*.py, test_browser_*.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from monitor.kernel.clock import SimulatedClock
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue, IssuePost, Label, Post, ScopeCount, Signal, Source
from monitor.web import auth
from monitor.web.auth import hash_password, hash_token

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
        from monitor.store.models import User

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
            s.add(p)
            s.flush()
            posts.append(p)
            s.add(IssuePost(post_id=p.id, issue_id=iss.id, added_at=now, post_created_at=p.created_at))
            s.add(
                Label(
                    post_id=p.id,
                    model_version="t1",
                    relevant=True,
                    relevance_score=0.9,
                    is_complaint=True,
                    complaint_score=0.9,
                    topic=iss.topic,
                    topic_score=0.8,
                    agency_code=iss.agency_code,
                    kecamatan=iss.kecamatan,
                    confidence=0.8,
                    created_at=now,
                )
            )
            iss.post_count += 1
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


def make_clock() -> SimulatedClock:
    return SimulatedClock(NOW)


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


def flash_after(client: TestClient, response: object) -> tuple[str, bool]:
    """Follow a form's 303 and read the one-shot message the landing page shows: (text, is it an error)."""
    import html as html_lib

    assert getattr(response, "status_code", None) == 303, getattr(response, "text", "")[:300]
    page = client.get(response.headers["location"]).text  # type: ignore[attr-defined]
    match = re.search(r'<p id="flash" class="(error|notice)" role="(alert|status)">([^<]*)</p>', page)
    assert match, "no message on the page the form led to"
    assert (match.group(1) == "error") == (match.group(2) == "alert")  # an error is announced as one
    return html_lib.unescape(match.group(3)), match.group(1) == "error"
