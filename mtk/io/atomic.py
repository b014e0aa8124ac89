"""Atomic single-file outputs: write a temporary sibling, rename it over the target on success."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mtk.errors import DestinationExistsError


def refuse_existing(path: str | Path, overwrite: bool) -> None:
    """Refuse to replace an existing single-file output unless ``overwrite``."""
    if Path(path).exists() and not overwrite:
        raise DestinationExistsError(path, "already exists", "pass --overwrite to replace it")


@contextmanager
def atomic_file(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary sibling of ``path`` to write (ending in ``suffix``, for writers that go by the extension);
    it replaces ``path`` when the block succeeds and is removed in any case."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
