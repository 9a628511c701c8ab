"""Google News search RSS (the format :mod:`collectors.googlenews` reads)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape as xml_escape

from collectors.base import RawItem
from collectors.wire._common import newest_first
from collectors.wire.rss import rss_document, rss_item


def googlenews_feed(items: Iterable[RawItem], *, query: str, publisher: str = "Berita OKI") -> bytes:
    """A Google News search RSS document: "Headline - Publisher" titles, redirect links, ``<source>``."""
    channel = (
        f"<generator>NFE/5.0</generator><title>{xml_escape(query)} - Google Berita</title>"
        "<link>https://news.google.com/search?hl=id&amp;gl=ID&amp;ceid=ID:id</link><language>id</language>"
    )
    entries = []
    for item in newest_first(items):
        headline = item.title or item.text[:100]
        token = "CBMi" + re.sub(r"[^A-Za-z0-9]", "", item.external_id)
        link = f"https://news.google.com/rss/articles/{token}?oc=5"
        desc = (
            f'<a href="{link}" target="_blank">{html.escape(headline)}</a>'
            f'&nbsp;&nbsp;<font color="#6f6f6f">{html.escape(publisher)}</font>'
        )
        extra = (
            f"<description>{xml_escape(desc)}</description>"
            f'<source url="https://demo.invalid">{xml_escape(publisher)}</source>'
        )
        entries.append(
            rss_item(title=f"{headline} - {publisher}", link=link, guid=token, published=item.created_at, extra=extra)
        )
    return rss_document(
        channel, entries, declaration=' standalone="yes"', namespace='xmlns:media="http://search.yahoo.com/mrss/"'
    )
