"""WhatsApp as its tests meet it: the stub of Meta's Cloud API (and of a gateway) with its secrets set, settings
that send alerts through it, and a signed webhook posted to the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from monitor.demo.whatsapp_stub import PHONE_NUMBER_ID, WhatsAppStub
from monitor.kernel.config import AppConfig

TOKEN = "EAAG-test-whatsapp-token"
APP_SECRET = "app-secret-0123456789"
VERIFY = "verify-me-please"
GATEWAY_TOKEN = "gateway-token"


@pytest.fixture
def wa(monkeypatch: pytest.MonkeyPatch) -> Iterator[WhatsAppStub]:
    """The stub on a free port; its token, app secret, verify token and gateway token in the environment."""
    monkeypatch.setenv("OKI_TEST_WA_TOKEN", TOKEN)
    monkeypatch.setenv("OKI_TEST_WA_SECRET", APP_SECRET)
    monkeypatch.setenv("OKI_TEST_WA_VERIFY", VERIFY)
    monkeypatch.setenv("OKI_TEST_WA_GATEWAY", GATEWAY_TOKEN)
    monkeypatch.setenv("OKI_MONITOR_SECRET_KEY", "test-secret-key-0123456789")
    with WhatsAppStub(TOKEN, APP_SECRET) as stub:
        yield stub


def whatsapp_only(alerting: AppConfig, wa: WhatsAppStub, **whatsapp: Any) -> dict[str, Any]:
    """``alerting``'s settings as data, mail and Telegram off, WhatsApp through the stub: the Cloud API profile,
    the gateway pointed at the stub as well. ``whatsapp`` replaces keys of ``alerts.whatsapp``."""
    data = alerting.model_dump(by_alias=True)
    data["alerts"]["smtp"]["enabled"] = False
    data["alerts"]["telegram"]["enabled"] = False
    data["alerts"]["whatsapp"] = {
        "enabled": True,
        "profile": "cloud",
        "per_recipient_interval_seconds": 0,
        "timeout_seconds": 5,
        "cloud": {
            "api_base": wa.base_url,
            "api_version": "v24.0",
            "phone_number_id": PHONE_NUMBER_ID,
            "token_env": "OKI_TEST_WA_TOKEN",
            "app_secret_env": "OKI_TEST_WA_SECRET",
            "verify_token_env": "OKI_TEST_WA_VERIFY",
        },
        "gateway": {"url": wa.base_url + "/gateway/send", "token_env": "OKI_TEST_WA_GATEWAY"},
    } | whatsapp
    return data


def post_webhook(client: TestClient, body: bytes, signature: str) -> int:
    """POST a webhook to the dashboard as Meta sends it (body and its signature header); the status code."""
    r = client.post(
        "/whatsapp/webhook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )
    return r.status_code
