"""Shared fixtures: the real-data folder (MTK_TEST_DATA) and a CLI runner."""

from __future__ import annotations

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
    """Run ``python -m mtk ARGS`` in a subprocess (real exit codes, real stdout/stderr)."""
    done = subprocess.run([sys.executable, "-m", "mtk", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def mtk_cli():
    return run_mtk
