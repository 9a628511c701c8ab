"""`oki-monitor init`: the starter config is the packaged OKI default, loads as written, never overwrites silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.kernel.config import load_config, packaged_config_text

ROOT = Path(__file__).resolve().parent.parent


def test_packaged_config_is_the_checkouts_config() -> None:
    assert packaged_config_text() == (ROOT / "config.yaml").read_text(encoding="utf-8")


def test_init_writes_a_config_that_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "baru" / "config.yaml"
    assert main(["init", "--output", str(out)]) == 0
    assert f"--config {out} db upgrade" in capsys.readouterr().out
    written = load_config(out)
    assert written == load_config(ROOT / "config.yaml")
    assert {a.code for a in written.agencies} >= {"pupr", "diskominfo"}


def test_init_keeps_an_existing_file_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "config.yaml"
    out.write_text("region: milik operator\n", encoding="utf-8")
    assert main(["init", "--output", str(out)]) == 2
    assert "sudah ada" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "region: milik operator\n"
    assert main(["init", "--output", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").endswith(packaged_config_text())
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temporary file left behind


def test_a_named_config_that_is_missing_is_an_error_pointing_at_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--config", "tidak-ada.yaml", "sources"]) == 2
    assert "oki-monitor init" in capsys.readouterr().err
