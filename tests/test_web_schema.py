"""Property-based checks of the JSON API against its own OpenAPI schema (schemathesis): no 500s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web_support import ANALYST_TOKEN, make_clock, seed

if TYPE_CHECKING:
    # schemathesis costs ~1 s of CPU to import; every xdist worker collects this module but one runs it.
    # Its pytest plugin is off too (pyproject addopts: -p no:schemathesis): this module needs none of it.
    from schemathesis import APIOperation, Case
    from schemathesis.specs.openapi.schemas import OpenApiSchema

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = pytest.mark.xdist_group("test_web_schema")

INGEST_TOKEN = "schema-test-ingest-token-0123456789"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenApiSchema]:
    import schemathesis

    from monitor.kernel.config import load_config

    mp = pytest.MonkeyPatch()
    mp.setenv("OKI_MONITOR_AUTHOR_KEY", "schema-test-author-key")
    mp.setenv("OKI_MONITOR_INGEST_TOKEN", INGEST_TOKEN)
    mp.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
    config: AppConfig = load_config(Path(__file__).resolve().parent.parent / "config.yaml")
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('schema') / 'api.db'}")
    db.upgrade()
    seed(db)
    app = create_app(config, db, make_clock())
    yield schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Authorization": f"Bearer {ANALYST_TOKEN}"})
    db.dispose()
    mp.undo()


def _checker(operation: APIOperation, token: str) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )
        assert response.status_code != 401, "the test token should authenticate"

    return check


def test_api_never_fails_with_a_server_error(api_schema: OpenApiSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert {op.path for op in operations} >= {"/api/issues", "/api/trends", "/api/export", "/api/ingest"}
    for operation in operations:
        _checker(operation, INGEST_TOKEN if operation.path == "/api/ingest" else ANALYST_TOKEN)()
