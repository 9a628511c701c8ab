"""RSS 2.0 as a WordPress-style news portal serves it (the format :mod:`collectors.rss` reads)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from collectors.base import RawItem
from collectors.wire._common import newest_first, rfc822


def rss_feed(
    items: Iterable[RawItem], *, title: str = "Berita OKI (demo)", link: str = "https://demo.invalid/"
) -> bytes:
    """An RSS 2.0 document of ``items`` (newest first), as a WordPress-style news portal serves it."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{xml_escape(title)}</title><link>{xml_escape(link)}</link>",
        "<description>Berita terkini Ogan Komering Ilir</description><language>id</language>",
    ]
    for item in newest_first(items):
        headline = item.title or item.text[:100]
        url = item.url or f"{link}berita/{quote(item.external_id)}"
        parts.append(
            "<item>"
            f"<title>{xml_escape(headline)}</title>"
            f"<link>{xml_escape(url)}</link>"
            f'<guid isPermaLink="false">{xml_escape(item.external_id)}</guid>'
            f"<pubDate>{rfc822(item.created_at)}</pubDate>"
            f"<dc:creator>{xml_escape(item.author or 'Redaksi')}</dc:creator>"
            f"<description>{xml_escape('<p>' + html.escape(item.text) + '</p>')}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
