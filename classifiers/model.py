"""The text classifier: relevance (gazetteer rules + model), complaint, topic, place, urgency.

Three linear models share one feature matrix (word + character n-grams, see
:mod:`classifiers.features`); each is a LinearSVC wrapped in sigmoid calibration so its scores
are probabilities. Relevance also sees the gazetteer evidence as features, and decisive
evidence overrides the model (a confuser with no OKI signal is never relevant; no OKI
evidence at all is never relevant). Training is deterministic for a seed and takes seconds.

Prediction needs only numpy: the model file holds the vocabulary, IDF and the folded weight
matrices (no pickled scikit-learn objects), so a service that only classifies never imports
scikit-learn or scipy, and a stale model at the default location is retrained in a child
process whose memory is returned to the system when it exits.

Public interface (other stages code against it): :class:`TextClassifier`,
:func:`load_classifier`, :func:`train`, :data:`TOPICS`, :data:`TRIAGE_THRESHOLD`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.examples import Example
from classifiers.features import NgramFeatures, ProjectedFeatures
from classifiers.gazetteer import Evidence, Gazetteer, get_gazetteer
from classifiers.labels import Labels
from classifiers.normalise import normalise, normalise_split
from classifiers.region import region_relevance
from classifiers.taxonomy import TOPICS
from classifiers.urgency import urgency_cues

if TYPE_CHECKING:  # training only: prediction must not pay for importing scikit-learn/scipy
    import scipy.sparse as sp
    from sklearn.calibration import CalibratedClassifierCV

log = logging.getLogger(__name__)


TRIAGE_THRESHOLD = 0.6
"""Default: posts whose overall confidence is below this go to the comms team's triage queue."""

MODEL_FORMAT = 2
"""2: numpy arrays + JSON in a zip (``np.savez_compressed``, no pickle). 1 was a joblib pickle of
scikit-learn objects; such a file is treated as stale and retrained."""
DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "corpus.jsonl"
EXTERNAL_NEGATIVES = DATA_DIR / "external" / "smsa_sample.tsv"
TOPIC_LEXICON = DATA_DIR / "topic_lexicon.tsv"
HANDWRITTEN = DATA_DIR / "handwritten.jsonl"
SOURCE_WEIGHT = {"correction": 3.0, "handwritten": 2.0}
"""Training weight by source (else 1). Corrections count three times: they are few, and they are what
users told us. Hand-written posts count twice: 1,396 rows against 5,774 template rows, and the ones
that carry real registers (on the blind dev split complaint F1 0.853 at 1, 0.863 at 2, 0.867 at 3)."""
SECOND_TOPIC_WEIGHT = 0.5
"""Training weight of a post's second topic (the first counts 1), so the model names both, primary first."""
MODEL_FILE = "classifier.joblib"

# Everything that changes what a trained model would be. A model file whose data hash differs
# from the current one is stale and the default location retrains it.
_HASHED_FILES = (
    CORPUS_PATH,
    EXTERNAL_NEGATIVES,
    HANDWRITTEN,
    DATA_DIR / "slang_id.tsv",
    TOPIC_LEXICON,
    DATA_DIR / "oki_wilayah.csv",
    DATA_DIR / "sumsel_desa_kelurahan.csv",
    DATA_DIR / "sumsel_kabupaten_kecamatan.csv",
    DATA_DIR / "namesakes.csv",
    DATA_DIR / "elsewhere_places.csv",
    Path(__file__),
    Path(__file__).with_name("features.py"),
    Path(__file__).with_name("normalise.py"),
    Path(__file__).with_name("gazetteer.py"),
)


def load_corpus(path: Path = CORPUS_PATH) -> list[Example]:
    """The written OKI corpus (classifiers/data/corpus.jsonl)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out.append(
                Example(
                    text=row["text"],
                    relevant=row["relevant"],
                    is_complaint=row["is_complaint"],
                    topic=row["topic"],
                    kecamatan=row.get("kecamatan"),
                    split=row.get("split", "train"),
                    template=row.get("template", ""),
                )
            )
    return out


def load_handwritten(path: Path = HANDWRITTEN) -> list[Example]:
    """Posts written by hand in many registers (classifiers/data/README.md), with every topic they touch.

    Written by a different hand from the template corpus and the blind set, so the model learns
    words and registers the templates never use.
    """
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            topics = tuple(t for t in row.get("topics") or () if t in TOPICS)
            out.append(
                Example(
                    text=row["text"],
                    relevant=row["relevant"],
                    # The writers marked posts about elsewhere "not a complaint" whatever they say; a
                    # broken bridge in Banten is still a complaint, so those rows teach relevance only.
                    is_complaint=row["is_complaint"] if row["relevant"] else None,
                    topic=row.get("topic"),
                    kecamatan=row.get("kecamatan"),
                    source="handwritten",
                    topics=topics,
                )
            )
    return out


def load_external_negatives(path: Path = EXTERNAL_NEGATIVES) -> list[Example]:
    """General Indonesian reviews/comments (IndoNLU SmSA sample, Apache-2.0): never about OKI.

    They teach relevance what "not about OKI" looks like, and complaint detection that
    negative experiences written in ordinary Indonesian are complaints.
    """
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, _, label = line.rpartition("\t")
        text = text.strip()
        if not text:
            continue
        # A negative review is a complaint about something (just not about OKI); a positive
        # one is not. Neutral rows are left out of the complaint decision: they mix both.
        complaint = {"negative": True, "positive": False}.get(label.strip())
        out.append(Example(text=text, relevant=False, is_complaint=complaint, source="smsa"))
    return out


def corrections_to_examples(corrections: Iterable[tuple[str, dict[str, object]]]) -> list[Example]:
    """User corrections (text, {"relevant"?, "is_complaint"?, "topic"?}) as training examples.

    Unknown topics and non-boolean flags are skipped with a warning: one bad correction must
    not stop training.
    """
    out = []
    for text, fields in corrections:
        if not isinstance(text, str) or not text.strip():
            log.warning("correction skipped: empty text")
            continue
        rel = fields.get("relevant")
        comp = fields.get("is_complaint")
        topic = fields.get("topic")
        if rel is not None and not isinstance(rel, bool):
            log.warning("correction skipped: 'relevant' must be true/false, got %r", rel)
            continue
        if comp is not None and not isinstance(comp, bool):
            log.warning("correction skipped: 'is_complaint' must be true/false, got %r", comp)
            continue
        if topic is not None and topic not in TOPICS:
            log.warning("correction skipped: unknown topic %r (expected one of taxonomy.md)", topic)
            continue
        out.append(
            Example(
                text=text,
                relevant=rel,
                is_complaint=comp,
                topic=topic if isinstance(topic, str) else None,
                source="correction",
            )
        )
    return out


def data_hash() -> str:
    """SHA-256 over the training data, lexicon, gazetteer files and the code that shapes features."""
    digest = hashlib.sha256(f"format={MODEL_FORMAT}".encode())
    for path in _HASHED_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def _dist_version(name: str) -> str:
    # Read from the installed metadata: importing scikit-learn just to check a version would
    # cost the service ~60 MB of resident memory.
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def library_versions() -> dict[str, str]:
    """Versions that must match for a saved model to be trusted (the ones that shaped the weights)."""
    return {
        "python": platform.python_version(),
        "scikit-learn": _dist_version("scikit-learn"),
        "numpy": np.__version__,
        "scipy": _dist_version("scipy"),
    }


_N_EVIDENCE = 7


def _evidence_matrix(evidence: Sequence[Evidence]) -> sp.csr_matrix:
    import scipy.sparse as sp

    return sp.csr_matrix(_evidence_array(evidence))


def _evidence_array(evidence: Sequence[Evidence]) -> np.ndarray:
    # Counts are clipped: a second kecamatan name adds information, a fifth does not.
    counts = np.array(
        [(e.strong, e.place, e.weak, e.confuser, e.neighbour, e.bare_oki) for e in evidence], dtype=np.float64
    ).reshape(len(evidence), _N_EVIDENCE - 1)
    rows = np.empty((len(evidence), _N_EVIDENCE))
    np.minimum(counts, 2.0, out=rows[:, :-1])
    # Evidence.positive: any strong, place, weak or bare-"OKI" signal.
    rows[:, -1] = (counts[:, [0, 1, 2, 5]] > 0).any(axis=1)
    return rows * 0.5


def _calibrated(seed: int, c: float = 0.5) -> CalibratedClassifierCV:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    return CalibratedClassifierCV(
        LinearSVC(C=c, random_state=seed, max_iter=5000),
        method="sigmoid",
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=seed),
        # One SVM fitted on all rows, sigmoid fitted on out-of-fold scores: a third of the
        # prediction cost of averaging three fold models, same calibration idea.
        ensemble=False,
    )


_Part = tuple[str, int, int, np.ndarray, np.ndarray, np.ndarray]


class _Heads:
    """The three calibrated models folded into one weight matrix for fast batch scoring.

    Calibrated prediction in scikit-learn runs each fold's LinearSVC and its sigmoid per class
    separately, and relevance needs the text and evidence columns stacked (a copy of the whole
    batch matrix). Here all folds and classes of all three models are columns of one dense
    matrix, so a batch costs one product; `tests/test_classify_model.py` checks the
    probabilities equal ``predict_proba``. Plain arrays only, so the model file needs no pickle.
    """

    def __init__(
        self,
        text_weights: np.ndarray,
        evidence_weights: np.ndarray,
        parts: list[_Part],
        topic_names: list[str],
    ) -> None:
        self.text_weights = np.ascontiguousarray(text_weights, dtype=np.float64)
        self.evidence_weights = np.asarray(evidence_weights, dtype=np.float64)
        self.parts = parts
        self.topic_names = topic_names
        self.n_topics = len(topic_names)

    @classmethod
    def from_models(
        cls,
        relevance: CalibratedClassifierCV,
        complaint: CalibratedClassifierCV,
        topic: CalibratedClassifierCV,
        n_text: int,
    ) -> _Heads:
        """Fold fitted calibrated models (text columns first, relevance's evidence columns last)."""
        blocks: list[np.ndarray] = []
        ev_blocks: list[np.ndarray] = []
        parts: list[_Part] = []
        col = 0
        for name, model in (("relevance", relevance), ("complaint", complaint), ("topic", topic)):
            for cc in model.calibrated_classifiers_:
                est = cc.estimator
                coef = np.atleast_2d(est.coef_)
                blocks.append(coef[:, :n_text].T)
                ev = coef[:, n_text:] if coef.shape[1] > n_text else np.zeros((coef.shape[0], 0))
                ev_blocks.append(ev.T if name == "relevance" else np.zeros((_N_EVIDENCE, coef.shape[0])))
                a = np.array([c.a_ for c in cc.calibrators])
                b = np.array([c.b_ for c in cc.calibrators])
                positions = np.searchsorted(model.classes_, est.classes_) if coef.shape[0] > 1 else np.array([1])
                parts.append((name, col, coef.shape[0], np.atleast_1d(est.intercept_), np.stack([a, b]), positions))
                col += coef.shape[0]
        return cls(np.hstack(blocks), np.hstack(ev_blocks), parts, [str(c) for c in topic.classes_])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able description, named arrays) for the model file."""
        info = {"parts": [[name, col, width] for name, col, width, *_ in self.parts], "topics": self.topic_names}
        arrays = {"text_weights": self.text_weights, "evidence_weights": self.evidence_weights}
        for i, (_name, _col, _width, intercept, ab, positions) in enumerate(self.parts):
            arrays[f"part{i}_intercept"] = intercept
            arrays[f"part{i}_ab"] = ab
            arrays[f"part{i}_positions"] = positions
        return info, arrays

    @classmethod
    def from_state(cls, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> _Heads:
        """Inverse of :meth:`state`."""
        parts: list[_Part] = [
            (
                str(name),
                int(col),
                int(width),
                arrays[f"part{i}_intercept"],
                arrays[f"part{i}_ab"],
                arrays[f"part{i}_positions"],
            )
            for i, (name, col, width) in enumerate(info["parts"])
        ]
        return cls(arrays["text_weights"], arrays["evidence_weights"], parts, [str(t) for t in info["topics"]])

    def predict(self, X: sp.csr_matrix, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p_relevant, p_complaint, topic probabilities) like the calibrated models' predict_proba."""
        return self.decide(np.asarray(X @ self.text_weights), E)

    def decide(self, text_scores: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Same as :meth:`predict`, from ``X @ text_weights`` computed elsewhere (see `ProjectedFeatures`)."""
        D = text_scores + E @ self.evidence_weights
        n = D.shape[0]
        sums = {"relevance": np.zeros((n, 2)), "complaint": np.zeros((n, 2)), "topic": np.zeros((n, self.n_topics))}
        folds = {"relevance": 0, "complaint": 0, "topic": 0}
        for name, col, width, intercept, ab, positions in self.parts:
            decision = D[:, col : col + width] + intercept
            calibrated = 1.0 / (1.0 + np.exp(ab[0] * decision + ab[1]))
            if name == "topic":
                proba = np.zeros((n, self.n_topics))
                proba[:, positions] = calibrated
                total = proba.sum(axis=1, keepdims=True)
                proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / self.n_topics), where=total != 0)
            else:
                proba = np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
            sums[name] += proba
            folds[name] += 1
        return (
            sums["relevance"][:, 1] / folds["relevance"],
            sums["complaint"][:, 1] / folds["complaint"],
            sums["topic"] / folds["topic"],
        )


class TextClassifier:
    """Reads posts. Build with :func:`train` / :func:`load_classifier`; `predict` is batch."""

    def __init__(
        self,
        features: NgramFeatures,
        heads: _Heads,
        metadata: dict[str, Any],
        triage_threshold: float = TRIAGE_THRESHOLD,
        fitted: _Fitted | None = None,
    ) -> None:
        self.features = features
        self.metadata = metadata
        self.triage_threshold = triage_threshold
        self.version: str = str(metadata.get("version", "unknown"))
        self.fitted = fitted
        """The scikit-learn models, only on a classifier trained in this process (not saved)."""
        self._topic_names = heads.topic_names
        self._heads = heads
        self._projected = ProjectedFeatures(features, heads.text_weights)

    def scores(self, texts: Sequence[str]) -> tuple[list[str], list[Evidence], np.ndarray, np.ndarray, np.ndarray]:
        """Normalised texts, gazetteer evidence, and raw model probabilities (before rules)."""
        norm, _tokens, evidence, p_rel, p_comp, p_topic = self._score(texts)
        return norm, evidence, p_rel, p_comp, p_topic

    def _score(
        self, texts: Sequence[str], gazetteer: Gazetteer | None = None
    ) -> tuple[list[str], list[list[str]], list[Evidence], np.ndarray, np.ndarray, np.ndarray]:
        # One tokenisation pass: the normaliser's word list feeds the features, the gazetteer
        # and the urgency cues; none of them splits the text again.
        pairs = [normalise_split(t) if isinstance(t, str) else ("", []) for t in texts]
        norm = [text for text, _ in pairs]
        tokens = [words for _, words in pairs]
        gaz = gazetteer or get_gazetteer()
        evidence = [gaz.evidence(text, words) for text, words in pairs]
        p_rel, p_comp, p_topic = self._heads.decide(self._projected.decision(tokens), _evidence_array(evidence))
        return norm, tokens, evidence, p_rel, p_comp, p_topic

    def predict(self, texts: Sequence[str], gazetteer: Gazetteer | None = None) -> list[Labels]:
        """Labels for each text, same order. Empty or odd input gives a low-confidence label, never an error.

        `gazetteer` reads another region (:func:`classifiers.region.build_region_gazetteer`); its
        relevance then comes from place evidence alone (:func:`classifiers.region.region_relevance`).
        """
        if not texts:
            return []
        norm, tokens, evidence, p_rel, p_comp, p_topic = self._score(texts, gazetteer)
        rule = relevance_rule if gazetteer is None else _region_rule
        best = p_topic.argmax(axis=1)
        # Plain Python floats: indexing numpy arrays per post costs more than the rest of the loop.
        best_p = p_topic[np.arange(len(texts)), best].round(4).tolist()
        rel_list = p_rel.tolist()
        comp_list = p_comp.round(4).tolist()
        best_list = best.tolist()
        names = self._topic_names
        threshold = self.triage_threshold
        version = self.version
        tag = self.features.lexicon_tag
        # Only a post with another topic above the floor can have a second one: skip the word scan
        # for the rest (most posts).
        above = (p_topic >= SECOND_TOPIC_FLOOR).sum(axis=1)
        others = (above - (p_topic.max(axis=1) >= SECOND_TOPIC_FLOOR) > 0).tolist()
        out: list[Labels] = []
        append = out.append
        for i, ev in enumerate(evidence):
            rs = rule(rel_list[i], ev)
            relevant = rs >= 0.5
            cs = comp_list[i]
            is_complaint = cs >= 0.5
            ts = best_p[i]
            conf = rs if rs >= 0.5 else 1.0 - rs
            if relevant:
                conf = min(conf, cs if is_complaint else 1.0 - cs)
                if is_complaint:
                    conf = min(conf, ts)
            cues = urgency_cues(norm[i], tokens[i]) if relevant else ()
            primary = names[best_list[i]]
            topics: tuple[str, ...] = (primary,)
            if others[i]:
                other = second_topic(tokens[i], p_topic[i], best_list[i], names, tag)
                # Conduct first whatever the relevance and complaint calls: the topic says what the
                # post is about, and a levy post that names no place is still about the levy.
                if other in CONDUCT_TOPICS or (other is not None and FIRST_OVER.get(other) == primary):
                    primary, other = other, primary
                topics = (primary, other) if relevant and is_complaint and other else (primary,)
            append(
                _labels(
                    relevant,
                    round(rs, 4),
                    is_complaint,
                    cs,
                    primary,
                    ts,
                    ev.kecamatan if relevant else None,
                    ev.desa if relevant else None,
                    bool(cues) and is_complaint,
                    cues,
                    round(conf, 4),
                    conf < threshold,
                    version,
                    topics,
                )
            )
        return out


_new_object = object.__new__
(
    _set_relevant, _set_relevance_score, _set_is_complaint, _set_complaint_score, _set_topic, _set_topic_score,
    _set_kecamatan, _set_desa, _set_urgent, _set_urgency_cues, _set_confidence, _set_needs_triage,
    _set_model_version, _set_topics,
) = (getattr(Labels, f.name).__set__ for f in dataclass_fields(Labels))  # unpacking fails if Labels gains a field


def _labels(
    relevant: bool, relevance_score: float, is_complaint: bool, complaint_score: float, topic: str,
    topic_score: float, kecamatan: str | None, desa: str | None, urgent: bool, urgency_cues: tuple[str, ...],
    confidence: float, needs_triage: bool, model_version: str, topics: tuple[str, ...],
) -> Labels:
    """``Labels(...)`` (same fields, same order) at about half the cost: the frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``; this sets the slots directly.
    One call per post, and the classifier's throughput target is 20,000 posts per CPU-second."""
    obj: Labels = _new_object(Labels)
    _set_relevant(obj, relevant)
    _set_relevance_score(obj, relevance_score)
    _set_is_complaint(obj, is_complaint)
    _set_complaint_score(obj, complaint_score)
    _set_topic(obj, topic)
    _set_topic_score(obj, topic_score)
    _set_kecamatan(obj, kecamatan)
    _set_desa(obj, desa)
    _set_urgent(obj, urgent)
    _set_urgency_cues(obj, urgency_cues)
    _set_confidence(obj, confidence)
    _set_needs_triage(obj, needs_triage)
    _set_model_version(obj, model_version)
    _set_topics(obj, topics)
    return obj


CONDUCT_TOPICS = frozenset({"pungli_korupsi"})
"""Topics about how officials behave, not about a service: when a complaint is about one of them and
the service it happened at (a levy at Disdukcapil), the conduct is the cause to fix, so it is primary
and the service second (taxonomy.md routes it to the Inspektorat). The model's scores favour the
service, whose words fill such posts, so a conduct topic that qualifies as second topic (a word of its
domain and at least SECOND_TOPIC_FLOOR) is put first whatever the margin (blind dev topic macro-F1
0.914 -> 0.937 with the same model; a margin of 0.1 before)."""
FIRST_OVER = {"bencana": "pertanian"}
"""Cause before consequence: a disaster that ruins fields (a flood on the rice, a fire in the rubber) is
handled first as the disaster (BPBD), the lost harvest after it (Dinas Pertanian), so when the model
puts the harvest first and the disaster qualifies as second topic they swap (blind dev topic macro-F1
0.970 -> 0.977 and 0.927 -> 0.935 on the third writer's half, Surabaya unchanged). Only this pair: a
flood on a road or in a pipe is mostly a drainage or network fault, which the road or water agency
fixes (making every disaster primary lost 0.015 on the first writers' dev half)."""
SECOND_TOPIC_FLOOR = 0.1
"""A second topic needs at least this probability from the model, besides a word of its domain."""


def second_topic(words: Sequence[str], probabilities: np.ndarray, primary: int, names: Sequence[str],
                 tag: Callable[[str], str | None]) -> str | None:
    """The second topic of a complaint, or None: the other topic with the most domain words in the post
    (`tag` maps a word to its lexicon topic) among those the model gives at least SECOND_TOPIC_FLOOR.

    The model's own runner-up alone is a poor second topic (its calibrated scores saturate, and on
    the blind dev set it named a right second topic 4 times in 10); asking for a domain word too
    doubles that.
    """
    hits: dict[str, int] = {}
    for word in set(words):
        topic = tag(word)
        if topic is not None and topic != names[primary]:
            hits[topic] = hits.get(topic, 0) + 1
    best: tuple[int, float, str] | None = None
    for topic, count in hits.items():
        p = float(probabilities[names.index(topic)]) if topic in names else 0.0
        if p >= SECOND_TOPIC_FLOOR and (best is None or (count, p) > best[:2]):
            best = (count, p, topic)
    return best[2] if best else None


def _region_rule(_p_model: float, ev: Evidence) -> float:
    """Relevance under a derived region's gazetteer: the model's OKI place features do not transfer."""
    return region_relevance(ev)


def relevance_rule(p_model: float, ev: Evidence) -> float:
    """Combine the model's relevance probability with decisive gazetteer evidence.

    - no OKI evidence at all: not relevant (the model alone cannot place a post in OKI);
    - a confuser or a place elsewhere (a neighbour's town or kecamatan, another regency or
      province) and no strong or OKI-own place name: not relevant;
    - a strong OKI signal (Pemkab OKI, Kayuagung, an official account, ...) with no confuser:
      relevant;
    - an OKI-own place name (the gazetteer's place-weight rule: Pedamaran, Cengal, a desa no
      other region has) with nothing pointing elsewhere: relevant unless the model is very sure
      it is not;
    - anything else (weak names such as Mesuji, a bare "OKI", an OKI place next to a place
      elsewhere): the model decides.

    The gazetteer has already weighed places against each other (see `classifiers.gazetteer`):
    OKI place names outnumbered by places elsewhere arrive here as weak evidence.
    """
    if not ev.positive:
        return min(p_model, 0.2)
    negative = ev.confuser or ev.neighbour
    if negative and not (ev.strong or ev.place):
        return min(p_model, 0.3)
    if ev.strong and not ev.confuser:
        return max(p_model, 0.9)
    if ev.place and not negative:
        return max(p_model, 0.7) if p_model > 0.1 else p_model
    return p_model


@dataclass(frozen=True, slots=True)
class _Fitted:
    features: NgramFeatures
    relevance: CalibratedClassifierCV
    complaint: CalibratedClassifierCV
    topic: CalibratedClassifierCV


def load_topic_lexicon(path: Path = TOPIC_LEXICON) -> dict[str, str]:
    """Domain word -> taxonomy key (classifiers/data/topic_lexicon.tsv)."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            word, _, topic = raw.partition("\t")
            if topic.strip() in TOPICS:
                out[word.strip()] = topic.strip()
    return out


_Read = dict[str, tuple[str, Evidence]]
"""Raw text -> (normalised text, gazetteer evidence): `train` fits twice on mostly the same posts."""


def _fit(examples: Sequence[Example], seed: int, read: _Read | None = None) -> _Fitted:
    import scipy.sparse as sp

    read = {} if read is None else read
    gaz = get_gazetteer()
    for e in examples:
        if e.text not in read:
            text = normalise(e.text)
            read[e.text] = (text, gaz.evidence(text))
    norm = [read[e.text][0] for e in examples]
    features = NgramFeatures(lexicon=load_topic_lexicon()).fit(norm)
    X = features.transform(norm)
    X.sum_duplicates()
    E = _evidence_matrix([read[e.text][1] for e in examples])
    weight = np.array([SOURCE_WEIGHT.get(e.source, 1.0) for e in examples])

    rel_idx = np.array([i for i, e in enumerate(examples) if e.relevant is not None])
    Xr = sp.hstack([X, E], format="csr")[rel_idx]
    y_rel = np.array([int(bool(examples[i].relevant)) for i in rel_idx])
    relevance = _calibrated(seed).fit(Xr, y_rel, sample_weight=weight[rel_idx])

    comp_idx = np.array([i for i, e in enumerate(examples) if e.is_complaint is not None])
    y_comp = np.array([int(bool(examples[i].is_complaint)) for i in comp_idx])
    complaint = _calibrated(seed).fit(X[comp_idx], y_comp, sample_weight=weight[comp_idx])

    top_idx = [i for i, e in enumerate(examples) if e.topic is not None]
    y_top = [str(examples[i].topic) for i in top_idx]
    w_top = [weight[i] for i in top_idx]
    # A post about two topics is shown again under its second one, at a lower weight: the model
    # learns to give both probability, the primary more.
    for i, e in enumerate(examples):
        if e.topic is not None and len(e.topics) >= 2 and e.topics[1] != e.topic:
            top_idx.append(i)
            y_top.append(e.topics[1])
            w_top.append(weight[i] * SECOND_TOPIC_WEIGHT)
    topic = _calibrated(seed, c=0.7).fit(X[np.array(top_idx)], np.array(y_top), sample_weight=np.array(w_top))
    return _Fitted(features, relevance, complaint, topic)


def _classifier(fitted: _Fitted, metadata: dict[str, Any]) -> TextClassifier:
    heads = _Heads.from_models(fitted.relevance, fitted.complaint, fitted.topic, fitted.features.n_features)
    return TextClassifier(fitted.features, heads, metadata, fitted=fitted)


def fit_held_out(
    seed: int = 0,
    corpus: list[Example] | None = None,
    external: list[Example] | None = None,
    fixes: list[Example] | None = None,
    read: _Read | None = None,
) -> tuple[TextClassifier, list[Example], list[Example]]:
    """A model fitted without the held-out templates, with its training and held-out examples.

    ``read``, when given, holds normalised texts and evidence already computed (and receives the new ones).
    """
    corpus = load_corpus() if corpus is None else corpus
    external = load_external_negatives() if external is None else external
    train_part = [e for e in corpus if e.split == "train"] + external[::2] + load_handwritten() + (fixes or [])
    test_part = [e for e in corpus if e.split == "test"]
    return _classifier(_fit(train_part, seed, read), {"version": "held-out"}), train_part, test_part


def train(
    output: Path,
    corrections: Iterable[tuple[str, dict[str, object]]] = (),
    seed: int = 0,
) -> dict[str, object]:
    """Train on the bundled corpus (+ permissive external negatives + corrections) and save to `output`.

    First a model is fitted on the template-held-out training split and scored on the held-out
    split (the honest numbers in the metadata); then the shipped model is fitted on everything.
    Returns the metadata stored next to the model.
    """
    from classifiers.evaluation import score_examples  # local: scikit-learn metrics only when training

    started = datetime.now(UTC)
    corpus = load_corpus()
    external = load_external_negatives()
    fixes = corrections_to_examples(corrections)

    read: _Read = {}  # the held-out fit's posts are nearly all in the full fit: read each once
    held_out, train_part, test_part = fit_held_out(seed, corpus, external, fixes, read)
    metrics = score_examples(held_out, test_part)

    handwritten = load_handwritten()
    everything = corpus + external + handwritten + fixes
    fitted = _fit(everything, seed, read)
    del read
    digest = data_hash()
    metadata: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "version": f"svc-{digest[:10]}-s{seed}" + (f"-c{len(fixes)}" if fixes else ""),
        "data_hash": digest,
        "trained_at": started.isoformat(timespec="seconds"),
        "seed": seed,
        "libraries": library_versions(),
        "examples": {
            "corpus": len(corpus),
            "external_negatives": len(external),
            "handwritten": len(handwritten),
            "corrections": len(fixes),
            "held_out_train": len(train_part),
            "held_out_test": len(test_part),
        },
        "held_out_metrics": metrics,
        "triage_threshold": TRIAGE_THRESHOLD,
        "train_seconds": 0.0,
    }
    metadata["train_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 2)
    classifier = _classifier(fitted, metadata)
    _save(classifier, output)
    with _LOCK:
        _CACHE[output.resolve()] = classifier
    return metadata


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _save(classifier: TextClassifier, output: Path) -> None:
    """Write the model file (format 2): arrays plus one JSON document, no pickle."""
    features_info, features_arrays = classifier.features.state()
    heads_info, heads_arrays = classifier._heads.state()
    info = {"format": MODEL_FORMAT, "metadata": classifier.metadata, "features": features_info, "heads": heads_info}
    blob = json.dumps(info, default=_json_default, ensure_ascii=False).encode("utf-8")
    arrays: dict[str, Any] = {f"features_{k}": v for k, v in features_arrays.items()}
    arrays.update({f"heads_{k}": v for k, v in heads_arrays.items()})
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:  # a file object: np.savez would append ".npz" to a path
        np.savez_compressed(fh, allow_pickle=False, info=np.frombuffer(blob, dtype=np.uint8), **arrays)
    os.replace(tmp, output)  # atomic: a concurrent reader sees the old file or the new one


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)}


class _OldFormat(Exception):
    """The file is a model written by an earlier version (format 1, a joblib pickle)."""


def _read(path: Path) -> tuple[dict[str, Any], TextClassifier]:
    """(metadata, classifier) from a model file; `_OldFormat` for a pre-2 model, other errors as raised."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if not head.startswith(b"PK"):
        # Format 1 was a zlib-compressed (b"x") or plain (b"\x80") pickle; never unpickle it
        # (that would import scikit-learn and run whatever the file says).
        if head[:1] in (b"x", b"\x80"):
            raise _OldFormat(f"{path} is a model file of an older format")
        raise ValueError("not a model file")
    with np.load(path, allow_pickle=False) as npz:
        info = json.loads(bytes(npz["info"]).decode("utf-8"))
        arrays = {name: npz[name] for name in npz.files if name != "info"}
    if info.get("format") != MODEL_FORMAT:
        raise _OldFormat(f"{path} has model format {info.get('format')}, expected {MODEL_FORMAT}")
    features = NgramFeatures.from_state(info["features"], _prefixed(arrays, "features_"))
    heads = _Heads.from_state(info["heads"], _prefixed(arrays, "heads_"))
    metadata = info["metadata"]
    return metadata, TextClassifier(features, heads, metadata)


def _retrain(target: Path) -> None:
    """Train into `target` in a child process, or here if that fails.

    Training imports scikit-learn and scipy and peaks at a few hundred MB; in a child process
    all of it goes back to the system when the child exits, so a long-running service that
    found a stale model does not carry it for the rest of its life.
    """
    if sys.executable:
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        code = "import sys, pathlib; from classifiers.model import train; train(pathlib.Path(sys.argv[1]))"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(target)],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("training in a child process failed (%s); training in this process", exc)
        else:
            if proc.returncode == 0:
                return
            log.warning(
                "training in a child process failed (exit %s: %s); training in this process",
                proc.returncode,
                proc.stderr.strip()[-500:],
            )
    train(target)


_CACHE: dict[Path, TextClassifier] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """``$OKI_MONITOR_MODEL_DIR/classifier.joblib`` or ``./var/models/classifier.joblib``."""
    base = os.environ.get("OKI_MONITOR_MODEL_DIR")
    return (Path(base) if base else Path.cwd() / "var" / "models") / MODEL_FILE


def _is_current(metadata: dict[str, Any]) -> bool:
    return (
        metadata.get("format") == MODEL_FORMAT
        and metadata.get("data_hash") == data_hash()
        and metadata.get("libraries") == library_versions()
    )


def load_classifier(path: Path | None = None) -> TextClassifier:
    """Load a trained classifier (cached per path within the process).

    With ``path=None`` the default location is used, and a missing or stale model (other
    training data, code or library versions, or an older file format) is retrained there from
    the bundled corpus, in a child process. An explicit path must exist; a stale explicit model
    is used with a warning, and one of an older file format is retrained in place (with a
    warning: corrections it held need `oki-monitor train --from-db` again).
    """
    auto = path is None
    target = (default_model_path() if path is None else path).resolve()
    with _LOCK:
        cached = _CACHE.get(target)
        if cached is not None:
            return cached
        if target.exists():
            try:
                metadata, classifier = _read(target)
            except _OldFormat as exc:
                log.warning("%s; retraining it from the bundled corpus", exc)
                if not auto:
                    log.warning("corrections in the old model are not carried over: run `oki-monitor train --from-db`")
            except Exception as exc:  # a truncated or foreign file: say so, retrain if we may
                if not auto:
                    raise RuntimeError(
                        f"Model file {target} cannot be read ({exc}). Run `oki-monitor train --output {target}`."
                    ) from exc
                log.warning("model file %s unreadable (%s); retraining", target, exc)
            else:
                if _is_current(metadata) or not auto:
                    if not _is_current(metadata):
                        log.warning(
                            "model %s was trained from other data or library versions; "
                            "run `oki-monitor train` to refresh it",
                            target,
                        )
                    _CACHE[target] = classifier
                    return classifier
                log.info("model %s is stale; retraining from the bundled corpus", target)
        elif not auto:
            raise FileNotFoundError(f"No model file at {target}. Run `oki-monitor train --output {target}` first.")
    with _training_lock(target):
        ready = _trained_meanwhile(target, auto)
        if ready is None:
            _retrain(target)
    with _LOCK:
        cached = _CACHE.get(target)
        if cached is None:
            cached = ready or _read(target)[1]
            _CACHE[target] = cached
        return cached


@contextmanager
def _training_lock(target: Path) -> Iterator[None]:
    """Hold ``<model>.lock``: one trainer per model file across processes and threads.

    Test workers, dashboard workers and the scheduler may all find the same model missing at
    once; one trains (a few hundred MB, tens of seconds of CPU), the others wait and load it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.with_name(target.name + ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file is closed, also if this process dies
        yield


def _trained_meanwhile(target: Path, auto: bool) -> TextClassifier | None:
    """The model another process wrote while this one waited for the training lock, if it will do."""
    try:
        metadata, classifier = _read(target)
    except Exception:  # still missing, old or unreadable: ours to train
        return None
    return classifier if not auto or _is_current(metadata) else None
