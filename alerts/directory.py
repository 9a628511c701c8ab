"""What alerts needs to know about the deployment: its own settings, the agencies and who handles what.

A structural protocol: the monitor's ``AppConfig`` satisfies it as it is, so alerts reads agency names,
receivers and routing through it without importing the application's configuration. In a deployment of
several regions, ``agencies``, ``routing`` and ``agency()`` are one region's: the deployment's own on the
config itself, another's on ``config.for_region(code)``; alerts asks for the issue's region first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from alerts.config import AlertsConfig, TelegramTopic
from monitor.kernel.privacy import PrivacySettings


class Agency(Protocol):
    """One agency (OPD, or a non-Pemkab body) and where it is told."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def emails(self) -> Sequence[str]: ...

    @property
    def telegram_chat_ids(self) -> Sequence[str]: ...

    @property
    def telegram_topics(self) -> Sequence[TelegramTopic]: ...

    @property
    def whatsapp_numbers(self) -> Sequence[str]: ...

    @property
    def non_pemkab(self) -> bool: ...


class Source(Protocol):
    """A configured source, as far as the source-health check reads it."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    @property
    def interval_seconds(self) -> int: ...

    @property
    def settings(self) -> Mapping[str, object]: ...


class Directory(Protocol):
    """The agencies, the topic → agency routing, the sources, the privacy switches and alerts' own settings."""

    @property
    def alerts(self) -> AlertsConfig: ...

    @property
    def agencies(self) -> Sequence[Agency]: ...

    @property
    def routing(self) -> Mapping[str, str]: ...

    @property
    def sources(self) -> Sequence[Source]: ...

    @property
    def privacy(self) -> PrivacySettings: ...

    def agency(self, code: str | None) -> Agency | None:
        """The agency with this code, or None."""
        ...

    def deployment_regions(self) -> Mapping[str, object]:
        """The deployment's regions by code, its own first (one for a one-region config)."""
        ...

    def for_region(self, code: str | None) -> Directory:
        """The same deployment seen from one region: its agencies and its topic routing, everything else
        shared. An issue of region 16.01 about roads goes to 16.01's ``pupr``, never to another's."""
        ...
