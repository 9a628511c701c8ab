"""`oki-monitor init [--output FILE] [--force]`: write a starter config.yaml to edit.

The starter is the packaged OKI default with its comments (agencies with placeholder contacts,
routing for every topic, the sources, thresholds and schedules), so a fresh install has a file
that loads as it is and says what to replace. Another region's starter (``--region``) would be one
more argument choosing what :func:`starter_config` returns.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from monitor import __version__
from monitor.kernel.config import DEFAULT_CONFIG, packaged_config_text
from monitor.store.context import Context

NAME = "init"
HELP = "tulis config.yaml awal (bawaan OKI, berkomentar) untuk disesuaikan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_CONFIG, help="berkas yang ditulis (bawaan: ./config.yaml)"
    )
    parser.add_argument("--force", action="store_true", help="timpa berkas yang sudah ada")


def starter_config() -> str:
    """The starter config.yaml: the packaged OKI default under one line saying where it came from."""
    return f"# Written by `oki-monitor init` ({__version__}) from the packaged default.\n" + packaged_config_text()


def run(args: argparse.Namespace, ctx: Context) -> int:
    out: Path = args.output
    if out.exists() and not args.force:
        print(f"{out} sudah ada; tidak ditimpa (--force untuk menimpa, atau --output BERKAS lain).", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.write_text(starter_config(), encoding="utf-8")
    tmp.replace(out)  # never a half-written config, even when replacing one with --force
    print(f"Konfigurasi awal ditulis ke {out}.")
    print("Ganti kontak OPD (alamat *.example, chat Telegram) sebelum dipakai; rahasia lewat variabel lingkungan.")
    flag = "" if out == DEFAULT_CONFIG else f" --config {out}"
    print(f"Langkah berikutnya: oki-monitor{flag} db upgrade, lalu oki-monitor{flag} demo atau run.")
    return 0
