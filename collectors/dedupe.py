"""Recognising the same story arriving through two sources: canonical URLs and content hashes (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track the click, not the content.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|igshid|mc_\w+|ref|ref_src|s|si|amp|__twitter_impression)$", re.I)
_WORDS = re.compile(r"\w+", re.UNICODE)


def canonical_url(url: str) -> str:
    """The URL with scheme/host lower-cased, default ports, tracking parameters, fragments and AMP suffixes removed."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    if host.startswith("www.") or host.startswith("m."):
        host = host.split(".", 1)[1]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = re.sub(r"/(amp|amp\.html)/?$", "", parts.path or "/") or "/"
    if path != "/":
        path = path.rstrip("/")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host, path, query, ""))


def content_hash(text: str) -> str:
    """A hash that ignores case, accents, punctuation, spacing and links: syndicated copies collide."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"https?://\S+", " ", text)
    words = _WORDS.findall(text)
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
