"""`oki-monitor eval`: per-class scores, confusion matrix (table + PNG), worst mistakes, baseline.

Sets: the held-out templates of the written corpus (model fitted without them), the blind set
(classifiers/data/blind: posts written by other hands, never trained on; dev and test halves), Surabaya
Media Center complaints 2023 H1 (mapped to the taxonomy by classifiers/data/surabaya_topic_map.csv;
nothing is trained on it), and complaint-vs-not on two sentiment sets as a sanity check.
Evaluation-only data is read from --data-dir and never copied.

`--surabaya-file` points section 2 at another Surabaya file: corpus and mapping decisions are made
on `complaints_2022.csv` (the development set), so that 2023 H1 stays a test set looked at rarely.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports us; importing it back at runtime is not needed
    from classifiers.evaluation import BlindPost, Predictor
    from classifiers.labels import Labels
    from monitor.store.context import Context

NAME = "eval"
MIN_SUPPORT = 20
"""Classes with fewer true rows than this are left out of the second Surabaya macro-F1 (the plain one keeps them)."""
HELP = "ukur pengklasifikasi: skor per kelas, matriks kebingungan (tabel + PNG), kesalahan terburuk, baseline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("var/eval"), help="where the PNG and JSON go (default var/eval)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path("../shared/data"), help="shared evaluation data (default ../shared/data)"
    )
    parser.add_argument("--model", type=Path, help="model for the external sets (default: the configured one)")
    parser.add_argument("--worst", type=int, default=10, help="how many worst mistakes to list")
    parser.add_argument(
        "--surabaya-file",
        type=Path,
        help="Surabaya complaints CSV for section 2 (default: DATA_DIR/surabaya_mediacenter_complaints/"
        "complaints_2023H1.csv; use complaints_2022.csv while developing)",
    )
    parser.add_argument(
        "--surabaya-only",
        action="store_true",
        help="only sections 1 and 2 (skip the sentiment sets and the lexicon coverage)",
    )


def _table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [f"  {'kelas':<18} {'presisi':>8} {'recall':>8} {'F1':>8} {'jumlah':>7}"]
    for r in rows:
        lines.append(
            f"  {r['label']:<18} {r['precision']:>8.3f} {r['recall']:>8.3f} {r['f1']:>8.3f} {r['support']:>7d}"
        )
    return "\n".join(lines)


def _confusion_table(labels: list[str], matrix: Any) -> str:
    short = [lab[:5] for lab in labels]
    head = " " * 18 + " ".join(f"{s:>5}" for s in short)
    rows = [head]
    for lab, row in zip(labels, matrix, strict=True):
        rows.append(f"  {lab:<16}" + " ".join(f"{int(v):>5}" for v in row))
    return "\n".join(rows)


def _png(labels: list[str], matrix: Any, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("prediksi")
    ax.set_ylabel("label sebenarnya")
    ax.set_title(title)
    peak = matrix.max() if matrix.size else 0
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if matrix[i, j] > peak / 2 else "black",
                )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _sanity_sets(data: Path, model: Predictor, baseline: Predictor, report: dict[str, Any]) -> None:
    """Sections 3 and 4: complaint-vs-not on the sentiment sets, slang lexicon coverage."""
    from classifiers import evaluation as ev
    from classifiers.normalise import lexicon_coverage

    print("\n== 3. Keluhan vs bukan: set sentimen (negatif = keluhan), cek kewajaran ==")
    report["sentiment"] = {}
    for label, path in (
        ("LAPOR! app tweets", data / "lapor_app_tweets_sentiment" / "dataset_label.csv"),
        ("NusaX id (test)", data / "nusax_senti_indonesian" / "test.csv"),
    ):
        if not path.exists():
            continue
        t, neg = ev.load_sentiment(path)
        got = [lab.is_complaint for lab in model.predict(t)]
        got_b = [lab.is_complaint for lab in baseline.predict(t)]
        f_m, f_b = ev.binary_f1(neg, got), ev.binary_f1(neg, got_b)
        report["sentiment"][label] = {"model_f1": f_m, "baseline_f1": f_b, "n": len(t)}
        print(f"  {label:<20} n={len(t):<5} keluhan F1 model {f_m:.3f} · baseline {f_b:.3f}")

    lex = data / "colloquial_indonesian_lexicon" / "colloquial-indonesian-lexicon.csv"
    if lex.exists():
        print("\n== 4. Cakupan leksikon slang terhadap colloquial-indonesian-lexicon ==")
        cov = lexicon_coverage(ev.load_lexicon_pairs(lex))
        report["lexicon_coverage"] = cov
        print(f"  {int(cov['forms'])} bentuk slang · diubah {cov['covered']:.3f} · tepat sama {cov['exact']:.3f}")


def _blind_section(model: Predictor, baseline: Predictor, worst: int, report: dict[str, Any]) -> None:
    """Section 1b: the blind set, per split, with per-class topic F1 and the second-topic recall."""
    from classifiers import evaluation as ev

    posts = ev.load_blind()
    if not posts:
        print("\n== 1b. Set buta: tidak ada berkas di classifiers/data/blind/ (dilewati) ==")
        return
    print(f"\n== 1b. Set buta: {len(posts)} unggahan ditulis pihak lain, tidak pernah dipakai melatih ==")
    labels = model.predict([p.example.text for p in posts])
    base_labels = baseline.predict([p.example.text for p in posts])
    report["blind"] = {}
    rows = (
        ("relevansi F1", "relevance_f1"),
        ("keluhan F1", "complaint_f1"),
        ("topik macro-F1", "topic.macro_f1"),
        ("topik akurasi", "topic.accuracy"),
        ("kecamatan akurasi", "kecamatan_accuracy"),
    )
    scored: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for split in (*ev.BLIND_SPLITS, "semua"):
        keep = [i for i, p in enumerate(posts) if split == "semua" or p.split == split]
        examples = [posts[i].example for i in keep]
        own = ev.score_predictions(examples, [labels[i] for i in keep])
        base = ev.score_predictions(examples, [base_labels[i] for i in keep])
        own["second_topic_recall"] = ev.second_topic_recall(
            [posts[i].topics for i in keep], [labels[i] for i in keep]
        )
        own["second_topic_precision"] = ev.second_topic_precision(
            [posts[i].topics for i in keep], [labels[i] for i in keep]
        )
        scored[split] = (own, base)
        report["blind"][split] = {"model": own, "baseline": base, "n": len(keep)}

    def pick(result: dict[str, Any], key: str) -> float | None:
        first, _, second = key.partition(".")
        value = result[first]
        return value.get(second) if second else value

    header = "".join(f"{s + ' model':>14}{s + ' baseline':>17}" for s in scored)
    print(f"  {'':<22}{header}")
    for name, key in rows:
        cells = "".join(f"{_fmt(pick(o, key)):>14}{_fmt(pick(b, key)):>17}" for o, b in scored.values())
        print(f"  {name:<22}{cells}")
    for name, key in (("topik kedua recall", "second_topic_recall"), ("topik kedua presisi", "second_topic_precision")):
        cells = "".join(f"{_fmt(o[key]):>14}{'':>17}" for o, _ in scored.values())
        print(f"  {name:<22}{cells}")
    complaints = [(p, lab) for p, lab in zip(posts, labels, strict=True) if p.example.is_complaint and p.example.topic]
    _blind_batches(posts, labels, report)
    truth = [str(p.example.topic) for p, _ in complaints]
    pred = [lab.topic for _, lab in complaints]
    print("  Topik per kelas (semua keluhan set buta):")
    print(_table(ev.per_class(truth, pred, sorted(set(truth)))))
    report["blind"]["per_class"] = ev.per_class(truth, pred, sorted(set(truth)))
    report["blind"]["per_class_split"] = {}
    for split in ev.BLIND_SPLITS:
        part = [(p, lab) for p, lab in complaints if p.split == split]
        s_truth = [str(p.example.topic) for p, _ in part]
        split_rows = ev.per_class(s_truth, [lab.topic for _, lab in part], sorted(set(s_truth)))
        report["blind"]["per_class_split"][split] = split_rows
        print(f"  Topik per kelas, bagian {split}:")
        print(_table(split_rows))
    print(f"  {worst} kesalahan topik paling yakin (hanya bagian dev; bagian test tidak dibaca):")
    dev = [(p, lab) for p, lab in complaints if p.split == "dev"]
    for m in ev.worst_mistakes([p.example.text for p, _ in dev], [str(p.example.topic) for p, _ in dev],
                               [lab for _, lab in dev], worst):
        print(f"   - [{m.truth} → {m.predicted} {m.score:.2f}] {' '.join(m.text.split())[:110]}")


def _blind_batches(posts: Sequence[BlindPost], labels: Sequence[Labels], report: dict[str, Any]) -> None:
    """Topic macro-F1 per batch (file) and split: a writer the model reads worse than the others shows
    here, where the pooled figure would hide it (the third writer's posts, issue #17)."""
    from classifiers import evaluation as ev

    print("  Topik macro-F1 per berkas (keluhan):")
    report["blind"]["per_batch"] = {}
    for batch in sorted({p.batch for p in posts}):
        cells = []
        for split in ev.BLIND_SPLITS:
            keep = [(p, lab) for p, lab in zip(posts, labels, strict=True)
                    if p.batch == batch and p.split == split and p.example.is_complaint and p.example.topic]
            scores = ev.topic_scores([str(p.example.topic) for p, _ in keep], [lab.topic for _, lab in keep])
            report["blind"]["per_batch"][f"{batch}/{split}"] = scores
            cells.append(f"{split} {_fmt(scores['macro_f1'] if keep else None)} (n={len(keep)})")
        print(f"   - {batch:<10} " + " · ".join(cells))


def run(args: argparse.Namespace, ctx: Context) -> int:
    from classifiers import evaluation as ev
    from classifiers.model import fit_held_out, load_classifier

    report: dict[str, Any] = {}
    baseline = ev.KeywordBaseline()

    print("== 1. Korpus OKI, template yang disisihkan (model dilatih tanpa template itu) ==")
    held_model, _train, test = fit_held_out(0)
    texts = [e.text for e in test]
    labels = held_model.predict(texts)
    base_labels = baseline.predict(texts)
    own = ev.score_predictions(test, labels)
    own_base = ev.score_predictions(test, base_labels)
    report["held_out"] = {"model": own, "baseline": own_base}
    print(f"  {'':<24}{'model':>10}{'baseline':>10}")
    for name, a, b in (
        ("relevansi F1", own["relevance_f1"], own_base["relevance_f1"]),
        ("keluhan F1", own["complaint_f1"], own_base["complaint_f1"]),
        ("topik macro-F1", own["topic"]["macro_f1"], own_base["topic"]["macro_f1"]),
        ("topik akurasi", own["topic"]["accuracy"], own_base["topic"]["accuracy"]),
        ("kecamatan akurasi", own["kecamatan_accuracy"], own_base["kecamatan_accuracy"]),
    ):
        print(f"  {name:<24}{_fmt(a):>10}{_fmt(b):>10}")
    complaints = [(e, lab) for e, lab in zip(test, labels, strict=True) if e.is_complaint and e.topic]
    truth = [str(e.topic) for e, _ in complaints]
    pred = [lab.topic for _, lab in complaints]
    print("  Topik per kelas (keluhan):")
    print(_table(ev.per_class(truth, pred, sorted(set(truth)))))
    names, matrix = ev.topic_confusion(truth, pred)
    _png(names, matrix, "Topik — korpus OKI held-out", args.out / "confusion_heldout.png")

    config_path = None
    try:
        config_path = ctx.config.classifier.model_path
    except Exception:  # eval works without a config file
        config_path = None
    model = load_classifier(args.model or (Path(config_path) if config_path else None))
    _blind_section(model, baseline, args.worst, report)

    data = args.data_dir
    default_csv = data / "surabaya_mediacenter_complaints" / "complaints_2023H1.csv"
    surabaya_csv = args.surabaya_file or default_csv
    # The default file keeps its historical report key; another file is reported under its own name.
    s_key, s_title = ev.surabaya_report_key(surabaya_csv)
    if not surabaya_csv.exists():
        print(
            f"\nData evaluasi tidak ditemukan: {surabaya_csv}; beri --data-dir / --surabaya-file yang benar. "
            "Bagian 2–4 dilewati.",
            file=sys.stderr,
        )
    else:
        print(f"\n== 2. Surabaya Media Center {s_title} (tidak pernah dipakai melatih) ==")
        mapping = ev.load_surabaya_map()
        s_texts, s_truth, skipped = ev.load_surabaya(surabaya_csv, mapping)
        s_labels = model.predict(s_texts)
        s_base = baseline.predict(s_texts)
        s_pred = [lab.topic for lab in s_labels]
        sm = ev.topic_scores(s_truth, s_pred)
        sb = ev.topic_scores(s_truth, [lab.topic for lab in s_base])
        big_f1, big_n = ev.macro_f1_min_support(s_truth, s_pred, MIN_SUPPORT)
        sm["macro_f1_min_support"] = big_f1
        sm["min_support"] = float(MIN_SUPPORT)
        detected = sum(1 for lab in s_labels if lab.is_complaint) / max(1, len(s_labels))
        # Every Surabaya complaint is about Surabaya: any "relevant" here is a relevance false positive.
        relevant_share = sum(1 for lab in s_labels if lab.relevant) / max(1, len(s_labels))
        report[s_key] = {
            "model": sm,
            "baseline": sb,
            "skipped_unmapped": skipped,
            "complaint_recall": detected,
            "relevant_share": relevant_share,
        }
        print(f"  {len(s_texts)} keluhan terpetakan, {skipped} dilewati (topik tanpa padanan taksonomi)")
        print(
            f"  topik akurasi {sm['accuracy']:.3f} · macro-F1 {sm['macro_f1']:.3f}  "
            f"(baseline kata kunci: {sb['accuracy']:.3f} · {sb['macro_f1']:.3f})"
        )
        print(f"  macro-F1 kelas dengan ≥ {MIN_SUPPORT} baris ({big_n} kelas): {big_f1:.3f}")
        print(f"  dikenali sebagai keluhan: {detected:.3f} · dianggap relevan OKI (harusnya 0): {relevant_share:.3f}")
        print(_table(ev.per_class(s_truth, s_pred, sorted(set(s_truth)))))
        names, matrix = ev.topic_confusion(s_truth, s_pred)
        print("  Matriks kebingungan (baris: label, kolom: prediksi):")
        print(_confusion_table(names, matrix))
        png_name = "confusion_surabaya.png" if s_key == "surabaya_2023h1" else f"confusion_{s_key}.png"
        _png(names, matrix, f"Topik — Surabaya {s_title}", args.out / png_name)
        print(f"  {args.worst} kesalahan paling yakin:")
        for m in ev.worst_mistakes(s_texts, s_truth, s_labels, args.worst):
            snippet = " ".join(m.text.split())[:110]
            print(f"   - [{m.truth} → {m.predicted} {m.score:.2f}] {snippet}")

        if not args.surabaya_only:
            _sanity_sets(data, model, baseline, report)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nGambar dan laporan JSON: {args.out}/")
    return 0
