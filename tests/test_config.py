"""Config validation: a wrong key or value stops with one line naming the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.kernel.config import TOPICS, ConfigError, load_config, parse_config, secret
from monitor.kernel.sources import source_states, validate_sources

ROOT = Path(__file__).resolve().parent.parent


def _base() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_shipped_config_is_valid_and_routes_every_topic() -> None:
    cfg = load_config(ROOT / "config.yaml")
    assert set(cfg.routing) == set(TOPICS)
    codes = {a.code for a in cfg.agencies}
    assert all(cfg.routing[t] in codes for t in TOPICS)
    validate_sources(cfg, ROOT / "config.yaml")


def test_unknown_key_names_its_path() -> None:
    data = _base()
    data["issues"]["close_after_hourz"] = 3
    with pytest.raises(ConfigError) as err:
        parse_config(data, Path("c.yaml"))
    msg = str(err.value)
    assert "issues.close_after_hourz" in msg and "\n" not in msg


def test_wrong_value_names_path_and_expectation() -> None:
    data = _base()
    data["sources"][0]["interval_seconds"] = -5
    with pytest.raises(ConfigError) as err:
        parse_config(data, Path("c.yaml"))
    assert "sources.0.interval_seconds" in str(err.value)
    assert "greater than or equal to 10" in str(err.value)


def test_missing_routing_topic_is_reported() -> None:
    data = _base()
    del data["routing"]["bansos"]
    with pytest.raises(ConfigError, match="bansos"):
        parse_config(data)


def test_routing_to_unknown_agency_is_reported() -> None:
    data = _base()
    data["routing"]["bansos"] = "nobody"
    with pytest.raises(ConfigError, match="nobody"):
        parse_config(data)


def test_unknown_source_kind_is_reported(tmp_path: Path) -> None:
    data = _base()
    data["sources"] = [{"name": "x1", "kind": "myspace", "settings": {}}]
    cfg = parse_config(data)
    with pytest.raises(ConfigError, match=r"sources\.\d+\.kind: unknown source kind 'myspace'"):
        validate_sources(cfg, tmp_path / "c.yaml")


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_config_is_read_with_libyaml_when_pyyaml_has_it_and_reads_the_same() -> None:
    from monitor.kernel import config as config_module

    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert config_module.read_yaml_text(text) == yaml.safe_load(text)
    bad = "agencies: [\n  pupr,\n  - dinkes\n"
    with pytest.raises(yaml.MarkedYAMLError) as fast:
        config_module.read_yaml_text(bad)
    with pytest.raises(yaml.MarkedYAMLError) as pure:
        yaml.safe_load(bad)
    assert fast.value.problem_mark is not None and pure.value.problem_mark is not None
    assert fast.value.problem_mark.line == pure.value.problem_mark.line  # the error names the same line
    if yaml.__with_libyaml__:  # ~7x faster: every command and every region file of a deployment parses YAML
        assert config_module._SAFE_LOADER is yaml.CSafeLoader


def test_database_url_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert parse_config(_base()).database_url == "sqlite:////tmp/elsewhere.db"


def test_source_with_missing_token_is_disabled_with_the_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _base()
    data["sources"] = [
        {
            "name": "needs-token",
            "kind": "rss",
            "token_env": "OKI_TEST_TOKEN_X",
            "settings": data["sources"][0]["settings"],
        }
    ]
    monkeypatch.delenv("OKI_TEST_TOKEN_X", raising=False)
    (state,) = source_states(parse_config(data))
    assert not state.runnable and "OKI_TEST_TOKEN_X" in (state.reason or "")
    monkeypatch.setenv("OKI_TEST_TOKEN_X", "s3cret-token-value")
    (state,) = source_states(parse_config(data))
    assert state.runnable


def test_secrets_are_masked_in_logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from monitor.kernel.redact import RedactingFilter

    monkeypatch.setenv("OKI_TEST_BOT_TOKEN", "123456:ABCdefSECRET")
    assert secret("OKI_TEST_BOT_TOKEN") == "123456:ABCdefSECRET"
    logger = logging.getLogger("test.redact")
    handler_filter = RedactingFilter()
    logger.addFilter(handler_filter)
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("GET https://api.telegram.org/bot%s/sendMessage", "123456:ABCdefSECRET")
    logger.removeFilter(handler_filter)
    assert "ABCdefSECRET" not in caplog.text
    assert "bot***/sendMessage" in caplog.text
