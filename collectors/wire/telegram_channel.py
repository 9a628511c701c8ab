"""Telegram public channel preview pages, ``t.me/s/<channel>`` (the format :mod:`collectors.telegram_channel` reads)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC

from collectors.base import RawItem


def telegram_ids(all_items: Iterable[RawItem]) -> dict[str, int]:
    """Channel message numbers: 1, 2, 3, ... in publication order over the *whole* scenario (stable)."""
    ordered = sorted(all_items, key=lambda i: (i.created_at, i.external_id))
    return {item.external_id: n for n, item in enumerate(ordered, start=1)}


def _views(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.1f}K"
    return str(n)


def telegram_page(
    items: Iterable[RawItem],
    ids: dict[str, int],
    *,
    channel: str,
    before: int | None = None,
    page_size: int = 20,
) -> str:
    """A ``t.me/s/<channel>`` HTML page: the ``page_size`` messages before ``before`` (newest at the bottom)."""
    numbered = sorted(((ids[i.external_id], i) for i in items if i.external_id in ids), key=lambda p: p[0])
    if before is not None:
        numbered = [p for p in numbered if p[0] < before]
    page = numbered[-page_size:]
    name = html.escape(channel)
    out = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>{name} – Telegram</title></head><body>",
        '<section class="tgme_channel_history js-message_history">',
    ]
    if page and page[0][0] > 1:
        first = page[0][0]
        out.append(
            '<div class="tgme_widget_message_centered js-messages_more_wrap">'
            f'<a href="/s/{name}?before={first}" class="tme_messages_more js-messages_more" '
            f'data-before="{first}"></a></div>'
        )
    for number, item in page:
        text = "<br/>".join(html.escape(line) for line in item.text.split("\n"))
        out.append(
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{name}/{number}">'
            '<div class="tgme_widget_message_bubble">'
            '<div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name" '
            f'href="https://t.me/{name}"><span dir="auto">{html.escape(item.author or channel)}</span></a></div>'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            '<div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{_views(item.views)}</span>'
            '<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
            f'href="https://t.me/{name}/{number}"><time datetime="{item.created_at.astimezone(UTC).isoformat()}" '
            'class="time">00:00</time></a></span>'
            "</div></div></div></div></div>"
        )
    out.append("</section></body></html>")
    return "".join(out)
