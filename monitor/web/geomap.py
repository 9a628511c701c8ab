"""The map: OKI's kecamatan boundaries and desa points, and the outline of every kabupaten/kota of Sumatera
Selatan, as GeoJSON for the API and as SVG for the page.

Pure functions over the boundary data shipped in ``monitor/web/data/`` (MIT, see the README there):
no tiles, no JavaScript library, nothing fetched at run time. Names are matched the way the
classifier writes them (``Kayu Agung``), case and spaces aside, so ``Kayuagung`` finds its polygon.
Only OKI (:data:`KECAMATAN_REGION`) has kecamatan polygons; another regency of the province is drawn
as its outline (:func:`regency_area`), and a region outside it has no map yet.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

DATA = Path(__file__).resolve().parent / "data"
_V = TypeVar("_V")

Ring = tuple[tuple[float, float], ...]
"""One closed ring of ``(lng, lat)`` points."""

KECAMATAN_REGION = "16.02"
"""The region whose kecamatan polygons and desa points are shipped: Kabupaten Ogan Komering Ilir."""

SHADES: tuple[str, ...] = ("#f3f4f6", "#fde2c4", "#f9b271", "#ea7a2c", "#b64a08")
"""Fill per class, from 'no open issue' to 'the most': a single warm hue, readable when printed grey."""


@dataclass(frozen=True, slots=True)
class Area:
    """One kecamatan (or kabupaten/kota): its Kemendagri code, name, a label point inside it and its polygons."""

    kode: str
    nama: str
    lat: float
    lng: float
    polygons: tuple[tuple[Ring, ...], ...]
    """Polygons, each an outer ring followed by its holes (GeoJSON order)."""


@dataclass(frozen=True, slots=True)
class Point:
    """One desa/kelurahan: code, name, its kecamatan and a point inside it."""

    kode: str
    nama: str
    kecamatan: str
    lat: float
    lng: float


def place_key(name: str | None) -> str:
    """How two spellings of one place compare: lower case, letters and digits only."""
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


def _rings(coords: Any) -> tuple[Ring, ...]:
    return tuple(tuple((float(x), float(y)) for x, y in ring) for ring in coords)


def _read_areas(path: Path) -> tuple[Area, ...]:
    """The areas of one shipped GeoJSON (properties ``kode``, ``nama``, ``lat``, ``lng``), in code order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    areas = []
    for feature in data["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        polygons: tuple[tuple[Ring, ...], ...]
        if geometry["type"] == "Polygon":
            polygons = (_rings(geometry["coordinates"]),)
        else:
            polygons = tuple(_rings(p) for p in geometry["coordinates"])
        areas.append(Area(props["kode"], props["nama"], float(props["lat"]), float(props["lng"]), polygons))
    return tuple(sorted(areas, key=lambda a: a.kode))


@cache
def kecamatan_areas() -> tuple[Area, ...]:
    """The 18 kecamatan of OKI from the shipped GeoJSON, in code order."""
    return _read_areas(DATA / "oki_kecamatan.geojson")


@cache
def regency_areas() -> dict[str, Area]:
    """The 17 kabupaten/kota of Sumatera Selatan (codes ``16.*``) by code, from the shipped outlines."""
    return {a.kode: a for a in _read_areas(DATA / "sumsel_kabupaten_kota.geojson")}


def regency_area(code: str | None) -> Area | None:
    """The outline of kabupaten/kota ``code``, or None when none is shipped (a region outside Sumatera Selatan)."""
    return regency_areas().get(code or "")


@cache
def desa_points() -> tuple[Point, ...]:
    """The 327 desa/kelurahan of OKI as label points (derived from the boundary data)."""
    with (DATA / "oki_desa_points.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(
            Point(r["kode"], r["nama"], r["kecamatan"], float(r["lat"]), float(r["lng"])) for r in csv.DictReader(fh)
        )


def area_by_name(name: str | None) -> Area | None:
    """The kecamatan called ``name`` (any spacing or case), or None."""
    key = place_key(name)
    return next((a for a in kecamatan_areas() if place_key(a.nama) == key), None) if key else None


def desa_point(kecamatan: str | None, desa: str | None) -> Point | None:
    """The desa ``desa`` of kecamatan ``kecamatan``; desa names repeat across kecamatan, so both are needed."""
    kec, name = place_key(kecamatan), place_key(desa)
    if not kec or not name:
        return None
    return next((p for p in desa_points() if place_key(p.kecamatan) == kec and place_key(p.nama) == name), None)


# ---------------------------------------------------------------- GeoJSON


def _geometry(area: Area) -> dict[str, Any]:
    def ring(r: Ring) -> list[list[float]]:
        return [[x, y] for x, y in r]

    if len(area.polygons) == 1:
        return {"type": "Polygon", "coordinates": [ring(r) for r in area.polygons[0]]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in area.polygons]}


def kecamatan_features(counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """A FeatureCollection of the 18 kecamatan; ``counts[nama]`` becomes each feature's properties.

    Every kecamatan is present (zeros where nothing is open), so a client can draw the whole regency.
    """
    by_key = keyed(counts)
    features = []
    for area in kecamatan_areas():
        found = by_key.get(place_key(area.nama), {})
        props: dict[str, Any] = {"kode": area.kode, "nama": area.nama, "lat": area.lat, "lng": area.lng}
        props.update({"isu": 0, "unggahan": 0})
        props.update(found)
        features.append({"type": "Feature", "id": area.kode, "properties": props, "geometry": _geometry(area)})
    return {"type": "FeatureCollection", "features": features}


def regency_features(area: Area | None, counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """A FeatureCollection of one regency outline whose properties sum ``counts`` over its kecamatan
    (``level`` ``kabupaten_kota``); empty when there is no outline to draw."""
    if area is None:
        return {"type": "FeatureCollection", "features": []}
    props: dict[str, Any] = {"kode": area.kode, "nama": area.nama, "lat": area.lat, "lng": area.lng}
    props.update({"level": "kabupaten_kota", "isu": 0, "unggahan": 0})
    for values in counts.values():
        for key in ("isu", "unggahan"):
            props[key] += int(values.get(key, 0))
    feature = {"type": "Feature", "id": area.kode, "properties": props, "geometry": _geometry(area)}
    return {"type": "FeatureCollection", "features": [feature]}


def desa_features(counts: Mapping[tuple[str, str], Mapping[str, int]]) -> dict[str, Any]:
    """Point features for the desa that have something to show (``counts[(kecamatan, desa)]``).

    A desa name the boundary data does not know is left out: a pin in the wrong place is worse than none.
    """
    features = []
    for (kecamatan, desa), values in sorted(counts.items()):
        point = desa_point(kecamatan, desa)
        if point is None:
            continue
        props: dict[str, Any] = {"kode": point.kode, "nama": point.nama, "kecamatan": point.kecamatan}
        props.update(values)
        features.append(
            {
                "type": "Feature",
                "id": point.kode,
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [point.lng, point.lat]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def keyed(values: Mapping[str, _V]) -> dict[str, _V]:
    """``values`` keyed by :func:`place_key` of their place name, so any spelling finds its kecamatan."""
    return {place_key(name): v for name, v in values.items()}


# ---------------------------------------------------------------- SVG


@dataclass(frozen=True, slots=True)
class Frame:
    """A linear projection of longitude/latitude into an SVG box, north up, aspect kept."""

    west: float
    north: float
    scale_x: float
    scale_y: float
    width: int
    height: int

    def xy(self, lng: float, lat: float) -> tuple[float, float]:
        return (lng - self.west) * self.scale_x, (self.north - lat) * self.scale_y


def frame_for(areas: Sequence[Area], width: int = 640, pad: int = 8) -> Frame:
    """The projection that fits ``areas`` into ``width`` pixels (equirectangular, x shrunk by cos(latitude))."""
    xs = [x for a in areas for poly in a.polygons for ring in poly for x, _ in ring]
    ys = [y for a in areas for poly in a.polygons for ring in poly for _, y in ring]
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    shrink = math.cos(math.radians((north + south) / 2))
    scale = (width - 2 * pad) / ((east - west) * shrink)
    height = round((north - south) * scale + 2 * pad)
    return Frame(west - pad / (scale * shrink), north + pad / scale, scale * shrink, scale, width, height)


def shade_class(value: int, top: int) -> int:
    """The fill class of ``value`` on a scale whose top is ``top``: 0 for none, else 1..4 by quarters."""
    if value <= 0 or top <= 0:
        return 0
    return min(4, 1 + int(3 * (value - 1) / max(1, top - 1) + 0.5)) if top > 1 else 4


def _path(frame: Frame, polygons: tuple[tuple[Ring, ...], ...]) -> str:
    parts = []
    for poly in polygons:
        for ring in poly:
            pts = []
            last = None
            for lng, lat in ring:
                x, y = frame.xy(lng, lat)
                here = (round(x, 1), round(y, 1))
                if here != last:
                    pts.append(f"{here[0]:g},{here[1]:g}")
                    last = here
            parts.append("M" + "L".join(pts) + "Z")
    return "".join(parts)


def choropleth_svg(
    counts: Mapping[str, int],
    *,
    link: Mapping[str, str] | None = None,
    pins: Sequence[tuple[Point, int]] = (),
    label: str = "isu terbuka",
    width: int = 640,
    areas: Sequence[Area] | None = None,
    subject: str = "kecamatan OKI",
) -> str:
    """``areas`` (OKI's kecamatan by default) shaded by ``counts`` (name -> number), each a link to ``link[name]``
    when given; ``subject`` names the map for screen readers ("Peta kecamatan OKI: isu terbuka").

    Every text from data is XML-escaped: the result goes into pages with ``|safe``. ``pins`` are desa
    points drawn as circles sized by their number. The page shows the same numbers in a table,
    for screen readers and for reading exact values.
    """
    areas = kecamatan_areas() if areas is None else areas
    frame = frame_for(areas, width)
    top = max([0, *counts.values()])
    by_key = keyed(counts)
    shapes: list[str] = []
    names: list[str] = []
    for area in areas:
        n = by_key.get(place_key(area.nama), 0)
        title = escape(f"{area.nama}: {n} {label}")
        path = (
            f'<path class="area k{shade_class(n, top)}" fill="{SHADES[shade_class(n, top)]}" '
            f'd="{_path(frame, area.polygons)}"><title>{title}</title></path>'
        )
        href = (link or {}).get(area.nama)
        shapes.append(f'<a href="{escape(href)}" aria-label="{title}">{path}</a>' if href else path)
        x, y = frame.xy(area.lng, area.lat)
        text = escape(area.nama) + (f" ({n})" if n else "")
        names.append(f'<text x="{x:.1f}" y="{y:.1f}" class="area-label">{text}</text>')
    dots = []
    for point, n in pins:
        x, y = frame.xy(point.lng, point.lat)
        r = min(9.0, 3.0 + 1.5 * math.sqrt(max(n, 1)))
        title = escape(f"{point.nama}, {point.kecamatan}: {n} {label}")
        dots.append(f'<circle class="pin" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"><title>{title}</title></circle>')
    # With links inside, the map is a group of links (an "img" role would hide them from screen
    # readers and nest interactive controls in an image); without, it is one picture.
    role = "group" if link else "img"
    return (
        f'<svg class="map" viewBox="0 0 {frame.width} {frame.height}" role="{role}" '
        f'aria-label="Peta {escape(subject)}: {escape(label)}" preserveAspectRatio="xMidYMid meet">'
        + "".join(shapes)
        + "".join(dots)
        + '<g aria-hidden="true">'
        + "".join(names)
        + "</g></svg>"
    )


def legend(top: int) -> list[tuple[int, str]]:
    """(shade class, range text) per shade for a scale whose top is ``top``, for the legend under the map.

    Classes, not colours: the page's content policy forbids inline styles, so the swatches take
    their colour from the stylesheet (``.swatch.k0`` … ``.k4``, the same :data:`SHADES`).
    """
    out = [(0, "0")]
    seen: dict[int, list[int]] = {}
    for v in range(1, top + 1):
        seen.setdefault(shade_class(v, top), []).append(v)
    for cls in sorted(seen):
        lo, hi = seen[cls][0], seen[cls][-1]
        out.append((cls, str(lo) if lo == hi else f"{lo}–{hi}"))
    return out


def board_link(kecamatan: str, extra: Mapping[str, str] | None = None) -> str:
    """The board filtered to one kecamatan (and the map's other filters)."""
    params = {k: v for k, v in (extra or {}).items() if v}
    params["kecamatan"] = kecamatan
    return "/?" + urlencode(params)
