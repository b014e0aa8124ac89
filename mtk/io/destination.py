"""Atomic outputs for dataset writers: a temporary sibling that is renamed onto the destination on success.

A killed run leaves the sibling (``.NAME.mtk-partial``) and no destination; ``resume=True`` reopens that
sibling, anything else starts it afresh. Works on local paths and fsspec URLs (``memory://``, ``s3://`` ...).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtk.errors import DestinationExistsError, MtkError

PARTIAL_SUFFIX = ".mtk-partial"


def is_url(path: str | Path) -> bool:
    return "://" in str(path)


def exists(path: str) -> bool:
    """Whether a local path or URL exists."""
    if is_url(path):
        import fsspec

        fs, bare = fsspec.core.url_to_fs(path)
        return fs.exists(bare)
    return os.path.lexists(path)


def remove(path: str) -> None:
    """Remove a file or folder (local or URL) if it exists."""
    if is_url(path):
        import fsspec

        fs, bare = fsspec.core.url_to_fs(path)
        if fs.exists(bare):
            fs.rm(bare, recursive=True)
    elif os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


@dataclass
class Destination:
    """Where a writer puts its output: the final path, its temporary sibling and a journal beside it."""

    final: str
    partial: str
    resuming: bool

    @property
    def journal(self) -> str:
        return self.partial + ".journal"

    def fs(self):
        """The fsspec filesystem and the bare paths (final, partial) for URLs; None for local paths."""
        import fsspec

        fs, final = fsspec.core.url_to_fs(self.final)
        _, partial = fsspec.core.url_to_fs(self.partial)
        return fs, final, partial

    def commit(self) -> None:
        """Rename the finished sibling onto the final path and drop the journal."""
        remove(self.journal)
        if is_url(self.final):
            fs, final, partial = self.fs()
            if fs.exists(final):
                fs.rm(final, recursive=True)
            fs.mv(partial, final, recursive=True)
            return
        remove(self.final)
        os.replace(self.partial, self.final)

    def close(self, exc_type: type[BaseException] | None) -> None:
        """Commit after success; after an error remove the partial output (nothing is left written); after
        an interruption (Ctrl-C) keep it for ``resume``, as a killed run does."""
        if exc_type is None:
            self.commit()
        elif issubclass(exc_type, Exception):
            self.discard()

    def discard(self) -> None:
        """Remove the sibling and journal (after a failure that cannot be resumed)."""
        remove(self.partial)
        remove(self.journal)


def partial_sibling(path: str) -> str:
    """``dir/name`` -> ``dir/.name.mtk-partial`` (the same for URLs)."""
    text = str(path).rstrip("/")
    head, _, name = text.rpartition("/")
    if not name:
        raise MtkError(path, "is not a usable output path")
    return f"{head}/.{name}{PARTIAL_SUFFIX}" if head else f".{name}{PARTIAL_SUFFIX}"


def prepare(path: str | Path, overwrite: bool = False, resume: bool = False) -> Destination:
    """Check the destination and set up its temporary sibling.

    An existing destination needs ``overwrite``. With ``resume`` an existing sibling is kept and
    ``resuming`` is True; otherwise any stale sibling is removed.
    """
    final = str(path).rstrip("/")
    if not is_url(final):
        final = str(Path(final).absolute())
    dest = Destination(final, partial_sibling(final), resuming=False)
    if exists(final) and not overwrite:
        raise DestinationExistsError(final, "already exists", "pass --overwrite to replace it")
    if resume and exists(dest.partial) and exists(dest.journal):
        dest.resuming = True
        return dest
    dest.discard()
    if not is_url(final):
        Path(final).parent.mkdir(parents=True, exist_ok=True)
    return dest


class Journal:
    """An append-only JSON-lines log beside the partial output, recording what is safely written."""

    def __init__(self, path: str):
        self.path = path

    def records(self) -> Iterator[dict[str, Any]]:
        """The journal's records in order, streamed; a torn last line from a killed run ends it."""
        try:
            handle = self._open("rb")
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    return

    def read(self) -> list[dict[str, Any]]:
        return list(self.records())

    def append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        with self._open("ab") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(handle, "fileno"):
                try:
                    os.fsync(handle.fileno())
                except (OSError, ValueError, AttributeError):
                    pass

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """Replace the journal with ``records`` (a resumed run drops what was not safely written)."""
        tmp = Journal(self.path + ".tmp")
        remove(tmp.path)
        tmp.append(records)
        if is_url(self.path):
            import fsspec

            fs, bare = fsspec.core.url_to_fs(self.path)
            fs.mv(fsspec.core.url_to_fs(tmp.path)[1], bare)
        else:
            os.replace(tmp.path, self.path)

    def _open(self, mode: str):
        if is_url(self.path):
            import fsspec

            return fsspec.open(self.path, mode).open()
        return open(self.path, mode)
