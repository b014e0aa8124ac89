"""Containers stay inside themselves: a dataset, store or database folder is read only from files that lie
inside it.

A symbolic link inside a container that leads outside it (a linked ``features/`` folder, a caption file linked
to ``/etc/passwd``) is refused with a one-line :class:`~mtk.errors.BadInputError` naming the link and where it
leads, unless the user passes ``--follow-links`` (which sets :data:`FOLLOW_LINKS_ENV`, so worker processes
follow the same rule). Links that stay inside the container are fine. The container's own path may be a link.
"""

from __future__ import annotations

import os
from pathlib import Path

from mtk.errors import BadInputError

#: set to "1" (by ``mtk --follow-links``) to read through links that leave their container
FOLLOW_LINKS_ENV = "MTK_FOLLOW_LINKS"
HINT = "copy the data into it, or pass --follow-links to read through links"


def following_links() -> bool:
    """Whether links leaving a container are followed (``--follow-links``)."""
    return os.environ.get(FOLLOW_LINKS_ENV) == "1"


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class Root:
    """A container's folder; :meth:`check` refuses a path below it that resolves outside it."""

    def __init__(self, root: str | Path, what: str = "the dataset"):
        self.root = Path(root)
        self.real = os.path.realpath(root)
        self.what = what
        self._folders: dict[str, bool] = {}  # a folder below the root -> whether it resolves inside

    def _refuse(self, path: str | Path) -> None:
        raise BadInputError(path, f"is a link that leads outside {self.what} {self.root} (to "
                            f"{os.path.realpath(path)})", HINT)

    def check(self, path: str | Path) -> Path:
        """``path`` (a path below the root) when neither it nor a folder on the way resolves outside the root.
        Costs one ``lstat`` per call and one ``realpath`` per folder (cached) and per link."""
        path = Path(path)
        if following_links() or path == self.root:
            return path
        folder = str(path.parent)
        inside = self._folders.get(folder)
        if inside is None:
            inside = self._folders[folder] = _inside(os.path.realpath(folder), self.real)
        if not inside:
            self._refuse(path.parent)
        if os.path.islink(path) and not _inside(os.path.realpath(path), self.real):
            self._refuse(path)
        return path

    def check_entry(self, entry: os.DirEntry) -> None:
        """Refuse a listed entry (of a folder already checked) that is a link leading outside the root."""
        if entry.is_symlink() and not following_links() and not _inside(os.path.realpath(entry.path), self.real):
            self._refuse(entry.path)

    def check_tree(self) -> None:
        """Walk every entry below the root (not following links) and refuse any link that leads outside; for
        containers of few files (stores of shards, PFNN databases)."""
        if following_links():
            return
        stack = [str(self.root)]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                self.check_entry(entry)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
