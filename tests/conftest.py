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
    """Run ``python -m mtk ARGS`` in a subprocess (real exit codes, real stdout/stderr): for what only a
    process shows (signals, memory caps, a fresh interpreter's imports)."""
    done = subprocess.run([sys.executable, "-m", "mtk", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_cli(*args: str, cwd: Path | None = None, timeout: float | None = None) -> CliResult:
    """Run ``mtk ARGS`` in this process through the console entry point (:func:`mtk.testing.run_cli`): the
    same exit codes, stdout and stderr as a subprocess, without starting an interpreter (``timeout`` is
    accepted and ignored)."""
    from mtk.testing import run_cli as in_process

    done = in_process(*args, cwd=cwd)
    return CliResult(done.code, done.stdout, done.stderr)


@pytest.fixture
def mtk_cli():
    """``mtk ARGS`` in this process (:func:`run_cli`); tests about processes use :func:`run_mtk`."""
    return run_cli


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory):
    """One ``mtk demo --quick`` run through the command line (in this process, into its default ``mtk-demo``
    folder), shared by the tests that read its outputs: (output folder, the run's result, the step names in
    the order they ran, the command's exit code and output)."""
    import mtk.demo

    folder = tmp_path_factory.mktemp("demo")
    runs = []
    real = mtk.demo.run_demo

    def recorded(*args, on_step=None, **kwargs):
        seen: list[str] = []

        def step(done):
            seen.append(done.name)
            if on_step:
                on_step(done)

        runs.append((real(*args, on_step=step, **kwargs), seen))
        return runs[-1][0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mtk.demo, "run_demo", recorded)
        cli = run_cli("demo", "--quick", cwd=folder)
    assert cli.code == 0 and len(runs) == 1, cli.stderr
    (result, seen), = runs
    return folder / "mtk-demo", result, seen, cli
