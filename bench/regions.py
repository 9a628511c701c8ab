"""Memory and time of a province deployment's gazetteers: one per region, built once and kept.

    python bench/regions.py [--province 16] [--posts 200]

Writes the province deployment as `oki-monitor init --province` does (into a temporary folder),
loads it, then builds every region's gazetteer the way the classify stage does (cached per
region) and prints the resident memory (VmRSS) after each, the build time, and the reading speed
of the classify stage's per-region split (``predict_by_region``) against one plain call over the
same texts with OKI's gazetteer.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soak import peak_rss_mb, rss_mb

TEMPLATES = (
    "jalan rusak parah di {place}, mohon diperbaiki",
    "air PDAM mati tiga hari di {place}",
    "lampu jalan padam di {place} sejak kemarin",
    "banjir lagi di {place} warga mengungsi",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="16")
    parser.add_argument("--posts", type=int, default=200, help="texts per region for the reading speed")
    args = parser.parse_args()
    from classifiers.model import load_classifier
    from classifiers.region import read_wilayah
    from monitor.cli import main as cli
    from monitor.kernel.config import load_config
    from monitor.stages.classify import predict_by_region

    classifier = load_classifier()
    base = rss_mb()
    print(f"resident memory with the classifier loaded: {base:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "provinsi"
        started = time.perf_counter()
        if cli(["init", "--province", args.province, "--output", str(folder)]) != 0:
            return 1
        cfg = load_config(folder / "config.yaml")
        print(f"init --province {args.province} and load: {time.perf_counter() - started:.1f} s")
        regions = cfg.deployment_regions()
        classifier.predict(["jalan rusak di Kayuagung"])  # OKI's hand-tuned gazetteer, as every deployment has
        before = rss_mb()
        print(f"after OKI's hand-tuned gazetteer: {before:.1f} MB")
        build_total = 0.0
        places: dict[str, list[str]] = {}
        # RSS moves in arenas the load already grew; the Python objects the builds keep are counted too.
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
        for code, region in regions.items():
            started = time.perf_counter()
            region.gazetteer()
            took = time.perf_counter() - started  # with tracemalloc on: slower than without
            build_total += took
            if region.places is not None:
                rows = read_wilayah(region.places)
                places[code] = [r.nama for r in rows if r.level == "kecamatan" and r.kode_induk == code]
            else:
                places[code] = ["Kayuagung", "Pedamaran", "Tanjung Lubuk", "Cengal"]
            print(f"  {code} {region.name:<40} built in {took:5.2f} s, resident {rss_mb():7.1f} MB")
        after = rss_mb()
        kept_mb = (tracemalloc.get_traced_memory()[0] - traced_before) / 1e6
        tracemalloc.stop()
        derived = sum(1 for r in regions.values() if r.places is not None)
        print(
            f"{len(regions)} regions ({derived} derived gazetteers): built in {build_total:.1f} s, "
            f"resident +{after - before:.1f} MB, Python objects kept +{kept_mb:.1f} MB "
            f"({kept_mb / max(derived, 1):.2f} MB per derived region), resident {after:.1f} MB, "
            f"peak {peak_rss_mb():.1f} MB"
        )
        rng = random.Random(0)
        texts: list[str] = []
        codes: list[str] = []
        for code, names in places.items():
            for _ in range(args.posts):
                texts.append(rng.choice(TEMPLATES).format(place=rng.choice(names)))
                codes.append(code)
        order = list(range(len(texts)))
        rng.shuffle(order)
        texts = [texts[i] for i in order]
        codes = [codes[i] for i in order]
        started = time.process_time()
        labels = predict_by_region(classifier, cfg, texts, codes)
        split = time.process_time() - started
        started = time.process_time()
        classifier.predict(texts)
        plain = time.process_time() - started
        relevant = sum(1 for lab in labels if lab is not None and lab.relevant)
        print(
            f"reading {len(texts)} texts of {len(places)} regions: per region {len(texts) / split:,.0f} posts "
            f"per CPU-s ({relevant} relevant to their region); one call with OKI's gazetteer "
            f"{len(texts) / plain:,.0f} posts per CPU-s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
