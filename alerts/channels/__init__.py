"""Delivery channels; the channel kind is the module name, so a new channel is a new file here."""

from __future__ import annotations

import importlib

from alerts.channels.base import Channel
from alerts.directory import Directory


def load_channel(kind: str, config: Directory) -> Channel:
    """Build the channel ``alerts.channels.<kind>`` from config (its module exposes ``create(config)``)."""
    if not kind.isidentifier() or kind == "base":
        raise ValueError(f"unknown channel kind {kind!r}")
    try:
        module = importlib.import_module(f"alerts.channels.{kind}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown channel kind {kind!r}: no module alerts/channels/{kind}.py") from None
    channel: Channel = module.create(config)
    return channel
