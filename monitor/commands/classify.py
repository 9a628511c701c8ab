"""`oki-monitor classify`: JSON lines {"id","text"} in, one JSON line of labels out per input, same order.

Exit codes: 0 every line classified; 1 some lines skipped (each still has an output line
with ``"error"``, and a message on stderr); 2 the model or the input file is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the CLI imports us; importing it back at runtime is not needed
    from classifiers.gazetteer import Gazetteer
    from monitor.store.context import Context

NAME = "classify"
HELP = (
    "baca JSON lines {id,text} (stdin atau --input) dan tulis label per baris: relevan, keluhan, topik, OPD, kecamatan"
    "; kode keluar 1 bila ada baris yang dilewati"
)
SKIPPED_LINES = 1
"""Exit code when input lines were skipped (their outputs carry "error"); a script must not take it for success."""

BATCH = 2000
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=Path, help="JSON-lines file (default: stdin)")
    parser.add_argument("--model", type=Path, help="model file (default: config classifier.model_path or var/models)")
    parser.add_argument(
        "--all-topics",
        action="store_true",
        help='also print "topics" (every topic, primary first) and "agencies" (their routing, in that order)',
    )
    parser.add_argument(
        "--region",
        metavar="KODE",
        help="baca teks sebagai wilayah ini (kode Kemendagri, mis. 16.01): gazetir dan OPD wilayah itu "
        "(bawaan: wilayah utama config)",
    )


def _batches(stream: TextIO) -> Iterator[list[tuple[int, object, str | None, str | None]]]:
    """(line number, id, text, error) per input line, in batches; a bad line carries its error."""
    batch: list[tuple[int, object, str | None, str | None]] = []
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        if _UNDECODABLE.search(raw):
            batch.append((number, None, None, f"baris {number}: bukan UTF-8 yang sah"))
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            batch.append((number, None, None, f"baris {number}: bukan JSON yang sah ({exc.msg})"))
        else:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                batch.append(
                    (
                        number,
                        item.get("id") if isinstance(item, dict) else None,
                        None,
                        f'baris {number}: butuh objek dengan "text" berupa teks',
                    )
                )
            else:
                batch.append((number, item.get("id"), item["text"], None))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _region_reading(args: argparse.Namespace, ctx: Context) -> tuple[Gazetteer | None, Mapping[str, str]]:
    """The gazetteer (None: OKI's hand-tuned one) and topic routing of the region the texts are read as.

    The deployment's own region unless ``--region`` names another: one of the deployment's regions,
    or any kabupaten/kota of the national list (read with OKI's agency codes). ValueError says why not.
    """
    from classifiers.region import DEFAULT_REGION, NATIONAL_LIST, UnknownRegion, load_region_gazetteer

    config = ctx.config
    # Read with a default: callers that build a bare config namespace (scripts, tests) mean OKI.
    own = getattr(config, "region_code", DEFAULT_REGION)
    code = args.region or own
    if hasattr(config, "deployment_regions") and code in config.deployment_regions():
        region = config.deployment_regions()[code]
        if region.code == own and region.places is not None and not region.places.is_absolute():
            # The own region of a config validated without its path: its extract is beside the file.
            region = dataclasses.replace(region, places=ctx.config_path.parent / (config.region_places or ""))
        if region.places is None and code != DEFAULT_REGION:
            raise ValueError(f"region_code {code} butuh region_places (buat dengan oki-monitor init --region).")
        try:
            return region.gazetteer(), region.routing
        except (OSError, UnknownRegion) as exc:
            raise ValueError(f"Gazetir wilayah {code} tidak bisa dibuat dari {region.places}: {exc}") from None
    if code == DEFAULT_REGION:
        return None, config.routing
    try:
        return load_region_gazetteer(code, NATIONAL_LIST), config.routing
    except (OSError, UnknownRegion) as exc:
        raise ValueError(
            f"Wilayah {code} bukan wilayah config ini dan tidak bisa dibaca dari {NATIONAL_LIST}: {exc}"
        ) from None


def run(args: argparse.Namespace, ctx: Context) -> int:
    from monitor.commands import load_model

    config = ctx.config
    classifier = load_model(config, args.model)
    if classifier is None:
        return 2
    try:
        gazetteer, routing = _region_reading(args, ctx)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.input is not None and not args.input.exists():
        print(f"Berkas input tidak ditemukan: {args.input}", file=sys.stderr)
        return 2
    # One bad byte fails its line, not the whole run.
    stream: TextIO = args.input.open(encoding="utf-8", errors="surrogateescape") if args.input else sys.stdin
    if not args.input and hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
    bad = 0
    out = sys.stdout
    try:
        for batch in _batches(stream):
            texts = [text for _, _, text, _ in batch if text is not None]
            labels = iter(classifier.predict(texts, gazetteer))
            for _number, item_id, text, error in batch:
                if text is None:
                    bad += 1
                    print(error, file=sys.stderr)
                    out.write(json.dumps({"id": item_id, "error": error}, ensure_ascii=False) + "\n")
                    continue
                lab = next(labels)
                record = {
                    "id": item_id,
                    "relevant": lab.relevant,
                    "is_complaint": lab.is_complaint,
                    "topic": lab.topic,
                    "agency": routing.get(lab.topic),
                    "kecamatan": lab.kecamatan,
                    "confidence": lab.confidence,
                }
                if args.all_topics:
                    # Opt-in, so the contract's exact key set stays what other tools parse.
                    record["topics"] = list(lab.topics)
                    record["agencies"] = list(dict.fromkeys(a for t in lab.topics if (a := routing.get(t))))
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if args.input:
            stream.close()
    if bad:
        print(
            f"{bad} baris dilewati karena formatnya salah (lihat pesan di atas); baris lain tetap diproses.",
            file=sys.stderr,
        )
        return SKIPPED_LINES
    return 0
