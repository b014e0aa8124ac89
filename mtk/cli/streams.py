"""The standard streams of a command: closed ones become ``/dev/null``, and a stdout that cannot be written (a
closed pipe, ``/dev/full``) ends the command cleanly, with one line, instead of in a traceback."""

from __future__ import annotations

import errno
import io
import os
import sys

import click


class _Recorded(io.FileIO):
    """stdout's file descriptor, remembering the first failed write (a command may catch the error, or see it
    as an ``OSError`` indistinguishable from a failed write of its output file)."""

    failure: OSError | None = None

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError as err:
            type(self).failure = type(self).failure or err
            raise


def prepare() -> None:
    """Point closed descriptors 0-2 at ``/dev/null`` before anything is opened (else the first file the
    command opens would become its stdout), and write stdout through :class:`_Recorded`."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    stream = sys.stdout
    if stream is None or stream is sys.__stdout__:  # not redirected inside Python (tests do)
        if stream is not None:
            stream.flush()
        _Recorded.failure = None
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Recorded(1, "w", closefd=False)),
                                      encoding=getattr(stream, "encoding", None) or "utf-8",
                                      errors=getattr(stream, "errors", None) or "strict",
                                      line_buffering=bool(stream is not None and stream.line_buffering))


def stdout_failure() -> int | None:
    """Flush stdout; None when every write went through, else the exit code to end with: 0 when the reader
    closed the pipe (it has what it wanted, as after ``| head``), 2 with one error line for any other failure
    (a full device). The broken descriptor is pointed at ``/dev/null`` so the interpreter's last flush is quiet."""
    failure = None
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as err:
        failure = err
    failure = _Recorded.failure or failure
    if failure is None:
        return None
    _Recorded.failure = None
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass
    if isinstance(failure, BrokenPipeError) or getattr(failure, "errno", None) == errno.EPIPE:
        return 0
    reason = failure.strerror if isinstance(failure, OSError) and failure.strerror else str(failure)
    click.echo(f"mtk: error: <stdout>: cannot be written: {reason} (send the output somewhere writable)", err=True)
    return 2
