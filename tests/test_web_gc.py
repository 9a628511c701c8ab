"""Serving processes freeze what they built at startup and collect young garbage less often."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.web.app import GC_YOUNG_THRESHOLD, create_app, freeze_startup_objects
from tests.web_support import make_clock


def test_startup_objects_are_frozen_and_the_young_generation_waits_longer() -> None:
    before = gc.get_threshold()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the imports, models, templates of this test process
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_an_app_is_freed_with_its_last_reference(config: AppConfig, sqlite_db: Database) -> None:
    """Nothing global keeps a built app alive: FastAPI caches what it learns of each endpoint callable
    (``fastapi.dependencies.models``, 4,096 entries), so an endpoint that closed over its app kept every app a
    process ever built, with its routes, models and templates (~20,000 objects each in a test process)."""
    app = create_app(config, sqlite_db, make_clock())
    with TestClient(app) as client:
        for path in ("/healthz", "/robots.txt", "/openapi.json", "/docs", "/metrics", "/tidak-ada"):
            client.get(path)  # every app-level route and error handler, resolved once
    freed = weakref.ref(app)
    del app, client
    gc.collect()
    assert freed() is None, [type(r).__qualname__ for r in gc.get_referrers(freed())]
