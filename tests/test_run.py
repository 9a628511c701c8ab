"""`oki-monitor run`: starts the scheduler (and dashboard), stops cleanly on SIGTERM, one scheduler at a time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from monitor.store.db import Database

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    data["sources"] = []  # no network in tests
    data["database_url"] = f"sqlite:///{tmp_path / 'run.db'}"
    data["alerts"]["telegram"]["api_base"] = "http://127.0.0.1:9"  # never the real Bot API from a test
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def upgraded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the schema, made once per module: the schema is not what is under test here,
    and a `db upgrade` subprocess per test cost an interpreter start-up and the migrations each time."""
    path = tmp_path_factory.mktemp("run-schema") / "run.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


def _upgraded_config(tmp_path: Path, upgraded_db: Path) -> Path:
    cfg = _config(tmp_path)
    shutil.copyfile(upgraded_db, tmp_path / "run.db")
    return cfg


def _start(cfg: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OKI_MONITOR_AUTHOR_KEY": "run-test-key-0123456789", "PYTHONPATH": str(ROOT)}
    env.pop("OKI_MONITOR_DATABASE_URL", None)
    env.pop("OKI_MONITOR_TELEGRAM_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(cfg), "run", *args],
        cwd=cfg.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen; output:\n{seen}")


def test_run_refuses_database_without_schema(tmp_path: Path) -> None:
    proc = _start(_config(tmp_path), "--no-web")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "oki-monitor db upgrade" in err


def test_run_starts_and_stops_cleanly_and_holds_the_lease(tmp_path: Path, upgraded_db: Path) -> None:
    cfg = _upgraded_config(tmp_path, upgraded_db)
    first = _start(cfg, "--no-web")
    try:
        _wait_for(first, "scheduler started")
        second = _start(cfg, "--no-web")  # a second scheduler on the same database must refuse
        _, err = second.communicate(timeout=60)
        assert second.returncode == 4 and "scheduler lain" in err and "Traceback" not in err
        first.send_signal(signal.SIGTERM)
        _, rest = first.communicate(timeout=60)
        assert first.returncode == 0, rest
        assert "stopped cleanly" in rest
    finally:
        if first.poll() is None:
            first.kill()
    third = _start(cfg, "--no-web")  # the lease was released on a clean stop
    _wait_for(third, "scheduler started")
    third.send_signal(signal.SIGINT)
    third.communicate(timeout=120)
    assert third.returncode == 0


_SYS_TGKILL = {"x86_64": 234, "aarch64": 131}


def _signal_a_worker_thread(pid: int, sig: int) -> None:
    """Deliver `sig` to a non-main thread of `pid`, as the kernel may do with any process-directed signal."""
    import ctypes

    tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    assert tids, "the scheduler runs threads"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(_SYS_TGKILL[os.uname().machine], pid, tids[0], sig) == 0, ctypes.get_errno()


def test_run_stops_when_the_signal_lands_on_another_thread(tmp_path: Path, upgraded_db: Path) -> None:
    if os.uname().machine not in _SYS_TGKILL or not Path("/proc/self/task").exists():
        pytest.skip("needs Linux tgkill to aim a signal at one thread")
    cfg = _upgraded_config(tmp_path, upgraded_db)
    proc = _start(cfg, "--no-web")
    try:
        _wait_for(proc, "scheduler started")
        _signal_a_worker_thread(proc.pid, signal.SIGTERM)
        _, rest = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped cleanly" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
