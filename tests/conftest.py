"""Shared fixtures: the real-data folder (MTK_TEST_DATA) and a CLI runner."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real-data folder; tests using it skip when MTK_TEST_DATA is unset."""
    root = os.environ.get("MTK_TEST_DATA")
    if not root:
        pytest.skip("MTK_TEST_DATA is not set")
    path = Path(root)
    if not path.is_dir():
        pytest.fail(f"MTK_TEST_DATA={root} is not a folder")
    return path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_mtk(*args: str, cwd: Path | None = None, timeout: float = 600) -> CliResult:
    """Run ``python -m mtk ARGS`` in a subprocess (real exit codes, real stdout/stderr): for what only a
    process shows (signals, memory caps, a fresh interpreter's imports)."""
    done = subprocess.run([sys.executable, "-m", "mtk", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_cli(*args: str, cwd: Path | None = None, timeout: float | None = None) -> CliResult:
    """Run ``mtk ARGS`` in this process, through the console entry point: the same exit codes, stdout and
    stderr as a subprocess, without starting an interpreter (``timeout`` is accepted and ignored)."""
    from mtk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def mtk_cli():
    return run_mtk


@pytest.fixture
def cli():
    """``mtk ARGS`` in this process (:func:`run_cli`)."""
    return run_cli
