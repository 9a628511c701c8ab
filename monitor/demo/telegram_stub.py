"""A local stand-in for the Telegram Bot API (stdlib http.server in a thread).

It speaks the real request and response shapes (``{"ok": true, "result": ...}`` /
``{"ok": false, "error_code", "description", "parameters"}``), accepts JSON, form and
multipart bodies, checks HTML parse mode and the 4096 limit like the real server,
records every request, and can be told to fail: 429 with ``parameters.retry_after``,
400, 403 (bot blocked). The demo and the tests use it; nothing touches the internet.
"""

from __future__ import annotations

import email
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from monitor.demo.local_http import LocalHTTPServer, send_json

_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s+[a-zA-Z-]+=\"[^\"]*\")*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def check_html(text: str) -> str | None:
    """None when ``text`` is valid Telegram HTML, else the error description Telegram would give."""
    stack: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        between = text[pos : m.start()]
        if "<" in between or ">" in between:
            return f"Bad Request: can't parse entities: unexpected character at byte offset {pos}"
        if "&" in _ENTITY.sub("", between):
            return "Bad Request: can't parse entities: unsupported entity"
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag not in _ALLOWED_TAGS:
            return f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
        if closing:
            if not stack or stack.pop() != tag:
                return f"Bad Request: can't parse entities: can't find end tag corresponding to start tag \"{tag}\""
        else:
            stack.append(tag)
        pos = m.end()
    rest = text[pos:]
    if "<" in rest or ">" in rest:
        return f"Bad Request: can't parse entities: unexpected character at byte offset {pos}"
    if "&" in _ENTITY.sub("", rest):
        return "Bad Request: can't parse entities: unsupported entity"
    if stack:
        return f"Bad Request: can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
    return None


def visible_length(text: str) -> int:
    """Length after entity parsing, in UTF-16 code units (how Telegram counts the 4096 limit)."""
    plain = _TAG.sub("", text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return len(plain.encode("utf-16-le")) // 2


@dataclass
class StubRequest:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    at: float = 0.0


class TelegramStub(LocalHTTPServer):
    """Start with ``with TelegramStub(token) as tg:`` and point ``alerts.telegram.api_base`` at ``tg.base_url``."""

    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.requests: list[StubRequest] = []
        self.blocked_chats: set[str] = set()
        """Chats that answer 403 'bot was blocked by the user'."""
        self.missing_chats: set[str] = set()
        """Chats that answer 400 'chat not found'."""
        self.forum_topics: dict[str, set[int]] = {}
        """Forum supergroups and their topics' ``message_thread_id``s; another topic answers 400."""
        self._faults: deque[tuple[str, int, str, dict[str, Any]]] = deque()
        self._updates: list[dict[str, Any]] = []
        self._next_update = 900000001
        self._next_message = 1
        self.messages: dict[tuple[str, int], dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        """Uploaded files by ``file_id`` (served by getFile and ``/file/bot<token>/<file_path>``)."""
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
            # delayed ACKs stall every response by ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_GET(self) -> None:
                if self.path.startswith("/file/bot"):
                    status, data = stub._file(self.path)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self._handle(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle(self.rfile.read(length))

            def _handle(self, body: bytes) -> None:
                status, reply = stub._dispatch(self.path, self.headers.get("Content-Type", ""), body)
                wait = {"Retry_After": str(reply.get("parameters", {}).get("retry_after", 1))} if status == 429 else {}
                send_json(self, status, reply, **wait)

        self._serve(Handler, port)

    # --- fault injection and inspection ---

    def fail_next(
        self, method: str, code: int, description: str, parameters: dict[str, Any] | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error."""
        with self.lock:
            for _ in range(times):
                self._faults.append((method, code, description, parameters or {}))

    def sent_messages(self) -> list[dict[str, Any]]:
        """Parameters of every accepted sendMessage, in order."""
        with self.lock:
            return [r.params for r in self.requests if r.method == "sendMessage" and r.status == 200]

    def calls(self, method: str) -> list[StubRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == method]

    def press_button(self, callback_data: str, *, username: str = "staf_dinas", user_id: int = 555) -> bool:
        """A user presses an inline button with this callback_data; False when no sent message has it."""
        with self.lock:
            target = None
            for (chat, mid), msg in self.messages.items():
                rows = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
                if any(b.get("callback_data") == callback_data for row in rows for b in row):
                    target = (chat, mid)
                    break
            if target is None:
                return False
            self._updates.append(
                {
                    "update_id": self._next_update,
                    "callback_query": {
                        "id": f"cbq{self._next_update}",
                        "from": {"id": user_id, "is_bot": False, "first_name": "Staf", "username": username},
                        "message": {
                            "message_id": target[1],
                            "chat": {"id": _chat_json(target[0]), "type": "supergroup"},
                            "date": int(time.time()),
                            "text": self.messages[target]["text"],
                            "reply_markup": self.messages[target]["reply_markup"],
                        },
                        "chat_instance": "-1234567890",
                        "data": callback_data,
                    },
                }
            )
            self._next_update += 1
            return True

    def prompts(self, chat: str | None = None) -> list[tuple[str, int, str]]:
        """(chat, message_id, text) of the bot's messages that ask for a reply (``force_reply``)."""
        with self.lock:
            return [
                (c, mid, str(m["text"]))
                for (c, mid), m in self.messages.items()
                if (m.get("reply_markup") or {}).get("force_reply") and (chat is None or c == chat)
            ]

    def reply(self, chat: str, message_id: int, text: str, *, username: str = "staf_dinas", user_id: int = 555) -> bool:
        """A user answers the bot's message ``message_id`` in ``chat`` by replying to it; False when there is none."""
        with self.lock:
            original = self.messages.get((chat, message_id))
            if original is None:
                return False
            self._updates.append(
                {
                    "update_id": self._next_update,
                    "message": {
                        "message_id": 10_000_000 + self._next_update % 1_000_000,
                        "from": {"id": user_id, "is_bot": False, "first_name": "Staf", "username": username},
                        "chat": {"id": _chat_json(chat), "type": "supergroup"},
                        "date": int(time.time()),
                        "text": text,
                        "reply_to_message": {
                            "message_id": message_id,
                            "from": {
                                "id": 1,
                                "is_bot": True,
                                "first_name": "OKI Monitor",
                                "username": "oki_monitor_bot",
                            },
                            "chat": {"id": _chat_json(chat), "type": "supergroup"},
                            "date": int(time.time()),
                            "text": original["text"],
                        },
                    },
                }
            )
            self._next_update += 1
            return True

    def user_sends(
        self,
        user_id: int,
        *,
        text: str | None = None,
        photo: bytes | None = None,
        document: tuple[bytes, str] | None = None,
        username: str | None = "warga_oki",
        declared_size: int | None = None,
    ) -> int:
        """A user writes to the bot in a private chat (text, a photo with ``text`` as caption, or an image
        file given as (bytes, mime type)); returns the message id. ``declared_size`` overrides the
        ``file_size`` Telegram reports."""
        with self.lock:
            message_id = 20_000_000 + self._next_update % 1_000_000
            user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Warga"}
            if username:
                user["username"] = username
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": user,
                "chat": {"id": user_id, "type": "private", "first_name": "Warga"},
                "date": int(time.time()),
            }
            media = photo if photo is not None else (document[0] if document is not None else None)
            if media is not None:
                data = media
                file_id = f"AgAC{self._next_update}"
                self.files[file_id] = data
                size = declared_size if declared_size is not None else len(data)
                if photo is not None:
                    message["photo"] = [
                        {"file_id": file_id + "s", "file_unique_id": "s", "width": 90, "height": 160, "file_size": 1},
                        {"file_id": file_id, "file_unique_id": "b", "width": 720, "height": 1280, "file_size": size},
                    ]
                elif document is not None:
                    message["document"] = {
                        "file_id": file_id,
                        "file_unique_id": "d",
                        "file_name": "tangkapan.png",
                        "mime_type": document[1],
                        "file_size": size,
                    }
                if text:
                    message["caption"] = text
            elif text is not None:
                message["text"] = text
            self._updates.append({"update_id": self._next_update, "message": message})
            self._next_update += 1
            return message_id

    def _file(self, path: str) -> tuple[int, bytes]:
        m = re.fullmatch(r"/file/bot([^/]+)/photos/(\w+)\.(?:jpg|png)", path)
        with self.lock:
            if not m or m.group(1) != self.token:
                return 404, b""
            data = self.files.get(m.group(2))
        return (200, data) if data is not None else (404, b"")

    def press_ack_button(self, ack_token: str, **user: Any) -> bool:
        """Press "Tindak lanjuti" on the message carrying this alert's token."""
        return self.press_button(f"ack:{ack_token}", **user)

    # --- the API ---

    def _dispatch(self, path: str, ctype: str, body: bytes) -> tuple[int, dict[str, Any]]:
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)(\?.*)?", path)
        if not m:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = m.group(1), m.group(2)
        params, files = _parse_body(ctype, body)
        if m.group(3):
            params.update(dict(parse_qsl(m.group(3)[1:])))
        with self.lock:
            req = StubRequest(method, params, files, at=time.monotonic())
            self.requests.append(req)
            if token != self.token:
                req.status = 401
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            for i, fault in enumerate(self._faults):
                if fault[0] == method:
                    del self._faults[i]
                    req.status = fault[1]
                    reply: dict[str, Any] = {"ok": False, "error_code": fault[1], "description": fault[2]}
                    if fault[3]:
                        reply["parameters"] = fault[3]
                    return fault[1], reply
            status, reply = self._method(method, params, files)
            req.status = status
            return status, reply

    def _method(self, method: str, p: dict[str, Any], files: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
        def error(code: int, description: str) -> tuple[int, dict[str, Any]]:
            return code, {"ok": False, "error_code": code, "description": description}

        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": 1, "is_bot": True, "first_name": "OKI Monitor", "username": "oki_monitor_bot"},
            }
        if method in ("sendMessage", "sendPhoto"):
            chat = str(p.get("chat_id", ""))
            if not chat:
                return error(400, "Bad Request: chat_id is empty")
            if chat in self.blocked_chats:
                return error(403, "Forbidden: bot was blocked by the user")
            if chat in self.missing_chats:
                return error(400, "Bad Request: chat not found")
            topic = p.get("message_thread_id")
            if topic is not None and chat in self.forum_topics and int(topic) not in self.forum_topics[chat]:
                return error(400, "Bad Request: message thread not found")
            text = str(p.get("text" if method == "sendMessage" else "caption", "") or "")
            if method == "sendMessage" and not text.strip():
                return error(400, "Bad Request: message text is empty")
            if method == "sendPhoto" and "photo" not in files and "photo" not in p:
                return error(400, "Bad Request: there is no photo in the request")
            if p.get("parse_mode") == "HTML":
                problem = check_html(text)
                if problem:
                    return error(400, problem)
            limit = 4096 if method == "sendMessage" else 1024
            if visible_length(text) > limit:
                return error(
                    400,
                    "Bad Request: message is too long" if limit == 4096 else "Bad Request: message caption is too long",
                )
            reply = p.get("reply_parameters")
            if isinstance(reply, str):
                reply = json.loads(reply)
            if not reply and p.get("reply_to_message_id"):
                reply = {"message_id": p["reply_to_message_id"]}
            replied: int | None = None
            if isinstance(reply, dict) and reply.get("message_id"):
                replied = int(reply["message_id"])
                # Like Telegram: a reply to a message not in this chat fails unless told to send anyway.
                if (chat, replied) not in self.messages:
                    if not reply.get("allow_sending_without_reply"):
                        return error(400, "Bad Request: message to be replied not found")
                    replied = None
            mid = self._next_message
            self._next_message += 1
            markup = p.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            self.messages[(chat, mid)] = {"text": text, "reply_markup": markup, "reply_to": replied, "thread": topic}
            result: dict[str, Any] = {
                "message_id": mid,
                "from": {"id": 1, "is_bot": True, "first_name": "OKI Monitor", "username": "oki_monitor_bot"},
                "chat": {"id": _chat_json(chat), "type": "supergroup", "title": "Alert OPD"},
                "date": int(time.time()),
            }
            if method == "sendMessage":
                result["text"] = text
            else:
                result["photo"] = [{"file_id": f"photo{mid}", "file_unique_id": f"u{mid}", "width": 480, "height": 220}]
            if markup:
                result["reply_markup"] = markup
            if replied is not None:
                result["reply_to_message"] = {"message_id": replied, "chat": result["chat"]}
            return 200, {"ok": True, "result": result}
        if method == "getUpdates":
            offset = int(p.get("offset") or 0)
            # Like Telegram: an offset confirms (forgets) every earlier update.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            limit = int(p.get("limit") or 100)
            return 200, {"ok": True, "result": self._updates[:limit]}
        if method == "getFile":
            file_id = str(p.get("file_id") or "")
            if file_id not in self.files:
                return error(400, "Bad Request: invalid file_id")
            return 200, {
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id,
                    "file_size": len(self.files[file_id]),
                    "file_path": f"photos/{file_id}.jpg",
                },
            }
        if method == "answerCallbackQuery":
            if not p.get("callback_query_id"):
                return error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            return 200, {"ok": True, "result": True}
        if method == "editMessageReplyMarkup":
            key = (str(p.get("chat_id")), int(p.get("message_id") or 0))
            if key not in self.messages:
                return error(400, "Bad Request: message to edit not found")
            markup = p.get("reply_markup")
            self.messages[key]["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            return 200, {"ok": True, "result": True}
        return error(404, "Not Found: method not found")


def _chat_json(chat: str) -> int | str:
    try:
        return int(chat)
    except ValueError:
        return chat


def _parse_body(ctype: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not body:
        return {}, {}
    if ctype.startswith("application/json"):
        data = json.loads(body)
        return (data if isinstance(data, dict) else {}), {}
    if ctype.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode())), {}
    if ctype.startswith("multipart/form-data"):
        msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in msg.walk():
            if part.is_multipart():
                continue
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            data_bytes = raw if isinstance(raw, bytes) else b""
            if not isinstance(name, str):
                continue
            if part.get_filename():
                files[name] = data_bytes
            else:
                params[name] = data_bytes.decode()
        return params, files
    return {}, {}
