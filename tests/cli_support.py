"""`oki-monitor` commands run in the test process: ``monitor.cli.main`` with its output captured.

Starting the real program costs a new interpreter (~1.5-2 s of CPU for the CLI's imports); a test
that checks what a command prints and returns runs the same code here. Tests whose point is the
process itself (its exit on a signal, a kill, the entry point) still start ``python -m monitor.cli``.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import pytest

from monitor.cli import main


class CliResult(NamedTuple):
    """What a command returned and printed, as ``subprocess.run`` would report it."""

    returncode: int
    stdout: str
    stderr: str


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """``main(args)`` with stdout and stderr captured; the root logger's handlers and level restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)  # main() sets up logging for a whole process
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    out, err = capsys.readouterr()
    return CliResult(code, out, err)
