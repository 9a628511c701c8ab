"""The `oki-monitor` command line: help, db upgrade, config errors, refusing an old schema.

Two tests start the real program (``python -m monitor.cli``): its help, and a config error's exit
status and single stderr line as the shell sees them. The others call ``monitor.cli.main`` in this
process (``tests/cli_support.py``): the same code without a new interpreter's start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_support import CliResult, run_main

ROOT = Path(__file__).resolve().parent.parent
AUTHOR_KEY = "cli-test-key-0123456789"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The real program in a new interpreter."""
    full_env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": AUTHOR_KEY, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


Cli = Callable[..., CliResult]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``main(args)`` in this process from the project folder, with ``env`` added to the environment."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", AUTHOR_KEY)
    monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return run_main(capsys, *args)

    return run


def test_help_lists_the_contract_commands() -> None:
    out = cli("--help").stdout
    for command in ("classify", "detect", "demo", "run", "import", "db", "collect", "sources", "process"):
        assert command in out, f"{command} missing from --help"


def test_db_upgrade_twice_then_sources(run_cli: Cli, tmp_path: Path) -> None:
    env = {"OKI_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    first = run_cli("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "diperbarui" in first.stdout
    second = run_cli("db", "upgrade", env=env)
    assert second.returncode == 0 and "sudah terbaru" in second.stdout
    listing = run_cli("sources", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "antara-sumsel" in listing.stdout and "nonaktif" in listing.stdout  # token sources are listed as disabled


def test_config_error_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config.yaml").read_text().replace("pipeline_seconds: 60", "pipeline_seconds: fast"))
    result = cli("--config", str(bad), "sources")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "schedules.pipeline_seconds" in lines[0], result.stderr


def test_commands_refuse_a_database_without_schema(run_cli: Cli, tmp_path: Path) -> None:
    env = {"OKI_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = run_cli("collect", "--source", "antara-sumsel", "--once", env=env)
    assert result.returncode == 3
    assert "oki-monitor db upgrade" in result.stderr
    result = run_cli("process", "--once", "--json", env=env)
    assert result.returncode == 3 and result.stdout == ""


@pytest.mark.parametrize("argv", [["--config"], ["nonsense-command"]])
def test_usage_errors_exit_nonzero(run_cli: Cli, argv: list[str]) -> None:
    assert run_cli(*argv).returncode != 0


def test_non_utf8_config_is_one_clear_bahasa_line(run_cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    bad.write_bytes(text.encode("utf-8") + "\n# catatan: Kabupaten Ogan Komering Ilir – é\n".encode("cp1252"))
    result = run_cli("--config", str(bad), "sources")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bukan UTF-8" in lines[0] and "baris" in lines[0], result.stderr


def test_database_down_at_start_is_one_clear_bahasa_line(run_cli: Cli) -> None:
    # Nothing listens on port 1; the password must not be printed.
    env = {"OKI_MONITOR_DATABASE_URL": "postgresql+psycopg://oki:rahasia-sekali@127.0.0.1:1/oki?connect_timeout=3"}
    result = run_cli("sources", env=env)
    assert result.returncode == 4 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Basis data tidak bisa dihubungi"), result.stderr
    assert "rahasia-sekali" not in result.stderr and "127.0.0.1:1" in result.stderr


def test_route_to_an_undefined_receiver_is_a_config_error_naming_the_key(run_cli: Cli, tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["alerts"]["route"] = {"receiver": "$agency", "routes": [{"match": {"topic": ["bencana"]}, "receiver": "bpdb"}]}
    bad = tmp_path / "route.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_cli("--config", str(bad), "sources")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "alerts.route.routes.0.receiver: receiver 'bpdb' is not defined" in lines[0], lines
