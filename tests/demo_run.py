"""The offline demo, run once per test session and read by every test that needs it.

The run is the secret scan's (``test_secrets_scan``): fake secrets are in the environment and
registered with the redactor, logging is at DEBUG (httpx and httpcore included, which log request
URLs), and everything written to stdout and stderr, at the file-descriptor level too, is kept.
Every test reading it is in ``test_demo`` (the secret scan of the demo too), one ``xdist_group``, so under
pytest-xdist's ``--dist loadgroup`` one worker runs the demo, once.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.demo.runner import DemoResult, run_demo
from monitor.kernel.config import load_config, secret
from tests.secrets_support import SECRETS, debug_logging_into

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoRun:
    """One demo run and everything it wrote."""

    result: DemoResult
    output: str
    """stdout, stderr and every log record at DEBUG while the demo ran, then the report lines."""
    workdir: Path
    """The demo's working folder (its database and whatever else it wrote)."""


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """Everything written to stdout and stderr, by Python or by anything writing to fds 1 and 2."""
    text = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            stream = io.TextIOWrapper(os.fdopen(os.dup(sink.fileno()), "wb"), encoding="utf-8", write_through=True)
            with stream, contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                yield text
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            text.write(sink.read().decode("utf-8", errors="replace"))


def run_shared_demo(folder: Path) -> DemoRun:
    """Run the demo in ``folder`` (its working directory) with the fake secrets set, keeping what it wrote."""
    mp = pytest.MonkeyPatch()
    logged = io.StringIO()
    try:
        for name, value in SECRETS.items():
            mp.setenv(name, value)
            secret(name)  # what config loading does for every secret it reads
        mp.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
        mp.chdir(folder)
        base = load_config(ROOT / "config.yaml")
        workdir = folder / "var" / "demo"  # absolute: `oki-monitor brief` reads the database later
        with _captured_output() as written, debug_logging_into(logged):
            result = run_demo(base, workdir, speak=False)
            print("\n".join(result.lines))
    finally:
        mp.undo()
    return DemoRun(result=result, output=f"{written.getvalue()}\n{logged.getvalue()}", workdir=workdir)
