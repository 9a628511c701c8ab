"""CLI commands, one module each (see monitor/cli.py for the protocol)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loading the model module is heavy; only the commands that classify need it
    from classifiers.model import TextClassifier
    from monitor.kernel.config import AppConfig


def load_model(config: AppConfig, path: Path | None = None) -> TextClassifier | None:
    """The classifier a command reads with: ``path``, else the config's ``classifier.model_path``, else the
    default model, with the config's triage threshold; None (the reason told on stderr) when it cannot load."""
    from classifiers.model import load_classifier

    model_path = path or (Path(config.classifier.model_path) if config.classifier.model_path else None)
    try:
        classifier = load_classifier(model_path)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"Model tidak bisa dimuat: {exc}", file=sys.stderr)
        return None
    classifier.triage_threshold = config.classifier.triage_threshold
    return classifier
