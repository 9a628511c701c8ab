"""Several regions in one dashboard: a user of one region sees nothing of another, on every page and API
endpoint (SQLite and PostgreSQL); analysts compare regions on the trends page and API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from classifiers.region import NATIONAL_LIST
from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, IssueEvent, LabelCorrection, Post, Silence, Source, User
from monitor.web import (
    routes_api,
    routes_kinerja,
    routes_lapor,
    routes_map,
    routes_pages,
    routes_respond,
    routes_triage,
)
from monitor.web.app import create_app
from tests.lapor_support import csv_bytes
from tests.region_support import (
    OKI_SILENCE_NOTE,
    OKU,
    OKU_AGENCY_TOKEN,
    OKU_KECAMATAN,
    OKU_MARK,
    OkuSeeded,
    seed_oku,
    seed_silences_and_queues,
    two_region_config,
)
from tests.web_support import NOW, Seeded, csrf_from, login, make_clock, seed

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")

OKI_MARKS = (
    "Jalan rusak di Kayu Agung",
    "Air PDAM mati",
    "Jembatan Jejawi retak",
    "Jalan Lintas Timur berlubang",
    "jalan rusak lagi di kayuagung",
    "PWNED",
)
"""Titles and post texts of OKI's (16.02) seeded data: never shown to a user of 16.01."""
OKI_PLACES = ("Kayu Agung", "Pedamaran", "Jejawi")
"""OKI's kecamatan in its trend rows: never in a 16.01 user's data files (pages list them as filter choices)."""
SKIPPED = {"/alerts/action/{signed}", "/whatsapp/webhook", "/login"}
"""GET routes that show no stored data to a signed-in user (a signed one-click link, a webhook, the login form)."""


def get_routes() -> list[str]:
    """Every GET route of the dashboard and API, from the routers themselves: a new one is walked too."""
    routers = (
        routes_pages.router,
        routes_api.router,
        routes_respond.api,
        routes_respond.pages,
        routes_triage.pages,
        routes_triage.api,
        routes_map.pages,
        routes_map.api,
        routes_kinerja.pages,
        routes_kinerja.api,
        routes_lapor.pages,
    )
    return sorted(
        {r.path for router in routers for r in router.routes if isinstance(r, APIRoute) and "GET" in r.methods}
        - SKIPPED
    )


@pytest.fixture(scope="module")
def deployment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_region_config(tmp_path_factory.mktemp("deployment"))


@pytest.fixture(scope="module")
def three_region_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two regions and Kota Bandung (32.73), a region outside Sumatera Selatan: written once for the module
    (each `init` reads the national list), read by each test that needs it."""
    from monitor.cli import main

    folder = tmp_path_factory.mktemp("three-regions")
    three = two_region_config(folder)
    assert main(["init", "--region", "32.73", "--output", str(folder / "regions" / "32.73.yaml")]) == 0
    text = three.read_text(encoding="utf-8").replace("[regions/16.01.yaml]", "[regions/16.01.yaml, regions/32.73.yaml]")
    three.write_text(text, encoding="utf-8")
    return three


@pytest.fixture
def env(
    deployment_file: Path, config: AppConfig, db: Database
) -> Iterator[tuple[Any, Seeded, OkuSeeded, Database, AppConfig]]:
    deployment = load_config(deployment_file)  # after `config` set the author key
    oki, oku = seed(db), seed_oku(db)
    seed_silences_and_queues(db, oki, oku)
    yield create_app(deployment, db, make_clock()), oki, oku, db, deployment


def _urls(path: str, oki: Seeded) -> list[str]:
    """The URLs that exercise one GET route: its path parameters filled with OKI's rows, files in each format."""
    unknown = set(re.findall(r"{(\w+)}", path)) - {"issue_id", "code"}
    assert not unknown, f"{path}: teach this test what to put in {unknown}"
    urls = [path.replace("{code}", "pupr").replace("{issue_id}", str(i)) for i in (oki.rising_id, oki.pdam_id)]
    urls = list(dict.fromkeys(urls))
    extra: dict[str, list[str]] = {
        "/trends": ["/trends?start=2026-01-01&view=agency", "/trends?view=region", "/trends?bucket=hour"],
        "/trends/export": ["/trends/export?format=xlsx&start=2026-01-01"],
        "/api/trends": [f"/api/trends?dimension={d}&start=2026-01-01" for d in ("region", "kecamatan", "agency")],
        "/api/export": ["/api/export?format=csv&start=2026-01-01", "/api/export?format=xlsx"],
        "/api/posts": [f"/api/posts?issue_id={oki.rising_id}&limit=1000"],
        "/api/posts/export": [f"/api/posts/export?issue_id={oki.rising_id}", "/api/posts/export?format=xlsx"],
        "/api/agencies/performance": ["/api/agencies/performance?format=csv&from=2026-01-01"],
        "/api/map": ["/api/map?status=semua&level=desa"],
        "/peta": ["/peta?status=semua"],
        "/kinerja": ["/kinerja?from=2026-01-01"],
        "/api/issues": ["/api/issues?limit=500&status=open"],
    }
    return urls + extra.get(path, [])


def _body(r: Any) -> str:
    """What a response shows: its text, or the cell text of a workbook."""
    if r.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(r.content), read_only=True)
        return "\n".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row)
    return str(r.text)


def _walk(client: TestClient, oki: Seeded, headers: dict[str, str] | None = None) -> dict[str, str]:
    """URL → body of every GET route for the signed-in user (any status: a 403 or 404 must not leak either)."""
    out: dict[str, str] = {}
    for path in get_routes():
        for url in _urls(path, oki):
            r = client.get(url, headers=headers or {})
            assert r.status_code < 500, (url, r.status_code, r.text[:300])
            out[url] = _body(r)
    return out


OKI_NAMES = ("Dinas PUPR OKI", "Diskominfo OKI", "Kabupaten Ogan Komering Ilir")
"""OKI's agency and region names: a user of 16.01 reads its own region's ("pupr" there is OKU's Dinas PUPR)."""


def _no_oki(seen: dict[str, str], who: str) -> None:
    for url, body in seen.items():
        for mark in OKI_MARKS + OKI_NAMES:
            assert mark not in body, f"{who} sees OKI's {mark!r} at {url}"
        if "export" in url or url.startswith(("/api/trends", "/api/agencies", "/api/issues", "/api/posts")):
            for place in OKI_PLACES:
                assert place not in body, f"{who} sees OKI's {place!r} in the data of {url}"


def test_users_of_one_region_see_nothing_of_another(env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig]) -> None:
    app, oki, oku, db, _ = env
    # OKU's PUPR officer, its comms team and its analyst: every page and endpoint, nothing of OKI.
    for name in ("pupr-oku", "kominfo-oku", "analis-oku"):
        with TestClient(app) as client:
            login(client, name)
            seen = _walk(client, oki)
            _no_oki(seen, name)
            board = client.get("/").text
            assert OKU_MARK in board, name  # its own region's issue is there: the walk saw real pages
            assert client.get(f"/issues/{oki.rising_id}").status_code == 404
            assert client.get(f"/issues/{oku.issue_id}").status_code == 200
            trends = client.get("/api/trends?dimension=region&start=2026-01-01").json()
            assert [s["key"] for s in trends["series"]] == [OKU]
            # One region in view: no comparison offered.
            assert "Per wilayah" not in client.get("/trends").text
            # Performance counts OKU's alerts only (OKI's PUPR was told about its own issue the same day).
            rows = client.get("/api/agencies/performance?from=2026-11-01").json()["agencies"]
            assert sum(r["received"] for r in rows) == 1, (name, rows)
    # The same, by API token.
    with TestClient(app) as client:
        seen = _walk(client, oki, headers={"Authorization": f"Bearer {OKU_AGENCY_TOKEN}"})
        _no_oki(seen, "pupr-oku (token)")
        ids = {i["id"] for i in client.get("/api/issues?limit=500", headers={"Authorization": f"Bearer {OKU_AGENCY_TOKEN}"}).json()}  # noqa: E501
        assert ids == {oku.issue_id}
    with TestClient(app) as client:
        login(client, "kominfo")  # every region: both PUPR offices' alerts under the one code
        rows = client.get("/api/agencies/performance?from=2026-11-01").json()["agencies"]
        oki_received = next(r["received"] for r in rows if r["agency"] == "pupr") - 1
    # OKI's PUPR officer, made before regions (no region): OKI's own PUPR issues only, never OKU's PUPR.
    with TestClient(app) as client:
        login(client, "pupr")
        for url, body in _walk(client, oki).items():
            assert OKU_MARK not in body and OKU_KECAMATAN not in body, f"OKI's pupr sees OKU at {url}"
        assert "Jalan rusak di Kayu Agung" in client.get("/").text
        assert client.get(f"/issues/{oku.issue_id}").status_code == 404
        rows = client.get("/api/agencies/performance?from=2026-11-01").json()["agencies"]
        assert [r["agency"] for r in rows] == ["pupr"] and rows[0]["received"] == oki_received
        token = csrf_from(client.get(f"/issues/{oki.rising_id}").text)
        assert client.post(f"/issues/{oku.issue_id}/ack", data={"csrf_token": token}).status_code == 404
    with db.session() as s:
        assert s.get_one(Issue, oku.issue_id).acknowledged_at is None


def test_province_comms_sees_and_compares_every_region(
    env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig],
) -> None:
    app, _oki, _oku, _db, _ = env
    with TestClient(app) as client:
        login(client, "kominfo")  # no region: the province's comms
        board = client.get("/").text
        assert OKU_MARK in board and "Jalan rusak di Kayu Agung" in board
        page = client.get("/trends?view=region&start=2026-01-01").text
        # Regions by name, never by bare code; the comparison is offered and drawn.
        assert "Per wilayah" in page and "Keluhan per wilayah" in page
        assert "Kabupaten Ogan Komering Ulu" in page and "Kabupaten Ogan Komering Ilir" in page
        by_region = client.get("/api/trends?dimension=region&start=2026-01-01&bucket=month").json()
        totals = {s["key"]: sum(p["complaints"] for p in s["points"]) for s in by_region["series"]}
        assert totals[OKU] == 100 + 101 + 102 + 103
        assert totals["16.02"] > 0
        only = client.get(f"/api/trends?dimension=kecamatan&region={OKU}&start=2026-01-01").json()
        assert [s["key"] for s in only["series"]] == [OKU_KECAMATAN]
        export = client.get(f"/trends/export?format=csv&start=2026-01-01&region={OKU}").text
        assert "Wilayah" in export.splitlines()[0] and "Kabupaten Ogan Komering Ulu" in export
        assert "Kayu Agung" not in export
        bad = client.get("/api/trends?region=OKU").json()
        assert any("wilayah" in w for w in bad["warnings"])


def test_admin_sets_a_users_region(env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig]) -> None:
    app, _oki, _oku, db, _ = env
    with TestClient(app) as client:
        login(client, "admin")
        page = client.get("/admin/users").text
        assert "Semua wilayah" in page and "Kabupaten Ogan Komering Ulu" in page
        token = csrf_from(page)
        with db.session() as s:
            pdam_id = s.scalar(select(User.id).where(User.username == "kominfo"))
        r = client.post(f"/admin/users/{pdam_id}/region", data={"csrf_token": token, "region": OKU})
        assert r.status_code in (200, 303)
        with db.session() as s:
            assert s.scalar(select(User.region_code).where(User.id == pdam_id)) == OKU
        r = client.post(f"/admin/users/{pdam_id}/region", data={"csrf_token": token, "region": "99.99"})
        with db.session() as s:
            assert s.scalar(select(User.region_code).where(User.id == pdam_id)) == OKU  # refused: unchanged
        client.post(
            "/admin/users",
            data={"csrf_token": token, "username": "dinkes-oku", "password": "kata-sandi-panjang-1", "role": "agency",
                  "agency": "dinkes", "region": OKU},
        )  # fmt: skip
        with db.session() as s:
            assert s.scalar(select(User.region_code).where(User.username == "dinkes-oku")) == OKU
    with TestClient(app) as client:
        login(client, "kominfo")  # now of OKU only
        board = client.get("/").text
        assert OKU_MARK in board and "Jalan rusak di Kayu Agung" not in board


def test_users_command_puts_a_user_in_a_region(
    deployment_file: Path,
    migrated_sqlite_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import shutil

    from monitor.cli import main

    shutil.copyfile(migrated_sqlite_file, tmp_path / "cli.db")  # migrated once per worker (conftest)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", url)
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    cfg = str(deployment_file)

    def add(*args: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO("kata-sandi-panjang-1\n"))
        return main(["--config", cfg, "users", "add", *args, "--password-stdin"])

    assert add("pupr-oku", "--role", "agency", "--agency", "pupr", "--region", OKU) == 0
    assert "Kabupaten Ogan Komering Ulu" in capsys.readouterr().out
    assert add("provinsi", "--role", "comms") == 0
    assert add("salah", "--role", "comms", "--region", "99.99") == 2
    assert "bukan kode kabupaten/kota" in capsys.readouterr().err
    assert main(["--config", cfg, "users", "list"]) == 0
    listing = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert listing["pupr-oku"].endswith("wilayah Kabupaten Ogan Komering Ulu")
    assert "wilayah" not in listing["provinsi"]  # every region: listed as before regions
    monkeypatch.setattr("sys.stdin", io.StringIO("kata-sandi-panjang-1\n"))
    assert main(["--config", cfg, "users", "add", "pupr-oki", "--role", "agency", "--agency", "pupr",
                 "--password-stdin"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["--config", cfg, "users", "list", "--region", OKU]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["pupr-oku"]
    assert main(["--config", cfg, "users", "list", "--region", "16.02"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["pupr-oki"]
    assert main(["--config", cfg, "users", "list", "--region", "16.99.1"]) == 2
    assert "bukan kode kabupaten/kota" in capsys.readouterr().err
    db = Database(url)
    with db.session() as s:
        regions = dict(s.execute(select(User.username, User.region_code)).all())
    db.dispose()
    assert regions == {"pupr-oku": OKU, "provinsi": None, "pupr-oki": None}


POST_SKIPPED = {
    "/alerts/action",  # a signed one-click link: the signature names the alert
    "/whatsapp/webhook",
    "/login",
    "/logout",
    "/account/password",  # the user's own account
    "/api/ingest",  # the ingest token, no user
    "/silences",  # a new silence: test_silences_and_queues_are_a_regions_own
    "/lapor",  # an upload: test_lapor_import_is_its_regions
    "/admin/users",  # a new user: admin only (test_admin_sets_a_users_region)
}
"""POST routes that name no stored row of a region."""

FORM: dict[str, Any] = {
    "status": "diterima",
    "note": "sudah ditangani tim",
    "agency": "dinsos",
    "hours": 24,
    "konfirmasi": "ya",
    "field": "topic",
    "value": "air_bersih",
    "relevant": True,
    "is_complaint": True,
    "topic": "air_bersih",
    "role": "comms",
    "region": OKU,
    "active": "0",
}
"""A plausible body for every action, so an action refused is refused for its row, not for its input."""


def post_routes() -> list[str]:
    """Every POST route of the dashboard and API that acts on a stored row, from the routers themselves."""
    routers = (routes_pages.router, routes_api.router, routes_respond.api, routes_respond.pages,
               routes_triage.pages, routes_triage.api, routes_lapor.pages)  # fmt: skip
    return sorted(
        {r.path for router in routers for r in router.routes if isinstance(r, APIRoute) and "POST" in r.methods}
        - POST_SKIPPED
    )


def _oki_state(db: Database) -> list[Any]:
    """What a refused action must leave as it was: OKI's issues, alerts, silences, labels, users, events."""
    with db.session() as s:
        return [
            s.execute(
                select(Issue.id, Issue.status, Issue.acknowledged_at, Issue.response_status, Issue.agency_code,
                       Issue.merged_into_id, Issue.post_count).where(Issue.region_code == "16.02").order_by(Issue.id)
            ).all(),
            s.execute(select(Alert.id, Alert.acknowledged_at).where(Alert.region_code == "16.02")).all(),
            s.execute(select(Silence.id, Silence.ends_at).order_by(Silence.id)).all(),
            s.scalar(select(func.count()).select_from(LabelCorrection)),
            s.scalar(select(func.count()).select_from(Silence)),
            s.scalar(select(func.count()).select_from(IssueEvent)),
            s.execute(select(User.username, User.role, User.active, User.region_code, User.password_hash,
                             User.api_token_hash).order_by(User.username)).all(),
        ]  # fmt: skip


def test_actions_on_another_regions_rows_are_refused_in_bahasa(
    env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig],
) -> None:
    app, oki, oku, db, _ = env
    with db.session() as s:
        oki_silences = list(s.scalars(select(Silence.id).where(Silence.created_by == "kominfo")))
        oki_user = s.scalar(select(User.id).where(User.username == "pupr"))
    fill = {"issue_id": [oki.rising_id, oki.pdam_id], "post_id": [oki.plain_post_id], "silence_id": oki_silences,
            "user_id": [oki_user]}  # fmt: skip
    before = _oki_state(db)
    for name in ("pupr-oku", "kominfo-oku"):
        with TestClient(app) as client:
            login(client, name)
            token = csrf_from(client.get("/account/password").text)
            tried = 0
            for path in post_routes():
                params = re.findall(r"{(\w+)}", path)
                assert set(params) <= set(fill), f"{path}: teach this test what to put in {params}"
                urls = [path]
                for param in params:
                    urls = [u.replace(f"{{{param}}}", str(v)) for u in urls for v in fill[param]]
                for url in urls:
                    form = {**FORM, "others": str(oku.issue_id), "post_id": oki.plain_post_id}
                    if url.startswith("/api/triage/"):  # its fields are checked before its post is looked up
                        form = {k: form[k] for k in ("relevant", "is_complaint", "topic")}
                    if url.startswith("/api/"):
                        r = client.post(url, json=form, headers={"X-CSRF-Token": token})
                    else:
                        r = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
                    assert r.status_code in (403, 404), (name, url, r.status_code, r.text[:300])
                    assert "tidak ditemukan" in r.text or "tidak diizinkan" in r.text, (name, url, r.text[:300])
                    tried += 1
            assert tried > 20
            # Naming another region's issue among one's own is refused too.
            r = client.post(
                f"/issues/{oku.issue_id}/merge",
                data={"csrf_token": token, "others": str(oki.pdam_id), "konfirmasi": "ya"},
                follow_redirects=False,
            )
            assert r.status_code == 303 and "Gagal" in client.get(f"/issues/{oku.issue_id}").text
            assert _oki_state(db) == before, name
    # The same token and session act on their own region's rows: the refusals above were for the row.
    with TestClient(app) as client:
        login(client, "pupr-oku")
        token = csrf_from(client.get("/account/password").text)
        r = client.post(f"/api/issues/{oku.issue_id}/ack", headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json()["alerts_acknowledged"] == 1
    with db.session() as s:
        assert s.get_one(Alert, oku.alert_id).acknowledged_at is not None
        assert s.get_one(Alert, oki.alert_id).acknowledged_at is None  # OKI's PUPR: the same code, untouched
    assert _oki_state(db)[:2] == before[:2]


def test_silences_and_queues_are_a_regions_own(env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig]) -> None:
    from alerts.hygiene import active_silences, is_silenced
    from alerts.routing import AlertLabels

    app, _oki, _oku, db, _ = env
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        page = client.get("/silences").text
        assert f"{OKU_MARK} menunggu alat berat" in page and OKI_SILENCE_NOTE not in page
        assert f'<option value="{OKU_KECAMATAN}">' in page and '<option value="Kayu Agung">' not in page
        assert '<option value="mastodon-oki">' not in page
        token = csrf_from(page)
        base = {"csrf_token": token, "hours": "24", "note": "perbaikan sudah dijadwalkan"}
        for refused in ({"kecamatan": "Kayu Agung"}, {"source": "mastodon-oki"}):
            client.post("/silences", data={**base, **refused})
        client.post("/silences", data={**base, "topic": "infrastruktur", "kecamatan": OKU_KECAMATAN})
        # Queues: OKU has nothing waiting; OKI's two posts and one delivery are not counted.
        assert "Antrean: 0 unggahan menunggu klasifikasi · 0 pengiriman menunggu." in client.get("/sources").text
    with db.session() as s:
        made = list(s.scalars(select(Silence).where(Silence.comment == base["note"])))
        want = {"topic": ["infrastruktur"], "kecamatan": [OKU_KECAMATAN], "region": [OKU]}
        assert [m.matchers for m in made] == [want]  # the two refused: another region's kecamatan and source
        silences = active_silences(s, NOW)

    def labels(region: str) -> AlertLabels:
        return AlertLabels(topic="infrastruktur", agency="pupr", kecamatan=OKU_KECAMATAN, stage="naik", urgent=False,
                           region=region)  # fmt: skip

    assert is_silenced(made, labels(OKU), None, NOW) and not is_silenced(made, labels("16.02"), None, NOW)
    assert len(silences) == 5
    with TestClient(app) as client:
        login(client, "kominfo")  # every region: every silence, every queue
        page = client.get("/silences").text
        assert page.count(OKI_SILENCE_NOTE) == 3 and OKU_MARK in page
        assert "Antrean: 2 unggahan menunggu klasifikasi · 1 pengiriman menunggu." in client.get("/sources").text


def test_a_province_silence_names_its_region_or_every_region(
    env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig],
) -> None:
    """A user of every region must say which region a new silence mutes (or all of them); a region's user
    keeps its own region whatever the form says."""
    app, _oki, _oku, db, _ = env
    with TestClient(app) as client:
        login(client, "kominfo")
        page = client.get("/silences").text
        assert '<select name="wilayah" required>' in page and '<option value="semua">Semua wilayah' in page
        assert f'<option value="{OKU}">Kabupaten Ogan Komering Ulu</option>' in page
        # Each region's kecamatan under its name.
        assert '<optgroup label="Kabupaten Ogan Komering Ulu">' in page and f'<option value="{OKU_KECAMATAN}">' in page
        assert '<option value="Kayu Agung">' in page
        token = csrf_from(page)

        def silence(note: str, **form: str) -> str:
            r = client.post("/silences", data={"csrf_token": token, "hours": "24", "note": note, **form})
            return str(r.text)

        assert "Gagal: wilayah: pilih wilayah" in silence("tanpa wilayah", topic="infrastruktur")
        silence("wilayah lain", wilayah=OKU, kecamatan="Kayu Agung")  # refused: not OKU's kecamatan
        silence("sumber wilayah lain", wilayah=OKU, source="mastodon-oki")  # refused: not OKU's source
        silence("oku saja", wilayah=OKU, topic="infrastruktur", kecamatan=OKU_KECAMATAN)
        silence("semua wilayah", wilayah="semua", topic="air_bersih")
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        page = client.get("/silences").text
        assert 'name="wilayah"' not in page and "<optgroup" not in page
        token = csrf_from(page)
        client.post("/silences", data={"csrf_token": token, "hours": "24", "note": "milik oku", "wilayah": "semua",
                                       "topic": "air_bersih"})  # fmt: skip
    with db.session() as s:
        made = {m.comment: m.matchers for m in s.scalars(select(Silence)) if m.created_by in ("kominfo", "kominfo-oku")}
        made = {c: m for c, m in made.items() if c not in (OKI_SILENCE_NOTE, f"{OKU_MARK} menunggu alat berat")}
    assert made == {
        "oku saja": {"topic": ["infrastruktur"], "kecamatan": [OKU_KECAMATAN], "region": [OKU]},
        "semua wilayah": {"topic": ["air_bersih"]},
        "milik oku": {"topic": ["air_bersih"], "region": [OKU]},
    }


def test_the_map_draws_the_region_in_view(
    env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig], three_region_file: Path
) -> None:
    """/peta and /api/map show one region: OKI's kecamatan, OKU's outline (Sumatera Selatan's boundaries),
    a plain sentence for a region without boundaries; a user of every region picks it, a region's user has its own."""
    app, _oki, _oku, db, _ = env
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        page = client.get("/peta?region=16.02").text  # asks for OKI's: gets its own
        assert 'aria-label="Peta batas Kabupaten Ogan Komering Ulu: isu terbuka"' in page
        assert page.count('class="area k') == 1 and 'class="area k4"' in page  # its one open issue
        assert "Kayu Agung" not in page and 'name="region"' not in page
        # Each kecamatan a link to its own region's board filtered to it.
        link = f'<a href="/?kecamatan=Baturaja+Timur">{OKU_KECAMATAN}</a>'
        assert f'<td data-label="Kecamatan">{link}</td><td data-label="Isu" class="num">1</td>' in page
        body = client.get("/api/map").json()
        assert [(f["id"], f["properties"]["isu"]) for f in body["features"]] == [(OKU, 1)]
        assert body["features"][0]["geometry"]["type"] == "MultiPolygon"  # OKU's outline, as shipped
        assert client.get("/api/map?level=desa").json()["features"] == []
    with TestClient(app) as client:
        login(client, "kominfo")  # every region: OKI's kecamatan map by default, OKU's when picked
        page = client.get("/peta").text
        assert page.count('class="area k') == 18 and f'<option value="{OKU}">Kabupaten Ogan Komering Ulu' in page
        assert OKU_KECAMATAN not in page  # OKU's issue is not counted on OKI's map
        oku_page = client.get(f"/peta?region={OKU}").text
        assert 'aria-label="Peta batas Kabupaten Ogan Komering Ulu: isu terbuka"' in oku_page
        assert f'<option value="{OKU}" selected>' in oku_page and "Kayu Agung" not in oku_page
        assert [f["id"] for f in client.get(f"/api/map?region={OKU}").json()["features"]] == [OKU]
        assert len(client.get("/api/map").json()["features"]) == 18
        assert client.get("/api/map?region=99.99").status_code == 422
        assert "tidak ada dalam deployment ini" in client.get("/peta?region=99.99").text
    # A region outside Sumatera Selatan (Kota Bandung): no boundaries shipped, said plainly, never OKI's map.
    with TestClient(create_app(load_config(three_region_file), db, make_clock())) as client:
        login(client, "kominfo")
        page = client.get("/peta?region=32.73").text
        assert "Peta batas wilayah ini belum tersedia" in page
        assert "<svg" not in page.split("<main", 1)[1] and "Kayu Agung" not in page
        assert client.get("/api/map?region=32.73").json()["features"] == []


def test_lapor_import_is_its_regions(env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig]) -> None:
    """Each regency has its own LAPOR! inbox: a user of one region imports into its own region's LAPOR! source
    and sees only its files; the province's comms picks the region (OKI's own ``lapor`` source by default)."""
    app, _oki, _oku, db, _ = env

    def export(ticket: str, text: str) -> bytes:
        return csv_bytes([[ticket, "Jalan rusak", text, "Infrastruktur", "Pemda", "Proses", "28/11/2026 08:15"]])

    def stored(ticket: str) -> tuple[str, str]:
        with db.session() as s:
            row = s.execute(
                select(Post.region_code, Source.name).join(Source, Source.id == Post.source_id)
                .where(Post.platform == "lapor", Post.external_id == ticket)
            ).one()  # fmt: skip
            return row[0], row[1]

    with TestClient(app) as client:
        login(client, "kominfo")  # every region: picks the regency, OKI by default
        page = client.get("/lapor").text
        assert '<select name="wilayah"' in page and f'<option value="{OKU}">Kabupaten Ogan Komering Ulu' in page
        token = csrf_from(page)
        oki_file = {"berkas": ("oki.csv", export("T-OKI", "di Kayu Agung"))}
        client.post("/lapor", data={"csrf_token": token}, files=oki_file)
        client.post("/lapor", data={"csrf_token": token, "wilayah": OKU},
                    files={"berkas": ("oku-provinsi.csv", export("T-OKU-1", f"{OKU_MARK} di Baturaja"))})  # fmt: skip
        r = client.post("/lapor", data={"csrf_token": token, "wilayah": "99.99"},
                        files={"berkas": ("x.csv", export("T-X", "di mana"))})  # fmt: skip
        assert r.status_code == 400 and "tidak ada dalam deployment" in r.text
        listed = client.get("/lapor").text
        assert "oki.csv" in listed and "oku-provinsi.csv" in listed
    assert stored("T-OKI") == ("16.02", "lapor")  # today's source and region for OKI's tickets
    assert stored("T-OKU-1") == (OKU, "lapor-1601")
    with TestClient(app) as client:
        login(client, "kominfo-oku")  # its own region's inbox: no choice, never OKI's
        page = client.get("/lapor")
        assert page.status_code == 200 and 'name="wilayah"' not in page.text
        assert "oku-provinsi.csv" in page.text and "oki.csv" not in page.text
        token = csrf_from(page.text)
        r = client.post("/lapor", data={"csrf_token": token, "wilayah": "16.02"},
                        files={"berkas": ("oku.csv", export("T-OKU-2", f"{OKU_MARK} jalan amblas"))})  # fmt: skip
        assert r.status_code == 200 and "1 baru" in r.text
    assert stored("T-OKU-2") == (OKU, "lapor-1601")  # its own region, whatever the form said
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Post).where(Post.external_id == "T-X")) == 0


def test_triage_lists_a_regions_own_posts(env: tuple[Any, Seeded, OkuSeeded, Database, AppConfig]) -> None:
    app, oki, oku, _db, _ = env
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        assert [p["post_id"] for p in client.get("/api/triage").json()] == [oku.post_ids[0]]
        assert OKU_MARK in client.get("/triage").text
    with TestClient(app) as client:
        login(client, "kominfo")
        assert {p["post_id"] for p in client.get("/api/triage").json()} == {oki.plain_post_id, oku.post_ids[0]}
