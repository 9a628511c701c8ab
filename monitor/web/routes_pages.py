"""Server-rendered pages: login, board, issue, agency, trends, sources, admin."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from alerts import respond
from alerts.ack import AckError
from alerts.channels import whatsapp
from alerts.links import apply_link, preview_link
from alerts.sla import overdue_label
from monitor.domain import display
from monitor.kernel.clock import MONTHS, format_date, format_wib, to_wib
from monitor.kernel.config import TOPICS
from monitor.store.models import IssueStatus, User
from monitor.web import actions, exports, flash, queries, svg
from monitor.web.auth import (
    ROLES,
    SESSION_COOKIE,
    Principal,
    verify_password,
)
from monitor.web.cache import CachedBoard
from monitor.web.deps import CsrfField, current_principal, now_of, require_csrf, require_roles, web
from monitor.web.evidence import evidence_items
from monitor.web.geomap import place_key
from monitor.web.throttle import PASSWORD_CHANGE, password_change_key, retry_after_header, wait_text

log = logging.getLogger(__name__)
IssueId = Annotated[int, Path(ge=1, le=queries.MAX_ID)]
router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "oki_login_csrf"
ACTORS = ("admin", "comms", "agency")


def _render(
    request: Request, name: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> Response:
    templates = web(request).templates
    context.update(user=principal, csrf_token=getattr(request.state, "csrf_token", ""))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker-supplied ?next=https://evil/ must not become an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _client(request: Request) -> str:
    return web(request).client(request)


# ---------------------------------------------------------------- signed e-mail links


@router.get("/alerts/action/{signed}", response_class=HTMLResponse)
def alert_link_page(request: Request, signed: Annotated[str, Path(max_length=2000)]) -> Response:
    """A link from an alert e-mail ("Konfirmasi tindak lanjut", "bukan keluhan", ...): a confirmation page only.

    Mail scanners and link previews open every link of a message, so a GET changes nothing (it
    reads through the read-only engine); the page's button POSTs the signed token, which is the
    authorisation (no dashboard login needed).
    """
    ctx = web(request)
    try:
        with ctx.read() as session:
            preview = preview_link(session, ctx.config, signed)
    except AckError as exc:
        return _render(request, "notice.html", None, status_code=400, heading="Tautan tidak berlaku", message=str(exc))
    return _render(request, "alert_action.html", None, preview=preview, token=signed)


@router.post("/alerts/action", response_class=HTMLResponse)
def alert_link_action(
    request: Request,
    token: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=2100)] = "",
    agency: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The confirmation page's button: acknowledge, record feedback, or a step of the agency's answer
    (with its note, or the agency picked); a repeat says it was already done."""
    ctx = web(request)
    try:
        with ctx.db.session() as session:
            now = ctx.clock.now()
            outcome = apply_link(session, ctx.config, token, actor="email", now=now, note=note, agency=agency)
    except AckError as exc:
        try:
            with ctx.read() as session:
                preview = preview_link(session, ctx.config, token)
        except AckError:
            preview = None
        if preview is not None and preview.done is None and (preview.note_label or preview.agencies):
            # A step refused for its input (no note, unknown agency): the same form again, with the reason.
            return _render(
                request, "alert_action.html", None, status_code=422, preview=preview, token=token, error=str(exc)
            )
        return _render(request, "notice.html", None, status_code=400, heading="Tautan tidak berlaku", message=str(exc))
    if outcome.already_done:
        return _render(request, "notice.html", None, heading="Sudah dicatat", message=outcome.message)
    ctx.changed()
    return _render(request, "notice.html", None, heading="Terima kasih", message=outcome.message)


# ---------------------------------------------------------------- WhatsApp webhook (Meta)


@router.get("/whatsapp/webhook")
def whatsapp_verify(request: Request) -> Response:
    """Meta's check of the callback URL: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    q = request.query_params
    challenge = whatsapp.verify_subscription(
        web(request).config, q.get("hub.mode"), q.get("hub.verify_token"), q.get("hub.challenge")
    )
    if challenge is None:
        return Response("verify token salah", status_code=403, media_type="text/plain")
    return Response(challenge, media_type="text/plain")


@router.post("/whatsapp/webhook")
async def whatsapp_events(request: Request) -> Response:
    """Button replies and delivery statuses from Meta; the ``X-Hub-Signature-256`` is the authorisation."""
    ctx = web(request)
    body = await request.body()
    status = await run_in_threadpool(
        whatsapp.handle_webhook,
        ctx.db,
        ctx.config,
        request.headers.get("X-Hub-Signature-256"),
        body,
        ctx.clock.now(),
    )
    if status == 200:
        ctx.changed()
    return Response(status_code=status)


# ---------------------------------------------------------------- login


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = _render(request, "login.html", None, next=_safe_next(next), login_csrf=token, error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=web(request).config.secure_cookies
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: CsrfField = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    ctx = web(request)
    client = _client(request)
    name = username.strip().lower()

    def fail(message: str, status: int) -> Response:
        token = secrets.token_urlsafe(24)
        response = _render(
            request, "login.html", None, status_code=status, next=_safe_next(next), login_csrf=token, error=message
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=ctx.config.secure_cookies
        )
        return response

    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie_token or not secrets.compare_digest(cookie_token, csrf_token):
        return fail("Formulir kedaluwarsa. Silakan coba masuk lagi.", 403)
    wait = ctx.login_throttle.attempt(name, client)
    if wait > 0:
        ctx.audit(name or "-", "login_rate_limited", None, client=client)
        response = fail(f"Terlalu banyak percobaan masuk yang gagal. Tunggu {wait_text(wait)} lalu coba lagi.", 429)
        response.headers["Retry-After"] = retry_after_header(wait)
        return response
    user_id: int | None = None
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.username == name))
        ok = verify_password(user.password_hash if user else None, password)
        if user is not None and ok and user.active:
            user.last_login_at = ctx.clock.now()
            user_id = user.id
    if user_id is None:
        # Already counted by attempt(): counting before the check is what holds across workers.
        ctx.audit(name or "-", "login_failed", None, client=client)
        return fail("Nama pengguna atau kata sandi salah.", 401)
    ctx.login_throttle.succeeded(name, client)
    sid = ctx.sessions.create(user_id)
    ctx.audit(name, "login", None, client=client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        httponly=True,
        samesite="lax",
        secure=ctx.config.secure_cookies,
        max_age=12 * 3600,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    web(request).sessions.destroy(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- board


BOARD_STAMP_HEADER = "X-Board-Updated"
"""Header of ``/partials/board``: when the rows were checked, as the page shows times (``format_wib``)."""

BOARD_CACHE_CONTROL = "private, no-cache"
"""The browser may keep the rows but must ask again each time (If-None-Match → 304 when unchanged)."""


def board_filter(request: Request, principal: Principal) -> tuple[queries.BoardFilter, list[str]]:
    """The board's filter from its URL (``region``, ``kecamatan``, ``topic``, ``stage``, ``opd``) and what was
    ignored.

    Only known values pass: the rendered rows are cached per filter, so the key space stays the
    product of a few short lists, whatever a URL says. The kecamatan are those of the regions the user
    sees; a user of several regions may pick one (``region``), and a kecamatan brings its region, so a
    name two regencies share never shows the other's issues.
    """
    ctx = web(request)
    q = request.query_params
    ignored: list[str] = []
    agencies = {a.code for a in ctx.config.agencies}
    known: dict[str, Any] = {
        "topic": {t: t for t in TOPICS},
        "stage": {s: s for s in display.STAGE_LABELS},
        "opd": {a: a for a in agencies},
    }
    chosen: dict[str, str | None] = {}
    for name, values in known.items():
        raw = (q.get(name) or "").strip()
        chosen[name] = values.get(raw) if raw else None
        if raw and chosen[name] is None:
            ignored.append(f"{FILTER_NAMES[name]} '{raw[:40]}' tidak dikenal; saringan itu diabaikan.")
    regions = ctx.regions_for(principal)
    region = (q.get("region") or "").strip() or None
    if region is not None and (len(regions) < 2 or region not in regions):
        # A user of one region has its own region only (a link naming it changes nothing).
        if region not in regions:
            ignored.append(f"Wilayah '{region[:20]}' tidak dikenal; saringan itu diabaikan.")
        region = None
    place = actions.choose_kecamatan(ctx.config, regions, (q.get("kecamatan") or "").strip(), region, key=place_key)
    if place.problem:
        ignored.append(f"{place.problem[0].upper()}{place.problem[1:]}; saringan itu diabaikan.")
    flt = queries.BoardFilter(
        kecamatan=place.kecamatan,
        topic=chosen["topic"],
        stage=chosen["stage"],
        agency=chosen["opd"],
        region=place.region,
    )
    return flt, ignored


FILTER_NAMES = {"kecamatan": "Kecamatan", "topic": "Topik", "stage": "Tahap", "opd": "OPD"}


ROWS_MARK = "<!--rows-->"
"""Between the summary strip and the rows in a cached board entry (one entry, one version, one ETag)."""


def _agency_names_in(ctx: Any, region: str | None) -> Any:
    """Agency code → name in one region (OKU's "pupr" is OKU's Dinas PUPR); the deployment's own: as ever."""
    if region is None or region == ctx.config.region_code:
        return ctx.agency_name
    here = ctx.config.for_region(region)

    def name(code: str | None) -> str:
        agency = here.agency(code)
        return agency.name if agency is not None else (code or "-")

    return name


def _board_rows(request: Request, principal: Principal, where: queries.BoardFilter) -> CachedBoard:
    """The rendered summary and rows for the principal's scope and filter, from the shared cache while the data
    has not changed: ``summary`` + :data:`ROWS_MARK` + ``rows``."""
    ctx = web(request)
    key = (principal.role, principal.agency_code, principal.scope_region, where)
    now = now_of(request)
    with ctx.read() as session:
        # Deadlines pass and hours turn without any row changing: the 10-minute bucket lets an "overdue"
        # badge appear and the sparklines move on.
        version = (ctx.board_cache.generation, queries.board_version(session), int(now.timestamp() // 600))
        entry = ctx.board_cache.get(key, version)
        if entry is not None:
            return entry
        board = queries.board(session, principal, now, where=where)
    env = ctx.templates.env
    summary = env.get_template("board_summary.html").render(s=board.summary, where=where.params())
    # Rendered outside TemplateResponse: the request's own context (a user of one region: its agency names).
    own = {k: v for p in ctx.templates.context_processors for k, v in p(request).items()}
    html = env.get_template("board_rows.html").render(rows=[_board_row(r) for r in board.rows], **own)
    return ctx.board_cache.put(key, version, summary + ROWS_MARK + html)


def _board_row(r: queries.BoardRow) -> dict[str, Any]:
    """What a board row shows besides the issue's columns: status, deadline badge, why, the sparkline."""
    total = sum(r.spark)
    peak = max(range(len(r.spark)), key=lambda k: (r.spark[k], k)) if r.spark else 0
    if total and r.spark_start is not None:
        peak_at = format_wib(r.spark_start + timedelta(hours=peak))
        label = (
            f"Unggahan per jam, 24 jam terakhir: {total} unggahan, "
            f"puncak {r.spark[peak]} pada {peak_at}, jam terakhir {r.spark[-1]}"
        )
    else:
        label = "Unggahan per jam, 24 jam terakhir: tidak ada unggahan"
    return {
        "issue": r.issue,
        "alerted": r.alerted,
        "overdue": overdue_label(r.overdue),
        "why": display.stage_sentence(r.issue.stage, r.reasons),
        "spark": svg.sparkline(r.spark, label=label, peak_label="puncak"),
        "spark_total": total,
        "rank": queries.needs_action_rank(r.issue, r.alerted, bool(r.overdue)),
    }


@router.get("/", response_class=HTMLResponse)
def board_page(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    refresh: Annotated[int, Query(ge=2, le=600)] = 30,
) -> Response:
    """The board; ``refresh`` is how often (seconds) the page reloads its rows; the filter lives in the URL."""
    where, ignored = board_filter(request, principal)
    entry = _board_rows(request, principal, where)
    summary, rows = entry.html.split(ROWS_MARK, 1)
    params = where.params()
    return _render(
        request,
        "board.html",
        principal,
        refresh=refresh,
        summary_html=Markup(summary),
        rows_html=Markup(rows),
        now=now_of(request),
        where=where,
        ignored=ignored,
        partial_url="/partials/board" + (f"?{urlencode(params)}" if params else ""),
        kecamatan_names=_kecamatan_groups(web(request), principal),
        region_names=_region_names(web(request), principal),
        # The region the user picked, not the one a kecamatan brought: choosing another region's kecamatan
        # next must not be refused for a region the user never chose.
        region_picked=where.region if request.query_params.get("region") else None,
        topic_names=[(t, display.topic_label(t)) for t in TOPICS],
        stage_names=list(display.STAGE_LABELS.items()),
        agency_names=[(a.code, a.name) for a in web(request).config.agencies],
    )


def _region_names(ctx: Any, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of the regions a user of several regions picks from; none for a user of one."""
    regions = ctx.regions_for(principal)
    return [(code, ctx.region_name(code)) for code in regions] if len(regions) > 1 else []


def _kecamatan_groups(ctx: Any, principal: Principal) -> list[tuple[str, str, list[str]]]:
    """The kecamatan a user filters by: (region code, region name, names) per region it sees; one group without
    a name for a user of one region (the select then has no groups, as before regions)."""
    regions = ctx.regions_for(principal)
    by_region = actions.kecamatan_by_region(ctx.config, regions)
    if len(regions) < 2:
        return [("", "", list(names)) for names in by_region.values()]
    return [(code, ctx.region_name(code), sorted(names)) for code, names in by_region.items()]


@router.get("/partials/board", response_class=HTMLResponse)
def board_partial(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
    """The summary strip and the table body, fetched by the page every 30 s; 304 when the browser has them.

    The body is the strip's ``<section id="board-summary">``, then ``<table><tbody>`` with the rows.
    """
    where, _ignored = board_filter(request, principal)
    entry = _board_rows(request, principal, where)
    headers = {
        "ETag": entry.etag,
        "Cache-Control": BOARD_CACHE_CONTROL,
        "Vary": "Cookie, Authorization",
        # The page's "data per ..." stamp, written by the server so it reads as every other time;
        # a 304 carries it too (the browser merges it into the rows it kept).
        BOARD_STAMP_HEADER: format_wib(now_of(request)),
    }
    given = request.headers.get("if-none-match", "")
    if entry.etag in (t.strip() for t in given.split(",")):
        return Response(status_code=304, headers=headers)
    summary, rows = entry.html.split(ROWS_MARK, 1)
    return HTMLResponse(f"{summary}<table><tbody>{rows}</tbody></table>", headers=headers)


# ---------------------------------------------------------------- issue


PAGE_POSTS = 25
"""Evidence posts per page of an issue, originals first: about a feed page's worth on a phone. Each
carries a correction form; the pages below the list reach every post (and the export has them all)."""
CHART_HOURS = 14 * 24
"""The hourly chart's reach: the issue's last two weeks."""
SIGNAL_ROWS = 48
"""Assessments listed in the score table (the newest ones); the charts draw up to 500."""


@router.get("/issues/{issue_id}", response_class=HTMLResponse)
def issue_page(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(current_principal)],
    hal: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The issue: stage, reasons and forecast first, the answer, charts, evidence by pages of :data:`PAGE_POSTS`
    (``hal``: page number), alerts and the history as sentences."""
    ctx = web(request)
    with ctx.read() as session:
        issue = queries.visible_issue_row(session, principal, issue_id)
        if issue is not None:
            detail = ctx.issue_detail(session, issue, max_posts=PAGE_POSTS, offset=(hal - 1) * PAGE_POSTS)
            responses = respond.history(session, issue_id)
    if issue is None:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    ctx.audit_view(principal.username, "view_issue", f"issue:{issue_id}")
    now = now_of(request)
    hours = detail.hourly_mentions
    if issue.status == IssueStatus.OPEN:
        hours = hours.extended_to(now, CHART_HOURS)
    mentions = [float(c) for c in hours.counts]
    base = queries.baseline(mentions)
    hour_labels, hour_ticks = svg.hour_axis(hours.start, len(mentions)) if hours.start else ([], [])
    names = _agency_names_in(ctx, detail.issue.region_code)  # its own region's agencies, whoever looks
    markers = issue_markers(detail, hours.start, len(mentions), names) if hours.start else []
    hourly_series = [
        svg.Series("Unggahan per jam", mentions),
        svg.Series("Garis dasar", [base] * len(mentions), dashed=True),
    ]
    chart_mentions = svg.line_chart(
        hour_labels, hourly_series, title="Unggahan per jam (WIB) dan garis dasar", ticks=hour_ticks, markers=markers
    )
    table_labels, table_values, cut, days = hourly_table(hours.start, hours.counts) if hours.start else ([], [], 0, 0)
    table_mentions = svg.data_table(
        f"unggahan per jam dalam {TABLE_HOURS} jam terakhir, per hari sebelumnya (tanpa unggahan tidak dicantumkan)",
        "Waktu (WIB)",
        table_labels,
        [svg.Series("Unggahan", table_values)],
        skip_zero=True,
        markers=[svg.Marker(m.at - cut + days, m.kind, m.text) for m in markers if m.at >= cut],
        table_id="hourly-table",
    )
    sig = detail.signals
    sig_labels = [format_wib(s.at) for s in sig]
    sig_ticks = [(i, _short_time(sig[i].at)) for i in svg.even_ticks(len(sig), 4)]
    # Two charts, not one: engagement runs to thousands and the score to 100, so on one axis the
    # score was a flat line along the bottom.
    engagement = svg.Series("Keterlibatan", [s.engagement for s in sig])
    score = svg.Series("Skor naik (0-100)", [s.score for s in sig])
    chart_engagement = svg.line_chart(
        sig_labels, [engagement], title="Keterlibatan dari waktu ke waktu (WIB)", ticks=sig_ticks
    )
    chart_score = svg.line_chart(
        sig_labels, [score], height=180, title="Skor dari waktu ke waktu (WIB)", ticks=sig_ticks
    )
    newest = slice(max(0, len(sig) - SIGNAL_ROWS), None)
    table_signals = svg.data_table(
        f"keterlibatan dan skor, {min(len(sig), SIGNAL_ROWS)} penilaian terakhir",
        "Waktu penilaian",
        sig_labels[newest],
        [svg.Series(engagement.name, engagement.values[newest]), svg.Series(score.name, score.values[newest])],
    )
    total = detail.post_total
    pages = max(1, -(-total // PAGE_POSTS))
    return _render(
        request,
        "issue.html",
        principal,
        d=detail,
        issue=detail.issue,
        responses=responses,
        lapor_tickets=detail.lapor_tickets,
        evidence=evidence_items(
            detail.posts,
            issue_id=detail.issue.id,
            can_act=principal.can_act,
            csrf_token=getattr(request.state, "csrf_token", ""),
            agency_name=names,
            pseudonymise=ctx.config.privacy.pseudonymise_authors,
        ),
        why=display.stage_sentence(issue.stage, detail.reasons),
        chart_mentions=chart_mentions,
        table_mentions=table_mentions,
        chart_engagement=chart_engagement,
        chart_score=chart_score,
        table_signals=table_signals,
        baseline=base,
        can_act=principal.can_act,
        page=hal,
        pages=pages,
        post_total=total,
        first_shown=(hal - 1) * PAGE_POSTS + 1,
        page_posts=PAGE_POSTS,
    )


TABLE_HOURS = 48
"""Hours the issue's data table lists one by one; earlier hours are summed per WIB day (a row per hour of
two weeks was most of a busy issue page)."""


def hourly_table(start: datetime, counts: list[int]) -> tuple[list[str], list[float], int, int]:
    """Rows of the hourly chart's table: a row per WIB day before the last :data:`TABLE_HOURS` hours, then a
    row per hour; also the index of the first hourly point and the number of day rows."""
    cut = max(0, len(counts) - TABLE_HOURS)
    day_totals: dict[str, float] = {}
    for k in range(cut):
        day = to_wib(start + timedelta(hours=k))
        key = f"{format_date(day)} (sehari)"
        day_totals[key] = day_totals.get(key, 0.0) + counts[k]
    labels = list(day_totals) + [format_wib(start + timedelta(hours=k)) for k in range(cut, len(counts))]
    values = list(day_totals.values()) + [float(c) for c in counts[cut:]]
    return labels, values, cut, len(day_totals)


def _short_time(when: datetime) -> str:
    """A tick under an assessment chart: ``29 Nov 14.05`` (WIB, as :func:`format_wib` without the year)."""
    local = to_wib(when)
    return f"{local.day} {MONTHS[local.month - 1]} {local.hour:02d}.{local.minute:02d}"


def issue_markers(detail: queries.IssueDetail, start: datetime, n: int, agency_name: Any) -> list[svg.Marker]:
    """Alerts, acknowledgements and stage changes of the issue as marks on its hourly chart.

    Several alerts in the same hour (one per receiver) make one mark naming them all; events before
    the chart's first hour are left out.
    """
    at_hour: dict[tuple[str, int], list[str]] = {}
    exact: dict[tuple[str, int], float] = {}

    def add(kind: str, when: datetime | None, text: str) -> None:
        if when is None:
            return
        pos = (when - start).total_seconds() / 3600
        if pos < 0 or pos > n:
            return
        key = (kind, int(pos))
        exact.setdefault(key, pos)
        if text not in at_hour.setdefault(key, []):
            at_hour[key].append(text)

    for a in detail.alerts:
        who = display.receiver_label(a.receiver, agency_name)
        add("alert", a.created_at, f"{display.alert_kind_label(a.kind)} ke {who}, {format_wib(a.created_at)}")
        if a.acknowledged_at is not None:
            by = f" oleh {a.acknowledged_by}" if a.acknowledged_by else ""
            add("ack", a.acknowledged_at, f"Diterima{by}, {format_wib(a.acknowledged_at)}")
    for ev in detail.events:
        if ev.kind == "stage":
            d = ev.detail or {}
            add(
                "stage",
                ev.at,
                f"Tahap {display.stage_label(d.get('from'))} → {display.stage_label(d.get('to'))}, {format_wib(ev.at)}",
            )
    ordered = sorted(at_hour.items(), key=lambda kv: exact[kv[0]])
    return [svg.Marker(exact[key], key[0], "; ".join(texts)) for key, texts in ordered]


CONFIRMED = "ya"
"""Value of the ``konfirmasi`` form field on a confirmation page's button."""
ConfirmField = Annotated[str, Form(max_length=10)]
"""The ``konfirmasi`` form field of an action that asks first (:data:`CONFIRMED` once confirmed)."""


@dataclass(frozen=True)
class Confirm:
    """A confirmation page for a destructive action: the same POST again, with ``konfirmasi=ya``.

    A page rather than a script's ``confirm()``: it works without JavaScript, and the server, not
    the browser, refuses the unconfirmed request.
    """

    heading: str
    question: str
    action: str
    button: str
    back: str
    details: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()


def _confirm_page(request: Request, principal: Principal, confirm: Confirm) -> Response:
    return _render(request, "confirm.html", principal, c=confirm, confirmed=CONFIRMED)


def _user_or_404(session: Session, user_id: int) -> User:
    """The user row an admin action names, or the Bahasa 404 page."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, "Pengguna tidak ditemukan.")
    return user


def _confirm_user(
    request: Request, principal: Principal, user: User, *, heading: str, question: str, action: str, button: str
) -> Response:
    """Ask before an admin action on ``user``; ``action`` is the path after ``/admin/users/<id>``."""
    confirm = Confirm(
        heading=heading, question=question, action=f"/admin/users/{user.id}{action}", button=button, back="/admin/users"
    )
    return _confirm_page(request, principal, confirm)


def _confirm_issue_action(
    request: Request, principal: Principal, issue_id: int, csrf_token: str, fn: Callable[[Any, Any], Confirm]
) -> Response:
    """Ask before acting on an issue: the page names the issue (and what else the action touches)."""
    require_csrf(request, csrf_token)
    ctx = web(request)
    try:
        with ctx.read() as session:
            issue = queries.get_visible_issue(session, principal, issue_id)
            confirm = fn(session, issue) if issue is not None else None
    except actions.ActionError as exc:
        return flash.redirect(request, f"/issues/{issue_id}", f"Gagal: {exc}", error=True)
    if confirm is None:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    return _confirm_page(request, principal, confirm)


def _issue_action(request: Request, principal: Principal, issue_id: int, csrf_token: str, fn: Any) -> Response:
    require_csrf(request, csrf_token)
    ctx = web(request)
    now = now_of(request)
    missing = False
    try:
        with ctx.db.session() as session:
            issue = queries.get_visible_issue(session, principal, issue_id)
            if issue is None:
                missing = True
            else:
                message, target = fn(session, issue, now)
        ctx.changed()
    except actions.ActionError as exc:
        return flash.redirect(request, f"/issues/{issue_id}", f"Gagal: {exc}", error=True)
    if missing:
        ctx.audit(principal.username, "access_denied", f"issue:{issue_id}")
        raise HTTPException(404, f"Isu #{issue_id} tidak ditemukan atau bukan wewenang Anda.")
    return flash.redirect(request, f"/issues/{target}", message)


@router.post("/issues/{issue_id}/ack")
def issue_ack(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
) -> Response:
    def do(session: Any, issue: Any, now: Any) -> tuple[str, int]:
        actions.acknowledge(session, issue, principal.username, now)
        return "Isu ditandai sudah ditangani (diterima).", issue.id

    return _issue_action(request, principal, issue_id, csrf_token, do)


@router.post("/issues/{issue_id}/resolve")
def issue_resolve(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
    konfirmasi: ConfirmField = "",
) -> Response:
    """Close the issue (asks first: a closed issue leaves the board and its reminders stop)."""
    if konfirmasi != CONFIRMED:
        return _confirm_issue_action(
            request,
            principal,
            issue_id,
            csrf_token,
            lambda _session, issue: Confirm(
                heading=f"Tutup isu #{issue.id}?",
                question=f"Isu #{issue.id} \u201c{issue.title}\u201d akan ditandai selesai: hilang dari papan "
                "dan pengingatnya berhenti. Unggahan baru tentang masalah yang sama membukanya lagi.",
                action=f"/issues/{issue.id}/resolve",
                button="Ya, tandai selesai",
                back=f"/issues/{issue.id}",
            ),
        )

    def do(session: Any, issue: Any, now: Any) -> tuple[str, int]:
        actions.resolve(session, issue, principal.username, now)
        return "Isu ditandai selesai.", issue.id

    return _issue_action(request, principal, issue_id, csrf_token, do)


@router.post("/issues/{issue_id}/merge")
def issue_merge(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    csrf_token: CsrfField = "",
    others: Annotated[str, Form(max_length=500)] = "",
    konfirmasi: ConfirmField = "",
) -> Response:
    """Merge other issues into this one (asks first, naming each issue that will close)."""
    if konfirmasi != CONFIRMED:

        def ask(session: Any, issue: Any) -> Confirm:
            merged = actions.mergeable(session, principal, issue, actions.parse_ids(others, queries.MAX_ID))
            return Confirm(
                heading=f"Gabungkan ke isu #{issue.id}?",
                question=f"Isu berikut ditutup dan unggahannya pindah ke isu #{issue.id} \u201c{issue.title}\u201d. "
                "Penggabungan tidak bisa dibatalkan dari dasbor (unggahan bisa dipisah lagi).",
                details=tuple(f"#{o.id} {o.title}" for o in merged),
                action=f"/issues/{issue.id}/merge",
                button="Ya, gabungkan",
                back=f"/issues/{issue.id}",
                fields=(("others", " ".join(str(o.id) for o in merged)),),
            )

        return _confirm_issue_action(request, principal, issue_id, csrf_token, ask)

    def do(session: Any, issue: Any, now: Any) -> tuple[str, int]:
        target = actions.merge(session, principal, issue, actions.parse_ids(others, queries.MAX_ID), now)
        return "Isu digabung.", target.id

    return _issue_action(request, principal, issue_id, csrf_token, do)


@router.post("/issues/{issue_id}/split")
async def issue_split(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
) -> Response:
    # Closed when the block ends: a file part a client sends anyway is spooled, and only closing removes it.
    async with request.form() as form:
        token = str(form.get("csrf_token") or "")
        raw_ids = " ".join(str(v) for v in form.getlist("post_id"))[:5000]

    def do(session: Any, issue: Any, now: Any) -> tuple[str, int]:
        new = actions.split(session, principal, issue, actions.parse_ids(raw_ids, queries.MAX_BIG_ID), now)
        return f"Unggahan dipisah ke isu baru #{new.id}.", new.id

    return _issue_action(request, principal, issue_id, token, do)


@router.post("/issues/{issue_id}/labels")
def issue_label(
    request: Request,
    issue_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles(*ACTORS))],
    post_id: Annotated[int, Form(ge=1, le=queries.MAX_BIG_ID)],
    csrf_token: CsrfField = "",
    field: Annotated[str, Form(max_length=30)] = "",
    value: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    ctx = web(request)

    def do(session: Any, issue: Any, now: Any) -> tuple[str, int]:
        actions.correct_label(session, ctx.config, principal, issue, post_id, field, value, now)
        return "Koreksi label disimpan untuk pelatihan ulang.", issue.id

    return _issue_action(request, principal, issue_id, csrf_token, do)


# ---------------------------------------------------------------- agency


@router.get("/agency", response_class=HTMLResponse)
def agency_index(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
    if principal.role == "agency" and principal.agency_code:
        return RedirectResponse(f"/agency/{principal.agency_code}", status_code=303)
    return _render(request, "agency_index.html", principal, agencies=web(request).config.agencies)


@router.get("/agency/{code}", response_class=HTMLResponse)
def agency_page(
    request: Request,
    code: str,
    principal: Annotated[Principal, Depends(current_principal)],
    days: Annotated[int, Query(ge=7, le=1100)] = 180,
) -> Response:
    ctx = web(request)
    agency = ctx.config.agency(code, principal.scope_region)  # a user of one region: that region's agency
    if agency is None or not principal.may_see_agency(code):
        ctx.audit(principal.username, "access_denied", f"agency:{code[:40]}")
        raise HTTPException(404, "OPD tidak ditemukan atau bukan wewenang Anda.")
    now = now_of(request)
    with ctx.read() as session:
        issues = queries.agency_issues(session, code, now - timedelta(days=days), region=principal.scope_region)
    weeks = queries.response_times(issues)
    chart = svg.line_chart(
        [format_date(w.week) for w in weeks],
        [
            svg.Series("Median jam sampai diterima", [w.median_ack_hours for w in weeks]),
            svg.Series("Median jam sampai selesai", [w.median_resolve_hours for w in weeks]),
        ],
        title="Waktu respons per minggu",
    )
    open_issues = [i for i in issues if i.status == IssueStatus.OPEN]
    return _render(
        request,
        "agency.html",
        principal,
        agency=agency,
        issues=issues,
        open_issues=open_issues,
        weeks=weeks,
        chart=chart,
        days=days,
    )


# ---------------------------------------------------------------- trends


TRENDS_DAYS = 14
"""The trends page's default range: two weeks by day shows this week against the last (90 days by week was
twelve flat weeks and one spike)."""
TRENDS_BUCKET = "day"
VIEWS: dict[str, tuple[str, str]] = {
    "topic": ("topik", "Keluhan per topik"),
    "agency": ("OPD", "Keluhan per OPD"),
    "kecamatan": ("kecamatan", "Keluhan per kecamatan"),
}
"""The trends page's views (``?view=``): what its lines and bars are split by, and their titles."""
REGION_VIEW = ("wilayah", "Keluhan per wilayah")
"""The view a deployment of several regions adds (``?view=region``), for those who see more than one."""
BUCKET_NAMES = {"hour": "jam", "day": "hari", "week": "minggu", "month": "bulan"}


def _filter_from_query(
    request: Request, principal: Principal
) -> tuple[queries.TrendFilter, list[str], actions.FilterInput]:
    """The trends filter of the URL, its kecamatan checked against the regions ``principal`` sees."""
    q = request.query_params
    raw = actions.FilterInput(
        start=q.get("start"),
        end=q.get("end"),
        topic=q.get("topic"),
        agency=q.get("agency"),
        kecamatan=q.get("kecamatan"),
        source=q.get("source"),
        region=q.get("region"),
    )
    try:
        ctx = web(request)
        regions = ctx.regions_for(principal)
        flt, problems = actions.trend_filter(ctx.config, raw, now_of(request), TRENDS_DAYS, regions)
    except actions.DateOutOfRange as exc:
        raise HTTPException(400, str(exc)) from None
    return flt, problems, raw


def bucket_text(start: datetime, bucket: str, short: bool = False) -> str:
    """A period of the trends chart in WIB: ``29 Nov 2026`` (day), ``mgg 23 Nov 2026`` (week), ``Nov 2026``,
    or the full time of an hour; ``short`` drops the year (ticks)."""
    local = to_wib(start)
    month = MONTHS[local.month - 1]
    if bucket == "hour":
        return f"{local.day} {month} {local.hour:02d}.00" if short else format_wib(local)
    if bucket == "month":
        return f"{month} {local.year}"
    day = f"{local.day} {month}" if short else format_date(local)
    return f"mgg {day}" if bucket == "week" else day


@router.get("/trends", response_class=HTMLResponse)
def trends_page(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
    """Complaints over time by topic, agency or kecamatan (``view``), last :data:`TRENDS_DAYS` days by day unless
    the URL says otherwise."""
    ctx = web(request)
    flt, problems, raw = _filter_from_query(request, principal)
    bucket = request.query_params.get("bucket", TRENDS_BUCKET)
    if bucket not in queries.BUCKETS:
        problems.append(f"ukuran periode {bucket[:10]!r} tidak dikenal; harian dipakai")
        bucket = TRENDS_BUCKET
    with ctx.read() as session:
        rows = queries.trend_rows(session, principal, flt, bucket)
        platforms = queries.distinct_platforms(session)
    regions = ctx.regions_for(principal)
    views = {**VIEWS, "region": REGION_VIEW} if len(regions) > 1 else VIEWS
    view = request.query_params.get("view", "topic")
    if view not in views:
        problems.append(f"tampilan {view[:20]!r} tidak dikenal; per topik dipakai")
        view = "topic"
    split = queries.series_by(rows, view)

    def name(key: str) -> str:
        if key == "-":
            return f"(tanpa {views[view][0]})"
        agency = _agency_names_in(ctx, principal.scope_region)
        return {"topic": queries_label, "agency": agency, "region": ctx.region_name}.get(view, str)(key)

    # Every period of the range, empty ones too, unless that is too many points to draw (hours over months).
    buckets = queries.bucket_starts(flt.start, flt.end, bucket) or sorted({r.bucket for r in rows})
    totals = {k: sum(v[1] for v in by_bucket.values()) for k, by_bucket in split.items()}
    ranked = sorted(split, key=lambda k: (-totals[k], name(k)))
    series = [svg.Series(name(k), [split[k].get(b, [0, 0, 0])[1] for b in buckets]) for k in ranked[:8]]
    x_labels = [bucket_text(b, bucket) for b in buckets]
    ticks = [(i, bucket_text(buckets[i], bucket, short=True)) for i in svg.even_ticks(len(buckets))]
    title = views[view][1]
    lines = svg.line_chart(x_labels, series, title=f"{title} (WIB)", ticks=ticks)
    lines_table = svg.data_table(title.lower(), f"Periode ({BUCKET_NAMES[bucket]}, WIB)", x_labels, series)
    bars = svg.bar_chart([name(k) for k in ranked], [totals[k] for k in ranked], title=f"{title}, jumlah dalam rentang")
    cells: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (queries_label(r.topic), r.kecamatan or "(tanpa kecamatan)")
        cells[key] = cells.get(key, 0.0) + r.complaints
    heat_rows = sorted({k[0] for k in cells})
    heat_cols = sorted({k[1] for k in cells})
    heat = svg.heatmap(heat_rows, heat_cols, cells, title="Keluhan: topik × kecamatan")
    query_string = request.url.query
    return _render(
        request,
        "trends.html",
        principal,
        rows=rows[:500],
        total_rows=len(rows),
        lines=lines,
        lines_table=lines_table,
        bars=bars,
        heat=heat,
        problems=problems,
        raw=raw,
        flt=flt,
        bucket=bucket,
        buckets=queries.BUCKETS,
        bucket_names=BUCKET_NAMES,
        view=view,
        view_links=[
            (key, f"Per {words[0]}", "/trends?" + urlencode({**request.query_params, "view": key}))
            for key, words in views.items()
        ],
        regions=[(code, ctx.region_name(code)) for code in regions] if len(regions) > 1 else [],
        title=title,
        topics=TOPICS,
        kecamatan=_kecamatan_groups(ctx, principal),
        agencies=ctx.config.agencies,
        platforms=platforms,
        query_string=query_string,
    )


def queries_label(topic: str) -> str:
    from monitor.domain.display import topic_label

    return topic_label(topic)


@router.get("/trends/export")
def trends_export(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    ctx = web(request)
    flt, _problems, _raw = _filter_from_query(request, principal)
    bucket = request.query_params.get("bucket", TRENDS_BUCKET)
    bucket = bucket if bucket in queries.BUCKETS else TRENDS_BUCKET
    with ctx.read() as session:
        rows = queries.trend_rows(session, principal, flt, bucket)
    return export_response(request, principal, rows, format, flt, bucket)


def export_response(
    request: Request,
    principal: Principal,
    rows: list[queries.TrendRow],
    fmt: str,
    flt: queries.TrendFilter,
    bucket: str,
) -> Response:
    """The file download, audit-logged (UU PDP: exports are recorded). With several regions in the
    principal's view, a last column names each row's region."""
    ctx = web(request)
    region_name = ctx.region_name if len(ctx.regions_for(principal)) > 1 else None
    web(request).audit(
        principal.username,
        "export",
        "trends",
        format=fmt,
        rows=len(rows),
        bucket=bucket,
        start=flt.start.isoformat(),
        end=flt.end.isoformat(),
        topic=flt.topic,
        agency=flt.agency,
        kecamatan=flt.kecamatan,
        source=flt.source,
        **({"region": flt.region} if flt.region else {}),
    )
    stamp = to_wib(now_of(request)).strftime("%Y%m%d")  # the user's date, not UTC's
    if fmt == "xlsx":
        return Response(
            exports.to_xlsx(rows, _agency_names_in(web(request), principal.scope_region), region_name),
            media_type=exports.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="tren-keluhan-{stamp}.xlsx"'},
        )
    return Response(
        exports.to_csv(rows, _agency_names_in(web(request), principal.scope_region), region_name),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="tren-keluhan-{stamp}.csv"'},
    )


# ---------------------------------------------------------------- sources and admin


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, principal: Annotated[Principal, Depends(require_roles("admin", "comms", "analyst"))]
) -> Response:
    ctx = web(request)
    with ctx.read() as session:
        rows = queries.sources(session, principal.scope_region)
        depth = queries.queue_depth(session, principal.scope_region)
    return _render(request, "sources.html", principal, sources=rows, depth=depth)


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, principal: Annotated[Principal, Depends(require_roles("admin"))]) -> Response:
    ctx = web(request)
    with ctx.read() as session:
        rows = queries.users(session)
    regions = _region_choices(ctx, rows)
    return _render(
        request, "admin.html", principal, users=rows, roles=ROLES, agencies=ctx.config.agencies, regions=regions
    )


def _region_choices(ctx: Any, users: list[Any]) -> list[tuple[str, str]]:
    """(code, name) of the regions a user can be put in, when the deployment has several; none for one region
    (the page then shows no region controls, as before regions)."""
    codes = sorted({*ctx.config.deployment_regions(), *(u.region_code for u in users if u.region_code)})
    return [(code, ctx.region_name(code)) for code in codes] if len(codes) > 1 else []


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    agency: Annotated[str, Form(max_length=40)] = "",
    region: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    require_csrf(request, csrf_token)
    ctx = web(request)
    try:
        create_user(ctx, username, password, role, agency or None, region or None)
    except ValueError as exc:
        return _admin_done(request, f"Gagal: {exc}", error=True)
    where = {"region": region} if region else {}
    ctx.audit(principal.username, "user_added", f"user:{username.strip().lower()}", role=role, **where)
    return _admin_done(request, "Pengguna ditambahkan.")


@router.post("/admin/users/{user_id}/active")
def admin_toggle_user(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    konfirmasi: ConfirmField = "",
) -> Response:
    """Activate a user, or deactivate one (asks first: the user's sessions and API token stop at once)."""
    require_csrf(request, csrf_token)
    ctx = web(request)
    if user_id == principal.user_id:
        return _admin_done(request, "Gagal: Anda tidak bisa menonaktifkan akun sendiri.", error=True)
    with ctx.db.session() as session:
        user = _user_or_404(session, user_id)
        if user.active and konfirmasi != CONFIRMED:
            return _confirm_user(
                request,
                principal,
                user,
                heading=f"Nonaktifkan {user.username}?",
                question=f"{user.username} tidak bisa masuk lagi; sesinya berakhir dan token API-nya "
                "berhenti berlaku sampai akun diaktifkan kembali.",
                action="/active",
                button="Ya, nonaktifkan",
            )
        user.active = not user.active
        active, name = user.active, user.username
    if not active:
        ctx.sessions.destroy_user(user_id)
    ctx.audit(principal.username, "user_activated" if active else "user_deactivated", f"user:{name}")
    return _admin_done(request, "Status pengguna diubah.")


def create_user(
    ctx: Any, username: str, password: str, role: str, agency: str | None, region: str | None = None
) -> None:
    """Validate and store a new user; :class:`ValueError` with an Indonesian message when refused."""
    from monitor.web.users import add_user

    with ctx.db.session() as session:
        try:
            add_user(session, ctx.config, username, password, role, agency, ctx.clock.now(), region=region)
            session.flush()
        except IntegrityError:
            raise ValueError(f"nama pengguna {username.strip().lower()!r} sudah dipakai") from None


def _admin_done(request: Request, message: str, *, error: bool = False) -> Response:
    return flash.redirect(request, "/admin/users", message, error=error)


@router.post("/admin/users/{user_id}/role")
def admin_change_role(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    role: Annotated[str, Form(max_length=20)] = "",
    agency: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Change a user's role and agency; the user's sessions end so the new scope applies at once."""
    from monitor.web.users import change_role

    require_csrf(request, csrf_token)
    ctx = web(request)

    def change(session: Session, user: User) -> str:
        # The agency picker keeps its last choice when the role changes away from OPD: only an
        # OPD user is bound to an agency, so for any other role the choice is dropped, not refused.
        old_role, old_agency = change_role(ctx.config, user, role, (agency or None) if role == "agency" else None)
        ctx.audit_in(
            session,
            principal.username,
            "user_role_changed",
            f"user:{user.username}",
            old_role=old_role,
            old_agency=old_agency,
            role=role,
            agency=user.agency_code,
        )
        return f"Peran {user.username} diubah; sesinya diakhiri."

    # An admin demoting themselves could leave nobody able to manage users.
    return _change_user(request, principal, user_id, change, own="Anda tidak bisa mengubah peran akun sendiri.")


@router.post("/admin/users/{user_id}/region")
def admin_change_region(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    region: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Put a user in one region, or every region (empty); the user's sessions end so the new scope applies at once."""
    from monitor.web.users import change_region

    require_csrf(request, csrf_token)
    ctx = web(request)

    def change(session: Session, user: User) -> str:
        old = change_region(ctx.config, user, region or None)
        new = user.region_code
        ctx.audit_in(
            session, principal.username, "user_region_changed", f"user:{user.username}", old_region=old, region=new
        )
        return f"Wilayah {user.username} diubah menjadi {ctx.region_name(new)}; sesinya diakhiri."

    # An admin narrowing themselves to one region could lose sight of the others' users and data.
    return _change_user(request, principal, user_id, change, own="Anda tidak bisa mengubah wilayah akun sendiri.")


@router.post("/admin/users/{user_id}/password")
def admin_reset_password(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Set a new password for a user (e.g. forgotten); every session of that user ends."""
    from monitor.web.users import set_password

    require_csrf(request, csrf_token)

    def change(session: Session, user: User) -> str:
        set_password(user, password)
        web(request).audit_in(session, principal.username, "user_password_reset", f"user:{user.username}")
        return f"Kata sandi {user.username} diganti; sesinya diakhiri."

    return _change_user(request, principal, user_id, change)


def _change_user(
    request: Request,
    principal: Principal,
    user_id: int,
    change: Callable[[Session, User], str],
    *,
    own: str | None = None,
) -> Response:
    """Apply one change to a user in one transaction and end the user's sessions, so that it applies at once.

    ``change`` returns the message for the admin page or raises :class:`ValueError` (its text is shown as
    the failure); ``own``, when given, is the refusal shown when the admin would change their own account.
    """
    ctx = web(request)
    if own is not None and user_id == principal.user_id:
        return _admin_done(request, f"Gagal: {own}", error=True)
    try:
        with ctx.db.session() as session:
            message = change(session, _user_or_404(session, user_id))
    except ValueError as exc:
        return _admin_done(request, f"Gagal: {exc}", error=True)
    ctx.sessions.destroy_user(user_id)
    return _admin_done(request, message)


@router.post("/admin/users/{user_id}/token", response_class=HTMLResponse)
def admin_create_token(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    konfirmasi: ConfirmField = "",
) -> Response:
    """A new personal API token for the user, shown on this page once (only its hash is stored).

    Replacing a token the user already has stops the old one, so that asks first.
    """
    from monitor.web.users import give_token

    require_csrf(request, csrf_token)
    ctx = web(request)
    with ctx.db.session() as session:
        user = _user_or_404(session, user_id)
        if user.api_token_hash and konfirmasi != CONFIRMED:
            return _confirm_user(
                request,
                principal,
                user,
                heading=f"Ganti token API {user.username}?",
                question=f"{user.username} sudah punya token API. Token baru menggantikannya: "
                "integrasi yang memakai token lama langsung ditolak.",
                action="/token",
                button="Ya, buat token baru",
            )
        if not user.active:
            return _admin_done(request, f"Gagal: {user.username} nonaktif; aktifkan dulu.", error=True)
        token, name = give_token(user), user.username
        ctx.audit_in(session, principal.username, "user_token_created", f"user:{name}")
    return _render(request, "token.html", principal, username=name, token=token)


@router.post("/admin/users/{user_id}/token/revoke")
def admin_revoke_token(
    request: Request,
    user_id: IssueId,
    principal: Annotated[Principal, Depends(require_roles("admin"))],
    csrf_token: CsrfField = "",
    konfirmasi: ConfirmField = "",
) -> Response:
    """Revoke the user's API token (asks first); requests with it are refused from then on."""
    require_csrf(request, csrf_token)
    ctx = web(request)
    with ctx.db.session() as session:
        user = _user_or_404(session, user_id)
        if not user.api_token_hash:
            return _admin_done(request, f"{user.username} tidak punya token API.")
        if konfirmasi != CONFIRMED:
            return _confirm_user(
                request,
                principal,
                user,
                heading=f"Cabut token API {user.username}?",
                question="Permintaan API dengan token ini langsung ditolak. Token baru bisa dibuat kapan saja.",
                action="/token/revoke",
                button="Ya, cabut token",
            )
        user.api_token_hash = None
        name = user.username
        ctx.audit_in(session, principal.username, "user_token_revoked", f"user:{name}")
    return _admin_done(request, f"Token API {name} dicabut.")


# ---------------------------------------------------------------- own account


@router.get("/account/password", response_class=HTMLResponse)
def account_password_form(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
    return _render(request, "account.html", principal, error=None)


@router.post("/account/password", response_class=HTMLResponse)
def account_change_password(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    csrf_token: CsrfField = "",
    current: Annotated[str, Form(max_length=256)] = "",
    new: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Change one's own password: needs the current one; all the user's sessions end and this one is renewed."""
    from monitor.web.users import set_password

    require_csrf(request, csrf_token)
    ctx = web(request)
    if principal.via_token:
        raise HTTPException(403, "Ganti kata sandi lewat halaman ini setelah masuk, bukan dengan token API.")
    limit_key = password_change_key(principal.user_id)

    def fail(message: str, status: int) -> Response:
        return _render(request, "account.html", principal, status_code=status, error=message)

    if new != confirm:
        return fail("Kata sandi baru dan ulangannya tidak sama.", 400)
    # Counted before the check, like logins (monitor.web.throttle): holds across workers.
    wait = ctx.login_throttle.attempt_keys([(limit_key, PASSWORD_CHANGE)])
    if wait > 0:
        response = fail(f"Terlalu banyak percobaan. Tunggu {wait_text(wait)} lalu coba lagi.", 429)
        response.headers["Retry-After"] = retry_after_header(wait)
        return response
    with ctx.db.session() as session:
        user = session.get(User, principal.user_id)
        wrong_current = user is None or not verify_password(user.password_hash, current)
        problem = None
        if user is not None and not wrong_current:
            try:
                set_password(user, new)
                ctx.audit_in(session, principal.username, "password_changed", f"user:{principal.username}")
            except ValueError as exc:
                problem = f"Kata sandi baru ditolak: {exc}."
    if wrong_current:
        # Counted like failed logins: a hijacked session must not become a password-guessing oracle.
        ctx.audit(principal.username, "password_change_failed", f"user:{principal.username}")
        return fail("Kata sandi saat ini salah.", 400)
    ctx.login_throttle.clear(limit_key)  # the current password was right: no guessing here
    if problem is not None:
        return fail(problem, 400)
    # Another device may hold a stolen session: end them all and give this browser a fresh id.
    ctx.sessions.destroy_user(principal.user_id)
    sid = ctx.sessions.create(principal.user_id)
    response = flash.redirect(request, "/account/password", "Kata sandi diganti.")
    response.set_cookie(
        SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=ctx.config.secure_cookies, max_age=12 * 3600
    )
    return response
