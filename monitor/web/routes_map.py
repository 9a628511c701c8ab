"""The map: OKI's kecamatan shaded by open issues (page ``/peta``) and the same counts as GeoJSON (``/api/map``).

The counts are the board's: open issues the principal may see, narrowed by topic and, when a
period is given, to issues active in it (last post on or after its start, first post before its end).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

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


def _filter(
    request: Request, topic: str | None, start: str | None, end: str | None, status: str | None, *, api: bool
) -> tuple[MapFilter, list[str]]:
    problems: list[str] = []
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
    return MapFilter(chosen_topic, begin, until, all_statuses=status == "semua"), problems


@api.get(
    "/map",
    summary="Peta isu per kecamatan atau desa (GeoJSON)",
    description=(
        "GeoJSON FeatureCollection; properti setiap fitur memuat `isu` (isu terbuka, sama dengan papan) "
        "dan `unggahan`. Pengguna OPD hanya menghitung isu OPD-nya."
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
) -> JSONResponse:
    """A GeoJSON FeatureCollection; each feature's properties carry `isu` (issues) and `unggahan` (posts)."""
    flt, _ = _filter(request, topic, start, end, status, api=True)
    with web(request).read() as session:
        by_kecamatan, by_desa = place_counts(session, principal, flt)
    if level == "desa":
        body: dict[str, Any] = geomap.desa_features(by_desa)
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
) -> Response:
    """The kecamatan choropleth with desa pins, its numbers as a table, each kecamatan a link to the board."""
    flt, problems = _filter(request, topic, start, end, status, api=False)
    with web(request).read() as session:
        by_kecamatan, by_desa = place_counts(session, principal, flt)
    counts = {name: v["isu"] for name, v in by_kecamatan.items()}
    extra = {"topic": flt.topic or ""}
    links = {a.nama: geomap.board_link(a.nama, extra) for a in geomap.kecamatan_areas()}
    pins = []
    for (kec, village), values in sorted(by_desa.items()):
        point = geomap.desa_point(kec, village)
        if point is not None:
            pins.append((point, values["isu"]))
    table = []
    by_key = geomap.keyed(by_kecamatan)
    for area in geomap.kecamatan_areas():
        values = by_key.get(geomap.place_key(area.nama), {})
        table.append((area.nama, values.get("isu", 0), values.get("unggahan", 0), links[area.nama]))
    table.sort(key=lambda row: (-row[1], row[0]))
    top = max([0, *counts.values()])
    templates = web(request).templates
    context = {
        "user": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "map_svg": Markup(geomap.choropleth_svg(counts, link=links, pins=pins)),
        "legend": geomap.legend(top),
        "table": table,
        "unplaced_pins": len(by_desa) - len(pins),
        "problems": problems,
        "topic": flt.topic,
        "start": start or "",
        "end": end or "",
        "all_statuses": flt.all_statuses,
        "topic_names": [(t, display.topic_label(t)) for t in TOPICS],
        "now": now_of(request),
    }
    return templates.TemplateResponse(request, "map.html", context)
