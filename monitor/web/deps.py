"""What every route depends on: the app's shared state, the signed-in user, role and CSRF checks, the clock.

The routes modules and :mod:`monitor.web.app` both import from here, so no route module imports the app
(which includes the routers): the web's import graph has no circle.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from monitor.kernel.clock import Clock
from monitor.kernel.config import AppConfig
from monitor.kernel.regions import region_label, region_names_of
from monitor.store.db import Database
from monitor.store.models import AuditLog, User
from monitor.web import queries
from monitor.web.audit import AuditWriter
from monitor.web.auth import (
    SESSION_COOKIE,
    Principal,
    SessionStore,
    csrf_ok,
    hash_token,
)
from monitor.web.cache import BoardCache, VersionedCache
from monitor.web.client import IPNetwork, client_address
from monitor.web.metrics import WebMetrics
from monitor.web.sessions import DbSessionStore
from monitor.web.throttle import LoginThrottle

log = logging.getLogger(__name__)


class NotAuthenticated(Exception):
    """No valid session or token: pages redirect to the login form, the API answers 401."""


@dataclass
class WebContext:
    """Per-application state shared by all requests."""

    config: AppConfig
    db: Database
    clock: Clock
    sessions: SessionStore | DbSessionStore
    login_throttle: LoginThrottle
    """Failed logins (per account, per address) and password-change attempts, counted in the database."""
    templates: Jinja2Templates
    metrics: WebMetrics
    secret_key: str

    read_sessions: sessionmaker[Session]
    audit_writer: AuditWriter
    agency_name: Callable[[str | None], str]
    """An agency's display name from its code (the code itself when unknown)."""
    board_cache: BoardCache = field(default_factory=BoardCache)
    issue_cache: VersionedCache = field(default_factory=VersionedCache)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """Peers whose X-Forwarded-For / X-Real-IP are believed (``web.trusted_proxies``)."""

    def client(self, request: Request) -> str:
        """The request's client address: the socket peer unless that is a trusted proxy."""
        return client_address(request.client.host if request.client else None, request.headers, self.trusted_proxies)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: on SQLite it does not take the write lock, so pages never queue behind each other."""
        # Closing (not rolling back) keeps loaded objects usable for rendering after the block.
        with self.read_sessions() as session:
            yield session

    def region_name(self, code: str | None) -> str:
        """A region's name for people (the config's, else the national list's); "Semua wilayah" for None
        (a user of every region)."""
        return region_label(code, region_names_of(self.config))

    def regions_for(self, principal: Principal) -> list[str]:
        """The region codes ``principal`` sees: its own, or every region of the deployment. More than one is
        when pages offer to compare regions."""
        if principal.scope_region is not None:
            return [principal.scope_region]
        return list(self.config.deployment_regions())

    def changed(self) -> None:
        """This process changed issues (ack, resolve, merge, split, labels): cached boards are stale now."""
        self.board_cache.invalidate()
        self.issue_cache.invalidate()

    def issue_detail(
        self, session: Session, issue: Any, max_posts: int, page: bool = True, offset: int = 0
    ) -> queries.IssueDetail:
        """The issue page's evidence for ``issue`` (already scope-checked by the caller), from the cache when fresh.

        The version is taken from the issue row the caller has just read: the pipeline bumps
        ``updated_at`` when it adds signals, new posts change ``post_count`` and ``last_seen``, and this
        process's own writes clear the cache. Alerts, deliveries and events that change none of these
        show within the cache's time limit (10 s). A re-view then costs a render and two small queries.
        """
        key = (issue.id, max_posts, page, offset)
        version = (
            issue.updated_at,
            issue.last_seen,
            issue.post_count,
            issue.status,
            issue.acknowledged_at,
            issue.merged_into_id,
        )
        cached = self.issue_cache.get(key, version)
        if cached is not None:
            return dataclasses.replace(cached, issue=issue)
        detail = queries.issue_detail(session, issue, max_posts=max_posts, offset=offset, page=page)
        self.issue_cache.put(key, version, detail)
        return detail

    def audit(self, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
        """Write one audit-log row in its own transaction (UU PDP: who viewed/exported what)."""
        # One Core INSERT: this runs on every issue view, where the ORM's unit of work is pure overhead.
        row = {"at": self.clock.now(), "actor": actor, "action": action, "target": target, "detail": detail}
        with self.db.engine.begin() as conn:
            conn.execute(insert(AuditLog), [row])

    def audit_view(self, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
        """Queue the audit row of a *view*: written within 0.5 s by :class:`monitor.web.audit.AuditWriter`.

        Only views go this way (see that module for the durability trade-off); logins, exports,
        actions and denied accesses use :meth:`audit`, written before the response.
        """
        self.audit_writer.add(
            {"at": self.clock.now(), "actor": actor, "action": action, "target": target, "detail": detail}
        )

    def audit_in(self, session: Session, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
        """Add an audit-log row to the caller's transaction (never open a second one inside a session)."""
        session.add(AuditLog(at=self.clock.now(), actor=actor, action=action, target=target, detail=detail))


def web(request: Request) -> WebContext:
    """The app's :class:`WebContext` (FastAPI dependency)."""
    ctx: WebContext = request.app.state.web
    return ctx


def _principal_from_request(request: Request, ctx: WebContext) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if not token:
            return None
        with ctx.read() as session:
            user = session.scalar(select(User).where(User.api_token_hash == hash_token(token), User.active.is_(True)))
            if user is None:
                return None
            return Principal(
                user.id, user.username, user.role, user.agency_code, via_token=True, region_code=user.region_code
            )
    sid = request.cookies.get(SESSION_COOKIE)
    if isinstance(ctx.sessions, DbSessionStore):
        found = ctx.sessions.get_with_user(sid)
        if found is None:
            return None
        data, user_row = found
        if not user_row.active:
            ctx.sessions.destroy(sid)
            return None
        request.state.csrf_token = data.csrf_token
        return Principal(
            data.user_id, user_row.username, user_row.role, user_row.agency_code, region_code=user_row.region_code
        )
    local = ctx.sessions.get(sid)
    if local is None:
        return None
    with ctx.read() as session:
        user = session.get(User, local.user_id)
        if user is None or not user.active:
            ctx.sessions.destroy(sid)
            return None
        request.state.csrf_token = local.csrf_token
        return Principal(user.id, user.username, user.role, user.agency_code, region_code=user.region_code)


def _remembered_principal(request: Request, ctx: WebContext) -> Principal | None:
    """The cookie session's user if this worker checked it a moment ago (memory only, no I/O)."""
    if request.headers.get("authorization") or not isinstance(ctx.sessions, DbSessionStore):
        return None
    found = ctx.sessions.remembered(request.cookies.get(SESSION_COOKIE))
    if found is None or not found[1].active:
        return None
    data, user_row = found
    request.state.csrf_token = data.csrf_token
    return Principal(
        data.user_id, user_row.username, user_row.role, user_row.agency_code, region_code=user_row.region_code
    )


async def current_principal(request: Request) -> Principal:
    """The signed-in user, or :class:`NotAuthenticated` (FastAPI dependency).

    Async, so a session this worker has just checked costs no hop to the thread pool (a sync
    dependency is one more handoff per request, on top of the route's own); a lookup that needs
    the database still runs in the pool.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    ctx = web(request)
    principal = _remembered_principal(request, ctx)
    if principal is None:
        principal = await run_in_threadpool(_principal_from_request, request, ctx)
    if principal is None:
        raise NotAuthenticated()
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only the given roles (403 for the others)."""

    async def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            await run_in_threadpool(
                web(request).audit, principal.username, "access_denied", request.url.path, role=principal.role
            )
            raise HTTPException(403, "Peran Anda tidak diizinkan membuka halaman ini.")
        return principal

    return dependency


CsrfField = Annotated[str, Form(max_length=100)]
"""A page form's ``csrf_token`` field, checked by :func:`require_csrf`: one bound for every form."""


def require_csrf(request: Request, given: str | None) -> None:
    """Reject a state-changing request from a session without the session's CSRF token.

    Requests authenticated by a bearer token carry no ambient credentials, so they need none.
    """
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and principal.via_token:
        return
    origin = request.headers.get("origin")
    # Compare hosts only: behind an HTTPS proxy the scheme seen here differs from the browser's.
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "Permintaan dari situs lain ditolak (Origin tidak cocok).")
    if not csrf_ok(getattr(request.state, "csrf_token", None), given):
        raise HTTPException(
            403, "Token formulir (CSRF) tidak valid atau kedaluwarsa. Muat ulang halaman lalu coba lagi."
        )


def now_of(request: Request) -> datetime:
    """The app clock's current time (demo apps run on simulated time)."""
    return web(request).clock.now()


async def error_page_principal(request: Request, ctx: WebContext) -> Principal | None:
    """The signed-in visitor of an error page, or None; never fails (an error page must render)."""
    try:
        principal = _remembered_principal(request, ctx)
        if principal is None and (request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization")):
            principal = await run_in_threadpool(_principal_from_request, request, ctx)
    except Exception:  # a database outage: the page without navigation
        log.debug("error page: could not look up the visitor", exc_info=True)
        return None
    return principal


async def json_object(request: Request, example: str) -> dict[str, Any] | JSONResponse:
    """The request's body as a JSON object, or the API's 422 (``detail`` naming ``example``, ``field`` null)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return JSONResponse({"detail": f"badan permintaan: kirim objek JSON, mis. {example}", "field": None}, 422)
    return data
