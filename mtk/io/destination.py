"""Atomic outputs for dataset writers: a temporary sibling that is renamed onto the destination on success.

A killed run leaves the sibling (``.NAME.mtk-partial``) and no destination; ``resume=True`` reopens that
sibling, anything else starts it afresh. Works on local paths and fsspec URLs (``memory://``, ``s3://`` ...).
Also here: the checks every destination passes (:func:`check_destination`), the one-line error for a write
that fails (:func:`write_fault`) and the resumable work that Ctrl-C names.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtk.errors import DestinationExistsError, MtkError, first_line
from mtk.io import commit
from mtk.io.location import is_url, local_path, require_local

PARTIAL_SUFFIX = ".mtk-partial"
#: resumable work this process has started (kept after Ctrl-C; the CLI names it)
RESUMABLE: list[str] = []

#: errno -> (problem, what to do) for a destination that cannot be written
_WRITE_FAULTS = {
    errno.ENOSPC: ("no space left on the device", "free some space or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write elsewhere"),
    errno.EROFS: ("is on a read-only filesystem", "write elsewhere"),
    errno.EACCES: ("is not writable (permission denied)", "write elsewhere or fix the folder's permissions"),
    errno.EPERM: ("is not writable (operation not permitted)", "write elsewhere or fix the folder's permissions"),
    errno.ENAMETOOLONG: ("has a name too long for the filesystem", "choose a shorter name"),
    errno.EXDEV: ("lies on another filesystem than its folder (a mount point?), so it cannot be renamed into place",
                  "write into a folder inside it"),
    errno.EBUSY: ("is busy (a mount point?), so it cannot be replaced", "write into a folder inside it"),
}
#: the outputs this process has set out to write, in order (a write fault names the first, the command's)
OUTPUTS: list[str] = []


def start_command() -> None:
    """Forget the outputs and resumable work of an earlier command run in this process (a test, a notebook):
    error messages name the current command's."""
    OUTPUTS.clear()
    RESUMABLE.clear()


def exists(path: str) -> bool:
    """Whether a local path or URL exists."""
    if is_url(path):
        import fsspec

        fs, bare = fsspec.core.url_to_fs(path)
        return fs.exists(bare)
    return os.path.lexists(path)


def remove(path: str) -> None:
    """Remove a file or folder (local or URL) if it exists; a link is unlinked, never followed."""
    if is_url(path):
        import fsspec

        fs, bare = fsspec.core.url_to_fs(path)
        if fs.exists(bare):
            fs.rm(bare, recursive=True)
    else:
        commit.remove_path(path)


def _first_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def check_parent(path: str | Path) -> None:
    """Refuse an output whose nearest existing ancestor is not a folder."""
    path = local_path(path)
    if is_url(path):
        return
    final = Path(str(path).rstrip("/")).absolute()
    if str(final) not in OUTPUTS:
        OUTPUTS.append(str(final))
    ancestor = _first_existing(final.parent)
    if not ancestor.is_dir():
        raise MtkError(ancestor, f"is a file, not a folder, so {final.name} cannot be written inside it",
                       "choose another output path")


def check_destination(path: str | Path, overwrite: bool, sources: Iterable[str | Path] = (),
                      urls: bool = False) -> None:
    """Every output's checks before anything is written, for local paths and URLs alike: its parent is a
    folder; an existing output is a regular file or folder (never a device, FIFO, socket or mount point) and
    needs ``overwrite``; it is not, and neither contains nor lies inside, any of ``sources`` (after resolving
    ``..`` and symlinks; URLs by their normalised text). A ``file://`` URL is the path it names; any other URL
    is refused unless the writer writes through fsspec (``urls``)."""
    path = local_path(path)
    if is_url(path):
        if not urls:
            require_local(path)
        _check_url_destination(str(path), overwrite, sources)
        return
    check_parent(path)
    final = Path(str(path).rstrip("/")).absolute()
    if os.path.lexists(final):
        mode = os.stat(final).st_mode if final.exists() else os.lstat(final).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise MtkError(final, "exists and is not a regular file or folder (a device, FIFO or socket)",
                           "choose another output path")
        if os.path.ismount(final):
            raise MtkError(final, "is a mount point, which mtk cannot replace (outputs are renamed into place)",
                           "write into a folder inside it")
        if not overwrite:
            raise DestinationExistsError(final, "already exists", "pass --overwrite to replace it")
    refuse_overlap(final, sources)


def _check_url_destination(url: str, overwrite: bool, sources: Iterable[str | Path]) -> None:
    """:func:`check_destination` for a URL: the same questions asked through fsspec."""
    import fsspec

    fs, bare = fsspec.core.url_to_fs(url)
    bare = bare.rstrip("/")
    parent = bare.rpartition("/")[0]
    if parent and fs.isfile(parent):
        raise MtkError(url, "lies inside a file, not a folder", "choose another output path")
    if fs.exists(bare):
        if not (fs.isfile(bare) or fs.isdir(bare)):
            raise MtkError(url, "exists and is not a file or folder", "choose another output path")
        if not overwrite:
            raise DestinationExistsError(url, "already exists", "pass --overwrite to replace it")
    refuse_overlap(url, sources)


def refuse_overlap(path: str | Path, sources: Iterable[str | Path]) -> None:
    """Refuse an output that is, contains or lies inside one of ``sources`` (after resolving ``..`` and
    symlinks)."""
    path = local_path(path)
    if is_url(path):
        _refuse_url_overlap(str(path), sources)
        return
    final = Path(str(path).rstrip("/")).absolute()
    real = Path(os.path.realpath(final))
    for source in sources:
        source = local_path(source)
        if is_url(source):
            continue
        src = Path(os.path.realpath(source))
        if real == src or src in real.parents or real in src.parents:
            relation = "is" if real == src else ("lies inside" if src in real.parents else "contains")
            raise MtkError(final, f"{relation} the source {source}", "write the output somewhere else")


def _refuse_url_overlap(url: str, sources: Iterable[str | Path]) -> None:
    """:func:`refuse_overlap` for a URL output: compared with the URL sources of the same filesystem."""
    import fsspec

    fs, bare = fsspec.core.url_to_fs(url)
    bare = bare.rstrip("/")
    for source in sources:
        source = str(local_path(source)).rstrip("/")
        if not is_url(source):
            continue
        other_fs, other = fsspec.core.url_to_fs(source)
        other = other.rstrip("/")
        if other_fs.protocol != fs.protocol:
            continue
        if other == bare or other.startswith(bare + "/") or bare.startswith(other + "/"):
            relation = "is" if other == bare else ("lies inside" if bare.startswith(other + "/") else "contains")
            raise MtkError(url, f"{relation} the source {source}", "write the output somewhere else")


def _disk_full(error: OSError) -> bool:
    """numpy reports a short write without an errno ("N requested and M written")."""
    return error.errno is None and "requested and" in str(error) and "written" in str(error)


def interrupted_hint() -> str | None:
    """What Ctrl-C says about the resumable work this process keeps, if any."""
    kept = [work for work in RESUMABLE if os.path.lexists(work)]
    if not kept:
        return None
    return f"rerun the same command with --resume to continue (the finished work is kept in {kept[-1]})"


def write_fault(err: BaseException) -> MtkError | None:
    """The one-line error for ``err`` when it is a failed write of this process's output (full disk,
    read-only, parent a file, name too long), naming that output and what to do; None otherwise. Writers have
    removed their partial output by then; resumable work that is kept is named."""
    if not OUTPUTS:
        return None
    path = OUTPUTS[0]
    if isinstance(err, RuntimeError):  # h5py reports a failed flush (full disk) this way
        if "flush" not in str(err).lower() and "write" not in str(err).lower():
            return None
        return MtkError(path, f"cannot be written: {first_line(err)}",
                        "check the free space and permissions of the destination")
    if not isinstance(err, OSError):
        return None
    code = errno.ENOSPC if _disk_full(err) else err.errno
    if code in (errno.ENOTDIR, errno.EEXIST):
        try:
            check_parent(path)
        except MtkError as found:
            return found
        return None
    if code not in _WRITE_FAULTS:
        return None
    problem, hint = _WRITE_FAULTS[code]
    resumable = interrupted_hint()
    if resumable:
        hint += f"; then {resumable}"
    return MtkError(path, f"cannot be written: {problem}", hint)


@dataclass
class Destination:
    """Where a writer puts its output: the final path, its temporary sibling and a journal beside it.

    A context manager (``with prepare(path) as dest:``): the sibling is committed when the block ends cleanly,
    removed when it raises, and kept when it is interrupted (Ctrl-C), as a killed run keeps it. Writers never
    commit or discard by hand.
    """

    final: str
    partial: str
    resuming: bool

    @property
    def journal(self) -> str:
        return self.partial + ".journal"

    @property
    def sources(self) -> str:
        """The log of the sources' fingerprints (:func:`source_log`)."""
        return source_log_path(self.final)

    def fs(self):
        """The fsspec filesystem and the bare paths (final, partial) for URLs; None for local paths."""
        import fsspec

        fs, final = fsspec.core.url_to_fs(self.final)
        _, partial = fsspec.core.url_to_fs(self.partial)
        return fs, final, partial

    def commit(self) -> None:
        """Put the finished sibling in place of the final path (:func:`mtk.io.commit.replace`: a kill at any
        instant leaves the old output or the new one) and drop the journal."""
        remove(self.sources)
        if is_url(self.final):
            remove(self.journal)
            fs, final, partial = self.fs()
            if fs.exists(final):
                fs.rm(final, recursive=True)
            fs.mv(partial, final, recursive=True)
            return
        commit.replace(self.partial, self.final, self.journal)

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest) -> None:
        self.close(exc_type)

    def close(self, exc_type: type[BaseException] | None) -> None:
        """Commit after success; after an error remove the partial output (nothing is left written); after
        an interruption (Ctrl-C) keep it for ``resume``, as a killed run does."""
        if exc_type is None:
            self.commit()
        elif issubclass(exc_type, Exception):
            self.discard()

    def discard(self) -> None:
        """Remove the sibling and journals (after a failure that cannot be resumed)."""
        remove(self.partial)
        remove(self.journal)
        remove(self.sources)


def source_log_path(path: str | Path) -> str:
    """``dir/name`` -> ``dir/.name.mtk-partial.sources``: the fingerprints of the sources a resumable
    conversion has read, so that ``--resume`` finds those that changed since."""
    return partial_sibling(str(path).rstrip("/")) + ".sources"


def partial_sibling(path: str) -> str:
    """``dir/name`` -> ``dir/.name.mtk-partial`` (the same for URLs)."""
    text = str(path).rstrip("/")
    head, _, name = text.rpartition("/")
    if not name:
        raise MtkError(path, "is not a usable output path")
    return f"{head}/.{name}{PARTIAL_SUFFIX}" if head else f".{name}{PARTIAL_SUFFIX}"


def _own_partial(dest: Destination) -> bool:
    """Whether the sibling and journal are a killed run's own (a real file or folder, not links)."""
    if is_url(dest.final):
        return exists(dest.partial) and exists(dest.journal)
    return (os.path.lexists(dest.partial) and not os.path.islink(dest.partial)
            and os.path.isfile(dest.journal) and not os.path.islink(dest.journal))


def prepare(path: str | Path, overwrite: bool = False, resume: bool = False,
            sources: Iterable[str | Path] = (), urls: bool = False) -> Destination:
    """Check the destination (:func:`check_destination`) and set up its temporary sibling.

    A commit a killed run left half done is finished first. An existing destination needs ``overwrite``.
    With ``resume`` a killed run's sibling is kept and ``resuming`` is True; otherwise any stale sibling is
    removed (a link planted there is unlinked, never followed). ``urls``: the writer writes fsspec URLs.
    """
    final = str(local_path(path)).rstrip("/")
    if not is_url(final):
        final = str(Path(final).absolute())
        commit.finish_interrupted(final)
    check_destination(final, overwrite, sources, urls)
    dest = Destination(final, partial_sibling(final), resuming=False)
    if _own_partial(dest):
        if resume:
            dest.resuming = True
            return dest
        if not overwrite:
            raise MtkError(final, f"has the partial output of an interrupted run in {dest.partial}",
                           "pass --resume to continue it, or --overwrite to start over")
    dest.discard()
    if not is_url(final):
        Path(final).parent.mkdir(parents=True, exist_ok=True)
    return dest


class Journal:
    """An append-only JSON-lines log beside the partial output, recording what is safely written."""

    def __init__(self, path: str):
        self.path = path
        if path.endswith(".journal"):
            RESUMABLE.append(path.removesuffix(".journal"))

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
        flags = os.O_NOFOLLOW | (os.O_RDONLY if mode == "rb" else os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return os.fdopen(os.open(self.path, flags, 0o644), mode)
