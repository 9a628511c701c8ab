"""The blind set loader: schema checks, stable split, and no blind text in the training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.evaluation import BLIND_DIR, blind_split, load_blind
from classifiers.model import load_corpus, load_handwritten


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_loader_reads_rows_and_splits_by_id(tmp_path: Path) -> None:
    rows = [
        {"id": f"x-{i}", "text": f"jalan rusak {i} di Pedamaran", "relevant": True, "is_complaint": True,
         "topic": "infrastruktur", "topics": ["infrastruktur"], "kecamatan": "Pedamaran", "register": "slang"}
        for i in range(40)
    ]
    _write(tmp_path / "a.jsonl", rows)
    posts = load_blind(tmp_path)
    assert len(posts) == 40
    assert {p.split for p in posts} == {"dev", "test"}
    assert all(p.split == blind_split(p.id) for p in posts)
    dev = load_blind(tmp_path, split="dev")
    assert 0 < len(dev) < 40 and all(p.split == "dev" for p in dev)
    assert posts[0].example.kecamatan == "Pedamaran" and posts[0].topics == ("infrastruktur",)


def test_not_relevant_rows_carry_no_topic_or_place(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", [{"id": "n1", "text": "KTT OKI di Jeddah", "relevant": False,
                                    "is_complaint": True, "topic": "bencana", "kecamatan": "Cengal"}])
    (post,) = load_blind(tmp_path)
    assert post.example.is_complaint is False and post.example.topic is None and post.example.kecamatan is None


@pytest.mark.parametrize(
    "row, message",
    [
        ({"id": "b", "text": "t", "relevant": True, "is_complaint": True, "topic": "jalan"}, "unknown topic"),
        ({"id": "b", "text": "t", "relevant": True, "is_complaint": True, "topic": None}, "needs a topic"),
        ({"id": "b", "relevant": True, "is_complaint": False}, "text"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, row: dict[str, object], message: str) -> None:
    _write(tmp_path / "bad.jsonl", [{"id": "ok", "text": "t", "relevant": False, "is_complaint": False}, row])
    with pytest.raises(ValueError, match=rf"bad.jsonl:2: .*{message}"):
        load_blind(tmp_path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    row = {"id": "same", "text": "t", "relevant": False, "is_complaint": False}
    _write(tmp_path / "a.jsonl", [row])
    _write(tmp_path / "b.jsonl", [row])
    with pytest.raises(ValueError, match="used twice"):
        load_blind(tmp_path)


def test_no_blind_text_is_in_the_training_data() -> None:
    blind = {p.example.text.strip().lower() for p in load_blind(BLIND_DIR)}
    corpus = {e.text.strip().lower() for e in [*load_corpus(), *load_handwritten()]}
    assert not blind & corpus
    # Nor one that a training text says again but for a word or two (every batch, e.g. third.jsonl).
    import numpy as np
    from rapidfuzz import fuzz, process

    near = process.cdist(sorted(blind), sorted(corpus), scorer=fuzz.ratio, score_cutoff=90, dtype=np.uint8)
    assert int(near.max()) < 90
    assert {p.id.split("-")[0] for p in load_blind(BLIND_DIR)} >= {"social", "formal", "third"}


def test_second_topic_scores_count_only_what_they_say() -> None:
    from classifiers.evaluation import second_topic_precision, second_topic_recall
    from classifiers.labels import Labels

    def lab(*topics: str) -> Labels:
        return Labels(True, 1.0, True, 1.0, topics[0], 1.0, None, None, False, (), 1.0, False, "t", topics)

    truth = [("pungli_korupsi", "adminduk"), ("infrastruktur",), ("bencana", "pendidikan")]
    labels = [lab("pungli_korupsi", "adminduk"), lab("infrastruktur", "pendidikan"), lab("bencana")]
    assert second_topic_recall(truth, labels) == 0.5  # 1 of the 2 two-topic posts
    assert second_topic_precision(truth, labels) == 0.5  # 1 of the 2 named second topics is right


def test_eval_reports_topic_f1_per_batch_and_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A writer the model reads worse shows in its own line: the pooled figure would hide it."""
    from classifiers.evaluation import KeywordBaseline
    from monitor.commands.eval import _blind_batches

    def rows(prefix: str, text: str, topic: str) -> list[dict[str, object]]:
        return [{"id": f"{prefix}-{i}", "text": f"{text} {i} di Pedamaran", "relevant": True, "is_complaint": True,
                 "topic": topic, "kecamatan": "Pedamaran"} for i in range(30)]

    _write(tmp_path / "first.jsonl", rows("f", "jalan rusak berlubang", "infrastruktur"))
    # The keyword baseline reads these as roads too: this batch's topic F1 is 0.
    _write(tmp_path / "third.jsonl", rows("t", "jalan rusak berlubang", "pendidikan"))
    posts = load_blind(tmp_path)
    report: dict[str, dict[str, object]] = {"blind": {}}
    _blind_batches(posts, KeywordBaseline().predict([p.example.text for p in posts]), report)
    per_batch = report["blind"]["per_batch"]
    assert isinstance(per_batch, dict)
    assert set(per_batch) == {"first/dev", "first/test", "third/dev", "third/test"}
    assert per_batch["first/dev"]["macro_f1"] == 1.0 and per_batch["third/test"]["macro_f1"] == 0.0
    assert sum(per_batch[f"third/{s}"]["n"] for s in ("dev", "test")) == 30
    out = capsys.readouterr().out
    assert "third" in out and "dev 0.000" in out
