"""Safe HTTP fetching shared by every collector: size caps, a total deadline, redirects and status mapping.

httpx alone is not enough against a hostile or broken server (see the research notes,
reliability-security-performance.md §4): it has no body size limit, its timeouts are per
read (a server dripping one byte a second never times out), and ``iter_bytes()`` hands
out a whole decompressed network read at once (a 64 KiB gzip read can be 67 MB). So
:func:`safe_get`:

* streams the body with ``iter_raw()`` and decompresses it itself with a bounded
  ``zlib`` decompressor, so the cap (:attr:`FetchLimits.max_bytes`, default 10 MiB)
  holds *after* decompression, and rejects a ``Content-Length`` over the cap before
  reading anything;
* refuses a markup body with more tags than :attr:`FetchLimits.max_tags`, or nested deeper than
  :attr:`FetchLimits.max_depth` (:func:`markup_depth`, a byte-level scan that stops past the limit),
  before feedparser or BeautifulSoup spend seconds and a huge tree on it;
* enforces a total deadline per fetch (:attr:`FetchLimits.deadline`, default 30 s) on
  top of httpx's connect/read timeouts;
* follows at most :attr:`FetchLimits.max_redirects` redirects itself, refuses loops,
  non-HTTP schemes, and redirects to private/loopback addresses (unless the redirect
  stays on the host first asked, or ``allow_private`` is set for tests and the offline
  demo); cloud metadata and link-local addresses (169.254.169.254) are refused always;
* drops every header the caller added (bearer tokens, API-key headers, cookies) when a
  redirect leaves the origin, and never resends a request body (which may carry client
  secrets) to another origin;
* maps error statuses to the exceptions of :mod:`collectors.base` with messages that name
  the source and say what to do: 401/403 → :class:`AuthFailed`, 429 → :class:`RateLimited`
  (``retry_after`` from ``Retry-After``, else a default), 404/other 4xx → :class:`SourceError`,
  5xx → :class:`SourceError` (with ``retry_after`` when the server sent one).

Every collector sends every request through :func:`safe_request` (``safe_get`` is its GET
form): platform APIs with tokens, JSON bodies and POSTs included, so no request path lacks
the cap and the deadline.

Typical use inside a collector::

    fetched = safe_get(client, url, source=self.name, params={"q": "OKI"}, now=now,
                       limits=self.settings.limits())
    data = fetched.json()          # SourceError naming the source if the body is not JSON

Pass ``check_status=False`` to inspect error statuses yourself (then call
:func:`status_error` for the default mapping). Everything raised is a
:class:`~collectors.base.SourceError` subclass; transport failures (DNS, refused
connection, timeouts) are wrapped too, so a collector never leaks ``httpx`` exceptions.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import socket
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.budget import retry_after_header

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_DEADLINE = 30.0
DEFAULT_RATE_LIMIT_WAIT = 300.0
"""Wait after a 429 that did not say how long (five minutes: polite for news portals and open APIs)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_JSON_VALUES = 100_000
"""Values one JSON body may hold, counted as commas plus objects/arrays: a 100-post Reddit listing (the
richest page any collector reads) has about 20,000. Parsing and rejecting 4.5 million junk entries of
a 9 MiB page took a collector over five minutes; ``[{},{},...]`` in 10 MiB needs 250 MB."""
MAX_NUMBER_DIGITS = 40
"""Longer integers in JSON read as null: no count or id is that long, and parsing huge ones costs quadratic time."""
MAX_MARKUP_DEPTH = 512
"""Deepest element nesting accepted in a markup body. Browsers stop nesting at 512 too (Chromium's
parser flattens deeper trees); real feeds and t.me pages nest under 40. A body of 45,000 unclosed
``<div>`` passes the tag count yet costs feedparser's loose parser or BeautifulSoup a second and a
45,000-level tree that recursive code cannot walk; the depth scan refuses it after 513 tags."""
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("169.254.169.254"),
    }
)
"""Cloud metadata services (AWS/GCP/Azure/OpenStack, Alibaba, AWS IPv6): they hand out the server's credentials."""


class ResponseTooLarge(SourceError):
    """The body (after decompression) is larger than the source's cap."""


class MarkupTooDeep(SourceError):
    """The markup body nests elements deeper than :attr:`FetchLimits.max_depth`."""


class FetchTimeout(SourceError):
    """The server did not finish answering within the deadline."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Per-source safety limits for one HTTP fetch."""

    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest decoded body accepted."""
    deadline: float = DEFAULT_DEADLINE
    """Total seconds for the whole fetch, redirects included."""
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_redirects: int = 5
    max_tags: int = 50_000
    """Most ``<`` a body may hold: feedparser and BeautifulSoup spend ~500 bytes and ~10 µs per tag, so a
    10 MiB page of ``<p>`` (1.2 M tags) would cost 600 MB; real feeds and t.me pages hold a few thousand."""
    max_depth: int = MAX_MARKUP_DEPTH
    """Deepest element nesting a markup body may have (see :data:`MAX_MARKUP_DEPTH`)."""
    allow_private: bool = False
    """Allow redirects to private/loopback addresses on another host (tests and the offline demo)."""
    default_retry_after: float = DEFAULT_RATE_LIMIT_WAIT


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete, size-checked response."""

    source: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed: float = 0.0
    redirects: list[str] = field(default_factory=list)

    def json(self) -> Any:
        """The body as JSON, or a :class:`SourceError` naming the source and what came instead.

        Hostile bodies are read so that one absurd part never costs the whole page or the
        process: invalid UTF-8 bytes become U+FFFD (every other character stays exact) and are
        logged; numbers no real field can hold (over :data:`MAX_NUMBER_DIGITS` digits, NaN,
        Infinity, overflowing floats) read as ``null``, which item parsers treat as missing;
        a body of more than :data:`MAX_JSON_VALUES` values (junk entries cost time, tiny
        containers ~70 bytes each) is refused before parsing.
        """
        values = self.body.count(b",") + self.body.count(b"{") + self.body.count(b"[")
        if values > MAX_JSON_VALUES:
            raise SourceError(
                f"source {self.source}: response from {_short(self.url)} holds about {values:,} JSON values "
                f"(more than the {MAX_JSON_VALUES:,} any real page has); refused to protect memory and time — "
                "the next run retries"
            )
        try:
            text = self.body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = self.body.decode("utf-8-sig", errors="replace")
            log.warning(
                "source %s: response from %s is not valid UTF-8 (first bad byte at offset %d); "
                "bad bytes read as U+FFFD",
                self.source,
                _short(self.url),
                exc.start,
            )
        try:
            return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
        except (ValueError, RecursionError):
            raise SourceError(
                f"source {self.source}: response from {_short(self.url)} is not valid JSON "
                f"(HTTP {self.status}, {len(self.body)} bytes, starts with {_snippet(self.body)!r}); "
                "the service may be down or changed its format — the next run retries"
            ) from None

    def text(self) -> str:
        """The body as text: the declared charset if it is known, else UTF-8; bad bytes become U+FFFD."""
        charset = _charset(self.headers.get("content-type", "")) or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # a made-up charset name
            return self.body.decode("utf-8", errors="replace")


class FetchSettings(BaseModel):
    """The fetch limits a platform API source accepts in its ``settings:`` (same names as the open sources')."""

    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1024, le=200 * 1024 * 1024)
    """Largest response body accepted (after decompression)."""
    deadline_seconds: float = Field(DEFAULT_DEADLINE, gt=0, le=600)
    """Total time allowed for one HTTP request, however slowly the server drips."""
    allow_private_redirects: bool = False
    """Only for tests and the offline demo: allow redirects into 127.0.0.1 / private networks."""

    def limits(self) -> FetchLimits:
        """The :class:`FetchLimits` these settings describe."""
        return FetchLimits(
            max_bytes=self.max_bytes, deadline=self.deadline_seconds, allow_private=self.allow_private_redirects
        )


def safe_get(
    client: httpx.Client,
    url: str,
    *,
    source: str,
    now: datetime,
    params: Mapping[str, str | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    limits: FetchLimits | None = None,
    check_status: bool = True,
) -> Fetched:
    """GET ``url`` safely (see the module docstring) and return the whole capped body.

    ``now`` is only used to turn an HTTP-date ``Retry-After`` into seconds. Statuses
    2xx and 304 are returned; with ``check_status`` other statuses raise (see
    :func:`status_error`), without it they are returned for the caller to inspect.
    """
    return safe_request(
        client,
        "GET",
        url,
        source=source,
        now=now,
        params=params,
        headers=headers,
        limits=limits,
        check_status=check_status,
    )


def safe_request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    source: str,
    now: datetime,
    params: Mapping[str, str | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    limits: FetchLimits | None = None,
    check_status: bool = True,
) -> Fetched:
    """Send one request (GET, or POST with a JSON or form body) under the same guards as :func:`safe_get`.

    Redirects: 303 (and 301/302 after a POST) continue as a body-less GET, 307/308 resend
    the same request; a request that carries a body follows redirects only within its
    origin, because the body may hold credentials (TikTok's client secret does).
    """
    limits = limits or FetchLimits()
    started = time.monotonic()
    deadline_at = started + limits.deadline
    first_host = (urlsplit(url).hostname or "").lower()
    seen: list[str] = []
    sent_headers = _headers(headers)
    has_body = json_body is not None or form is not None
    request = client.build_request(
        method, url, params=params, headers=sent_headers, json=json_body, data=dict(form) if form else None
    )
    for _hop in range(limits.max_redirects + 1):
        target = str(request.url)
        if target in seen:
            raise SourceError(
                f"source {source}: redirect loop at {_short(target)} (after {len(seen)} redirects); "
                "check the configured address"
            )
        seen.append(target)
        status, resp_headers, body, location = _one_request(client, request, source, limits, deadline_at)
        tags = body.count(b"<")
        if tags > limits.max_tags:
            raise ResponseTooLarge(
                f"source {source}: response from {_short(target)} holds {tags:,} markup tags, more than the "
                f"{limits.max_tags:,} any real feed or page has; refused to protect memory — the next run retries"
            )
        # Depth can only exceed max_depth with more tags than that, so small and JSON-only bodies skip the scan.
        if tags > limits.max_depth and markup_depth(body, limits.max_depth) > limits.max_depth:
            raise MarkupTooDeep(
                f"source {source}: dokumen dari {_short(target)} terlalu dalam bersarang (lebih dari "
                f"{limits.max_depth} tingkat) / the response nests markup more than {limits.max_depth} levels "
                "deep, deeper than any real feed or page; refused before parsing to protect time and memory — "
                "the next run retries"
            )
        if location is None:
            fetched = Fetched(source, target, status, resp_headers, body, time.monotonic() - started, seen[1:])
            if check_status and status >= 400:
                raise status_error(fetched, now, limits.default_retry_after)
            return fetched
        next_url = urljoin(target, location)
        _check_redirect(next_url, first_host, source, limits)
        same_origin = _same_origin(target, next_url)
        if has_body and not same_origin:
            raise SourceError(
                f"source {source}: {_short(target)} redirected a {method} request to another address "
                f"({_short(next_url)}); refused, because the request body may carry credentials — "
                "set the configured address to the final one"
            )
        sent_headers = sent_headers if same_origin else _public_headers(sent_headers)
        if status == 303 or (status in (301, 302) and method != "GET"):
            method, has_body = "GET", False
            request = client.build_request("GET", next_url, headers=_without_body_headers(sent_headers))
        elif has_body:
            request = client.build_request(
                method, next_url, headers=sent_headers, json=json_body, data=dict(form) if form else None
            )
        else:
            request = client.build_request(method, next_url, headers=sent_headers)
    raise SourceError(
        f"source {source}: more than {limits.max_redirects} redirects starting at {_short(url)}; "
        "set the configured address to the final one"
    )


_TAG = re.compile(rb"<(?:(/)?([A-Za-z][^\s/<>]*+)[^<>]*+>|!--)")
"""A start or end tag (possessive, so a name with no ``>`` after it fails in one pass), or a comment's start."""
_VOID = frozenset(
    b"area base br col embed hr img input link meta param source track wbr basefont bgsound frame keygen".split()
)
"""HTML elements that never have content (and so never nest), as BeautifulSoup's html.parser builder knows them."""


def markup_depth(body: bytes, stop_above: int | None = None) -> int:
    """The deepest element nesting of an XML or HTML body, as a forgiving parser would build the tree.

    A byte-level scan (no tree, no text): a start tag opens an element unless it is void (``<br>``)
    or self-closed (``<x/>``); an end tag closes the innermost open element of its name and every
    element opened inside it (``</p>`` after an unclosed ``<b>``), and is ignored when no such element
    is open; comments are skipped. Names compare case-insensitively. With ``stop_above`` the scan ends
    as soon as the depth exceeds it, so a hostile body costs a few hundred tags, not the whole document.
    Each tag pattern stops at the next ``<`` or ``>``, so the scan is linear in the body's length.
    """
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}
    deepest = 0
    pos = 0
    search = _TAG.search
    while (match := search(body, pos)) is not None:
        pos = match.end()
        name = match.group(2)
        if name is None:  # a comment: skip to its end (an unterminated one hides the rest, as in parsers)
            end = body.find(b"-->", pos)
            if end < 0:
                break
            pos = end + 3
            continue
        name = name.lower()
        if match.group(1):
            if open_count.get(name):
                while True:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
            continue
        if name in _VOID or body[pos - 2] == 0x2F:  # 0x2F: "/" of "/>"
            continue
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        if len(stack) > deepest:
            deepest = len(stack)
            if stop_above is not None and deepest > stop_above:
                break
    return deepest


def status_error(fetched: Fetched, now: datetime, default_retry_after: float = DEFAULT_RATE_LIMIT_WAIT) -> SourceError:
    """The exception for an error status, with a message in the operator's terms."""
    status = fetched.status
    where = f"source {fetched.source}: {_short(fetched.url)} answered HTTP {status}"
    detail = _error_detail(fetched.body)
    if detail:
        where += f" ({detail})"
    retry_after = retry_after_header(fetched.headers, now)
    if status == 429:
        wait = retry_after if retry_after is not None else default_retry_after
        return RateLimited(
            f"{where}: rate limited; pausing this source for about {math.ceil(wait / 60)} min", retry_after=wait
        )
    if status in (401, 403):
        return AuthFailed(
            f"{where}: access refused. The service needs a token or blocks this server's address; "
            "check the source's settings (or disable it), then run `oki-monitor collect --source "
            f"{fetched.source} --force`",
            retry_after=retry_after,
        )
    if status in (404, 410):
        return SourceError(
            f"{where}: the address does not exist (any more); check the source's url/name in config.yaml"
        )
    if status >= 500:
        return SourceError(f"{where}: the service is failing; the next run retries", retry_after=retry_after)
    return SourceError(f"{where}: request refused; check the source's settings", retry_after=retry_after)


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local, reserved or unspecified addresses and ``localhost``.

    Host names are resolved (all addresses must be public), so a public name that points
    inside the network is caught too.
    """
    host = host.strip("[]").lower()
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return any(
        a.is_private or a.is_loopback or a.is_link_local or a.is_reserved or a.is_unspecified or a.is_multicast
        for a in _addresses(host)
    )


def is_metadata_host(host: str) -> bool:
    """True for cloud metadata services and link-local addresses (169.254.0.0/16, fe80::/10).

    No feed or API ever redirects there honestly; a redirect that does is an attempt to read
    the server's cloud credentials, so it is refused even when private redirects are allowed.
    """
    host = host.strip("[]").lower().rstrip(".")
    if host in METADATA_HOSTS:
        return True
    return any(a in METADATA_ADDRESSES or a.is_link_local for a in _addresses(host))


# --- internals --------------------------------------------------------------------------


def _headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    # We decompress ourselves (bounded), so only offer what zlib can undo.
    out = {"Accept-Encoding": "gzip, deflate"}
    if extra:
        out.update(extra)
    return out


_PUBLIC_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "if-none-match", "if-modified-since"}
)
"""Headers that may follow a redirect to another origin; anything else a collector set may be a credential."""


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses ``host`` is or resolves to (empty when it does not resolve)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return []  # unresolvable: the request itself will fail with a clear error
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return addresses


def _same_origin(from_url: str, to_url: str) -> bool:
    old, new = urlsplit(from_url), urlsplit(to_url)
    # An upgrade from http to https on the same host keeps the origin's trust; a downgrade does not.
    return (old.hostname or "").lower() == (new.hostname or "").lower() and (
        old.scheme == new.scheme or (old.scheme, new.scheme) == ("http", "https")
    )


def _public_headers(sent: dict[str, str]) -> dict[str, str]:
    """The headers for a hop to another origin: credentials stay with the origin they were meant for.

    httpx drops ``Authorization`` itself when it follows redirects; we follow them ourselves, and
    collectors also send API keys in their own headers (``X-Goog-Api-Key``), so only headers known
    to be harmless go on.
    """
    return {k: v for k, v in sent.items() if k.lower() in _PUBLIC_HEADERS}


def _without_body_headers(sent: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sent.items() if k.lower() not in ("content-type", "content-length")}


def _json_int(text: str) -> int | None:
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else None


def _json_float(text: str) -> float | None:
    if len(text) > 2 * MAX_NUMBER_DIGITS:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _json_constant(_name: str) -> None:
    return None  # NaN, Infinity, -Infinity are not JSON; read them as missing


def _check_redirect(url: str, first_host: str, source: str, limits: FetchLimits) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"source {source}: refused a redirect to a non-HTTP address ({_short(url)})")
    host = (parts.hostname or "").lower()
    if host != first_host and is_metadata_host(host):
        raise SourceError(
            f"source {source}: refused a redirect to an internal address ({host}: cloud metadata / link-local); "
            "a source must never send the monitor to the server's own credentials"
        )
    if not limits.allow_private and host != first_host and is_private_host(host):
        raise SourceError(
            f"source {source}: refused a redirect to an internal address ({host}); "
            "a feed must not send the monitor into the local network"
        )


def _remaining(deadline_at: float, source: str, url: str, limits: FetchLimits) -> float:
    left = deadline_at - time.monotonic()
    if left <= 0:
        raise FetchTimeout(
            f"source {source}: {_short(url)} did not finish answering within {limits.deadline:.0f} s; "
            "the next run retries"
        )
    return left


def _one_request(
    client: httpx.Client, request: httpx.Request, source: str, limits: FetchLimits, deadline_at: float
) -> tuple[int, httpx.Headers, bytes, str | None]:
    """Send one request; return status, headers, capped body and the redirect target (if any)."""
    url = str(request.url)
    left = _remaining(deadline_at, source, url, limits)
    request.extensions["timeout"] = httpx.Timeout(
        min(limits.read_timeout, left), connect=min(limits.connect_timeout, left), pool=min(5.0, left)
    ).as_dict()
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise FetchTimeout(f"source {source}: {_short(url)} did not answer in time; the next run retries") from None
    except httpx.HTTPError as exc:
        raise SourceError(
            f"source {source}: cannot reach {_short(url)} ({exc.__class__.__name__}: {exc}); "
            "check the address and the server's network — the next run retries"
        ) from None
    try:
        location = response.headers.get("location") if response.status_code in REDIRECT_STATUSES else None
        if location is not None:
            return response.status_code, response.headers, b"", location
        body = _read_capped(response, source, url, limits, deadline_at)
        return response.status_code, response.headers, body, None
    except httpx.TimeoutException:
        raise FetchTimeout(f"source {source}: {_short(url)} stopped sending data; the next run retries") from None
    except httpx.HTTPError as exc:
        raise SourceError(
            f"source {source}: connection to {_short(url)} broke while reading ({exc.__class__.__name__}); "
            "the next run retries"
        ) from None
    finally:
        response.close()


def _read_capped(response: httpx.Response, source: str, url: str, limits: FetchLimits, deadline_at: float) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    too_large = ResponseTooLarge(
        f"source {source}: response from {_short(url)} is larger than the {limits.max_bytes:,} byte limit; "
        "raise `max_bytes` in the source's settings if this is a legitimate feed"
    )
    declared = response.headers.get("content-length")
    if (
        encoding in ("", "identity")
        and declared
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > limits.max_bytes
    ):
        raise too_large
    decoder = _decoder(encoding, source, url)
    out = bytearray()
    # No chunk_size: httpx would buffer up to it, hiding a slow drip from the deadline check.
    for raw in response.iter_raw():
        _remaining(deadline_at, source, url, limits)
        if decoder is None:
            out += raw
            if len(out) > limits.max_bytes:
                raise too_large
            continue
        data = raw
        # max_length bounds each step, so a bomb never inflates more than the cap in memory.
        while data:
            try:
                chunk = decoder.decompress(data, limits.max_bytes + 1 - len(out))
            except zlib.error:
                raise SourceError(
                    f"source {source}: response from {_short(url)} has a corrupt {encoding} body; the next run retries"
                ) from None
            out += chunk
            if len(out) > limits.max_bytes:
                raise too_large
            data = decoder.unconsumed_tail
            if decoder.eof:
                break
    _remaining(deadline_at, source, url, limits)
    return bytes(out)


class _Deflate:
    """A zlib decompressor for ``deflate`` that also accepts raw deflate (servers disagree on the format)."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj()
        self._started = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not self._started:
            self._started = True
            try:
                return self._d.decompress(data, max_length)
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._d.decompress(data, max_length)

    @property
    def unconsumed_tail(self) -> bytes:
        return self._d.unconsumed_tail

    @property
    def eof(self) -> bool:
        return self._d.eof


def _decoder(encoding: str, source: str, url: str) -> Any:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Deflate()
    raise SourceError(
        f"source {source}: {_short(url)} sent an unsupported content encoding {encoding!r} "
        "(only gzip and deflate were offered); the next run retries"
    )


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None


def _short(url: str) -> str:
    """The URL without its query (queries can be long, and secrets must never reach logs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url[:120]


def _snippet(body: bytes) -> str:
    return body[:60].decode("utf-8", errors="replace").replace("\n", " ")


def _error_detail(body: bytes) -> str:
    """A short reason from a JSON error body (``error``, ``message``, ``title``), if there is one."""
    if not body or len(body) > 64 * 1024:
        return ""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(data, dict):
        return ""
    for key in ("error", "message", "title", "detail", "description"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value[:160]
    return ""
