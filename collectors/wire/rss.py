"""RSS 2.0 as a WordPress-style news portal serves it (the format :mod:`collectors.rss` reads)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from collectors.base import RawItem
from collectors.wire._common import newest_first, rfc822


def rss_item(*, title: str, link: str, guid: str, published: datetime, extra: str = "") -> str:
    """One ``<item>``: escaped title, link and guid, an RFC 822 ``<pubDate>``, then ``extra`` elements as given."""
    return (
        f"<item><title>{xml_escape(title)}</title><link>{xml_escape(link)}</link>"
        f'<guid isPermaLink="false">{xml_escape(guid)}</guid><pubDate>{rfc822(published)}</pubDate>{extra}</item>'
    )


def rss_document(channel: str, items: Iterable[str], *, declaration: str, namespace: str) -> bytes:
    """An RSS 2.0 document: the ``channel`` head elements, then ``items``, in UTF-8."""
    head = f'<?xml version="1.0" encoding="UTF-8"{declaration}?><rss version="2.0" {namespace}><channel>'
    return (head + channel + "".join(items) + "</channel></rss>").encode("utf-8")


def rss_feed(
    items: Iterable[RawItem], *, title: str = "Berita OKI (demo)", link: str = "https://demo.invalid/"
) -> bytes:
    """An RSS 2.0 document of ``items`` (newest first), as a WordPress-style news portal serves it."""
    channel = (
        f"<title>{xml_escape(title)}</title><link>{xml_escape(link)}</link>"
        "<description>Berita terkini Ogan Komering Ilir</description><language>id</language>"
    )
    entries = (
        rss_item(
            title=item.title or item.text[:100],
            link=item.url or f"{link}berita/{quote(item.external_id)}",
            guid=item.external_id,
            published=item.created_at,
            extra=f"<dc:creator>{xml_escape(item.author or 'Redaksi')}</dc:creator>"
            f"<description>{xml_escape('<p>' + html.escape(item.text) + '</p>')}</description>",
        )
        for item in newest_first(items)
    )
    return rss_document(channel, entries, declaration="", namespace='xmlns:dc="http://purl.org/dc/elements/1.1/"')
