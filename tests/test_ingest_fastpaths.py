"""The ingest fast paths give exactly what the general code they short-cut gives."""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from collectors.dedupe import _TRACKING, canonical_url
from monitor.domain.prefilter import MAX_WORDS, _names, has_oki_evidence


def reference_canonical_url(url: str) -> str:
    """canonical_url before its fast path (always through urllib.parse)."""
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


URLS = [
    "https://ex.invalid/1",
    "http://ex.invalid/1/",
    "https://www.detik.com/sumsel/berita/d-123/jalan-rusak",
    "https://m.facebook.com/story.php",
    "https://news.example.co.id/amp",
    "https://news.example.co.id/a/amp/",
    "https://news.example.co.id/a/amp.html",
    "https://news.example.co.id//",
    "https://news.example.co.id///x//",
    "https://news.example.co.id",
    "https://HOST.example/Path",
    "HTTPS://host.example/p",
    "https://host.example:8443/p",
    "https://host.example:443/p",
    "https://user@host.example/p",
    "https://host.example/p?utm_source=x&b=2&a=1",
    "https://host.example/p#frag",
    "https://host.example/p?",
    "https://host.example/a b",
    "https://host.example/a\tb",
    "https://host.example/a\\b",
    "https://host.example/ä/ö",
    "https://host.example./p",
    "https://-host.example/p",
    "  https://host.example/p  ",
    "ftp://host.example/p",
    "//host.example/p",
    "host.example/p",
    "https://[::1]/p",
    "https://t.me/infooki/123",
    "https://x.com/pemkaboki/status/1",
    "https://www.youtube.com/watch?v=abc&si=track",
]


@pytest.mark.parametrize("url", URLS)
def test_canonical_url_matches_reference(url: str) -> None:
    assert canonical_url(url) == reference_canonical_url(url)


def test_canonical_url_matches_reference_on_random_urls() -> None:
    rng = random.Random(7)
    pieces = ["a", "B", "amp", "amp.html", "/", "//", "?", "#", "&", "=", ":", "%20", " ", "ä", "-", ".", "\\", "@"]
    for _ in range(3000):
        host = rng.choice(["ex.invalid", "www.ex.invalid", "m.ex.id", "EX.id", "ex.id:80", "ex.id:8080", "a-b.c"])
        path = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        url = f"{rng.choice(['https', 'http', 'HTTP', 'ftp'])}://{host}/{path}"
        assert canonical_url(url) == reference_canonical_url(url), url


def reference_has_oki_evidence(text: str) -> bool:
    """has_oki_evidence before its prefix skip: every word's 1..4-word joins."""
    names = _names()
    words = re.findall(r"[a-z0-9]+", text.lower())
    for i in range(len(words)):
        for n in range(1, MAX_WORDS + 1):
            gram = words[i : i + n]
            if len(gram) < n:
                break
            if " ".join(gram) in names or (n > 1 and "".join(gram) in names):
                return True
    return False


def test_prefilter_matches_reference() -> None:
    rng = random.Random(11)
    names = sorted(_names())
    filler = "jalan rusak parah di sana warga resah kayu agung ogan komering oku palembang ka yu ag ung a".split()
    for _ in range(3000):
        words = [rng.choice(filler) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.3:
            name = rng.choice(names)
            cut = rng.randint(0, len(name))
            words.insert(rng.randint(0, len(words)), f"{name[:cut]} {name[cut:]}")  # split anywhere
        text = " ".join(words)
        assert has_oki_evidence(text) == reference_has_oki_evidence(text), text


def reference_content_hash(text: str) -> str:
    """content_hash before its fast paths (always NFKD, always the link removal)."""
    import hashlib
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"https?://\S+", " ", text)
    return hashlib.sha256(" ".join(re.findall(r"\w+", text)).encode()).hexdigest()


HASH_TEXTS = [
    "Jalan rusak di Kayuagung",
    "JALAN Rusak, di KAYUAGUNG!!",
    "Jalan rusák di Kayuagung 😡",
    "ｊａｌａｎ ｒｕｓａｋ",  # full-width: NFKD makes it ASCII
    "lihat HTTPS://x.com/a/status/1 dan http://ex.invalid/p?q=1 sekarang",
    "Http://EX.invalid/x jalan",
    "tanpa tautan http saja",
    "ﬁ ligature and Ⅻ numeral",
    "\x00\t\n\\ text",
    "",
]


@pytest.mark.parametrize("text", HASH_TEXTS)
def test_content_hash_fast_paths_agree(text: str) -> None:
    from collectors.dedupe import content_hash

    assert content_hash(text) == reference_content_hash(text)


def test_content_hash_fast_paths_agree_on_random_text() -> None:
    from collectors.dedupe import content_hash

    rng = random.Random(7)
    alphabet = "abcXYZ 019.,:/?&=_-\t\n\\éÉñçü😡ｈｔｔｐ" + "https://" * 3
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert content_hash(text) == reference_content_hash(text), text
