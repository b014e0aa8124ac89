"""Motion names are data, never paths: the one check every names loader and output path builder applies.

A motion name is a relative, ``/``-separated path: each segment 1 to 255 characters, none starting with ``.``
(so no ``.`` or ``..`` part, and no hidden file or folder, which folder listings skip: a name is written only
if it reads back), no backslash, no control character (C0, DEL, C1) and no line or paragraph separator
(U+2028, U+2029) — every character ``str.splitlines()`` splits on is among them, so a name is always one
line of a split list —, at most 1024 characters in all. Names come from files (store ``names`` arrays, split
lists, ``all_data.pkl``, folder listings), so a bad one is a one-line :class:`~mtk.errors.BadNameError`
naming the file it came from and the name.

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
#: what no name may hold: backslash, control characters (C0, DEL, C1) and line/paragraph separators
_FORBIDDEN = "\\\\\x00-\x1f\x7f-\x9f\u2028\u2029"
_SEGMENT = rf"(?!\.)[^/{_FORBIDDEN}]{{1,{MAX_SEGMENT}}}"
_ONE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*\Z")
HINT = ("rename it: names are relative, '/'-separated paths without empty parts, parts starting with '.', "
        "control characters or line separators")


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
    if re.search(f"[{_FORBIDDEN}]", name):
        return "holds a backslash, a control character or a line separator"
    segments = name.split("/")
    if any(s in (".", "..") for s in segments):
        return "has a '.' or '..' part"
    if any(s.startswith(".") for s in segments):
        return "has a part starting with '.' (a hidden file, which folder listings skip)"
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


def _all_usable(names: list) -> bool:
    """A fast sufficient test that every name is usable: joined by "/", the names hold no "//" (an empty name or
    part, a leading or trailing "/"), no part starting with ".", nothing unprintable (control characters and
    separators, and more) and no backslash, and none is longer than a part may be. A few string scans in C
    instead of a regular expression per name; when it fails, each name is checked on its own."""
    try:
        joined = "/" + "/".join(names) + "/"  # type: ignore[arg-type]
    except TypeError:  # a name that is not a str
        return False
    return (joined.isprintable() and "\\" not in joined and "//" not in joined and "/." not in joined
            and max(map(len, names), default=0) <= MAX_SEGMENT)


def check_names(names: Iterable[object], source: str | Path | None, unique: bool = True) -> list[str]:
    """``names`` as a list when every one is usable (and, with ``unique``, none occurs twice)."""
    names = list(names)
    if not _all_usable(names):
        for name in names:
            check_name(name, source)
    if unique and len(set(names)) != len(names):
        _refuse_duplicates(names, source)
    return names  # type: ignore[return-value]


def name_index(names: Iterable[object], source: str | Path | None) -> dict[str, int]:
    """``{name: position}`` of checked, unique ``names`` (a store's index, built once per open)."""
    names = check_names(names, source, unique=False)
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        _refuse_duplicates(names, source)
    return index


def _refuse_duplicates(names: list[str], source: str | Path | None) -> None:
    name, count = Counter(names).most_common(1)[0]
    raise DuplicateNameError(source, f"motion name {name!r} occurs {count} times", "names must be unique")


def output_path(root: str | Path, name: str, suffix: str = "", what: str = "motion name") -> Path:
    """``root/<name><suffix>`` for a checked ``name``, verified to stay inside ``root`` (symlinks resolved)."""
    check_name(name, root, what)
    path = Path(root) / f"{name}{suffix}"
    real_root = os.path.realpath(root)
    if not os.path.realpath(path).startswith(real_root.rstrip(os.sep) + os.sep):
        raise BadNameError(root, f"{what} {name!r} leads outside the output folder (through a link)", HINT)
    return path
