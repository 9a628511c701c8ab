"""Recognising the same story arriving through two sources: canonical URLs and content hashes (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track the click, not the content.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|igshid|mc_\w+|ref|ref_src|s|si|amp|__twitter_impression)$", re.I)
_WORDS = re.compile(r"\w+", re.UNICODE)
_AMP_SUFFIX = re.compile(r"/(amp|amp\.html)/?$")


# A URL urlsplit would take apart trivially: lower-case http(s) scheme and host, no port, user, query or
# fragment, and no character urlsplit drops or that could read as a separator.
_PLAIN_URL = re.compile(r"(?:https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[^?#\s\\]*)?", re.ASCII)


def canonical_url(url: str) -> str:
    """The URL with scheme/host lower-cased, default ports, tracking parameters, fragments and AMP suffixes removed."""
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        # Most collected URLs: the same result as below without urlsplit/parse_qsl/urlunsplit (8-11 µs
        # per stored post, now ~2: bench/ingest.py); tests/test_ingest_fastpaths.py checks both agree.
        return _canonical_parts(plain.group(1), plain.group(2) or "", "https", "")
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port and parts.port not in (80, 443) else None
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return _canonical_parts(host, parts.path, scheme, query, port)


def _canonical_parts(host: str, path: str, scheme: str, query: str, port: int | None = None) -> str:
    if host.startswith("www.") or host.startswith("m."):
        host = host.split(".", 1)[1]
    if port is not None:
        host = f"{host}:{port}"
    path = _AMP_SUFFIX.sub("", path or "/") or "/"
    if path != "/":
        path = path.rstrip("/")
    return urlunsplit((scheme, host, path, query, ""))


_LINK = re.compile(r"https?://\S+")


def content_hash(text: str) -> str:
    """A hash that ignores case, accents, punctuation, spacing and links: syndicated copies collide."""
    # Every stored post is hashed: ASCII text needs no NFKD, and text without "http" no link removal
    # (the same result, ~2 µs of ~5 per post; tests/test_ingest_fastpaths.py checks both agree).
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = text.lower()
    if "http" in text:
        text = _LINK.sub(" ", text)
    words = _WORDS.findall(text)
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
