"""The scheduled retrain: a candidate model trained with the stored corrections replaces the
running one only when it scores no worse on text nobody here wrote.

The gate (:func:`decide_promotion`) is a pure function of two score sets and a tolerance. A
"metric" is one number on one evaluation set, all on a 0-1 scale where higher is better:

============================  =====================================  ===========================
metric                        set                                    what one post moves it by
============================  =====================================  ===========================
``blind_relevance_f1``        blind set (classifiers/data/blind)     ~0.003 (400 posts)
``blind_complaint_f1``        blind set                              ~0.004
``blind_topic_macro_f1``      blind set, complaints                  ~0.003-0.01 (16 classes)
``blind_kecamatan_accuracy``  blind set, posts naming a kecamatan    ~0.005
``surabaya_accuracy``         Surabaya Media Center 2023 H1 topics   0.001 (1,000 complaints)
``surabaya_macro_f1``         Surabaya, macro over present classes   ~0.001-0.005
============================  =====================================  ===========================

"No worse" on a metric means ``candidate >= current - tolerance`` (``classifier.retrain.tolerance``,
default 0.005: about one blind post, or five Surabaya complaints). The tolerance absorbs the
one-post jitter that any retrain causes without letting a real loss through; a candidate must
be no worse on *every* metric, so a gain on one set never pays for a loss on another. A metric
the set cannot measure on both models (e.g. no post of the blind set names a kecamatan) is left
out; a set that is missing refuses the promotion, because a model that was not measured on
independent text is not known to be no worse.

Training and scoring run in a child process (as :func:`classifiers.model.load_classifier`
retrains): they import scikit-learn and scipy and peak at a few hundred MB, which a long-running
service would otherwise keep for the rest of its life. The parent gathers the corrections,
decides, replaces the model file atomically and records the run (table ``model_runs``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.stages.corrections import stored_corrections
from monitor.store.db import Database
from monitor.store.models import ModelRun

if TYPE_CHECKING:  # the child's imports; the parent never needs scikit-learn
    from classifiers.evaluation import Predictor
    from classifiers.examples import Example

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Metric:
    """One gate metric: its key, the set it is measured on, and how users read its name."""

    key: str
    set: str
    label: str


METRICS: tuple[Metric, ...] = (
    Metric("blind_relevance_f1", "blind", "relevansi F1 (set buta)"),
    Metric("blind_complaint_f1", "blind", "keluhan F1 (set buta)"),
    Metric("blind_topic_macro_f1", "blind", "topik macro-F1 (set buta)"),
    Metric("blind_kecamatan_accuracy", "blind", "akurasi kecamatan (set buta)"),
    Metric("surabaya_accuracy", "surabaya", "akurasi topik (Surabaya)"),
    Metric("surabaya_macro_f1", "surabaya", "macro-F1 topik (Surabaya)"),
)


@dataclass(frozen=True, slots=True)
class Scores:
    """A model's gate metrics; a set that could not be read has ``None`` and the reason why."""

    version: str = ""
    blind: Mapping[str, float | None] | None = None
    surabaya: Mapping[str, float | None] | None = None
    blind_problem: str | None = None
    surabaya_problem: str | None = None

    def value(self, metric: Metric) -> float | None:
        """The metric's value, ``None`` when its set is missing or cannot measure it."""
        scores = self.blind if metric.set == "blind" else self.surabaya
        return None if scores is None else scores.get(metric.key)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (stored in ``model_runs``, passed from the child process)."""
        return {
            "version": self.version,
            "blind": dict(self.blind) if self.blind is not None else None,
            "surabaya": dict(self.surabaya) if self.surabaya is not None else None,
            "blind_problem": self.blind_problem,
            "surabaya_problem": self.surabaya_problem,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scores:
        """Inverse of :meth:`to_json`."""
        return cls(
            version=str(data.get("version") or ""),
            blind=data.get("blind"),
            surabaya=data.get("surabaya"),
            blind_problem=data.get("blind_problem"),
            surabaya_problem=data.get("surabaya_problem"),
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the gate decided as it did: a stable code and a sentence in Bahasa Indonesia."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Promote or not, and every reason (all refusals are listed, not only the first)."""

    promote: bool
    reasons: tuple[Reason, ...]


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def decide_promotion(current: Scores, candidate: Scores, tolerance: float) -> Decision:
    """Promote ``candidate`` only if it is no worse than ``current`` on every gate metric.

    Refusal reasons (codes): ``no_blind`` / ``no_surabaya`` (the set is missing: nothing says the
    candidate is no worse on independent text), ``unmeasured`` (one model has the metric, the
    other does not), ``worse`` (lower than ``current - tolerance``), ``no_metrics`` (nothing at
    all could be compared). Promotion has one reason, ``no_worse``, naming how many metrics were
    compared and which improved.
    """
    reasons: list[Reason] = []
    if candidate.blind is None or current.blind is None:
        problem = candidate.blind_problem or current.blind_problem or "set buta tidak terbaca"
        reasons.append(Reason("no_blind", f"set buta tidak tersedia: {problem}"))
    if candidate.surabaya is None or current.surabaya is None:
        problem = candidate.surabaya_problem or current.surabaya_problem or "data Surabaya tidak terbaca"
        reasons.append(Reason("no_surabaya", f"keluhan Surabaya tidak tersedia: {problem}"))
    compared = 0
    better: list[str] = []
    for metric in METRICS:
        old, new = current.value(metric), candidate.value(metric)
        if old is None and new is None:
            continue  # the set cannot measure it (or is missing, which is reported above)
        if old is None or new is None:
            reasons.append(
                Reason("unmeasured", f"{metric.label}: hanya terukur pada satu model ({_f(old)} → {_f(new)})")
            )
            continue
        compared += 1
        if new < old - tolerance:
            reasons.append(
                Reason(
                    "worse",
                    f"{metric.label} turun {old:.3f} → {new:.3f} (selisih {old - new:.3f}, toleransi {tolerance:.3f})",
                )
            )
        elif new > old:
            better.append(f"{metric.label} {old:.3f} → {new:.3f}")
    if compared == 0 and not reasons:
        reasons.append(Reason("no_metrics", "tidak ada ukuran yang bisa dibandingkan"))
    if reasons:
        return Decision(False, tuple(reasons))
    summary = f"tidak lebih buruk pada {compared} ukuran (toleransi {tolerance:.3f})"
    if better:
        summary += "; naik: " + ", ".join(better)
    return Decision(True, (Reason("no_worse", summary),))


# ------------------------------------------------------------------------------------------
# Measuring (child process side): pure over loaded data, loaders take paths.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GateData:
    """The evaluation sets of the gate, or why each could not be read."""

    blind: list[Example] | None
    surabaya: tuple[list[str], list[str]] | None
    blind_problem: str | None = None
    surabaya_problem: str | None = None


def missing_sets(blind_dir: Path, surabaya_file: Path) -> tuple[str | None, str | None]:
    """(blind problem, Surabaya problem): what is missing on disk, in words for the run record."""
    blind = None
    if not blind_dir.is_dir() or not any(blind_dir.glob("*.jsonl")):
        blind = f"tidak ada berkas *.jsonl di {blind_dir}; tambahkan set buta (lihat classifiers/data/blind/README.md)"
    surabaya = None
    if not surabaya_file.is_file():
        surabaya = f"berkas {surabaya_file} tidak ditemukan; atur classifier.retrain.data_dir dan surabaya_file"
    return blind, surabaya


def load_gate_data(blind_dir: Path, surabaya_file: Path) -> GateData:
    """Read the blind set and the Surabaya complaints; a missing or broken set becomes a problem message."""
    from classifiers import evaluation as ev

    blind_problem, surabaya_problem = missing_sets(blind_dir, surabaya_file)
    blind: list[Example] | None = None
    if blind_problem is None:
        try:
            blind = [post.example for post in ev.load_blind(blind_dir)]
        except (OSError, ValueError) as exc:
            blind_problem = f"set buta di {blind_dir} rusak: {exc}"
        else:
            if not blind:
                blind, blind_problem = None, f"set buta di {blind_dir} kosong"
    surabaya: tuple[list[str], list[str]] | None = None
    if surabaya_problem is None:
        try:
            texts, keys, _skipped = ev.load_surabaya(surabaya_file, ev.load_surabaya_map())
        except (OSError, ValueError, KeyError) as exc:
            surabaya_problem = f"berkas {surabaya_file} tidak terbaca: {exc}"
        else:
            if texts:
                surabaya = (texts, keys)
            else:
                surabaya_problem = f"berkas {surabaya_file} tidak berisi keluhan yang terpetakan"
    return GateData(blind, surabaya, blind_problem, surabaya_problem)


def measure(model: Predictor, version: str, data: GateData) -> Scores:
    """The gate metrics of ``model`` on ``data``."""
    from classifiers import evaluation as ev

    blind: dict[str, float | None] | None = None
    if data.blind is not None:
        s = ev.score_examples(model, data.blind)
        topic_n = s["topic"]["n"]
        blind = {
            "blind_relevance_f1": s["relevance_f1"],
            "blind_complaint_f1": s["complaint_f1"],
            "blind_topic_macro_f1": s["topic"]["macro_f1"] if topic_n else None,
            "blind_kecamatan_accuracy": s["kecamatan_accuracy"],
        }
    surabaya: dict[str, float | None] | None = None
    if data.surabaya is not None:
        texts, truth = data.surabaya
        t = ev.topic_scores(truth, [lab.topic for lab in model.predict(texts)])
        surabaya = {"surabaya_accuracy": t["accuracy"], "surabaya_macro_f1": t["macro_f1"]}
    return Scores(version, blind, surabaya, data.blind_problem, data.surabaya_problem)


def _text_key(text: str) -> str:
    return " ".join(text.lower().split())


def without_blind_texts(
    corrections: Sequence[tuple[str, dict[str, object]]], blind: Sequence[Example] | None
) -> tuple[list[tuple[str, dict[str, object]]], int]:
    """Corrections whose text is not a blind-set post, and how many were dropped: the set stays unseen."""
    seen = {_text_key(e.text) for e in blind or ()}
    kept = [c for c in corrections if _text_key(c[0]) not in seen]
    return kept, len(corrections) - len(kept)


def evaluate_candidate(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Child-process work: score the live model, train the candidate, score it. JSON in, JSON out."""
    from classifiers import model as model_module

    data = load_gate_data(Path(spec["blind_dir"]), Path(spec["surabaya_file"]))
    corrections = [(str(t), dict(f)) for t, f in spec["corrections"]]
    corrections, dropped = without_blind_texts(corrections, data.blind)
    live = model_module.load_classifier(Path(spec["live"]))
    current = measure(live, live.version, data)
    started = time.monotonic()
    meta = model_module.train(Path(spec["candidate"]), corrections, seed=int(spec.get("seed", 0)))
    candidate = model_module.load_classifier(Path(spec["candidate"]))
    return {
        "current": current.to_json(),
        "candidate": measure(candidate, str(meta["version"]), data).to_json(),
        "corrections": len(corrections),
        "dropped": dropped,
        "train_seconds": round(time.monotonic() - started, 2),
    }


def _child_main() -> int:
    spec = json.loads(sys.stdin.read())
    result = evaluate_candidate(spec)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


Runner = Callable[[Mapping[str, Any]], dict[str, Any]]


def run_in_child(spec: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`evaluate_candidate` in a child Python process (its memory goes back to the system at exit)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.stages.retrain"],
        input=json.dumps(spec, ensure_ascii=False),
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(tanpa pesan)"]
        raise RuntimeError(f"pelatihan kandidat gagal (kode {proc.returncode}): {tail[0][:500]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# ------------------------------------------------------------------------------------------
# The run (parent side): corrections in, decision, atomic promotion, record.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GatePaths:
    """Where the live model, the blind set and the Surabaya file are, from the config."""

    live: Path
    blind_dir: Path
    surabaya_file: Path


def _blind_default() -> Path:
    # classifiers.evaluation.BLIND_DIR, without importing that module (it imports scikit-learn).
    return ROOT / "classifiers" / "data" / "blind"


def resolve_paths(config: AppConfig) -> GatePaths:
    """Resolve the configured paths (relative ones against the working directory, as `eval` does)."""
    from classifiers.model import default_model_path

    rc = config.classifier.retrain
    live = Path(config.classifier.model_path) if config.classifier.model_path else default_model_path()
    data_dir = Path(rc.data_dir)
    return GatePaths(
        live=live.resolve(),
        blind_dir=Path(rc.blind_dir) if rc.blind_dir else _blind_default(),
        surabaya_file=data_dir / rc.surabaya_file,
    )


def model_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of a model file: changes when the file is replaced, even within one second."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def forget_cached_model(path: Path) -> None:
    """Drop a model from :func:`classifiers.model.load_classifier`'s per-path cache.

    The cache has no public eviction, and a promoted file at the same path would otherwise keep
    being served from memory; `bench/classify.py` clears it the same way.
    """
    from classifiers import model as model_module

    with model_module._LOCK:
        model_module._CACHE.pop(path.resolve(), None)


def _fingerprint(
    corrections: Sequence[tuple[str, dict[str, object]]], paths: GatePaths, tolerance: float, seed: int
) -> str:
    from classifiers.model import data_hash

    digest = hashlib.sha256()
    digest.update(json.dumps(corrections, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    digest.update(data_hash().encode())
    # Not the live model file: after a promotion it is the last candidate, and retraining the same
    # inputs would only promote an identical model again. A model replaced by hand is judged at the
    # next change of corrections, data or evaluation sets.
    digest.update(repr((str(paths.live), tolerance, seed)).encode())
    for path in sorted(paths.blind_dir.glob("*.jsonl")) if paths.blind_dir.is_dir() else ():
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(repr(model_stamp(paths.surabaya_file)).encode())
    return digest.hexdigest()


@dataclass
class RetrainReport:
    """What one run did (also stored as a ``model_runs`` row, id ``run_id``)."""

    run_id: int
    status: str
    reasons: list[Reason] = field(default_factory=list)
    current: Scores | None = None
    candidate: Scores | None = None

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"


def _reasons_json(reasons: Sequence[Reason]) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in reasons]


def run_retrain(
    db: Database,
    config: AppConfig,
    now: Callable[[], datetime],
    *,
    trigger: str = "schedule",
    runner: Runner = run_in_child,
    paths: GatePaths | None = None,
) -> RetrainReport:
    """Train a candidate with the stored corrections, gate it, promote or refuse, and record the run.

    A run whose inputs (corrections, training data and code, evaluation sets, tolerance, seed)
    are those of the last completed run is recorded as ``skipped`` without training: the same
    inputs give the same candidate and the same decision. A run that cannot promote (a set is
    missing on disk) refuses before training; a training failure is recorded as ``failed``.
    """
    rc = config.classifier.retrain
    paths = paths or resolve_paths(config)
    started_at, started = now(), time.monotonic()
    corrections = stored_corrections(db)
    row = ModelRun(
        started_at=started_at,
        trigger=trigger,
        status="failed",
        corrections=len(corrections),
        corrections_dropped=0,
        tolerance=rc.tolerance,
        current_scores={},
        candidate_scores={},
        reasons=[],
        model_path=str(paths.live),
        seconds=0.0,
    )

    def finish(status: str, reasons: Sequence[Reason], **extra: Any) -> RetrainReport:
        row.status, row.reasons, row.finished_at = status, _reasons_json(reasons), now()
        row.seconds = round(time.monotonic() - started, 2)
        for key, value in extra.items():
            setattr(row, key, value)
        with db.session() as session:
            session.add(row)
            session.flush()
            run_id = row.id
        level = logging.INFO if status != "failed" else logging.ERROR
        log.log(level, "retrain run %d: %s (%s)", run_id, status, "; ".join(r.message for r in reasons))
        return RetrainReport(run_id, status, list(reasons))

    try:
        if not paths.live.exists():
            from classifiers.model import load_classifier

            # The default location trains itself on first use; a configured path must exist.
            load_classifier(None if not config.classifier.model_path else paths.live)
        fingerprint = _fingerprint(corrections, paths, rc.tolerance, rc.seed)
    except Exception as exc:  # record why; the scheduler logs and retries next week
        return finish("failed", [Reason("error", f"model saat ini tidak bisa dibaca: {exc}")])
    blind_problem, surabaya_problem = missing_sets(paths.blind_dir, paths.surabaya_file)
    if blind_problem or surabaya_problem:
        # Nothing could promote the candidate: say why without spending minutes training it.
        unmeasured = Scores(
            blind=None if blind_problem else {},
            surabaya=None if surabaya_problem else {},
            blind_problem=blind_problem,
            surabaya_problem=surabaya_problem,
        )
        return finish("refused", decide_promotion(unmeasured, unmeasured, rc.tolerance).reasons)

    row.fingerprint = fingerprint
    with db.session() as session:
        last = session.scalar(
            select(ModelRun)
            .where(ModelRun.status.in_(("promoted", "refused", "skipped")))
            .order_by(ModelRun.started_at.desc(), ModelRun.id.desc())
            .limit(1)
        )
        same = last.id if last is not None and last.fingerprint == fingerprint else None
    if same is not None:
        return finish(
            "skipped",
            [Reason("unchanged", f"koreksi, data latih dan set evaluasi sama seperti run #{same}; tidak dilatih")],
        )

    candidate_path = paths.live.with_name(f".{paths.live.name}.candidate-{os.getpid()}")
    spec = {
        "live": str(paths.live),
        "candidate": str(candidate_path),
        "corrections": [[text, fields] for text, fields in corrections],
        "seed": rc.seed,
        "blind_dir": str(paths.blind_dir),
        "surabaya_file": str(paths.surabaya_file),
    }
    try:
        result = runner(spec)
        current = Scores.from_json(result["current"])
        candidate = Scores.from_json(result["candidate"])
    except Exception as exc:  # the child's last error line says what went wrong
        candidate_path.unlink(missing_ok=True)
        return finish("failed", [Reason("error", str(exc)[:1000])])
    finally:
        forget_cached_model(candidate_path)  # an in-process runner caches the candidate by its path
    decision = decide_promotion(current, candidate, rc.tolerance)
    status = "refused"
    if decision.promote:
        # Atomic on one filesystem (the candidate sits next to the live file): a reader of the
        # live path sees the old model or the new one, never half of either.
        os.replace(candidate_path, paths.live)
        forget_cached_model(paths.live)
        status = "promoted"
    else:
        candidate_path.unlink(missing_ok=True)
    report = finish(
        status,
        decision.reasons,
        current_version=current.version or None,
        candidate_version=candidate.version or None,
        corrections=int(result.get("corrections", len(corrections))),
        corrections_dropped=int(result.get("dropped", 0)),
        current_scores=current.to_json(),
        candidate_scores=candidate.to_json(),
    )
    report.current, report.candidate = current, candidate
    return report


def recent_runs(db: Database, limit: int = 20) -> list[ModelRun]:
    """The newest recorded runs, newest first."""
    with db.session() as session:
        rows = list(
            session.scalars(select(ModelRun).order_by(ModelRun.started_at.desc(), ModelRun.id.desc()).limit(limit))
        )
        session.expunge_all()
    return rows


def reason_text(reasons: Sequence[Mapping[str, Any]]) -> str:
    """A stored run's reasons as one line."""
    return "; ".join(str(r.get("message", "")) for r in reasons) or "-"


if __name__ == "__main__":
    raise SystemExit(_child_main())
