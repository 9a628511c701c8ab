"""The web application: ``create_app(config, db, clock)`` builds the dashboard and the JSON API.

Security choices (see shared research §6): deny by default (every route but
/login, /healthz and static files needs a session or an API token), row-level
agency scope in :mod:`monitor.web.queries`, CSRF tokens on every form, a strict
Content-Security-Policy (no inline scripts, no third-party origins), HttpOnly
SameSite cookies, and failed logins slowed down per client and per username (in the database,
so every worker counts them: :mod:`monitor.web.throttle`).
"""

from __future__ import annotations

import atexit
import gc
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.domain import display
from monitor.domain import response as response_rules
from monitor.kernel.clock import Clock, format_date, format_wib, to_wib
from monitor.kernel.config import TOPICS, AppConfig, Region, secret
from monitor.kernel.regions import region_label, region_names_of
from monitor.store.db import Database
from monitor.web import flash, svg, timeline
from monitor.web.actions import kecamatan_names
from monitor.web.audit import AuditWriter
from monitor.web.auth import (
    ROLE_LABELS,
    Principal,
    prepare_login_timing,
)
from monitor.web.client import parse_networks
from monitor.web.deps import (
    NotAuthenticated,
    WebContext,
    current_principal,
    error_page_principal,
    require_roles,
    web,
)
from monitor.web.exports import XLSX_MEDIA_TYPE
from monitor.web.metrics import WebMetrics
from monitor.web.protocol import HTTP_PROTOCOL
from monitor.web.sessions import DbSessionStore
from monitor.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

HSTS = "max-age=31536000"
"""One year; no ``includeSubDomains``: other sites of the same domain may not all be on HTTPS."""


class SecurityHeaders:
    """Adds the security headers to every response and times it for ``/metrics``.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request through
    an extra task and memory streams, a fixed cost paid by every request, 304s included.
    """

    def __init__(self, app: ASGIApp, metrics: WebMetrics, hsts: bool = False, secure_cookies: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.hsts = hsts
        self.clear_flash = flash.clear_header(secure_cookies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        static = scope["path"].startswith("/static")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
                if scope.get("state", {}).get(flash.TAKEN):
                    # The page showed the one-shot message: clear it on this very response.
                    headers.append("set-cookie", self.clear_flash)
            await send(message)

        await self.app(scope, receive, send_with_headers)
        route = scope.get("route")
        self.metrics.observe_request(getattr(route, "path", "other"), scope["method"], time.perf_counter() - started)


def _template_globals(templates: Jinja2Templates, config: AppConfig, agency_name: Callable[[str | None], str]) -> None:
    env = templates.env
    env.globals.update(
        format_wib=format_wib,
        format_date=format_date,
        to_wib=to_wib,
        topic_label=display.topic_label,
        stage_label=display.stage_label,
        status_label=display.status_label,
        role_label=lambda r: ROLE_LABELS.get(r, r),
        agency_name=agency_name,
        region=config.region,
        region_name=lambda code: region_label(code, region_names_of(config)),
        forecast_text=display.forecast_text,
        rate_limit_text=display.rate_limit_text,
        number_id=svg.number_id,
        label_values_datalist=_label_values_datalist(config),
        response_label=response_rules.status_label,
        response_step=response_rules.step_label,
        action_labels=response_rules.ACTION_LABELS,
        note_prompts=response_rules.NOTE_PROMPTS,
        agency_choices=[(a.code, a.name) for a in config.agencies],
        alert_kind_label=display.alert_kind_label,
        delivery_status_label=display.delivery_status_label,
        channel_label=display.channel_label,
        receiver_label=lambda receiver: display.receiver_label(receiver, agency_name),
        recipient_label=display.recipient_label,
        event_sentence=lambda kind, detail, actor: timeline.event_sentence(kind, detail, actor, agency_name),
        correction_text=lambda field, value: timeline.correction_text(field, value, agency_name),
        sentence=display.sentence,
    )


def _label_values_datalist(config: AppConfig) -> Callable[[str | None], Markup]:
    """The values a label correction of an issue of a region may take, as one ``<datalist>``: its region's
    kecamatan and agencies (an OKU issue is corrected to OKU's kecamatan, not OKI's).

    The same on every issue page of a region, and looping over ~60 values in the template was a tenth
    of the page's rendering: the own region's is built when the app starts, another's on first use.
    """
    built: dict[str | None, Markup] = {}

    def datalist(region: str | None) -> Markup:
        found = built.get(region)
        if found is None:
            here = config.for_region(region)
            names = kecamatan_names(config, region)
            values = [*TOPICS, *names, *(a.code for a in here.agencies), "ya", "tidak"]
            options = "".join(f'<option value="{escape(v)}">' for v in values)
            found = built[region] = Markup(f'<datalist id="label-values">{options}</datalist>')
        return found

    datalist(config.region_code)
    return datalist


READ_POOL_SIZE = 20
"""PostgreSQL connections a worker keeps open for pages: about the number of requests in flight at once."""


def read_engine(db: Database) -> Engine:
    """The engine pages read through.

    The app's SQLite engine starts every transaction with BEGIN IMMEDIATE (right for the
    pipeline's writers) which would make 20 dashboard readers wait for one another; WAL
    lets readers run alongside a writer, so reads get their own plain, query-only engine.

    PostgreSQL readers never block each other, but the main engine keeps only 10 connections and
    closes the overflow ones on return: with 20 dashboard requests in flight, every page opened and
    closed a connection (a new backend process each time). Pages get a pool sized for that instead.
    """
    if not db.is_sqlite:
        return _pg_read_engine(db)
    engine = create_engine(db.url, connect_args={"timeout": 10, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA query_only=1")
        cur.close()

    return engine


READ_POOL_NAME = "oki-monitor pages"
"""``application_name`` of the page pool's PostgreSQL connections."""

PING_AFTER_IDLE_SECONDS = 20.0
"""A pooled page connection idle longer than this is checked with a round trip before use."""


def _pg_read_engine(db: Database) -> Engine:
    """PostgreSQL page reads: autocommit, read-only, and a liveness check only for connections left idle.

    A default pool would cost each page view three round trips on top of its queries: the pool's
    ``SELECT 1`` liveness check, ``BEGIN`` and the ``ROLLBACK`` on return; the rollback would also empty
    psycopg's prepared-statement cache, so no page query would ever be prepared. Autocommit (each statement
    its own snapshot, which is all a page needs) removes ``BEGIN``/``ROLLBACK``; ``default_transaction_read_only``
    makes any write through this engine fail, as ``query_only`` does for SQLite. A connection that
    was used within the last :data:`PING_AFTER_IDLE_SECONDS` was alive a moment ago; only older
    ones are pinged (a dropped one is replaced before the request sees it). A database restart
    while connections are busy costs the requests in flight a 503 (see ``database_unavailable``);
    the pool is then refilled.
    """
    url = db.engine.url
    given = url.query.get("options", "")  # e.g. a search_path: keep it, add ours
    options = " ".join([*(given if isinstance(given, tuple) else [given]), "-c default_transaction_read_only=on"])
    engine = create_engine(
        url.difference_update_query(["options"]),
        pool_size=READ_POOL_SIZE,
        max_overflow=10,
        isolation_level="AUTOCOMMIT",
        # Named, so an operator (and a test) can tell the page pool's backends in pg_stat_activity.
        connect_args={"options": options.strip(), "application_name": READ_POOL_NAME},
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_conn.execute("SELECT 1")
        except Exception as exc:  # any failure: let the pool discard it and connect afresh
            raise DisconnectionError(f"idle page connection is gone: {exc.__class__.__name__}") from exc

    return engine


GC_YOUNG_THRESHOLD = 20_000
"""Container allocations between collections of the youngest generation in serving processes."""


def freeze_startup_objects() -> None:
    """Exempt everything built while starting (modules, models, templates, schemas) from garbage collection.

    A worker holds a million long-lived objects from its imports; every full collection walked all
    of them, a 100-130 ms pause (measured in the dashboard benchmark) that stalled whichever requests
    were in flight, a few times a minute. Frozen, they are never scanned again; only what requests
    allocate is. The cost: cycles among the frozen objects are never reclaimed (there are none worth
    reclaiming at startup).

    The youngest generation is also collected every 20,000 new container objects instead of every
    700: an issue page allocates thousands, nearly all freed by reference counting when the request
    ends, so a collection every few hundred found almost nothing and cost 0.14 ms per page (0.04 ms
    now, measured in process over 700 random issue pages).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _close_writer(ref: weakref.ref[AuditWriter]) -> None:
    writer = ref()
    if writer is not None and writer.pending():
        writer.close()


def _agency_names(config: AppConfig | Region) -> Callable[[str | None], str]:
    """``agency_name`` for templates: a dict lookup, called for every evidence post on an issue page."""
    names = {a.code: a.name for a in config.agencies}

    def agency_name(code: str | None) -> str:
        return names.get(code or "", code or "-")

    return agency_name


def _region_context(config: AppConfig) -> Callable[[Request], dict[str, Any]]:
    """Pages for a user of another region than the deployment's own are titled with that region's name and
    name agencies by that region's names (OKU's "pupr" is not "Dinas PUPR OKI"); everyone else as before."""
    def names_of(region: Region) -> dict[str, Any]:
        name = _agency_names(region)
        return {
            "region": region.name,
            "agency_name": name,
            "agencies": region.agencies,
            "agency_names": [(a.code, a.name) for a in region.agencies],
            "agency_choices": [(a.code, a.name) for a in region.agencies],
            "receiver_label": lambda receiver: display.receiver_label(receiver, name),
            "event_sentence": lambda kind, detail, actor: timeline.event_sentence(kind, detail, actor, name),
            "correction_text": lambda field, value: timeline.correction_text(field, value, name),
        }

    own = {code: names_of(r) for code, r in config.deployment_regions().items() if code != config.region_code}

    def context(request: Request) -> dict[str, Any]:
        principal = getattr(request.state, "principal", None)
        region = principal.scope_region if principal is not None else None
        return own.get(region, {}) if region is not None else {}

    return context


service_routes = APIRouter(include_in_schema=False)
"""The app's own routes: health probe, metrics, the API description, robots.txt.

Module-level functions reading the app through the request, never closures over one app: FastAPI keeps what
it learns of each endpoint callable in a process-wide cache, so a closure would keep its app alive for good.
"""


@service_routes.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    ctx = web(request)
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, never crash the probe
        log.warning("health check: database unreachable: %s", exc.__class__.__name__)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "time": ctx.clock.now().isoformat()})


@service_routes.get("/metrics")
def metrics(request: Request, _: Annotated[Principal, Depends(require_roles("admin", "comms", "analyst"))]) -> Response:
    body, content_type = web(request).metrics.render()
    return Response(body, media_type=content_type)


@service_routes.get("/openapi.json")
def openapi(request: Request, _: Annotated[Principal, Depends(current_principal)]) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@service_routes.get("/docs", response_class=HTMLResponse)
def docs(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Response:
    return web(request).templates.TemplateResponse(
        request,
        "docs.html",
        {
            "user": principal,
            "spec": request.app.openapi(),
            "csrf_token": request.state.csrf_token if hasattr(request.state, "csrf_token") else "",
        },
    )


@service_routes.get("/robots.txt")
def robots() -> PlainTextResponse:
    return PlainTextResponse("User-agent: *\nDisallow: /\n")


def create_app(config: AppConfig, db: Database, clock: Clock, *, freeze_gc: bool = False) -> FastAPI:
    """Build the dashboard + API app over ``db``; ``clock`` decides what "now" is (the demo passes its own).

    ``freeze_gc``: the process serves this app for its lifetime (``serve``, ``run``, workers), so
    :func:`freeze_startup_objects` runs at startup. Off for apps built in tests and other hosts:
    freezing is a decision for the whole process.
    """
    from monitor.web import (
        routes_api,
        routes_kinerja,
        routes_lapor,
        routes_map,
        routes_pages,
        routes_respond,
        routes_triage,
    )

    prepare_login_timing()
    app = FastAPI(
        title="OKI Viral Monitor API",
        version="1",
        description=(
            "API JSON untuk analis dan integrasi. Kirim header `Authorization: Bearer <token>` dengan token API "
            "pribadi yang dibuat admin di halaman Admin (ditampilkan sekali). Waktu dalam UTC, format ISO-8601; "
            "dasbor menampilkannya dalam WIB."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[_region_context(config)])
    # Templates ship with the package and change only with a restart: skip the stat() of every
    # template file on every render that auto_reload does.
    templates.env.auto_reload = False
    agency_name = _agency_names(config)
    _template_globals(templates, config, agency_name)
    secret_key = secret(config.web.secret_key_env) or secrets.token_urlsafe(32)
    templates.env.globals["take_flash"] = lambda request: flash.take(request, secret_key)
    reader = read_engine(db)
    read_sessions = sessionmaker(reader, expire_on_commit=False)
    ctx = WebContext(
        config=config,
        db=db,
        clock=clock,
        sessions=DbSessionStore(db.engine, reader),
        login_throttle=LoginThrottle(db.engine),
        templates=templates,
        metrics=WebMetrics(read_sessions),
        secret_key=secret_key,
        read_sessions=read_sessions,
        audit_writer=AuditWriter(db.engine),
        agency_name=agency_name,
        trusted_proxies=parse_networks(config.web.trusted_proxies),
    )
    app.state.web = ctx
    # View audit rows queued in memory are written at a clean stop (uvicorn's shutdown, or interpreter
    # exit for apps run without a lifespan, e.g. in tests); only a crash can lose the last 0.5 s of them.
    app.router.on_shutdown.append(ctx.audit_writer.close)
    if freeze_gc:
        app.router.on_startup.append(freeze_startup_objects)
    if reader is not db.engine:
        app.router.on_shutdown.append(reader.dispose)
        # An app dropped without its shutdown (a test client used without ``with``, an embedding host) still
        # closes its page pool's connections when it is collected, instead of leaving them to the driver.
        weakref.finalize(app, reader.dispose)
    atexit.register(_close_writer, weakref.ref(ctx.audit_writer))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    app.add_middleware(SecurityHeaders, metrics=ctx.metrics, hsts=config.hsts, secure_cookies=config.secure_cookies)
    # Outermost, so it compresses what the others produced. Level 6, not Starlette's 9: on the
    # dashboard's pages its output is within 0.3 % of level 9's, and a 25 KB issue page took 0.7 ms
    # instead of 1.1 ms. XLSX exports are zip archives already, like the images Starlette skips.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM_BYTES,
        compresslevel=6,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX_MEDIA_TYPE),
    )

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"detail": "Perlu masuk: kirim header Authorization: Bearer <token> atau masuk lewat /login."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = error_text(exc.status_code, exc.detail)
        if _wants_json(request):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        principal = getattr(request.state, "principal", None)
        if principal is None:
            # An unknown address never ran the session dependency: look the visitor up so the page
            # keeps its navigation (a signed-in user lost on a typo should find the way back).
            principal = await error_page_principal(request, ctx)
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "status": exc.status_code,
                "heading": ERROR_HEADINGS.get(exc.status_code, f"Galat {exc.status_code}"),
                "message": detail,
                "user": principal,
                "csrf_token": getattr(request.state, "csrf_token", ""),
            },
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception and re-raises it to the server after this page is sent. This
        # handler runs outside the app's middleware, so the page carries its security headers itself.
        response = await http_error(request, StarletteHTTPException(500))
        response.headers.update(
            {
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Cache-Control": "no-store",
            }
        )
        return response

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # A lost or refused database connection is an outage to wait out, not a bug in the page:
        # say so (503 + Retry-After) instead of a bare 500. SQLAlchemy has already dropped the
        # pool's connections if this was a disconnect, so the next request connects afresh.
        log.warning("database unavailable during %s: %s", request.url.path, exc.orig.__class__.__name__)
        return await http_error(
            request,
            StarletteHTTPException(
                503,
                "Basis data sedang tidak dapat dihubungi. Tunggu sebentar lalu muat ulang halaman.",
                headers={"Retry-After": "5"},
            ),
        )

    app.include_router(service_routes)
    app.include_router(routes_pages.router)
    app.include_router(routes_api.router)
    app.include_router(routes_respond.api)
    app.include_router(routes_respond.pages)
    app.include_router(routes_triage.pages)
    app.include_router(routes_triage.api)
    app.include_router(routes_map.pages)
    app.include_router(routes_map.api)
    app.include_router(routes_kinerja.pages)
    app.include_router(routes_kinerja.api)
    app.include_router(routes_lapor.pages)
    return app


WORKER_CONFIG_ENV = "OKI_MONITOR_WEB_CONFIG"
"""Config file path handed to worker processes (``web.workers`` > 1) by ``serve`` and ``run``."""


def worker_app() -> FastAPI:
    """uvicorn factory for one of several worker processes: each builds its app from the config file.

    The database URL comes from the config or ``OKI_MONITOR_DATABASE_URL``, exactly as for the
    parent command; sessions and the board's freshness live in the database, so workers agree.
    """
    import os

    from monitor.store.context import Context

    ctx = Context(Path(os.environ.get(WORKER_CONFIG_ENV, "config.yaml")))
    return create_app(ctx.config, ctx.checked_database(), ctx.clock, freeze_gc=True)


def worker_command(config_path: Path, host: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard with ``workers`` processes."""
    import os
    import sys

    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "monitor.web.app:worker_app",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--http",
        HTTP_PROTOCOL,
        # The app decides whom to believe (web.trusted_proxies): uvicorn must not rewrite the client
        # from X-Forwarded-For itself (by default it does for connections from 127.0.0.1).
        "--no-proxy-headers",
    ]
    return cmd, {**os.environ, WORKER_CONFIG_ENV: str(config_path.resolve())}


def server_config(app: FastAPI, host: str, port: int) -> Any:
    """The ``uvicorn.Config`` that ``serve`` and ``run`` serve one dashboard process with.

    ``proxy_headers`` off: uvicorn would otherwise replace the client address with the one in
    ``X-Forwarded-For`` for any connection from 127.0.0.1, before the app's own check of
    ``web.trusted_proxies`` could see the real peer.
    """
    import uvicorn

    # No access log: one line per request is CPU on every 30-second board refresh; errors still log.
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)


GZIP_MINIMUM_BYTES = 500
"""Smaller answers (a 304, a short JSON) are not worth a gzip header and the CPU."""

ERROR_HEADINGS: dict[int, str] = {
    400: "Permintaan tidak valid",
    401: "Perlu masuk",
    403: "Akses ditolak",
    404: "Halaman tidak ditemukan",
    405: "Cara membuka halaman ini tidak didukung",
    422: "Isian tidak valid",
    429: "Terlalu banyak permintaan",
    500: "Terjadi kesalahan di server",
    503: "Layanan sementara tidak tersedia",
}
"""Error page headings, in Bahasa Indonesia."""

_DEFAULT_DETAILS: dict[int, str] = {
    403: "Anda tidak berwenang membuka halaman ini.",
    404: "Alamat ini tidak ada. Periksa tautannya atau kembali ke papan isu.",
    405: "Alamat ini tidak bisa dibuka dengan cara itu (metode HTTP tidak didukung).",
    500: "Maaf, halaman ini gagal dibuat. Kesalahan sudah dicatat; coba lagi sebentar lagi.",
}


def error_text(status: int, detail: Any) -> str:
    """The message of an error answer in Bahasa Indonesia.

    Routes raise their own Bahasa details; Starlette's defaults ("Not Found", "Method Not Allowed",
    the bare phrase of the status) are English and get a Bahasa sentence instead.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    if not detail or detail == phrase:
        return _DEFAULT_DETAILS.get(status, ERROR_HEADINGS.get(status, f"Galat {status}."))
    return str(detail)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/openapi.json", "/metrics")
