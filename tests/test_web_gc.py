"""Serving processes freeze what they built at startup and collect young garbage less often."""

from __future__ import annotations

import gc

from monitor.web.app import GC_YOUNG_THRESHOLD, freeze_startup_objects


def test_startup_objects_are_frozen_and_the_young_generation_waits_longer() -> None:
    before = gc.get_threshold()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the imports, models, templates of this test process
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
