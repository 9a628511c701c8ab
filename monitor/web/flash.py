"""One-shot messages after a form post ("Isu digabung.", "Gagal: ..."), kept out of the URL.

A message that travelled in ``?msg=`` let anyone put their own words on a trusted page with a
crafted link. Now the server alone writes it: a signed cookie (itsdangerous, the app's secret
key) set on the redirect, shown once by the layout and cleared on that same response. A cookie
that is forged, altered or older than :data:`MAX_AGE_SECONDS` shows nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from monitor.web.deps import web

COOKIE = "oki_flash"
SALT = "oki-flash"
MAX_AGE_SECONDS = 120
"""A message is for the page the redirect lands on, a moment later; a stale one is dropped."""
MAX_TEXT = 300
TAKEN = "flash_taken"
"""``request.state`` key: the layout showed the message, so the response clears the cookie."""


@dataclass(frozen=True, slots=True)
class Flash:
    """A message for the next page: ``error`` ones are styled as errors and announced (``role="alert"``)."""

    text: str
    error: bool = False


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def redirect(request: Request, url: str, text: str, *, error: bool = False) -> RedirectResponse:
    """A 303 to ``url`` (a path of this site) carrying ``text`` for the page it lands on."""
    ctx = web(request)
    response = RedirectResponse(url, status_code=303)
    value = _serializer(ctx.secret_key).dumps({"t": text[:MAX_TEXT], "e": error})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=ctx.config.secure_cookies,
    )
    return response


def take(request: Request, secret_key: str) -> Flash | None:
    """The message waiting for this page (once), or None; marks it taken so the response clears it."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    request.state.flash_taken = True
    try:
        data: Any = _serializer(secret_key).loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # forged, altered, expired (SignatureExpired is a BadSignature)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        return None
    return Flash(text=data["t"][:MAX_TEXT], error=bool(data.get("e")))


def clear_header(secure: bool) -> str:
    """The ``Set-Cookie`` value that deletes the message cookie once a page has shown it."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=lax{flags}"
