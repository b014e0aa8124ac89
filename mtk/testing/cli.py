"""``mtk ARGS`` in this process, with the exit code, stdout and stderr a subprocess would give."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: object, cwd: str | Path | None = None) -> CliResult:
    """Run ``mtk ARGS`` through the console entry point (one-line errors, exit codes 0/1/2/3/130) in this
    process: no interpreter start-up, and what this process registered counts."""
    from mtk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())
