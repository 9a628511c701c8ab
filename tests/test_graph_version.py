"""The Graph API version is configured, and `run` warns 60 days before Meta retires it."""

from __future__ import annotations

from datetime import date

from collectors.facebook import Settings as FacebookSettings
from collectors.graph import DEFAULT_GRAPH_VERSION, GRAPH_VERSION_ENDS, version_warning
from monitor.kernel.config import AppConfig
from monitor.kernel.sources import graph_version_warnings


def test_warning_starts_60_days_before_the_end() -> None:
    assert GRAPH_VERSION_ENDS["v21.0"] == date(2027, 1, 21)
    assert version_warning("v21.0", date(2026, 11, 21), where="x") is None  # 61 days left
    soon = version_warning("v21.0", date(2026, 11, 22), where="sources.fb.settings.api_version")
    assert soon is not None and "60 days left" in soon and "2027-01-21" in soon and soon.startswith("sources.fb")
    gone = version_warning("v21.0", date(2027, 1, 22), where="x")
    assert gone is not None and "ended on 2027-01-21" in gone
    assert version_warning("v99.0", date(2030, 1, 1), where="x") is None  # no announced end


def test_default_version_is_far_from_its_end() -> None:
    assert FacebookSettings.model_validate({"page_ids": ["1"]}).api_version == DEFAULT_GRAPH_VERSION
    assert version_warning(DEFAULT_GRAPH_VERSION, date(2026, 12, 6), where="x") is None


def test_warnings_name_every_source_and_whatsapp(config: AppConfig) -> None:
    today = date(2026, 12, 6)
    assert graph_version_warnings(config, today) == []  # the shipped config
    data = config.model_dump(by_alias=True)
    for src in data["sources"]:
        if src["kind"] == "facebook":
            src["enabled"] = True
            src["settings"]["api_version"] = "v21.0"
    data["alerts"]["whatsapp"].update(
        {
            "enabled": True,
            "cloud": {**data["alerts"]["whatsapp"]["cloud"], "phone_number_id": "1", "api_version": "v20.0"},
        }
    )
    warnings = graph_version_warnings(AppConfig.model_validate(data), today)
    assert len(warnings) == 2
    assert warnings[0].startswith("sources.facebook-pemkab.settings.api_version: Graph API v21.0 ends on 2027-01-21")
    assert warnings[1].startswith("alerts.whatsapp.cloud.api_version: Graph API v20.0 ended")
