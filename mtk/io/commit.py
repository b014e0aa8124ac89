"""Putting finished outputs in place so that a kill at any instant leaves the old output or the new one.

One path (``replace``): a file is renamed over the old one (atomic). A folder is swapped with the old one in a
single ``renameat2(RENAME_EXCHANGE)`` (Linux), after which the old folder, now at the temporary name, is
removed; where the filesystem cannot swap, the recorded protocol below is used.

Several paths (``replace_all``: stats' Mean/Std/stats.json, tokenize's folder + prob file + pickle), or one
folder without the swap:

1. write the commit record ``.NAME.mtk-commit`` (the (staged, final, aside) paths) atomically and durably;
2. for each pair: a file is renamed over its final; a folder's old final is renamed aside (``.X.mtk-old``)
   and the staged folder renamed in;
3. remove the asides, then the record.

A kill between 1 and 3 leaves the record; the next run that takes the destination's lock finishes it
(:func:`finish_interrupted`), so the outputs become the complete new ones. Staged outputs are complete before
step 1, so rolling forward is always possible.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
from pathlib import Path

from mtk.io.testhooks import pause_point

RECORD_SUFFIX = ".mtk-commit"
ASIDE_SUFFIX = ".mtk-old"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def record_path(final: str | Path) -> Path:
    """``dir/name`` -> ``dir/.name.mtk-commit``."""
    final = Path(final)
    return final.with_name(f".{final.name}{RECORD_SUFFIX}")


def aside_path(final: str | Path) -> Path:
    final = Path(final)
    return final.with_name(f".{final.name}{ASIDE_SUFFIX}")


class Steps:
    """Counts a commit's filesystem steps; each one is a pause point for the kill tests."""

    def __init__(self, pauses: bool = True) -> None:
        self.done = 0
        self.pauses = pauses
        if pauses:
            pause_point("commit:0")

    def step(self) -> None:
        self.done += 1
        if self.pauses:
            pause_point(f"commit:{self.done}")


def remove_path(path: str | Path) -> None:
    """Remove a file, link or folder (a link is unlinked, never followed)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _exchange(a: str | Path, b: str | Path) -> bool:
    """Swap ``a`` and ``b`` atomically; False where the system or filesystem cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _is_folder(path: str | Path) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def replace(staged: str | Path, final: str | Path, journal: str | Path | None = None, pauses: bool = True) -> None:
    """Put the finished ``staged`` output in place of ``final`` (see the module docstring); ``journal``, the
    staged output's resume journal, is removed first so the old output is never taken for resumable work.
    ``pauses``: whether this is an output's commit (a pause point for the kill tests)."""
    steps = Steps(pauses)
    if journal is not None and os.path.lexists(journal):
        os.remove(journal)
        steps.step()
    if not os.path.lexists(final) or not (_is_folder(final) or _is_folder(staged)):
        os.replace(staged, final)
        steps.step()
        return
    if _exchange(staged, final):
        steps.step()
        remove_path(staged)  # the old output, now at the temporary name
        steps.step()
        return
    replace_all(final, [(staged, final)], steps)


def replace_all(name: str | Path, pairs: list[tuple[str | Path, str | Path]], steps: Steps | None = None) -> None:
    """Put every staged path in place of its final, recorded in ``name``'s commit record (module docstring)."""
    steps = steps or Steps()
    record = record_path(name)
    triples = [[str(s), str(f), str(aside_path(f))] for s, f in pairs]
    tmp = record.with_name(record.name + ".tmp")
    remove_path(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"pairs": triples}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, record)
    steps.step()
    _roll_forward(record, triples, steps)


def _roll_forward(record: Path, triples: list[list[str]], steps: Steps) -> None:
    for staged, final, aside in triples:
        if not os.path.lexists(staged):
            continue
        if _is_folder(final) or _is_folder(staged):
            if os.path.lexists(final):
                remove_path(aside)
                os.rename(final, aside)
                steps.step()
            os.rename(staged, final)
        else:
            os.replace(staged, final)
        steps.step()
    for _, _, aside in triples:
        if os.path.lexists(aside):
            remove_path(aside)
            steps.step()
    os.remove(record)
    steps.step()


def finish_interrupted(name: str | Path) -> bool:
    """Finish the commit a killed run recorded for ``name``; True when there was one.

    The record is checked first: every path it names must lie in the record's own folder or below it, with
    the marks of mtk's temporary names; anything else is refused, not followed."""
    record = record_path(name)
    if not os.path.lexists(record):
        return False
    from mtk.errors import MtkError

    hint = f"remove {record} after checking {Path(name).name} by hand"
    if os.path.islink(record) or not os.path.isfile(record):
        raise MtkError(name, f"has a commit record {record.name} that is not a regular file", hint)
    try:
        triples = json.loads(record.read_text(encoding="utf-8"))["pairs"]
        root = record.parent.resolve()
        for staged, final, aside in triples:
            for path, mark in ((staged, ".mtk-partial"), (final, ""), (aside, ASIDE_SUFFIX)):
                resolved = Path(path).parent.resolve() / Path(path).name
                if not (root == resolved.parent or root in resolved.parents) or mark not in Path(path).name:
                    raise ValueError(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise MtkError(name, f"has an unreadable commit record {record.name} ({err})", hint) from None
    _roll_forward(record, triples, Steps(pauses=False))
    return True
