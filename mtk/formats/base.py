"""The contracts every format implements, as abstract base classes (see docs/architecture.md).

A dataset format provides a :class:`DatasetReader` (opened lazily, picklable, one per thread or process) and
usually a :class:`DatasetWriter` (a context manager that commits atomically on a clean exit). A tokens
format provides a :class:`TokenReader` and a :class:`TokenWriter`. Callers use only the methods declared
here; nothing probes an object with ``hasattr``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mtk.formats.model import DatasetInfo, Motion, Stats, TokenSet


class DatasetReader(ABC):
    """Read access to a dataset of motions, whatever the container.

    Files open on first use; a copy (``copy.copy``) or an unpickled reader opens its own handles, so
    threads and worker processes each read through their own.
    """

    #: the dataset's path or URL, as given
    path: str

    @property
    @abstractmethod
    def info(self) -> DatasetInfo:
        """Layout, rate, names, splits and stats, known before any motion is read."""

    def __len__(self) -> int:
        return len(self.info.names)

    @property
    def names(self) -> list[str]:
        """Every motion's name, in the dataset's order."""
        return list(self.info.names)

    @abstractmethod
    def length(self, name: str) -> int:
        """Frames of motion ``name`` without reading it."""

    @abstractmethod
    def read(self, name: str) -> Motion:
        """Motion ``name`` (features and texts); a one-line error when it is missing or unreadable."""

    def iter(self, split: str | None = None) -> Iterator[Motion]:
        """Every motion of ``split`` (all when None), in order."""
        return self.iter_names(self.info.split_names(split))

    def iter_names(self, names: Sequence[str]) -> Iterator[Motion]:
        """Motions ``names`` in the given order, read efficiently (whole chunks or shards where possible)."""
        return (self.read(name) for name in names)

    @abstractmethod
    def read_window(self, name: str, start: int, length: int) -> np.ndarray:
        """Rows ``start:start + length`` of motion ``name`` (fewer at its end)."""

    def check(self) -> None:
        """Raise a one-line error when the container's structure is damaged (a no-op where reading the
        metadata already checks it)."""

    def fingerprint(self, name: str) -> str | None:
        """What a resumed conversion compares to find motion ``name`` unchanged since an interrupted run
        converted it (:func:`mtk.io.workdir.file_state` of its file, or of its store); None where the format
        cannot tell cheaply."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release open handles; the reader reopens them when used again."""


class DatasetWriter(ABC):
    """Adds motions to a new dataset: ``with writer: writer.add(...)``; commits atomically on a clean exit.

    Writers work in a temporary sibling of the destination; with ``resume=True`` they continue a killed
    run from its journal (:meth:`resume_index` says where), and motions the source could not give are
    recorded with :meth:`add_bad`.
    """

    @property
    @abstractmethod
    def path(self) -> str:
        """The destination, as given."""

    def __enter__(self) -> DatasetWriter:
        return self

    @abstractmethod
    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        """Commit (rename into place) when ``exc_type`` is None; otherwise keep or drop the partial output."""

    @abstractmethod
    def add(self, motion: Motion) -> None:
        """Append one motion (features (T, D) with T > 0; every motion has the same D)."""

    @abstractmethod
    def add_bad(self, name: str, reason: str) -> None:
        """Record that the source's motion ``name`` was unreadable and is left out (``--skip-bad``)."""

    @abstractmethod
    def set_splits(self, splits: dict[str, list[str]]) -> None:
        """The splits to write, as motion names (names the dataset lacks are kept as missing)."""

    @abstractmethod
    def set_stats(self, stats: Stats) -> None:
        """The normalisation vectors to write."""

    @abstractmethod
    def resume_index(self, names: Sequence[str]) -> int:
        """How many of the source ``names`` (in order) a resumed run already holds or skipped; a one-line
        error when the interrupted run was of another source."""

    @property
    @abstractmethod
    def skipped(self) -> list[tuple[str, str]]:
        """The (name, reason) of every motion recorded with :meth:`add_bad`, this run's and a resumed one's."""


class TokenReader(ABC):
    """Reads a whole tokens container into a :class:`~mtk.formats.model.TokenSet`."""

    @abstractmethod
    def read(self, path: str | Path) -> TokenSet:
        """The tokens at ``path``; a one-line error when they are damaged."""


class TokenWriter(ABC):
    """Writes a :class:`~mtk.formats.model.TokenSet` atomically."""

    #: whether :meth:`write` takes fsspec URLs as well as local paths
    writes_urls: bool = False
    #: whether the format holds several codes per step (``(L, Q)`` codes); else only ``(L,)``
    writes_several_codes: bool = False

    def outputs(self, path: str | Path) -> list[Path]:
        """Every file or folder :meth:`write` makes for ``path`` (what must not exist without ``overwrite``)."""
        return [Path(path)]

    def check(self, path: str | Path, overwrite: bool = False) -> None:
        """Refuse, before any work is done, what :meth:`write` would refuse: an existing output without
        ``overwrite``."""
        from mtk.errors import DestinationExistsError

        for target in self.outputs(path) if not overwrite else ():
            if target.exists():
                raise DestinationExistsError(target, "already exists", "pass --overwrite to replace it")

    @abstractmethod
    def write(self, path: str | Path, tokens: TokenSet, overwrite: bool = False) -> str:
        """Write ``tokens`` to ``path`` (refused when it exists, unless ``overwrite``); a one-line summary."""
