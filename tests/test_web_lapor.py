"""The dashboard's LAPOR! upload (admin and comms): results with rejected rows, refusals, roles, CSRF, and the
issue page showing the Tracking IDs with their links and a status change as a sentence in the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from alerts.engine import evaluate
from classifiers.model import load_classifier
from monitor.kernel.config import AppConfig
from monitor.stages.pipeline import run_pipeline
from monitor.store.db import Database
from monitor.store.models import AuditLog, IssuePost, Post
from monitor.web import routes_lapor
from monitor.web.app import create_app
from tests.lapor_support import ROAD_A as ROAD_A_30
from tests.lapor_support import ROAD_B as ROAD_B_30
from tests.lapor_support import WATER as WATER_30
from tests.lapor_support import csv_bytes, xlsx_bytes
from tests.web_support import NOW, csrf_from, login, make_clock, seed

# The dashboard's clock (tests/web_support.py) is a day before the exports' (tests/lapor_support.py): the same
# tickets, filed a day earlier.
ROAD_A, ROAD_B, WATER = ([*row[:6], "28/11/2026 08:15"] for row in (ROAD_A_30, ROAD_B_30, WATER_30))
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app_db(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[TestClient, Database]]:
    seed(sqlite_db)
    with TestClient(create_app(config, sqlite_db, make_clock())) as client:
        yield client, sqlite_db


def upload(client: TestClient, data: bytes, name: str, kind: str = CSV, csrf: str | None = None) -> tuple[int, str]:
    token = csrf if csrf is not None else csrf_from(client.get("/lapor").text)
    r = client.post("/lapor", data={"csrf_token": token}, files={"berkas": (name, data, kind)})
    return r.status_code, r.text


def lapor_posts(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Post).where(Post.platform == "lapor")) or 0


def test_comms_uploads_an_export_and_sees_rows_rejected(app_db: tuple[TestClient, Database]) -> None:
    client, db = app_db
    login(client, "kominfo")
    page = client.get("/lapor")
    assert page.status_code == 200 and 'href="/lapor"' in page.text and "Belum ada." in page.text
    bad = ["4210077", "Judul", "=cmd|' /C calc'!A0", "", "", "", "2026-11-28"]
    status, html = upload(client, csv_bytes([ROAD_A, bad, WATER], sep=";"), "lapor-november.csv")
    assert status == 200
    assert (
        "lapor-november.csv: 3 baris, 2 laporan terbaca: 2 baru, 0 sudah ada, 0 berubah status; 1 baris ditolak" in html
    )
    assert "baris 3: kolom isi diawali" in html and "rumus" in html
    assert lapor_posts(db) == 2
    # The same export again (as XLSX this time): nothing new.
    status, html = upload(client, xlsx_bytes([ROAD_A, WATER]), "lapor-november.xlsx", XLSX)
    assert status == 200 and "2 laporan terbaca: 0 baru, 2 sudah ada" in html
    assert lapor_posts(db) == 2
    assert "lapor-november.xlsx" in client.get("/lapor").text  # listed among the imported files
    with db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "lapor_import")).all()
    assert [a.actor for a in audit] == ["kominfo", "kominfo"] and audit[0].detail["stored"] == 2


def test_refusals_roles_and_csrf(app_db: tuple[TestClient, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    client, db = app_db
    login(client, "pupr")  # an agency user
    assert client.get("/lapor").status_code == 403
    client.cookies.clear()
    login(client, "analis")
    assert client.get("/lapor").status_code == 403
    client.cookies.clear()
    login(client, "admin")
    status, _ = upload(client, csv_bytes([ROAD_A]), "e.csv", csrf="salah")
    assert status == 403
    status, html = upload(client, b"%PDF-1.5 bukan ekspor", "laporan.xlsx", XLSX)
    assert status == 422 and "laporan.xlsx: ditolak" in html and "bukan berkas CSV atau XLSX" in html
    monkeypatch.setattr(routes_lapor, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(routes_lapor, "FORM_OVERHEAD", 0)
    status, html = upload(client, csv_bytes([ROAD_A] * 3) + b"x" * 2000, "besar.csv")
    assert status == 413 and "terlalu besar" in html
    assert lapor_posts(db) == 0


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/lapor", {}),  # imported
        ("/lapor", {"wilayah": "9999"}),  # refused after the form is read: no such region
        ("/issues/1/split", {"post_id": "1"}),  # a file part where the form expects none
        ("/triage/1", {"relevant": "1"}),
    ],
)
def test_every_uploaded_form_file_is_closed_after_the_request(
    app_db: tuple[TestClient, Database], monkeypatch: pytest.MonkeyPatch, path: str, fields: dict[str, str]
) -> None:
    """The routes that read the multipart form themselves close its files, on success and on a refusal.

    Starlette spools each file part to a SpooledTemporaryFile; closed only by whoever read the form (the
    request never does), an open one stays until the garbage collector finds it and warns. Checked on the
    uploads themselves, not on the warning, which the collector may raise during any later test.
    """
    uploads: list[UploadFile] = []
    parse = MultiPartParser.parse

    async def recording(self: MultiPartParser) -> object:
        form = await parse(self)
        uploads.extend(value for _, value in form.multi_items() if isinstance(value, UploadFile))
        return form

    monkeypatch.setattr(MultiPartParser, "parse", recording)
    client, _ = app_db
    login(client, "admin")
    token = csrf_from(client.get("/lapor").text)
    r = client.post(
        path, data={"csrf_token": token, **fields}, files={"berkas": ("e.csv", csv_bytes([ROAD_A]), CSV)}
    )
    assert r.status_code < 500
    assert len(uploads) == 1 and uploads[0].file.closed


def test_issue_page_links_tickets_and_tells_a_status_change(
    app_db: tuple[TestClient, Database], config: AppConfig
) -> None:
    client, db = app_db
    login(client, "kominfo")
    assert upload(client, csv_bytes([ROAD_A, ROAD_B]), "november.csv")[0] == 200
    run_pipeline(db, load_classifier(), config, NOW + timedelta(minutes=1), alert_hook=evaluate)
    changed = [*ROAD_B[:5], "Selesai", ROAD_B[6]]
    status, html = upload(client, csv_bytes([ROAD_A, changed]), "desember.csv")
    assert status == 200 and "1 berubah status" in html
    with db.session() as s:
        issue_id = s.scalar(
            select(IssuePost.issue_id).join(Post, Post.id == IssuePost.post_id).where(Post.external_id == "4210002")
        )
    assert issue_id is not None
    page = client.get(f"/issues/{issue_id}").text
    section = page[page.index('id="lapor-tickets"') :]
    section = section[: section.index("</section>")]
    assert 'href="https://www.lapor.go.id/pengaduan/4210001"' in section
    assert 'href="https://www.lapor.go.id/pengaduan/4210002"' in section and "Selesai" in section
    assert "Riwayat status: Belum Terverifikasi → Selesai (" in section
    assert "Status laporan LAPOR! #4210002 berubah dari “Belum Terverifikasi” menjadi “Selesai”." in page
    assert "lapor_status" not in page
    api = client.get(f"/api/issues/{issue_id}").json()
    assert [(t["tracking_id"], t["url"], t["status"]) for t in api["lapor"]] == [
        ("4210001", "https://www.lapor.go.id/pengaduan/4210001", "Belum Terverifikasi"),
        ("4210002", "https://www.lapor.go.id/pengaduan/4210002", "Selesai"),
    ]
