"""Any kabupaten/kota by its code: its gazetteer derived from the national region list.

OKI (``16.02``) keeps its hand-tuned gazetteer (:func:`classifiers.gazetteer.get_gazetteer`:
landmarks, accounts, namesake weights). Another regency's is built here, by a pure function,
from the rows of ``wilayah_id.csv`` (Kepmendagri 300.2.2-2138/2025, ``cahyadsn/wilayah``, MIT):

- its kecamatan (official name and spelling variants): OKI-style ``place`` evidence;
- its desa/kelurahan: ``weak`` evidence (village names repeat across the country), and a
  one-word or short name needs a cue ("desa Sukajadi");
- "Kabupaten/Kab/Pemkab <name>" (or "Kota/Pemkot"): ``strong``;
- the other regencies of its province and their kecamatan: look-alikes that point elsewhere
  (``neighbour``), minus every name the region itself uses.

The trained model's text features are about topics and complaints and transfer to any region;
its place features are OKI's, so under a derived gazetteer relevance comes from the place
evidence alone (:func:`region_relevance`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from classifiers.gazetteer import (
    _REGENCY_WORDS,
    Entry,
    Evidence,
    Gazetteer,
    _abbreviated,
    _split_variants,
)
from classifiers.normalise import normalise

DEFAULT_REGION = "16.02"
"""OKI: the default region, with the hand-tuned gazetteer."""
NATIONAL_LIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "wilayah_id" / "wilayah_id.csv"
"""The national list beside the checkout (``../shared``), as `data/make_namesakes.py` reads it."""


class UnknownRegion(ValueError):
    """A code that is not a kabupaten/kota of the national list."""


@dataclass(frozen=True, slots=True)
class WilayahRow:
    """One row of ``wilayah_id.csv``."""

    kode: str
    nama: str
    level: str
    kode_induk: str


def read_wilayah(path: Path) -> list[WilayahRow]:
    """Rows of a ``kode,nama,level,kode_induk`` file (the national list or a region's extract)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [WilayahRow(r["kode"], r["nama"], r["level"], r["kode_induk"]) for r in csv.DictReader(fh)]


def write_wilayah(rows: Iterable[WilayahRow], path: Path) -> None:
    """Write rows in the national list's format."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["kode", "nama", "level", "kode_induk"])
        out.writerows((r.kode, r.nama, r.level, r.kode_induk) for r in rows)


def regency(rows: Sequence[WilayahRow], code: str) -> WilayahRow:
    """The kabupaten/kota row of `code`, or :class:`UnknownRegion` with a message in both languages."""
    for row in rows:
        if row.kode == code and row.level == "kabupaten_kota":
            return row
    raise UnknownRegion(
        f"Kode wilayah {code!r} bukan kabupaten/kota dalam daftar Kemendagri (contoh: 16.01, 16.02) / "
        f"region code {code!r} is not a regency or city of the national list (e.g. 16.01, 16.02)"
    )


def region_extract(rows: Sequence[WilayahRow], code: str) -> list[WilayahRow]:
    """The rows a region's gazetteer needs: the regency, its kecamatan and desa, and the other
    regencies of its province with their kecamatan (its look-alikes). Pure; keeps input order."""
    own = regency(rows, code)
    province = own.kode_induk
    prefix = code + "."
    out: list[WilayahRow] = []
    for row in rows:
        own_row = row.kode == code or row.kode.startswith(prefix)
        neighbour = row.level == "kabupaten_kota" and row.kode_induk == province
        neighbours_kecamatan = row.level == "kecamatan" and row.kode_induk.split(".")[0] == province
        if own_row or neighbour or neighbours_kecamatan:
            out.append(row)
    return out


def _bare_name(name: str) -> str:
    """ "Kabupaten Ogan Komering Ulu" -> "Ogan Komering Ulu"; "Kota Palembang" -> "Palembang"."""
    for word in ("Kabupaten ", "Kota "):
        if name.startswith(word):
            return name[len(word) :]
    return name


def build_region_gazetteer(rows: Sequence[WilayahRow], code: str) -> Gazetteer:
    """The gazetteer of regency `code` from national-list rows (all of them or its extract). Pure."""
    own = regency(rows, code)
    prefix = code + "."
    kecamatan = {r.kode: r.nama for r in rows if r.level == "kecamatan" and r.kode_induk == code}
    desa = [r for r in rows if r.level == "desa_kelurahan" and r.kode.startswith(prefix)]
    gaz = Gazetteer(kecamatan_order=region_kecamatan(rows, code))
    for name in kecamatan.values():
        entry = Entry("kecamatan", "place", kecamatan=name)
        for variant in sorted(_split_variants(name)):
            gaz.add(variant, entry, fuzzy=True)
            for short in _abbreviated(normalise(variant)):
                gaz.add(short, entry)
    # How many kecamatan of the region have a desa of that name: such a name does not choose one.
    for row in desa:
        key = normalise(row.nama)
        if not key or any(e.kind == "kecamatan" for e in gaz.index.get(tuple(key.split()), [])):
            continue  # a desa named like its kecamatan: the kecamatan entry covers it
        entry = Entry(
            "desa",
            "weak",
            kecamatan=kecamatan.get(row.kode_induk),
            desa=row.nama,
            needs_cue=" " not in key or len(key) < 6,
        )
        for variant in sorted(_split_variants(row.nama)):
            gaz.add(variant, entry, fuzzy=" " in key)
    bare = _bare_name(own.nama)
    own_words = ("kota", "pemkot") if own.nama.startswith("Kota ") else ("kabupaten", "kab", "pemkab", "pemda")
    for word in own_words:
        gaz.add(f"{word} {bare}", Entry("oki", "strong"))
    gaz.add(bare, Entry("oki", "strong"))
    own_names = {" ".join(k) for k in gaz.index}
    for row in rows:
        if row.kode == code or row.kode.startswith(prefix) or row.kode.split(".")[0] != own.kode_induk:
            continue  # its own names, and regions beyond its province
        away = Entry("neighbour", "neighbour", kode=row.kode)
        if row.level == "kabupaten_kota":
            other = _bare_name(row.nama)
            phrases = [other, *(f"{w} {other}" for w in _REGENCY_WORDS)]
        elif row.level == "kecamatan":
            phrases = [row.nama]
        else:
            continue
        for phrase in phrases:
            key = normalise(phrase)
            if key and key not in own_names and tuple(key.split()) not in gaz.index:
                gaz.add(phrase, away)
    gaz.compile()
    return gaz


def region_relevance(ev: Evidence) -> float:
    """Relevance score of a post under a derived gazetteer, from its place evidence alone.

    The model learnt OKI's places (it scores "Baturaja" as elsewhere), so it cannot judge where a
    post happens for another region: a strong name or a kecamatan of the region with nothing
    pointing elsewhere is relevant, as is a desa name of several words or after a cue; a name
    elsewhere without a stronger own name, or no evidence at all, is not. A bare "OKI" is not the
    region's evidence.
    """
    negative = ev.confuser or ev.neighbour
    if ev.strong and not ev.confuser:
        return 0.9
    if ev.place and not negative:
        return 0.8
    if ev.weak and not negative:
        return 0.6
    return 0.1


def load_region_gazetteer(code: str, places: Path) -> Gazetteer:
    """The gazetteer of `code` built from a region extract file (I/O at the edge of the builder)."""
    return build_region_gazetteer(read_wilayah(places), code)


@cache
def cached_region_gazetteer(code: str, places: Path) -> Gazetteer:
    """:func:`load_region_gazetteer`, built once per (region, file) and kept for the process.

    A deployment reads every region's posts on each pass; one region's gazetteer takes a second
    or so to build and some megabytes to keep (``bench/regions.py`` measures both for a province).
    """
    return load_region_gazetteer(code, places)


def region_kecamatan(rows: Sequence[WilayahRow], code: str) -> tuple[str, ...]:
    """The kecamatan of regency `code` in the order its gazetteer ranks them (``kecamatan_order``). Pure."""
    return tuple(sorted({r.kode: r.nama for r in rows if r.level == "kecamatan" and r.kode_induk == code}.values()))


@cache
def cached_region_kecamatan(code: str, places: Path) -> tuple[str, ...]:
    """A region's kecamatan from its extract file, kept for the process, without building its gazetteer (the
    dashboard's filters of a province list every regency's: reading 17 names files is milliseconds, building
    17 gazetteers about a second and their memory)."""
    return region_kecamatan(read_wilayah(places), code)


def gazetteer_of(code: str, places: Path | None) -> Gazetteer | None:
    """The gazetteer a region's posts are read with: None means OKI's hand-tuned one (the default)."""
    if places is None:
        if code != DEFAULT_REGION:
            raise UnknownRegion(f"region {code} has no extract of the national list (region_places)")
        return None
    return cached_region_gazetteer(code, places.resolve())
