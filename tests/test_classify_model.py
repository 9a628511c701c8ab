"""The trained model: loads, answers known examples, matches scikit-learn, uses corrections; the commands."""

from __future__ import annotations

import argparse
import io
import json
import pickle
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import classifiers.model as model_module
from classifiers.model import TOPICS, TextClassifier, load_classifier, train
from tests import small_training

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = pytest.mark.xdist_group("test_classify_model")

ROAD_POSTS = [
    "Jalan di Desa Sri Tanjung Kec. Cengal rusak parah, lubang sebesar kolam, motor warga jatuh tiap hari #OKI",
    "Min @pemkaboki jalan poros Cengal dak pacak dilewati lagi, kapan diperbaiki?",
]
LOOK_ALIKES = [
    "Ceramah Ustazah Oki Setiana Dewi bikin adem",
    "KTT OKI kecam serangan Israel",
    "Jalan rusak di Baturaja OKU belum juga diperbaiki",
    "Banjir di Mesuji Lampung rendam ratusan rumah",
]

@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TextClassifier]:
    """(model directory, a classifier trained here on the small set, with its scikit-learn models).

    For the tests of training, the model file and loading; what the model reads is tested on `clf`.
    """
    directory = tmp_path_factory.mktemp("model")
    path = directory / "classifier.joblib"
    with pytest.MonkeyPatch.context() as mp:
        small_training.use(mp)
        train(path)
    return directory, model_module._CACHE[path.resolve()]


@pytest.fixture(scope="module")
def model_dir() -> Iterator[Path]:
    """The folder of the shared model trained on all bundled data (trained once per checkout if missing)."""
    load_classifier(None)
    yield model_module.default_model_path().parent


@pytest.fixture(scope="module")
def clf(model_dir: Path) -> TextClassifier:
    model_module._CACHE.clear()
    return load_classifier(model_dir / "classifier.joblib")


@pytest.fixture(scope="module")
def small_clf(trained: tuple[Path, TextClassifier]) -> TextClassifier:
    """The small model as read back from its file."""
    path = trained[0] / "classifier.joblib"
    model_module._CACHE.pop(path.resolve(), None)
    return load_classifier(path)


def test_demo_road_posts_are_relevant_infrastructure_complaints_in_cengal(clf: TextClassifier) -> None:
    for lab in clf.predict(ROAD_POSTS):
        assert lab.relevant and lab.is_complaint
        assert lab.topic == "infrastruktur"
        assert lab.kecamatan == "Cengal"
        assert lab.model_version == clf.version


def test_look_alikes_are_not_relevant(clf: TextClassifier) -> None:
    for text, lab in zip(LOOK_ALIKES, clf.predict(LOOK_ALIKES), strict=True):
        assert not lab.relevant, text
        assert lab.kecamatan is None


def test_background_chatter_is_relevant_but_not_a_complaint(clf: TextClassifier) -> None:
    (lab,) = clf.predict(["Selamat pagi Kayuagung, cuaca cerah"])
    assert lab.relevant and not lab.is_complaint
    assert lab.kecamatan == "Kayu Agung"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("air PDAM mati tiga hari di Kayuagung, tolong min", "air_bersih"),
        ("listrik padam terus di Tulung Selapan, PLN kemano", "listrik"),
        ("pupuk subsidi langka di desa Sri Tanjung Cengal, petani menjerit", "pertanian"),
        ("bikin KTP di Disdukcapil OKI sudah 3 bulan belum jadi", "adminduk"),
        ("gas elpiji 3 kg langka di Pedamaran OKI, harga 40 ribu", "harga_kebutuhan"),
    ],
)
def test_known_topics(clf: TextClassifier, text: str, topic: str) -> None:
    (lab,) = clf.predict([text])
    assert lab.topic == topic
    assert lab.topic in TOPICS


def test_urgency_and_triage(clf: TextClassifier) -> None:
    (flood,) = clf.predict(["Banjir setinggi dada di Desa Ulak Kapal, anak-anak mengungsi, darurat!"])
    assert flood.urgent and "banjir" in flood.urgency_cues and "darurat" in flood.urgency_cues
    clf.triage_threshold = 1.01  # everything is below it
    try:
        assert all(lab.needs_triage for lab in clf.predict(ROAD_POSTS))
    finally:
        clf.triage_threshold = model_module.TRIAGE_THRESHOLD


def test_empty_and_odd_input_do_not_raise(clf: TextClassifier) -> None:
    labels = clf.predict(["", "🙏🙏", "1234"])
    assert len(labels) == 3 and not any(lab.relevant for lab in labels)
    assert clf.predict([]) == []


def test_fast_scoring_of_the_saved_model_equals_scikit_learn_predict_proba(
    small_clf: TextClassifier, trained: tuple[Path, TextClassifier]
) -> None:
    # `clf` was read back from the file (numpy only); `fitted` holds the scikit-learn models.
    import scipy.sparse as sp  # local: each xdist worker collects this module, one runs it

    clf = small_clf
    fitted = trained[1].fitted
    assert fitted is not None and clf.fitted is None
    texts = ROAD_POSTS + LOOK_ALIKES + ["air pdam mati di kayuagung", "", "kata asing sekali zzqx"]
    norm, evidence, p_rel, p_comp, p_topic = clf.scores(texts)
    X = fitted.features.transform(norm)
    Xr = sp.hstack([X, model_module._evidence_matrix(evidence)], format="csr")
    assert np.allclose(p_rel, fitted.relevance.predict_proba(Xr)[:, 1])
    assert np.allclose(p_comp, fitted.complaint.predict_proba(X)[:, 1])
    assert np.allclose(p_topic, fitted.topic.predict_proba(X))
    assert [str(c) for c in fitted.topic.classes_] == clf._topic_names


def test_model_file_holds_no_pickle_and_prediction_needs_neither_sklearn_nor_scipy(
    trained: tuple[Path, TextClassifier],
) -> None:
    path = trained[0] / "classifier.joblib"
    with np.load(path, allow_pickle=False) as npz:
        assert "info" in npz.files and "heads_text_weights" in npz.files
    code = (
        "import sys, pathlib\n"
        "from classifiers.model import load_classifier\n"
        f"clf = load_classifier(pathlib.Path({str(path)!r}))\n"
        "assert clf.predict(['jalan rusak di Cengal'])[0].kecamatan == 'Cengal'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'joblib')))\n"
    )
    root = str(Path(model_module.__file__).resolve().parent.parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def _write_old_format_model(path: Path) -> None:
    # What format 1 looked like: a zlib-compressed joblib pickle (here of something harmless).
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(pickle.dumps({"metadata": {"format": 1}, "classifier": None})))


def test_old_format_model_at_default_location_is_retrained_not_unpickled(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(tmp_path))
    target = tmp_path / "classifier.joblib"
    _write_old_format_model(target)
    model_module._CACHE.pop(target.resolve(), None)
    retrained: list[Path] = []

    def fake_retrain(out: Path) -> None:  # the real one trains in a child process (tested below)
        retrained.append(out)
        shutil.copyfile(model_dir / "classifier.joblib", out)

    monkeypatch.setattr(model_module, "_retrain", fake_retrain)
    clf = load_classifier()
    assert retrained == [target.resolve()]
    assert clf.predict(ROAD_POSTS)[0].kecamatan == "Cengal"
    model_module._CACHE.pop(target.resolve(), None)

    # An explicitly configured old model is retrained in place too; a file that is no model at all is not touched.
    _write_old_format_model(target)
    assert load_classifier(target).predict(ROAD_POSTS)[0].relevant
    assert len(retrained) == 2
    model_module._CACHE.pop(target.resolve(), None)
    garbage = tmp_path / "notes.txt"
    garbage.write_text("bukan model", encoding="utf-8")
    with pytest.raises(RuntimeError, match="oki-monitor train"):
        load_classifier(garbage)
    assert garbage.read_text(encoding="utf-8") == "bukan model"


def test_loaders_that_find_the_model_missing_at_once_train_it_once(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two test workers (or dashboard workers) starting on a fresh checkout: one trains, the other waits."""
    import threading
    import time

    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(tmp_path))
    target = (tmp_path / "classifier.joblib").resolve()
    model_module._CACHE.pop(target, None)
    trained: list[Path] = []
    both_checked = threading.Barrier(2)

    def slow_retrain(out: Path) -> None:
        trained.append(out)
        time.sleep(0.5)  # the other loader reaches the lock meanwhile
        shutil.copyfile(model_dir / "classifier.joblib", out)

    real_lock = model_module._training_lock

    def lock_after_both_checked(path: Path) -> AbstractContextManager[None]:
        both_checked.wait(timeout=10)  # both saw no model before either trains
        return real_lock(path)

    monkeypatch.setattr(model_module, "_retrain", slow_retrain)
    monkeypatch.setattr(model_module, "_training_lock", lock_after_both_checked)
    loaded: list[TextClassifier] = []
    threads = [threading.Thread(target=lambda: loaded.append(load_classifier())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert trained == [target]
    assert len(loaded) == 2 and loaded[0] is loaded[1]
    assert loaded[0].predict(ROAD_POSTS)[0].kecamatan == "Cengal"
    model_module._CACHE.pop(target, None)


def test_stale_default_model_is_retrained_in_a_child_process(
    small_clf: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clf = small_clf
    small_training.child_environment(tmp_path / "site", monkeypatch)  # the child trains the small set too
    target = tmp_path / "classifier.joblib"
    model_module._retrain(target)
    assert target.resolve() not in model_module._CACHE  # trained elsewhere: nothing kept in this process
    model_module._CACHE.pop(target.resolve(), None)
    again = load_classifier(target)
    assert again.version == clf.version  # same data and seed -> the same model
    texts = ROAD_POSTS + LOOK_ALIKES
    assert again.predict(texts) == clf.predict(texts)


def test_metadata_and_default_location_loads_without_retraining(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(model_dir))
    model_module._CACHE.clear()
    calls: list[Path] = []
    monkeypatch.setattr(model_module, "train", lambda out, *a, **k: calls.append(out))
    first = load_classifier()
    assert load_classifier() is first  # cached per path
    assert calls == []
    meta = first.metadata
    assert meta["data_hash"] == model_module.data_hash()
    assert set(meta["libraries"]) >= {"scikit-learn", "numpy", "python"}
    assert meta["held_out_metrics"]["topic"]["macro_f1"] > 0.5


def test_missing_explicit_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="oki-monitor train"):
        load_classifier(tmp_path / "nope.joblib")


def test_corrections_validation_skips_only_bad_items() -> None:
    examples = model_module.corrections_to_examples(
        [("jalan rusak", {"topic": "infrastruktur"}), ("x", {"topic": "bukan_topik"}), ("y", {"relevant": "ya"})]
    )
    assert [e.text for e in examples] == ["jalan rusak"]


def _ctx() -> SimpleNamespace:
    routing = {t: ("pupr" if t == "infrastruktur" else "diskominfo") for t in TOPICS}
    return SimpleNamespace(
        config=SimpleNamespace(routing=routing, classifier=SimpleNamespace(model_path=None, triage_threshold=0.6))
    )


def test_classify_command_contract(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.commands import classify

    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(model_dir))
    lines = [json.dumps({"id": "a", "text": ROAD_POSTS[0]}), "not json", json.dumps({"id": 7, "text": LOOK_ALIKES[1]})]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    # A skipped line makes the exit code 1 (classify.SKIPPED_LINES): a script must not take it for success.
    assert classify.run(parser.parse_args([]), _ctx()) == classify.SKIPPED_LINES == 1  # type: ignore[arg-type]
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == ["a", None, 7]
    assert set(out[0]) == {"id", "relevant", "is_complaint", "topic", "agency", "kecamatan", "confidence"}
    assert out[0]["agency"] == "pupr" and out[0]["kecamatan"] == "Cengal" and out[0]["relevant"] is True
    assert "error" in out[1]
    assert out[2]["relevant"] is False and out[2]["kecamatan"] is None


def test_classify_command_reads_input_file_and_reports_missing_file(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.commands import classify

    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(model_dir))
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "air PDAM mati di Kayuagung"}) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    assert classify.run(parser.parse_args(["--input", str(src)]), _ctx()) == 0  # type: ignore[arg-type]
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["topic"] == "air_bersih"
    assert classify.run(parser.parse_args(["--input", str(tmp_path / "none.jsonl")]), _ctx()) == 2  # type: ignore[arg-type]
    assert "tidak ditemukan" in capsys.readouterr().err
    # One invalid byte fails its line (named, exit 1), not the whole run with a traceback.
    src.write_bytes(
        b'{"id": "bad", "text": "air \xff mati"}\n' + json.dumps({"id": "ok", "text": "jalan rusak"}).encode()
    )
    assert classify.run(parser.parse_args(["--input", str(src)]), _ctx()) == 1  # type: ignore[arg-type]
    captured = capsys.readouterr()
    bad, ok = (json.loads(line) for line in captured.out.splitlines())
    assert bad == {"id": None, "error": "baris 1: bukan UTF-8 yang sah"} and ok["id"] == "ok" and "topic" in ok
    assert "baris 1: bukan UTF-8 yang sah" in captured.err


def test_train_command_uses_corrections(
    small_clf: TextClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.commands import train as train_command

    # The small set keeps this training run quick; `before` is the same set without the corrections.
    small_training.use(monkeypatch)
    clf = small_clf
    odd = "warung kopi depan terminal tutup terus, pelayan judes"
    (before,) = clf.predict([odd])
    lines = [json.dumps({"text": odd, "topic": "ketertiban", "is_complaint": True})] * 3 + ["{broken", "{}"]
    corrections = tmp_path / "fix.jsonl"
    corrections.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "m.joblib"
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    args = parser.parse_args(["--output", str(out), "--corrections", str(corrections)])
    assert train_command.run(args, _ctx()) == 0  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert "Koreksi dilewati" in captured.err and "Model tersimpan" in captured.out
    model_module._CACHE.clear()
    retrained = load_classifier(out)
    assert retrained.metadata["examples"]["corrections"] == 3
    (after,) = retrained.predict([odd])
    assert after.topic == "ketertiban"
    assert after.topic_score > before.topic_score or before.topic == "ketertiban"


def test_second_topic_is_named_and_routed_primary_first(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pungli at Disdukcapil is about bribery and about adminduk: both topics, both agencies, primary first."""
    from monitor.commands import classify

    monkeypatch.setenv("OKI_MONITOR_MODEL_DIR", str(model_dir))
    text = "pungli di disdukcapil kayuagung, urus ktp sama kk dimintai uang pelicin 150 ribu sama oknum petugas"
    lines = [json.dumps({"id": 1, "text": text}), json.dumps({"id": 2, "text": ROAD_POSTS[0]})]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    routing = {"pungli_korupsi": "inspektorat", "adminduk": "disdukcapil", "infrastruktur": "pupr"}
    classifier = SimpleNamespace(model_path=None, triage_threshold=0.6)
    ctx = SimpleNamespace(config=SimpleNamespace(routing=routing, classifier=classifier))
    assert classify.run(parser.parse_args(["--all-topics"]), ctx) == 0  # type: ignore[arg-type]
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["topic"] == "pungli_korupsi" and first["topics"] == ["pungli_korupsi", "adminduk"]
    assert first["agencies"] == ["inspektorat", "disdukcapil"]
    assert second["topics"][0] == second["topic"] == "infrastruktur" and second["agencies"][0] == "pupr"


def test_conduct_is_primary_when_no_place_is_named(clf: TextClassifier) -> None:
    """A cut from welfare aid by the one who hands it out is pungli first, even when the post names no
    place (so it is not called relevant and gets no second topic): the topic says what it is about."""
    text = "bantuan PKH nenek saya dipotong 75 ribu oleh pendamping tiap pencairan, alasannya uang administrasi"
    (lab,) = clf.predict([text])
    assert not lab.relevant
    assert lab.topic == "pungli_korupsi" and lab.topics == ("pungli_korupsi",)
    (placed,) = clf.predict([text + " di Desa Ulak Kapal Kecamatan Tanjung Lubuk"])
    assert placed.relevant and placed.topics == ("pungli_korupsi", "bansos")


def test_a_disaster_on_fields_comes_before_the_harvest(clf: TextClassifier) -> None:
    """Cause before consequence: a flood that ruins the rice is BPBD's first, the lost harvest second."""
    (lab,) = clf.predict([
        "Banjir luapan sungai merendam 300 hektare sawah di Desa Ulak Kapal Tanjung Lubuk, padi petani "
        "membusuk dan gagal panen, tolong BPBD dan dinas pertanian turun"
    ])
    assert lab.relevant and lab.is_complaint
    assert lab.topics == ("bencana", "pertanian")
    (pest,) = clf.predict(["Hama wereng menyerang sawah petani di Desa Ulak Kapal Tanjung Lubuk, padi puso"])
    assert pest.topic == "pertanian"
