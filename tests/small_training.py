"""A small but real training set, for tests of the training *logic* (child-process retrain,
corrections, the promotion gate) that need a trained model but not the shipped one's quality.

`train()` on the whole bundled data costs ~20 s of CPU; on every `STEP`-th row of each source it
takes a few seconds and runs the same code. Tests of what the model reads use the shared model at
the default location instead (trained once per set of training inputs into a user cache folder, see
conftest's ``_test_model_dir``).

A child process (``classifiers.model._retrain``, ``monitor.stages.retrain.run_in_child``) gets the
same small set through :func:`child_environment`: a ``sitecustomize`` module on its ``PYTHONPATH``
applies it at start-up, so the child trains exactly what the parent would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import classifiers.model as model_module
from classifiers.examples import Example

STEP = 6
"""Every sixth row of the corpus, the external negatives and the hand-written posts (~2,500 rows)."""

_LOADERS = ("load_corpus", "load_external_negatives", "load_handwritten")


def _every_step(load: Callable[..., list[Example]]) -> Callable[..., list[Example]]:
    def small(*args: Any, **kwargs: Any) -> list[Example]:
        return load(*args, **kwargs)[::STEP]

    small.small_training = True  # type: ignore[attr-defined]
    return small


def apply() -> None:
    """Make this process's `classifiers.model` train on the small set (idempotent)."""
    for name in _LOADERS:
        load = getattr(model_module, name)
        if not getattr(load, "small_training", False):
            setattr(model_module, name, _every_step(load))


def use(monkeypatch: Any) -> None:
    """Like :func:`apply`, undone by `monkeypatch` when the test ends."""
    for name in _LOADERS:
        load = getattr(model_module, name)
        if not getattr(load, "small_training", False):
            monkeypatch.setattr(model_module, name, _every_step(load))


def child_environment(folder: Path, monkeypatch: Any) -> None:
    """Make child Python processes started from here on (until the test ends) train on the small set."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text("import tests.small_training\ntests.small_training.apply()\n")
    root = str(Path(__file__).resolve().parent.parent)
    paths = [str(folder), root] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


def copy_trained(target: Path) -> None:
    """Write the small set's model (seed 0) to ``target``: trained once and kept beside the shared model
    (``OKI_MONITOR_MODEL_DIR``) until the training data, the code that shapes features or the libraries change,
    as the shared model is; training it costs ~4 s of CPU a run otherwise."""
    import shutil

    import pytest

    from classifiers.model import _is_current, default_model_path, load_classifier

    kept = default_model_path().with_name(f"small-step{STEP}.joblib")
    current = False
    if kept.exists():
        try:
            meta = load_classifier(kept).metadata
        except Exception:  # a truncated or foreign file: trained again below
            meta = {}
        current = _is_current(meta)  # the test the default model's loader applies: format, data hash, libraries
    if not current:
        with pytest.MonkeyPatch.context() as mp:
            use(mp)
            model_module.train(kept)  # written atomically: a concurrent reader sees the old file or the new one
    shutil.copyfile(kept, target)
