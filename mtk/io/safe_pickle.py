"""Read pickles without running code: a restricted unpickler for plain data.

Only dicts, lists, tuples, str, bytes, numbers, booleans, None and numeric numpy arrays come back, at every
pickle protocol (0 to 5). The only globals a pickle may name are numpy's array and scalar reconstructors,
``numpy.dtype``, ``complex``, and the ``_codecs.encode(text, "latin1")`` and ``bytes()`` that protocols 0-2
spell bytes with; anything else (``os.system``, ``builtins.eval``, a class) is refused with a one-line
:class:`~mtk.errors.BadInputError` before it is looked up, so nothing a pickle names is ever imported or called.

Sizes are bounded by the pickle's own: an array may not be declared larger than the pickle's bytes (its data
must come from them), and the loaded value is walked once per container (a visited set), refusing cycles
and values that expand, through shared references, to more items than the pickle has bytes.
"""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line

#: (module, name) a pickle may refer to -> the object it gets; numpy 1.x spells ``numpy.core``, 2.x ``numpy._core``
#: (``_reconstruct`` is allowed too, bounded: :meth:`_RestrictedUnpickler._reconstruct`)
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", "scalar"): np._core.multiarray.scalar for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): np._core.numeric._frombuffer for core in ("core", "_core")},
}
_RECONSTRUCT = {(f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")}
#: how protocols 0-2 spell bytes (``_codecs.encode(text, "latin1")``); bounded: :func:`_latin1_bytes`
_ENCODE = ("_codecs", "encode")
#: ``complex(real, imag)`` and ``bytes()`` (empty bytes, protocols 0-2), under Python 3's and Python 2's names
_COMPLEX = {("builtins", "complex"), ("__builtin__", "complex")}
_BYTES = {("builtins", "bytes"), ("__builtin__", "bytes")}
_PLAIN = (str, bytes, int, float, complex, bool, type(None), np.generic)
#: items a pickle may expand to beyond one per byte (small pickles of a few plain values)
_SLACK_ITEMS = 1024


class _Refused(Exception):
    """A pickle named a global outside the allow-list."""


class _TooLarge(Exception):
    """A pickle declared an array larger than its own bytes."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes):
        # latin1: a Python 2 pickle's str (an array's raw data among them) comes back unchanged
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.limit = len(data)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCT:
            return self._reconstruct
        if (module, name) == _ENCODE:
            return _latin1_bytes
        if (module, name) in _COMPLEX:
            return _complex
        if (module, name) in _BYTES:
            return _empty_bytes
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        """numpy's array reconstructor, refusing a shape whose bytes the pickle could not hold (its data comes
        from the pickle, so a larger array would be allocated from nothing)."""
        dims = shape if isinstance(shape, tuple) else (shape,)
        if subtype is not np.ndarray or not all(isinstance(n, int) and n >= 0 for n in dims):
            raise pickle.UnpicklingError(f"bad array reconstruction arguments {shape!r}")
        declared = math.prod(dims) * np.dtype(dtype).itemsize
        if declared > self.limit:
            raise _TooLarge(f"declares an array of {declared} bytes, more than the pickle's own {self.limit}")
        return np._core.multiarray._reconstruct(subtype, shape, dtype)

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("a persistent id")


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """``_codecs.encode`` as protocols 0-2 use it: a str to the bytes of its latin-1 code points, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode called with {type(text).__name__}, {encoding!r}")
    return text.encode("latin1")


def _complex(real: Any = 0.0, imag: Any = 0.0) -> complex:
    """``complex(real, imag)`` from two plain numbers, nothing else."""
    if not all(isinstance(part, int | float) and not isinstance(part, bool) for part in (real, imag)):
        raise pickle.UnpicklingError("complex called with values that are not numbers")
    return complex(real, imag)


def _empty_bytes() -> bytes:
    """``bytes()``, which protocols 0-2 write for ``b""``."""
    return b""


def _children(item: Any) -> list:
    if isinstance(item, dict):
        return [*item.keys(), *item.values()]
    return list(item)


def _check_plain(value: Any, path: Path, budget: int) -> None:
    """Walk the loaded value once per container (a visited set): refuse cycles, values that expand to more
    than ``budget`` items (arrays count their elements), and anything but plain data and numeric arrays."""
    expanded: dict[int, int] = {}  # id of a walked container -> items it expands to
    open_ids: set[int] = set()  # containers on the path from the root (a cycle returns to one of them)
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        if done:
            children = _children(item)
            size = len(children) + sum(expanded.get(id(c), 0) for c in children)
            open_ids.discard(id(item))
            expanded[id(item)] = size
            if size > budget:
                raise BadInputError(path, f"expands to more than {budget} items through shared references",
                                    "the pickle is not a plain data file")
        elif isinstance(item, dict | list | tuple):
            if id(item) in open_ids:
                raise BadInputError(path, "holds a container that contains itself", "the pickle is not plain data")
            if id(item) in expanded:
                continue
            open_ids.add(id(item))
            stack.append((item, True))
            stack.extend((child, False) for child in _children(item))
        elif isinstance(item, np.ndarray):
            if item.dtype.kind not in "biufcSU":
                raise BadInputError(path, f"holds a numpy array of dtype {item.dtype}, which mtk does not read",
                                    "store numeric arrays only")
            expanded[id(item)] = item.size
        elif not isinstance(item, _PLAIN):
            raise BadInputError(path, f"holds a {type(item).__name__}, which is not plain data")


def safe_loads(data: bytes, path: str | Path = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only plain data and numpy arrays; refuse anything that could run code."""
    path = Path(path)
    try:
        value = _RestrictedUnpickler(data).load()
    except _Refused as refused:
        raise BadInputError(path, f"is a pickle that asks to load {refused}, which mtk refuses (nothing was run)",
                            "mtk reads only dicts, lists, str, numbers and numpy arrays from pickles") from None
    except _TooLarge as large:
        raise BadInputError(path, f"is a pickle that {large}", "the file may be corrupted or hostile") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, UnicodeDecodeError, MemoryError) as err:
        problem = first_line(err)
        raise BadInputError(path, f"is not a readable pickle: {problem}",
                            "the file may be truncated or corrupted") from None
    _check_plain(value, path, len(data) + _SLACK_ITEMS)
    return value


def safe_load(path: str | Path) -> Any:
    """Read a pickle file through :func:`safe_loads`."""
    path = Path(path)
    if not path.is_file():
        raise MtkError(path, "no such file", "check the path")
    return safe_loads(path.read_bytes(), path)
