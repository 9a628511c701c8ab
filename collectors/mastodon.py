"""Mastodon hashtag timelines (and, with a token, status search) on a configured instance.

Config (``kind: mastodon``)::

    - name: mastodon-oki
      kind: mastodon
      settings: {base_url: "https://mastodon.social", hashtags: [kayuagung, oki]}

Wire format: ``GET /api/v1/timelines/tag/:hashtag?limit=40`` returns a bare JSON array
of Status entities, newest first, with the cursor in the ``Link`` header
(docs.joinmastodon.org/methods/timelines/, /api/guidelines/#pagination).

Polling never skips: after the first run (newest page only) each run asks for
``min_id=<newest stored id>``, which returns the statuses *immediately* after it, and
follows the ``Link: rel="prev"`` URL forward page by page (at most ``max_pages``). The
per-tag cursor only moves to the newest id actually collected, so a run cut short by a
429 or ``max_pages`` continues where it stopped next time.

Full-text search (``/api/v2/search?type=statuses``) needs a user token with
``read:search``; set ``queries`` and the source's ``token_env`` together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import Field, field_validator

from collectors import base
from collectors.base import FetchResult, JSONDict, MetricsReading, RateLimited, RawItem, SourceError
from collectors.budget import RateLimit
from collectors.common import (
    CommonSettings,
    Pacer,
    clean_text,
    followers_extra,
    html_to_text,
    log_rejected,
    parse_iso,
    time_problem,
    to_int,
    validate_settings,
)
from collectors.http import Fetched, safe_get, status_error

log = logging.getLogger(__name__)

_TAG = re.compile(r"^\w{1,100}$", re.UNICODE)
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([\w ]+)"?')
LOOKUP_BATCH = 20
"""Ids per ``GET /api/v1/statuses`` call: Mastodon refuses more than its default page size (20) with 422."""
_STATUS_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")


class Settings(CommonSettings):
    """``settings:`` of a Mastodon source."""

    base_url: str = "https://mastodon.social"
    hashtags: list[str] = Field(default_factory=list, max_length=30)
    queries: list[str] = Field(default_factory=list, max_length=20)
    """Full-text status searches; need a token (the source's ``token_env``) with ``read:search``."""
    limit: int = Field(40, ge=1, le=40)
    local: bool = False
    """Only statuses from this instance (default: everything the instance knows)."""

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [t.strip().lstrip("#") for t in value]
        bad = [t for t in cleaned if not _TAG.match(t)]
        if bad:
            raise ValueError(f"hashtags must be words without spaces or '#': {bad[:3]}")
        return cleaned


def parse_link_header(value: str | None) -> dict[str, str]:
    """``rel → URL`` from an HTTP ``Link`` header (RFC 8288, the subset Mastodon sends)."""
    out: dict[str, str] = {}
    for url, rels in _LINK.findall(value or ""):
        for rel in rels.split():
            out.setdefault(rel, url)
    return out


def id_key(status_id: str) -> tuple[int, str]:
    """Sort key for status ids: Mastodon ids are numeric strings, other servers use sortable strings."""
    return (len(status_id), status_id)


@dataclass
class StatusPage:
    """Statuses of one page, parsed."""

    items: list[RawItem] = field(default_factory=list)
    rejected: int = 0
    newest_id: str | None = None
    """Largest id on the page, including skipped statuses (so a bad status is not fetched forever)."""


def parse_statuses(data: Any, *, source: str, instance: str, now: datetime) -> StatusPage:
    """A page of Mastodon Status entities as :class:`RawItem` values (pure).

    Raises :class:`SourceError` when the body is not a JSON array; single malformed
    statuses are skipped, counted and logged.
    """
    if not isinstance(data, list):
        raise SourceError(
            f"source {source}: expected a JSON array of statuses from {instance}, got {type(data).__name__}; "
            "the instance may have changed its API — the next run retries"
        )
    page = StatusPage()
    seen: set[str] = set()
    for raw in data:
        status_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(status_id, str) or not status_id or len(status_id) > 64:
            page.rejected += 1
            log_rejected(source, status_id, "status without a string id")
            continue
        if page.newest_id is None or id_key(status_id) > id_key(page.newest_id):
            page.newest_id = status_id
        if status_id in seen:
            page.rejected += 1
            log_rejected(source, status_id, "duplicate id within one page")
            continue
        seen.add(status_id)
        item, problem = _status_item(raw, source=source, instance=instance, now=now)
        if item is None:
            page.rejected += 1
            log_rejected(source, status_id, problem or "malformed status")
            continue
        page.items.append(item)
    return page


def _status_item(raw: dict[str, Any], *, source: str, instance: str, now: datetime) -> tuple[RawItem | None, str]:
    status = raw["reblog"] if isinstance(raw.get("reblog"), dict) else raw  # a boost carries the original
    status_id = status.get("id")
    if not isinstance(status_id, str) or not status_id:
        return None, "boost without an original id"
    created = parse_iso(status.get("created_at"))
    if created is None:
        return None, f"created_at {str(status.get('created_at'))[:40]!r} is not an ISO 8601 time"
    problem = time_problem(created, now)
    if problem:
        return None, problem
    content = status.get("content")
    if not isinstance(content, str):
        return None, "content is not a string"
    text = html_to_text(content)
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = clean_text(spoiler) + "\n\n" + text
    if not text:
        return None, "status has no text"
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    assert isinstance(account, dict)
    acct = account.get("acct")
    url = status.get("url") or status.get("uri")
    parent = status.get("in_reply_to_id")
    tags = [t.get("name") for t in status.get("tags") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    return (
        RawItem(
            source=source,
            platform="mastodon",
            external_id=status_id,
            text=text,
            created_at=created,
            url=url if isinstance(url, str) and url.startswith(("http://", "https://")) else None,
            author=clean_text(acct, 200) if isinstance(acct, str) else None,
            kind="comment" if isinstance(parent, str) and parent else "post",
            parent_id=parent if isinstance(parent, str) and parent else None,
            likes=to_int(status.get("favourites_count")),
            shares=to_int(status.get("reblogs_count")),
            replies=to_int(status.get("replies_count")),
            extra={
                "instance": instance,
                **followers_extra(account.get("followers_count")),
                **({"language": status["language"]} if isinstance(status.get("language"), str) else {}),
                **({"tags": tags[:20]} if tags else {}),
            },
        ),
        "",
    )


def not_found(source: str, instance: str, path: str) -> SourceError:
    """The failure for a 404 from a timeline or search: the address is wrong, it is not "no posts".

    Mastodon answers a hashtag nobody used yet with ``200 []`` (the tag timeline controller
    returns an empty list when the tag does not exist), so a 404 means ``base_url`` does not
    point at a Mastodon API (a typo, a moved or closed instance, another kind of server).
    Reading it as "no posts" kept such a source green while it collected nothing.
    """
    return SourceError(
        f"source {source}: {instance}{path} tidak ditemukan (HTTP 404) — periksa settings.base_url / "
        f"not found (HTTP 404): an unknown hashtag answers an empty list, so {instance} is not a Mastodon API "
        "at this address (typo, moved or closed instance); check settings.base_url in config.yaml"
    )


class MastodonCollector(base.KeepsSecrets):
    """Hashtag timelines (and token searches) on one instance, and status lookup by id."""

    platform = "mastodon"
    max_ids_per_call = LOOKUP_BATCH
    """Ids per lookup call; drops to 1 once the instance turns out to lack the batch endpoint."""

    def __init__(self, name: str, settings: Settings, token: str | None) -> None:
        self.name = name
        self.settings = settings
        self._token = token
        self._pacer = Pacer(settings.min_request_interval)
        self.instance = urlsplit(settings.base_url).netloc or settings.base_url
        self.last_lookup_rate_limit: RateLimit = RateLimit()
        self._batch_lookup = True

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New statuses of every hashtag (and search) since the stored ids."""
        base = self.settings.base_url.rstrip("/")
        streams: list[tuple[str, str, dict[str, str], str | None]] = [
            (f"tag:{t}", f"{base}/api/v1/timelines/tag/{t}", self._tag_params(), None) for t in self.settings.hashtags
        ]
        streams += [
            (f"search:{q}", f"{base}/api/v2/search", {"q": q, "type": "statuses", "limit": "40"}, "statuses")
            for q in self.settings.queries
        ]
        raw_state = cursor.get("streams")
        old: dict[str, Any] = dict(raw_state) if isinstance(raw_state, dict) else {}
        state: dict[str, Any] = dict(old)
        items: list[RawItem] = []
        known: set[str] = set()
        rejected = calls = 0
        rate: JSONDict = {}
        first_error: SourceError | None = None
        for key, url, params, body_key in streams:
            entry = old.get(key) if isinstance(old.get(key), dict) else {}
            assert isinstance(entry, dict)
            newest = entry.get("newest_id") if isinstance(entry.get("newest_id"), str) else None
            try:
                got, bad, n_calls, newest, rate = self._stream(client, url, params, body_key, newest, now)
            except _Partial as partial:
                got, bad, n_calls, newest, rate = partial.got, partial.bad, partial.calls, partial.newest, partial.rate
                first_error = first_error or partial.error
            except SourceError as exc:
                first_error = first_error or exc
                if isinstance(exc, RateLimited):
                    break
                continue
            calls += n_calls
            rejected += bad
            if newest:
                state[key] = {"newest_id": newest}
            for item in got:
                if item.external_id not in known:  # the same status under two hashtags
                    known.add(item.external_id)
                    items.append(item)
            if first_error is not None and isinstance(first_error, RateLimited):
                break
        if first_error is not None and not items:
            raise first_error
        if first_error is not None:
            log.warning("source %s: %s; keeping %d statuses read so far", self.name, first_error, len(items))
            if first_error.retry_after:
                rate["retry_after"] = first_error.retry_after
        return FetchResult(items=items, cursor={"streams": state}, rejected=rejected, calls=calls, rate_limit=rate)

    def _tag_params(self) -> dict[str, str]:
        params = {"limit": str(self.settings.limit)}
        if self.settings.local:
            params["local"] = "true"
        return params

    def _stream(
        self,
        client: httpx.Client,
        url: str,
        params: dict[str, str],
        body_key: str | None,
        newest: str | None,
        now: datetime,
    ) -> tuple[list[RawItem], int, int, str | None, JSONDict]:
        """Page forward from ``newest``; returns items, rejected, calls, the new newest id and rate-limit facts."""
        items: list[RawItem] = []
        rejected = calls = 0
        rate: JSONDict = {}
        next_url: str | None = url
        next_params: dict[str, str] | None = {**params, **({"min_id": newest} if newest else {})}
        first_run = newest is None
        for pages_done in range(self.settings.max_pages):
            if next_url is None:
                break
            try:
                fetched = self._get(client, next_url, next_params, now)
                calls += 1
                if fetched.status == 404:
                    raise not_found(self.name, self.instance, urlsplit(next_url).path)
                if fetched.status >= 400:
                    raise status_error(fetched, now)
                rate = _rate_limit(fetched.headers)
                data = fetched.json()
                if body_key is not None:
                    data = data.get(body_key) if isinstance(data, dict) else data
                page = parse_statuses(data, source=self.name, instance=self.instance, now=now)
            except SourceError as exc:
                if pages_done:
                    raise _Partial(items, rejected, calls, newest, rate, exc) from None
                raise
            rejected += page.rejected
            items.extend(page.items)
            if page.newest_id is None:
                break  # nothing newer: caught up
            if newest is None or id_key(page.newest_id) > id_key(newest):
                newest = page.newest_id
            if first_run or rate.get("remaining") == 0:
                break  # first run: the newest page is enough history; or the instance says stop
            # Forward paging: Link rel="prev" carries min_id=<newest on this page>.
            prev = parse_link_header(fetched.headers.get("link")).get("prev")
            if prev and _min_id(prev) == newest and prev.startswith(self.settings.base_url.rstrip("/")):
                next_url, next_params = prev, None
            else:
                next_url, next_params = url, {**params, "min_id": newest}
            if len(page.items) + page.rejected < int(params.get("limit", "40")):
                break  # a short page means there is nothing more right now
        return items, rejected, calls, newest, rate

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh counts of already-stored statuses; ids the instance no longer shows are simply absent.

        Uses ``GET /api/v1/statuses?id[]=...`` (Mastodon 4.3+, at most
        :data:`LOOKUP_BATCH` ids). An older instance answers 404 there; then each status is
        fetched alone (``GET /api/v1/statuses/:id``) and later batches shrink to one id, so
        every planned call is one real request and the tracking budget stays honest.
        """
        ids = list(dict.fromkeys(i for i in external_ids if is_status_id(i)))
        readings: list[MetricsReading] = []
        calls = 0
        for start in range(0, len(ids), LOOKUP_BATCH):
            chunk = ids[start : start + LOOKUP_BATCH]
            if self._batch_lookup:
                got, n = self._lookup_batch(client, chunk, now)
                calls += n
                if got is not None:
                    readings.extend(got)
                    continue
            for status_id in chunk:
                reading = self._lookup_one(client, status_id, now)
                calls += 1
                if reading is not None:
                    readings.append(reading)
        return readings, calls

    def _get(
        self, client: httpx.Client, url: str, params: Mapping[str, str | list[str]] | None, now: datetime
    ) -> Fetched:
        """One paced GET with the source's token (when it has one) and size limits, for timelines and lookups
        alike; the caller judges the status (404 means different things to each)."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._pacer.wait()
        return safe_get(
            client,
            url,
            source=self.name,
            now=now,
            params=params,
            headers=headers,
            limits=self.settings.limits(),
            check_status=False,
        )

    def _lookup_fetch(
        self, client: httpx.Client, path: str, params: Mapping[str, str | list[str]] | None, now: datetime
    ) -> Fetched:
        fetched = self._get(client, self.settings.base_url.rstrip("/") + path, params, now)
        limit = lookup_rate_limit(fetched.headers)
        if limit != RateLimit():
            self.last_lookup_rate_limit = limit
        return fetched

    def _lookup_batch(
        self, client: httpx.Client, chunk: list[str], now: datetime
    ) -> tuple[list[MetricsReading] | None, int]:
        """Readings of one batch call, or None when the instance has no batch endpoint (404)."""
        fetched = self._lookup_fetch(client, "/api/v1/statuses", {"id[]": chunk}, now)
        if fetched.status == 404:
            # Before 4.3 there is no GET /api/v1/statuses: fall back to one call per status from now on.
            log.info("source %s: instance has no batch status lookup (404); looking statuses up one by one", self.name)
            self._batch_lookup = False
            self.max_ids_per_call = 1
            return None, 1
        if fetched.status >= 400:
            raise status_error(fetched, now)
        return parse_status_metrics(fetched.json(), source=self.name, wanted=chunk), 1

    def _lookup_one(self, client: httpx.Client, status_id: str, now: datetime) -> MetricsReading | None:
        fetched = self._lookup_fetch(client, f"/api/v1/statuses/{status_id}", None, now)
        if fetched.status in (404, 410):
            return None  # deleted, or no longer visible to us
        if fetched.status >= 400:
            raise status_error(fetched, now)
        found = parse_status_metrics([fetched.json()], source=self.name, wanted=[status_id])
        return found[0] if found else None


class _Partial(Exception):
    """Some pages were read before a failure: keep them (internal)."""

    def __init__(
        self, got: list[RawItem], bad: int, calls: int, newest: str | None, rate: JSONDict, error: SourceError
    ) -> None:
        super().__init__(str(error))
        self.got, self.bad, self.calls, self.newest, self.rate, self.error = got, bad, calls, newest, rate, error


def _min_id(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("min_id")
    return values[-1] if values else None


def _rate_limit(headers: httpx.Headers) -> JSONDict:
    out: JSONDict = {}
    for key, name in (("limit", "x-ratelimit-limit"), ("remaining", "x-ratelimit-remaining")):
        value = headers.get(name)
        if value and value.strip().isascii() and value.strip().isdigit():
            out[key] = int(value)
    reset = headers.get("x-ratelimit-reset")
    if reset and parse_iso(reset):
        out["reset"] = reset
    return out


def is_status_id(value: str) -> bool:
    """Whether ``value`` can be a status id (Mastodon: digits; Pleroma/Akkoma: alphanumeric flake ids).

    Anything else would break the URL path or the whole batch, so it is never sent.
    """
    return bool(_STATUS_ID.match(value))


def parse_status_metrics(data: Any, *, source: str, wanted: list[str]) -> list[MetricsReading]:
    """Engagement readings from an array of Status entities (pure).

    Only ids in ``wanted`` are returned (an instance must not make us store counts for
    posts we did not ask about). A non-array body is a :class:`SourceError`; a single
    malformed status is logged and skipped.
    """
    if not isinstance(data, list):
        raise SourceError(
            f"source {source}: expected a JSON array of statuses from the status lookup, got {type(data).__name__}; "
            "the instance may have changed its API — the next run retries"
        )
    asked = set(wanted)
    readings: dict[str, MetricsReading] = {}
    for raw in data:
        status_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(status_id, str) or status_id not in asked:
            log_rejected(source, status_id, "status lookup returned an entry without a requested string id")
            continue
        assert isinstance(raw, dict)
        # A boost's own counts are always zero; its engagement lives on the original.
        counted = raw["reblog"] if isinstance(raw.get("reblog"), dict) else raw
        readings[status_id] = MetricsReading(
            external_id=status_id,
            likes=to_int(counted.get("favourites_count")),
            shares=to_int(counted.get("reblogs_count")),
            replies=to_int(counted.get("replies_count")),
        )
    return list(readings.values())


def lookup_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """The ``X-RateLimit-*`` headers of a Mastodon answer as a :class:`RateLimit` (pure)."""
    facts = _rate_limit(httpx.Headers(headers))
    reset = parse_iso(facts.get("reset"))
    return RateLimit(limit=facts.get("limit"), remaining=facts.get("remaining"), reset_at=reset)


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> MastodonCollector:
    """Build the collector for one configured Mastodon source."""
    parsed = validate_settings(Settings, name, settings)
    token = next((v for v in secrets.values() if v), None)
    if not parsed.hashtags and not parsed.queries:
        from collectors.queries import default_queries

        # No hashtags configured: the gazetteer's (the regency and its 18 kecamatan as tags).
        parsed = parsed.model_copy(update={"hashtags": default_queries("mastodon")})
    if parsed.queries and not token:
        raise ValueError(
            f"source {name}: settings.queries: status search needs a user token with read:search; "
            "set the source's token_env, or use hashtags only"
        )
    if not parsed.base_url.startswith(("http://", "https://")):
        raise ValueError(f"source {name}: settings.base_url: must start with https://")
    return MastodonCollector(name, parsed, token)
