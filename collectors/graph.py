"""What the Facebook and Instagram collectors share: the Meta Graph API's wire details.

Both speak the same Graph API (developers.facebook.com/docs/graph-api): ISO timestamps with a
``+0000`` offset, counts that may be missing, cursor paging through ``paging.cursors.after``
(with ``paging.next`` present only when another page exists), usage headers read on every
response, and multi-id reads (``GET /?ids=a,b&fields=...``, at most 50 ids a call). One module
keeps those rules in one place; each platform's module keeps only what its endpoints return.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar

import httpx

from collectors import base
from collectors.base import FetchResult, JSONDict, MetricsReading, RawItem, SourceError
from collectors.budget import (
    GRAPH_AUTH_CODES,
    GRAPH_GONE_CODES,
    GRAPH_THROTTLE_CODES,
    GraphObjectGone,
    RateLimit,
    as_object,
    auth_failed,
    expect_list,
    expect_object,
    meta_usage,
    rate_limited,
)
from collectors.common import log_rejected, to_int
from collectors.http import Fetched, FetchLimits, safe_get

log = logging.getLogger(__name__)

DEFAULT_GRAPH_VERSION = "v24.0"
"""The Graph API version sources use unless their settings say ``api_version``."""
GRAPH_VERSION_ENDS: dict[str, date] = {
    "v18.0": date(2026, 1, 26),
    "v19.0": date(2026, 5, 21),
    "v20.0": date(2026, 9, 24),
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}
"""Last day Meta serves each version ("Available until", developers.facebook.com/docs/graph-api/changelog/versions,
as of v26.0's release on 29 Jul 2026); a version not listed has no announced end."""
VERSION_WARNING_DAYS = 60


def version_warning(version: str, today: date, *, where: str, days: int = VERSION_WARNING_DAYS) -> str | None:
    """A start-up warning when ``version`` ends within ``days`` (or has ended); None otherwise."""
    ends = GRAPH_VERSION_ENDS.get(version)
    if ends is None:
        return None
    left = (ends - today).days
    newest = max(GRAPH_VERSION_ENDS, key=lambda v: GRAPH_VERSION_ENDS[v])
    if left < 0:
        return (
            f"{where}: Graph API {version} ended on {ends.isoformat()}; Meta now answers with the oldest version "
            f"still available. Set api_version to {newest} (or newer) and check the changelog"
        )
    if left <= days:
        return (
            f"{where}: Graph API {version} ends on {ends.isoformat()} ({left} days left); "
            f"set api_version to {newest} (or newer) before then"
        )
    return None


class GraphSettings(Protocol):
    """The settings every Graph source has."""

    @property
    def base_url(self) -> str: ...
    @property
    def api_version(self) -> str: ...
    @property
    def token_env(self) -> str: ...
    @property
    def max_pages(self) -> int: ...
    def limits(self) -> FetchLimits: ...


S = TypeVar("S", bound=GraphSettings)


def graph_time(value: Any, name: str) -> datetime:
    """A Graph timestamp ("2025-09-15T03:00:00+0000", read by fromisoformat on 3.11+) as aware UTC."""
    if not isinstance(value, str):
        raise ValueError(f"{name} missing")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{name} {value!r} has no timezone")
    return parsed.astimezone(UTC)


def count(value: Any) -> int:
    """A count field, read by the one bounded reading every collector uses (:func:`collectors.common.to_int`)."""
    return to_int(value)


def next_page(data: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, str] | None:
    """The parameters of the next result page, or None when this page was the last."""
    paging = as_object(data.get("paging"))
    after = as_object(paging.get("cursors")).get("after")
    if not after or not paging.get("next"):
        return None
    return {**params, "after": str(after)}


@dataclass
class GraphRun:
    """What one fetch or lookup gathered and spent."""

    items: list[RawItem] = field(default_factory=list)
    rejected: int = 0
    calls: int = 0
    usage: RateLimit = field(default_factory=RateLimit)

    def result(self, cursor: JSONDict) -> FetchResult:
        """The fetch's result: what the run gathered and spent, and the cursor for the next run."""
        return FetchResult(
            items=self.items,
            cursor=cursor,
            rejected=self.rejected,
            calls=self.calls,
            rate_limit=self.usage.to_json(),
        )


@dataclass(frozen=True, slots=True)
class WalkEnd:
    """How a walk through a newest-first list ended."""

    top: str | None
    """The newest stamp taken (or carried over from the walk it resumed)."""
    after: str | None
    """The ``after`` token where ``max_pages`` cut the walk short; None when the walk ended."""

    def kept(self, store: MutableMapping[str, Any], key: str, *, resumable: bool) -> bool:
        """Save a walk cut short as ``store[key]`` for the next run to resume (True), or forget one that ended.

        ``resumable``: there is a watermark to reach; without one a first walk takes what ``max_pages``
        allows and is not resumed. The saved form is the ``resume`` that :meth:`GraphCollector._walk` reads.
        """
        if self.after is not None and resumable:
            store[key] = {"after": self.after, "top": self.top}
            return True
        store.pop(key, None)
        return False


class UsageCeiling(Exception):
    """Usage reached the ceiling: stop calling for this run."""


class GraphCollector(base.KeepsSecrets, Generic[S]):
    """Calls with accounting and the usage ceiling, and the multi-id lookup loop."""

    platform = "graph"
    label = "Graph"
    """The platform's name in messages ("Facebook", "Instagram")."""
    max_ids_per_call = 50
    """``GET /?ids=`` takes up to 50 ids."""

    def __init__(self, name: str, settings: S, token: str) -> None:
        self.name = name
        self.settings = settings
        self._token = token
        self.last_lookup_rate_limit = RateLimit()

    def _get(self, run: GraphRun, client: httpx.Client, path: str, params: Mapping[str, str], now: datetime) -> Any:
        if run.usage.exhausted(now):
            raise UsageCeiling()
        s = self.settings
        url = f"{s.base_url.rstrip('/')}/{s.api_version}/{path.lstrip('/')}"
        body, usage = graph_get(
            client, url, params, self._token, self.label, [s.token_env], now, source=self.name, limits=s.limits()
        )
        run.calls += 1
        if usage.used_percent is not None:  # not every response carries the headers: keep the last known
            run.usage = usage
        return body

    def _get_resuming(
        self, run: GraphRun, client: httpx.Client, path: str, params: Mapping[str, str], now: datetime
    ) -> tuple[Any, dict[str, str]]:
        """The first page of a walk, and the parameters it was read with.

        A walk resumed from a stored ``after`` token that Graph rejects as gone (cursors expire) starts
        again from the newest page: the watermark did not move, so nothing is skipped, and failing here
        would fail every run (or drop the post) for good.
        """
        try:
            return self._get(run, client, path, params, now), dict(params)
        except GraphObjectGone as exc:
            if "after" not in params:
                raise
            log.warning(
                "%s: stored page token for %s rejected (%s); walking again from the newest", self.label, path, exc
            )
            fresh = {k: v for k, v in params.items() if k != "after"}
            return self._get(run, client, path, fresh, now), fresh

    def _take(
        self,
        run: GraphRun,
        data: Mapping[str, Any],
        parse: Callable[[Any], RawItem | None],
        *,
        what: str,
        noun: str,
        floor: str | None,
        top: str | None,
    ) -> tuple[str | None, bool]:
        """Take the items of one result page newer than ``floor`` into ``run``.

        Returns the newest stamp taken (or ``top``) and whether an item at or below ``floor`` was met.
        A malformed item is counted as rejected and logged; ``parse`` returns None for one to pass over.
        """
        reached = False
        for raw in expect_list(data, "data", f"{self.label} {what}"):
            try:
                item = parse(raw)
            except (ValueError, TypeError) as exc:
                run.rejected += 1
                log_rejected(self.name, as_object(raw).get("id", "?"), f"{self.label} {noun} skipped: {exc}")
                continue
            if item is None:
                continue
            stamp = item.created_at.isoformat()
            if floor is not None and stamp <= floor:
                reached = True
                continue
            run.items.append(item)
            top = max(top or stamp, stamp)
        return top, reached

    def _walk(
        self,
        run: GraphRun,
        client: httpx.Client,
        now: datetime,
        path: str,
        params: Mapping[str, str],
        resume: Mapping[str, Any],
        parse: Callable[[Any], RawItem | None],
        *,
        what: str,
        noun: str,
        floor: str | None,
        top: str | None,
        ends_at_floor: bool,
    ) -> WalkEnd:
        """Read a newest-first list page by page, taking what is newer than ``floor``.

        ``resume`` is a walk an earlier run left cut short (``{"after": token, "top": stamp}``, or
        empty): reading starts at its token and its newest stamp counts. The walk ends when the list
        does, at the page that meets ``floor`` when ``ends_at_floor``, or cut short after
        ``max_pages`` pages; the caller keeps its watermark until a walk ends, so a cut never skips
        what lies between the last page read and the watermark.
        """
        after = resume.get("after")
        if isinstance(after, str) and after:
            params = {**params, "after": after}
            if isinstance(resume.get("top"), str):
                top = max(top or resume["top"], resume["top"])
        for page_no in range(self.settings.max_pages):
            if page_no == 0:
                body, params = self._get_resuming(run, client, path, params, now)
            else:
                body = self._get(run, client, path, params, now)
            data = expect_object(body, f"{self.label} {what}")
            top, reached = self._take(run, data, parse, what=what, noun=noun, floor=floor, top=top)
            following = next_page(data, params)
            if (reached and ends_at_floor) or following is None:
                return WalkEnd(top, None)
            params = following
        return WalkEnd(top, params["after"])

    def _lookup(
        self,
        groups: Sequence[tuple[list[str], str]],
        client: httpx.Client,
        now: datetime,
        parse: Callable[[Any], list[MetricsReading]],
    ) -> tuple[list[MetricsReading], int]:
        """Read each (ids, fields) group in calls of up to 50 ids; stop at the usage ceiling."""
        run = GraphRun()
        readings: list[MetricsReading] = []
        for ids, fields in groups:
            for start in range(0, len(ids), self.max_ids_per_call):
                chunk = ids[start : start + self.max_ids_per_call]
                try:
                    body = self._get(run, client, "", {"ids": ",".join(chunk), "fields": fields}, now)
                except UsageCeiling:
                    self.last_lookup_rate_limit = run.usage
                    return readings, run.calls
                except GraphObjectGone:
                    continue  # one deleted object fails the whole multi-id call; its siblings wait a run
                readings.extend(parse(body))
        self.last_lookup_rate_limit = run.usage
        return readings, run.calls


def graph_error(fetched: Fetched, platform: str, env_vars: list[str], now: datetime) -> SourceError:
    """The exception for a failed Graph API call, from its ``{"error": {...}}`` body and usage headers."""
    try:
        body = fetched.json()
    except SourceError:
        body = {}
    error = as_object(as_object(body).get("error"))
    code = to_int(error.get("code")) if error.get("code") is not None else None
    message = str(error.get("message", ""))[:200]
    status = fetched.status
    detail = f"code {code}: {message}" if code is not None else message or httpx.codes.get_reason_phrase(status)
    if code in GRAPH_THROTTLE_CODES or status == 429:
        usage = meta_usage(fetched.headers, now)
        wait = usage.retry_after(now) if usage.reset_at else 3600.0
        return rate_limited(platform, wait, detail)
    if code in GRAPH_AUTH_CODES or status == 401:
        return auth_failed(platform, status, env_vars, detail)
    if code in GRAPH_GONE_CODES or status == 404:
        return GraphObjectGone(f"{platform}: {detail}")
    if status == 403:
        return auth_failed(platform, status, env_vars, detail)
    if status < 400:
        return SourceError(
            f"{platform} menjawab HTTP 200 dengan objek galat / {platform} answered HTTP 200 with an error object "
            f"({detail or 'no message'}); the next run retries"
        )
    return SourceError(f"{platform} answered HTTP {status} ({detail}); the next run retries")


def graph_get(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    token: str,
    platform: str,
    env_vars: list[str],
    now: datetime,
    *,
    source: str,
    limits: FetchLimits,
) -> tuple[Any, RateLimit]:
    """One guarded Graph API GET, the token in the Authorization header (never in the logged URL)."""
    fetched = safe_get(
        client,
        url,
        source=source,
        now=now,
        params=dict(params),
        headers={"Authorization": f"Bearer {token}"},
        limits=limits,
        check_status=False,
    )
    usage = meta_usage(fetched.headers, now)
    if fetched.status >= 400:
        raise graph_error(fetched, platform, env_vars, now)
    body = fetched.json()
    if isinstance(body, dict) and "error" in body and body.get("error") is not None:
        raise graph_error(fetched, platform, env_vars, now)  # some errors arrive with HTTP 200
    return body, usage
