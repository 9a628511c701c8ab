"""`oki-monitor init [--output FILE] [--force]`: write a starter config.yaml to edit.

The starter is the packaged OKI default with its comments (agencies with placeholder contacts,
routing for every topic, the sources, thresholds and schedules), so a fresh install has a file
that loads as it is and says what to replace. ``--region CODE`` writes another kabupaten/kota's
starter instead (:func:`region_config`): the same agencies and routing with that region's names and
placeholder contacts (Telegram chats of its own, :func:`region_chat`), Google News queries for its
name and kecamatan, and beside the config its extract of the national region list, from which
`classify` builds its gazetteer.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from classifiers.region import (
    DEFAULT_REGION,
    NATIONAL_LIST,
    UnknownRegion,
    WilayahRow,
    read_wilayah,
    regency,
    region_extract,
    write_wilayah,
)
from monitor import __version__
from monitor.kernel.config import DEFAULT_CONFIG, REGION_KEYS, packaged_config_text, read_yaml_text
from monitor.store.context import Context

NAME = "init"
HELP = "tulis config.yaml awal (bawaan OKI, berkomentar) untuk disesuaikan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_CONFIG, help="berkas yang ditulis (bawaan: ./config.yaml)"
    )
    parser.add_argument("--force", action="store_true", help="timpa berkas yang sudah ada")
    parser.add_argument(
        "--region", default=DEFAULT_REGION, help="kode kabupaten/kota Kemendagri (bawaan: 16.02, OKI; mis. 16.01 OKU)"
    )
    parser.add_argument(
        "--province",
        help="kode provinsi (mis. 16, Sumatera Selatan): tulis satu deployment untuk semua kabupaten/kotanya; "
        "--output lalu sebuah folder (config.yaml dan regions/KODE.yaml)",
    )
    parser.add_argument(
        "--wilayah",
        type=Path,
        default=NATIONAL_LIST,
        help="daftar wilayah nasional (bawaan: ../shared/data/wilayah_id/)",
    )


def starter_config() -> str:
    """The starter config.yaml: the packaged OKI default under one line saying where it came from."""
    return f"# Written by `oki-monitor init` ({__version__}) from the packaged default.\n" + packaged_config_text()


# Sources whose feeds cover all of Sumatera Selatan: kept for a regency of that province.
_PROVINCE_FEEDS = {"16": ("antara-sumsel", "tribun-sumsel", "detik-sumbagsel", "sumeks")}
_QUERY_CHARS = 100
"""Longest Google News query written (several quoted kecamatan names ORed)."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


_PLACEHOLDER_CHAT = re.compile(r"-100\d{4}(\d{6})")
"""The packaged default's placeholder Telegram chats: ``-100`` then ``100000`` and the agency's number."""


def region_chat(chat: str, code: str, number: int) -> str:
    """Placeholder chat ``chat`` of agency ``number`` made region ``code``'s: ``-100`` + the code's digits + six.

    Every region file gets chats no other region has (16.01's PUPR ``-1001601000002``, OKI's stays
    ``-1001000000002``): a placeholder left in by copy-paste fails to send, or reaches a chat of the
    right region once an operator replaces it, and never delivers one regency's alert to another's group.
    """
    match = _PLACEHOLDER_CHAT.fullmatch(chat)
    return f"-100{code.replace('.', '')}{match.group(1) if match else f'{number:06d}'}"


def region_config(base: dict[str, Any], rows: list[WilayahRow], code: str, places: str) -> dict[str, Any]:
    """The starter config of regency `code` from the OKI default `base` (parsed YAML). Pure.

    OKI's hand-tuned sources (its accounts, pages, hashtags, local portals) are dropped; the
    province's news feeds stay, and Google News searches the region's name and kecamatan.
    """
    own = regency(rows, code)
    bare = own.nama.split(" ", 1)[1] if own.nama.startswith(("Kabupaten ", "Kota ")) else own.nama
    slug = _slug(bare)
    # The region's keys first, where an operator reading the file looks.
    cfg: dict[str, Any] = {"region": own.nama, "region_code": code, "region_places": places}
    cfg.update((k, v) for k, v in base.items() if k not in cfg)
    agencies = []
    for number, agency in enumerate(base["agencies"], 1):
        a = dict(agency)
        a["name"] = {"pdam": f"PDAM {bare}", "pln": "PLN (via Bagian Perekonomian)"}.get(
            a["code"], str(a["name"]).replace("OKI", bare)
        )
        a["emails"] = [e.replace("okikab.example", f"{slug}.example") for e in a.get("emails", [])]
        a["telegram_chat_ids"] = [region_chat(c, code, number) for c in a.get("telegram_chat_ids", [])]
        agencies.append(a)
    cfg["agencies"] = agencies
    names = [f'"{r.nama}"' for r in rows if r.level == "kecamatan" and r.kode_induk == code]
    queries = [f'"{own.nama}"', f'"{bare}"']
    chunk: list[str] = []
    for name in names:
        if chunk and len(" OR ".join([*chunk, name])) > _QUERY_CHARS:
            queries.append(" OR ".join(chunk))
            chunk = []
        chunk.append(name)
    if chunk:
        queries.append(" OR ".join(chunk))
    feeds = _PROVINCE_FEEDS.get(own.kode_induk, ())
    sources: list[dict[str, Any]] = [s for s in base["sources"] if s["name"] in feeds]
    sources.append(
        {"name": f"googlenews-{slug}", "kind": "googlenews", "interval_seconds": 900, "settings": {"queries": queries}}
    )
    sources.extend(s for s in base["sources"] if s["kind"] == "laporan")
    cfg["sources"] = sources
    return cfg


def region_keys(cfg: dict[str, Any]) -> dict[str, Any]:
    """Only what a region file of a deployment brings (:data:`monitor.kernel.config.REGION_KEYS`)."""
    return {k: cfg[k] for k in REGION_KEYS if k in cfg}


def province_files(
    base: dict[str, Any], rows: list[WilayahRow], province: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, list[WilayahRow]]]:
    """A province deployment from the OKI default `base`: (main config, region file per code, extract per code). Pure.

    The main config keeps the deployment-wide settings and lists ``regions/CODE.yaml`` for every
    kabupaten/kota; its own region is OKI (16.02, hand-tuned) in Sumatera Selatan, else the first
    regency. A source name is written once: the province's news feeds and the report inbox stay
    with the own region, whose posts they become.
    """
    codes = [r.kode for r in rows if r.level == "kabupaten_kota" and r.kode_induk == province]
    if not codes:
        raise UnknownRegion(
            f"Kode provinsi {province!r} tidak ada dalam daftar Kemendagri (contoh: 16 Sumatera Selatan) / "
            f"province code {province!r} is not in the national list (e.g. 16)"
        )
    own = DEFAULT_REGION if DEFAULT_REGION in codes else codes[0]
    codes = [own, *(c for c in codes if c != own)]
    regions: dict[str, dict[str, Any]] = {}
    extracts: dict[str, list[WilayahRow]] = {}
    used: set[str] = set()
    for code in codes:
        if code == DEFAULT_REGION:
            cfg = region_keys({**base, "region_code": code})
        else:
            extracts[code] = region_extract(rows, code)
            cfg = region_keys(region_config(base, extracts[code], code, f"{code}.wilayah.csv"))
        cfg["sources"] = [s for s in cfg.get("sources", []) if s["name"] not in used]
        used.update(s["name"] for s in cfg["sources"])
        regions[code] = cfg
    main = {"region_code": own, "regions": [f"regions/{code}.yaml" for code in codes]}
    main.update((k, v) for k, v in base.items() if k not in REGION_KEYS)
    return main, regions, extracts


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # never a half-written config, even when replacing one with --force


def _dump(cfg: dict[str, Any]) -> str:
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=120)


def _wilayah_rows(path: Path) -> list[WilayahRow] | None:
    """The rows of the Kemendagri list at ``path``; None (the reason told on stderr) when it cannot be read."""
    try:
        return read_wilayah(path)
    except OSError as exc:
        print(f"Daftar wilayah tidak bisa dibaca ({path}): {exc}", file=sys.stderr)
        return None


def run_province(args: argparse.Namespace) -> int:
    """`init --province CODE --output DIR`: DIR/config.yaml and DIR/regions/<code>.yaml per kabupaten/kota."""
    folder: Path = args.output if args.output != DEFAULT_CONFIG else Path(f"provinsi-{args.province}")
    main_file = folder / "config.yaml"
    if folder.exists() and not folder.is_dir():
        print(f"{folder} bukan folder; --province menulis config.yaml dan regions/ ke sebuah folder.", file=sys.stderr)
        return 2
    if main_file.exists() and not args.force:
        print(
            f"{main_file} sudah ada; tidak ditimpa (--force untuk menimpa, atau --output FOLDER lain).", file=sys.stderr
        )
        return 2
    rows = _wilayah_rows(args.wilayah)
    if rows is None:
        return 2
    try:
        main, regions, extracts = province_files(read_yaml_text(packaged_config_text()), rows, args.province)
    except UnknownRegion as exc:
        print(str(exc), file=sys.stderr)
        return 2
    province = next(r.nama for r in rows if r.kode == args.province)
    (folder / "regions").mkdir(parents=True, exist_ok=True)
    for code, cfg in regions.items():
        if code in extracts:
            write_wilayah(extracts[code], folder / "regions" / f"{code}.wilayah.csv")
        _write(
            folder / "regions" / f"{code}.yaml",
            f"# {cfg['region']}: region of the {province} deployment, written by `oki-monitor init --province "
            f"{args.province}` ({__version__}).\n# Deployment-wide settings (database, alerts, schedules) are in "
            "../config.yaml. Contacts are placeholders (*.example).\n" + _dump(cfg),
        )
    _write(
        main_file,
        f"# Written by `oki-monitor init --province {args.province}` ({__version__}): one deployment for the "
        f"{len(regions)} kabupaten/kota of {province}.\n# Each region (agencies, routing, sources, places) is a file "
        "under regions/; this file holds the deployment-wide settings.\n" + _dump(main),
    )
    print(f"Deployment {province} ditulis ke {folder}: config.yaml dan {len(regions)} berkas wilayah di regions/.")
    print("Ganti kontak OPD (alamat *.example, chat Telegram) sebelum dipakai; rahasia lewat variabel lingkungan.")
    print(
        f"Langkah berikutnya: oki-monitor --config {main_file} db upgrade, lalu oki-monitor --config {main_file} run."
    )
    return 0


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.province:
        return run_province(args)
    out: Path = args.output
    if out.exists() and not args.force:
        print(f"{out} sudah ada; tidak ditimpa (--force untuk menimpa, atau --output BERKAS lain).", file=sys.stderr)
        return 2
    text = starter_config()
    extract: list[WilayahRow] = []
    places = out.with_name(f"{out.stem}.wilayah.csv")
    if args.region != DEFAULT_REGION:
        rows = _wilayah_rows(args.wilayah)
        if rows is None:
            return 2
        try:
            extract = region_extract(rows, args.region)
            cfg = region_config(read_yaml_text(packaged_config_text()), extract, args.region, places.name)
        except UnknownRegion as exc:
            print(str(exc), file=sys.stderr)
            return 2
        text = (
            f"# Written by `oki-monitor init --region {args.region}` ({__version__}) for {cfg['region']}.\n"
            f"# Its gazetteer is built from {places.name} (Kepmendagri 300.2.2-2138/2025, cahyadsn/wilayah, MIT).\n"
            "# Contacts are placeholders (*.example): replace them before going live.\n"
            + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=120)
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    if extract:
        write_wilayah(extract, places)
    _write(out, text)
    print(f"Konfigurasi awal ditulis ke {out}.")
    print("Ganti kontak OPD (alamat *.example, chat Telegram) sebelum dipakai; rahasia lewat variabel lingkungan.")
    flag = "" if out == DEFAULT_CONFIG else f" --config {out}"
    print(f"Langkah berikutnya: oki-monitor{flag} db upgrade, lalu oki-monitor{flag} demo atau run.")
    return 0
