"""Derive the place-ambiguity tables shipped in classifiers/data from the national region list.

Input: ``../shared/data/wilayah_id/wilayah_id.csv`` (every provinsi, kabupaten/kota, kecamatan
and desa/kelurahan of Indonesia, Kepmendagri 300.2.2-2138/2025, ``cahyadsn/wilayah``, MIT).
Outputs (the product reads only these, never ../shared):

- ``namesakes.csv``: for every OKI place name the gazetteer matches (the 18 kecamatan, every
  desa/kelurahan, and their spelling variants), how many regions *outside* OKI share the name,
  by level, how many of those lie in a neighbouring regency, and their codes (all of them up to
  four, else the first three);
- ``elsewhere_places.csv``: names that point away from OKI: the kecamatan and regency names of
  the neighbouring regencies, every other regency/city and province of Indonesia, and the
  kecamatan and regency around each namesake of an OKI kecamatan name that has at most four
  (scope ``namesake``: "Pedamaran, Rokan Hilir" is the Riau village), minus any name OKI itself
  uses.

Names are compared as normalised words with spaces removed ("Kayu Agung" = "Kayuagung"), and a
regency's "Kabupaten"/"Kota" prefix is dropped. Deterministic; run from the repository root:

    python classifiers/data/make_namesakes.py [--source PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from classifiers.gazetteer import KECAMATAN, KECAMATAN_ALIASES, _split_variants  # noqa: E402
from classifiers.normalise import normalise  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "wilayah_id" / "wilayah_id.csv"
OUT_DIR = Path(__file__).resolve().parent
OKI = "16.02"
NEIGHBOUR_REGENCIES: dict[str, str] = {
    "16.10": "Ogan Ilir",
    "16.01": "Ogan Komering Ulu",
    "16.08": "OKU Timur",
    "16.09": "OKU Selatan",
    "16.07": "Banyuasin",
    "16.03": "Muara Enim",
    "16.12": "PALI",
    "16.71": "Palembang",
    "18.11": "Mesuji (Lampung)",
    "18.05": "Tulang Bawang",
}
"""Regencies that border OKI or whose people share its roads and news (Jambi and Bangka are
across water or another regency, too far for their kecamatan to be confused with OKI's)."""
OWN_PROVINCE = "16"
DISTINCT_MAX = 3
"""A neighbour's kecamatan name counts against OKI only if at most this many other regions in
Indonesia carry it (its own villages, often the seat of the same name, aside): "Simpang",
"Belimbing" or "Betung" are ordinary words that name many places, and saying them does not
place a post elsewhere."""
LEVELS = ("provinsi", "kabupaten_kota", "kecamatan", "desa_kelurahan")
FEW = 4
"""Up to this many namesakes, all their codes are listed (else the first three)."""


def key(name: str, level: str = "") -> str:
    """The comparison key of a region name: normalised words, spaces removed, no regency prefix."""
    text = normalise(name.replace("-", " ").replace(".", " "))
    if level == "kabupaten_kota":
        for prefix in ("kabupaten ", "kota "):
            if text.startswith(prefix):
                text = text[len(prefix) :]
    return text.replace(" ", "")


def spoken(name: str, level: str = "") -> str:
    """How the name is written in a post (normalised, with spaces, regency prefix dropped)."""
    text = normalise(name.replace("-", " "))
    if level == "kabupaten_kota":
        for prefix in ("kabupaten ", "kota "):
            if text.startswith(prefix):
                return text[len(prefix) :]
    if level == "provinsi":
        for prefix in ("daerah khusus ibukota ", "daerah istimewa ", "kepulauan "):
            if text.startswith(prefix):
                return text[len(prefix) :]
    return text


def _distinct(regions: list[dict[str, str]], code: str, said: str) -> bool:
    """Few other regions carry the name (its own villages aside) and it is not an ordinary word."""
    others = [r for r in regions if r["kode"] != code and not r["kode"].startswith(code + ".")]
    return len(others) <= DISTINCT_MAX and not _derived_noun(said)


def _derived_noun(name: str) -> bool:
    """A one-word name shaped like an Indonesian derived noun ("peninjauan" = inspection).

    Such a word in a post is far more often the word than the place; the well-known towns of
    that shape (Pemulutan) are in the gazetteer's hand list of neighbour towns.
    """
    return " " not in name and (
        (name.startswith(("pe", "per")) and name.endswith("an")) or (name.startswith("ke") and name.endswith("an"))
    )


def read_regions(source: Path) -> list[dict[str, str]]:
    with source.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def oki_names(regions: list[dict[str, str]]) -> dict[str, str]:
    """Every name the gazetteer matches for an OKI kecamatan or desa -> that place's level.

    A desa spelled like a kecamatan is the kecamatan's name (the gazetteer does the same).
    """
    out: dict[str, str] = {}
    for row in regions:
        if row["level"] == "desa_kelurahan" and row["kode"].startswith(OKI + "."):
            for variant in _split_variants(row["nama"]):
                out.setdefault(normalise(variant), "desa_kelurahan")
    for kec in KECAMATAN:
        for variant in {*_split_variants(kec), *KECAMATAN_ALIASES.get(kec, ())}:
            out[normalise(variant)] = "kecamatan"
    return out


def build(regions: list[dict[str, str]]) -> tuple[str, str]:
    """(namesakes.csv text, elsewhere_places.csv text) from the national region rows."""
    by_key: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in regions:
        by_key[key(row["nama"], row["level"])].append(row)
    names = oki_names(regions)

    namesakes = io.StringIO()
    writer = csv.writer(namesakes, lineterminator="\n")
    writer.writerow(["name", "oki_level", *LEVELS, "neighbour", "codes"])
    by_code = {row["kode"]: row for row in regions}
    # The kecamatan and regency around each namesake of a rarely shared OKI kecamatan name: a
    # post that names them means the namesake ("Pedamaran, Rokan Hilir" is the Riau village).
    around: dict[str, tuple[str, str]] = {}
    for name in sorted(names):
        counts = dict.fromkeys(LEVELS, 0)
        neighbour = 0
        examples: list[str] = []
        for row in by_key.get(name.replace(" ", ""), []):
            if row["kode"] == OKI or row["kode"].startswith(OKI + "."):
                continue
            counts[row["level"]] += 1
            neighbour += row["kode"][:5] in NEIGHBOUR_REGENCIES
            examples.append(row["kode"])
        few = len(examples) <= FEW
        writer.writerow(
            [
                name,
                names[name],
                *(counts[level] for level in LEVELS),
                neighbour,
                " ".join(examples[: FEW if few else 3]),
            ]
        )
        if few and names[name] == "kecamatan":
            for code in examples:
                parts = code.split(".")
                for depth in (2, 3):
                    if len(parts) > depth:
                        up = by_code[".".join(parts[:depth])]
                        around.setdefault(spoken(up["nama"], up["level"]), (up["level"], up["kode"]))

    taken = {name.replace(" ", "") for name in names} | {
        key(row["nama"], row["level"]) for row in regions if row["kode"] == OKI or row["kode"].startswith(OKI + ".")
    }
    elsewhere: dict[str, tuple[str, str, str, str]] = {}
    for row in regions:
        level, code = row["level"], row["kode"]
        said = spoken(row["nama"], level)
        k = key(row["nama"], level)
        if level == "provinsi":
            if code != OWN_PROVINCE:
                for form in (said, normalise(row["nama"])):
                    elsewhere.setdefault(form, (level, code, "province", "bare"))
            continue
        if k in taken or not said or said in elsewhere:
            continue
        if level == "kabupaten_kota":
            if code in NEIGHBOUR_REGENCIES:
                elsewhere[said] = (level, code, "neighbour", "bare")
            else:
                # Regency names elsewhere are often ordinary words or phrases (Batu, Malang,
                # Palu, Metro, Batu Bara): bare only in OKI's own province, else only after
                # "kabupaten"/"kab"/"kota" (the gazetteer adds those forms).
                bare = code.startswith(OWN_PROVINCE + ".")
                elsewhere[said] = (level, code, "regency", "bare" if bare else "prefixed")
        elif level == "kecamatan" and code[:5] in NEIGHBOUR_REGENCIES and _distinct(by_key[k], code, said):
            elsewhere[said] = (level, code, "neighbour", "bare")
    for said, (level, code) in sorted(around.items()):
        k = key(said)
        known = elsewhere.get(said)
        if k in taken or (known and known[3] == "bare") or not _distinct(by_key[k], code, said):
            continue
        elsewhere[said] = (level, code, "namesake", "bare")  # bare even if a regency far away
    places = io.StringIO()
    writer = csv.writer(places, lineterminator="\n")
    writer.writerow(["name", "level", "kode", "scope", "form"])
    for said in sorted(elsewhere):
        writer.writerow([said, *elsewhere[said]])
    return namesakes.getvalue(), places.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    namesakes, places = build(read_regions(args.source))
    (args.out / "namesakes.csv").write_text(namesakes, encoding="utf-8")
    (args.out / "elsewhere_places.csv").write_text(places, encoding="utf-8")


if __name__ == "__main__":
    main()
