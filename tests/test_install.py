"""The installed package, not the checkout: `oki-monitor init` and `oki-monitor demo` work from an empty folder.

A wheel is built from a copy of the source tree and installed (no dependencies, no index) into a
fresh virtual environment that borrows this environment's third-party packages through a ``.pth``
file, so nothing is downloaded. Every command then runs in an empty temporary folder, where
neither ``config.yaml`` nor ``migrations/`` of the checkout can be found by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# One worker runs this module (make unit: --dist loadgroup), so its module-scoped fixtures are built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_install")]

# Everything that is not part of the distribution (or is rebuilt by it) stays behind.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests", "bench"
)


def _run(
    cmd: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The ``bin`` folder of a virtual environment holding the project's wheel, and the environment to run it in."""
    work = tmp_path_factory.mktemp("install")
    src = work / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=_NOT_SOURCE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OKI_MONITOR_DATABASE_URL")}
    # The build backend's own PEP 517 hook, as `pip wheel --no-build-isolation` calls it, minus pip: the same
    # wheel (same files) for about half the CPU (pip's start-up and the hook's extra process, ~0.8 s).
    build = "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])"
    built = _run([sys.executable, "-c", build, work / "dist"], src, env)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("oki_viral_monitor-*.whl")

    target = work / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "dev-dependencies.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    done = _run([*pip, "install", "-q", "--no-deps", "--no-index", wheel], work, env)
    assert done.returncode == 0, done.stderr
    return target / "bin", env


def test_the_installed_package_is_the_one_that_runs(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    bin_dir, env = installed
    where = _run([bin_dir / "python", "-c", "import monitor; print(monitor.__file__)"], tmp_path, env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout


def test_init_writes_the_commented_oki_default_and_never_overwrites(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    done = _run([bin_dir / "oki-monitor", "init"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert "config.yaml" in done.stdout and "*.example" in done.stdout
    written = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert written.startswith("# Written by `oki-monitor init`")
    assert "# Contacts below are placeholders" in written  # the comments come along
    assert yaml.safe_load(written) == yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))

    (tmp_path / "config.yaml").write_text("region: diubah\n", encoding="utf-8")
    again = _run([bin_dir / "oki-monitor", "init"], tmp_path, env)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (tmp_path / "config.yaml").read_text(encoding="utf-8") == "region: diubah\n"

    elsewhere = _run([bin_dir / "oki-monitor", "init", "--output", "etc/oki.yaml"], tmp_path, env)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "--config etc/oki.yaml db upgrade" in elsewhere.stdout
    assert (tmp_path / "etc" / "oki.yaml").read_text(encoding="utf-8") == written
    upgraded = _run([bin_dir / "oki-monitor", "--config", "etc/oki.yaml", "db", "upgrade"], tmp_path, env)
    assert upgraded.returncode == 0, upgraded.stderr  # the migrations ship inside the package
    assert (tmp_path / "var" / "oki-monitor.db").is_file()


@pytest.mark.timeout(900)
def test_demo_runs_from_an_empty_folder(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    bin_dir, env = installed
    # The scenario's first day and an hour: the installed package's config, migrations, scenario, collectors,
    # pipeline, first alert (chart, e-mail, Telegram, WhatsApp) and the forwarded screenshot's OCR, for ~60 %
    # of the whole demo's CPU. What the second day does is the same code, and test_demo checks it in full.
    done = _run([bin_dir / "oki-monitor", "demo", "--hours", "25"], tmp_path, env, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "konfigurasi bawaan OKI" in done.stderr
    assert "== Laporan demo OKI Viral Monitor ==" in done.stdout
    assert "Isu jalan rusak Cengal: peringatan pertama" in done.stdout  # alerted within the hours replayed
    assert (tmp_path / "var" / "demo" / "demo.db").is_file()
    assert not (tmp_path / "config.yaml").exists()  # the fallback reads the package and writes no config
