"""Configured sources: validation at start-up, secrets, and which ones can run."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ValidationError

from collectors.base import Collector, load_collector
from collectors.graph import DEFAULT_GRAPH_VERSION, version_warning
from monitor.kernel.config import AppConfig, ConfigError, SourceConfig, secret


@dataclass(frozen=True)
class SourceState:
    """Whether a configured source can run, and if not, what the operator must do."""

    config: SourceConfig
    runnable: bool
    reason: str | None = None


def validate_sources(config: AppConfig, path: Path) -> None:
    """Check every source's kind and `settings:` block against its collector's Settings model."""
    for index, src in enumerate(config.sources):
        where = f"{path}: sources.{index}"
        if not src.kind.isidentifier():
            raise ConfigError(f"{where}.kind: {src.kind!r} is not a source kind")
        try:
            module = importlib.import_module(f"collectors.{src.kind}")
        except ModuleNotFoundError:
            raise ConfigError(
                f"{where}.kind: unknown source kind {src.kind!r} (no module collectors/{src.kind}.py)"
            ) from None
        settings_model: type[BaseModel] | None = getattr(module, "Settings", None)
        if settings_model is None:
            continue
        try:
            settings_model.model_validate(src.settings)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{where}.settings.{loc}: {err['msg']}") from None


GRAPH_KINDS = ("facebook", "instagram")


def graph_version_warnings(config: AppConfig, today: date) -> list[str]:
    """Warnings for every Graph API version in use (enabled sources, WhatsApp Cloud API) that ends within 60 days."""
    found: list[str] = []
    for src in config.sources:
        if src.kind in GRAPH_KINDS and src.enabled:
            version = str(src.settings.get("api_version") or DEFAULT_GRAPH_VERSION)
            found.append(version_warning(version, today, where=f"sources.{src.name}.settings.api_version") or "")
    wa = config.alerts.whatsapp
    if wa.enabled and wa.profile == "cloud":
        found.append(version_warning(wa.cloud.api_version, today, where="alerts.whatsapp.cloud.api_version") or "")
    return [w for w in found if w]


def source_states(config: AppConfig) -> list[SourceState]:
    """Each configured source with whether it may run now (enabled, secrets present)."""
    states = []
    for src in config.sources:
        if not src.enabled:
            states.append(SourceState(src, False, "dinonaktifkan di config (enabled: false)"))
            continue
        missing = [env for env in src.token_env if not secret(env)]
        if missing:
            states.append(SourceState(src, False, f"nonaktif: set environment variable {', '.join(missing)}"))
            continue
        states.append(SourceState(src, True))
    return states


def build_collector(src: SourceConfig) -> Collector:
    """The collector object for one configured source, with its secrets from the environment."""
    secrets = {env: value for env in src.token_env if (value := secret(env))}
    return load_collector(src.kind, src.name, src.settings, secrets)
