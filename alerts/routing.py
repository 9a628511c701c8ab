"""Walk the routing tree: which receivers hear about an issue, with which timers.

Semantics follow Alertmanager: a node matches when every key in its ``match`` accepts
the issue's label; children are tried depth-first and the first matching child wins
unless it says ``continue``; when no child matches, the node itself is the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.config import AGENCY_RECEIVER, AlertsConfig, Route
from alerts.directory import Directory
from monitor.kernel.config import TOPICS

__all__ = ["AGENCY_RECEIVER", "AlertLabels", "RouteMatch", "check_routing", "matches", "resolve_receiver", "route"]


@dataclass(frozen=True)
class AlertLabels:
    """An alert's labels: what routes, silences and inhibit rules match on.

    Not the classifier's output, which is :class:`classifiers.labels.Labels`.
    """

    topic: str
    agency: str
    kecamatan: str
    stage: str
    urgent: bool
    region: str = ""
    """The issue's region code (``16.01``); empty where no region is known (then it matches no ``region:`` route)."""

    def get(self, key: str) -> str:
        if key == "urgent":
            return "true" if self.urgent else "false"
        value: str = getattr(self, key)
        return value


@dataclass(frozen=True)
class RouteMatch:
    """A receiver chosen for an issue, with the timers of the node that chose it."""

    receiver: str
    """A receiver name, already resolved: ``$agency`` became ``agency:<code>``."""
    repeat_interval_hours: float
    escalate_after_minutes: float
    escalate_to: str | None


def matches(matchers: dict[str, list[str]], labels: AlertLabels) -> bool:
    """True when every matcher accepts the label (an empty matcher set accepts everything)."""
    return all(labels.get(key) in values for key, values in matchers.items() if not key.startswith("_"))


def resolve_receiver(name: str, labels: AlertLabels) -> str:
    """``$agency`` stands for the issue's agency; other names are used as written."""
    return f"agency:{labels.agency}" if name == AGENCY_RECEIVER else name


def route(cfg: AlertsConfig, labels: AlertLabels) -> list[RouteMatch]:
    """The receivers for one issue, each once, in tree order."""
    found: list[RouteMatch] = []
    _walk(cfg.route, labels, cfg, None, cfg.repeat_interval_hours, cfg.escalate_after_minutes, cfg.escalate_to, found)
    unique: dict[str, RouteMatch] = {}
    for m in found:
        unique.setdefault(m.receiver, m)
    return list(unique.values())


def _walk(
    node: Route,
    labels: AlertLabels,
    cfg: AlertsConfig,
    receiver: str | None,
    repeat: float,
    escalate_after: float,
    escalate_to: str | None,
    out: list[RouteMatch],
) -> bool:
    if not matches(node.match, labels):
        return False
    receiver = node.receiver or receiver
    repeat = node.repeat_interval_hours or repeat
    escalate_after = node.escalate_after_minutes or escalate_after
    escalate_to = node.escalate_to or escalate_to
    child_matched = False
    for child in node.routes:
        if _walk(child, labels, cfg, receiver, repeat, escalate_after, escalate_to, out):
            child_matched = True
            if not child.continue_:
                break
    if not child_matched and receiver:
        out.append(RouteMatch(resolve_receiver(receiver, labels), repeat, escalate_after, escalate_to))
    return True


def check_routing(config: Directory) -> list[str]:
    """Problems with the rule set, one line each: topics routed nowhere, unknown receivers.

    Run at start-up; an empty list means every taxonomy topic reaches someone at every stage.
    """
    cfg = config.alerts
    problems: list[str] = []
    names = {r.name for r in cfg.receivers} | {AGENCY_RECEIVER}
    extra = [n for n in (cfg.escalate_to, cfg.admin_receiver) if n]
    for name in [*_receiver_names(cfg.route), *extra]:
        if name not in names:
            problems.append(f"alerts.route: receiver {name!r} is not defined under alerts.receivers")
    for r in cfg.receivers:
        if r.agency and config.agency(r.agency) is None:
            problems.append(f"alerts.receivers.{r.name}: agency {r.agency!r} is not in agencies")
    home = next(iter(config.deployment_regions()), None)
    for code in config.deployment_regions():
        here = config.for_region(code)
        # The deployment's own region reads as before; another's lines say which region.
        where = "" if code == home else f"region {code}: "
        for ag in here.agencies:
            if not (ag.emails or ag.telegram_chat_ids or ag.telegram_topics or ag.whatsapp_numbers):
                problems.append(
                    f"{where}agencies.{ag.code}: no e-mail, Telegram chat or WhatsApp number; its alerts reach nobody"
                )
        for topic in TOPICS:
            agency = here.routing.get(topic, "")
            for stage in cfg.alert_stages:
                for urgent in (False, True):
                    labels = AlertLabels(topic, agency, "", stage, urgent, code)
                    if not route(cfg, labels):
                        problems.append(
                            f"{where}alerts.route: topic {topic!r} at stage {stage!r}"
                            f"{' (urgent)' if urgent else ''} reaches no receiver; add a route or a default receiver"
                        )
                        break
    return problems


def _receiver_names(node: Route) -> list[str]:
    names = [n for n in (node.receiver, node.escalate_to) if n]
    for child in node.routes:
        names.extend(_receiver_names(child))
    return names
