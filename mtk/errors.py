"""Errors that reach the user as one line: ``mtk: error: <path>: <what went wrong> (<what to do>)``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


class BadNameError(BadInputError):
    """A motion name read from a file is not a usable relative path (:mod:`mtk.io.names`)."""


class DuplicateNameError(BadNameError):
    """A motion name occurs twice where names must be unique (:mod:`mtk.io.names`)."""


class DestinationExistsError(MtkError):
    """The output already exists and neither --overwrite nor --resume was given."""


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message, or its type name when the message is empty."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


#: what third-party decoders (numpy, zarr and its codecs, h5py, json) raise on damaged or malformed files
DECODE_ERRORS = (OSError, EOFError, ValueError, KeyError, RuntimeError, TypeError, MemoryError)


@contextmanager
def damaged_input(path: str | Path, hint: str = "the file may be truncated or corrupted") -> Iterator[None]:
    """Turn a decoder's exception while reading ``path`` into a one-line :class:`BadInputError`."""
    try:
        yield
    except DECODE_ERRORS as err:
        text = str(err).strip().splitlines()
        raise BadInputError(path, f"is damaged or unreadable: {type(err).__name__}: "
                            f"{text[0] if text else 'no details'}", hint) from None


class MtkWarning(UserWarning):
    """Something the user should check (e.g. a frame rate the content doubts); the CLI prints it as one line
    ``mtk: warning: <message>`` on stderr."""
