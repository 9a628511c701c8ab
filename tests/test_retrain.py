"""Scheduled retrain: the promotion gate (one test per reason), promotion and refusal end to end.

The end-to-end runs train a real candidate in a child process and judge it on a small blind set
and a small Surabaya-style file written here (the real Surabaya rows have no license; these
sentences are our own). Only two runs train, on the small set of `tests.small_training` (live
model and candidate alike): the point is the gate, promotion and history, not the shipped quality.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from monitor.kernel.clock import SimulatedClock, SystemClock
from monitor.kernel.config import AppConfig, ConfigError, RetrainConfig, crontab_trigger, parse_config
from monitor.scheduler import build_scheduler, scheduled_retrain
from monitor.service import MonitorService
from monitor.stages.retrain import (
    METRICS,
    Scores,
    decide_promotion,
    load_gate_data,
    recent_runs,
    run_retrain,
    without_blind_texts,
)
from monitor.store.db import Database
from monitor.store.models import LabelCorrection, ModelRun, Post, Source
from tests import small_training

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)  # Monday 02:00 WIB

BLIND = [
    ("t-01", "Jalan poros di Pedamaran berlubang besar, motor warga sering jatuh. Tolong diperbaiki pak",
     True, True, "infrastruktur", "Pedamaran"),
    ("t-02", "Air PDAM di Kayuagung mati sudah tiga hari, warga terpaksa beli air galon",
     True, True, "air_bersih", "Kayu Agung"),
    ("t-03", "Listrik padam terus tiap malam di Tulung Selapan, PLN tolong perhatikan",
     True, True, "listrik", "Tulung Selapan"),
    ("t-04", "Puskesmas di Cengal tutup siang hari, pasien disuruh pulang tanpa diperiksa",
     True, True, "kesehatan", "Cengal"),
    ("t-05", "Blanko KTP elektronik habis lagi di Disdukcapil OKI, sudah bolak balik tiga kali",
     True, True, "adminduk", None),
    ("t-06", "Bantuan PKH warga Jejawi belum cair padahal nama ada di DTKS", True, True, "bansos", "Jejawi"),
    ("t-07", "Selamat atas peresmian jembatan baru di Kayuagung, terima kasih Pemkab OKI",
     True, False, None, "Kayu Agung"),
    ("t-08", "Bupati OKI membuka festival bidar di Sungai Komering Kayuagung hari ini",
     True, False, None, "Kayu Agung"),
    ("t-09", "KTT OKI di Jeddah membahas situasi Palestina", False, False, None, None),
    ("t-10", "Konser Oki Setiana Dewi di Jakarta penuh sesak", False, False, None, None),
    ("t-11", "Sampah menumpuk di pasar Kayuagung, baunya sampai ke rumah warga",
     True, True, "lingkungan", "Kayu Agung"),
    ("t-12", "Harga gas elpiji 3 kg di Tanjung Lubuk tembus 35 ribu, langka pula",
     True, True, "harga_kebutuhan", "Tanjung Lubuk"),
]  # fmt: skip
SURABAYA = [
    ("Jalan Rusak dan Berlubang", "Jalan di depan gang saya berlubang dalam, sudah ada yang jatuh"),
    ("Jalan Rusak dan Berlubang", "Aspal jalan kampung mengelupas dan berlubang setelah hujan"),
    ("PJU", "Lampu penerangan jalan di gang mati sudah seminggu, gelap sekali"),
    ("Bansos", "Saya tidak pernah dapat bantuan sosial padahal keluarga tidak mampu"),
    ("Pelayanan PDAM", "Air PDAM keruh dan berbau, tolong dicek"),
    ("Pelayanan PDAM", "Aliran air PDAM mati sejak kemarin pagi"),
    ("Sampah Full di TPS", "Sampah di TPS menumpuk tidak diangkut tiga hari"),
    ("Parkir", "Juru parkir minta bayar dua kali lipat di depan minimarket"),
    ("Traffic Light", "Lampu lalu lintas di perempatan mati, macet parah"),
    ("Pencemaran Lingkungan", "Limbah pabrik dibuang ke sungai, airnya hitam dan bau"),
]


def write_gate_data(folder: Path) -> tuple[Path, Path]:
    """A 12-post blind set and a 10-row Surabaya-style file in ``folder``."""
    blind = folder / "blind"
    blind.mkdir(parents=True)
    with (blind / "tiny.jsonl").open("w", encoding="utf-8") as fh:
        for pid, text, relevant, complaint, topic, kec in BLIND:
            row = {
                "id": pid,
                "text": text,
                "relevant": relevant,
                "is_complaint": complaint,
                "topic": topic,
                "topics": [topic] if topic else [],
                "kecamatan": kec,
                "register": "slang",
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    surabaya = folder / "surabaya.csv"
    with surabaya.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "keluhan", "topik"])
        for i, (topic, text) in enumerate(SURABAYA):
            writer.writerow([i, text, topic])
    return blind, surabaya


def gate_config(config: AppConfig, live: Path, blind: Path | None, data_dir: Path, surabaya: str) -> AppConfig:
    retrain = RetrainConfig(blind_dir=str(blind) if blind else None, data_dir=str(data_dir), surabaya_file=surabaya)
    classifier = config.classifier.model_copy(update={"model_path": str(live), "retrain": retrain})
    return config.model_copy(update={"classifier": classifier, "sources": []})


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live model of the end-to-end runs: trained on the small set, like their candidates (once per checkout
    and training data, kept beside the shared test model)."""
    path = tmp_path_factory.mktemp("base") / "classifier.joblib"
    small_training.copy_trained(path)
    return path


def add_corrections(db: Database, rows: list[tuple[str, dict[str, object]]], when: datetime = T0) -> None:
    """Store corrections the way the dashboard does (text copied, booleans as 'true'/'false')."""
    with db.session() as s:
        src = s.scalar(select(Source).where(Source.name == "fb")) or Source(name="fb", kind="import", cursor={})
        s.add(src)
        s.flush()
        post = Post(
            source_id=src.id,
            platform="import",
            external_id=f"p{when.timestamp()}",
            text="(teks unggahan)",
            created_at=when,
            collected_at=when,
            content_hash=f"h{when.timestamp()}",
        )
        s.add(post)
        s.flush()
        for text, fields in rows:
            for field, value in fields.items():
                stored = value if isinstance(value, str) else ("true" if value else "false")
                s.add(LabelCorrection(post_id=post.id, field=field, value=stored, text=text, created_at=when))


# ------------------------------------------------------------------------------------------ the gate


def scores(blind: float = 0.9, surabaya: float = 0.8, **over: float | None) -> Scores:
    b: dict[str, float | None] = {m.key: blind for m in METRICS if m.set == "blind"}
    s: dict[str, float | None] = {m.key: surabaya for m in METRICS if m.set == "surabaya"}
    for key, value in over.items():
        (b if key.startswith("blind") else s)[key] = value
    return Scores("v", b, s)


def codes(decision: object) -> list[str]:
    return [r.code for r in decision.reasons]  # type: ignore[attr-defined]


def test_gate_promotes_a_candidate_no_worse_within_tolerance() -> None:
    current = scores()
    candidate = scores(blind_topic_macro_f1=0.896, surabaya_accuracy=0.85)  # -0.004 is within 0.005
    decision = decide_promotion(current, candidate, 0.005)
    assert decision.promote and codes(decision) == ["no_worse"]
    assert "6 ukuran" in decision.reasons[0].message and "akurasi topik (Surabaya) 0.800 → 0.850" in (
        decision.reasons[0].message
    )


def test_gate_refuses_a_candidate_worse_on_one_metric_even_if_better_elsewhere() -> None:
    candidate = scores(surabaya=0.95, blind_kecamatan_accuracy=0.88)  # -0.02 on one blind metric
    decision = decide_promotion(scores(), candidate, 0.005)
    assert not decision.promote and codes(decision) == ["worse"]
    assert "akurasi kecamatan (set buta) turun 0.900 → 0.880" in decision.reasons[0].message


def test_gate_refuses_without_a_blind_set_and_says_why() -> None:
    problem = "tidak ada berkas *.jsonl di classifiers/data/blind"
    missing = Scores("v", None, scores().surabaya, blind_problem=problem)
    decision = decide_promotion(missing, missing, 0.005)
    assert not decision.promote and codes(decision) == ["no_blind"]
    assert problem in decision.reasons[0].message


def test_gate_refuses_without_surabaya_and_says_why() -> None:
    missing = Scores("v", scores().blind, None, surabaya_problem="berkas x.csv tidak ditemukan")
    decision = decide_promotion(missing, missing, 0.005)
    assert not decision.promote and codes(decision) == ["no_surabaya"]
    assert "x.csv tidak ditemukan" in decision.reasons[0].message


def test_gate_refuses_a_metric_measured_on_one_model_only() -> None:
    decision = decide_promotion(scores(), scores(blind_complaint_f1=None), 0.005)
    assert not decision.promote and codes(decision) == ["unmeasured"]


def test_gate_refuses_when_nothing_can_be_compared() -> None:
    empty = Scores("v", {}, {})
    decision = decide_promotion(empty, empty, 0.005)
    assert not decision.promote and codes(decision) == ["no_metrics"]


def test_gate_skips_a_metric_neither_model_has() -> None:
    # A blind set where no post names a kecamatan cannot measure kecamatan accuracy on either model.
    both = scores(blind_kecamatan_accuracy=None)
    decision = decide_promotion(both, both, 0.0)
    assert decision.promote and "5 ukuran" in decision.reasons[0].message


def test_gate_data_problems_name_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "blind").mkdir()
    data = load_gate_data(tmp_path / "blind", tmp_path / "nope.csv")
    assert data.blind is None and data.blind_problem and "*.jsonl" in data.blind_problem
    assert data.surabaya is None and data.surabaya_problem and "nope.csv tidak ditemukan" in data.surabaya_problem
    blind, surabaya = write_gate_data(tmp_path / "ok")
    data = load_gate_data(blind, surabaya)
    assert data.blind is not None and len(data.blind) == 12
    assert data.surabaya is not None and len(data.surabaya[0]) == 10


def test_corrections_that_are_blind_posts_are_left_out(tmp_path: Path) -> None:
    blind, surabaya = write_gate_data(tmp_path)
    data = load_gate_data(blind, surabaya)
    kept, dropped = without_blind_texts(
        [("  ktt oki di JEDDAH membahas situasi Palestina ", {"relevant": False}), ("lain", {"relevant": True})],
        data.blind,
    )
    assert kept == [("lain", {"relevant": True})] and dropped == 1


# ------------------------------------------------------------------------------------------ config and schedule


def test_retrain_job_is_scheduled_by_crontab_in_wib_and_can_be_disabled(sqlite_db: Database, config: AppConfig) -> None:
    svc = MonitorService(config.model_copy(update={"sources": []}), sqlite_db, SimulatedClock(T0))
    job = {j.id: j for j in build_scheduler(svc, "host:1").get_jobs()}["retrain"]
    assert isinstance(job.trigger, CronTrigger) and str(job.trigger.timezone) == "Asia/Jakarta"
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["minute"], fields["hour"], fields["day_of_week"]) == ("0", "2", "sun")  # crontab's Sunday
    assert job.coalesce is True and job.max_instances == 1
    off = gate_config(config, Path("x"), None, Path("."), "s.csv")
    off.classifier.retrain.enabled = False
    svc_off = MonitorService(off, sqlite_db, SimulatedClock(T0))
    assert "retrain" not in {j.id for j in build_scheduler(svc_off, "host:1").get_jobs()}
    svc.close()
    svc_off.close()


@pytest.mark.parametrize(
    ("line", "next_fire"),
    [
        ("0 2 * * 0", datetime(2026, 12, 6, 2, 0)),  # crontab 0 is Sunday (APScheduler's own 0 is Monday)
        ("0 2 * * 7", datetime(2026, 12, 6, 2, 0)),
        ("30 1 * * 1-5", datetime(2026, 12, 2, 1, 30)),  # Tuesday 1 Dec 2026 is past 01:30 at noon: Wednesday
        ("0 3 * * */2", datetime(2026, 12, 3, 3, 0)),  # sun, tue, thu, sat: next is Thursday
    ],
)
def test_crontab_weekdays_mean_what_crontab_means(line: str, next_fire: datetime) -> None:
    from zoneinfo import ZoneInfo

    wib = ZoneInfo("Asia/Jakarta")
    start = datetime(2026, 12, 1, 12, 0, tzinfo=wib)  # a Tuesday, noon WIB
    fire = crontab_trigger(line).get_next_fire_time(None, start)
    assert fire == next_fire.replace(tzinfo=wib)


def test_a_bad_crontab_is_a_config_error_naming_the_key() -> None:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["classifier"]["retrain"]["schedule"] = "setiap minggu"
    with pytest.raises(ConfigError, match=r"classifier\.retrain\.schedule: .*crontab"):
        parse_config(data)


# ------------------------------------------------------------------------------------------ runs without training


def test_missing_sets_refuse_without_training_and_are_recorded(db: Database, config: AppConfig, tmp_path: Path) -> None:
    live = tmp_path / "model.joblib"
    live.write_bytes(b"PK the live model, never read by a refused run")
    before = sha(live)
    clock = SimulatedClock(T0)
    empty_blind = tmp_path / "blind"
    empty_blind.mkdir()
    (empty_blind / "README.md").write_text("only a README, as in a fresh checkout")
    _blind, surabaya = write_gate_data(tmp_path / "data")
    cfg = gate_config(config, live, empty_blind, tmp_path / "data", surabaya.name)
    add_corrections(db, [("Jalan di Cengal rusak", {"relevant": True, "is_complaint": True, "topic": "infrastruktur"})])

    def no_training(spec: object) -> dict[str, object]:
        raise AssertionError("a run that cannot promote must not train")

    report = run_retrain(db, cfg, clock.now, runner=no_training)
    assert report.status == "refused" and [r.code for r in report.reasons] == ["no_blind"]
    assert "tidak ada berkas *.jsonl" in report.reasons[0].message

    clock.advance(timedelta(days=7))
    cfg2 = gate_config(config, live, tmp_path / "data" / "blind", tmp_path / "data", "missing.csv")
    report = run_retrain(db, cfg2, clock.now, runner=no_training, trigger="cli")
    assert [r.code for r in report.reasons] == ["no_surabaya"] and "missing.csv" in report.reasons[0].message
    assert sha(live) == before

    runs = recent_runs(db)
    assert [(r.status, r.trigger, r.corrections) for r in runs] == [("refused", "cli", 1), ("refused", "schedule", 1)]
    assert runs[0].started_at == T0 + timedelta(days=7) and runs[0].reasons[0]["code"] == "no_surabaya"


def test_a_failed_training_is_recorded_and_leaves_the_model_alone(
    db: Database, config: AppConfig, tmp_path: Path
) -> None:
    live = tmp_path / "models" / "model.joblib"
    live.parent.mkdir()
    live.write_bytes(b"PK the live model")
    blind, surabaya = write_gate_data(tmp_path / "data")
    cfg = gate_config(config, live, blind, tmp_path / "data", surabaya.name)

    def broken(spec: object) -> dict[str, object]:
        raise RuntimeError("pelatihan kandidat gagal (kode 1): MemoryError")

    report = run_retrain(db, cfg, SimulatedClock(T0).now, runner=broken)
    assert report.status == "failed" and "MemoryError" in report.reasons[0].message
    assert live.read_bytes() == b"PK the live model"
    assert [p.name for p in live.parent.iterdir()] == ["model.joblib"]  # no candidate left behind
    # A failure is not a completed run: the next one trains again instead of skipping.
    again = run_retrain(db, cfg, SimulatedClock(T0 + timedelta(days=7)).now, runner=broken)
    assert again.status == "failed"


# ------------------------------------------------------------------------------------------ end to end (trains)


@pytest.fixture
def gate_env(
    base_model: Path, config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[AppConfig, Path]]:
    # The candidate is trained in a child process: on the small set, as the live model was.
    small_training.child_environment(tmp_path / "site", monkeypatch)
    live = tmp_path / "models" / "classifier.joblib"
    live.parent.mkdir()
    shutil.copy(base_model, live)
    blind, surabaya = write_gate_data(tmp_path / "data")
    yield gate_config(config, live, blind, tmp_path / "data", surabaya.name), live
    from monitor.stages.retrain import forget_cached_model

    forget_cached_model(live)


def test_scheduled_retrain_promotes_a_no_worse_candidate_and_the_service_uses_it(
    sqlite_db: Database, gate_env: tuple[AppConfig, Path]
) -> None:
    cfg, live = gate_env
    add_corrections(
        sqlite_db,
        [
            (
                "Jembatan gantung di desa Sukadana Pampangan putus, warga menyeberang pakai perahu",
                {"relevant": True, "is_complaint": True, "topic": "infrastruktur"},
            ),
            ("Konser dangdut di Bandung ramai sekali malam ini", {"relevant": False}),
            ("KTT OKI di Jeddah membahas situasi Palestina", {"relevant": False}),  # a blind post: left out
        ],
    )
    service = MonitorService(cfg, sqlite_db, SimulatedClock(T0))
    other = MonitorService(cfg, sqlite_db, SimulatedClock(T0))  # e.g. a second process serving the same file
    old_version = service.get_classifier().version
    assert other.get_classifier().version == old_version and "-c" not in old_version

    report = scheduled_retrain(service)

    assert report.status == "promoted", report.reasons
    assert [r.code for r in report.reasons] == ["no_worse"]
    new_version = service.get_classifier().version
    assert new_version == f"{old_version}-c2"
    assert other.get_classifier().version == new_version  # noticed the replaced file
    assert sorted(p.name for p in live.parent.iterdir()) == ["classifier.joblib"]  # no candidate left behind
    with sqlite_db.session() as s:
        run = s.scalars(select(ModelRun)).one()
        assert (run.status, run.trigger, run.corrections, run.corrections_dropped) == ("promoted", "schedule", 2, 1)
        assert run.current_version == old_version and run.candidate_version == new_version
        assert run.current_scores["blind"]["blind_complaint_f1"] is not None
        assert run.candidate_scores["surabaya"]["surabaya_accuracy"] is not None
        assert run.finished_at is not None and run.fingerprint
    service.close()
    other.close()


def test_retrain_refuses_a_worse_candidate_keeps_the_model_and_history_says_why(
    sqlite_db: Database,
    gate_env: tuple[AppConfig, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.cli import main

    cfg, live = gate_env
    before = sha(live)
    # Wrong labels given in bulk: near-copies of the blind complaints marked "not a complaint",
    # and of the Surabaya complaints marked off-topic. The gate must catch it.
    poison: list[tuple[str, dict[str, object]]] = []
    for _pid, text, _rel, complaint, _topic, _kec in BLIND:
        if complaint:
            poison += [(f"{text} (laporan warga ke-{k})", {"relevant": True, "is_complaint": False}) for k in range(25)]
    for _topic, text in SURABAYA:
        poison += [(f"{text} — kiriman {k}", {"is_complaint": True, "topic": "pendidikan"}) for k in range(25)]
    add_corrections(sqlite_db, poison)

    config_file = tmp_path / "config.yaml"
    data = json.loads(cfg.model_dump_json())
    data["database_url"] = sqlite_db.url
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")

    assert main(["--config", str(config_file), "train", "--gate"]) == 0
    out = capsys.readouterr().out
    assert "ditolak" in out and "keluhan F1 (set buta) turun" in out
    assert sha(live) == before
    assert sorted(p.name for p in live.parent.iterdir()) == ["classifier.joblib"]

    # Same corrections, data and sets again: not retrained, recorded as skipped.
    report = run_retrain(sqlite_db, cfg, SystemClock().now)
    assert report.status == "skipped" and "tidak dilatih" in report.reasons[0].message

    assert main(["--config", str(config_file), "train", "--history"]) == 0
    history = capsys.readouterr().out
    first, second = history.index("DILEWATI"), history.index("DITOLAK")
    assert first < second  # newest first
    assert "manual" in history and "koreksi 450" in history
    assert "kandidat: relevansi F1 (set buta)" in history and "macro-F1 topik (Surabaya)" in history
    assert "akurasi topik (Surabaya) turun 1.000" in history
