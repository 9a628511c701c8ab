"""How to name an OKI place in a message: "Desa X" or "Kelurahan X" (from its Kemendagri code), and its kecamatan.

The region file (``data/oki_wilayah.csv``, Kemendagri codes; licence in ``data/LICENSE.wilayah``)
codes villages as ``16.02.KK.NNNN``: a fourth segment starting with 1 is a kelurahan (urban,
run by the regency), with 2 a desa (village government). Messages must not call a kelurahan
a desa, nor invent a kecamatan: a place is named only as far as the data supports it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from classifiers.gazetteer import WILAYAH_OKI
from classifiers.normalise import normalise


@dataclass(frozen=True)
class Village:
    name: str
    kind: str
    """'desa' or 'kelurahan'."""
    kecamatan: str


@lru_cache(maxsize=1)
def _villages() -> dict[str, list[Village]]:
    by_name: dict[str, list[Village]] = {}
    with WILAYAH_OKI.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["level"] != "desa_kelurahan":
                continue
            segment = row["kode"].rsplit(".", 1)[-1]
            kind = "kelurahan" if segment.startswith("1") else "desa" if segment.startswith("2") else row["jenis"]
            village = Village(row["nama"], kind or "desa", row["nama_kecamatan"])
            by_name.setdefault(normalise(row["nama"]), []).append(village)
    return by_name


def village(desa: str | None, kecamatan: str | None = None) -> Village | None:
    """The OKI desa/kelurahan called ``desa`` (in ``kecamatan`` when given); None when unknown or ambiguous."""
    if not desa:
        return None
    found = _villages().get(normalise(desa), [])
    if kecamatan:
        found = [v for v in found if normalise(v.kecamatan) == normalise(kecamatan)]
    return found[0] if len(found) == 1 else None


def place_parts(kecamatan: str | None, desa: str | None) -> tuple[str | None, str | None]:
    """``("Kelurahan Kedaton", "Kayu Agung")``: the village as it should be called, and the kecamatan.

    A desa the region file does not know keeps its bare name (no "Desa"/"Kelurahan" is claimed);
    a missing kecamatan is taken from the village when the name is unique in OKI.
    """
    known = village(desa, kecamatan) or (village(desa) if not kecamatan else None)
    kec = kecamatan or (known.kecamatan if known else None)
    if not desa:
        return None, kec
    if known is None:
        return desa, kec
    return f"{known.kind.capitalize()} {known.name}", kec


def place_phrase(kecamatan: str | None, desa: str | None, *, short: bool = False) -> str | None:
    """ "Desa Bangsal, Kecamatan Pampangan" (or "..., Kec. Pampangan" when ``short``); None when nothing is known."""
    village_name, kec = place_parts(kecamatan, desa)
    kec_text = (f"Kec. {kec}" if short else f"Kecamatan {kec}") if kec else None
    parts = [p for p in (village_name, kec_text) if p]
    return ", ".join(parts) or None
