"""The work folder of a resumable run (``mtk stats --resume``, ``mtk tokenize --resume``).

Finished pieces of work are saved, each atomically, as ``.npz`` files in ``.NAME.mtk-work`` beside the
destination ``NAME``, together with a key: the hash of everything the result depends on. A resumed run
reuses the pieces when the key matches and refuses otherwise; a run with ``overwrite`` starts afresh, and a
plain run refuses to delete a killed run's pieces without being told. The folder is removed once the outputs
are written, or after an error (an interruption keeps it). A link planted at its name is unlinked, never
followed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mtk.errors import MtkError
from mtk.io.atomic import create_temp
from mtk.io.commit import remove_path
from mtk.io.destination import RESUMABLE
from mtk.io.location import require_local
from mtk.io.testhooks import pause_point

WORK_SUFFIX = ".mtk-work"
KEY_FILE = "key"


def work_path(destination: str | Path) -> Path:
    """``dir/name`` -> ``dir/.name.mtk-work``."""
    final = require_local(str(destination).rstrip("/"), "a resumable run's work").absolute()
    return final.with_name(f".{final.name}{WORK_SUFFIX}")


#: inputs up to this size are identified by a hash of their content; larger ones by :func:`file_state`
CONTENT_HASH_BYTES = 64 << 20


def file_state(path: str | Path) -> str:
    """A file's size, modification time, change time and inode: what a resumed run compares where hashing
    the content is too costly. Restoring a modification time (``touch -d``, ``os.utime``) sets the change
    time to now, and only the kernel sets that, so an edited file never passes for the old one; a copy (a new
    inode) is taken for a changed file too."""
    state = os.stat(path)
    return f"{state.st_size}:{state.st_mtime_ns}:{state.st_ctime_ns}:{state.st_ino}"


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_identity(path: str | Path) -> list:
    """What a resumed run must find unchanged of an input: a file of at most :data:`CONTENT_HASH_BYTES` by
    the hash of its content, a larger one by its :func:`file_state`; a folder by a hash of every file's
    relative name and :func:`file_state` under it; a URL by its name alone (so a resumed run refuses when a
    source changed, however its times were set)."""
    if "://" in str(path):
        return [str(path)]
    found = Path(path).absolute()
    if found.is_file():
        size = found.stat().st_size
        return [str(found), _content_hash(found) if size <= CONTENT_HASH_BYTES else file_state(found)]
    if not found.is_dir():
        return [str(found)]  # a missing input is reported by whoever opens it
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(found):
        dirs.sort()
        for name in sorted(files):
            file = os.path.join(folder, name)
            state = os.lstat(file)
            digest.update(f"{os.path.relpath(file, found)}\0{state.st_size}\0{state.st_mtime_ns}\0"
                          f"{state.st_ctime_ns}\0{state.st_ino}\n".encode())
    return [str(found), digest.hexdigest()]


def options_key(options: dict) -> str:
    """SHA-256 of ``options`` as canonical JSON."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()


class WorkFolder:
    """Finished pieces of a run, by name; see the module docstring."""

    def __init__(self, destination: str | Path, options: dict, resume: bool, overwrite: bool = False):
        self.destination = str(destination)
        self.path = work_path(destination)
        if self.path.is_symlink():
            self.path.unlink()
        key = options_key(options)
        found = self._read_key()
        if resume and found is not None and found != key:
            raise MtkError(destination, "has an unfinished run made with other inputs or options",
                           "rerun with the same ones, or with --overwrite to start afresh")
        if not resume and not overwrite and self.pieces():
            raise MtkError(destination, f"has the finished work of an interrupted run in {self.path}",
                           "pass --resume to continue it, or --overwrite to start over")
        # an empty folder is what a kill leaves between the key file's removal and the folder's: the run had
        # committed its outputs already (see :meth:`remove`)
        emptied = found is None and self.path.is_dir() and not any(self.path.iterdir())
        #: True when a killed run's work is reused: the outputs it may have half written can be replaced
        self.resumed = resume and (found == key or emptied)
        if not self.resumed:
            self.remove()
        self.path.mkdir(parents=True, exist_ok=True)
        RESUMABLE.append(str(self.path))
        if not self.resumed:
            self._write(KEY_FILE, lambda tmp: tmp.write_text(key, encoding="ascii"))

    def _read_key(self) -> str | None:
        try:
            return (self.path / KEY_FILE).read_text(encoding="ascii")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _write(self, name: str, write: Callable[[Path], object]) -> None:
        """Write ``name`` through an exclusively created temporary file (ending like ``name``) renamed into
        place."""
        tmp = create_temp(self.path / name, suffix=f"-{name}")
        try:
            write(tmp)
            tmp.replace(self.path / name)
        finally:
            tmp.unlink(missing_ok=True)

    def pieces(self) -> list[str]:
        """Names of the finished pieces, sorted."""
        if not self.path.is_dir() or self.path.is_symlink():
            return []
        return sorted(p.name[:-4] for p in self.path.glob("*.npz") if not p.name.startswith("."))

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.npz").is_file()

    def save(self, name: str, **arrays: np.ndarray) -> None:
        """Save a finished piece (plain arrays, no pickles) atomically."""
        self._write(f"{name}.npz", lambda tmp: np.savez(tmp, **arrays))
        pause_point("piece")

    def file(self, name: str) -> Path:
        return self.path / f"{name}.npz"

    def load(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.file(name), allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    def remove(self) -> None:
        """Delete the folder, its key file last: a kill part way through leaves a folder that ``resume``
        still recognises as this run's (the outputs are committed before the work folder goes)."""
        if self.path.is_dir() and not self.path.is_symlink():
            for entry in self.path.iterdir():
                if entry.name != KEY_FILE:
                    remove_path(entry)
        remove_path(self.path)

    def __enter__(self) -> WorkFolder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest) -> None:
        self.close(exc_type)

    def close(self, exc_type: type[BaseException] | None) -> None:
        """Remove the folder after success or an error; keep it after an interruption (for ``resume``)."""
        if exc_type is None or issubclass(exc_type, Exception):
            self.remove()
