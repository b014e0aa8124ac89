"""Where data lives: local paths and fsspec URLs, looked at the same way.

A ``file://`` URL is the local path it names (:func:`local_path`): mtk reads and writes it exactly there, with
every local check. Any other URL (``memory://``, ``s3://`` ...) goes through fsspec; :class:`Tree` lists the
files of a local folder or of a URL's folder alike (names, sizes, presence), so that the checks of a store's
declared sizes and shards are the same for both.

>>> local_path("file:///data/humanml3d.zarr")
'/data/humanml3d.zarr'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mtk.errors import MtkError

#: URL schemes that name a path on this machine
LOCAL_SCHEMES = ("file", "local")


def is_url(path: str | Path) -> bool:
    """Whether ``path`` is a URL (``scheme://...``) rather than a local path."""
    return "://" in str(path)


def local_path(path: str | Path) -> str | Path:
    """The local path a ``file://`` (or fsspec ``local://``) URL names; anything else unchanged."""
    text = str(path)
    scheme, _, rest = text.partition("://")
    if not rest or scheme.lower() not in LOCAL_SCHEMES or "::" in text:
        return path
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost"):
        raise MtkError(text, f"names the host {parts.netloc!r}", "a file:// URL must name a path on this machine")
    return unquote(parts.path) or "/"


def require_local(path: str | Path, what: str = "this output") -> Path:
    """``path`` as a local :class:`Path` (a ``file://`` URL: the path it names); a one-line error for any other
    URL, which a writer of local files would otherwise take for a relative path (``memory://x`` -> ``./memory:/x``)."""
    path = local_path(path)
    if is_url(path):
        raise MtkError(path, f"is a URL, but {what} is written to local paths only",
                       "give a local path (URLs take .zarr stores)")
    return Path(path)


class Tree:
    """The files under a local folder or a URL's folder: names, sizes and presence. Local links are followed
    (each folder listed once): which links a container may hold is :class:`mtk.io.contained.Root`'s to say.

    Paths are given relative to the root, ``/``-separated.
    """

    def __init__(self, root: str | Path):
        self.root = str(root).rstrip("/") or "/"
        self.url = is_url(self.root)
        if self.url:
            import fsspec

            self.fs, self.bare = fsspec.core.url_to_fs(self.root)
            self.bare = self.bare.rstrip("/")

    def _at(self, relative: str) -> str:
        base = self.bare if self.url else self.root
        return f"{base}/{relative}" if relative else base

    def exists(self, relative: str) -> bool:
        """Whether a file or folder is at ``relative``."""
        if self.url:
            return bool(self.fs.exists(self._at(relative)))
        return os.path.lexists(self._at(relative))

    def names(self, relative: str = "") -> list[str]:
        """The entries of the folder at ``relative`` (none when it is absent)."""
        if self.url:
            try:
                return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self._at(relative), detail=False)]
            except (FileNotFoundError, NotADirectoryError, OSError):
                return []
        try:
            with os.scandir(self._at(relative)) as entries:
                return [entry.name for entry in entries]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def files(self, relative: str = "") -> Iterator[tuple[str, int]]:
        """(path relative to the root, bytes) of every regular file below ``relative``."""
        if self.url:
            start = self._at(relative)
            try:
                found = self.fs.find(start, detail=True)
            except (FileNotFoundError, OSError):
                return
            for path, info in found.items():
                if info.get("type") == "file":
                    yield str(path)[len(self.bare) + 1:], int(info.get("size") or 0)
            return
        stack, seen = [relative], set()
        while stack:
            folder = stack.pop()
            real = os.path.realpath(self._at(folder))
            if real in seen:  # a link back up the tree
                continue
            seen.add(real)
            try:
                entries = list(os.scandir(self._at(folder)))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                inner = f"{folder}/{entry.name}" if folder else entry.name
                if entry.is_dir():
                    stack.append(inner)
                elif entry.is_file():
                    yield inner, entry.stat().st_size

    def open(self, relative: str):
        """The file at ``relative``, opened for binary reading (whether a local link may be followed is
        :class:`mtk.io.contained.Root`'s to say, before)."""
        if self.url:
            return self.fs.open(self._at(relative), "rb")
        return open(self._at(relative), "rb")  # noqa: SIM115 - the caller closes it

    def bytes_below(self, relative: str = "") -> int:
        """The bytes of every regular file below ``relative``."""
        return sum(size for _, size in self.files(relative))
