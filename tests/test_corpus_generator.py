"""The written corpus: deterministic, regenerated, balanced, held out by template, labels consistent."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from classifiers.model import TOPICS

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = pytest.mark.xdist_group("test_corpus_generator")

DATA = Path(__file__).resolve().parents[1] / "classifiers" / "data"

@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", DATA / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(gen: ModuleType) -> list[dict[str, object]]:
    return list(gen.build())


def test_build_is_deterministic_and_matches_the_shipped_file(gen: ModuleType, rows: list[dict[str, object]]) -> None:
    assert gen.build() == rows
    shipped = [json.loads(line) for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert shipped == rows, "corpus.jsonl is stale: run .venv/bin/python classifiers/data/make_corpus.py"


def test_every_topic_is_balanced(gen: ModuleType, rows: list[dict[str, object]]) -> None:
    complaints = Counter(r["topic"] for r in rows if r["is_complaint"])
    good = Counter(
        r["topic"] for r in rows if r["is_complaint"] is False and r["topic"] and "/q" not in str(r["template"])
    )
    assert set(complaints) == set(TOPICS)
    # Each topic: its OKI complaints plus the same problems placed next door.
    assert set(complaints.values()) == {gen.COMPLAINTS_PER_TOPIC + 14}
    assert set(good.values()) == {gen.GOOD_PER_TOPIC}


def test_every_complaint_frame_names_a_place(gen: ModuleType) -> None:
    # Labels (relevant, kecamatan) come from the place drawn for the row: a frame without
    # {place} would label a post relevant that names no place at all.
    for frame in gen.COMPLAINT_FRAMES:
        assert "{p}" in frame and "{place}" in frame, frame


def test_held_out_rows_come_from_held_out_templates(rows: list[dict[str, object]]) -> None:
    train_templates = {r["template"] for r in rows if r["split"] == "train"}
    test_rows = [r for r in rows if r["split"] == "test"]
    assert 0.2 < len(test_rows) / len(rows) < 0.45
    assert not any(r["template"] in train_templates for r in test_rows)
    train_phrases = {str(r["template"]).split("/f")[0] for r in rows if r["split"] == "train" and r["is_complaint"]}
    # Some complaint phrases never appear in training at all (held out as phrases, not only as frames).
    test_phrases = {str(r["template"]).split("/f")[0] for r in test_rows if r["is_complaint"]}
    assert test_phrases - train_phrases


def test_new_domains_are_present(rows: list[dict[str, object]]) -> None:
    text = "\n".join(str(r["text"]).lower() for r in rows)
    for cue in ("kartu kuning", "pedagang kaki lima", "ahli waris", "dtks", "kia anak", "parkir liar"):
        assert cue in text, cue
