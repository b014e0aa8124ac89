"""``mtk ARGS`` in this process, with the exit code, stdout and stderr a subprocess would give."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: object, cwd: str | Path | None = None) -> CliResult:
    """Run ``mtk ARGS`` through the console entry point (one-line errors, exit codes 0/1/2/3/130) in this
    process: no interpreter start-up, and what this process registered counts. Torch's CPU thread count
    (which training sets) is restored afterwards, when torch was loaded before the call, so one call does not
    change the numbers of the next."""
    from mtk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            _torch_threads_kept():
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _torch_threads_kept() -> Iterator[None]:
    """Give torch back the thread count it had before the call (when torch was loaded by then; the CLI
    imports it lazily)."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if threads is not None:
            torch.set_num_threads(threads)
