"""A generic JSON webhook, signed with HMAC-SHA256 so the receiver can check it came from us.

Headers: ``X-OKI-Timestamp`` (unix seconds), ``X-OKI-Signature: sha256=<hex>`` over
``"<timestamp>.<body>"`` (the timestamp inside the signature stops replays of old bodies),
and ``Idempotency-Key`` so a receiver can drop the duplicate a crash may cause.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from alerts.channels.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from alerts.directory import Directory
from monitor.kernel.config import secret


def sign(secret_key: str, timestamp: str, body: bytes) -> str:
    """The signature header value for a body."""
    mac = hmac.new(secret_key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret_key: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Check a signature (constant time); what a receiving service does."""
    return hmac.compare_digest(sign(secret_key, timestamp, body), signature)


class WebhookChannel:
    kind = "webhook"

    def __init__(self, config: Directory, client: httpx.Client | None = None) -> None:
        self._secrets = {t.url: t.secret_env for r in config.alerts.receivers for t in r.webhook}
        self._client = client or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=False)

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """POST the alert as JSON to ``recipient`` (a URL)."""
        body = json.dumps(
            {"idempotency_key": message.idempotency_key, "subject": message.subject, "text": message.plain}
            | message.json_body,
            ensure_ascii=False,
            sort_keys=True,
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key}
        key = secret(self._secrets.get(recipient))
        if key:
            ts = str(int(time.time()))
            headers["X-OKI-Timestamp"] = ts
            headers["X-OKI-Signature"] = sign(key, ts, body)
        try:
            response = self._client.post(recipient, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"webhook {recipient} tidak terjangkau: {exc.__class__.__name__}") from None
        if 200 <= response.status_code < 300:
            return response.headers.get("X-Request-Id", str(response.status_code))
        if response.status_code == 429 or response.status_code >= 500 or response.status_code == 408:
            retry = response.headers.get("Retry-After")
            wait = float(retry) if retry and retry.isdigit() else None
            raise TemporaryFailure(f"webhook {recipient} menjawab {response.status_code}", wait)
        raise PermanentFailure(f"webhook {recipient} menolak ({response.status_code}); periksa alamat/kunci")

    def close(self) -> None:
        self._client.close()


def create(config: Directory) -> WebhookChannel:
    """The webhook channel; targets and their secrets come from ``alerts.receivers[].webhook``."""
    return WebhookChannel(config)
