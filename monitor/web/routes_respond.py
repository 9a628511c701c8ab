"""The agency's answer to an issue (``alerts.respond``): JSON API, issue-page forms, snoozes and silences.

API (bearer token or session + X-CSRF-Token; an agency user only on its own issues, comms and
admin on all; another agency's issue is 404)::

    POST /api/issues/{id}/status   {"status": "diterima"|"diproses"|"selesai"|"bukan_keluhan", "note": "...",
                                    "evidence_url": "https://..." (optional, selesai only)}
    POST /api/issues/{id}/reroute  {"agency": "<code or name>", "note": "..."}
    POST /api/issues/{id}/snooze   {"hours": 1..72, "note": "..."}

Bad input answers 422 ``{"detail": "<field>: <Bahasa message>", "field": "<field>"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import respond
from alerts.directory import Directory
from monitor.domain import response as rules
from monitor.kernel.config import TOPICS
from monitor.store.models import Issue, Silence, Source
from monitor.web import actions, flash, queries
from monitor.web.auth import Principal
from monitor.web.deps import CsrfField, json_object, now_of, require_csrf, require_roles, web

IssueId = Annotated[int, Path(ge=1, le=queries.MAX_ID, description="Nomor isu (angka setelah # di dasbor, mis. 12)")]
ACTORS = ("admin", "comms", "agency")
SILENCERS = ("admin", "comms")

api = APIRouter(prefix="/api", tags=["tanggapan"])
pages = APIRouter(include_in_schema=False)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Tidak masuk / token tidak valid"},
    403: {"description": "Peran tidak diizinkan"},
    404: {"description": "Tidak ditemukan atau di luar wewenang"},
    422: {"description": "Masukan tidak sah; pesan (Bahasa) menyebut kolomnya, `field` juga"},
}


class StepOut(BaseModel):
    """One step of the issue's answer."""

    at: datetime
    kind: str
    status: str
    label: str
    agency_code: str | None
    to_agency: str | None
    note: str | None
    evidence_url: str | None
    until: datetime | None
    actor: str
    channel: str


class ResponseOut(BaseModel):
    """The issue's answer after the request."""

    issue_id: int
    response_status: str
    response_label: str
    agency_code: str | None
    history: list[StepOut]


def _out(session: Session, issue: Issue) -> ResponseOut:
    steps = [
        StepOut(
            at=r.at,
            kind=r.kind,
            status=r.status,
            label=rules.status_label(r.status),
            agency_code=r.agency_code,
            to_agency=r.to_agency,
            note=r.note,
            evidence_url=r.evidence_url,
            until=r.until,
            actor=r.actor,
            channel=r.channel,
        )
        for r in respond.history(session, issue.id)
    ]
    status = issue.response_status or rules.BELUM
    return ResponseOut(
        issue_id=issue.id,
        response_status=status,
        response_label=rules.status_label(status),
        agency_code=issue.agency_code,
        history=steps,
    )


def _text(data: dict[str, Any], key: str) -> str | rules.Refusal | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    return rules.Refusal("not_text", key, f"{key}: harus berupa teks")


Act = Callable[[Session, Issue, datetime], None]


# The three steps, as the API (channel "api") and the issue page's forms (channel "dashboard") both take them.


def _set_status(config: Directory, actor: str, channel: str, status: str, note: str | None, url: str | None) -> Act:
    def act(session: Session, issue: Issue, now: datetime) -> None:
        respond.set_status(
            session, config, issue, status, note, actor=actor, channel=channel, now=now, evidence_url=url
        )

    return act


def _reroute(config: Directory, actor: str, channel: str, agency: str | None, note: str | None) -> Act:
    def act(session: Session, issue: Issue, now: datetime) -> None:
        respond.reroute(session, config, issue, agency, note, actor=actor, channel=channel, now=now)

    return act


def _snooze(actor: str, channel: str, hours: object, note: str | None) -> Act:
    def act(session: Session, issue: Issue, now: datetime) -> None:
        respond.snooze(session, issue, hours, note, actor=actor, channel=channel, now=now)

    return act


async def _fields(
    request: Request, example: str, keys: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, str | None]] | JSONResponse:
    """CSRF, then the JSON body and its text fields ``keys``; a 422 naming the field when one is wrong."""
    require_csrf(request, request.headers.get("x-csrf-token"))
    data = await json_object(request, example)
    if isinstance(data, JSONResponse):
        return data
    texts: dict[str, str | None] = {}
    for key in keys:
        value = _text(data, key)
        if isinstance(value, rules.Refusal):
            return JSONResponse({"detail": value.message, "field": value.field}, status_code=422)
        texts[key] = value
    return data, texts


def _apply(request: Request, principal: Principal, issue_id: int, act: Act) -> JSONResponse:
    ctx = web(request)
    now = now_of(request)
    try:
        with ctx.db.session() as session:
            issue = queries.get_visible_issue(session, principal, issue_id)
            if issue is None:
                out = None
            else:
                act(session, issue, now)
                session.flush()
                out = _out(session, issue)
    except respond.RespondError as exc:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)
    if out is None:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    ctx.changed()
    ctx.audit(principal.username, "issue.response", f"issue:{issue_id}", status=out.response_status)
    return JSONResponse(out.model_dump(mode="json"))


def _body_schema(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "example": example}}},
        }
    }


@api.post(
    "/issues/{issue_id}/status",
    response_model=ResponseOut,
    responses=_ERRORS,
    summary="Ubah status tanggapan isu",
    description=(
        "Isi badan JSON: `status` (`diterima`, `diproses` dengan `note`, `selesai` dengan `note` dan "
        "boleh `evidence_url`, atau `bukan_keluhan` dengan `note`). Hanya OPD yang memegang isu (atau tim "
        "komunikasi/admin). Isian salah: 422 dengan pesan yang menyebut kolomnya."
    ),
    openapi_extra=_body_schema({"status": "diproses", "note": "Tim sudah ke lokasi"}),
)
async def api_status(
    request: Request, issue_id: IssueId, principal: Annotated[Principal, Depends(require_roles(*ACTORS))]
) -> JSONResponse:
    """``diterima``, ``diproses`` (note), ``selesai`` (note, optional ``evidence_url``), ``bukan_keluhan`` (reason)."""
    parsed = await _fields(request, '{"status": "diproses", "note": "..."}', ("status", "note", "evidence_url"))
    if isinstance(parsed, JSONResponse):
        return parsed
    fields = parsed[1]
    if not fields["status"]:
        return JSONResponse({"detail": f"status: wajib diisi ({', '.join(rules.SETTABLE)})", "field": "status"}, 422)
    config, actor = web(request).config, principal.username
    act = _set_status(config, actor, "api", str(fields["status"]), fields["note"], fields["evidence_url"])
    return await run_in_threadpool(_apply, request, principal, issue_id, act)


@api.post(
    "/issues/{issue_id}/reroute",
    response_model=ResponseOut,
    responses=_ERRORS,
    summary="Alihkan isu ke OPD lain (salah dinas)",
    description=(
        "Isi badan JSON: `agency` (kode atau nama OPD tujuan) dan `note`. OPD tujuan langsung diberi "
        "tahu; riwayat isu ikut pindah."
    ),
    openapi_extra=_body_schema({"agency": "dinsos", "note": "Ini soal bansos, bukan jalan"}),
)
async def api_reroute(
    request: Request, issue_id: IssueId, principal: Annotated[Principal, Depends(require_roles(*ACTORS))]
) -> JSONResponse:
    """Hand the issue to the agency named (its code or its name); it is told at once, the history moves along."""
    parsed = await _fields(request, '{"agency": "dinsos", "note": "..."}', ("agency", "note"))
    if isinstance(parsed, JSONResponse):
        return parsed
    fields = parsed[1]
    act = _reroute(web(request).config, principal.username, "api", fields["agency"], fields["note"])
    return await run_in_threadpool(_apply, request, principal, issue_id, act)


@api.post(
    "/issues/{issue_id}/snooze",
    response_model=ResponseOut,
    responses=_ERRORS,
    summary="Tunda peringatan isu (24 jam / 3 hari)",
    description=(
        "Isi badan JSON: `hours` (1-72) dan `note` (alasan). Pengingat berhenti sementara; batas waktu "
        "LAPOR! tetap berjalan."
    ),
    openapi_extra=_body_schema({"hours": 24, "note": "Menunggu jadwal alat berat"}),
)
async def api_snooze(
    request: Request, issue_id: IssueId, principal: Annotated[Principal, Depends(require_roles(*ACTORS))]
) -> JSONResponse:
    """Mute the issue's alerts for 1-72 hours with a reason (deadlines keep running)."""
    parsed = await _fields(request, '{"hours": 24, "note": "..."}', ("note",))
    if isinstance(parsed, JSONResponse):
        return parsed
    data, fields = parsed
    act = _snooze(principal.username, "api", data.get("hours"), fields["note"])
    return await run_in_threadpool(_apply, request, principal, issue_id, act)


# ---------------------------------------------------------------- issue-page forms


def _form_action(request: Request, principal: Principal, issue_id: int, csrf_token: str, act: Act) -> Response:
    require_csrf(request, csrf_token)
    ctx = web(request)
    now = now_of(request)
    try:
        with ctx.db.session() as session:
            issue = queries.get_visible_issue(session, principal, issue_id)
            if issue is not None:
                act(session, issue, now)
                after = issue.agency_code
    except respond.RespondError as exc:
        return flash.redirect(request, f"/issues/{issue_id}", f"Gagal: {exc}", error=True)
    if issue is None:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    ctx.changed()
    if principal.scope_agency is not None and after != principal.scope_agency:
        # Handed to another agency: this officer no longer sees it.
        name = ctx.agency_name(after)
        context = {
            "user": principal,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "heading": "Isu dialihkan",
            "message": f"Isu #{issue_id} dialihkan ke {name}; {name} sudah diberi tahu. Riwayatnya ikut pindah.",
        }
        return ctx.templates.TemplateResponse(request, "notice.html", context)
    return flash.redirect(request, f"/issues/{issue_id}#tanggapan", "Tanggapan dicatat.")


@pages.post("/issues/{issue_id}/status")
def form_status(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
    status: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=rules.NOTE_MAX + 100)] = "",
    evidence_url: Annotated[str, Form(max_length=2100)] = "",
) -> Response:
    act = _set_status(web(request).config, principal.username, "dashboard", status, note, evidence_url or None)
    return _form_action(request, principal, issue_id, csrf_token, act)


@pages.post("/issues/{issue_id}/reroute")
def form_reroute(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
    agency: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=rules.NOTE_MAX + 100)] = "",
) -> Response:
    act = _reroute(web(request).config, principal.username, "dashboard", agency, note)
    return _form_action(request, principal, issue_id, csrf_token, act)


@pages.post("/issues/{issue_id}/snooze")
def form_snooze(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
    hours: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=rules.NOTE_MAX + 100)] = "",
) -> Response:
    parsed: object = int(hours) if hours.strip().isdigit() else hours
    act = _snooze(principal.username, "dashboard", parsed, note)
    return _form_action(request, principal, issue_id, csrf_token, act)


# ---------------------------------------------------------------- silences (comms)


def _render(request: Request, principal: Principal, status: int = 200, **context: Any) -> Response:
    context.update(user=principal, csrf_token=getattr(request.state, "csrf_token", ""))
    return web(request).templates.TemplateResponse(request, "silences.html", context, status_code=status)


def _silence_rows(session: Session, now: datetime, region: str | None) -> tuple[list[Silence], list[Silence]]:
    rows = list(session.scalars(select(Silence).order_by(Silence.starts_at.desc(), Silence.id.desc()).limit(300)))
    if region is not None:
        regions = _regions_of(session, rows)
        rows = [r for r in rows if regions[r.id] == region]
    active = [s for s in rows if s.starts_at <= now and (s.ends_at is None or s.ends_at > now)]
    ended = [s for s in rows if s not in active][:50]
    return active, ended


def _regions_of(session: Session, rows: list[Silence]) -> dict[int, str | None]:
    """Each silence's region (:func:`rules.silence_region`), reading the issues and sources they name at once."""
    issue_ids = {int(i) for r in rows for i in (r.matchers or {}).get("issue_id") or [] if str(i).isdigit()}
    names = {str(n) for r in rows for n in (r.matchers or {}).get("source") or []}
    issues = {
        str(i): code for i, code in session.execute(select(Issue.id, Issue.region_code).where(Issue.id.in_(issue_ids)))
    }
    of_source = select(Source.name, Source.region_code).where(Source.name.in_(names))
    sources = {name: code for name, code in session.execute(of_source)}
    return {r.id: rules.silence_region(r.matchers or {}, issues, sources) for r in rows}


def _kecamatan_of(ctx: Any, region: str | None) -> tuple[str, ...]:
    """The kecamatan a silence may name: its region's (the deployment's own for None), as the board's filter."""
    return actions.kecamatan_names(ctx.config, region)


ALL_REGIONS = "semua"
"""The region choice of a silence of every region (the form's ``wilayah``)."""


def _region_choices(ctx: Any, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the regions a user of every region picks a silence's region from, in a deployment of
    several; none for a user of one region (its silences are its region's) or a deployment of one."""
    regions = ctx.regions_for(principal)
    return [(code, ctx.region_name(code)) for code in regions] if len(regions) > 1 else []


@pages.get("/silences", response_class=HTMLResponse)
def silences_page(request: Request, principal: Annotated[Principal, Depends(require_roles(*SILENCERS))]) -> Response:
    """Silences in force (issue snoozes included) and the recently ended ones; a form for a new one.

    A user of one region sees and makes only that region's silences; a user of every region, in a
    deployment of several, picks the region a new one mutes (or every region).
    """
    ctx = web(request)
    now = now_of(request)
    region = principal.scope_region
    choices = _region_choices(ctx, principal)
    with ctx.read() as session:
        active, ended = _silence_rows(session, now, region)
        sources = [s.name for s in queries.sources(session, region) if not s.name.startswith("_")]
    # Each region's kecamatan under its name: the same name can be a kecamatan of two regencies.
    kecamatan = [(name, sorted(_kecamatan_of(ctx, code))) for code, name in choices] or [
        ("", sorted(_kecamatan_of(ctx, region)))
    ]
    return _render(
        request,
        principal,
        active=active,
        ended=ended,
        topics=TOPICS,
        kecamatan=kecamatan,
        sources=sources,
        regions=choices,
        all_regions=ALL_REGIONS,
        describe=rules.describe_silence,
    )


@pages.post("/silences")
def silences_add(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*SILENCERS))],
    csrf_token: CsrfField = "",
    topic: Annotated[str, Form(max_length=40)] = "",
    kecamatan: Annotated[str, Form(max_length=40)] = "",
    source: Annotated[str, Form(max_length=100)] = "",
    hours: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=rules.NOTE_MAX + 100)] = "",
    wilayah: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A comms silence: topic × kecamatan, or a source, for a period, with a reason.

    A user of one region silences its region only: its sources, its kecamatan, its region's alerts
    (whatever ``wilayah`` says). A user of every region in a deployment of several must choose
    ``wilayah``: one region (its kecamatan and sources only) or ``semua`` (every region).
    """
    require_csrf(request, csrf_token)
    ctx = web(request)
    now = now_of(request)
    region = principal.scope_region
    choices = dict(_region_choices(ctx, principal))
    problem = None
    if region is None and choices:
        picked = wilayah.strip()
        if picked in choices:
            region = picked
        elif picked != ALL_REGIONS:
            problem = "wilayah: pilih wilayah yang dibisukan, atau semua wilayah"
    with ctx.db.session() as session:
        known_sources = {s.name for s in queries.sources(session, region)}
        # Every region: a kecamatan of any of them (the silence then mutes that name wherever it is).
        names = (
            {k for code in choices for k in _kecamatan_of(ctx, code)}
            if choices and region is None
            else set(_kecamatan_of(ctx, region))
        )
        decided = (
            rules.Refusal("region_missing", "wilayah", problem)
            if problem
            else rules.decide_silence(
                topic, kecamatan, source, hours, note, topics=TOPICS, kecamatan_names=names, sources=known_sources
            )
        )
        refused = isinstance(decided, rules.Refusal)
        if isinstance(decided, rules.Refusal):
            message = "Gagal: " + decided.message
        else:
            matchers = dict(decided.matchers)
            if region is not None and "source" not in matchers:
                matchers["region"] = [region]  # another regency's kecamatan of the same name stays loud
            session.add(
                Silence(
                    matchers=matchers,
                    starts_at=now,
                    ends_at=now + timedelta(hours=decided.hours),
                    created_by=principal.username,
                    comment=decided.note,
                )
            )
            message = "Pembisuan dibuat."
    ctx.audit(principal.username, "silence.create", None, ok=not refused)
    return flash.redirect(request, "/silences", message, error=refused)


@pages.post("/silences/{silence_id}/end")
def silences_end(
    request: Request,
    silence_id: Annotated[int, Path(ge=1, le=queries.MAX_ID)],
    principal: Annotated[Principal, Depends(require_roles(*SILENCERS))],
    csrf_token: CsrfField = "",
) -> Response:
    """End a silence (or an agency's snooze) now."""
    require_csrf(request, csrf_token)
    ctx = web(request)
    now = now_of(request)
    with ctx.db.session() as session:
        row = session.get(Silence, silence_id)
        region = principal.scope_region
        if row is None or (region is not None and _regions_of(session, [row])[row.id] != region):
            raise HTTPException(404, f"Pembisuan #{silence_id} tidak ditemukan.")
        if row.ends_at is None or row.ends_at > now:
            row.ends_at = now
    ctx.audit(principal.username, "silence.end", f"silence:{silence_id}")
    return flash.redirect(request, "/silences", "Pembisuan diakhiri.")
