"""The config's agencies mirrored into the ``agencies`` table, each in its region.

A deployment of several regions (``regions:`` files) has an agency set per regency, keyed by
(region, code): OKU's "pupr" and OKI's "pupr" are two rows and neither overwrites the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.kernel.config import AppConfig
from monitor.store.models import Agency


def mirror_agencies(session: Session, config: AppConfig) -> int:
    """Insert or update every region's agencies; returns how many rows changed.

    Agencies no longer in the config stay (alerts and users may still name them).
    """
    stored = {(a.region_code, a.code): a for a in session.scalars(select(Agency))}
    changed = 0
    for code, region in config.deployment_regions().items():
        for agency in region.agencies:
            row = stored.get((code, agency.code))
            if row is None:
                session.add(Agency(code=agency.code, name=agency.name, non_pemkab=agency.non_pemkab, region_code=code))
                changed += 1
            elif (row.name, row.non_pemkab) != (agency.name, agency.non_pemkab):
                row.name, row.non_pemkab = agency.name, agency.non_pemkab
                changed += 1
    session.flush()
    return changed
