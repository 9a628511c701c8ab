"""X (Twitter) API v2 recent search, and post lookup by id for engagement tracking.

Wire format: ``GET /2/tweets/search/recent`` (docs.x.com, x-api/posts/search) with an
app-only bearer token. Polling follows the documented pattern: ``since_id`` is the
newest id already stored, and a run that pages keeps the same ``since_id`` while it
follows ``meta.next_token``. A run stopped by ``max_pages`` or by an exhausted
rate-limit window saves where it stopped (``resume``) and finishes next time, so
nothing in between is skipped.

Every response carries ``x-rate-limit-limit/remaining/reset``; when ``remaining``
reaches 0 the collector stops paging instead of earning a 429.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
from pydantic import ConfigDict, Field, field_validator

from collectors import base
from collectors.base import AuthFailed, FetchResult, JSONDict, MetricsReading, RateLimited, RawItem, SourceError
from collectors.budget import (
    RateLimit,
    as_list,
    as_object,
    auth_failed,
    expect_list,
    expect_object,
    pick_secret,
    rate_limited,
    x_rate_limit,
)
from collectors.common import add_counts, followers_extra, log_rejected, note, to_int
from collectors.http import Fetched, FetchSettings, safe_get

log = logging.getLogger(__name__)

PLATFORM = "x"
MAX_QUERY_CHARS = 512
"""Recent-search query limit on non-Enterprise access (openapi.json)."""

DEFAULT_TERMS: tuple[str, ...] = (
    "Ogan Komering Ilir",
    "Kabupaten OKI",
    "Kab OKI",
    "Pemkab OKI",
    "Bupati OKI",
    "Kayuagung",
    "Kayu Agung",
    "Bende Seguguk",
    "Tulung Selapan",
    "Pangkalan Lampam",
    "Sirah Pulau Padang",
    "Air Sugihan",
    "Cengal OKI",
    "Pedamaran",
    "Lempuing",
    "Jejawi OKI",
    "Pampangan OKI",
    "Teluk Gelam",
    "Tanjung Lubuk",
    "Mesuji OKI",
)
"""Gazetteer terms (shared/research/oki-gazetteer.md §1, §3 positive signals), strongest first:
the query builder drops from the end when the 512-character limit is reached."""

DEFAULT_EXCLUDE: tuple[str, ...] = ("KTT", "Palestina", "Setiana", "printer")
"""Confusers of "OKI" (OIC summits, Oki Setiana Dewi, OKI printers) excluded in the query itself."""

TWEET_FIELDS = "created_at,public_metrics,author_id,conversation_id,in_reply_to_user_id,lang,referenced_tweets"


class Settings(FetchSettings):
    """``settings:`` of an ``x`` source in config.yaml (plus ``max_bytes``, ``deadline_seconds``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.x.com"
    token_env: str = "X_BEARER_TOKEN"
    query: str | None = None
    """One hand-written query (the source then runs only it, plus any tracked incident queries)."""
    queries: list[str] | None = Field(None, min_length=1, max_length=20)
    """Several hand-written queries, walked in turn within ``max_calls_per_run``."""
    terms: list[str] = Field(default_factory=lambda: list(DEFAULT_TERMS))
    """With ``exclude``: one query built from these (when set and ``query``/``queries`` are not)."""
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    include_retweets: bool = False
    max_results: int = Field(100, ge=10, le=100)
    max_pages: int = Field(5, ge=1, le=50)
    """Pages per query per run; at $0.005 per post read this caps one chain at max_pages × max_results posts."""
    max_calls_per_run: int | None = Field(None, ge=1, le=200)
    """Search calls one run may make over all its queries (default: ``max_pages``), plus one per
    tracked incident query; the source's ``daily_call_budget`` caps the day on top of that."""
    first_run_hours: float = Field(24, gt=0, le=168)
    """How far back a query's first run looks (recent search covers 7 days)."""

    @field_validator("query", "queries")
    @classmethod
    def _within_limit(cls, value: str | list[str] | None) -> str | list[str] | None:
        for q in [value] if isinstance(value, str) else value or []:
            if not q.strip() or len(q) > MAX_QUERY_CHARS:
                raise ValueError(f"every X query must be 1-{MAX_QUERY_CHARS} characters (got {len(q)})")
        return value


def configured_queries(settings: Settings) -> tuple[list[str], int]:
    """The source's own queries and how many of them run every run (the rest take turns).

    ``query``/``queries`` as written; else one query from ``terms``/``exclude`` if either is set;
    else the gazetteer's defaults (:func:`collectors.queries.default_queries`), whose first
    queries (those that name all 18 kecamatan) run every run while the desa queries take turns.
    """
    if settings.query:
        return [settings.query], 1
    if settings.queries:
        return list(dict.fromkeys(settings.queries)), 0
    if {"terms", "exclude"} & settings.model_fields_set:
        return [build_query(settings.terms, settings.exclude, include_retweets=settings.include_retweets)], 1
    from collectors.queries import default_queries, kecamatan_queries

    defaults = default_queries(PLATFORM)
    if settings.include_retweets:
        defaults = [q.replace(" -is:retweet", "") for q in defaults]
    return defaults, kecamatan_queries(defaults)


def _quote(term: str) -> str:
    term = term.replace('"', "").strip()
    return f'"{term}"' if " " in term else term


def build_query(
    terms: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    include_retweets: bool = False,
    max_chars: int = MAX_QUERY_CHARS,
) -> str:
    """An X search query: any of ``terms`` (phrases quoted), none of ``exclude``, within ``max_chars``.

    Terms are kept in order until the limit would be passed: the caller lists the
    strongest OKI evidence first.
    """
    suffix_parts = [f"-{_quote(t)}" for t in exclude if t.strip()]
    if not include_retweets:
        suffix_parts.append("-is:retweet")
    suffix = " ".join(suffix_parts)
    kept: list[str] = []
    for term in (t for t in terms if t.strip()):
        candidate = [*kept, _quote(term)]
        body = "(" + " OR ".join(candidate) + ")" if len(candidate) > 1 else candidate[0]
        if len(f"{body} {suffix}".strip()) > max_chars:
            break
        kept = candidate
    if not kept:
        raise ValueError(f"X query: no search term fits in {max_chars} characters; shorten `terms`")
    body = "(" + " OR ".join(kept) + ")" if len(kept) > 1 else kept[0]
    return f"{body} {suffix}".strip()


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("created_at missing")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"created_at {value!r} has no timezone")
    return parsed


def _count(metrics: Mapping[str, Any], key: str) -> int:
    # One bounded reading for every count (collectors.common.to_int): a hostile 1e308 or 10**30
    # must not reach storage as a number no column can hold.
    return to_int(metrics.get(key))


def parse_tweet(tweet: Any, users: Mapping[str, Mapping[str, Any]], source: str) -> RawItem:
    """One ``data[]`` element as a :class:`RawItem`; ``ValueError`` says why it is unusable."""
    if not isinstance(tweet, dict):
        raise ValueError("post is not an object")
    tweet_id, text = tweet.get("id"), tweet.get("text")
    if not isinstance(tweet_id, str) or not (tweet_id.isascii() and tweet_id.isdigit()):
        raise ValueError(f"post id {tweet_id!r} is not a numeric string")
    if not isinstance(text, str):
        raise ValueError("post has no text")
    metrics = as_object(tweet.get("public_metrics"))
    user = as_object(users.get(str(tweet.get("author_id"))))
    username = user.get("username") if isinstance(user.get("username"), str) else None
    refs = as_list(tweet.get("referenced_tweets"))
    replied_to = next((r.get("id") for r in refs if isinstance(r, dict) and r.get("type") == "replied_to"), None)
    quoted = next((r.get("id") for r in refs if isinstance(r, dict) and r.get("type") == "quoted"), None)
    url = f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}"
    extra: JSONDict = {
        "bookmarks": _count(metrics, "bookmark_count"),
        "quotes": _count(metrics, "quote_count"),
    }
    extra.update(followers_extra(as_object(user.get("public_metrics")).get("followers_count")))
    if isinstance(tweet.get("lang"), str):
        extra["lang"] = tweet["lang"]
    if quoted:
        extra["quoted_id"] = str(quoted)
    conversation = tweet.get("conversation_id")
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=tweet_id,
        text=text,
        created_at=_parse_time(tweet.get("created_at")),
        url=url,
        author=username,
        kind="comment" if replied_to else "post",
        # A reply joins its conversation root, so a thread under one viral post groups together.
        parent_id=str(conversation or replied_to) if replied_to else None,
        likes=_count(metrics, "like_count"),
        # Retweets and quotes both carry the post to new audiences: both count as spread.
        shares=add_counts(_count(metrics, "retweet_count"), _count(metrics, "quote_count")),
        replies=_count(metrics, "reply_count"),
        views=_count(metrics, "impression_count"),
        extra=extra,
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One parsed recent-search page."""

    items: list[RawItem]
    rejected: int
    newest_id: str | None
    next_token: str | None


def parse_search_page(body: Any, source: str) -> SearchPage:
    """Parse a recent-search body; bad posts are skipped and counted, a bad envelope raises."""
    what = "X recent search"
    data = expect_object(body, what)
    refused = errors_only(data, allow_resource_errors=False)
    if refused:
        raise SourceError(
            f"source {source}: X menjawab HTTP 200 tanpa data, hanya galat / X answered HTTP 200 with errors only "
            f"({refused}); the search was not run — check the query and the token's access level"
        )
    meta = expect_object(data, what, "meta")
    includes = expect_object(data, what, "includes")
    users = {str(u["id"]): u for u in expect_list(includes, "users", what) if isinstance(u, dict) and "id" in u}
    items: list[RawItem] = []
    rejected = 0
    for tweet in expect_list(data, "data", what):
        try:
            items.append(parse_tweet(tweet, users, source))
        except (ValueError, TypeError) as exc:
            rejected += 1
            log_rejected(source, as_object(tweet).get("id", "?"), f"X post skipped: {exc}")
    newest = meta.get("newest_id")
    token = meta.get("next_token")
    return SearchPage(
        items=items,
        rejected=rejected,
        newest_id=str(newest) if newest else None,
        next_token=str(token) if token else None,
    )


def _newer(a: str | None, b: str | None) -> str | None:
    """The larger of two snowflake ids (numeric strings compare by length, then digits)."""
    if not a:
        return b
    if not b:
        return a
    return max(a, b, key=lambda s: (len(s), s))


@dataclass
class _Walk:
    """One query's pages in one run."""

    items: list[RawItem]
    state: JSONDict
    rejected: int
    calls: int
    limit: RateLimit
    stopped: bool
    """The rate-limit window is spent (or a 429 came mid-chain): no more calls this run."""


class XCollector(base.KeepsSecrets):
    """Recent search over the OKI gazetteer (several queries, one cursor each), and by-id lookup of public metrics.

    A source with one query keeps the flat cursor ``{"since_id", "resume"}``; with several (the
    gazetteer's defaults, a ``queries`` list, or tracked incident queries added for a run) the
    cursor is ``{"queries": {query: {"since_id", "resume"}}, "turn": n}``: each query keeps its
    own lower bound and unfinished chain, and ``turn`` says which of the queries that take
    turns goes next.
    """

    platform = PLATFORM
    max_ids_per_call = 100
    """``GET /2/tweets?ids=`` takes up to 100 ids."""

    def __init__(self, name: str, settings: Settings, token: str) -> None:
        self.name = name
        self.settings = settings
        self._token = token
        self.queries, self.pinned = configured_queries(settings)
        self.query = self.queries[0]
        self.tracked: tuple[str, ...] = ()
        """Queries following rising incidents, for this run only (:meth:`for_run`)."""
        self.calls_left: int | None = None
        """What is left of the source's daily call budget, if it has one."""
        self.last_lookup_rate_limit: RateLimit = RateLimit()

    def for_run(self, tracked: Sequence[str], calls_left: int | None) -> XCollector:
        """A copy that also walks ``tracked`` queries and stays within ``calls_left`` calls this run."""
        run = copy.copy(self)
        fresh = (q for q in dict.fromkeys(tracked) if q and len(q) <= MAX_QUERY_CHARS and q not in self.queries)
        run.tracked = tuple(fresh)
        run.calls_left = calls_left
        return run

    def _get(self, client: httpx.Client, path: str, params: Mapping[str, str], now: datetime) -> tuple[Any, RateLimit]:
        fetched = safe_get(
            client,
            self.settings.base_url.rstrip("/") + path,
            source=self.name,
            now=now,
            params=dict(params),
            headers={"Authorization": f"Bearer {self._token}"},
            limits=self.settings.limits(),
            check_status=False,
        )
        limit = x_rate_limit(fetched.headers)
        if fetched.status in (401, 403):
            detail = _problem_detail(fetched)
            raise auth_failed("X", fetched.status, [self.settings.token_env], detail)
        if fetched.status == 429:
            detail = _problem_detail(fetched)
            wait = limit.retry_after(now)
            if "usage-capped" in detail or "UsageCapExceeded" in detail:
                # Monthly credits are gone: no point retrying within the window.
                wait = max(wait, 6 * 3600.0)
            raise rate_limited("X", wait, detail)
        if fetched.status >= 400:
            raise SourceError(f"X answered HTTP {fetched.status} ({_problem_detail(fetched)}); the next run retries")
        return fetched.json(), limit

    def _walk(self, query: str, cursor: JSONDict, client: httpx.Client, now: datetime, max_calls: int) -> _Walk:
        """New posts of one query since ``cursor["since_id"]`` (first run: the last ``first_run_hours``)."""
        since_id = cursor.get("since_id")
        resume = cursor.get("resume") if isinstance(cursor.get("resume"), dict) else None
        # A chain of pages keeps the lower bound it started with, or its next_token is invalid.
        if resume:
            bound: JSONDict = {k: resume[k] for k in ("since_id", "start_time") if resume.get(k)}
            token = resume.get("next_token")
        elif since_id:
            bound, token = {"since_id": str(since_id)}, None
        else:
            start = now - timedelta(hours=self.settings.first_run_hours)
            bound, token = {"start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ")}, None
        newest = since_id
        items: list[RawItem] = []
        rejected = calls = 0
        limit = RateLimit()
        next_resume: JSONDict | None = None
        stopped = False
        pages = min(self.settings.max_pages, max_calls)
        for page_no in range(pages):
            params = {
                "query": query,
                "max_results": str(self.settings.max_results),
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": "username,name,public_metrics",
                **{k: str(v) for k, v in bound.items()},
            }
            if token:
                params["next_token"] = str(token)
            try:
                body, page_limit = self._get(client, "/2/tweets/search/recent", params, now)
                calls += 1
                page = parse_search_page(body, self.name)
            except SourceError as exc:
                if not items:
                    raise
                # A later page failed (rate limit, timeout, a cut or refused answer): the posts already read
                # are kept and the chain is finished next run from the failed page, so nothing is skipped.
                log.warning("source %s: %s; keeping %d posts read so far", self.name, exc, len(items))
                note(f"halaman {page_no + 1} gagal, {len(items)} pos tetap disimpan / page failed: {exc}")
                next_resume = {**bound, "next_token": token}
                if isinstance(exc, RateLimited):
                    limit = RateLimit(remaining=0, reset_at=now + timedelta(seconds=exc.retry_after or 900))
                stopped = isinstance(exc, RateLimited)
                break
            limit = page_limit
            items.extend(page.items)
            rejected += page.rejected
            newest = _newer(newest, page.newest_id)
            token = page.next_token
            if not token:
                break
            if limit.exhausted(now) or page_no == pages - 1:
                next_resume = {**bound, "next_token": token}
                stopped = limit.exhausted(now)
                break
        state: JSONDict = {"since_id": newest} if newest else {}
        if next_resume:
            state["resume"] = next_resume
        return _Walk(items, state, rejected, calls, limit, stopped or limit.exhausted(now))

    def _rate(self, limit: RateLimit) -> JSONDict:
        rate = limit.to_json()
        lookup_window = self.last_lookup_rate_limit.to_json()
        if lookup_window:
            # Search and lookup have separate windows; the source row keeps both (tracking reads "lookup").
            rate["lookup"] = lookup_window
        return rate

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New posts of every query due this run; each query's cursor moves only with its own posts."""
        cap = self.settings.max_calls_per_run or self.settings.max_pages
        cap += len(self.tracked)  # a rising incident's query is walked on top of the usual round
        if self.calls_left is not None:
            cap = min(cap, self.calls_left)
        if cap <= 0:
            # Shown as the source's state (and its back-off) until the UTC day turns, like any other limit.
            midnight = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time.min, tzinfo=UTC)
            raise RateLimited(
                f"source {self.name}: anggaran panggilan harian (daily_call_budget) habis; "
                "pencarian berlanjut setelah pergantian hari UTC",
                retry_after=max((midnight - now).total_seconds(), 60.0),
            )
        if len(self.queries) == 1 and not self.tracked and "queries" not in cursor:
            walk = self._walk(self.queries[0], cursor, client, now, cap)
            return FetchResult(
                items=walk.items,
                cursor=walk.state,
                rejected=walk.rejected,
                calls=walk.calls,
                rate_limit=self._rate(walk.limit),
            )
        return self._fetch_many(cursor, client, now, cap)

    def _fetch_many(self, cursor: JSONDict, client: httpx.Client, now: datetime, cap: int) -> FetchResult:
        raw_states = cursor.get("queries")
        states: dict[str, JSONDict] = (
            {k: v for k, v in raw_states.items() if isinstance(v, dict)} if isinstance(raw_states, dict) else {}
        )
        if not isinstance(raw_states, dict) and cursor.get("since_id") and len(self.queries) == 1:
            states[self.queries[0]] = dict(cursor)  # a flat one-query cursor carries over
        rotating = self.queries[self.pinned :]
        raw_turn = cursor.get("turn")
        turn = raw_turn if isinstance(raw_turn, int) else 0
        start = turn % len(rotating) if rotating else 0
        order = [*self.tracked, *self.queries[: self.pinned], *rotating[start:], *rotating[:start]]
        items: list[RawItem] = []
        known: set[str] = set()
        rejected = calls = turned = succeeded = 0
        limit = RateLimit()
        first_error: SourceError | None = None
        for query in order:
            if calls >= cap:
                break
            if query in rotating:
                turned += 1  # a failing query takes its turn too, or it would block those after it
            try:
                walk = self._walk(query, states.get(query, {}), client, now, cap - calls)
            except RateLimited:
                if not items:
                    raise
                break
            except AuthFailed:
                raise
            except SourceError as exc:
                # One refused query (an operator the access level lacks) must not stop the others.
                log.warning("source %s: query %.60r failed: %s", self.name, query, exc)
                first_error = first_error or exc
                calls += 1
                continue
            states[query] = walk.state
            succeeded += 1
            calls += walk.calls
            rejected += walk.rejected
            limit = walk.limit
            for item in walk.items:
                if item.external_id not in known:  # the same post under two queries is sent once
                    known.add(item.external_id)
                    if query in self.tracked:
                        # Which rising incident fetched it: run_source adds the incident's place.
                        item = replace(item, extra={**item.extra, "tracked_query": query})
                    items.append(item)
            if walk.stopped:
                break
        if first_error is not None and not succeeded:
            raise first_error
        current = [*self.tracked, *self.queries]
        # Queries no longer run (an expired tracked query, a changed gazetteer) lose their state.
        new_cursor: JSONDict = {"queries": {q: states[q] for q in current if q in states}}
        if rotating:
            new_cursor["turn"] = (start + turned) % len(rotating)
        return FetchResult(items=items, cursor=new_cursor, rejected=rejected, calls=calls, rate_limit=self._rate(limit))

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh ``public_metrics`` for up to 100 posts per call; deleted posts are simply absent."""
        readings: list[MetricsReading] = []
        calls = 0
        ids = [i for i in external_ids if i.isascii() and i.isdigit()]
        for start in range(0, len(ids), self.max_ids_per_call):
            chunk = ids[start : start + self.max_ids_per_call]
            body, self.last_lookup_rate_limit = self._get(
                client, "/2/tweets", {"ids": ",".join(chunk), "tweet.fields": "public_metrics"}, now
            )
            calls += 1
            readings.extend(parse_lookup(body))
        return readings, calls


def parse_lookup(body: Any) -> list[MetricsReading]:
    """Readings from a ``GET /2/tweets`` body; entries in ``errors`` (deleted, protected) are skipped."""
    data = expect_object(body, "X post lookup")
    refused = errors_only(data, allow_resource_errors=True)
    if refused:
        raise SourceError(
            f"X menjawab HTTP 200 tanpa data, hanya galat / X post lookup answered HTTP 200 with errors only "
            f"({refused}); check the token's access level"
        )
    readings = []
    for tweet in expect_list(data, "data", "X post lookup"):
        if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
            continue
        metrics = as_object(tweet.get("public_metrics"))
        readings.append(
            MetricsReading(
                external_id=tweet["id"],
                likes=_count(metrics, "like_count"),
                shares=add_counts(_count(metrics, "retweet_count"), _count(metrics, "quote_count")),
                replies=_count(metrics, "reply_count"),
                views=_count(metrics, "impression_count"),
            )
        )
    return readings


RESOURCE_PROBLEMS = ("resource-not-found", "not-authorized-for-resource")
"""Per-post problems X reports beside (or instead of) data in a lookup: deleted or protected posts."""


def errors_only(data: Mapping[str, Any], *, allow_resource_errors: bool) -> str:
    """The reason when a 200 answer carries ``errors`` and no ``data`` (a failed request, not an empty result).

    X answers some refused requests (bad query operators, a field the access level lacks) with
    HTTP 200 and only an ``errors`` list; reading that as "no posts" would show the source healthy
    while it collects nothing. In a lookup, errors about single posts (deleted, protected) are
    normal and not a failure. Returns "" when the answer is fine.
    """
    errors = data.get("errors")
    if not isinstance(errors, list) or not errors or data.get("data") is not None:
        return ""
    reasons: list[str] = []
    for error in errors:
        entry = as_object(error)
        kind = str(entry.get("type", ""))
        if allow_resource_errors and (kind.endswith(RESOURCE_PROBLEMS) or entry.get("resource_id")):
            continue
        text = entry.get("message") or entry.get("detail") or entry.get("title") or kind or "unknown error"
        reasons.append(str(text)[:160])
    return "; ".join(reasons[:3])


def _problem_detail(fetched: Fetched) -> str:
    """A short reason from either error shape X uses (problem JSON or legacy ``errors``)."""
    try:
        body = fetched.json()
    except SourceError:
        return httpx.codes.get_reason_phrase(fetched.status)
    if isinstance(body, dict):
        kind = str(body.get("type", ""))
        parts = [str(body.get(k)) for k in ("title", "detail") if body.get(k)]
        if kind and kind != "about:blank":
            parts.append(kind.rsplit("/", 1)[-1])
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message"))
        return "; ".join(parts)[:300]
    return ""


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> XCollector:
    """Build the collector; a missing bearer token is an :class:`AuthFailed` naming the variable."""
    parsed = Settings.model_validate(dict(settings))
    token = pick_secret(secrets, parsed.token_env, "X")
    return XCollector(name, parsed, token)
