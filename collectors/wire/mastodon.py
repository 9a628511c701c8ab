"""Mastodon tag timelines and status lookups (the format :mod:`collectors.mastodon` reads)."""

from __future__ import annotations

import html
import zlib
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from collectors.base import RawItem
from collectors.wire._common import digits, handle, iso_millis

DEMO_INSTANCE = "mastodon.demo.invalid"


def mastodon_id(item: RawItem) -> str:
    """A Mastodon-style id: milliseconds since 1970 shifted left 16 bits plus a sequence (grows with time)."""
    if item.external_id.isdigit():
        return item.external_id
    return str((int(item.created_at.timestamp() * 1000) << 16) + digits(item) % (1 << 16))


def _status(item: RawItem) -> dict[str, Any]:
    sid = mastodon_id(item)
    acct = handle(item)
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n\n"))
    return {
        "id": sid,
        "created_at": iso_millis(item.created_at),
        "in_reply_to_id": item.parent_id,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "id",
        "uri": f"https://{DEMO_INSTANCE}/users/{acct}/statuses/{sid}",
        "url": f"https://{DEMO_INSTANCE}/@{acct}/{sid}",
        "replies_count": item.replies,
        "reblogs_count": item.shares,
        "favourites_count": item.likes,
        "edited_at": None,
        "content": paragraphs.replace("\n", "<br />"),
        "reblog": None,
        "account": {
            "id": str(zlib.crc32(acct.encode())),
            "username": acct,
            "acct": acct,
            "display_name": item.author or acct,
            "url": f"https://{DEMO_INSTANCE}/@{acct}",
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "oki", "url": f"https://{DEMO_INSTANCE}/tags/oki"}],
        "emojis": [],
    }


def mastodon_page(
    items: Iterable[RawItem],
    *,
    max_id: str | None = None,
    since_id: str | None = None,
    min_id: str | None = None,
    limit: int = 20,
) -> list[RawItem]:
    """The items a tag timeline returns for these parameters (Mastodon semantics), newest first.

    ``min_id`` returns the ``limit`` statuses immediately after it; ``since_id`` the newest
    ``limit`` after it; ``max_id`` the newest ``limit`` before it.
    """
    limit = max(1, min(limit, 40))
    ordered = sorted(items, key=lambda i: int(mastodon_id(i)), reverse=True)
    if max_id is not None and max_id.isdigit():
        ordered = [i for i in ordered if int(mastodon_id(i)) < int(max_id)]
    if since_id is not None and since_id.isdigit():
        ordered = [i for i in ordered if int(mastodon_id(i)) > int(since_id)]
    if min_id is not None and min_id.isdigit():
        after = [i for i in ordered if int(mastodon_id(i)) > int(min_id)]
        return after[-limit:]
    return ordered[:limit]


def mastodon_statuses(page: Sequence[RawItem]) -> list[dict[str, Any]]:
    """A tag timeline body: a bare JSON array of Status entities."""
    return [_status(i) for i in page]


def mastodon_link_header(page: Sequence[RawItem], endpoint: str, *, limit: int = 20) -> str | None:
    """The ``Link`` header for a page: ``next`` (older, ``max_id``) and ``prev`` (newer, ``min_id``)."""
    if not page:
        return None
    ids = [int(mastodon_id(i)) for i in page]
    older = f"{endpoint}?{urlencode({'limit': limit, 'max_id': min(ids)})}"
    newer = f"{endpoint}?{urlencode({'limit': limit, 'min_id': max(ids)})}"
    return f'<{older}>; rel="next", <{newer}>; rel="prev"'
