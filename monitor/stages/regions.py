"""The config's agencies mirrored into the ``agencies`` table, in the config's region.

A province deployment runs one config per regency; each mirrors its own agencies, keyed by
(region, code), so OKU's "pupr" and OKI's "pupr" are two rows and neither overwrites the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.kernel.config import AppConfig
from monitor.store.models import Agency


def mirror_agencies(session: Session, config: AppConfig) -> int:
    """Insert or update the config's agencies in its region; returns how many rows changed.

    Agencies of the region no longer in the config stay (alerts and users may still name them).
    """
    region = config.region_code
    stored = {a.code: a for a in session.scalars(select(Agency).where(Agency.region_code == region))}
    changed = 0
    for agency in config.agencies:
        row = stored.get(agency.code)
        if row is None:
            session.add(Agency(code=agency.code, name=agency.name, non_pemkab=agency.non_pemkab, region_code=region))
            changed += 1
        elif (row.name, row.non_pemkab) != (agency.name, agency.non_pemkab):
            row.name, row.non_pemkab = agency.name, agency.non_pemkab
            changed += 1
    session.flush()
    return changed
