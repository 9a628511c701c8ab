"""`oki-monitor train`: train the text classifier from the bundled corpus (+ corrections), reproducibly."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports us; importing it back at runtime is not needed
    from monitor.cli import Context

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


def run(args: argparse.Namespace, ctx: Context) -> int:
    from classifiers.model import train

    corrections: list[tuple[str, dict[str, object]]] = []
    if args.corrections is not None:
        if not args.corrections.exists():
            print(f"Berkas koreksi tidak ditemukan: {args.corrections}", file=sys.stderr)
            return 2
        corrections, problems = read_corrections(args.corrections)
        for problem in problems:
            print(f"Koreksi dilewati: {problem}", file=sys.stderr)
    if args.from_db:
        from monitor.corrections import stored_corrections

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
