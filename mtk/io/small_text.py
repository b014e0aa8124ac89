"""Reading the small text files beside motion data (captions, split lists, JSON sidecars) without trusting them.

A text file must be a regular file (never a FIFO that blocks, nor a device such as ``/dev/zero`` that never
ends) of at most a few MiB, and UTF-8; anything else is a one-line :class:`~mtk.errors.BadInputError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mtk.errors import BadInputError, MtkError

#: the most bytes a caption, split list or sidecar may hold
SMALL_TEXT_LIMIT = 4 << 20


def read_small_text(path: str | Path, limit: int = SMALL_TEXT_LIMIT, missing_ok: bool = False) -> str | None:
    """The UTF-8 text of the regular file ``path`` of at most ``limit`` bytes; None when it does not exist
    and ``missing_ok``. Opening never blocks (``O_NONBLOCK``) and at most ``limit + 1`` bytes are read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise MtkError(path, "no such file", "check the path") from None
    except OSError as err:
        raise BadInputError(path, f"cannot be read: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(path, "is not a regular file (a folder, device, FIFO or socket)",
                                "text files must be plain files")
        if info.st_size > limit:
            raise BadInputError(path, f"holds {info.st_size} bytes, more than the {limit} a text file may hold",
                                "text files (captions, split lists, sidecars) must be small")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise BadInputError(path, f"cannot be read: {err.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise BadInputError(path, f"grew past the {limit} bytes a text file may hold while being read")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInputError(path, f"is not UTF-8 text ({err.reason} at byte {err.start})",
                            "text files must be UTF-8") from None
