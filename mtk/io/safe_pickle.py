"""Read pickles without running code: a restricted unpickler for plain data.

Only dicts, lists, tuples, str, bytes, numbers, booleans, None and numeric numpy arrays come back. The only
globals a pickle may name are numpy's array and scalar reconstructors and ``numpy.dtype``; anything else
(``os.system``, ``builtins.eval``, a class) is refused with a one-line :class:`~mtk.errors.BadInputError`
before it is looked up, so nothing a pickle names is ever imported or called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line

#: (module, name) a pickle may refer to -> the object it gets; numpy 1.x spells ``numpy.core``, 2.x ``numpy._core``
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): np._core.multiarray._reconstruct for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): np._core.multiarray.scalar for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): np._core.numeric._frombuffer for core in ("core", "_core")},
}
_PLAIN = (str, bytes, int, float, complex, bool, type(None), np.generic)


class _Refused(Exception):
    """A pickle named a global outside the allow-list."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("a persistent id")


def _check_plain(value: Any, path: Path) -> None:
    """Walk the loaded value; numpy arrays must be numeric or str (no object arrays)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if item.dtype.kind not in "biufcSU":
                raise BadInputError(path, f"holds a numpy array of dtype {item.dtype}, which mtk does not read",
                                    "store numeric arrays only")
        elif not isinstance(item, _PLAIN):
            raise BadInputError(path, f"holds a {type(item).__name__}, which is not plain data")


def safe_loads(data: bytes, path: str | Path = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only plain data and numpy arrays; refuse anything that could run code."""
    path = Path(path)
    try:
        value = _RestrictedUnpickler(io.BytesIO(data)).load()
    except _Refused as refused:
        raise BadInputError(path, f"is a pickle that asks to load {refused}, which mtk refuses (nothing was run)",
                            "mtk reads only dicts, lists, str, numbers and numpy arrays from pickles") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, UnicodeDecodeError, MemoryError) as err:
        problem = first_line(err)
        raise BadInputError(path, f"is not a readable pickle: {problem}",
                            "the file may be truncated or corrupted") from None
    _check_plain(value, path)
    return value


def safe_load(path: str | Path) -> Any:
    """Read a pickle file through :func:`safe_loads`."""
    path = Path(path)
    if not path.is_file():
        raise MtkError(path, "no such file", "check the path")
    return safe_loads(path.read_bytes(), path)
