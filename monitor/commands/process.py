"""`oki-monitor process --once [--json]`: classify, group and assess what is stored, once; list the open issues.

With ``--json``, one line per open issue (the contract in ARCHITECTURE.md, "Contracts"):
``{"id", "title", "topic", "agency", "kecamatan", "stage", "external_ids": [...]}``.
No alert is decided here: ``run`` (or the scheduler's pipeline job) does that.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.commands import load_model

if TYPE_CHECKING:
    from monitor.stages.pipeline import PipelineReport
    from monitor.store.context import Context

NAME = "process"
HELP = (
    "jalankan klasifikasi, pengelompokan isu dan penilaian viral sekali atas data tersimpan; "
    "--json: satu baris per isu terbuka"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="run once and exit (the only mode for now)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per open issue")


def open_issues(session: Session) -> list[dict[str, Any]]:
    """The open issues as the ``--json`` contract gives them, by id; external ids by post time."""
    # Here, not at the top: every `oki-monitor` start imports this module (monitor/cli.py).
    from monitor.store.models import Issue, IssuePost, IssueStatus, Post

    issues = list(session.scalars(select(Issue).where(Issue.status == IssueStatus.OPEN).order_by(Issue.id)))
    external: dict[int, list[str]] = defaultdict(list)
    if issues:
        rows = session.execute(
            select(IssuePost.issue_id, Post.external_id)
            .join(Post, Post.id == IssuePost.post_id)
            .join(Issue, Issue.id == IssuePost.issue_id)
            .where(Issue.status == IssueStatus.OPEN)
            .order_by(IssuePost.issue_id, Post.created_at, Post.id)
        )
        for issue_id, external_id in rows:
            external[issue_id].append(external_id)
    return [
        {
            "id": i.id,
            "title": i.title,
            "topic": i.topic,
            "agency": i.agency_code,
            "kecamatan": i.kecamatan,
            "stage": i.stage,
            "external_ids": external.get(i.id, []),
        }
        for i in issues
    ]


def format_report(report: PipelineReport) -> str:
    """The operator's one-line summary of a pass, in Bahasa Indonesia."""
    return (
        f"Diproses: {report.classified} unggahan diklasifikasi ({report.complaints} keluhan), "
        f"{report.grouped} dikelompokkan, {report.new_issues} isu baru, {report.regressions} muncul lagi, "
        f"{report.assessed} isu dinilai, {report.closed} ditutup karena sepi."
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    from monitor.stages.pipeline import run_pipeline

    if not args.once:
        print("Gunakan --once: perintah ini menjalankan tahap-tahapnya satu kali.", file=sys.stderr)
        return 2
    config = ctx.config
    db = ctx.checked_database()
    classifier = load_model(config)
    if classifier is None:
        return 2
    now: datetime = ctx.clock.now()
    report = run_pipeline(db, classifier, config, now)
    if not args.json:
        print(format_report(report))
        return 0
    with db.session() as session:
        for item in open_issues(session):
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
    return 0
