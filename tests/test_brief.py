"""The weekly brief: the week's arithmetic, the Monday 07:00 WIB schedule and the e-mail with the PDF (real SMTP)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from monitor.demo.smtp_sink import SmtpSink
from monitor.kernel.clock import WIB
from monitor.kernel.config import AppConfig, crontab_trigger
from monitor.reports.brief import brief_addresses, last_week, send, week_of
from monitor.reports.kinerja import Period
from monitor.store.db import Database
from tests.telegram_server import alert_config
from tests.web_support import NOW, seed, tell_agency


def test_weeks_run_monday_to_sunday_in_wib() -> None:
    assert week_of(date(2026, 11, 4)) == Period(date(2026, 11, 2), date(2026, 11, 8))
    assert week_of(date(2026, 11, 8)) == Period(date(2026, 11, 2), date(2026, 11, 8))
    # On a Monday: the week that just ended.
    assert last_week(date(2026, 11, 9)) == Period(date(2026, 11, 2), date(2026, 11, 8))


def test_the_brief_is_scheduled_monday_0700_wib(config: AppConfig) -> None:
    assert config.alerts.brief.receivers == ["humas"]
    trigger = crontab_trigger(config.alerts.brief.schedule)
    after = datetime(2026, 12, 2, 10, 0, tzinfo=WIB)  # a Wednesday
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 12, 7, 7, 0, tzinfo=WIB)


def test_monday_mail_carries_the_pdf_once_per_week(config: AppConfig, sqlite_db: Database) -> None:
    seeded = seed(sqlite_db)
    tell_agency(sqlite_db, seeded.rising_id, "pupr", NOW - timedelta(hours=8), "k-brief")
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=WIB)  # the week of 23 to 29 November just ended
    with SmtpSink() as smtp:
        cfg = alert_config(config, smtp_port=smtp.port)
        assert brief_addresses(cfg) == ["humas@okikab.example"]
        assert send(sqlite_db, cfg, monday) == ["humas@okikab.example"]
        assert send(sqlite_db, cfg, monday + timedelta(minutes=30)) == []  # a restart does not send it twice
        received = list(smtp.received)
    assert len(received) == 1
    mail = received[0]
    assert "Ringkasan mingguan" in mail.subject and "23 Nov 2026 s.d. 29 Nov 2026" in mail.subject
    pdfs = [p for p in mail.message.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename() == "ringkasan-mingguan-2026-11-23.pdf"
    payload = pdfs[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    from pypdf import PdfReader  # local: ~0.5 s to import

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages)
    assert "Jalan rusak di Kayu Agung" in text and "Dinas PUPR OKI" in text and "Kinerja OPD" in text


def test_no_receivers_no_mail(config: AppConfig, sqlite_db: Database) -> None:
    cfg = alert_config(config, brief={"enabled": True, "receivers": [], "schedule": "0 7 * * 1"})
    assert send(sqlite_db, cfg, datetime(2026, 11, 30, 7, 0, tzinfo=WIB)) == []


def test_lead_sentence_says_how_early_and_how_often_in_vain() -> None:
    from monitor.reports.backtest import BacktestTotals
    from monitor.reports.brief import lead_sentence

    quiet = BacktestTotals(issues=0, alerted=0, viral=0, warned_early=0, missed=0, false_alerts=0,
                           median_lead_minutes=None)  # fmt: skip
    assert lead_sentence(quiet).startswith("Tidak ada peringatan")
    week = BacktestTotals(issues=5, alerted=4, viral=2, warned_early=1, missed=1, false_alerts=2,
                          median_lead_minutes=150.0)  # fmt: skip
    text = lead_sentence(week)
    assert "4 isu diperingatkan; 2 menjadi viral" in text
    assert "median 2,5 jam sebelum viral" in text and "1 viral tanpa peringatan" in text
    assert "2 peringatan tidak diikuti viral" in text
