"""Regions of one deployment: the default region and the Bahasa names shown for region codes.

Rows that belong to a kabupaten/kota (sources, posts, issues, alerts, agencies, trend
aggregates) carry its Kemendagri code (``region_code``, e.g. "16.02"); a user's NULL region
means every region. The one definition of the default is :data:`classifiers.region.DEFAULT_REGION`
(the gazetteers below the kernel need it too); it is re-exported here for the monitor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from classifiers.region import DEFAULT_REGION, NATIONAL_LIST

if TYPE_CHECKING:  # the tables import this module for the default: they need not load the config code
    from monitor.kernel.config import AppConfig

__all__ = ["ALL_REGIONS_LABEL", "DEFAULT_REGION", "national_names", "region_label", "region_names", "region_names_of"]

ALL_REGIONS_LABEL = "Semua wilayah"
"""What a NULL user region (every region) is called in the dashboard and the CLI."""


@lru_cache(maxsize=4)
def national_names(path: Path = NATIONAL_LIST) -> dict[str, str]:
    """Kabupaten/kota code → official name from the national list; empty when the list is not there.

    Read once per process and only the regency rows kept (the file has ~90,000 rows, mostly desa).
    """
    names: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            next(fh, None)
            for line in fh:
                # kode,nama,level,kode_induk; names hold no comma at the kabupaten_kota level.
                parts = line.rstrip("\n").split(",")
                if len(parts) == 4 and parts[2] == "kabupaten_kota":
                    names[parts[0]] = parts[1]
    except OSError:
        return {}
    return names


def seen_region(role: str, region_code: str | None) -> str | None:
    """The one region a user of ``role`` with ``region_code`` sees; None when it sees every region.

    An agency is one regency's: an agency user with no region (every agency user made before
    regions existed) is of the default region, so it never sees another regency's "pupr".
    """
    if role == "agency":
        return region_code or DEFAULT_REGION
    return region_code


def region_names(codes: Iterable[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each code's name: from ``known`` (the config's own ``region`` names) first, then the national list.

    The national list is read only for a code the config does not name; a code found nowhere keeps
    the code itself (the one case a user sees a bare code: there is no name to show).
    """
    known = known or {}
    out: dict[str, str] = {}
    for code in codes:
        name = known.get(code)
        if name is None:
            name = national_names().get(code, code)
        out[code] = name
    return out


def region_names_of(config: AppConfig) -> dict[str, str]:
    """The names the config gives its regions (each region file's ``region``), by code."""
    return {code: region.name for code, region in config.deployment_regions().items()}


def region_label(code: str | None, names: Mapping[str, str]) -> str:
    """A user's or a row's region for people: its name, or "Semua wilayah" for NULL."""
    if code is None:
        return ALL_REGIONS_LABEL
    return names.get(code) or region_names([code]).get(code, code)
