"""The agency loop in a real headless Chromium: PUPR acknowledges, works on it, reroutes to Dinas Sosial by name;
Dinas Sosial hears by e-mail (real SMTP) and Telegram (Bot API stub) in one delivery pass and finishes it; comms
sees every step; new posts after selesai reopen it for Dinas Sosial."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.engine import evaluate
from alerts.outbox import deliver_due
from monitor.demo.smtp_sink import SmtpSink
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Alert, Issue, User
from monitor.web.app import create_app
from monitor.web.auth import hash_password
from tests.browser_support import login, require_browser, serving, wait_until
from tests.grouping_support import Harness
from tests.pipeline_support import road_label
from tests.telegram_server import TOKEN, TOKEN_ENV, TelegramStub, alert_config
from tests.web_support import PASSWORD

pytestmark = pytest.mark.browser

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB
LABEL = road_label()
DINSOS_CHAT = "-1001000000008"


class World(Harness):
    """The database, clock, channels and grouper the test drives next to the browser."""

    def __init__(self, db: Database, cfg: AppConfig, clock: SimulatedClock, smtp: SmtpSink, tg: TelegramStub) -> None:
        super().__init__(db, cfg, source="warga")
        self.cfg, self.clock, self.smtp, self.tg = cfg, clock, smtp, tg
        with db.session() as s:
            pw = hash_password(PASSWORD)
            s.add_all(
                [
                    User(username="kominfo", password_hash=pw, role="comms", created_at=T0),
                    User(username="pupr", password_hash=pw, role="agency", agency_code="pupr", created_at=T0),
                    User(username="dinsos", password_hash=pw, role="agency", agency_code="dinsos", created_at=T0),
                ]
            )

    def post(self, text: str) -> int:
        """A classified complaint placed by the real grouper; returns its issue id."""
        _post_id, issue_id = self.add(text, at=self.clock.now(), label=LABEL)
        assert issue_id is not None
        return issue_id

    def alert_pass(self) -> list[Alert]:
        with self.db.session() as s:
            made = evaluate(s, self.cfg, self.clock.now())
            s.flush()
            s.expunge_all()
            return made


@pytest.fixture
def world(config: AppConfig, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, World]]:
    require_browser()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
        cfg = alert_config(config, smtp_port=smtp.port, telegram_base=tg.base_url)
        clock = SimulatedClock(T0)
        w = World(sqlite_db, cfg, clock, smtp, tg)
        with serving(create_app(cfg, sqlite_db, clock)) as base:
            yield base, w


def _login(driver: object, base: str, username: str) -> None:
    """Sign in as ``username`` in place of whoever is signed in (the loop passes between agencies and comms)."""
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(driver, WebDriver)
    driver.delete_all_cookies()
    login(driver, base, username)


def _status(driver: object) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(driver, WebDriver)
    return str(driver.find_element(By.ID, "response-status").text)


def _submit(driver: object, form_id: str, **fields: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select

    assert isinstance(driver, WebDriver)
    form = driver.find_element(By.ID, form_id)
    for name, value in fields.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_visible_text(value)
        else:
            element.clear()
            element.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_agency_loop_in_the_browser(world: tuple[str, World], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, w = world
    driver = browser
    assert isinstance(driver, WebDriver)

    # A rising road complaint: PUPR is alerted.
    issue_id = w.post("Jalan di Desa Sungai Lumpur Cengal rusak parah, lubang besar, bantuan sembako tidak sampai")
    with w.db.session() as s:
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.agency_code == "pupr"
        issue.stage = "naik"
    assert any(a.receiver == "agency:pupr" for a in w.alert_pass())
    assert deliver_due(w.db, w.cfg, w.clock.now()).sent >= 2

    # Agency A (PUPR): Terima, Diproses with a note, then Salah dinas to Dinas Sosial by name.
    w.clock.advance(timedelta(minutes=30))
    _login(driver, base, "pupr")
    driver.get(f"{base}/issues/{issue_id}")
    assert _status(driver) == "Belum ditanggapi"
    driver.find_element(By.ID, "ack-button").click()
    wait_until(driver, lambda d: _status(d) == "Diterima")
    w.clock.advance(timedelta(minutes=30))
    _submit(driver, "form-diproses", note="Tim PUPR cek lokasi; ternyata soal bantuan sembako")
    wait_until(driver, lambda d: _status(d) == "Diproses")
    w.clock.advance(timedelta(minutes=10))
    _submit(driver, "form-reroute", agency="Dinas Sosial OKI", note="Keluhan utamanya bansos")
    wait_until(driver, lambda d: "dialihkan ke Dinas Sosial OKI" in d.find_element(By.TAG_NAME, "main").text)
    driver.get(f"{base}/issues/{issue_id}")
    assert "tidak ditemukan" in driver.find_element(By.TAG_NAME, "body").text.lower(), "no longer PUPR's"

    # Agency B hears on both channels within one delivery pass.
    before_mail = len(w.smtp.received)
    report = deliver_due(w.db, w.cfg, w.clock.now())
    assert report.sent == 2
    mails = [m for m in w.smtp.received[before_mail:] if "dinsos@okikab.example" in m.rcpt_tos]
    assert mails and f"OKI-{issue_id}" in mails[0].subject
    told = [m for m in w.tg.sent_messages() if str(m["chat_id"]) == DINSOS_CHAT]
    assert told and "Dinas PUPR OKI" in told[-1]["text"] and "Keluhan utamanya bansos" in told[-1]["text"]
    assert told[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Terima"

    # Agency B (Dinas Sosial) finishes it with a note.
    w.clock.advance(timedelta(hours=2))
    _login(driver, base, "dinsos")
    driver.get(f"{base}/issues/{issue_id}")
    assert _status(driver) == "Belum ditanggapi"
    _submit(
        driver, "form-selesai", note="Sembako sudah disalurkan ke 12 KK", evidence_url="https://okikab.example/bukti/1"
    )
    wait_until(driver, lambda d: _status(d) == "Selesai")

    # Comms sees every step, who and when (WIB).
    _login(driver, base, "kominfo")
    driver.get(f"{base}/issues/{issue_id}")
    history = driver.find_element(By.ID, "response-history").text
    for said in (
        "Masuk ke OPD (belum ditanggapi) · Dinas PUPR OKI",
        "Diterima · Dinas PUPR OKI · oleh pupr",
        "Diproses · Dinas PUPR OKI · oleh pupr (lewat dasbor) · “Tim PUPR cek lokasi; ternyata soal bantuan sembako”",
        "Salah dinas: dialihkan ke Dinas Sosial OKI · Dinas PUPR OKI · oleh pupr",
        "Masuk ke OPD (belum ditanggapi) · Dinas Sosial OKI",
        "Diterima · Dinas Sosial OKI · oleh dinsos",
        "Selesai · Dinas Sosial OKI · oleh dinsos (lewat dasbor) · “Sembako sudah disalurkan ke 12 KK”",
        "1 Des 2026 09.00 WIB",
    ):
        assert said in history, (said, history)
    driver.get(f"{base}/kinerja")
    assert "Dinas Sosial OKI" in driver.find_element(By.TAG_NAME, "main").text

    # New posts after selesai: the issue reopens, still Dinas Sosial's, and Dinas Sosial is told again.
    w.clock.advance(timedelta(days=2))
    again = w.post("Jalan Sungai Lumpur Cengal rusak lagi, lubang besar muncul lagi, sembako tidak sampai")
    assert again == issue_id
    with w.db.session() as s:
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.status == "open" and issue.agency_code == "dinsos"
        assert issue.response_status == "belum_ditanggapi"
        issue.stage = "naik"
    made = w.alert_pass()
    assert any(a.kind == "regression" and a.receiver == "agency:dinsos" for a in made)
    _login(driver, base, "dinsos")
    driver.get(f"{base}/issues/{issue_id}")
    assert _status(driver) == "Belum ditanggapi"
    assert "Muncul lagi: dibuka kembali" in driver.find_element(By.ID, "response-history").text
    with w.db.session() as s:
        assert s.scalars(select(User.username).where(User.agency_code == "dinsos")).one() == "dinsos"
