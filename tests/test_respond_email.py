"""The agency answers from an alert e-mail (real SMTP): each step's link opens a page that changes nothing;
its POST, with the note (or the agency picked), does."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts import respond
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, Silence
from monitor.web.app import create_app
from tests.telegram_server import mailed_alert
from tests.web_support import NOW, action_form_token, every_row, make_clock


def _links(mail_html: str) -> dict[str, str]:
    """Link text → path of every signed action link in the e-mail."""
    found = re.findall(r'<a href="([^"]*/alerts/action/[^"]+)"[^>]*>([^<]+)</a>', mail_html)
    return {text: urlsplit(url).path for url, text in found}


def test_email_steps_act_only_on_the_pages_post(
    config: AppConfig, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, issue_id, mail_html = mailed_alert(sqlite_db, config, monkeypatch, NOW, agency_code="pupr")
    links = _links(mail_html)
    for label in ("Terima", "Diproses", "Selesai", "Salah dinas", "Bukan keluhan", "Tunda 24 jam"):
        assert label in links, (label, sorted(links))

    with TestClient(create_app(cfg, sqlite_db, make_clock())) as client:
        before = every_row(sqlite_db)
        pages = {label: client.get(path) for label, path in links.items()}
        assert all(r.status_code == 200 for r in pages.values())
        assert every_row(sqlite_db) == before, "a mail scanner opening every link changes nothing"
        token = {label: action_form_token(r.text) for label, r in pages.items()}
        assert 'name="note"' in pages["Diproses"].text and "Dinas Sosial OKI" in pages["Salah dinas"].text

        r = client.post("/alerts/action", data={"token": token["Diproses"], "note": " "})
        assert r.status_code == 422 and "catatan wajib diisi" in r.text and 'name="note"' in r.text
        assert every_row(sqlite_db) == before
        r = client.post("/alerts/action", data={"token": token["Diproses"], "note": "Tim PUPR ke lokasi"})
        assert r.status_code == 200 and "Diproses dicatat" in r.text
        r = client.post("/alerts/action", data={"token": token["Tunda 24 jam"], "note": "Menunggu alat berat"})
        assert r.status_code == 200 and "ditunda" in r.text
        r = client.post("/alerts/action", data={"token": token["Salah dinas"], "agency": "Dinas Sosia"})
        assert r.status_code == 422 and "tidak dikenal" in r.text
        r = client.post(
            "/alerts/action", data={"token": token["Salah dinas"], "agency": "Dinas Sosial OKI", "note": "bansos"}
        )
        assert r.status_code == 200 and "Dinas Sosial OKI" in r.text
        # The old agency's links no longer act.
        r = client.post("/alerts/action", data={"token": token["Selesai"], "note": "beres"})
        assert r.status_code == 400 and "sudah dialihkan ke Dinas Sosial OKI" in r.text

    with sqlite_db.session() as s:
        steps = [(h.kind, h.status, h.channel, h.note) for h in respond.history(s, issue_id)]
        assert steps[1:] == [
            ("status", "diterima", "email", None),
            ("status", "diproses", "email", "Tim PUPR ke lokasi"),
            ("snoozed", "diproses", "email", "Menunggu alat berat"),
            ("rerouted", "salah_dinas", "email", "bansos"),
            ("assigned", "belum_ditanggapi", "email", None),
        ]
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.agency_code == "dinsos"
        assert s.scalars(select(Silence)).one().comment == "Menunggu alat berat"
        assert (
            s.scalars(select(Alert).where(Alert.receiver == "agency:dinsos")).one().payload["reroute"]["note"]
            == "bansos"
        )
