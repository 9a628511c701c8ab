"""Bluesky post search: ``app.bsky.feed.searchPosts`` with ``sort=latest`` and ``cursor`` paging.

Config (``kind: bluesky``)::

    - name: bluesky-oki
      kind: bluesky
      settings: {queries: ["Kayuagung", "Ogan Komering Ilir"]}

Wire format (lexicon ``app.bsky.feed.searchPosts``): ``{"cursor"?, "hitsTotal"?, "posts":
[postView]}``; each postView has ``uri``, ``author.handle``, ``record.text``,
``record.createdAt``, ``indexedAt`` and reply/repost/like/quote counts.

Bluesky refuses unauthenticated search (HTTP 403) since early 2025, so a production source
logs in with an app password (Settings → Privacy and security → App passwords)::

    - name: bluesky-oki
      kind: bluesky
      token_env: OKI_MONITOR_BLUESKY_APP_PASSWORD
      settings: {identifier: diskominfo-oki.bsky.social, queries: ["Kayuagung"]}

With ``identifier`` set, the collector calls ``com.atproto.server.createSession`` on
``service`` (the account's PDS, default ``https://bsky.social``) and searches there with the
session's ``accessJwt``; when the server says the access token expired (``ExpiredToken``) it
calls ``com.atproto.server.refreshSession`` with the ``refreshJwt`` once and repeats the
request, logging in afresh if the refresh is refused too. Tokens live only in the collector
object (memory) and travel only in headers and bodies: never in URLs, messages or reprs.
Without ``identifier``, a ``token_env`` value is sent as a ready Bearer token (older setups).
Each query is walked newest-first back to
the newest post seen last time (see :mod:`collectors.sweep`), ordered by the server's
``indexedAt`` so back-dated ``createdAt`` values cannot hide posts.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field

from collectors import base
from collectors.base import AuthFailed, FetchResult, JSONDict, MetricsReading, RawItem, SourceError
from collectors.budget import RateLimit
from collectors.common import (
    CommonSettings,
    Pacer,
    add_counts,
    clean_text,
    keep_parsed,
    log_rejected,
    parse_iso,
    time_problem,
    to_int,
    validate_settings,
)
from collectors.http import Fetched, safe_get, safe_request, status_error
from collectors.queries import with_queries
from collectors.sweep import Page, marked, sweep_streams

log = logging.getLogger(__name__)

LOOKUP_BATCH = 25
"""AT-URIs per ``app.bsky.feed.getPosts`` call (the lexicon's ``maxLength``)."""
_POST_URI = re.compile(r"^at://[A-Za-z0-9._:%-]{1,253}/app\.bsky\.feed\.post/[A-Za-z0-9._~:-]{1,512}$")


def _shares(post: dict[str, Any]) -> int:
    """Reposts plus quotes."""
    return add_counts(to_int(post.get("repostCount")), to_int(post.get("quoteCount")))


def _defaults() -> list[str]:
    from collectors.queries import default_queries

    return default_queries("bluesky")


class Settings(CommonSettings):
    """``settings:`` of a Bluesky source."""

    base_url: str = "https://public.api.bsky.app"
    queries: list[str] = Field(default_factory=lambda: _defaults(), min_length=1, max_length=20)
    """Empty in config.yaml: the gazetteer's defaults, one name per query (search is AND-only)."""
    limit: int = Field(25, ge=1, le=100)
    lang: str | None = "id"
    """Only posts in this language (``None`` for all)."""
    identifier: str | None = None
    """Handle or DID of the account whose app password is in ``token_env``: log in with it."""
    service: str = "https://bsky.social"
    """The account's PDS: where the session is made and where logged-in requests go."""


EXPIRED_ERRORS = ("ExpiredToken", "InvalidToken")
"""XRPC error names meaning the access token is no longer good (the server answers 400 or 401)."""


def _xrpc_error(fetched: Fetched) -> str | None:
    try:
        body = fetched.json()
    except SourceError:  # an error page that is not JSON names no XRPC error
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _key(when: datetime, uri: str) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + "|" + uri


def post_url(uri: str, handle: str | None) -> str | None:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` for an ``at://`` post URI."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != "app.bsky.feed.post":
        return None
    return f"https://bsky.app/profile/{handle or parts[0]}/post/{parts[2]}"


def parse_search(data: Any, *, source: str, now: datetime) -> Page:
    """A searchPosts body as a :class:`~collectors.sweep.Page` (pure).

    Raises :class:`SourceError` if the body is not an object with a ``posts`` list.
    """
    if not isinstance(data, dict) or not isinstance(data.get("posts", []), list):
        raise SourceError(
            f"source {source}: searchPosts answer is not an object with a 'posts' list "
            f"(got {type(data).__name__}); the next run retries"
        )
    items, rejected = keep_parsed(
        data.get("posts", []),
        lambda post: _post(post, source=source, now=now),
        lambda post: post.get("uri") if isinstance(post, dict) else None,
        source=source,
        what="uri",
    )
    cursor = data.get("cursor")
    return Page(items, cursor if isinstance(cursor, str) and cursor else None, rejected)


def _post(post: Any, *, source: str, now: datetime) -> tuple[RawItem | None, str | None, str]:
    if not isinstance(post, dict):
        return None, None, "post is not an object"
    uri = post.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://") or len(uri) > 300:
        return None, None, "post without an at:// uri"
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    assert isinstance(record, dict)
    text = record.get("text")
    if not isinstance(text, str):
        return None, None, "record.text is missing or not a string"
    created = parse_iso(record.get("createdAt"))
    indexed = parse_iso(post.get("indexedAt")) or created
    if created is None or indexed is None:
        return None, None, f"createdAt {str(record.get('createdAt'))[:40]!r} is not an ISO 8601 time"
    problem = time_problem(created, now)
    if problem:
        return None, None, problem
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    assert isinstance(author, dict)
    handle = author.get("handle") if isinstance(author.get("handle"), str) else None
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
    parent = reply.get("parent") if reply and isinstance(reply.get("parent"), dict) else None
    parent_uri = parent.get("uri") if parent and isinstance(parent.get("uri"), str) else None
    text = clean_text(text)
    if not text:
        return None, None, "post has no text"
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    item = RawItem(
        source=source,
        platform="bluesky",
        external_id=uri,
        text=text,
        created_at=created,
        url=post_url(uri, handle),
        author=handle,
        kind="comment" if parent_uri else "post",
        parent_id=parent_uri,
        likes=to_int(post.get("likeCount")),
        shares=_shares(post),
        replies=to_int(post.get("replyCount")),
        extra={"langs": [x for x in langs if isinstance(x, str)][:5]} if langs else {},
    )
    return item, _key(indexed, uri), ""


@dataclass
class _Session:
    tokens: tuple[str, str] | None = None
    """(accessJwt, refreshJwt)."""
    logins: int = 0
    refreshes: int = 0

    def __repr__(self) -> str:  # never show the tokens
        return f"_Session(active={self.tokens is not None}, logins={self.logins})"


class BlueskyCollector(base.KeepsSecrets):
    """Bluesky search for a few queries, and lookup of stored posts by AT-URI."""

    platform = "bluesky"
    max_ids_per_call = LOOKUP_BATCH

    def __init__(self, name: str, settings: Settings, token: str | None) -> None:
        self.name = name
        self.settings = settings
        # With an identifier the secret is the app password; otherwise a ready access token.
        self._password = token if settings.identifier else None
        self._token = None if settings.identifier else token
        self._auth_state = _Session()
        """The session, in memory only; one object shared with the per-run copies (:meth:`for_run`)."""
        self._pacer = Pacer(settings.min_request_interval)
        self.last_lookup_rate_limit: RateLimit = RateLimit()
        self.tracked: frozenset[str] = frozenset()
        """Queries following rising incidents in this run's copy; their posts are marked."""

    @property
    def logins(self) -> int:
        """createSession calls so far."""
        return self._auth_state.logins

    @property
    def refreshes(self) -> int:
        """refreshSession calls so far."""
        return self._auth_state.refreshes

    @property
    def _session(self) -> tuple[str, str] | None:
        return self._auth_state.tokens

    @_session.setter
    def _session(self, value: tuple[str, str] | None) -> None:
        self._auth_state.tokens = value

    def for_run(self, tracked: Sequence[str], calls_left: int | None) -> BlueskyCollector:
        """A copy that also searches ``tracked`` queries (rising incidents) this run (the session is shared)."""
        run = copy.copy(self)
        run.settings = with_queries(self.settings, tracked)
        run.tracked = frozenset(tracked) - set(self.settings.queries)
        return run

    @property
    def _base(self) -> str:
        return (self.settings.service if self.settings.identifier else self.settings.base_url).rstrip("/")

    def _xrpc_post(self, client: httpx.Client, method: str, now: datetime, **kw: Any) -> Fetched:
        self._pacer.wait()
        return safe_request(
            client,
            "POST",
            f"{self._base}/xrpc/{method}",
            source=self.name,
            now=now,
            limits=self.settings.limits(),
            check_status=False,
            **kw,
        )

    def _keep(self, fetched: Fetched, what: str) -> None:
        try:
            body = fetched.json()
        except SourceError:
            body = None
        access = body.get("accessJwt") if isinstance(body, dict) else None
        refresh = body.get("refreshJwt") if isinstance(body, dict) else None
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise SourceError(f"source {self.name}: {what} answered without accessJwt/refreshJwt; the next run retries")
        self._session = (access, refresh)

    def _login(self, client: httpx.Client, now: datetime) -> None:
        """``com.atproto.server.createSession`` with the identifier and app password."""
        if not self._password:
            raise AuthFailed(
                f"source {self.name}: settings.identifier is set but the app password is missing; "
                "set the environment variable named in token_env"
            )
        self._session = None
        fetched = self._xrpc_post(
            client,
            "com.atproto.server.createSession",
            now,
            json_body={"identifier": self.settings.identifier, "password": self._password},
        )
        self._auth_state.logins += 1
        if fetched.status in (400, 401) and _xrpc_error(fetched) in ("AuthenticationRequired", "AccountTakedown", None):
            raise AuthFailed(
                f"source {self.name}: Bluesky refused the login of {self.settings.identifier} "
                f"(HTTP {fetched.status}, {_xrpc_error(fetched) or 'no reason'}); create a new app password "
                "and put it in the token_env variable"
            )
        if fetched.status >= 400:
            raise status_error(fetched, now, self.settings.limits().default_retry_after)
        self._keep(fetched, "createSession")

    def _refresh(self, client: httpx.Client, now: datetime) -> None:
        """``com.atproto.server.refreshSession`` with the refresh token; a fresh login when that is refused."""
        if self._session is None:
            self._login(client, now)
            return
        fetched = self._xrpc_post(
            client,
            "com.atproto.server.refreshSession",
            now,
            headers={"Authorization": f"Bearer {self._session[1]}"},
        )
        self._auth_state.refreshes += 1
        if fetched.status == 200:
            self._keep(fetched, "refreshSession")
            return
        if fetched.status == 429:
            raise status_error(fetched, now, self.settings.limits().default_retry_after)
        log.info("source %s: refreshSession refused (HTTP %s); logging in again", self.name, fetched.status)
        self._login(client, now)

    def _auth(self, client: httpx.Client, now: datetime) -> dict[str, str]:
        if self.settings.identifier:
            if self._session is None:
                self._login(client, now)
            assert self._session is not None
            return {"Authorization": f"Bearer {self._session[0]}"}
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _get(self, client: httpx.Client, method: str, params: Mapping[str, str | list[str]], now: datetime) -> Fetched:
        """One XRPC query, logged in when configured; an expired access token is refreshed once."""
        for attempt in (1, 2):
            headers = self._auth(client, now)
            self._pacer.wait()
            fetched = safe_get(
                client,
                f"{self._base}/xrpc/{method}",
                source=self.name,
                now=now,
                params=params,
                headers=headers,
                limits=self.settings.limits(),
                check_status=False,
            )
            expired = fetched.status in (400, 401) and _xrpc_error(fetched) in EXPIRED_ERRORS
            if self.settings.identifier and expired and attempt == 1:
                self._refresh(client, now)
                continue
            if fetched.status >= 400:
                raise status_error(fetched, now, self.settings.limits().default_retry_after)
            return fetched
        raise AssertionError("unreachable")  # pragma: no cover

    def _page(self, client: httpx.Client, query: str, token: Any | None, now: datetime) -> Page:
        params = {"q": query, "sort": "latest", "limit": str(self.settings.limit)}
        if self.settings.lang:
            params["lang"] = self.settings.lang
        if token:
            params["cursor"] = str(token)
        fetched = self._get(client, "app.bsky.feed.searchPosts", params, now)
        page = parse_search(fetched.json(), source=self.name, now=now)
        remaining = fetched.headers.get("ratelimit-remaining")
        if remaining and remaining.isascii() and remaining.isdigit():
            page.rate_limit = {"remaining": int(remaining)}
        return page

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New posts of every query since the last completed walk."""
        raw = cursor.get("queries")

        def stream(query: str) -> Callable[[Any | None], Page]:
            if query in self.tracked:
                return lambda token: marked(self._page(client, query, token, now), query)
            return lambda token: self._page(client, query, token, now)

        result = sweep_streams(
            dict(raw) if isinstance(raw, dict) else {},
            ((query, stream(query)) for query in self.settings.queries),
            max_pages=self.settings.max_pages,
            source=self.name,
        )
        return replace(result, cursor={"queries": result.cursor})

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh like/repost/reply/quote counts via ``app.bsky.feed.getPosts`` (up to 25 AT-URIs per call).

        Stored ids are the posts' ``at://`` URIs (what :func:`parse_search` stores). Deleted
        posts are simply absent from the answer. An id that is not a post URI is never sent:
        the server refuses the whole call (400) for one bad URI.
        """
        uris: list[str] = []
        for external_id in dict.fromkeys(external_ids):
            if is_post_uri(external_id):
                uris.append(external_id)
            else:
                log_rejected(self.name, external_id, "not an at:// post URI; cannot be looked up")
        readings: list[MetricsReading] = []
        calls = 0
        for start in range(0, len(uris), LOOKUP_BATCH):
            chunk = uris[start : start + LOOKUP_BATCH]
            fetched = self._get(client, "app.bsky.feed.getPosts", {"uris": chunk}, now)
            calls += 1
            limit = lookup_rate_limit(fetched.headers)
            if limit != RateLimit():
                self.last_lookup_rate_limit = limit
            readings.extend(parse_posts(fetched.json(), source=self.name, wanted=chunk))
        return readings, calls


def is_post_uri(value: str) -> bool:
    """Whether ``value`` is an ``at://<did-or-handle>/app.bsky.feed.post/<rkey>`` URI."""
    return bool(_POST_URI.match(value))


def parse_posts(data: Any, *, source: str, wanted: list[str]) -> list[MetricsReading]:
    """Readings from a ``getPosts`` body ``{"posts": [postView]}`` (pure).

    Counts follow :func:`parse_search`: shares are reposts plus quotes. Post views for
    URIs not in ``wanted`` and malformed entries are skipped; a body without a ``posts``
    list is a :class:`SourceError`.
    """
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise SourceError(
            f"source {source}: getPosts answer is not an object with a 'posts' list "
            f"(got {type(data).__name__}); the next run retries"
        )
    asked = set(wanted)
    readings: dict[str, MetricsReading] = {}
    for post in posts:
        uri = post.get("uri") if isinstance(post, dict) else None
        if not isinstance(post, dict) or not isinstance(uri, str) or uri not in asked:
            log_rejected(source, uri, "getPosts returned a post without a requested uri")
            continue
        readings[uri] = MetricsReading(
            external_id=uri,
            likes=to_int(post.get("likeCount")),
            shares=_shares(post),
            replies=to_int(post.get("replyCount")),
        )
    return list(readings.values())


def lookup_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """Bluesky's ``RateLimit-Limit/-Remaining/-Reset`` (reset in epoch seconds) as a :class:`RateLimit`."""

    def number(name: str) -> int | None:
        value = (headers.get(name) or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else None

    reset = number("ratelimit-reset")
    return RateLimit(
        limit=number("ratelimit-limit"),
        remaining=number("ratelimit-remaining"),
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None and reset < 10**11 else None,
    )


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> BlueskyCollector:
    """Build the collector for one configured Bluesky source."""
    parsed = validate_settings(Settings, name, settings)
    for key in ("base_url", "service"):
        if not str(getattr(parsed, key)).startswith(("http://", "https://")):
            raise ValueError(f"source {name}: settings.{key}: must start with https://")
    return BlueskyCollector(name, parsed, next((v for v in secrets.values() if v), None))
