"""Several regions in one deployment: `regions:` files, `init --province`, reading and routing per region."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.engine import evaluate
from classifiers.gazetteer import Gazetteer
from classifiers.labels import Labels
from classifiers.region import NATIONAL_LIST
from collectors.base import RawItem
from monitor.cli import main
from monitor.kernel.config import ConfigError, load_config, packaged_config_text
from monitor.stages.classify import classify_new
from monitor.stages.group import group_new
from monitor.stages.ingest import Ingestor
from monitor.store.db import Database
from monitor.store.models import Alert, Delivery, Issue, Label, Post, Source
from tests.pipeline_support import road_label
from tests.telegram_server import make_issue

ROOT = Path(__file__).resolve().parent.parent
ROAD = "jalan rusak parah di Baturaja Timur"

pytestmark = pytest.mark.skipif(not NATIONAL_LIST.exists(), reason="needs ../shared/data/wilayah_id")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OKI's default config (16.02) plus region files for 16.01 (OKU) and 16.03 (Muara Enim)."""
    folder = tmp_path_factory.mktemp("deployment")
    for code in ("16.01", "16.03"):
        assert main(["init", "--region", code, "--output", str(folder / "regions" / f"{code}.yaml")]) == 0
    main_file = folder / "config.yaml"
    main_file.write_text(
        packaged_config_text() + "\nregions: [regions/16.01.yaml, regions/16.03.yaml]\n", encoding="utf-8"
    )
    return main_file


def _classify(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    src = tmp_path / "post.jsonl"
    src.write_text(json.dumps({"id": "1", "text": ROAD}) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--config", str(config), "classify", "--input", str(src), *extra]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_a_three_region_config_loads_each_region_with_its_own_agencies_and_sources(deployment: Path) -> None:
    cfg = load_config(deployment)
    regions = cfg.deployment_regions()
    assert list(regions) == ["16.02", "16.01", "16.03"]
    assert cfg.home.code == "16.02" and cfg.home.places is None  # OKI keeps its hand-tuned gazetteer
    assert [regions[c].name for c in ("16.01", "16.03")] == ["Kabupaten Ogan Komering Ulu", "Kabupaten Muara Enim"]
    # The same agency code in every regency, each its own body.
    assert cfg.agency("pupr").name == "Dinas PUPR OKI"  # type: ignore[union-attr]
    assert cfg.agency("pupr", "16.01").name == "Dinas PUPR Ogan Komering Ulu"  # type: ignore[union-attr]
    assert cfg.agency("pupr", "16.03").emails == ["pupr@muara-enim.example"]  # type: ignore[union-attr]
    assert regions["16.01"].routing["infrastruktur"] == "pupr"
    # Every region's sources are the deployment's, each read as its region.
    names = [s.name for s in cfg.sources]
    assert len(names) == len(set(names))
    assert cfg.source_region("googlenews-ogan-komering-ulu") == "16.01"
    assert cfg.source_region("googlenews-muara-enim") == "16.03"
    assert cfg.source_region("okinews") == "16.02"
    assert "googlenews-muara-enim" in regions["16.03"].sources
    assert regions["16.01"].places == deployment.parent / "regions" / "16.01.wilayah.csv"


def test_a_one_region_config_is_its_own_deployment() -> None:
    cfg = load_config(ROOT / "config.yaml")
    assert list(cfg.deployment_regions()) == ["16.02"]
    assert cfg.home.agencies == tuple(cfg.agencies) and cfg.home.routing == cfg.routing
    assert cfg.source_region("okinews") == "16.02" and cfg.agency("pupr", "16.02") == cfg.agency("pupr")
    assert cfg.agency("pupr", "16.01") is None


def _write(path: Path, data: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_source_name_used_in_two_files_is_refused_naming_both(deployment: Path, tmp_path: Path) -> None:
    oku = yaml.safe_load((deployment.parent / "regions" / "16.01.yaml").read_text(encoding="utf-8"))
    oku["region_places"] = str(deployment.parent / "regions" / "16.01.wilayah.csv")
    oku["sources"].append({"name": "okinews", "kind": "rss", "settings": {"url": "https://x.example/rss"}})
    region = _write(tmp_path / "r" / "oku.yaml", oku)
    main_file = tmp_path / "config.yaml"
    main_file.write_text(packaged_config_text() + "\nregions: [r/oku.yaml]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(main_file)
    message = str(err.value)
    assert message.startswith(f"{region}: sources:")
    assert "'okinews'" in message and str(main_file) in message and "harus unik" in message


def test_a_wrong_region_file_is_refused_naming_the_file_and_the_key(deployment: Path, tmp_path: Path) -> None:
    muara = yaml.safe_load((deployment.parent / "regions" / "16.03.yaml").read_text(encoding="utf-8"))
    muara["routing"]["infrastruktur"] = "dinas_jalan"
    region = _write(tmp_path / "me.yaml", muara)
    main_file = tmp_path / "config.yaml"
    main_file.write_text(packaged_config_text() + "\nregions: [me.yaml]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"me\.yaml: .*routing: agency code\(s\) not in agencies.*dinas_jalan"):
        load_config(main_file)
    muara["routing"]["infrastruktur"] = "pupr"
    muara["region_places"] = "hilang.csv"
    _write(region, muara)
    with pytest.raises(ConfigError, match=r"me\.yaml: region_places: berkas .*hilang\.csv tidak ada"):
        load_config(main_file)
    muara["region_code"] = "16.02"
    _write(region, muara)
    with pytest.raises(ConfigError, match=r"me\.yaml: region_code: wilayah 16\.02 sudah ada di .*config\.yaml"):
        load_config(main_file)
    main_file.write_text(packaged_config_text() + "\nregions: [tidak-ada.yaml]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tidak-ada\.yaml: berkas wilayah tidak ada"):
        load_config(main_file)


def test_classify_reads_a_text_as_the_region_it_is_asked_for(
    deployment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oku = _classify(deployment, tmp_path, capsys, "--region", "16.01")
    assert (oku["relevant"], oku["kecamatan"], oku["agency"]) == (True, "Baturaja Timur", "pupr")
    # The deployment's own region is OKI: the same text is not about OKI.
    oki = _classify(deployment, tmp_path, capsys)
    assert (oki["relevant"], oki["kecamatan"]) == (False, None)
    assert _classify(deployment, tmp_path, capsys, "--region", "16.02")["relevant"] is False
    # Muara Enim does not have Baturaja Timur: OKU's kecamatan points elsewhere there.
    assert _classify(deployment, tmp_path, capsys, "--region", "16.03")["relevant"] is False
    src = tmp_path / "post.jsonl"
    assert main(["--config", str(deployment), "classify", "--input", str(src), "--region", "99.99"]) == 2
    assert "99.99" in capsys.readouterr().err


def test_init_province_writes_a_deployment_of_its_17_regencies_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sumsel"
    assert main(["init", "--province", "16", "--output", str(folder)]) == 0
    assert "17 berkas wilayah" in capsys.readouterr().out
    files = sorted((folder / "regions").glob("*.yaml"))
    assert len(files) == 17
    cfg = load_config(folder / "config.yaml")
    regions = cfg.deployment_regions()
    assert sorted(regions) == sorted(f.stem for f in files)
    assert cfg.home.code == "16.02" and cfg.home.places is None and cfg.agency("pupr").name == "Dinas PUPR OKI"  # type: ignore[union-attr]
    assert regions["16.71"].name == "Kota Palembang"
    assert all(r.places is not None and r.places.is_file() for c, r in regions.items() if c != "16.02")
    # A province feed is read once, for the own region; each regency searches its own name.
    assert cfg.source_region("antara-sumsel") == "16.02"
    assert cfg.source_region("googlenews-ogan-komering-ulu") == "16.01"
    # No placeholder chat in two regions: an alert can never reach another regency's group by a default.
    chats = {code: {c for a in cfg.for_region(code).agencies for c in a.telegram_chat_ids} for code in regions}
    assert all(chats.values()) and sum(map(len, chats.values())) == len(set().union(*chats.values()))
    assert cfg.for_region("16.01").agency("pupr").telegram_chat_ids == ["-1001601000002"]  # type: ignore[union-attr]
    assert cfg.agency("pupr").telegram_chat_ids == ["-1001000000002"]  # type: ignore[union-attr]  # OKI's as shipped
    assert main(["init", "--province", "16", "--output", str(folder)]) == 2  # never overwritten silently
    assert "sudah ada" in capsys.readouterr().err
    oku = _classify(folder / "config.yaml", tmp_path, capsys, "--region", "16.01")
    assert (oku["relevant"], oku["kecamatan"]) == (True, "Baturaja Timur")
    assert main(["init", "--province", "99", "--output", str(tmp_path / "x")]) == 2
    assert "provinsi '99'" in capsys.readouterr().err


def test_a_deployment_file_takes_its_own_region_from_the_listed_file(tmp_path: Path) -> None:
    main_file = _write(tmp_path / "config.yaml", {"region_code": "16.05", "regions": ["16.02.yaml"]})
    oki = {k: v for k, v in yaml.safe_load(packaged_config_text()).items() if k in ("region", "agencies", "routing")}
    _write(tmp_path / "16.02.yaml", {**oki, "region_code": "16.02"})
    with pytest.raises(ConfigError, match=r"config\.yaml: regions: tidak ada berkas wilayah dengan region_code 16\.05"):
        load_config(main_file)
    _write(main_file, {"regions": ["16.02.yaml"]})
    cfg = load_config(main_file)
    assert cfg.region_code == "16.02" and cfg.agency("pupr").name == "Dinas PUPR OKI"  # type: ignore[union-attr]
    assert cfg.home.file == tmp_path / "16.02.yaml"


NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def _road(source: str, n: int, text: str = ROAD) -> RawItem:
    return RawItem(source=source, platform="googlenews", external_id=f"{source}-{n}", text=text, created_at=NOW)


def test_each_post_is_read_with_its_sources_region(
    deployment: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classifiers.model import load_classifier

    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    cfg = load_config(deployment)
    oku, oki = "googlenews-ogan-komering-ulu", "okinews"
    with sqlite_db.session() as s:
        ingestor = Ingestor(cfg)
        # OKU's source keeps the post (its places pass the pre-filter); OKI's drops it unread.
        assert ingestor.store(s, ingestor.source_row(s, oku, "googlenews"), [_road(oku, 1)], NOW).stored == 1
        assert ingestor.store(s, ingestor.source_row(s, oki, "rss"), [_road(oki, 1)], NOW).filtered == 1
        unfiltered = Ingestor(cfg.model_copy(update={"ingest": cfg.ingest.model_copy(update={"prefilter": False})}))
        assert unfiltered.store(s, unfiltered.source_row(s, oki, "rss"), [_road(oki, 2)], NOW).stored == 1
    with sqlite_db.session() as s:
        assert classify_new(s, load_classifier(None), cfg, NOW) == (2, 1)
    with sqlite_db.session() as s:
        got = {
            name: (lab.relevant, lab.kecamatan, lab.topic, lab.agency_code)
            for name, lab in s.execute(
                select(Source.name, Label).join(Post, Post.source_id == Source.id).join(Label, Label.post_id == Post.id)
            ).all()
        }
    assert got[oku] == (True, "Baturaja Timur", "infrastruktur", "pupr")
    assert got[oki][:2] == (False, None)


def test_a_region_whose_places_are_gone_waits_and_the_others_are_read(
    deployment: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    cfg = load_config(deployment)
    seen: list[tuple[int, bool]] = []

    class Recorder:
        version = "rec"

        def predict(self, texts: list[str], gazetteer: Gazetteer | None = None) -> list[Labels]:
            seen.append((len(texts), gazetteer is None))
            return [road_label("rec") for _ in texts]

    with sqlite_db.session() as s:
        ingestor = Ingestor(cfg)
        for name, text in (
            ("googlenews-ogan-komering-ulu", ROAD),
            ("googlenews-muara-enim", "jalan putus di Gelumbang"),
        ):
            assert ingestor.store(s, ingestor.source_row(s, name, "googlenews"), [_road(name, 1, text)], NOW).stored

    broken = cfg.model_copy()
    broken._regions = {
        **cfg.deployment_regions(),
        "16.03": dataclasses.replace(cfg.deployment_regions()["16.03"], places=deployment.parent / "hilang.csv"),
    }
    with sqlite_db.session() as s:
        assert classify_new(s, Recorder(), broken, NOW) == (1, 1)
        assert seen == [(1, False)]  # OKU's post, with OKU's gazetteer
        left = s.scalars(select(Post.stage).join(Source).where(Source.name == "googlenews-muara-enim")).all()
    assert left == ["new"]


T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""Tuesday 09:00 WIB: a working day, outside quiet hours."""


def _recipients(s: Session, alert: Alert) -> set[str]:
    return set(s.scalars(select(Delivery.recipient).where(Delivery.alert_id == alert.id)))


def test_a_road_issue_of_oku_goes_to_okus_pupr_never_to_okis(
    deployment: Path, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest, classify, group and alert: OKU's road complaint reaches OKU's Dinas PUPR, with OKU's name."""
    from classifiers.model import load_classifier

    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    cfg = load_config(deployment)
    oku = "googlenews-ogan-komering-ulu"
    with sqlite_db.session() as s:
        ingestor = Ingestor(cfg)
        items = [_road(oku, n) for n in range(3)]
        assert ingestor.store(s, ingestor.source_row(s, oku, "googlenews"), items, T0).stored == 3
    with sqlite_db.session() as s:
        classify_new(s, load_classifier(None), cfg, T0)
        group_new(s, cfg, T0)
    with sqlite_db.session() as s:
        issue = s.scalars(select(Issue)).one()
        assert (issue.region_code, issue.kecamatan, issue.agency_code) == ("16.01", "Baturaja Timur", "pupr")
        issue.stage = "naik"
        oki = make_issue(s, T0)  # OKI's own road issue in Cengal, at the same time
        alerts = [a for a in evaluate(s, cfg, T0) if a.kind == "first"]
        by_issue = {a.issue_id: a for a in alerts if a.receiver == "agency:pupr"}
        assert set(by_issue) == {issue.id, oki.id}
        told_oku, told_oki = by_issue[issue.id], by_issue[oki.id]
        assert told_oku.region_code == "16.01" and told_oku.payload["receiver_name"] == "Dinas PUPR Ogan Komering Ulu"
        assert "pupr@ogan-komering-ulu.example" in _recipients(s, told_oku)
        assert not any("okikab" in r for r in _recipients(s, told_oku))
        assert told_oki.region_code == "16.02" and "pupr@okikab.example" in _recipients(s, told_oki)
        assert not any("ogan-komering-ulu" in r for r in _recipients(s, told_oki))


def test_small_issues_are_grouped_per_region_and_a_flood_absorbs_only_its_own_regions_roads(
    deployment: Path, sqlite_db: Database
) -> None:
    cfg = load_config(deployment)
    with sqlite_db.session() as s:
        for region, places in (("16.02", ("Cengal", "Jejawi")), ("16.01", ("Baturaja Timur", "Lengkiti"))):
            for place in places:
                make_issue(s, T0, score=30, title=f"Jalan berlubang {place}", kecamatan=place).region_code = region
        # A flood in OKU's "Cengal"-named kecamatan would not absorb OKI's roads: same name, another regency.
        flood = make_issue(s, T0, topic="bencana", kecamatan="Cengal", title="Banjir di Cengal", score=30)
        flood.region_code = "16.01"
        s.flush()
        groups = [a for a in evaluate(s, cfg, T0) if a.kind == "group"]
        assert sorted(g.region_code for g in groups) == ["16.01", "16.02"]
        for group in groups:
            addresses = _recipients(s, group)
            own = "ogan-komering-ulu" if group.region_code == "16.01" else "okikab"
            assert addresses and all(own in r for r in addresses if "@" in r)
            assert len(group.payload["group"]) == 2


def test_two_regions_route_one_topic_to_agencies_of_different_codes_and_acks_stay_in_their_region(
    deployment: Path, tmp_path: Path, db: Database
) -> None:
    """OKU gives roads to "dpupr" (its own code), OKI to "pupr": each road issue reaches its own region's
    agency, and acknowledging one region's alert leaves the other's open (SQLite and PostgreSQL)."""
    from alerts.ack import acknowledge

    folder = tmp_path / "renamed"
    (folder / "regions").mkdir(parents=True)
    oku_file = yaml.safe_load((deployment.parent / "regions" / "16.01.yaml").read_text(encoding="utf-8"))
    for agency in oku_file["agencies"]:
        if agency["code"] == "pupr":
            agency.update(code="dpupr", name="Dinas PU dan Penataan Ruang OKU", emails=["dpupr@oku.example"])
    oku_file["routing"] = {topic: ("dpupr" if code == "pupr" else code) for topic, code in oku_file["routing"].items()}
    (folder / "regions" / "16.01.yaml").write_text(yaml.safe_dump(oku_file, allow_unicode=True), encoding="utf-8")
    places = oku_file.get("region_places")
    if places:
        (folder / "regions" / places).parent.mkdir(parents=True, exist_ok=True)
        (folder / "regions" / places).write_bytes((deployment.parent / "regions" / places).read_bytes())
    main_file = folder / "config.yaml"
    main_file.write_text(packaged_config_text() + "\nregions: [regions/16.01.yaml]\n", encoding="utf-8")
    cfg = load_config(main_file)
    assert cfg.for_region("16.01").routing["infrastruktur"] == "dpupr"
    with db.session() as s:
        oki = make_issue(s, T0, title="Jalan rusak parah di Cengal")
        oku = make_issue(s, T0, kecamatan="Baturaja Timur", title="Jalan rusak parah di Baturaja Timur")
        oku.region_code = "16.01"
        s.flush()
        first = {a.issue_id: a for a in evaluate(s, cfg, T0) if a.kind == "first"}
        told_oki, told_oku = first[oki.id], first[oku.id]
        assert (told_oku.receiver, told_oku.region_code) == ("agency:dpupr", "16.01")
        assert told_oku.payload["receiver_name"] == "Dinas PU dan Penataan Ruang OKU"
        assert "dpupr@oku.example" in _recipients(s, told_oku)
        assert not any("okikab" in r for r in _recipients(s, told_oku))
        assert told_oki.receiver == "agency:pupr" and "pupr@okikab.example" in _recipients(s, told_oki)
        assert "dpupr@oku.example" not in _recipients(s, told_oki)
        acknowledge(s, token=told_oku.ack_token, actor="dpupr-oku", now=T0, config=cfg, channel="dashboard")
        s.flush()
        s.refresh(told_oki)
        s.refresh(oki)
        assert told_oku.acknowledged_at is not None and s.get_one(Issue, oku.id).acknowledged_at is not None
        assert told_oki.acknowledged_at is None and oki.acknowledged_at is None


def test_a_silent_source_is_reported_to_its_own_region_s_diskominfo(deployment: Path, tmp_path: Path) -> None:
    from datetime import timedelta

    from alerts.source_health import check

    cfg = load_config(deployment)
    db = Database(f"sqlite:///{tmp_path / 'health.db'}")
    db.upgrade()
    now = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    with db.session() as s:
        src = Source(
            name="googlenews-ogan-komering-ulu", kind="googlenews", enabled=True, cursor={}, region_code="16.01"
        )
        s.add(src)
        s.flush()
        for k in range(8):  # collected every 15 minutes, then nothing for a day
            at = now - timedelta(days=1, minutes=15 * k)
            s.add(
                Post(
                    source_id=src.id,
                    platform="googlenews",
                    external_id=f"h{k}",
                    url=f"https://berita.example/oku/{k}",
                    text=f"berita {k}",
                    created_at=at,
                    collected_at=at,
                    content_hash=f"h{k}",
                    stage="grouped",
                    region_code="16.01",
                )
            )
        s.flush()
        alerts = check(s, cfg, now)
        assert [(a.kind, a.region_code) for a in alerts] == [("source_health", "16.01")]
        recipients = set(s.scalars(select(Delivery.recipient).where(Delivery.alert_id == alerts[0].id)))
    oku = cfg.agency("diskominfo", "16.01")
    assert oku is not None and recipients and recipients <= {*oku.emails, *oku.telegram_chat_ids}
    oki = cfg.agency("diskominfo")
    assert oki is not None and not recipients & {*oki.emails}


def test_a_regions_lapor_exports_in_its_subfolder_are_its_own(
    deployment: Path, sqlite_db: Database, tmp_path: Path
) -> None:
    """The LAPOR! folder's files are the own region's; ``16.01/`` beside them holds OKU's, stored as OKU's posts
    under its own source, each file read once per region."""
    from monitor.stages.lapor import scan_folder
    from tests.lapor_support import ROAD_A, ROAD_B, csv_bytes

    folder = tmp_path / "lapor-masuk"
    (folder / "16.01").mkdir(parents=True)
    (folder / "oki.csv").write_bytes(csv_bytes([ROAD_A]))
    (folder / "16.01" / "oku.csv").write_bytes(csv_bytes([ROAD_B]))
    (folder / "16.99").mkdir()  # not a region of the deployment: left alone
    (folder / "16.99" / "lain.csv").write_bytes(csv_bytes([["4219999", *ROAD_B[1:]]]))
    base = load_config(deployment)
    cfg = base.model_copy(update={"lapor": base.lapor.model_copy(update={"folder": str(folder)})})
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    reports = scan_folder(sqlite_db, cfg, now)
    assert [(r.file, r.stored) for r in reports] == [("oki.csv", 1), ("oku.csv", 1)]
    assert scan_folder(sqlite_db, cfg, now) == []  # each file once
    with sqlite_db.session() as s:
        rows = s.execute(
            select(Post.external_id, Post.region_code, Source.name).join(Source, Source.id == Post.source_id)
            .where(Post.platform == "lapor").order_by(Post.external_id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(ROAD_A[0], "16.02", "lapor"), (ROAD_B[0], "16.01", "lapor-1601")]
