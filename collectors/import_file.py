"""Items exported from other systems (SP4N-LAPOR!, a WhatsApp hotline, a spreadsheet) as CSV or JSON lines.

One record per row/line with the architecture sketch's fields::

    {"source": "lapor", "external_id": "LPR-2026-001", "url": null, "author": "warga",
     "text": "Jalan di Desa Sungai Lumpur rusak", "created_at": "2026-11-02T08:15:00+07:00",
     "likes": 0, "shares": 0, "replies": 0, "views": 0}

Optional: ``title``, ``platform`` (else read from the URL's host: an exported tweet is an ``x``
post, so it is shown as one and counted once with the same tweet fetched from X; ``import``
when neither says), ``kind`` (post/comment/news),
``parent_id``. ``created_at`` is ISO 8601; without an offset it is read as WIB
(Asia/Jakarta), because local exports are in local time. Pure parsing: bad records are
reported per line (in Bahasa Indonesia, for the person running the import) and
skipped; every good record is kept. Counts must lie in 0..10^12 (one bound for every count,
:data:`collectors.common.MAX_COUNT`); a larger one rejects its line. The file is UTF-8 unless
``--encoding cp1252`` says it is an old Excel export; a line with a byte the encoding cannot
read is rejected and named, the others keep their exact text. Used by ``oki-monitor import FILE`` and by the
authenticated push endpoint (:func:`parse_records`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from collectors.base import RawItem
from collectors.common import MAX_COUNT, as_utc, clean_text, count_problem, html_to_text, time_problem

WIB = ZoneInfo("Asia/Jakarta")
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_TEXT = 20_000
FIELDS = ("source", "external_id", "url", "author", "text", "created_at", "likes", "shares", "replies", "views")
_OPTIONAL = ("title", "platform", "kind", "parent_id")
_KINDS = {"post", "comment", "news"}
_HOST_PLATFORMS = {
    "x.com": "x",
    "twitter.com": "x",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.watch": "facebook",
    "instagram.com": "instagram",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "t.me": "telegram",
    "reddit.com": "reddit",
    "bsky.app": "bluesky",
}


def platform_of_url(url: str | None) -> str | None:
    """The social platform a post URL belongs to ("https://mobile.twitter.com/a/status/1" → "x"), else None."""
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    parts = host.split(".")
    # "www.", "m.", "mobile.", "web." and other sub-domains belong to the same platform.
    for k in range(len(parts) - 1):
        found = _HOST_PLATFORMS.get(".".join(parts[k:]))
        if found:
            return found
    return None


ENCODINGS = ("utf-8", "cp1252")
"""What ``import --encoding`` accepts: UTF-8 (default, BOM optional), or Windows-1252 for an Excel "CSV" export."""
_ESCAPED = re.compile("[\udc80-\udcff]")
"""A byte the file's encoding could not decode, kept as a lone surrogate (``surrogateescape``)."""


def parse_import_file(path: Path, *, now: datetime, encoding: str = "utf-8") -> tuple[list[RawItem], list[str]]:
    """Read ``path`` (``.csv``, or ``.jsonl``/``.json``/``.ndjson``) into items plus per-line error messages.

    The file is read in ``encoding`` line by line in effect: a line with bytes that are not
    valid in it is rejected and named, every other line keeps its exact text (no guessing
    of another encoding for the whole file, which stored every row garbled).
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return [], [f"{path.name}: berkas {size:,} byte terlalu besar (maks {MAX_FILE_BYTES:,}); pecah dulu"]
    text = decode(path.read_bytes(), encoding)
    if path.suffix.lower() == ".csv":
        return parse_csv(text, now=now)
    return parse_jsonl(text, now=now)


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """``data`` as text; a byte not valid in ``encoding`` survives as a lone surrogate, to be rejected per line.

    UTF-8 may start with a BOM. Line structure is never lost: one bad byte cannot shift or
    garble the lines around it.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}")
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    return data.decode(codec, errors="surrogateescape")


def undecodable(value: Any, encoding: str = "UTF-8") -> str | None:
    """Why ``value`` (a record, or any string in it) holds bytes its file's encoding could not read, else None."""
    strings: list[str] = []
    if isinstance(value, str):
        strings = [value]
    elif isinstance(value, Mapping):
        strings = [v for v in (*value.keys(), *value.values()) if isinstance(v, str)]
        strings += [x for v in value.values() if isinstance(v, list) for x in v if isinstance(x, str)]
    for text in strings:
        match = _ESCAPED.search(text)
        if match:
            byte = ord(match.group()) - 0xDC00
            return (
                f"byte 0x{byte:02X} bukan {encoding} yang sah; baris ini dilewati "
                "(simpan berkas sebagai UTF-8, atau untuk ekspor Excel lama jalankan dengan --encoding cp1252)"
            )
    return None


def parse_jsonl(text: str, *, now: datetime) -> tuple[list[RawItem], list[str]]:
    """JSON lines: one object per line; blank lines ignored."""
    records: list[tuple[int, Any]] = []
    errors: list[str] = []
    # Lines end at "\n" only: str.splitlines() also splits at U+0085, U+2028 and friends, which JSON
    # strings may hold raw, and cut a valid record in two.
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        bad = undecodable(line)
        if bad:
            errors.append(f"baris {number}: {bad}")
            continue
        try:
            records.append((number, json.loads(line)))
        except (ValueError, RecursionError) as exc:
            errors.append(f"baris {number}: bukan JSON yang sah ({str(exc)[:80]})")
    items, more = parse_records(records, now=now)
    return items, sorted(errors + more, key=_line_of)


def parse_csv(text: str, *, now: datetime) -> tuple[list[RawItem], list[str]]:
    """CSV with a header row naming the fields (comma or semicolon separated).

    A broken record (a field over the csv module's 128 KiB limit, a stray quote) is
    rejected and named; reading goes on with the next line.
    """
    # The header row decides: complaint texts are full of commas, which outvoted a semicolon export's separators.
    header = text[:4096].split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        return [], [f"baris 1: baris judul kolom rusak ({exc})"]
    missing = [f for f in ("source", "external_id", "text", "created_at") if f not in fieldnames]
    if missing:
        return [], [f"baris 1: kolom wajib tidak ada: {', '.join(missing)} (kolom yang dikenal: {', '.join(FIELDS)})"]
    records: list[tuple[int, Any]] = []
    errors: list[str] = []
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The csv module has dropped the broken record; the next call starts on the following line.
            errors.append(f"baris {before + 1}: CSV rusak ({exc}); baris ini dilewati")
            continue
        bad_bytes = undecodable(row)
        if bad_bytes:
            errors.append(f"baris {reader.line_num}: {bad_bytes}")
            continue
        records.append((reader.line_num, row))
    items, more = parse_records(records, now=now)
    return items, sorted(errors + more, key=_line_of)


def _line_of(message: str) -> int:
    head = message.split(":", 1)[0]
    number = head.removeprefix("baris ").strip()
    return int(number) if number.isascii() and number.isdigit() and len(number) < 12 else 0


def parse_records(records: Iterable[tuple[int, Any]], *, now: datetime) -> tuple[list[RawItem], list[str]]:
    """Validate ``(line number, record)`` pairs; duplicates of (source, external_id) keep the first."""
    items: list[RawItem] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, record in records:
        item, problem = parse_record(record, now=now)
        if item is None:
            errors.append(f"baris {number}: {problem}")
            continue
        key = (item.source, item.external_id)
        if key in seen:
            errors.append(f"baris {number}: external_id {item.external_id!r} sudah muncul di baris sebelumnya")
            continue
        seen.add(key)
        items.append(item)
    return items, errors


def parse_record(record: Any, *, now: datetime) -> tuple[RawItem | None, str]:
    """One record as a :class:`RawItem`, or ``(None, reason)``."""
    if not isinstance(record, Mapping):
        return None, f"harus berupa objek JSON, bukan {type(record).__name__}"
    source = _string(record.get("source"))
    if not source or len(source) > 64:
        return None, "kolom 'source' kosong atau lebih dari 64 karakter"
    external_id = _string(record.get("external_id"))
    if not external_id or len(external_id) > 200:
        return None, "kolom 'external_id' kosong atau lebih dari 200 karakter"
    raw_text = record.get("text")
    if not isinstance(raw_text, str):
        return None, "kolom 'text' kosong atau bukan teks"
    text = html_to_text(raw_text, MAX_TEXT) if "<" in raw_text else clean_text(raw_text, MAX_TEXT)
    if not text:
        return None, "kolom 'text' kosong"
    created = _time(record.get("created_at"))
    if created is None:
        return (
            None,
            f"created_at {str(record.get('created_at'))[:40]!r} bukan waktu ISO 8601 "
            "(contoh 2026-11-02T08:15:00+07:00)",
        )
    problem = time_problem(created, now)
    if problem:
        return None, f"created_at tidak masuk akal ({problem})"
    counts: dict[str, int] = {}
    for name in ("likes", "shares", "replies", "views"):
        value, bad = _count(record.get(name))
        if bad:
            shown = _shown(record.get(name))
            return None, f"kolom {name!r} harus bilangan bulat 0 s.d. 10^12, bukan {shown}"
        counts[name] = value
    url = _string(record.get("url"))
    if url and not url.startswith(("http://", "https://")):
        return None, f"url {url[:60]!r} harus diawali http:// atau https://"
    kind = _string(record.get("kind")) or "post"
    if kind not in _KINDS:
        return None, f"kind {kind!r} harus post, comment atau news"
    return (
        RawItem(
            source=source,
            platform=(_string(record.get("platform")).lower() or platform_of_url(url) or "import")[:30],
            external_id=external_id,
            text=text,
            created_at=created,
            url=url or None,
            author=_string(record.get("author")) or None,
            title=_string(record.get("title")) or None,
            kind=kind,
            parent_id=_string(record.get("parent_id")) or None,
            likes=counts["likes"],
            shares=counts["shares"],
            replies=counts["replies"],
            views=counts["views"],
        ),
        "",
    )


def _string(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return clean_text(value, 2000) if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(parsed.replace(tzinfo=WIB) if parsed.tzinfo is None else parsed)


def _count(value: Any) -> tuple[int, bool]:
    """(count, is_bad): empty means 0; negative, fractional, non-numeric or above 10^12 is bad."""
    if value is None or value == "":
        return 0, False
    if isinstance(value, bool):
        return 0, True
    if isinstance(value, int):
        return (value, False) if count_problem("count", value) is None else (0, True)
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= 13 and int(digits) <= MAX_COUNT:
            return int(digits), False
        return 0, True
    if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_COUNT:
        return int(value), False
    return 0, True


def _shown(value: Any) -> str:
    """A value for an error message, short: a 10^30 count as "angka 31 digit" rather than all its digits."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"angka {len(str(abs(value)))} digit"
    text = str(value)
    return repr(text[:20] + ("…" if len(text) > 20 else ""))
