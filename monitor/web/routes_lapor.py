"""The LAPOR! page: upload a ticket export (admin and comms), see what it did and the files imported before.

The upload goes through the same import as the folder job and ``oki-monitor import-lapor``
(:mod:`monitor.stages.lapor`). Its size is checked from ``Content-Length`` before the body is read,
so an oversized file is refused without being spooled to disk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from collectors.lapor import MAX_FILE_BYTES
from monitor.stages.lapor import LaporReport, import_export
from monitor.store.models import Source
from monitor.web.auth import Principal
from monitor.web.deps import now_of, require_csrf, require_roles, web

IMPORTERS = ("admin", "comms")
FORM_OVERHEAD = 64 * 1024
"""Room for the multipart framing and the CSRF field around the file."""
RECENT_FILES = 20

pages = APIRouter(include_in_schema=False)


def _recent(request: Request) -> list[dict[str, Any]]:
    """The newest imported files (name, time, tickets, clean or not), from the source's cursor."""
    ctx = web(request)
    with ctx.read() as session:
        row = session.scalar(select(Source).where(Source.name == ctx.config.lapor.source))
        files = ((row.cursor if row else None) or {}).get("files") or {}
    recent = []
    for info in reversed(list(files.values())[-RECENT_FILES:]):
        if not isinstance(info, dict):
            continue
        try:
            at = datetime.fromisoformat(str(info.get("at")))
        except ValueError:
            continue
        recent.append(
            {"file": str(info.get("file", "")), "at": at, "tickets": info.get("tickets", 0), "ok": info.get("ok")}
        )
    return recent


def _page(request: Request, principal: Principal, status_code: int = 200, **context: Any) -> Response:
    ctx = web(request)
    context.update(
        user=principal,
        csrf_token=getattr(request.state, "csrf_token", ""),
        recent=_recent(request),
        folder=ctx.config.lapor.folder,
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
    )
    context.setdefault("report", None)
    context.setdefault("problem", None)
    return ctx.templates.TemplateResponse(request, "lapor.html", context, status_code=status_code)


def _own_region(request: Request, principal: Principal) -> None:
    """A user of one region imports only into that region: the LAPOR! source's tickets are its region's posts
    (and its file list is that region's); another region's user is refused (403, in Bahasa)."""
    ctx = web(request)
    lapor_region = ctx.config.source_region(ctx.config.lapor.source)
    if principal.scope_region is not None and principal.scope_region != lapor_region:
        ctx.audit(principal.username, "access_denied", request.url.path, region=principal.scope_region)
        raise HTTPException(
            403,
            f"Tiket LAPOR! di sini masuk ke {ctx.region_name(lapor_region)}; "
            "akun wilayah lain tidak diizinkan membuka halaman ini.",
        )


@pages.get("/lapor", response_class=HTMLResponse)
def lapor_page(request: Request, principal: Annotated[Principal, Depends(require_roles(*IMPORTERS))]) -> Response:
    """The upload form and the files imported before."""
    _own_region(request, principal)
    return _page(request, principal)


@pages.post("/lapor", response_class=HTMLResponse)
async def lapor_upload(
    request: Request, principal: Annotated[Principal, Depends(require_roles(*IMPORTERS))]
) -> Response:
    """Import one uploaded export; the page shows what was stored and every rejected row."""
    _own_region(request, principal)
    try:
        length = int(request.headers.get("content-length", ""))
    except ValueError:
        return _page(request, principal, 411, problem="Ukuran unggahan tidak diketahui (Content-Length).")
    if length > MAX_FILE_BYTES + FORM_OVERHEAD:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return _page(
            request, principal, 413, problem=f"Berkas terlalu besar (maks {limit} MB). Pecah ekspor per bulan."
        )
    form = await request.form(max_files=1, max_fields=4)
    require_csrf(request, str(form.get("csrf_token") or ""))
    upload = form.get("berkas")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, principal, 400, problem="Pilih berkas ekspor LAPOR! (CSV atau XLSX) dulu.")
    data = await upload.read(MAX_FILE_BYTES + 1)
    ctx = web(request)
    report: LaporReport = await run_in_threadpool(
        import_export, ctx.db, ctx.config, data, upload.filename, now_of(request)
    )
    ctx.audit(
        principal.username,
        "lapor_import",
        f"file:{report.file}",
        sha256=report.sha256,
        tickets=report.tickets,
        stored=report.stored,
        status_changes=report.status_changes,
        rejected=len(report.errors) + report.more_errors,
    )
    if report.stored or report.status_changes:
        ctx.changed()
    return _page(request, principal, 422 if report.file_error else 200, report=report)
