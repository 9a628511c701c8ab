"""`oki-monitor read-image FILE`: print the text the report intake would store for a photo or screenshot."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from collectors.ocr import ImageRefused, OcrLimits, OcrUnavailable, read_image
from monitor.kernel.config import ConfigError
from monitor.store.context import Context

NAME = "read-image"
HELP = "baca teks foto/tangkapan layar dengan OCR (Tesseract, bahasa Indonesia), seperti yang disimpan laporan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="berkas gambar (PNG, JPEG, WEBP ...)")
    parser.add_argument("--lang", default=None, help="bahasa Tesseract (bawaan: seperti sumber laporan, 'ind')")


def run(args: argparse.Namespace, ctx: Context) -> int:
    limits = OcrLimits()
    try:
        # The same bounds as the intake, when a laporan source is configured; the command must also
        # work without a config (an operator checking a file on a workstation).
        from collectors.laporan import Settings, laporan_source

        src = laporan_source(ctx.config)
        if src is not None:
            limits = Settings.model_validate(src.settings).ocr_limits()
    except (ConfigError, OSError, ValueError):
        pass
    if args.lang:
        limits = replace(limits, lang=args.lang)
    try:
        size = args.file.stat().st_size
        # A file over the bound is refused without being read into memory.
        data = args.file.read_bytes() if size <= limits.max_bytes else None
    except OSError as exc:
        print(f"Berkas tidak bisa dibaca: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        if data is None:
            raise ImageRefused(f"berkas gambar {size:,} byte terlalu besar (maks {limits.max_bytes:,} byte)")
        result = read_image(data, limits)
    except ImageRefused as exc:
        print(f"Gambar ditolak: {exc}", file=sys.stderr)
        return 2
    except OcrUnavailable as exc:
        print(f"OCR tidak tersedia: {exc}", file=sys.stderr)
        return 3
    if not result.text:
        print("(tidak ada teks terbaca)", file=sys.stderr)
        return 1
    print(result.text)
    return 0
