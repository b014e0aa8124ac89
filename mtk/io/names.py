"""Motion names are data, never paths: the one check every names loader and output path builder applies.

A motion name is a relative, ``/``-separated path: each segment 1 to 255 characters, none of them ``.`` or
``..``, no backslash, NUL or other control character, at most 1024 characters in all. Names come from files
(store ``names`` arrays, split lists, ``all_data.pkl``, folder listings), so a bad one is a one-line
:class:`~mtk.errors.BadNameError` naming the file it came from and the name.

>>> check_names(["000001", "humanml/000002"], "train.txt")
['000001', 'humanml/000002']
>>> output_path("out/new_joint_vecs", "humanml/000002", ".npy")
PosixPath('out/new_joint_vecs/humanml/000002.npy')
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mtk.errors import BadNameError, DuplicateNameError

MAX_SEGMENT = 255
MAX_NAME = 1024
_SEGMENT = rf"(?!\.\.?(?:/|\n|\Z))[^/\\\x00-\x1f\x7f]{{1,{MAX_SEGMENT}}}"
_NAME = rf"{_SEGMENT}(?:/{_SEGMENT})*"
#: one name; names joined by "\n" (a control character, so never inside a good name) are checked in one pass
_ONE = re.compile(_NAME + r"\Z")
_MANY = re.compile(rf"(?:{_NAME}\n)*\Z")
HINT = "rename it: names are relative, '/'-separated paths without '..', '.', empty parts or control characters"


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a usable motion name, or None when it is."""
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not a str"
    if len(name) <= MAX_NAME and _ONE.match(name):
        return None
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    if name.startswith("/"):
        return "is an absolute path"
    if re.search(r"[\\\x00-\x1f\x7f]", name):
        return "holds a backslash or a control character"
    segments = name.split("/")
    if any(s in (".", "..") for s in segments):
        return "has a '.' or '..' part"
    if "" in segments:
        return "has an empty part"
    return f"has a part longer than {MAX_SEGMENT} characters"


def check_name(name: object, source: str | Path | None, what: str = "motion name") -> str:
    """``name`` when it is a usable motion name (or split name: ``what``); else a :class:`BadNameError`
    naming ``source``, the file it came from."""
    problem = name_problem(name)
    if problem:
        shown = repr(name)
        raise BadNameError(source, f"{what} {shown[:77] + '...' if len(shown) > 80 else shown} {problem}", HINT)
    return name  # type: ignore[return-value]


def check_names(names: Iterable[object], source: str | Path | None, unique: bool = True) -> list[str]:
    """``names`` as a list when every one is usable (and, with ``unique``, none occurs twice); one regular
    expression pass over all of them, so checking costs little next to reading them."""
    names = list(names)
    if not all(isinstance(n, str) for n in names) or not _MANY.match("".join(f"{n}\n" for n in names)) \
            or any(len(n) > MAX_NAME for n in names):
        for name in names:
            check_name(name, source)
    if unique and len(set(names)) != len(names):
        name, count = Counter(names).most_common(1)[0]
        raise DuplicateNameError(source, f"motion name {name!r} occurs {count} times", "names must be unique")
    return names  # type: ignore[return-value]


def output_path(root: str | Path, name: str, suffix: str = "", what: str = "motion name") -> Path:
    """``root/<name><suffix>`` for a checked ``name``, verified to stay inside ``root`` (symlinks resolved)."""
    check_name(name, root, what)
    path = Path(root) / f"{name}{suffix}"
    real_root = os.path.realpath(root)
    if not os.path.realpath(path).startswith(real_root.rstrip(os.sep) + os.sep):
        raise BadNameError(root, f"{what} {name!r} leads outside the output folder (through a link)", HINT)
    return path
