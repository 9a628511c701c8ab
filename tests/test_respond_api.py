"""The agency's answer through the API and the apply step (alerts.respond), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts import respond
from monitor.domain.response import Refusal
from monitor.kernel.config import AppConfig
from monitor.store import ledger
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue, IssueEvent, IssueResponse, LabelCorrection, Silence, User
from monitor.web.app import create_app
from monitor.web.auth import hash_password, hash_token
from tests.web_support import AGENCY_TOKEN, ANALYST_TOKEN, NOW, Seeded, csrf_from, flash_after, login, make_clock, seed

COMMS_TOKEN = "oki_test-comms-token-0123456789"
DINSOS_TOKEN = "oki_test-dinsos-token-0123456789"


def _add_users(db: Database) -> None:
    with db.session() as s:
        s.add_all(
            [
                User(
                    username="humas",
                    password_hash=hash_password("x" * 12),
                    role="comms",
                    created_at=NOW,
                    api_token_hash=hash_token(COMMS_TOKEN),
                ),
                User(
                    username="dinsos",
                    password_hash=hash_password("x" * 12),
                    role="agency",
                    agency_code="dinsos",
                    created_at=NOW,
                    api_token_hash=hash_token(DINSOS_TOKEN),
                ),
            ]
        )


@pytest.fixture
def env(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    seeded = seed(sqlite_db)
    _add_users(sqlite_db)
    with TestClient(create_app(config, sqlite_db, make_clock())) as c:
        yield c, seeded, sqlite_db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_status_walk_through_the_api(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    url = f"/api/issues/{s.rising_id}/status"
    r = client.post(url, json={"status": "diterima"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 200, r.text
    assert r.json()["response_status"] == "diterima" and r.json()["response_label"] == "Diterima"
    r = client.post(url, json={"status": "diproses", "note": "Tim ke lokasi"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 200 and r.json()["history"][-1]["note"] == "Tim ke lokasi"
    r = client.post(
        url,
        json={"status": "selesai", "note": "Sudah ditambal", "evidence_url": "https://okikab.example/foto.jpg"},
        headers=bearer(AGENCY_TOKEN),
    )
    assert r.status_code == 200, r.text
    steps = [(h["status"], h["actor"], h["channel"]) for h in r.json()["history"]]
    assert steps == [("diterima", "pupr", "api"), ("diproses", "pupr", "api"), ("selesai", "pupr", "api")]
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        assert issue is not None and issue.status == "resolved" and issue.acknowledged_by == "pupr"
        alert = session.get(Alert, s.alert_id)
        assert alert is not None and alert.acknowledged_at is not None, "acknowledging stops escalation"
        kinds = [e.kind for e in session.scalars(select(IssueEvent).where(IssueEvent.issue_id == s.rising_id))]
        assert kinds.count("status") == 3, "every step is in the issue's timeline"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"status": "beres"}, "status", "tidak dikenal"),
        ({"note": "x"}, "status", "wajib"),
        ({"status": "diproses"}, "note", "wajib"),
        ({"status": "diproses", "note": 5}, "note", "teks"),
        ({"status": "selesai", "note": "ok", "evidence_url": "ftp://x"}, "evidence_url", "http"),
    ],
)
def test_bad_status_is_422_naming_the_field(
    env: tuple[TestClient, Seeded, Database], body: dict[str, object], field: str, words: str
) -> None:
    client, s, _db = env
    r = client.post(f"/api/issues/{s.rising_id}/status", json=body, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422
    assert r.json()["field"] == field and r.json()["detail"].startswith(f"{field}:") and words in r.json()["detail"]


def test_not_json_is_422(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    r = client.post(f"/api/issues/{s.rising_id}/status", content=b"[1]", headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422 and "objek JSON" in r.json()["detail"]


def test_another_agencys_issue_is_404_and_analyst_403(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    for path, body in (
        ("status", {"status": "diterima"}),
        ("reroute", {"agency": "dinsos"}),
        ("snooze", {"hours": 24, "note": "x"}),
    ):
        r = client.post(f"/api/issues/{s.pdam_id}/{path}", json=body, headers=bearer(AGENCY_TOKEN))
        assert r.status_code == 404, (path, r.text)
        r = client.post(f"/api/issues/{s.rising_id}/{path}", json=body, headers=bearer(ANALYST_TOKEN))
        assert r.status_code == 403
    with db.session() as session:
        assert session.scalars(select(IssueResponse)).all() == []


def test_comms_may_answer_any_issue(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    r = client.post(f"/api/issues/{s.pdam_id}/status", json={"status": "diterima"}, headers=bearer(COMMS_TOKEN))
    assert r.status_code == 200 and r.json()["history"][-1]["actor"] == "humas"


def test_reroute_by_name_moves_the_issue_and_tells_the_new_agency(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    client.post(f"/api/issues/{s.rising_id}/status", json={"status": "diterima"}, headers=bearer(AGENCY_TOKEN))
    r = client.post(
        f"/api/issues/{s.rising_id}/reroute",
        json={"agency": "Dinas Sosial OKI", "note": "Ini soal bansos"},
        headers=bearer(AGENCY_TOKEN),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["agency_code"] == "dinsos" and out["response_status"] == "belum_ditanggapi"
    assert [(h["kind"], h["status"], h["agency_code"]) for h in out["history"][-2:]] == [
        ("rerouted", "salah_dinas", "pupr"),
        ("assigned", "belum_ditanggapi", "dinsos"),
    ]
    # The old agency no longer sees it; the new one does, with the history.
    assert client.get(f"/api/issues/{s.rising_id}", headers=bearer(AGENCY_TOKEN)).status_code == 404
    r = client.post(
        f"/api/issues/{s.rising_id}/status", json={"status": "diproses", "note": "Didata"}, headers=bearer(DINSOS_TOKEN)
    )
    assert r.status_code == 200 and len(r.json()["history"]) == 5
    with db.session() as session:
        new = session.scalars(select(Alert).where(Alert.issue_id == s.rising_id, Alert.receiver == "agency:dinsos"))
        alert = new.one()
        assert alert.kind == "first" and alert.payload["reroute"]["from_agency"] == "pupr"
        assert alert.payload["reroute"]["note"] == "Ini soal bansos"
        channels = {d.channel for d in session.scalars(select(Delivery).where(Delivery.alert_id == alert.id))}
        assert channels == {"email", "telegram"}
        old = session.get(Alert, s.alert_id)
        assert old is not None and old.payload.get("rerouted_to") == "dinsos", "the old agency's clock stops"


def test_reroute_refusals_are_422(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    url = f"/api/issues/{s.rising_id}/reroute"
    r = client.post(url, json={"agency": "Dinas Sosial"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422 and r.json()["field"] == "agency" and "tidak dikenal" in r.json()["detail"]
    r = client.post(url, json={"agency": "pupr"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422 and r.json()["field"] == "agency"


def test_snooze_mutes_the_issue_for_a_while(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    url = f"/api/issues/{s.rising_id}/snooze"
    r = client.post(url, json={"hours": 100, "note": "x"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422 and r.json()["field"] == "hours"
    r = client.post(url, json={"hours": 24}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = client.post(url, json={"hours": 72, "note": "Menunggu alat berat"}, headers=bearer(AGENCY_TOKEN))
    assert r.status_code == 200, r.text
    assert r.json()["history"][-1]["kind"] == "snoozed" and r.json()["response_status"] == "belum_ditanggapi"
    with db.session() as session:
        silence = session.scalars(select(Silence)).one()
        assert silence.matchers == {"issue_id": [str(s.rising_id)]} and silence.comment == "Menunggu alat berat"
        assert silence.ends_at == make_clock().now() + timedelta(hours=72)


# ---------------------------------------------------------------- the apply step on both databases


def test_apply_steps_on_both_databases(db: Database, config: AppConfig) -> None:
    seeded = seed(db)
    now = NOW
    with db.session() as session:
        issue = session.get(Issue, seeded.rising_id)
        assert issue is not None
        ledger.record_assigned(session, issue, now - timedelta(hours=1))
        ledger.record_assigned(session, issue, now)  # once per agency
        respond.set_status(session, config, issue, "diterima", None, actor="pupr", channel="dashboard", now=now)
        respond.set_status(session, config, issue, "diterima", None, actor="pupr", channel="dashboard", now=now)
        with pytest.raises(respond.RespondError) as err:
            respond.set_status(session, config, issue, "selesai", "", actor="pupr", channel="dashboard", now=now)
        assert err.value.field == "note"
        respond.reroute(session, config, issue, "dinsos", None, actor="pupr", channel="telegram", now=now)
        respond.set_status(
            session, config, issue, "bukan_keluhan", "Ucapan terima kasih", actor="dinsos", channel="email", now=now
        )
        assert issue.status == "closed" and issue.response_status == "bukan_keluhan"
    with db.session() as session:
        rows = respond.history(session, seeded.rising_id)
        assert [(r.kind, r.status, r.agency_code, r.channel) for r in rows] == [
            ("assigned", "belum_ditanggapi", "pupr", "sistem"),
            ("status", "diterima", "pupr", "dashboard"),
            ("rerouted", "salah_dinas", "pupr", "telegram"),
            ("assigned", "belum_ditanggapi", "dinsos", "telegram"),
            ("status", "bukan_keluhan", "dinsos", "email"),
        ]
        assert rows[2].to_agency == "dinsos"
        corrections = session.scalars(select(LabelCorrection).where(LabelCorrection.field == "is_complaint")).all()
        assert corrections and all(c.value == "false" and c.source == "email" for c in corrections)


# ---------------------------------------------------------------- dashboard forms and silences


def test_issue_page_buttons_walk_the_loop(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    client.follow_redirects = False
    login(client, "pupr")
    page = client.get(f"/issues/{s.rising_id}").text
    for form in ("ack-button", "form-diproses", "form-selesai", "form-bukan-keluhan", "form-reroute", "form-snooze"):
        assert f'id="{form}"' in page, form
    assert 'value="Dinas Sosial OKI"' in page and 'value="Dinas PUPR OKI"' not in page, "picker by name, not itself"
    token = csrf_from(page)
    r = client.post(
        f"/issues/{s.rising_id}/status",
        data={"csrf_token": token, "status": "diproses", "note": ""},
        follow_redirects=False,
    )
    text, error = flash_after(client, r)
    assert error and text.startswith("Gagal") and "note" in text
    r = client.post(
        f"/issues/{s.rising_id}/status", data={"csrf_token": token, "status": "diproses", "note": "Tim ke lokasi"}
    )
    assert flash_after(client, r) == ("Tanggapan dicatat.", False)
    page = client.get(f"/issues/{s.rising_id}").text
    assert "Diproses" in page and "Tim ke lokasi" in page and 'id="ack-button"' not in page
    board = client.get("/").text
    row = board.split(f'data-issue="{s.rising_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Diproses" in row, "the board shows the answer"
    r = client.post(f"/issues/{s.rising_id}/status", data={"status": "selesai", "note": "x"})
    assert r.status_code == 403, "CSRF as the other forms"
    r = client.post(
        f"/issues/{s.rising_id}/reroute", data={"csrf_token": token, "agency": "Dinas Sosial OKI", "note": "bansos"}
    )
    assert r.status_code == 200 and "dialihkan ke Dinas Sosial OKI" in r.text
    assert client.get(f"/issues/{s.rising_id}").status_code == 404
    client.cookies.clear()
    login(client, "kominfo")
    page = client.get(f"/issues/{s.rising_id}").text
    history = page.split('id="response-history"', 1)[1].split("</ol>", 1)[0]
    for said in ("Diterima", "Diproses", "Tim ke lokasi", "Salah dinas: dialihkan ke Dinas Sosial OKI", "bansos"):
        assert said in history, said
    assert "WIB" in history and "oleh pupr" in history
    with db.session() as session:
        issue = session.get(Issue, s.rising_id)
        assert issue is not None and issue.agency_code == "dinsos"


def test_comms_silences_created_listed_and_ended(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, db = env
    client.follow_redirects = False
    login(client, "pupr")
    assert client.get("/silences").status_code == 403
    client.cookies.clear()
    login(client, "kominfo")
    page = client.get("/silences").text
    token = csrf_from(page)
    r = client.post(
        "/silences",
        data={
            "csrf_token": token,
            "topic": "infrastruktur",
            "kecamatan": "Jejawi",
            "hours": "24",
            "note": "Dijadwalkan",
        },
    )
    assert flash_after(client, r) == ("Pembisuan dibuat.", False)
    r = client.post(
        "/silences",
        data={"csrf_token": token, "topic": "infrastruktur", "hours": "24", "note": ""},
        follow_redirects=False,
    )
    assert flash_after(client, r)[0].startswith("Gagal: note:")
    r = client.post(
        "/silences", data={"csrf_token": token, "source": "mastodon-oki", "hours": "72", "note": "Perawatan"}
    )
    assert flash_after(client, r) == ("Pembisuan dibuat.", False)
    active = client.get("/silences").text.split('id="silences-active"', 1)[1].split("</table>", 1)[0]
    assert "topik infrastruktur × kecamatan Jejawi" in active and "sumber mastodon-oki" in active
    with db.session() as session:
        first = session.scalars(select(Silence).order_by(Silence.id)).first()
        assert first is not None and first.matchers == {"topic": ["infrastruktur"], "kecamatan": ["Jejawi"]}
        first_id = first.id
    r = client.post(f"/silences/{first_id}/end", data={"csrf_token": token})
    assert r.status_code == 303
    active = client.get("/silences").text.split('id="silences-active"', 1)[1].split("</table>", 1)[0]
    assert "Jejawi" not in active and "mastodon-oki" in active


# ---------------------------------------------------------------- silences as the alert engine reads them


def test_comms_silences_mute_what_they_name(db: Database, config: AppConfig) -> None:
    from alerts.engine import evaluate
    from alerts.source_health import check
    from monitor.domain.response import decide_silence
    from monitor.store.models import Post, Source
    from tests.telegram_server import alert_config, make_issue

    cfg = alert_config(config)
    now = NOW
    with db.session() as s:
        road = make_issue(s, now, kecamatan="Jejawi", agency_code="pupr")
        other = make_issue(s, now, kecamatan="Cengal", agency_code="pupr", title="Jalan rusak di Cengal")
        src = Source(name="antara-sumsel", kind="rss", enabled=True, cursor={})
        s.add(src)
        s.flush()
        for k in range(30):
            at = now - timedelta(hours=12) + timedelta(minutes=15 * k)
            s.add(
                Post(
                    source_id=src.id,
                    platform="rss",
                    external_id=f"n{k}",
                    created_at=at,
                    collected_at=at,
                    content_hash=f"n{k}",
                )
            )
        for args in (("infrastruktur", "Jejawi", ""), ("", "", "antara-sumsel")):
            rule = decide_silence(
                *args,
                24,
                "Perbaikan dijadwalkan",
                topics=["infrastruktur"],
                kecamatan_names=["Jejawi", "Cengal"],
                sources=["antara-sumsel"],
            )
            assert not isinstance(rule, Refusal)
            s.add(Silence(matchers=rule.matchers, starts_at=now, ends_at=now + timedelta(hours=24), comment=rule.note))
        s.flush()
        told = {a.issue_id for a in evaluate(s, cfg, now)}
        assert other.id in told and road.id not in told, (
            "topic x kecamatan silence holds; the source silence is no issue's"
        )
        assert check(s, cfg, now + timedelta(hours=6)) == [], "the silenced source's health alert is muted"
