"""Who responds: the page ``/kinerja`` and ``GET /api/agencies/performance`` (per agency and period).

The numbers come from :mod:`monitor.reports.kinerja`; an agency user sees only its own row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from monitor.kernel.clock import to_wib
from monitor.reports import backtest, kinerja
from monitor.web import exports, svg
from monitor.web.auth import Principal
from monitor.web.deps import current_principal, now_of, web

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["kinerja"])


class AgencyPerformanceOut(BaseModel):
    """One agency's numbers for the period (hours are calendar hours from the agency's first alert)."""

    agency: str
    name: str
    received: int
    acknowledged: int
    responded: int
    finished: int
    median_hours_to_acknowledge: float | None
    median_hours_to_first_response: float | None
    median_hours_to_finish: float | None
    share_within_deadline: float | None
    """0..1 of the issues whose response clock has run out or been met, with no LAPOR! clock missed."""
    viral_before_acknowledged: int
    """*Viral sebelum ditanggapi*: issues that reached the viral stage before the agency acknowledged them."""
    overdue_now: int


class PerformanceOut(BaseModel):
    """The performance table for a period (WIB dates, inclusive)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    agencies: list[AgencyPerformanceOut]


def _rows(
    request: Request, principal: Principal, raw_from: str | None, raw_to: str | None, sort: str, desc: bool
) -> tuple[kinerja.Period, list[kinerja.AgencyRow]]:
    ctx = web(request)
    now = now_of(request)
    try:
        period = kinerja.parse_period(raw_from, raw_to, to_wib(now).date())
    except kinerja.PeriodError as exc:
        raise HTTPException(422, str(exc)) from None
    with ctx.read() as session:
        rows = kinerja.agency_performance(
            session, ctx.config, period, now, agency=principal.scope_agency, region=principal.scope_region
        )
    return period, kinerja.sort_rows(rows, sort, desc)


def _out(r: kinerja.AgencyRow) -> AgencyPerformanceOut:
    def rounded(v: float | None, digits: int = 2) -> float | None:
        return None if v is None else round(v, digits)

    return AgencyPerformanceOut(
        agency=r.agency,
        name=r.name,
        received=r.received,
        acknowledged=r.acknowledged,
        responded=r.responded,
        finished=r.finished,
        median_hours_to_acknowledge=rounded(r.median_ack_hours),
        median_hours_to_first_response=rounded(r.median_response_hours),
        median_hours_to_finish=rounded(r.median_finish_hours),
        share_within_deadline=rounded(r.share_within_deadline, 3),
        viral_before_acknowledged=r.viral_before_ack,
        overdue_now=r.overdue_now,
    )


@api.get(
    "/agencies/performance",
    response_model=None,
    responses={
        200: {
            "content": {"application/json": {}, "text/csv": {}, exports.XLSX_MEDIA_TYPE: {}},
            "model": PerformanceOut,
        },
        422: {"description": "Tanggal tidak valid (pesan menyebut kolomnya)"},
    },
    summary="Kinerja OPD per periode",
    description=(
        "Per OPD: isu diterima, median waktu sampai diterima, sampai tanggapan pertama dan sampai "
        "selesai, persen tepat waktu menurut batas LAPOR! dan isu yang viral sebelum ditanggapi. Pengguna "
        "OPD hanya mendapat barisnya sendiri."
    ),
)
def api_performance(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    from_: Annotated[
        str | None,
        Query(alias="from", max_length=10, description="Awal periode, YYYY-MM-DD (WIB); bawaan 30 hari terakhir"),
    ] = None,
    to: Annotated[
        str | None, Query(max_length=10, description="Akhir periode, YYYY-MM-DD (WIB), termasuk hari itu")
    ] = None,
    sort: Annotated[
        kinerja.SortKey, Query(description="Kolom pengurutan, mis. `agency`, `received`, `viral_before_ack`")
    ] = "agency",
    desc: Annotated[bool, Query(description="`true`: urutan menurun")] = False,
    format: Annotated[
        Literal["json", "csv", "xlsx"],
        Query(description="`json` (bawaan), atau berkas `csv` / `xlsx` berisi tabel yang sama"),
    ] = "json",
) -> Response:
    """Per agency: issues received, median time to acknowledge, to first response and to finish, share within
    the LAPOR! deadlines and *viral sebelum ditanggapi*. Default period: the last 30 days. An agency user gets
    its own row only. ``format=csv|xlsx`` downloads the same table (audit-logged)."""
    period, rows = _rows(request, principal, from_, to, sort, desc)
    if format == "json":
        body = PerformanceOut(
            **{"from": period.start.isoformat()}, to=period.end.isoformat(), agencies=[_out(r) for r in rows]
        )
        return JSONResponse(body.model_dump(by_alias=True))
    web(request).audit(
        principal.username,
        "export",
        "kinerja",
        format=format,
        rows=len(rows),
        start=period.start.isoformat(),
        end=period.end.isoformat(),
    )
    values = [kinerja.row_values(r) for r in rows]
    name = f"kinerja-opd-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    if format == "xlsx":
        payload, media = exports.table_xlsx("kinerja", kinerja.HEADER, values), exports.XLSX_MEDIA_TYPE
    else:
        cells = [
            [exports.plain_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in row] for row in values
        ]
        payload, media = exports.table_csv(kinerja.HEADER, cells), "text/csv; charset=utf-8"
    return Response(
        payload, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    )


COLUMNS: tuple[tuple[str, str], ...] = (
    ("agency", "OPD"),
    ("received", "Isu diterima"),
    ("median_ack_hours", "Median konfirmasi"),
    ("median_response_hours", "Median tanggapan pertama"),
    ("median_finish_hours", "Median selesai"),
    ("share_within_deadline", "Tepat waktu"),
    ("viral_before_ack", "Viral sebelum ditanggapi"),
    ("overdue_now", "Lewat batas sekarang"),
)


@pages.get("/kinerja", response_class=HTMLResponse)
def kinerja_page(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    sort: Annotated[str, Query(max_length=30)] = "viral_before_ack",
    desc: bool = True,
) -> Response:
    """The regent's number: who answers in time and who lets an issue go viral first."""
    problem = None
    if sort not in kinerja.SORT_KEYS:
        problem, sort = f"sort: kolom {sort[:30]!r} tidak dikenal", "viral_before_ack"
    try:
        period, rows = _rows(request, principal, from_, to, sort, desc)
    except HTTPException as exc:
        problem = str(exc.detail)
        period, rows = _rows(request, principal, None, None, sort, desc)
    labels = [r.name for r in rows]
    chart = svg.bar_chart(
        labels,
        [None if r.share_within_deadline is None else r.share_within_deadline * 100 for r in rows],
        top=100,
        unit="%",
        title="Persen isu yang ditangani dalam batas waktu",
    )
    viral_chart = svg.bar_chart(
        labels, [float(r.viral_before_ack) for r in rows], title="Isu yang viral sebelum ditanggapi"
    )
    query = f"from={period.start.isoformat()}&to={period.end.isoformat()}"
    lead_weeks: list[Any] = []
    if principal.scope_agency is None:
        # Lead time is the monitor's own figure across agencies: comms and analysts see it.
        with web(request).read() as session:
            timelines = backtest.stored_timelines(
                session, period.start_utc, period.end_utc, region=principal.scope_region
            )
        lead_weeks = [(monday, totals) for monday, _outcomes, totals in backtest.weekly(timelines)]
    templates = web(request).templates
    context = {
        "user": principal,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "rows": rows,
        "columns": COLUMNS,
        "sort": sort,
        "desc": desc,
        "period": period,
        "query": query,
        "problem": problem,
        "chart": Markup(chart),
        "viral_chart": Markup(viral_chart),
        "hours_text": kinerja.hours_text,
        "share_text": kinerja.share_text,
        "lead_weeks": lead_weeks,
    }
    return templates.TemplateResponse(request, "kinerja.html", context, status_code=400 if problem else 200)
