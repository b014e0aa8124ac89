"""Atomic single-file outputs: write a temporary sibling, rename it over the target on success.

Temporary files are created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``) under a random name, so nothing
is ever written through a path or link that was already there.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mtk.io import commit
from mtk.io.destination import check_destination
from mtk.io.location import require_local
from mtk.io.lock import process_running

TEMP_MARK = ".tmp-"
PARTIAL_MARK = ".mtk-partial"


def refuse_existing(path: str | Path, overwrite: bool, sources: Iterable[str | Path] = ()) -> None:
    """The checks of a single-file output (:func:`mtk.io.destination.check_destination`): an existing one
    needs ``overwrite``."""
    check_destination(path, overwrite, sources)


def create_temp(path: str | Path, suffix: str = "") -> Path:
    """Create an empty temporary sibling of ``path`` exclusively (ending in ``suffix``).

    Inside a partial output or work folder (which this run owns, under its lock) the name is fixed, so that
    a resumed run replaces a killed run's leftover; elsewhere it carries this process's id and a random part,
    and the leftovers of dead processes are removed first. A URL other than ``file://`` is refused."""
    path = require_local(path)
    if _inside_temporary(path):
        tmp = path.with_name(f".{path.name}{TEMP_MARK}{suffix}")
        commit.remove_path(tmp)  # a killed run's leftover (a link is unlinked, never followed)
        _create_exclusive(tmp)
        return tmp
    _remove_stale(path)
    for _ in range(16):
        tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}{suffix}")
        try:
            _create_exclusive(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _create_exclusive(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))


def _remove_stale(path: Path) -> None:
    """Remove the temporaries of ``path`` that killed processes left."""
    prefix = f".{path.name}{TEMP_MARK}"
    try:
        names = [n for n in os.listdir(path.parent or ".") if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not process_running(int(pid)):
            commit.remove_path(path.parent / name)


def _inside_temporary(path: Path) -> bool:
    """Whether ``path`` lies in a partial output or work folder (its rename is no commit of an output)."""
    return any(part.endswith((".mtk-partial", ".mtk-work")) for part in path.absolute().parts[:-1])


#: free bytes below which a failed write is taken for a full disk
_NEARLY_FULL = 1 << 20


def torch_save(document: object, path: str | Path) -> None:
    """``torch.save(document, path)``; a failed write, which torch reports as a ``RuntimeError``, is raised as
    the ``OSError`` of a full disk when the disk is nearly full, so that it reaches the user as one line."""
    import torch

    try:
        torch.save(document, path)
    except RuntimeError as err:
        found = os.statvfs(Path(path).parent)
        if found.f_bavail * found.f_frsize >= _NEARLY_FULL:
            raise
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from err


@contextmanager
def atomic_file(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A fresh temporary sibling of ``path`` to write (ending in ``suffix``, for writers that go by the
    extension); it replaces ``path`` when the block succeeds and is removed in any case."""
    path = require_local(path)
    tmp = create_temp(path, suffix)
    try:
        yield tmp
        commit.replace(tmp, path, pauses=not _inside_temporary(path))
    finally:
        tmp.unlink(missing_ok=True)


def write_together(name: str | Path, writers: dict[Path, Callable[[Path], object]],
                   folders: Iterable[Path] = ()) -> None:
    """Write several outputs that belong together (each ``writers[final](staged_path)``; the staged path is a
    fresh empty file, or a fresh empty folder for the finals in ``folders``) and put them in place in one
    recorded commit named after ``name`` (:func:`mtk.io.commit.replace_all`): a kill leaves the old outputs,
    the new ones, or a record from which the next run finishes the commit."""
    writers = {require_local(final): write for final, write in writers.items()}
    folders = {require_local(folder) for folder in folders}
    staged: list[tuple[Path, Path]] = []
    try:
        for final, write in writers.items():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}{PARTIAL_MARK}")
            commit.remove_path(tmp)  # a killed run's leftover (a link is unlinked, never followed)
            if final in folders:
                os.mkdir(tmp)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
            staged.append((tmp, final))
            write(tmp)
    except BaseException:
        for tmp, _ in staged:
            commit.remove_path(tmp)
        raise
    commit.replace_all(name, staged)
