"""The map: a region's open issues by kecamatan (page ``/peta``) and the same counts as GeoJSON (``/api/map``).

The counts are the board's: open issues the principal may see in one region, narrowed by topic and,
when a period is given, to issues active in it (last post on or after its start, first post before
its end). OKI's kecamatan are drawn shaded; another regency of Sumatera Selatan as its outline; a
region without shipped boundaries says so. A user of every region picks the region (``region``,
the deployment's own by default); a user of one region sees its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.domain import display
from monitor.kernel.config import TOPICS
from monitor.store.models import Issue, IssueStatus
from monitor.web import actions, geomap, queries
from monitor.web.auth import Principal
from monitor.web.deps import current_principal, now_of, web

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["peta"])


@dataclass(frozen=True, slots=True)
class MapFilter:
    """What the map counts: a topic, a period (both optional) and whether closed issues count too."""

    topic: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    all_statuses: bool = False
    region: str | None = None
    """One region's issues only (a Kemendagri code); None: every region the principal sees."""


def place_counts(
    session: Session, principal: Principal, flt: MapFilter
) -> tuple[dict[str, dict[str, int]], dict[tuple[str, str], dict[str, int]]]:
    """Issues and their posts per kecamatan and per (kecamatan, desa), in the principal's scope.

    One grouped query; issues without a kecamatan are not on the map (the board lists them).
    """
    query = (
        select(Issue.kecamatan, Issue.desa, func.count(Issue.id), func.coalesce(func.sum(Issue.post_count), 0))
        .where(Issue.kecamatan.is_not(None), Issue.merged_into_id.is_(None))
        .group_by(Issue.kecamatan, Issue.desa)
    )
    query = queries.in_scope(query, principal)
    if not flt.all_statuses:
        query = query.where(Issue.status == IssueStatus.OPEN)
    if flt.topic:
        query = query.where(Issue.topic == flt.topic)
    if flt.region is not None:
        query = query.where(Issue.region_code == flt.region)
    if flt.start is not None:
        query = query.where(Issue.last_seen >= flt.start)
    if flt.end is not None:
        query = query.where(Issue.first_seen < flt.end)
    kecamatan: dict[str, dict[str, int]] = defaultdict(lambda: {"isu": 0, "unggahan": 0})
    desa: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"isu": 0, "unggahan": 0})
    for kec, village, issues, posts in session.execute(query):
        if not kec:
            continue
        kecamatan[kec]["isu"] += int(issues)
        kecamatan[kec]["unggahan"] += int(posts)
        if village:
            desa[(kec, village)]["isu"] += int(issues)
            desa[(kec, village)]["unggahan"] += int(posts)
    return dict(kecamatan), dict(desa)


def _region(request: Request, principal: Principal, asked: str | None, *, api: bool) -> tuple[str, list[str]]:
    """The region the map shows: a user of one region, its own (whatever was asked); a user of every region,
    the one asked for, else the deployment's own. An unknown region: 422 on the API, the own region on the page."""
    config = web(request).config
    if principal.scope_region is not None:
        return principal.scope_region, []
    code = (asked or "").strip() or config.region_code
    if code in config.deployment_regions():
        return code, []
    if api:
        raise HTTPException(422, f"region: wilayah '{code[:20]}' tidak ada dalam deployment ini")
    home = web(request).region_name(config.region_code)
    return config.region_code, [f"Wilayah '{code[:20]}' tidak ada dalam deployment ini; {home} ditampilkan."]


def _filter(
    request: Request,
    principal: Principal,
    topic: str | None,
    start: str | None,
    end: str | None,
    status: str | None,
    region: str | None,
    *,
    api: bool,
) -> tuple[MapFilter, list[str]]:
    code, problems = _region(request, principal, region, api=api)
    chosen_topic = topic or None
    if chosen_topic and chosen_topic not in TOPICS:
        if api:
            raise HTTPException(422, f"topic: topik '{chosen_topic[:40]}' tidak dikenal")
        problems.append(f"Topik '{chosen_topic[:40]}' tidak dikenal; saringan itu diabaikan.")
        chosen_topic = None
    begin = until = None
    if start or end:
        raw = actions.FilterInput(start=start, end=end, topic=None, agency=None, kecamatan=None, source=None)
        try:
            flt, date_problems = actions.trend_filter(web(request).config, raw, now_of(request))
        except actions.DateOutOfRange as exc:
            raise HTTPException(422 if api else 400, str(exc)) from None
        if date_problems and api:
            raise HTTPException(422, "start/end: " + "; ".join(date_problems))
        problems.extend(date_problems)
        begin, until = flt.start, flt.end
    return MapFilter(chosen_topic, begin, until, all_statuses=status == "semua", region=code), problems


@api.get(
    "/map",
    summary="Peta isu per kecamatan atau desa (GeoJSON)",
    description=(
        "GeoJSON FeatureCollection; properti setiap fitur memuat `isu` (isu terbuka, sama dengan papan) "
        "dan `unggahan`. Pengguna OPD hanya menghitung isu OPD-nya. Untuk OKI (16.02) per kecamatan; "
        "kabupaten/kota lain di Sumatera Selatan satu fitur garis batasnya (`level`: `kabupaten_kota`, "
        "jumlah seluruh kecamatannya); wilayah tanpa data batas: koleksi kosong."
    ),
)
def api_map(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    level: Annotated[
        Literal["kecamatan", "desa"], Query(description="`kecamatan`: 18 poligon; `desa`: titik desa yang punya isu")
    ] = "kecamatan",
    topic: Annotated[str | None, Query(max_length=40, description="Kunci topik, mis. `infrastruktur_jalan`")] = None,
    start: Annotated[str | None, Query(max_length=10, description="Awal periode, YYYY-MM-DD (WIB)")] = None,
    end: Annotated[str | None, Query(max_length=10, description="Akhir periode, YYYY-MM-DD (WIB), termasuk")] = None,
    status: Annotated[
        Literal["terbuka", "semua"], Query(description="`terbuka`: seperti papan; `semua`: termasuk isu selesai")
    ] = "terbuka",
    region: Annotated[
        str | None,
        Query(max_length=20, description="Kode wilayah, mis. `16.01` (bawaan: wilayah utama; pengguna satu wilayah: "
              "wilayahnya)"),
    ] = None,
) -> JSONResponse:
    """A GeoJSON FeatureCollection; each feature's properties carry `isu` (issues) and `unggahan` (posts)."""
    flt, _ = _filter(request, principal, topic, start, end, status, region, api=True)
    with web(request).read() as session:
        by_kecamatan, by_desa = place_counts(session, principal, flt)
    body: dict[str, Any]
    if flt.region != geomap.KECAMATAN_REGION:
        # Only OKI's kecamatan and desa are shipped: another regency is its outline (desa: none to pin).
        outline = geomap.regency_area(flt.region) if level == "kecamatan" else None
        body = geomap.regency_features(outline, by_kecamatan)
    elif level == "desa":
        body = geomap.desa_features(by_desa)
    else:
        body = geomap.kecamatan_features(by_kecamatan)
    return JSONResponse(body, media_type="application/geo+json")


@pages.get("/peta", response_class=HTMLResponse)
def map_page(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    topic: Annotated[str | None, Query(max_length=40)] = None,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=10)] = None,
    region: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One region's issues by kecamatan: OKI's kecamatan shaded with desa pins (each kecamatan a link to the
    board), another regency's outline, or a plain sentence when its boundaries are not shipped; the numbers
    as a table either way."""
    ctx = web(request)
    flt, problems = _filter(request, principal, topic, start, end, status, region, api=False)
    code = flt.region or ctx.config.region_code
    with ctx.read() as session:
        by_kecamatan, by_desa = place_counts(session, principal, flt)
    shown = ctx.regions_for(principal)
    # The board's filter is region + kecamatan for a user of several regions (a name two regencies share).
    extra = {"topic": flt.topic or "", **({"region": code} if len(shown) > 1 else {})}
    name = ctx.region_name(code)
    pins = []
    if code == geomap.KECAMATAN_REGION:
        counts = {n: v["isu"] for n, v in by_kecamatan.items()}
        places = [a.nama for a in geomap.kecamatan_areas()]
        links: dict[str, str] = {n: geomap.board_link(n, extra) for n in places}
        for (kec, village), values in sorted(by_desa.items()):
            point = geomap.desa_point(kec, village)
            if point is not None:
                pins.append((point, values["isu"]))
        svg: str | None = geomap.choropleth_svg(counts, link=links, pins=pins, subject=f"kecamatan {name}")
        top = max([0, *counts.values()])
    else:
        # Kecamatan of another regency: its gazetteer's, without polygons; each a link to its board as OKI's are.
        gazetteer = ctx.config.region_of(code).gazetteer()
        places = list(gazetteer.kecamatan_order) if gazetteer is not None else []
        links = {n: geomap.board_link(n, extra) for n in places}
        outline = geomap.regency_area(code)
        top = sum(v["isu"] for v in by_kecamatan.values())
        svg = (
            geomap.choropleth_svg({outline.nama: top}, areas=[outline], subject=f"batas {outline.nama}")
            if outline is not None
            else None
        )
    by_key = geomap.keyed(by_kecamatan)
    table = []
    for place in dict.fromkeys([*places, *sorted(by_kecamatan)]):  # every kecamatan, then names found only in issues
        values = by_key.pop(geomap.place_key(place), {})
        if values or place in places:
            table.append((place, values.get("isu", 0), values.get("unggahan", 0), links.get(place)))
    table.sort(key=lambda row: (-row[1], row[0]))
    context = {
        "user": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "map_svg": Markup(svg) if svg is not None else None,
        "kecamatan_map": code == geomap.KECAMATAN_REGION,
        "region_name": name,
        "region": code,
        "regions": [(c, ctx.region_name(c)) for c in shown] if len(shown) > 1 else [],
        "legend": geomap.legend(top),
        "table": table,
        "unplaced_pins": len(by_desa) - len(pins) if code == geomap.KECAMATAN_REGION else 0,
        "problems": problems,
        "topic": flt.topic,
        "start": start or "",
        "end": end or "",
        "all_statuses": flt.all_statuses,
        "topic_names": [(t, display.topic_label(t)) for t in TOPICS],
        "api_link": "/api/map?" + urlencode({"level": "kecamatan", **({"region": code} if len(shown) > 1 else {})}),
        "now": now_of(request),
    }
    return ctx.templates.TemplateResponse(request, "map.html", context)
