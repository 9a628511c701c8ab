"""Measuring the classifier: held-out corpus, Surabaya complaints, sentiment sanity sets, baseline.

Pure functions over examples and predictions; file reading is limited to the loaders at the
bottom, which take paths so tests can point them at small fixtures. The evaluation-only sets
(Surabaya Media Center, LAPOR!, colloquial lexicon) have no license: they are read here for
measurement and never copied into the repository or used for training.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.examples import Example
from classifiers.gazetteer import get_gazetteer
from classifiers.labels import Labels
from classifiers.normalise import normalise
from classifiers.taxonomy import TOPICS

DATA_DIR = Path(__file__).resolve().parent / "data"
SURABAYA_MAP = DATA_DIR / "surabaya_topic_map.csv"


class Predictor(Protocol):
    """Anything with the classifier's batch `predict`."""

    def predict(self, texts: Sequence[str]) -> list[Labels]: ...


def per_class(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Precision/recall/F1/support per class, in `labels` order."""
    from sklearn.metrics import precision_recall_fscore_support  # local: scikit-learn (with scipy) costs ~1 s to import

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(labels), zero_division=0)
    return [
        {"label": lab, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, lab in enumerate(labels)
    ]


def binary_f1(y_true: Sequence[bool], y_pred: Sequence[bool]) -> float:
    """F1 of the positive class."""
    from sklearn.metrics import f1_score

    return float(f1_score(np.array(y_true, dtype=bool), np.array(y_pred, dtype=bool), zero_division=0))


def topic_scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the classes present in the truth."""
    from sklearn.metrics import accuracy_score, f1_score

    present = sorted(set(y_true))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
        if y_true
        else 0.0,
        "n": float(len(y_true)),
    }


def macro_f1_min_support(y_true: Sequence[str], y_pred: Sequence[str], min_support: int) -> tuple[float, int]:
    """(macro-F1 over the classes with at least `min_support` true rows, how many such classes).

    Reported next to the plain macro-F1 for the Surabaya sets, where a class of 3 rows moves the
    plain average by several points: both numbers are shown, neither replaces the other.
    """
    counts: dict[str, int] = {}
    for y in y_true:
        counts[y] = counts.get(y, 0) + 1
    labels = sorted(k for k, n in counts.items() if n >= min_support)
    if not labels:
        return 0.0, 0
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), len(labels)


@dataclass(frozen=True, slots=True)
class Mistake:
    """A wrong topic with the model's confidence in it (for the "worst mistakes" list)."""

    text: str
    truth: str
    predicted: str
    score: float


def score_predictions(examples: Sequence[Example], labels: Sequence[Labels]) -> dict[str, Any]:
    """Relevance F1, complaint F1, topic accuracy/macro-F1 (complaints), kecamatan accuracy (named places)."""
    rel = [(e.relevant, lab.relevant) for e, lab in zip(examples, labels, strict=True) if e.relevant is not None]
    comp = [
        (e.is_complaint, lab.is_complaint)
        for e, lab in zip(examples, labels, strict=True)
        if e.is_complaint is not None
    ]
    top = [
        (e.topic, lab.topic) for e, lab in zip(examples, labels, strict=True) if e.topic is not None and e.is_complaint
    ]
    kec = [(e.kecamatan, lab.kecamatan) for e, lab in zip(examples, labels, strict=True) if e.kecamatan]
    result: dict[str, Any] = {
        "relevance_f1": binary_f1([bool(a) for a, _ in rel], [b for _, b in rel]) if rel else None,
        "complaint_f1": binary_f1([bool(a) for a, _ in comp], [b for _, b in comp]) if comp else None,
        "topic": topic_scores([str(a) for a, _ in top], [b for _, b in top]),
        "kecamatan_accuracy": (sum(1 for a, b in kec if a == b) / len(kec)) if kec else None,
        "n": len(examples),
        "triage_share": sum(1 for lab in labels if lab.needs_triage) / len(labels) if labels else 0.0,
    }
    return result


def second_topic_recall(truth_topics: Sequence[Sequence[str]], labels: Sequence[Labels]) -> float | None:
    """Of the posts labelled with two or more topics, the share whose second topic the model also names."""
    hits = [t[1] in lab.topics for t, lab in zip(truth_topics, labels, strict=True) if len(t) >= 2]
    return sum(hits) / len(hits) if hits else None


def second_topic_precision(truth_topics: Sequence[Sequence[str]], labels: Sequence[Labels]) -> float | None:
    """Of the complaints where the model names a second topic, the share where the data names it too."""
    named = [lab.topics[1] in t for t, lab in zip(truth_topics, labels, strict=True) if t and len(lab.topics) >= 2]
    return sum(named) / len(named) if named else None


def score_examples(classifier: Predictor, examples: Sequence[Example]) -> dict[str, Any]:
    """Predict `examples` and score them (see :func:`score_predictions`)."""
    labels = classifier.predict([e.text for e in examples])
    return score_predictions(examples, labels)


def worst_mistakes(texts: Sequence[str], truth: Sequence[str], labels: Sequence[Labels], k: int = 10) -> list[Mistake]:
    """The `k` wrong topics the model was most sure about."""
    wrong = [
        Mistake(t, y, lab.topic, lab.topic_score)
        for t, y, lab in zip(texts, truth, labels, strict=True)
        if y != lab.topic
    ]
    return sorted(wrong, key=lambda m: -m.score)[:k]


def topic_confusion(truth: Sequence[str], predicted: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Confusion matrix over all taxonomy keys (rows: truth, columns: predicted)."""
    labels = list(TOPICS)
    from sklearn.metrics import confusion_matrix

    return labels, confusion_matrix(truth, predicted, labels=labels)


# ------------------------------------------------------------------------------------------
# Keyword baseline: what a careful person would write in an afternoon. The model must beat it.
# ------------------------------------------------------------------------------------------
BASELINE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "infrastruktur": ("jalan", "jembatan", "lubang", "aspal", "drainase", "lampu jalan", "pju", "gorong"),
    "air_bersih": ("pdam", "air bersih", "ledeng", "air keruh", "pipa"),
    "listrik": ("listrik", "pln", "mati lampu", "padam", "token"),
    "kesehatan": ("puskesmas", "rumah sakit", "rsud", "bpjs", "dokter", "pasien", "dbd", "obat"),
    "pendidikan": ("sekolah", "guru", "murid", "ppdb", "siswa", "sd", "smp"),
    "adminduk": ("ktp", "kk", "akta", "disdukcapil", "dukcapil", "blanko"),
    "bansos": ("bansos", "pkh", "bpnt", "blt", "dtks", "bantuan"),
    "lingkungan": ("sampah", "limbah", "pencemaran", "bau", "pohon"),
    "bencana": ("banjir", "kebakaran", "karhutla", "asap", "longsor", "puting beliung"),
    "transportasi": ("parkir", "angkutan", "truk", "terminal", "macet", "lalu lintas"),
    "ketenagakerjaan": ("gaji", "upah", "buruh", "phk", "karyawan", "pekerja"),
    "pungli_korupsi": ("pungli", "pungutan liar", "korupsi", "suap", "oknum"),
    "pertanian": ("pupuk", "petani", "sawah", "karet", "sawit", "irigasi", "panen"),
    "ketertiban": ("judi", "balap liar", "mabuk", "tawuran", "pkl", "preman"),
    "harga_kebutuhan": ("harga", "gas", "lpg", "elpiji", "bbm", "sembako", "minyak goreng"),
    "pelayanan_publik": ("pelayanan", "kantor", "camat", "kades", "izin", "pegawai"),
}
_COMPLAINT_WORDS = re.compile(
    r"\b(?:rusak|tidak|belum|mohon|tolong|keluh|kecewa|parah|lambat|mati|langka|mahal|kapan|kenapa|sulit)\b"
)


class KeywordBaseline:
    """Keyword counting for topic and complaint; relevance = any OKI evidence and no confuser."""

    version = "keyword-baseline"

    def predict(self, texts: Sequence[str]) -> list[Labels]:
        """Labels from keyword rules only."""
        gaz = get_gazetteer()
        patterns = {
            t: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ws) + r")\b") for t, ws in BASELINE_KEYWORDS.items()
        }
        out = []
        for text in texts:
            norm = normalise(text)
            ev = gaz.evidence(norm)
            counts = {t: len(p.findall(norm)) for t, p in patterns.items()}
            topic = max(TOPICS, key=lambda t: (counts[t], -TOPICS.index(t)))
            if counts[topic] == 0:
                topic = "pelayanan_publik"
            relevant = ev.positive and not ev.confuser and not ev.neighbour
            complaint = bool(_COMPLAINT_WORDS.search(norm))
            out.append(
                Labels(
                    relevant=relevant,
                    relevance_score=float(relevant),
                    is_complaint=complaint,
                    complaint_score=float(complaint),
                    topic=topic,
                    topic_score=1.0,
                    kecamatan=ev.kecamatan if relevant else None,
                    desa=ev.desa if relevant else None,
                    urgent=False,
                    urgency_cues=(),
                    confidence=1.0,
                    needs_triage=False,
                    model_version=self.version,
                )
            )
        return out


# ------------------------------------------------------------------------------------------
# Loaders for evaluation-only data (paths injected).
# ------------------------------------------------------------------------------------------
def load_surabaya_map(path: Path = SURABAYA_MAP) -> dict[str, str]:
    """Surabaya topic name -> taxonomy key ("-" rows, the unmappable ones, are left out)."""
    mapping: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = row["taxonomy_key"].strip()
            if key and key != "-":
                if key not in TOPICS:
                    raise ValueError(f"{path}: {row['topik']!r} maps to unknown key {key!r}")
                mapping[row["topik"].strip()] = key
    return mapping


def load_surabaya(path: Path, mapping: dict[str, str]) -> tuple[list[str], list[str], int]:
    """(texts, taxonomy keys, rows skipped as unmapped) from a Surabaya complaints CSV."""
    texts: list[str] = []
    keys: list[str] = []
    skipped = 0
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            key = mapping.get(row["topik"].strip())
            if key is None or not row["keluhan"].strip():
                skipped += 1
                continue
            texts.append(row["keluhan"])
            keys.append(key)
    return texts, keys, skipped


def surabaya_report_key(path: Path) -> tuple[str, str]:
    """(report.json key, title) for a Surabaya complaints file.

    ``complaints_2023H1.csv`` keeps the historical key ``surabaya_2023h1``; ``complaints_2022.csv``
    (the development set) becomes ``surabaya_2022``; any other file ``surabaya_<stem>``.
    """
    stem = path.stem.lower().removeprefix("complaints_")
    title = {"2023h1": "2023 H1", "2022": "2022 (set pengembangan)"}.get(stem, path.name)
    return f"surabaya_{re.sub(r'[^a-z0-9]+', '_', stem).strip('_')}", title


def load_sentiment(path: Path) -> tuple[list[str], list[bool]]:
    """(texts, is-negative) from the LAPOR! app tweets (full_text,status) or NusaX (id,text,label) CSV."""
    texts: list[str] = []
    negative: list[bool] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = row.get("full_text") or row.get("text") or ""
            label = (row.get("status") or row.get("label") or "").strip().lower()
            if not text.strip() or not label:
                continue
            texts.append(text)
            negative.append(label in {"negatif", "negative"})
    return texts, negative


def load_lexicon_pairs(path: Path) -> list[tuple[str, str]]:
    """(slang, formal) pairs from the colloquial Indonesian lexicon CSV."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["slang"], row["formal"]) for row in csv.DictReader(fh) if row.get("slang")]


BLIND_DIR = DATA_DIR / "blind"
BLIND_SPLITS = ("dev", "test")


@dataclass(frozen=True, slots=True)
class BlindPost:
    """One post of the blind set (classifiers/data/blind/README.md): never trained on."""

    id: str
    example: Example
    topics: tuple[str, ...]
    register: str
    split: str
    batch: str = ""
    """The file it came from, without ``.jsonl`` (one writer or register batch: ``third``)."""


def blind_split(post_id: str) -> str:
    """'dev' or 'test', by a stable hash of the id (half each, independent of file order)."""
    digest = hashlib.sha1(post_id.encode("utf-8")).digest()
    return BLIND_SPLITS[digest[0] % 2]


def load_blind(directory: Path = BLIND_DIR, split: str | None = None) -> list[BlindPost]:
    """Every post of the blind set's ``*.jsonl`` files (or only one split), in file then line order.

    A malformed line is an error naming file and line: the set is small and hand-written, so a
    silently skipped row would change the scores without anyone noticing.
    """
    out: list[BlindPost] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    post = _blind_post(row, path.stem)
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path.name}:{number}: {exc}") from exc
                if post.id in seen:
                    raise ValueError(f"{path.name}:{number}: id {post.id!r} is used twice")
                seen.add(post.id)
                if split is None or post.split == split:
                    out.append(post)
    return out


def _blind_post(row: dict[str, Any], batch: str = "") -> BlindPost:
    post_id = str(row["id"])
    relevant = bool(row["relevant"])
    complaint = bool(row["is_complaint"]) and relevant
    topic = row.get("topic") if complaint else None
    topics = tuple(row.get("topics") or ([topic] if topic else []))
    for key in (topic, *topics):
        if key is not None and key not in TOPICS:
            raise ValueError(f"unknown topic {key!r}")
    kecamatan = row.get("kecamatan") if relevant else None
    if complaint and topic is None:
        raise ValueError("a complaint needs a topic")
    example = Example(
        text=str(row["text"]),
        relevant=relevant,
        is_complaint=complaint,
        topic=topic,
        kecamatan=kecamatan,
        split="blind",
        source="blind",
    )
    return BlindPost(post_id, example, topics, str(row.get("register", "")), blind_split(post_id), batch)
