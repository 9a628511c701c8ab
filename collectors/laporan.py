"""Source ``laporan``: what staff, camat and citizens forward to the monitor's bot ("Lapor ke monitor").

Messages arrive through the channels the monitor already listens on: the Telegram bot's update
poller or webhook (:mod:`alerts.channels.telegram`) and the WhatsApp Cloud API webhook
(:mod:`alerts.channels.whatsapp`). Those only *accept* a message (parsed here by
:func:`parse_telegram` / :func:`parse_whatsapp`, checked and queued in the ``laporan_inbox`` table
by :mod:`monitor.stages.intake`): no download, no OCR, so a webhook answers at once.

This collector then turns queued messages into posts, like any other source: its cursor is the
last inbox row read, and it

* downloads a photo or screenshot (Telegram ``getFile`` then ``/file/bot<token>/<path>``; WhatsApp
  ``GET /<version>/<media-id>`` for the media URL, then that URL, both with the bearer token), each
  through :func:`collectors.http.safe_get` with the image byte cap;
* reads it with OCR (:mod:`collectors.ocr`);
* unfurls a forwarded link with the same safe fetcher: the OpenGraph title and description of a
  public page (private and loopback addresses refused, size and time bounded);

and returns one :class:`RawItem` per message (platform ``laporan``, author = the forwarder, which
ingest pseudonymises). A message that cannot be read (not an image, too large, OCR timeout) is
given back to the inbox with a Bahasa reason (the forwarder's reply says it); the others go on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
from bs4 import BeautifulSoup
from pydantic import BaseModel, ConfigDict, Field

from collectors.base import FetchResult, JSONDict, RawItem, SourceError
from collectors.common import clean_text
from collectors.http import FetchLimits, is_metadata_host, is_private_host, safe_get
from collectors.ocr import ImageRefused, OcrLimits, OcrUnavailable, read_image

log = logging.getLogger(__name__)

PLATFORM = "laporan"
KIND = "laporan"
SILENCE_IS_NORMAL = True
"""Reports come when people send them: the source-health check never calls this source silent."""
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff"})
_URL = re.compile(r"https?://[^\s<>\"'()]+", re.IGNORECASE)


class Settings(BaseModel):
    """``settings:`` of the ``laporan`` source (one per deployment)."""

    model_config = ConfigDict(extra="forbid")

    telegram: bool = True
    """Accept reports sent to the alert bot in a private chat."""
    whatsapp: bool = True
    """Accept reports sent to the WhatsApp business number (Cloud API webhook)."""
    mode: Literal["open", "staff"] = "open"
    """``staff``: only senders in ``allow`` (a bot for officers); ``open``: anyone."""
    allow: list[str] = Field(default_factory=list)
    """Telegram user ids or @usernames, WhatsApp numbers (62…); used in ``staff`` mode."""
    per_sender_per_hour: int = Field(10, ge=1, le=1000)
    """More messages than this from one sender in an hour are refused (one polite reply, then silence)."""
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    max_image_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000)
    ocr_timeout_seconds: float = Field(30.0, gt=0, le=300)
    ocr_lang: str = Field("ind", pattern=r"^[a-z_]+(\+[a-z_]+)*$")
    max_text_chars: int = Field(4000, ge=100, le=20_000)
    unfurl_links: bool = True
    link_max_bytes: int = Field(2 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    link_deadline_seconds: float = Field(10.0, gt=0, le=60)
    batch: int = Field(20, ge=1, le=200)
    """Inbox rows read per run (each may cost an OCR of up to ``ocr_timeout_seconds``)."""
    allow_private_addresses: bool = False
    """Only for tests and the offline demo: links and media on 127.0.0.1 / private networks."""

    def ocr_limits(self) -> OcrLimits:
        """The OCR bounds these settings describe."""
        return OcrLimits(
            max_bytes=self.max_image_bytes,
            max_pixels=self.max_image_pixels,
            timeout_seconds=self.ocr_timeout_seconds,
            lang=self.ocr_lang,
        )


def laporan_source(config: Any) -> Any:
    """The enabled source of kind ``laporan`` in ``config.sources``, or None (intake is off)."""
    for src in getattr(config, "sources", []):
        if src.kind == KIND and src.enabled:
            return src
    return None


# --- accepting: pure parsing of the channels' messages -------------------------------------------


@dataclass(frozen=True, slots=True)
class Media:
    """A photo or image file to download later: where it lives and what the channel said about it."""

    channel: str
    ref: str
    """Telegram ``file_id`` or WhatsApp media id."""
    mime: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One forwarded message as accepted from a channel, before any download."""

    channel: Literal["telegram", "whatsapp"]
    key: str
    """Unique per channel message (a redelivered webhook is recognised by it)."""
    sender: str
    """``telegram:<user id>`` or ``whatsapp:+<number>``: the author ingest pseudonymises."""
    names: tuple[str, ...]
    """What an allow-list entry may say for this sender: user id, @username, number."""
    reply_to: str
    """Telegram chat id or WhatsApp number to answer."""
    reply_ref: str | None
    at: datetime
    text: str = ""
    links: tuple[str, ...] = ()
    media: Media | None = None
    problem: str | None = None
    """Why the message cannot be taken (unsupported content), in Bahasa; None when it can."""

    def to_json(self) -> JSONDict:
        """What the inbox row keeps of it (no names: the allow-list check is done at acceptance)."""
        out: JSONDict = {"text": self.text, "links": list(self.links), "at": self.at.isoformat()}
        if self.media is not None:
            out["media"] = {"channel": self.media.channel, "ref": self.media.ref, "mime": self.media.mime}
            if self.media.size is not None:
                out["media"]["size"] = self.media.size
        return out


def find_links(text: str, entities: Sequence[Mapping[str, Any]] = ()) -> tuple[str, ...]:
    """http(s) links of a message: Telegram ``text_link`` entities first, then URLs written in the text."""
    found: list[str] = []
    for entity in entities:
        if isinstance(entity, Mapping) and entity.get("type") == "text_link" and isinstance(entity.get("url"), str):
            found.append(entity["url"])
    found += [m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)]
    unique: list[str] = []
    for link in found:
        if link.lower().startswith(("http://", "https://")) and link not in unique:
            unique.append(link)
    return tuple(unique[:3])


def _when(value: Any, now: datetime) -> datetime:
    try:
        at = datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return min(at, now)


UNSUPPORTED = "hanya teks, tautan, foto atau tangkapan layar yang bisa dibaca"


def parse_telegram(message: Mapping[str, Any], now: datetime) -> Inbound | None:
    """A Telegram ``Message`` sent to the bot in a private chat, or None when it is not a report.

    Group messages are never reports: the bot also sits in the agencies' alert groups, where
    officers talk among themselves.
    """
    chat = message.get("chat") or {}
    user = message.get("from") or {}
    if not isinstance(chat, Mapping) or chat.get("type") != "private" or not isinstance(user, Mapping):
        return None
    if user.get("is_bot") or user.get("id") is None or message.get("message_id") is None:
        return None
    text = str(message.get("text") or message.get("caption") or "")
    if text.strip().startswith("/start"):
        return None  # opening the bot, not a report (Telegram sends it on the first tap)
    entities = message.get("entities") or message.get("caption_entities") or []
    media: Media | None = None
    problem: str | None = None
    photos = message.get("photo")
    document = message.get("document")
    if isinstance(photos, list) and photos:
        # Sizes come smallest first; the largest reads best and the byte cap is checked on it.
        best = max(
            (p for p in photos if isinstance(p, Mapping) and p.get("file_id")),
            key=lambda p: int(p.get("width") or 0) * int(p.get("height") or 0),
            default=None,
        )
        if best is not None:
            media = Media("telegram", str(best["file_id"]), "image/jpeg", _int(best.get("file_size")))
    elif isinstance(document, Mapping) and document.get("file_id"):
        mime = str(document.get("mime_type") or "")
        if mime in IMAGE_TYPES:
            media = Media("telegram", str(document["file_id"]), mime, _int(document.get("file_size")))
        else:
            problem = f"berkas {mime or 'tanpa jenis'} tidak dibaca; {UNSUPPORTED}"
    elif not text.strip():
        kinds = [
            k for k in ("video", "voice", "audio", "sticker", "animation", "video_note", "location") if k in message
        ]
        if not kinds:
            return None
        problem = f"pesan {kinds[0]} tidak dibaca; {UNSUPPORTED}"
    names = [str(user["id"])]
    if user.get("username"):
        names.append("@" + str(user["username"]).lower())
    return Inbound(
        channel="telegram",
        key=f"tg:{chat.get('id')}:{message.get('message_id')}",
        sender=f"telegram:{user['id']}",
        names=tuple(names),
        reply_to=str(chat.get("id")),
        reply_ref=str(message.get("message_id")),
        at=_when(message.get("date"), now),
        text=text,
        links=find_links(text, entities if isinstance(entities, list) else []),
        media=media,
        problem=problem,
    )


def parse_whatsapp(message: Mapping[str, Any], sender: str, now: datetime) -> Inbound | None:
    """A WhatsApp Cloud API inbound ``messages[]`` entry from ``sender`` (digits only), or None.

    Button replies are not reports (the webhook handles them); reactions and system messages
    are ignored.
    """
    kind = str(message.get("type") or "")
    wamid = str(message.get("id") or "")
    if not wamid or not sender or kind in ("button", "interactive", "reaction", "system", "unsupported", ""):
        return None
    text = ""
    media: Media | None = None
    problem: str | None = None
    if kind == "text":
        text = str((message.get("text") or {}).get("body") or "")
    elif kind in ("image", "document", "sticker"):
        body = message.get(kind) or {}
        text = str(body.get("caption") or "")
        mime = str(body.get("mime_type") or "").split(";")[0].strip()
        if kind == "image" or (kind == "document" and mime in IMAGE_TYPES):
            if body.get("id"):
                media = Media("whatsapp", str(body["id"]), mime or None)
        else:
            problem = f"berkas {mime or kind} tidak dibaca; {UNSUPPORTED}"
    else:
        problem = f"pesan {kind} tidak dibaca; {UNSUPPORTED}"
    if not text.strip() and media is None and problem is None:
        return None
    return Inbound(
        channel="whatsapp",
        key=f"wa:{wamid}",
        sender=f"whatsapp:+{sender}",
        names=(sender, "+" + sender),
        reply_to=sender,
        reply_ref=wamid,
        at=_when(message.get("timestamp"), now),
        text=text,
        links=find_links(text),
        media=media,
        problem=problem,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- collecting: downloads, OCR, links ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """An accepted inbox row waiting to become a post."""

    id: int
    channel: str
    sender: str
    at: datetime
    payload: Mapping[str, Any]


class Inbox(Protocol):
    """Where the collector reads accepted reports and gives back the ones it cannot read."""

    def pending(self, after: int, limit: int) -> list[Pending]:
        """Accepted rows with id > ``after``, oldest first."""
        ...

    def unreadable(self, row_id: int, reason: str) -> None:
        """Record that row ``row_id`` gives no post, and why (Bahasa, shown to the forwarder)."""
        ...


@dataclass(frozen=True, slots=True)
class Channels:
    """Where media lives: the Telegram Bot API and the WhatsApp Cloud API (from ``alerts:`` of config)."""

    telegram_base: str = "https://api.telegram.org"
    telegram_token: str = ""
    whatsapp_base: str = "https://graph.facebook.com"
    whatsapp_version: str = "v24.0"
    whatsapp_token: str = ""


@dataclass(frozen=True, slots=True)
class LinkPreview:
    url: str
    title: str = ""
    description: str = ""
    site: str = ""


def parse_opengraph(html: str) -> tuple[str, str, str]:
    """(title, description, site name) of a page: OpenGraph first, then ``<title>`` and meta description."""
    soup = BeautifulSoup(html, "html.parser")

    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            content = tag.get("content") if tag is not None else None
            if isinstance(content, str) and content.strip():
                return clean_text(content, 1000)
        return ""

    title = meta("og:title", "twitter:title")
    if not title and soup.title is not None and soup.title.string:
        title = clean_text(str(soup.title.string), 300)
    return title, meta("og:description", "twitter:description", "description"), meta("og:site_name")


@dataclass
class LaporanCollector:
    """Turns accepted reports into posts; needs an :class:`Inbox` (the service attaches one)."""

    name: str
    settings: Settings
    inbox: Inbox | None = None
    channels: Channels = field(default_factory=Channels)
    platform: str = PLATFORM

    def use(self, inbox: Inbox, channels: Channels) -> None:
        """Attach the database inbox and the channels' API addresses and tokens."""
        self.inbox = inbox
        self.channels = channels

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Read the next accepted reports into items; the cursor is the last inbox row read."""
        after = int(cursor.get("after") or 0)
        if self.inbox is None:
            return FetchResult(items=[], cursor=dict(cursor))
        rows = self.inbox.pending(after, self.settings.batch)
        items: list[RawItem] = []
        calls = 0
        for row in rows:
            try:
                item, used = self.item(row, client, now)
            except ImageRefused as exc:
                self.inbox.unreadable(row.id, f"gambar tidak bisa dibaca: {exc}")
                continue
            except OcrUnavailable as exc:
                # The machine's problem, not the message's: stop here and retry this row next run.
                raise SourceError(f"source {self.name}: {exc}", retry_after=600) from None
            after = row.id
            calls += used
            if item is None:
                self.inbox.unreadable(row.id, "pesan kosong: tidak ada teks, tautan atau gambar yang terbaca")
            else:
                items.append(item)
        # Rows given back as unreadable are done too: move past the last row looked at.
        last = max((r.id for r in rows), default=after)
        return FetchResult(items=items, cursor={"after": max(after, last)}, calls=calls)

    def item(self, row: Pending, client: httpx.Client, now: datetime) -> tuple[RawItem | None, int]:
        """The post for one report (None when nothing readable is left) and the HTTP calls it took."""
        payload = row.payload
        parts: list[str] = []
        calls = 0
        caption = clean_text(str(payload.get("text") or ""), self.settings.max_text_chars)
        if caption:
            parts.append(caption)
        media = payload.get("media")
        ocr_chars = 0
        if isinstance(media, Mapping) and media.get("ref"):
            data, calls = self.download(media, client, now)
            text = read_image(data, self.settings.ocr_limits()).text
            ocr_chars = len(text)
            if text:
                parts.append(text)
            elif not caption:
                raise ImageRefused("tidak ada tulisan yang terbaca di gambar")
        links = [str(x) for x in payload.get("links") or [] if isinstance(x, str)]
        preview: LinkPreview | None = None
        if links and self.settings.unfurl_links:
            preview = self.unfurl(links[0], client, now)
            calls += 1
            if preview is not None:
                parts += [p for p in (preview.title, preview.description) if p]
        text = clean_text("\n".join(parts), self.settings.max_text_chars)
        if not text:
            return None, calls
        extra: dict[str, Any] = {"channel": row.channel, "inbox_id": row.id, "ocr_chars": ocr_chars}
        if preview is not None:
            extra["link"] = {"url": preview.url, "title": preview.title, "site": preview.site}
        return (
            RawItem(
                source=self.name,
                platform=PLATFORM,
                external_id=external_id(row.channel, row.id),
                text=text,
                created_at=row.at,
                url=links[0] if links else None,
                author=row.sender,
                title=preview.title if preview and preview.title else None,
                extra=extra,
            ),
            calls,
        )

    def _limits(self, max_bytes: int, deadline: float) -> FetchLimits:
        return FetchLimits(max_bytes=max_bytes, deadline=deadline, allow_private=self.settings.allow_private_addresses)

    def download(self, media: Mapping[str, Any], client: httpx.Client, now: datetime) -> tuple[bytes, int]:
        """The bytes of a photo or image file, within the byte cap; raises :class:`ImageRefused`."""
        cap = self.settings.max_image_bytes
        size = _int(media.get("size"))
        if size is not None and size > cap:
            raise ImageRefused(f"berkas {size:,} byte terlalu besar (maks {cap:,} byte)")
        limits = self._limits(cap, max(self.settings.ocr_timeout_seconds, 30.0))
        ch = self.channels
        try:
            if media.get("channel") == "telegram":
                base = f"{ch.telegram_base.rstrip('/')}"
                meta = safe_get(
                    client,
                    f"{base}/bot{ch.telegram_token}/getFile",
                    params={"file_id": str(media["ref"])},
                    source=self.name,
                    now=now,
                    limits=self._limits(64 * 1024, 15.0),
                ).json()
                result = meta.get("result") if isinstance(meta, dict) else None
                path = str((result or {}).get("file_path") or "")
                if not path or ".." in path:
                    raise ImageRefused("Telegram tidak memberi berkasnya (mungkin lebih dari 20 MB)")
                data = safe_get(
                    client, f"{base}/file/bot{ch.telegram_token}/{path}", source=self.name, now=now, limits=limits
                ).body
                return data, 2
            auth = {"Authorization": f"Bearer {ch.whatsapp_token}"}
            meta = safe_get(
                client,
                f"{ch.whatsapp_base.rstrip('/')}/{ch.whatsapp_version}/{media['ref']}",
                headers=auth,
                source=self.name,
                now=now,
                limits=self._limits(64 * 1024, 15.0),
            ).json()
            url = str((meta or {}).get("url") or "") if isinstance(meta, dict) else ""
            declared = _int((meta or {}).get("file_size")) if isinstance(meta, dict) else None
            if declared is not None and declared > cap:
                raise ImageRefused(f"berkas {declared:,} byte terlalu besar (maks {cap:,} byte)")
            if not url.lower().startswith(("https://", "http://")):
                raise ImageRefused("WhatsApp tidak memberi alamat berkasnya")
            return safe_get(client, url, headers=auth, source=self.name, now=now, limits=limits).body, 2
        except SourceError as exc:
            # Never the URL: the Telegram token is part of it.
            log.warning("source %s: media download failed: %s", self.name, exc.__class__.__name__)
            if exc.__class__.__name__ == "ResponseTooLarge":
                raise ImageRefused(f"berkas lebih besar dari {cap:,} byte") from None
            if exc.__class__.__name__ == "FetchTimeout":
                raise ImageRefused("pengunduhan gambar terlalu lama") from None
            raise ImageRefused("gambar tidak bisa diunduh dari server pesan") from None

    def unfurl(self, url: str, client: httpx.Client, now: datetime) -> LinkPreview | None:
        """Title and description of a public web page; None when it is not public HTML or fails."""
        host = (urlsplit(url).hostname or "").lower()
        if not host or is_metadata_host(host):
            return None
        if not self.settings.allow_private_addresses and is_private_host(host):
            return None  # a forwarded link must never make the server read its own network
        try:
            fetched = safe_get(
                client,
                url,
                source=self.name,
                now=now,
                headers={"Accept": "text/html,application/xhtml+xml"},
                limits=self._limits(self.settings.link_max_bytes, self.settings.link_deadline_seconds),
            )
        except SourceError as exc:
            log.info("source %s: link not unfurled: %s", self.name, exc)
            return None
        if "html" not in fetched.headers.get("content-type", "text/html").lower():
            return None
        title, description, site = parse_opengraph(fetched.text())
        if not (title or description):
            return None
        return LinkPreview(url=url, title=title[:300], description=description[:1000], site=site[:100])


def external_id(channel: str, row_id: int) -> str:
    """The post's id: channel and inbox row (never the sender's chat or number)."""
    return f"{channel}-{row_id}"


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> LaporanCollector:
    """The ``laporan`` collector; the service attaches the inbox and channels before it runs."""
    return LaporanCollector(name, Settings.model_validate(dict(settings)))
