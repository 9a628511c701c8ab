"""A local stand-in for WhatsApp: Meta's Cloud API Messages endpoint and a generic Indonesian gateway.

Cloud API (``POST /{version}/{phone-number-id}/messages``): checks what Meta documents and
refuses the rest with Meta's error shape (``{"error": {"message", "type", "code",
"error_data": {"messaging_product", "details"}, "fbtrace_id"}}``):

* ``Authorization: Bearer <token>`` (else 401, code 190), ``messaging_product: whatsapp``, ``to``;
* ``template``: an approved template name and language, body parameters of ``type: text`` without
  newlines/tabs (132018), the template's parameter count (132000), quick-reply button components
  (``sub_type: quick_reply``, ``index``, one ``payload`` parameter of at most 128 characters);
* ``text`` (body at most 4096) and ``interactive`` reply buttons (body at most 1024, 1-3 buttons,
  titles at most 20) only to users whose 24-hour window is open (else 131047, "Re-engagement message").

It answers ``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid…"}]}``,
records every request and can be told to fail (:meth:`fail_next`). :meth:`press_button` and
:meth:`user_writes` build the webhook POSTs Meta would send (documented ``entry/changes/value``
shape) with their ``X-Hub-Signature-256``; the caller delivers them to the dashboard.

Gateway (``POST /gateway/send``): form or JSON with a token header, answering
``{"status": true, "id": ["<n>"]}`` like the common Indonesian services.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
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

PATH = re.compile(r"/(v\d+\.\d+)/(\d+)/messages")
PHONE_NUMBER_ID = "106540352242922"
BUSINESS_NUMBER = "6271112345678"
"""The stub's business number (display number of :data:`PHONE_NUMBER_ID`)."""


@dataclass
class CloudRequest:
    body: dict[str, Any]
    status: int = 200
    wamid: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def meta_error(code: int, message: str, details: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    """An error answer in Meta's documented shape."""
    return status, {
        "error": {
            "message": f"({code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "A1b2C3d4E5f6",
        }
    }


class WhatsAppStub(LocalHTTPServer):
    """``with WhatsAppStub(token, app_secret) as wa:``; point ``alerts.whatsapp.cloud.api_base`` at ``wa.base_url``."""

    def __init__(
        self,
        token: str,
        app_secret: str,
        *,
        templates: dict[str, int] | None = None,
        gateway_token: str = "gateway-token",
        port: int = 0,
    ) -> None:
        self.token = token
        self.app_secret = app_secret
        self.gateway_token = gateway_token
        self.templates = templates if templates is not None else {"oki_peringatan": 3, "oki_info": 3}
        """Approved templates: name → number of body parameters."""
        self.open_windows: dict[str, float] = {}
        """wa_id → when the user last wrote (the 24-hour window is open for these)."""
        self.requests: list[CloudRequest] = []
        self.gateway_requests: list[dict[str, Any]] = []
        self._faults: deque[tuple[int, int, str, dict[str, str]]] = deque()
        self._ids = itertools.count(1)
        self.media: dict[str, tuple[bytes, str]] = {}
        """Media users sent, by media id: (bytes, mime type)."""
        self.media_requests: list[dict[str, str]] = []
        """``path`` and ``authorization`` of every media GET (retrieve URL, download)."""
        self._last_webhook: tuple[bytes, str] = (b"", "")
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                status, ctype, data = stub._media(self.path, self.headers.get("Authorization", ""))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path.startswith("/gateway/"):
                    status, reply = stub._gateway(headers, body)
                else:
                    status, reply = stub._cloud(self.path, headers, body)
                send_json(self, status, reply)

        self._serve(Handler, port)

    # --- control and inspection ---

    def fail_next(self, status: int, code: int, message: str, times: int = 1) -> None:
        """The next ``times`` message requests fail with Meta's error ``code`` and HTTP ``status``."""
        with self.lock:
            for _ in range(times):
                self._faults.append((status, code, message, {}))

    def sent(self) -> list[dict[str, Any]]:
        """Bodies of every accepted message request, in order."""
        with self.lock:
            return [r.body for r in self.requests if r.status == 200]

    def open_window(self, wa_id: str) -> None:
        """The user wrote to the business just now (without going through the webhook)."""
        with self.lock:
            self.open_windows[wa_id] = time.time()

    def close_window(self, wa_id: str) -> None:
        with self.lock:
            self.open_windows.pop(wa_id, None)

    def webhook(self, value: dict[str, Any]) -> tuple[bytes, str]:
        """A webhook body around one ``value`` (Meta's envelope) and its ``X-Hub-Signature-256``."""
        envelope = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": BUSINESS_NUMBER,
                                    "phone_number_id": PHONE_NUMBER_ID,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }
        body = json.dumps(envelope).encode()
        signed = body, "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        self._last_webhook = signed
        return signed

    def last_webhook(self) -> tuple[bytes, str]:
        """The last webhook POST built (Meta redelivers one it believes failed)."""
        return self._last_webhook

    def user_sends_image(
        self, wa_id: str, data: bytes, *, caption: str | None = None, mime: str = "image/png"
    ) -> tuple[bytes, str]:
        """The webhook POST for an image the user sends (documented ``type: image`` with a media id)."""
        media_id = f"{next(self._ids) + 1_000_000_000_000}"
        with self.lock:
            self.media[media_id] = (data, mime)
        image: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest()}
        if caption:
            image["caption"] = caption
        return self._inbound(wa_id, {"type": "image", "image": image})

    def _media(self, path: str, authorization: str) -> tuple[int, str, bytes]:
        """``GET /{version}/{media-id}`` (the media URL, as documented) and the download of that URL."""
        with self.lock:
            self.media_requests.append({"path": path, "authorization": authorization})
            if authorization != f"Bearer {self.token}":
                status, body = meta_error(190, "Access token has expired", "Error validating access token", 401)
                return status, "application/json", json.dumps(body).encode()
            m = re.fullmatch(r"/(v\d+\.\d+)/(\d+)", path)
            if m and m.group(2) in self.media:
                data, mime = self.media[m.group(2)]
                answer = {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base_url}/media/download?mid={m.group(2)}",
                    "mime_type": mime,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "file_size": len(data),
                    "id": m.group(2),
                }
                return 200, "application/json", json.dumps(answer).encode()
            d = re.fullmatch(r"/media/download\?mid=(\d+)", path)
            if d and d.group(1) in self.media:
                data, mime = self.media[d.group(1)]
                return 200, mime, data
            status, body = meta_error(100, "Invalid parameter", f"unknown media {path}", 404)
            return status, "application/json", json.dumps(body).encode()

    def _inbound(self, wa_id: str, message: dict[str, Any], at: float | None = None) -> tuple[bytes, str]:
        with self.lock:
            self.open_windows[wa_id] = time.time()
        at = time.time() if at is None else at
        return self.webhook(
            {
                "contacts": [{"profile": {"name": "Staf Dinas"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": f"wamid.IN{next(self._ids)}", "timestamp": str(int(at))} | message],
            }
        )

    def user_writes(self, wa_id: str, text: str, at: float | None = None) -> tuple[bytes, str]:
        """The webhook POST for a text the user sends (it opens the 24-hour window); ``at``: unix time."""
        return self._inbound(wa_id, {"type": "text", "text": {"body": text}}, at)

    def press_button(self, wa_id: str, payload: str, at: float | None = None) -> tuple[bytes, str]:
        """The webhook POST for a pressed button; ``payload`` must be on a message sent to ``wa_id``."""
        with self.lock:
            for req in self.requests:
                if req.status != 200 or req.body.get("to") != wa_id:
                    continue
                body = req.body
                if body.get("type") == "template":
                    for comp in body["template"].get("components", []):
                        params = comp.get("parameters") or [{}]
                        if comp.get("type") == "button" and params[0].get("payload") == payload:
                            message = {
                                "type": "button",
                                "context": {"from": BUSINESS_NUMBER, "id": req.wamid},
                                "button": {"payload": payload, "text": "Tindak lanjuti"},
                            }
                            break
                    else:
                        continue
                    break
                if body.get("type") == "interactive":
                    buttons = body["interactive"]["action"]["buttons"]
                    hit = [b for b in buttons if b["reply"]["id"] == payload]
                    if hit:
                        message = {
                            "type": "interactive",
                            "context": {"from": BUSINESS_NUMBER, "id": req.wamid},
                            "interactive": {"type": "button_reply", "button_reply": hit[0]["reply"]},
                        }
                        break
            else:
                raise LookupError(f"no message to {wa_id} has a button with payload {payload!r}")
        return self._inbound(wa_id, message, at)

    def failed_status(self, wamid: str, wa_id: str, code: int, title: str) -> tuple[bytes, str]:
        """The webhook POST Meta sends when a message it accepted could not be delivered."""
        return self.webhook(
            {
                "statuses": [
                    {
                        "id": wamid,
                        "status": "failed",
                        "timestamp": str(int(time.time())),
                        "recipient_id": wa_id,
                        "errors": [{"code": code, "title": title, "error_data": {"details": title}}],
                    }
                ]
            }
        )

    # --- the Cloud API ---

    def _cloud(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        with self.lock:
            req = CloudRequest(body if isinstance(body, dict) else {}, headers=headers)
            self.requests.append(req)
            status, reply = self._check(path, headers, req.body)
            req.status = status
            if status == 200:
                req.wamid = reply["messages"][0]["id"]
            return status, reply

    def _check(self, path: str, headers: dict[str, str], b: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not PATH.fullmatch(path):
            return meta_error(100, "Invalid parameter", f"unknown path {path}")
        if headers.get("authorization") != f"Bearer {self.token}":
            return meta_error(190, "Access token has expired", "Error validating access token", 401)
        if self._faults:
            status, code, message, _ = self._faults.popleft()
            return meta_error(code, message, message, status)
        if b.get("messaging_product") != "whatsapp":
            return meta_error(100, "Invalid parameter", "messaging_product must be whatsapp")
        to = str(b.get("to") or "")
        if not to.isdigit():
            return meta_error(100, "Invalid parameter", "to must be a phone number")
        kind = b.get("type")
        if kind == "template":
            problem = self._check_template(b.get("template") or {})
            if problem:
                return problem
        elif kind in ("text", "interactive"):
            opened = self.open_windows.get(to)
            if opened is None or time.time() - opened >= 24 * 3600:
                return meta_error(
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since the customer last "
                    "replied to this number.",
                )
            if kind == "text":
                text = (b.get("text") or {}).get("body") or ""
                if not text or len(text) > 4096:
                    return meta_error(100, "Invalid parameter", "text.body must be 1-4096 characters")
            else:
                inter = b.get("interactive") or {}
                buttons = ((inter.get("action") or {}).get("buttons")) or []
                body_text = (inter.get("body") or {}).get("text") or ""
                if inter.get("type") != "button" or not body_text or len(body_text) > 1024:
                    return meta_error(100, "Invalid parameter", "interactive.body.text must be 1-1024 characters")
                if not 1 <= len(buttons) <= 3 or any(
                    b2.get("type") != "reply" or not 1 <= len(b2["reply"].get("title", "")) <= 20 for b2 in buttons
                ):
                    return meta_error(100, "Invalid parameter", "1-3 reply buttons, titles 1-20 characters")
        else:
            return meta_error(131051, "Unsupported message type", f"type {kind!r} is not supported")
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.HBgM{next(self._ids):08d}", "message_status": "accepted"}],
        }

    def _check_template(self, t: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        name, lang = t.get("name"), (t.get("language") or {}).get("code")
        if name not in self.templates or lang != "id":
            return meta_error(132001, "Template name does not exist in the translation", f"template {name} ({lang})")
        comps = t.get("components") or []
        body = [c for c in comps if c.get("type") == "body"]
        params = body[0].get("parameters", []) if body else []
        if len(params) != self.templates[name]:
            return meta_error(
                132000,
                "Number of parameters does not match the expected number of params",
                f"body: number of localizable_params ({len(params)}) does not match the expected "
                f"number of params ({self.templates[name]})",
            )
        for p in params:
            text = p.get("text")
            if p.get("type") != "text" or not isinstance(text, str) or not text:
                return meta_error(132012, "Parameter format does not match format in the created template", "text")
            if re.search(r"[\n\t]| {5,}", text):
                return meta_error(
                    132018,
                    "There was an issue with the parameters in your template.",
                    "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                )
        for c in comps:
            if c.get("type") != "button":
                continue
            ps = c.get("parameters") or []
            if (
                c.get("sub_type") != "quick_reply"
                or not str(c.get("index", "")).isdigit()
                or len(ps) != 1
                or ps[0].get("type") != "payload"
                or not 1 <= len(str(ps[0].get("payload") or "")) <= 128
            ):
                return meta_error(131009, "Parameter value is not valid", f"button component {c}")
        return None

    # --- a generic gateway ---

    def _gateway(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        ctype = headers.get("content-type", "")
        fields: dict[str, Any] = (
            json.loads(raw) if ctype.startswith("application/json") else dict(parse_qsl(raw.decode()))
        )
        with self.lock:
            self.gateway_requests.append({"headers": headers, "fields": fields})
            if headers.get("authorization") != self.gateway_token:
                return 200, {"status": False, "reason": "invalid token"}
            if not str(fields.get("target") or "").isdigit() or not fields.get("message"):
                return 200, {"status": False, "reason": "target or message is empty"}
            return 200, {"status": True, "id": [str(next(self._ids))], "process": "pending"}
