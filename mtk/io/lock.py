"""An exclusive lock on an output path, so two mtk processes never write the same destination at once.

The lock is a file ``.NAME.mtk-lock`` beside the destination (next to its ``.NAME.mtk-partial`` sibling),
created with ``O_CREAT | O_EXCL`` and holding the owner's pid. A lock whose pid is no longer running (a
killed run) is stale and taken over. URLs are not locked: object stores have no exclusive create.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path

from mtk.errors import MtkError
from mtk.io.commit import finish_interrupted
from mtk.io.destination import check_parent
from mtk.io.location import is_url, local_path

LOCK_SUFFIX = ".mtk-lock"
#: a lock file still without a pid is being created; older than this, its creator died before writing it
CREATING_GRACE_S = 10.0


def lock_path(path: str | Path) -> Path:
    """``dir/name`` -> ``dir/.name.mtk-lock``."""
    final = Path(str(path).rstrip("/")).absolute()
    return final.with_name(f".{final.name}{LOCK_SUFFIX}")


def _holder(lock: Path) -> int | None:
    """The pid written in ``lock``, or None while it is empty or unreadable."""
    try:
        return int(lock.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def process_running(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(lock: Path) -> bool:
    holder = _holder(lock)
    if holder is None:
        try:
            return time.time() - lock.stat().st_mtime > CREATING_GRACE_S
        except FileNotFoundError:
            return True
    return not process_running(holder)


def _create(lock: Path) -> bool:
    """Create ``lock`` holding this pid; False when it exists."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
    except BaseException:
        lock.unlink(missing_ok=True)  # a full disk: leave no empty lock behind
        raise
    return True


@contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """Hold the lock on the destination ``path`` for the duration of the block.

    Raises a one-line :class:`MtkError` when another running process holds it; takes over a stale one.
    Folders created to hold the lock are removed again when the block leaves them empty (a refused run).
    Once held, a commit that a killed run left half done is finished (:func:`finish_interrupted`).
    """
    path = local_path(path)
    if is_url(path):
        yield
        return
    check_parent(path)
    lock = lock_path(path)
    created = list(takewhile(lambda folder: not folder.exists(), (lock.parent, *lock.parent.parents)))
    lock.parent.mkdir(parents=True, exist_ok=True)
    if not _create(lock):
        holder = _holder(lock)
        if not _is_stale(lock):
            raise MtkError(path, f"is being written by another mtk process (pid {holder})",
                           f"wait for it to finish; remove {lock} only if that process is gone")
        lock.unlink(missing_ok=True)  # its process died: take it over
        if not _create(lock):
            raise MtkError(path, "another mtk process took over its stale lock first", "wait for it to finish")
    try:
        finish_interrupted(Path(str(path).rstrip("/")).absolute())
        yield
    finally:
        if _holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        for folder in created:  # deepest first; a finished run's output keeps its folder
            try:
                folder.rmdir()
            except OSError:
                break
