"""`oki-monitor queries [--platform P] [--tracked] [--json]`: the search queries in effect.

For every search source in config.yaml: its queries (hashtags, keywords) as written there, or
the gazetteer's defaults when none are (``collectors/queries.py``). With ``--tracked``: the
queries added for rising issues right now and, for issues not tracked, why
(``monitor/stages/tracked_queries.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from collectors.queries import PLATFORMS, SYNTAX, default_queries
from monitor.kernel.clock import format_wib
from monitor.kernel.config import SourceConfig
from monitor.store.context import Context

NAME = "queries"
HELP = "tampilkan kueri pencarian yang berlaku per sumber (bawaan gazeter atau config) dan kueri pelacakan isu naik"

REASONS = {
    "naik": "isu sedang naik",
    "viral": "isu viral",
    "mereda": "isu sudah tidak naik",
    "ditutup": "isu ditutup atau selesai",
    "kedaluwarsa": "batas waktu pelacakan lewat",
    "tanpa_tempat": "isu tanpa desa/kecamatan",
    "tanpa_kata": "isu tanpa kata kunci",
    "anggaran_penuh": "kuota kueri pelacakan platform ini penuh",
    "tidak_didukung": "kueri tidak muat dalam batas platform",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", help=f"only this platform ({', '.join(PLATFORMS)})")
    parser.add_argument("--tracked", action="store_true", help="also the queries tracking rising issues (reads the DB)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def effective_queries(src: SourceConfig) -> tuple[list[str], bool, int]:
    """(queries, written in config?, how many run every run) for a search source."""
    import importlib

    module = importlib.import_module(f"collectors.{src.kind}")
    settings: Any = module.Settings.model_validate(src.settings)
    written = bool({"query", "queries", "hashtags", "keywords", "terms", "exclude"} & set(src.settings))
    if src.kind == "x":
        from collectors.x import configured_queries

        queries, pinned = configured_queries(settings)
        return queries, written, pinned
    if src.kind == "mastodon":
        queries = [*settings.hashtags, *settings.queries] or default_queries("mastodon")
        return queries, written, len(queries)
    if src.kind == "youtube":
        return [settings.query], written, 1
    if src.kind == "tiktok":
        return list(settings.keywords), written, len(settings.keywords)
    if src.kind == "instagram":
        return list(settings.hashtags), written, len(settings.hashtags)
    return list(settings.queries), written, len(settings.queries)


def run(args: argparse.Namespace, ctx: Context) -> int:
    platform = args.platform
    if platform is not None and platform not in PLATFORMS:
        print(
            f"Platform {platform!r} tidak mencari dengan kueri (RSS, Telegram, Facebook membaca halaman tetap); "
            f"pilih salah satu: {', '.join(PLATFORMS)}",
            file=sys.stderr,
        )
        return 2
    sources = [s for s in ctx.config.sources if s.kind in PLATFORMS and platform in (None, s.kind)]
    rows: list[dict[str, Any]] = []
    for src in sources:
        queries, written, every_run = effective_queries(src)
        for n, query in enumerate(queries):
            rows.append(
                {
                    "source": src.name,
                    "platform": src.kind,
                    "enabled": src.enabled,
                    "origin": "config" if written else "gazeter",
                    "every_run": n < every_run,
                    "query": query,
                }
            )
    if platform is not None and not sources:
        rows = [
            {"source": None, "platform": platform, "enabled": False, "origin": "gazeter", "every_run": True, "query": q}
            for q in default_queries(platform)
        ]
    tracked: list[dict[str, Any]] = []
    if args.tracked:
        from monitor.stages.tracked_queries import decisions_now

        db = ctx.checked_database()
        with db.session() as session:
            decisions = decisions_now(session, ctx.config, ctx.clock.now())
        tracked = [
            {
                "tracked": True,
                "issue_id": d.issue_id,
                "platform": d.platform,
                "active": d.active,
                "reason": d.reason,
                "query": d.query,
                "expires_at": d.expires_at.isoformat() if d.expires_at else None,
            }
            for d in decisions
            if platform in (None, d.platform)
        ]
    if args.json:
        for row in [*rows, *tracked]:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    _print_text(rows, tracked, args.tracked, ctx)
    return 0


def _print_text(rows: list[dict[str, Any]], tracked: list[dict[str, Any]], show_tracked: bool, ctx: Context) -> None:
    shown: str | None = None
    for row in rows:
        key = f"{row['source']}|{row['platform']}"
        if key != shown:
            shown = key
            group = [r for r in rows if f"{r['source']}|{r['platform']}" == key]
            every = sum(1 for r in group if r["every_run"])
            origin = "dari config" if row["origin"] == "config" else "bawaan dari gazeter"
            state = "" if row["enabled"] else ", nonaktif"
            turns = f"; {every} tiap putaran, {len(group) - every} bergiliran" if every < len(group) else ""
            name = row["source"] or "(tidak ada sumber di config)"
            limit = SYNTAX[row["platform"]].max_chars
            print(f"{name} ({row['platform']}{state}): {len(group)} kueri {origin}{turns}; batas {limit} karakter")
        print(f"  [{len(row['query']):>3}] {row['query']}")
    if not show_tracked:
        return
    if not ctx.config.tracked_queries.enabled:
        print("Kueri pelacakan: dimatikan (tracked_queries.enabled: false)")
        return
    active = [t for t in tracked if t["active"]]
    print(f"Kueri pelacakan isu naik: {len(active)} aktif")
    for t in tracked:
        why = REASONS.get(t["reason"], t["reason"])
        if t["active"]:
            until = format_wib(_parse(t["expires_at"])) if t["expires_at"] else "-"
            print(f"  isu #{t['issue_id']} {t['platform']}: {t['query']}  ({why}; sampai {until})")
        else:
            print(f"  isu #{t['issue_id']} {t['platform']}: tidak dilacak — {why}")


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)
