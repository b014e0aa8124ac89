"""Errors that reach the user as one line: ``mtk: error: <path>: <what went wrong> (<what to do>)``."""

from __future__ import annotations

from pathlib import Path


class MtkError(Exception):
    """A problem with the user's input or request. The CLI prints it on one line and exits 2."""

    exit_code = 2

    def __init__(self, path: str | Path | None, problem: str, hint: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.hint = hint
        super().__init__(self.one_line())

    def __reduce__(self):
        """Picklable with its fields, so errors raised in worker processes reach the CLI intact."""
        return type(self), (self.path, self.problem, self.hint)

    def one_line(self) -> str:
        parts = [f"{self.path}: " if self.path else "", self.problem]
        if self.hint:
            parts.append(f" ({self.hint})")
        return "".join(parts).replace("\n", " ")


class BadInputError(MtkError):
    """The input exists but cannot be read as what it claims to be."""


class DestinationExistsError(MtkError):
    """The output already exists and neither --overwrite nor --resume was given."""
