"""The map of OKI: the pure geometry and counting, GET /api/map, the /peta page and the board's filters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from classifiers.gazetteer import KECAMATAN
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Issue
from monitor.web import geomap, queries
from monitor.web.app import create_app
from monitor.web.auth import Principal
from tests.web_support import AGENCY_TOKEN, ANALYST_TOKEN, NOW, Seeded, login, make_clock, seed

# ---------------------------------------------------------------- pure


def test_every_kecamatan_of_the_gazetteer_has_its_polygon() -> None:
    areas = geomap.kecamatan_areas()
    assert len(areas) == 18
    assert {a.nama for a in areas} == set(KECAMATAN)
    assert all(a.kode.startswith("16.02.") for a in areas)


def test_names_match_whatever_the_spelling() -> None:
    assert geomap.area_by_name("Kayuagung") is geomap.area_by_name("kayu agung") is not None
    assert geomap.area_by_name("Indralaya") is None
    assert geomap.area_by_name(None) is None
    # Desa names repeat across kecamatan: the kecamatan decides which point.
    point = geomap.desa_point("Tanjung Lubuk", "tanjung lubuk")
    assert point is not None and point.kode.startswith("16.02.02.")
    assert geomap.desa_point("Pampangan", "Desa Yang Tidak Ada") is None


def test_projection_keeps_every_point_inside_the_picture_north_up() -> None:
    areas = geomap.kecamatan_areas()
    frame = geomap.frame_for(areas, width=640)
    for area in areas:
        for poly in area.polygons:
            for ring in poly:
                for lng, lat in ring:
                    x, y = frame.xy(lng, lat)
                    assert 0 <= x <= frame.width and 0 <= y <= frame.height
    north = max(areas, key=lambda a: a.lat)
    south = min(areas, key=lambda a: a.lat)
    assert frame.xy(north.lng, north.lat)[1] < frame.xy(south.lng, south.lat)[1]


@pytest.mark.parametrize(
    ("value", "top", "shade"),
    [(0, 0, 0), (0, 9, 0), (1, 1, 4), (1, 9, 1), (9, 9, 4), (5, 9, 3), (-3, 9, 0)],
)
def test_shades(value: int, top: int, shade: int) -> None:
    assert geomap.shade_class(value, top) == shade


def test_legend_covers_every_value_once() -> None:
    for top in range(0, 12):
        covered: list[int] = []
        for _shade, text in geomap.legend(top):
            lo, _, hi = text.partition("–")
            covered.extend(range(int(lo), int(hi or lo) + 1))
        assert covered == list(range(0, top + 1))


def test_choropleth_shades_links_and_escapes() -> None:
    svg = geomap.choropleth_svg(
        {"Kayuagung": 4, "Pedamaran": 1},
        link={"Kayu Agung": "/?kecamatan=Kayu+Agung&x=<script>"},
        label='isu "<b>"',
    )
    assert svg.count("<path ") == 18
    assert 'class="area k4"' in svg and 'class="area k1"' in svg
    assert "<script>" not in svg and "<b>" not in svg
    assert 'href="/?kecamatan=Kayu+Agung&amp;x=&lt;script&gt;"' in svg
    assert "Kayu Agung (4)" in svg and "Jejawi (" not in svg


def test_geojson_has_every_kecamatan_with_zeros() -> None:
    fc = geomap.kecamatan_features({"kayu agung": {"isu": 2, "unggahan": 7}})
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 18
    by_name = {f["properties"]["nama"]: f["properties"] for f in fc["features"]}
    assert by_name["Kayu Agung"]["isu"] == 2 and by_name["Kayu Agung"]["unggahan"] == 7
    assert by_name["Cengal"]["isu"] == 0
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in fc["features"])


def test_desa_pins_leave_out_unknown_places() -> None:
    fc = geomap.desa_features({("Pampangan", "Bangsal"): {"isu": 1}, ("Pampangan", "Atlantis"): {"isu": 3}})
    names = [f["properties"]["nama"] for f in fc["features"]]
    assert names == ["Bangsal"]
    lng, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 104 < lng < 106 and -5 < lat < -2


# ---------------------------------------------------------------- API and pages (SQLite and PostgreSQL)


@pytest.fixture
def env(config: AppConfig, db: Database) -> Iterator[tuple[TestClient, Seeded, Database]]:
    seeded = seed(db)
    with db.session() as s:
        issue = s.get(Issue, seeded.rising_id)
        assert issue is not None
        issue.desa = "Kedaton"
        s.add(
            Issue(
                topic="infrastruktur",
                agency_code="pupr",
                kecamatan="Kayu Agung",
                title="Isu lama yang sudah selesai",
                status="resolved",
                stage="mereda",
                post_count=5,
                author_count=2,
                first_seen=NOW - timedelta(days=40),
                last_seen=NOW - timedelta(days=30),
                created_at=NOW - timedelta(days=40),
                updated_at=NOW - timedelta(days=30),
            )
        )
    with TestClient(create_app(config, db, make_clock())) as client:
        yield client, seeded, db


def _props(body: dict[str, object]) -> dict[str, dict[str, object]]:
    features = body["features"]
    assert isinstance(features, list)
    return {f["properties"]["nama"]: f["properties"] for f in features}


def test_api_map_counts_match_the_board(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, db = env
    r = client.get("/api/map?level=kecamatan", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    props = _props(r.json())
    assert len(props) == 18
    with db.session() as s:
        everyone = Principal(user_id=0, username="t", role="analyst", agency_code=None)
        board = queries.board(s, everyone, NOW).rows
    on_board: dict[str, int] = {}
    for row in board:
        on_board[row.issue.kecamatan] = on_board.get(row.issue.kecamatan, 0) + 1
    assert {k: v["isu"] for k, v in props.items() if v["isu"]} == on_board
    assert sum(int(str(v["isu"])) for v in props.values()) == len(board) == 3


def test_api_map_is_scoped_filtered_and_checks_its_input(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, _db = env
    agency = client.get("/api/map", headers={"Authorization": f"Bearer {AGENCY_TOKEN}"}).json()
    props = _props(agency)
    assert props["Pedamaran"]["isu"] == 0  # PDAM's issue: not PUPR's to see
    assert props["Kayu Agung"]["isu"] == 1 and props["Jejawi"]["isu"] == 1
    auth = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
    water = _props(client.get("/api/map?topic=air_bersih", headers=auth).json())
    assert sum(int(str(v["isu"])) for v in water.values()) == 1 and water["Pedamaran"]["isu"] == 1
    everything = _props(client.get("/api/map?status=semua&start=2026-01-01", headers=auth).json())
    assert everything["Kayu Agung"]["isu"] == 2  # the resolved one counts when asked for
    bad_topic = client.get("/api/map?topic=banjir_bandang_x", headers=auth)
    assert bad_topic.status_code == 422 and "topic" in bad_topic.json()["detail"]
    bad_date = client.get("/api/map?start=kemarin", headers=auth)
    assert bad_date.status_code == 422 and "start" in str(bad_date.json()["detail"])
    assert client.get("/api/map?level=provinsi", headers=auth).status_code == 422
    assert client.get("/api/map").status_code == 401


def test_api_map_desa_pins(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, _db = env
    body = client.get("/api/map?level=desa", headers={"Authorization": f"Bearer {ANALYST_TOKEN}"}).json()
    assert [(f["properties"]["kecamatan"], f["properties"]["nama"]) for f in body["features"]] == [
        ("Kayu Agung", "Kedaton")
    ]
    assert body["features"][0]["properties"]["isu"] == 1


def test_map_page_links_each_kecamatan_to_the_filtered_board(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, _db = env
    login(client, "kominfo")
    page = client.get("/peta")
    assert page.status_code == 200
    assert page.text.count('class="area k') == 18
    assert 'href="/?kecamatan=Kayu+Agung"' in page.text
    assert re.search(r"<td data-label=\"Isu\" class=\"num\">1</td>", page.text)
    board = client.get("/?kecamatan=Kayu+Agung")
    assert "Jalan rusak di Kayu Agung" in board.text
    assert "Air PDAM mati" not in board.text and "Jembatan Jejawi" not in board.text
    assert 'data-refresh="/partials/board?kecamatan=Kayu+Agung"' in board.text
    partial = client.get("/partials/board?kecamatan=Jejawi")
    assert "Jembatan Jejawi retak" in partial.text and "Jalan rusak" not in partial.text
    # Each filter gets its own cached rows: the unfiltered board still lists everything.
    assert "Air PDAM mati" in client.get("/partials/board").text


def test_board_filters_ignore_unknown_values_and_say_so(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _seeded, db = env
    login(client, "kominfo")
    page = client.get("/?kecamatan=Indralaya&topic=air_bersih&stage=<b>x</b>&opd=pdam")
    assert page.status_code == 200
    assert "Air PDAM mati" in page.text and "Jalan rusak di Kayu Agung" not in page.text
    assert 'role="alert"' in page.text and "Indralaya" in page.text
    assert "<b>x</b>" not in page.text
    with db.session() as s:
        open_count = len(list(s.scalars(select(Issue.id).where(Issue.status == "open"))))
    assert open_count == 3
    # An agency user's OPD filter cannot widen its scope.
    login(client, "pdam")
    assert "Jalan rusak di Kayu Agung" not in client.get("/?opd=pupr").text


def test_every_regency_of_sumatera_selatan_has_an_outline_drawn_alone() -> None:
    outlines = geomap.regency_areas()
    assert len(outlines) == 17 and all(code.startswith("16.") for code in outlines)
    oku = geomap.regency_area("16.01")
    assert oku is not None and oku.nama == "Kabupaten Ogan Komering Ulu"
    assert geomap.regency_area("32.73") is None and geomap.regency_area(None) is None
    svg = geomap.choropleth_svg({oku.nama: 2}, areas=[oku], subject=f"batas {oku.nama}")
    assert svg.count("<path") == 1 and 'class="area k4"' in svg and 'role="img"' in svg
    assert 'aria-label="Peta batas Kabupaten Ogan Komering Ulu: isu terbuka"' in svg
    fc = geomap.regency_features(oku, {"Baturaja Timur": {"isu": 2, "unggahan": 5}, "Lengkiti": {"isu": 1}})
    (feature,) = fc["features"]
    assert feature["id"] == "16.01" and feature["properties"]["isu"] == 3 and feature["properties"]["unggahan"] == 5
    assert geomap.regency_features(None, {})["features"] == []
