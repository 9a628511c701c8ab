"""Quota, rate-limit and token-failure accounting shared by the platform API collectors.

X, YouTube, Facebook, Instagram and TikTok each meter use differently (requests
per 15-minute window, quota units per Pacific-time day, usage percentages).
Everything here is pure: it reads headers, bodies and an injected ``now`` and
returns values or raises the exceptions of :mod:`collectors.base`, so each
collector's behaviour under limits is testable without a network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collectors.base import AuthFailed, JSONDict, RateLimited, RawItem, SourceError

PACIFIC = ZoneInfo("America/Los_Angeles")
"""YouTube quotas reset at midnight Pacific Time (determine_quota_cost docs)."""

DEFAULT_RETRY_AFTER = 900.0
"""Wait used when a platform says "slow down" without saying for how long (one X window)."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What a platform last said about our remaining allowance."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    used_percent: float | None = None
    """Meta's X-App-Usage / X-Business-Use-Case-Usage: highest of the usage percentages."""

    def exhausted(self, now: datetime) -> bool:
        """True when the platform told us to stop until ``reset_at`` (or usage is at the ceiling)."""
        if self.used_percent is not None and self.used_percent >= 95:
            return True
        if self.remaining is None or self.remaining > 0:
            return False
        return self.reset_at is None or self.reset_at > now

    def retry_after(self, now: datetime) -> float:
        """Seconds until the window resets (at least one second)."""
        if self.reset_at is None:
            return DEFAULT_RETRY_AFTER
        return max((self.reset_at - now).total_seconds(), 1.0)

    def to_json(self) -> JSONDict:
        """The shape stored in ``Source.rate_limit`` (only the known facts)."""
        out: JSONDict = {}
        if self.limit is not None:
            out["limit"] = self.limit
        if self.remaining is not None:
            out["remaining"] = self.remaining
        if self.reset_at is not None:
            out["reset"] = self.reset_at.isoformat()
        if self.used_percent is not None:
            out["used_percent"] = self.used_percent
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RateLimit:
        """Inverse of :meth:`to_json`; tolerant of missing or foreign keys."""
        if not data:
            return cls()
        reset = data.get("reset")
        reset_at: datetime | None = None
        if isinstance(reset, str):
            try:
                reset_at = datetime.fromisoformat(reset)
            except ValueError:
                reset_at = None
        return cls(
            limit=_int_or_none(data.get("limit")),
            remaining=_int_or_none(data.get("remaining")),
            reset_at=reset_at,
            used_percent=_float_or_none(data.get("used_percent")),
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def x_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    """Read X's ``x-rate-limit-limit/remaining/reset`` (reset is Unix epoch seconds)."""
    reset = _int_or_none(headers.get("x-rate-limit-reset"))
    return RateLimit(
        limit=_int_or_none(headers.get("x-rate-limit-limit")),
        remaining=_int_or_none(headers.get("x-rate-limit-remaining")),
        # A reset beyond the year 5138 is a broken header, and fromtimestamp would overflow on it.
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None and 0 <= reset < 10**11 else None,
    )


def meta_usage(headers: Mapping[str, str], now: datetime) -> RateLimit:
    """Read Meta's usage headers (JSON percentages) into one ``used_percent``.

    ``X-App-Usage`` is ``{"call_count": 12, "total_cputime": 3, "total_time": 5}``;
    ``X-Business-Use-Case-Usage`` maps business ids to lists of the same numbers plus
    ``estimated_time_to_regain_access`` in minutes. The busiest number decides.
    """
    highest: float | None = None
    regain_minutes = 0.0
    for name in ("x-app-usage", "x-business-use-case-usage", "x-ad-account-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries: list[Any] = []
        if isinstance(data, dict) and "call_count" in data:
            entries = [data]
        elif isinstance(data, dict):
            for value in data.values():
                entries.extend(value if isinstance(value, list) else [value])
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_cputime", "total_time"):
                pct = _float_or_none(entry.get(key))
                if pct is not None:
                    highest = pct if highest is None else max(highest, pct)
            regain = _float_or_none(entry.get("estimated_time_to_regain_access"))
            if regain:
                regain_minutes = max(regain_minutes, regain)
    reset_at = now + timedelta(minutes=regain_minutes) if regain_minutes else None
    return RateLimit(used_percent=highest, reset_at=reset_at)


def next_pacific_midnight(now: datetime) -> datetime:
    """When the current YouTube quota day ends, in UTC."""
    local = now.astimezone(PACIFIC)
    # zoneinfo adds wall-clock days, so a DST change still lands on local midnight.
    midnight = datetime(local.year, local.month, local.day, tzinfo=PACIFIC) + timedelta(days=1)
    return midnight.astimezone(UTC)


def pacific_day(now: datetime) -> str:
    """The YouTube quota day ``now`` falls in (``YYYY-MM-DD`` in Pacific Time)."""
    return now.astimezone(PACIFIC).date().isoformat()


@dataclass(frozen=True, slots=True)
class QuotaLedger:
    """Units spent in one quota day, kept in a collector's cursor so restarts do not forget them."""

    day: str
    used: int = 0

    @classmethod
    def load(cls, cursor: Mapping[str, Any], day: str, key: str = "quota") -> QuotaLedger:
        """The ledger for ``day``: yesterday's spending does not count today."""
        raw = cursor.get(key)
        if isinstance(raw, dict) and raw.get("day") == day:
            used = _int_or_none(raw.get("used")) or 0
            return cls(day=day, used=max(used, 0))
        return cls(day=day)

    def can_spend(self, units: int, budget: int) -> bool:
        """Whether ``units`` more still fit under ``budget``."""
        return self.used + units <= budget

    def spend(self, units: int) -> QuotaLedger:
        """A new ledger with ``units`` more spent (values are immutable)."""
        return QuotaLedger(self.day, self.used + units)

    def to_json(self) -> JSONDict:
        return {"day": self.day, "used": self.used}


@dataclass
class QuotaRun:
    """Mutable state of one fetch that spends a daily quota (the cursor itself is never mutated).

    YouTube counts quota units and TikTok requests; both charge a call before making it, against
    the ledger kept in the cursor, so one spending rule serves both.
    """

    ledger: QuotaLedger
    budget: int
    items: list[RawItem] = field(default_factory=list)
    rejected: int = 0
    spent: int = 0
    """Units spent by this run (the result's ``calls``)."""

    def spend(self, units: int) -> bool:
        """Charge ``units`` to the ledger; False, charging nothing, when they would overrun the budget."""
        if not self.ledger.can_spend(units, self.budget):
            return False
        self.ledger = self.ledger.spend(units)
        self.spent += units
        return True

    def rate_facts(self) -> JSONDict:
        """The quota as the result's ``rate_limit`` reports it."""
        return {"quota_used": self.ledger.used, "quota_budget": self.budget}


def expect_object(data: Any, what: str, key: str | None = None) -> JSONDict:
    """``data`` (or ``data[key]``) as a JSON object, else a clear malformed-body error."""
    if not isinstance(data, dict):
        raise SourceError(f"{what}: expected a JSON object, got {type(data).__name__}; the next run retries")
    if key is not None:
        inner = data.get(key)
        if inner is not None and not isinstance(inner, dict):
            raise SourceError(f"{what}: field {key!r} is {type(inner).__name__}, expected an object")
        return inner or {}
    return data


def as_object(value: Any) -> JSONDict:
    """``value`` if it is a JSON object, else an empty one (for optional nested fields)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one (for optional nested fields)."""
    return value if isinstance(value, list) else []


def expect_list(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """``data[key]`` as a list (missing means empty), else a clear malformed-body error."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceError(f"{what}: field {key!r} is {type(value).__name__}, expected a list")
    return value


def retry_after_header(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or HTTP date), if present."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def auth_failed(platform: str, status: int, env_vars: list[str], detail: str = "") -> AuthFailed:
    """The error for a rejected token: what happened and which variable to fix; never the token."""
    where = " or ".join(env_vars) if env_vars else "the token variable"
    extra = f" ({detail[:160]})" if detail else ""
    return AuthFailed(
        f"{platform} rejected the access token (HTTP {status}){extra}: the token is expired, revoked or "
        f"lacks permission. Create a new one, set environment variable {where}, then restart or run "
        "`oki-monitor collect --source NAME --force`. Calls stop until then."
    )


def missing_secret(platform: str, env_var: str) -> AuthFailed:
    """The error when the configured secret is absent from the environment."""
    return AuthFailed(
        f"{platform} source is disabled: no token; set environment variable {env_var} "
        "(see the source's `token_env` in config.yaml)"
    )


def rate_limited(platform: str, retry_after: float, detail: str = "") -> RateLimited:
    """The error for 429 / quota exhausted, with when to try again."""
    minutes = math.ceil(retry_after / 60)
    extra = f" ({detail[:160]})" if detail else ""
    return RateLimited(
        f"{platform} rate limit or quota reached{extra}; pausing calls for about {minutes} min",
        retry_after=retry_after,
    )


def pick_secret(secrets: Mapping[str, str], env_var: str, platform: str) -> str:
    """The secret named ``env_var``, or :func:`missing_secret`."""
    value = secrets.get(env_var)
    if not value:
        raise missing_secret(platform, env_var)
    return value


# --- Meta Graph API (Facebook pages, Instagram business accounts) -----------------------

GRAPH_AUTH_CODES = {102, 190, 10, 200, 294, 299}
"""Graph error codes meaning the token is invalid/expired (190, 102) or lacks a permission (10, 2xx)."""
GRAPH_THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008, 80014}
"""Application, user, page and business-use-case rate limits (graph-api/overview/rate-limiting)."""
GRAPH_GONE_CODES = {100}
"""Object missing or not readable (code 100, e.g. subcode 33): skip that object, keep going."""


class GraphObjectGone(SourceError):
    """One object (post, media, hashtag) cannot be read; the rest of the run continues."""
