"""The LAPOR! page: upload a ticket export (admin and comms), see what it did and the files imported before.

Each regency has its own LAPOR! inbox: a user of one region imports into its region; a user of every
region picks the regency the export is of (the deployment's own by default).

The upload goes through the same import as the folder job and ``oki-monitor import-lapor``
(:mod:`monitor.stages.lapor`). Its size is checked from ``Content-Length`` before the body is read,
so an oversized file is refused without being spooled to disk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
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


def _recent(request: Request, regions: list[str]) -> list[dict[str, Any]]:
    """The newest imported files of ``regions`` (name, time, tickets, clean or not, region), from each region's
    LAPOR! source's cursor, newest first."""
    ctx = web(request)
    names = {ctx.config.lapor_source(code): code for code in regions}
    with ctx.read() as session:
        rows = list(session.execute(select(Source.name, Source.cursor).where(Source.name.in_(names))))
    recent = []
    for name, cursor in rows:
        files = (cursor or {}).get("files") or {}
        for info in list(files.values())[-RECENT_FILES:]:
            if not isinstance(info, dict):
                continue
            try:
                at = datetime.fromisoformat(str(info.get("at")))
            except ValueError:
                continue
            recent.append(
                {
                    "file": str(info.get("file", "")),
                    "at": at,
                    "tickets": info.get("tickets", 0),
                    "ok": info.get("ok"),
                    "region": ctx.region_name(names[name]),
                }
            )
    # Newest first; within one region, files of one moment stay newest-remembered first.
    recent.reverse()
    recent.sort(key=lambda f: f["at"], reverse=True)
    return recent[:RECENT_FILES]


def _page(request: Request, principal: Principal, status_code: int = 200, **context: Any) -> Response:
    ctx = web(request)
    regions = ctx.regions_for(principal)
    context.update(
        user=principal,
        csrf_token=getattr(request.state, "csrf_token", ""),
        recent=_recent(request, regions),
        folder=ctx.config.lapor.folder,
        home_region=ctx.region_name(ctx.config.region_code),  # the folder job's tickets are the own region's
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
        # Several regions in view: the upload names the regency whose inbox the export is.
        regions=[(code, ctx.region_name(code)) for code in regions] if len(regions) > 1 else [],
    )
    context.setdefault("report", None)
    context.setdefault("problem", None)
    context.setdefault("chosen", ctx.config.region_code)
    return ctx.templates.TemplateResponse(request, "lapor.html", context, status_code=status_code)


def _target_region(request: Request, principal: Principal, asked: str) -> str | None:
    """The region an upload's tickets go to: a user of one region, its own (whatever the form says); a user of
    every region, the one chosen (empty: the deployment's own). None: a region the deployment does not have."""
    ctx = web(request)
    if principal.scope_region is not None:
        return principal.scope_region
    code = asked.strip() or ctx.config.region_code
    return code if code in ctx.config.deployment_regions() else None


@pages.get("/lapor", response_class=HTMLResponse)
def lapor_page(request: Request, principal: Annotated[Principal, Depends(require_roles(*IMPORTERS))]) -> Response:
    """The upload form and the files imported before (of the regions the user sees)."""
    return _page(request, principal)


@pages.post("/lapor", response_class=HTMLResponse)
async def lapor_upload(
    request: Request, principal: Annotated[Principal, Depends(require_roles(*IMPORTERS))]
) -> Response:
    """Import one uploaded export into its region; the page shows what was stored and every rejected row."""
    try:
        length = int(request.headers.get("content-length", ""))
    except ValueError:
        return _page(request, principal, 411, problem="Ukuran unggahan tidak diketahui (Content-Length).")
    if length > MAX_FILE_BYTES + FORM_OVERHEAD:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return _page(
            request, principal, 413, problem=f"Berkas terlalu besar (maks {limit} MB). Pecah ekspor per bulan."
        )
    # The block closes the spooled upload (in memory, on disk past 1 MB) when it ends, on a refusal too:
    # the request never closes it, and an open one is left to the garbage collector, which warns.
    async with request.form(max_files=1, max_fields=4) as form:
        require_csrf(request, str(form.get("csrf_token") or ""))
        asked = str(form.get("wilayah") or "")[:20]
        region = _target_region(request, principal, asked)
        if region is None:
            return _page(request, principal, 400, problem=f"Wilayah {asked!r} tidak ada dalam deployment ini.")
        upload = form.get("berkas")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, principal, 400, problem="Pilih berkas ekspor LAPOR! (CSV atau XLSX) dulu.")
        filename = upload.filename
        data = await upload.read(MAX_FILE_BYTES + 1)
    ctx = web(request)
    report: LaporReport = await run_in_threadpool(
        import_export, ctx.db, ctx.config, data, filename, now_of(request), region
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
        region=region,
    )
    if report.stored or report.status_changes:
        ctx.changed()
    return _page(request, principal, 422 if report.file_error else 200, report=report, chosen=region)
