"""Google News search RSS (the format :mod:`collectors.googlenews` reads)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape as xml_escape

from collectors.base import RawItem
from collectors.wire._common import newest_first, rfc822


def googlenews_feed(items: Iterable[RawItem], *, query: str, publisher: str = "Berita OKI") -> bytes:
    """A Google News search RSS document: "Headline - Publisher" titles, redirect links, ``<source>``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>',
        f"<generator>NFE/5.0</generator><title>{xml_escape(query)} - Google Berita</title>",
        "<link>https://news.google.com/search?hl=id&amp;gl=ID&amp;ceid=ID:id</link><language>id</language>",
    ]
    for item in newest_first(items):
        headline = item.title or item.text[:100]
        token = "CBMi" + re.sub(r"[^A-Za-z0-9]", "", item.external_id)
        link = f"https://news.google.com/rss/articles/{token}?oc=5"
        desc = (
            f'<a href="{link}" target="_blank">{html.escape(headline)}</a>'
            f'&nbsp;&nbsp;<font color="#6f6f6f">{html.escape(publisher)}</font>'
        )
        parts.append(
            "<item>"
            f"<title>{xml_escape(headline + ' - ' + publisher)}</title>"
            f"<link>{xml_escape(link)}</link>"
            f'<guid isPermaLink="false">{token}</guid>'
            f"<pubDate>{rfc822(item.created_at)}</pubDate>"
            f"<description>{xml_escape(desc)}</description>"
            f'<source url="https://demo.invalid">{xml_escape(publisher)}</source>'
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
