"""How fast alerts are decided and delivered: evaluate() over many open issues, then the outbox
through a real local SMTP server (aiosmtpd) and the local Telegram Bot API stub.

Latency (the target): one issue at a time turns ``naik`` among the open ones; from the start of
the decision (``evaluate``, as the service's pipeline job runs it) to the moment both the SMTP
server and the Telegram API have accepted its messages (the service's pipeline job delivers new
alerts at once). Median and 95th percentile over 60 alerts; target p95 < 1 s.

Prints numbers; asserts nothing. Run: .venv/bin/python bench/alert_latency.py [issues]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from alerts.engine import evaluate
from alerts.outbox import deliver_due
from monitor.demo.smtp_sink import SmtpSink
from monitor.demo.telegram_stub import TelegramStub
from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from monitor.store.models import Delivery, Issue

TOKEN = "123456:BENCH"


def rising_issue(topic: str, kecamatan: str, title: str, at: datetime) -> Issue:
    """An open issue the pipeline has just assessed as ``naik``."""
    return Issue(
        topic=topic,
        kecamatan=kecamatan,
        title=title,
        status="open",
        stage="naik",
        score=70,
        p_viral=0.6,
        eta_minutes=200,
        post_count=5,
        author_count=4,
        first_seen=at,
        last_seen=at,
        created_at=at,
        updated_at=at,
        terms={},
    )


def main(n: int = 300) -> None:
    os.environ.setdefault("OKI_MONITOR_AUTHOR_KEY", "bench-key-0123456789")
    os.environ["OKI_BENCH_TG"] = TOKEN
    os.environ.setdefault("OKI_MONITOR_SECRET_KEY", "bench-secret")
    root = Path(__file__).resolve().parent.parent
    base = load_config(root / "config.yaml")
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as smtp, TelegramStub(TOKEN) as tg:
        data = base.model_dump(by_alias=True)
        data["alerts"]["smtp"].update({"host": "127.0.0.1", "port": smtp.port, "security": "none"})
        data["alerts"]["telegram"].update({"api_base": tg.base_url, "token_env": "OKI_BENCH_TG"})
        data["alerts"]["grouping"]["enabled"] = False
        cfg = AppConfig.model_validate(data)
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.upgrade()
        topics = list(cfg.routing)
        with db.session() as s:
            for k in range(n):
                s.add(rising_issue(topics[k % len(topics)], f"K{k % 18}", f"Keluhan {k}", now))
        t = time.perf_counter()
        with db.session() as s:
            alerts = evaluate(s, cfg, now)
        decide = time.perf_counter() - t
        t = time.perf_counter()
        with db.session() as s:
            again = evaluate(s, cfg, now)
        steady = time.perf_counter() - t
        with db.session() as s:
            total = len(list(s.scalars(select(Delivery.id))))
        t = time.perf_counter()
        passes = 0
        while deliver_due(db, cfg, now, limit=200).claimed:
            passes += 1
        send = time.perf_counter() - t
        with db.session() as s:
            sent = [d for d in s.scalars(select(Delivery)) if d.status == "sent"]
        print(f"open issues: {n}; alerts decided: {len(alerts)} (rest inhibited by disasters); deliveries: {total}")
        print(f"evaluate (first pass, writes alerts+outbox): {decide * 1000:.0f} ms ({n / decide:.0f} issues/s)")
        print(f"evaluate (steady state, nothing new, {len(again)} alerts): {steady * 1000:.0f} ms")
        print(
            f"deliver: {len(sent)}/{total} sent in {send:.2f} s over {passes} passes "
            f"({len(sent) / send:.0f} deliveries/s; e-mail {len(smtp.received)}, Telegram {len(tg.sent_messages())})"
        )
        print(f"mean time per delivery (send + record attempt): {send / max(len(sent), 1) * 1000:.1f} ms")
        latencies = []
        for k in range(60):
            at = now + timedelta(minutes=5 * (k + 1))
            with db.session() as s:
                s.add(rising_issue(topics[k % len(topics)], f"L{k}", f"Keluhan baru {k}", at))
            mails, chats = len(smtp.received), len(tg.sent_messages())
            t = time.perf_counter()
            with db.session() as s:
                decided = evaluate(s, cfg, at)
            while deliver_due(db, cfg, at, limit=50).claimed:
                pass
            if decided and len(smtp.received) > mails and len(tg.sent_messages()) > chats:
                latencies.append(time.perf_counter() - t)
        if latencies:
            cuts = statistics.quantiles(latencies, n=20)
            print(
                f"decide -> accepted by SMTP and Telegram, one new alert among {n} open issues "
                f"({len(latencies)} alerts): median {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {cuts[18] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms (target p95 < 1000 ms)"
            )
        db.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
