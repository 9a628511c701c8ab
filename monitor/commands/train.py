"""`oki-monitor train`: train the text classifier from the bundled corpus (+ corrections), reproducibly."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports us; importing it back at runtime is not needed
    from monitor.store.context import Context

NAME = "train"
HELP = "latih ulang pengklasifikasi teks dari korpus bawaan (+ koreksi pengguna); hasilnya berkas model + metadata"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, help="model file (default: config classifier.model_path or var/models)")
    parser.add_argument("--corrections", type=Path, help='JSON lines {"text", "relevant"?, "is_complaint"?, "topic"?}')
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--from-db",
        action="store_true",
        help="also use corrections stored in the database (dashboard, feedback buttons)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--gate",
        action="store_true",
        help="run the scheduled retrain now: train a candidate with the stored corrections and replace the "
        "configured model only if it scores no worse on the blind set and Surabaya (recorded in --history)",
    )
    mode.add_argument("--history", action="store_true", help="show recorded retrain runs and why each promoted or not")
    parser.add_argument("--limit", type=int, default=20, help="runs shown by --history (default 20)")


def read_corrections(path: Path) -> tuple[list[tuple[str, dict[str, object]]], list[str]]:
    """Corrections from a JSON-lines file, and one message per line that could not be used."""
    out: list[tuple[str, dict[str, object]]] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"baris {number}: bukan JSON yang sah ({exc.msg})")
                continue
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                problems.append(f'baris {number}: butuh "text" berupa teks')
                continue
            fields = {k: item[k] for k in ("relevant", "is_complaint", "topic") if k in item}
            if not fields:
                problems.append(f"baris {number}: tidak ada label (relevant / is_complaint / topic)")
                continue
            out.append((item["text"], fields))
    return out, problems


def _default_output(ctx: Context) -> Path:
    from classifiers.model import default_model_path

    try:
        configured = ctx.config.classifier.model_path
    except Exception:  # training needs no config; fall back to the default location
        configured = None
    return Path(configured) if configured else default_model_path()


def _scores_line(scores: dict[str, object]) -> str:
    from monitor.stages.retrain import METRICS, Scores

    parsed = Scores.from_json(scores)
    parts = []
    for metric in METRICS:
        value = parsed.value(metric)
        parts.append(f"{metric.label} {'-' if value is None else f'{value:.3f}'}")
    return " · ".join(parts)


def show_history(ctx: Context, limit: int) -> int:
    """`train --history`: the recorded runs, newest first."""
    from monitor.kernel.clock import format_wib
    from monitor.stages.retrain import reason_text, recent_runs

    runs = recent_runs(ctx.checked_database(), limit=max(1, limit))
    if not runs:
        print("Belum ada pelatihan ulang yang tercatat (jadwal: classifier.retrain.schedule, atau `train --gate`).")
        return 0
    status = {"promoted": "DIPROMOSIKAN", "refused": "DITOLAK", "skipped": "DILEWATI", "failed": "GAGAL"}
    for r in runs:
        trigger = {"schedule": "jadwal", "cli": "manual"}.get(r.trigger, r.trigger)
        print(
            f"#{r.id}  {format_wib(r.started_at)}  {trigger:<7} {status.get(r.status, r.status):<13}"
            f"koreksi {r.corrections}"
            + (f" ({r.corrections_dropped} ada di set buta, tidak dipakai)" if r.corrections_dropped else "")
            + f"  {r.seconds:.0f} dtk"
        )
        if r.candidate_version:
            print(f"    model: {r.current_version or '-'} → kandidat {r.candidate_version}")
        if r.current_scores:
            print(f"    saat ini: {_scores_line(r.current_scores)}")
        if r.candidate_scores:
            print(f"    kandidat: {_scores_line(r.candidate_scores)}")
        print(f"    alasan: {reason_text(r.reasons)}")
    return 0


def run_gate(ctx: Context) -> int:
    """`train --gate`: the scheduled retrain, now."""
    from monitor.stages.retrain import run_retrain

    report = run_retrain(ctx.checked_database(), ctx.config, ctx.clock.now, trigger="cli")
    words = {"promoted": "dipromosikan", "refused": "ditolak", "skipped": "dilewati", "failed": "gagal"}
    print(f"Pelatihan ulang #{report.run_id}: {words.get(report.status, report.status)}")
    for reason in report.reasons:
        print(f"  - {reason.message}")
    if report.promoted:
        print("Layanan yang berjalan memakai model baru pada putaran pipeline berikutnya.")
    return 1 if report.status == "failed" else 0


def run(args: argparse.Namespace, ctx: Context) -> int:
    from classifiers.model import train

    if args.history:
        return show_history(ctx, args.limit)
    if args.gate:
        return run_gate(ctx)

    corrections: list[tuple[str, dict[str, object]]] = []
    if args.corrections is not None:
        if not args.corrections.exists():
            print(f"Berkas koreksi tidak ditemukan: {args.corrections}", file=sys.stderr)
            return 2
        corrections, problems = read_corrections(args.corrections)
        for problem in problems:
            print(f"Koreksi dilewati: {problem}", file=sys.stderr)
    if args.from_db:
        from monitor.stages.corrections import stored_corrections

        from_db = stored_corrections(ctx.checked_database())
        print(f"Koreksi dari basis data: {len(from_db)}")
        corrections.extend(from_db)
    output = args.output or _default_output(ctx)
    meta = train(output, corrections, seed=args.seed)
    m = meta["held_out_metrics"]
    assert isinstance(m, dict)
    print(f"Model tersimpan: {output}")
    print(f"Versi: {meta['version']}  |  data hash: {str(meta['data_hash'])[:16]}…  |  seed: {meta['seed']}")
    print(f"Contoh: {json.dumps(meta['examples'])}")
    print("Skor pada template yang disisihkan (held-out):")
    print(
        f"  relevansi F1 {m['relevance_f1']:.3f} · keluhan F1 {m['complaint_f1']:.3f} · "
        f"topik macro-F1 {m['topic']['macro_f1']:.3f} (akurasi {m['topic']['accuracy']:.3f}) · "
        f"kecamatan akurasi {m['kecamatan_accuracy']:.3f}"
    )
    print(f"Waktu latih: {meta['train_seconds']} detik")
    return 0
