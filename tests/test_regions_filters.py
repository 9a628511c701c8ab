"""The kecamatan filters of a deployment of several regions: the board, trends (page, API, export) and the map's
links offer and accept the kecamatan of the regions the user sees, and a name two regencies share (Mesuji of
OKI and of Kabupaten Mesuji, Lampung) filters one region's issues only."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from classifiers.region import NATIONAL_LIST, cached_region_gazetteer
from monitor.cli import main
from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, LabelCorrection, ScopeCount
from monitor.web import actions
from monitor.web.app import create_app
from tests.region_support import OKU, OKU_AGENCY_TOKEN, OKU_KECAMATAN, OKU_MARK, seed_oku, two_region_config
from tests.web_support import NOW, Seeded, csrf_from, login, make_clock, seed

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")

MESUJI = "18.11"
"""Kabupaten Mesuji (Lampung): its kecamatan Mesuji has the name of one of OKI's."""
OKI_MESUJI = "OKI-MESUJI banjir rendam jalan"
LAMPUNG_MESUJI = "LAMPUNG-MESUJI jembatan putus"


@pytest.fixture(scope="module")
def deployment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OKI, OKU and Kabupaten Mesuji in one deployment, written as an operator would."""
    folder = tmp_path_factory.mktemp("deployment")
    path = two_region_config(folder)
    assert main(["init", "--region", MESUJI, "--output", str(folder / "regions" / f"{MESUJI}.yaml")]) == 0
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("[regions/16.01.yaml]", f"[regions/16.01.yaml, regions/{MESUJI}.yaml]"), encoding="utf-8"
    )
    return path


def _mesuji_issues(db: Database) -> None:
    """An open issue in kecamatan Mesuji of OKI and one in kecamatan Mesuji of Kabupaten Mesuji, with trend rows."""
    with db.session() as s:
        for region, title, complaints in (("16.02", OKI_MESUJI, 7), (MESUJI, LAMPUNG_MESUJI, 900)):
            s.add(
                Issue(
                    topic="infrastruktur",
                    agency_code="pupr",
                    kecamatan="Mesuji",
                    title=title,
                    status="open",
                    stage="naik",
                    score=0.9,
                    p_viral=0.5,
                    post_count=1,
                    author_count=1,
                    first_seen=NOW - timedelta(hours=5),
                    last_seen=NOW - timedelta(hours=1),
                    created_at=NOW - timedelta(hours=5),
                    updated_at=NOW,
                    region_code=region,
                )
            )
            s.add(
                ScopeCount(
                    hour=NOW - timedelta(hours=3),
                    topic="infrastruktur",
                    kecamatan="Mesuji",
                    agency_code="pupr",
                    platform="googlenews",
                    posts=complaints,
                    complaints=complaints,
                    engagement=1.0,
                    region_code=region,
                )
            )


@pytest.fixture
def env(deployment_file: Path, config: AppConfig, db: Database) -> Iterator[tuple[Any, Seeded, Database]]:
    deployment = load_config(deployment_file)  # after `config` set the author key
    oki = seed(db)
    seed_oku(db)
    _mesuji_issues(db)
    yield create_app(deployment, db, make_clock()), oki, db


def _options(page: str, name: str) -> str:
    """The HTML of the ``<select name=...>`` of a page."""
    return page.split(f'<select name="{name}">', 1)[1].split("</select>", 1)[0]


def test_a_region_user_filters_the_board_by_its_own_kecamatan(env: tuple[Any, Seeded, Database]) -> None:
    """OKU's users are offered OKU's kecamatan, and a link to one of them filters their board (it was 'tidak
    dikenal', and the select listed OKI's)."""
    app, _oki, _db = env
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        page = client.get("/?kecamatan=Baturaja+Timur").text
        assert "tidak dikenal" not in page and OKU_MARK in page
        choices = _options(page, "kecamatan")
        assert f'<option value="{OKU_KECAMATAN}" selected>' in choices and "Kayu Agung" not in choices
        assert "<optgroup" not in choices and '<select name="region">' not in page  # one region: no picker
        assert 'data-refresh="/partials/board?kecamatan=Baturaja+Timur"' in page
        assert OKU_MARK in client.get("/partials/board?kecamatan=baturaja%20timur").text
        other = client.get("/?kecamatan=Kayu+Agung").text  # OKI's: not one of OKU's
        assert "Kecamatan &#39;Kayu Agung&#39; tidak dikenal; saringan itu diabaikan." in other
        assert OKU_MARK not in client.get("/partials/board?kecamatan=Lengkiti").text  # its own, none open there
        trends = client.get("/trends").text
        assert OKU_KECAMATAN in _options(trends, "kecamatan") and "Kayu Agung" not in _options(trends, "kecamatan")
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {OKU_AGENCY_TOKEN}"}
        body = client.get(f"/api/trends?dimension=kecamatan&start=2026-01-01&kecamatan={OKU_KECAMATAN}", headers=h)
        assert body.json()["warnings"] == [] and [s["key"] for s in body.json()["series"]] == [OKU_KECAMATAN]
        warned = client.get("/api/trends?kecamatan=Kayu+Agung", headers=h).json()["warnings"]
        assert any("Kayu Agung" in w and "tidak dikenal" in w for w in warned)


def test_a_province_user_picks_kecamatan_under_their_region(env: tuple[Any, Seeded, Database]) -> None:
    """A user of every region: kecamatan grouped by region, a region picker; a kecamatan brings its region, and
    Mesuji (OKI's and Kabupaten Mesuji's) shows one region's issues only, once the region is named."""
    app, _oki, _db = env
    with TestClient(app) as client:
        login(client, "kominfo")
        page = client.get("/").text
        choices = _options(page, "kecamatan")
        assert '<optgroup label="Kabupaten Ogan Komering Ulu">' in choices and OKU_KECAMATAN in choices
        assert '<optgroup label="Kabupaten Ogan Komering Ilir">' in choices and "Kayu Agung" in choices
        assert choices.count('<option value="Mesuji">') == 2
        assert f'<option value="{OKU}">Kabupaten Ogan Komering Ulu</option>' in _options(page, "region")
        # A kecamatan of one region: that region's issues, and the refresh keeps the region.
        page = client.get("/?kecamatan=Baturaja+Timur").text
        assert OKU_MARK in page and "Jalan rusak di Kayu Agung" not in page and "tidak dikenal" not in page
        assert f'data-refresh="/partials/board?region={OKU}&amp;kecamatan=Baturaja+Timur"' in page
        assert " selected" not in _options(page, "region")  # the region stays the user's pick (none)
        # Mesuji: named in two regions; without a region the filter is refused and said so.
        page = html.unescape(client.get("/?kecamatan=Mesuji").text)
        assert "Kecamatan 'Mesuji' ada di beberapa wilayah" in page and "pilih wilayahnya" in page
        oki_only = client.get("/?region=16.02&kecamatan=Mesuji").text
        assert OKI_MESUJI in oki_only and LAMPUNG_MESUJI not in oki_only and "Jalan rusak di Kayu Agung" not in oki_only
        assert '<option value="Mesuji" selected>' in _options(oki_only, "kecamatan").split("Kabupaten Mesuji")[0]
        lampung = client.get(f"/partials/board?region={MESUJI}&kecamatan=Mesuji").text
        assert LAMPUNG_MESUJI in lampung and OKI_MESUJI not in lampung
        # A region alone narrows the board; a kecamatan of another region than the one picked is refused.
        assert OKU_MARK not in client.get("/?region=16.02").text
        refused = html.unescape(client.get(f"/?region={OKU}&kecamatan=Kayu+Agung").text)
        assert "Kecamatan 'Kayu Agung' tidak dikenal di Kabupaten Ogan Komering Ulu" in refused
        assert "Wilayah '99.99' tidak dikenal" in html.unescape(client.get("/?region=99.99").text)
        # Trends, its export and the API: the same rule.
        trends = client.get("/trends?start=2026-01-01&kecamatan=Mesuji").text
        assert "ada di beberapa wilayah" in html.unescape(trends)
        export = client.get("/trends/export?format=csv&start=2026-01-01&region=16.02&kecamatan=Mesuji").text
        assert "Mesuji" in export and "Kabupaten Mesuji" not in export and "900" not in export
        api = client.get("/api/trends?dimension=region&start=2026-01-01&kecamatan=Mesuji").json()
        assert any("beberapa wilayah" in w for w in api["warnings"])
        api = client.get(f"/api/trends?dimension=region&start=2026-01-01&kecamatan={OKU_KECAMATAN}").json()
        assert [s["key"] for s in api["series"]] == [OKU] and api["warnings"] == []
        grouped = _options(client.get("/trends").text, "kecamatan")
        assert '<optgroup label="Kabupaten Mesuji">' in grouped and grouped.count('<option value="Mesuji"') == 2


def test_the_map_table_links_each_regions_kecamatan_to_its_board(env: tuple[Any, Seeded, Database]) -> None:
    """/peta of another regency links its kecamatan to the board (it had no links), with the region for a user
    of several regions; OKI's map does too."""
    app, _oki, _db = env
    with TestClient(app) as client:
        login(client, "kominfo-oku")
        page = client.get("/peta").text
        link = f'<a href="/?kecamatan=Baturaja+Timur">{OKU_KECAMATAN}</a>'
        assert link in page and "Klik nama kecamatan di tabel untuk membuka papan yang disaring." in page
        assert OKU_MARK in client.get("/?kecamatan=Baturaja+Timur").text
    with TestClient(app) as client:
        login(client, "kominfo")
        page = client.get(f"/peta?region={OKU}").text
        assert f'<a href="/?region={OKU}&amp;kecamatan=Baturaja+Timur">{OKU_KECAMATAN}</a>' in page
        assert 'href="/?region=16.02&amp;kecamatan=Kayu+Agung"' in client.get("/peta").text
        mesuji = client.get(f"/peta?region={MESUJI}").text
        assert f'<a href="/?region={MESUJI}&amp;kecamatan=Mesuji">Mesuji</a>' in mesuji


def test_choose_kecamatan_without_a_deployment_of_several(config: AppConfig) -> None:
    """One region (OKI): its list, exact names for trends, no region added; the checks the pages rely on."""
    assert actions.choose_kecamatan(config, ["16.02"], "Kayu Agung") == actions.KecamatanChoice("Kayu Agung", None)
    refused = actions.choose_kecamatan(config, ["16.02"], "Baturaja Timur")
    assert refused.kecamatan is None and refused.problem == "kecamatan 'Baturaja Timur' tidak dikenal"
    assert actions.choose_kecamatan(config, ["16.02"], "", "16.02") == actions.KecamatanChoice(None, "16.02")


def test_a_label_correction_names_a_kecamatan_of_the_issues_region(env: tuple[Any, Seeded, Database]) -> None:
    """An OKU issue's post is corrected to an OKU kecamatan (it was refused as 'tidak dikenal') and never to an
    OKI one; the issue page suggests its own region's kecamatan."""
    app, _oki, db = env
    with db.session() as s:
        issue_id = s.scalars(select(Issue.id).where(Issue.region_code == OKU)).one()
        post_id = s.scalars(select(IssuePost.post_id).where(IssuePost.issue_id == issue_id)).first()
    with TestClient(app) as client:
        login(client, "kominfo")  # every region: the datalist follows the issue's region
        page = client.get(f"/issues/{issue_id}").text
        datalist = page.split('<datalist id="label-values">', 1)[1].split("</datalist>", 1)[0]
        assert '<option value="Lengkiti">' in datalist and "Kayu Agung" not in datalist
        token = csrf_from(page)

        def correct(value: str) -> str:
            form = {"csrf_token": token, "post_id": str(post_id), "field": "kecamatan", "value": value}
            return html.unescape(client.post(f"/issues/{issue_id}/labels", data=form).text)

        assert "Koreksi label disimpan" in correct("Lengkiti")
        assert "kecamatan 'Kayu Agung' tidak dikenal" in correct("Kayu Agung")
        oki_page = client.get("/issues/1").text
        assert '<option value="Kayu Agung">' in oki_page.split('<datalist id="label-values">', 1)[1]
    with db.session() as s:
        stored = s.scalars(select(LabelCorrection.value).where(LabelCorrection.post_id == post_id)).all()
    assert stored == ["Lengkiti"]


def test_the_issues_api_filters_by_region_and_kecamatan(env: tuple[Any, Seeded, Database]) -> None:
    """/api/issues of a user of several regions: a kecamatan is one region's (Mesuji of OKI or of Kabupaten
    Mesuji, never both mixed); ``region`` narrows the list."""
    app, _oki, _db = env
    with TestClient(app) as client:
        login(client, "kominfo")

        def titles(query: str) -> set[str]:
            r = client.get(f"/api/issues?status=open&limit=500&{query}")
            assert r.status_code == 200, r.text
            return {i["title"] for i in r.json()}

        shared = client.get("/api/issues?kecamatan=Mesuji")
        assert shared.status_code == 422 and "beberapa wilayah" in shared.text
        assert titles("kecamatan=Mesuji&region=16.02") == {OKI_MESUJI}
        assert titles(f"kecamatan=Mesuji&region={MESUJI}") == {LAMPUNG_MESUJI}
        assert titles(f"region={MESUJI}") == {LAMPUNG_MESUJI}
        assert titles(f"kecamatan={OKU_KECAMATAN}") == {f"{OKU_MARK} jalan amblas di {OKU_KECAMATAN}"}
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {OKU_AGENCY_TOKEN}"}  # one region: its own issues, as before
        listed = client.get(f"/api/issues?kecamatan={OKU_KECAMATAN}", headers=h).json()
        assert [i["kecamatan"] for i in listed] == [OKU_KECAMATAN]
        assert client.get("/api/issues?kecamatan=Mesuji", headers=h).json() == []


def test_filters_read_a_regions_kecamatan_without_building_its_gazetteer(config: AppConfig, tmp_path: Path) -> None:
    """A dashboard process of a province lists every regency's kecamatan from their extract files: no gazetteer
    is built for it (17 of them took about a second and their memory), and the order is the gazetteer's."""
    deployment = load_config(two_region_config(tmp_path))  # its own files: nothing cached for them yet
    before = cached_region_gazetteer.cache_info().currsize
    names = actions.kecamatan_names(deployment, OKU)
    assert OKU_KECAMATAN in names and "Kayu Agung" not in names
    assert cached_region_gazetteer.cache_info().currsize == before
    gazetteer = deployment.region_of(OKU).gazetteer()
    assert gazetteer is not None and names == gazetteer.kecamatan_order
    assert actions.kecamatan_names(deployment, None)[0] == "Kayu Agung"  # OKI's hand-tuned list, as ever
