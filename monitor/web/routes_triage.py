"""The triage list for the comms team: a page (one click labels a post) and its JSON API.

Labels are stored as corrections (:mod:`monitor.stages.corrections`, source ``triage``) and feed the
scheduled retrain, whose recent runs the page also shows (:mod:`monitor.stages.retrain`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from classifiers.taxonomy import TOPIC_LABELS
from monitor.domain.display import safe_url
from monitor.reports.triage import (
    TriageInputError,
    TriageItem,
    is_labelled_post,
    parse_label,
    triage_count,
    triage_list,
)
from monitor.stages.corrections import record_corrections
from monitor.stages.retrain import reason_text
from monitor.store.models import ModelRun
from monitor.web import flash, queries
from monitor.web.auth import Principal
from monitor.web.deps import json_object, now_of, require_csrf, require_roles, web

PostId = Annotated[int, Path(ge=1, le=queries.MAX_BIG_ID, description="Nomor unggahan (dari GET /api/triage)")]
TRIAGERS = ("admin", "comms")
"""Who triages: the comms team (and admins). Agency users see only their own issues, analysts only read."""
PAGE_ITEMS = 50

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api")

RUN_STATUS = {"promoted": "dipromosikan", "refused": "ditolak", "skipped": "dilewati", "failed": "gagal"}
RUN_TRIGGER = {"schedule": "jadwal", "cli": "manual"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Tidak masuk / token tidak valid"},
    403: {"description": "Hanya tim komunikasi (comms) dan admin"},
    404: {"description": "Unggahan tidak ditemukan atau belum diklasifikasi"},
    422: {"description": "Label tidak sah; pesan menyebut kolomnya"},
}


def _pct(value: float) -> str:
    return f"{float(value) * 100:.0f}%"


def _label_post(request: Request, principal: Principal, post_id: int, data: dict[str, Any]) -> dict[str, object]:
    """Validate and store one triage label; TriageInputError for bad input, 404 for an unknown post."""
    fields = parse_label(data)
    ctx = web(request)
    with ctx.db.session() as session:
        if not is_labelled_post(session, post_id, principal.scope_region):
            missing = True
        else:
            missing = False
            record_corrections(
                session, post_id, fields, user_id=principal.user_id, source="triage", now=now_of(request)
            )
            ctx.audit_in(session, principal.username, "triage_label", f"post:{post_id}", **fields)
    if missing:
        raise HTTPException(404, f"Unggahan #{post_id} tidak ditemukan atau belum diklasifikasi.")
    ctx.changed()
    return fields


def _done_message(fields: dict[str, object]) -> str:
    if not fields.get("relevant"):
        return "bukan OKI"
    if not fields.get("is_complaint"):
        return "tentang OKI, bukan keluhan"
    return f"keluhan OKI, topik {TOPIC_LABELS.get(str(fields.get('topic')), fields.get('topic'))}"


# ---------------------------------------------------------------- page


@pages.get("/triage", response_class=HTMLResponse)
def triage_page(request: Request, principal: Annotated[Principal, Depends(require_roles(*TRIAGERS))]) -> Response:
    """Uncertain posts that may be OKI complaints, and the recent retrain runs."""
    ctx = web(request)
    with ctx.read() as session:
        items = triage_list(session, ctx.config, limit=PAGE_ITEMS, region=principal.scope_region)
        total = triage_count(session, ctx.config, principal.scope_region)
        newest = select(ModelRun).order_by(ModelRun.started_at.desc(), ModelRun.id.desc()).limit(10)
        runs = list(session.scalars(newest))
    ctx.audit_view(principal.username, "view_triage", None, shown=len(items))
    templates = ctx.templates
    return templates.TemplateResponse(
        request,
        "triage.html",
        {
            "user": principal,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "items": items,
            "total": total,
            "runs": runs,
            "retrain": ctx.config.classifier.retrain,
            "topic_names": list(TOPIC_LABELS.items()),
            "pct": _pct,
            "safe_url": safe_url,
            "reason_text": reason_text,
            "status_name": lambda s: RUN_STATUS.get(s, s),
            "trigger_label": lambda t: RUN_TRIGGER.get(t, t),
        },
    )


@pages.post("/triage/{post_id}")
async def triage_label_form(
    request: Request, post_id: PostId, principal: Annotated[Principal, Depends(require_roles(*TRIAGERS))]
) -> Response:
    """One click on the page: store the label, back to the list with a message."""
    # Closed when the block ends: a file part a client sends anyway is spooled, and only closing removes it.
    async with request.form() as form:
        require_csrf(request, str(form.get("csrf_token") or ""))
        data = {k: str(form.get(k)) for k in ("relevant", "is_complaint", "topic") if form.get(k) not in (None, "")}
    try:
        fields = await run_in_threadpool(_label_post, request, principal, post_id, data)
    except TriageInputError as exc:
        return flash.redirect(request, "/triage", f"Gagal: {exc}", error=True)
    message = f"Unggahan #{post_id} dilabeli: {_done_message(fields)}. Disimpan untuk pelatihan ulang."
    return flash.redirect(request, "/triage", message)


# ---------------------------------------------------------------- API


@dataclass(frozen=True, slots=True)
class TriageOut(TriageItem):
    """A post waiting for triage, with the model's uncertain guess."""

    topic_name: str

    @classmethod
    def of(cls, item: TriageItem) -> TriageOut:
        """The item as the API shows it: every field of :class:`TriageItem`, plus the topic's name.

        The fields are inherited and copied by name, so one added to the item reaches the API too.
        """
        copied = {f.name: getattr(item, f.name) for f in fields(item)}
        return cls(**copied, topic_name=TOPIC_LABELS.get(item.topic, item.topic))


class TriageLabelIn(BaseModel):
    """A triage label (for the API documentation; the body is validated with messages in Bahasa)."""

    relevant: bool
    is_complaint: bool | None = None
    topic: str | None = None


class TriageLabelOut(BaseModel):
    post_id: int
    stored: dict[str, bool | str]


@api.get(
    "/triage",
    response_model=list[TriageOut],
    responses=ERRORS,
    summary="Daftar triase",
    description=(
        "Unggahan yang mungkin keluhan tentang OKI dan belum dilabeli siapa pun, terbaru dulu (tim "
        "komunikasi dan admin)."
    ),
)
def api_triage(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*TRIAGERS))],
    limit: Annotated[int, Query(ge=1, le=500, description="Jumlah baris paling banyak dalam satu jawaban")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Lewati sekian baris pertama (untuk halaman berikutnya)")
    ] = 0,
) -> list[TriageOut]:
    """Uncertain posts that may be OKI complaints and nobody has labelled yet, newest first (comms/admin)."""
    ctx = web(request)
    with ctx.read() as session:
        items = triage_list(session, ctx.config, limit=limit, offset=offset, region=principal.scope_region)
    ctx.audit_view(principal.username, "view_triage", None, shown=len(items), via="api")
    return [TriageOut.of(i) for i in items]


@api.post(
    "/triage/{post_id}",
    response_model=TriageLabelOut,
    responses=ERRORS,
    summary="Beri label triase",
    description=(
        "Isi badan JSON: `relevant` (tentang OKI atau bukan), `is_complaint` (keluhan atau bukan) dan "
        "`topic` (nama atau kunci topik). Label disimpan sebagai koreksi untuk pelatihan ulang."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TriageLabelIn.model_json_schema()}},
        }
    },
)
async def api_triage_label(
    request: Request, post_id: PostId, principal: Annotated[Principal, Depends(require_roles(*TRIAGERS))]
) -> JSONResponse:
    """Label one post: ``{"relevant": true, "is_complaint": true, "topic": "Air bersih"}`` (topic by key or name).

    ``{"relevant": false}`` is "bukan OKI"; ``{"relevant": true, "is_complaint": false}`` is "tentang
    OKI, bukan keluhan". Stored as corrections for retraining; the post leaves the list. A bad
    label is answered 422 with ``field`` (the JSON key) and a message naming it in Bahasa. Browser
    sessions must send X-CSRF-Token.
    """
    require_csrf(request, request.headers.get("x-csrf-token"))
    data = await json_object(request, '{"relevant": false}')
    if isinstance(data, JSONResponse):
        return data
    try:
        fields = await run_in_threadpool(_label_post, request, principal, post_id, data)
    except TriageInputError as exc:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)
    return JSONResponse(TriageLabelOut.model_validate({"post_id": post_id, "stored": fields}).model_dump())
