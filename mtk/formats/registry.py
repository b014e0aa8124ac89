"""The one table of formats. Each format module ends with one :func:`register_format` call; detection, suffix
guessing, the CLI's choices and help texts, and the format lists in error messages all read this table.

Formats are found on first use by importing every module under :mod:`mtk.formats`, then the module named
``formats`` of every other mtk package that has one (``mtk/pfnn/formats.py``: PFNN's database lives with the
rest of PFNN, above this package, so this package never imports it by name). Format modules import their
heavy dependencies -- zarr, h5py, torch -- inside functions, so this stays cheap. A module elsewhere, a plugin
or a test, registers by calling :func:`register_format` when it is imported. See docs/architecture.md, "Add a
format".
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mtk.errors import BadInputError, MtkError
from mtk.io.location import is_url, local_path
from mtk.schemas import one_of

@dataclass(frozen=True)
class ConvertJob:
    """A format's own ``mtk convert --to NAME`` job, for formats that are not written motion by motion (the
    PFNN database is built from all motions at once): ``job(src, dst, **options) -> summary line``, the
    command-line options it takes, and whether it takes ``on_progress``."""

    job: Callable[..., str]
    options: frozenset[str] = frozenset()
    reports_progress: bool = False


#: what a format holds: a dataset of motions, one motion file, one array, tokens, a PFNN database
Kind = Literal["dataset", "motion", "array", "tokens", "pfnn"]


@dataclass(frozen=True)
class Format:
    """One registered format. ``reader``/``writer`` are what the kind calls for: a
    :class:`~mtk.formats.base.DatasetReader` / :class:`~mtk.formats.base.DatasetWriter` class for a dataset, a
    :class:`~mtk.formats.base.TokenReader` / :class:`~mtk.formats.base.TokenWriter` for tokens, a reading /
    writing function for the others."""

    name: str
    kind: Kind
    #: one line for --help (``a Zarr v3 dataset store (.zarr folder or fsspec URL)``)
    description: str
    #: a few words for the lists in error messages (``a .zarr store``)
    label: str
    detect: Callable[[str], bool]
    #: name endings that choose this format for an output path (``out.zarr``); lower case
    suffixes: tuple[str, ...] = ()
    reader: Any = None
    writer: Any = None
    #: ``inspect(path, layout=None, fps=None) -> Report`` (``mtk inspect``); datasets use
    #: :func:`mtk.formats.datasets.inspector`
    inspect: Callable[..., Any] | None = None
    #: detection order: lower is tried first (more specific formats before general ones)
    order: int = 50
    #: the format's own ``mtk convert`` job, when the kind's usual one does not make it
    convert: ConvertJob | None = None


#: the problem :func:`detect` reports, by kind asked for
_NOT_FOUND = {None: "is not in a format mtk knows", "dataset": "is not a dataset", "tokens": "holds no tokens"}
_FORMATS: dict[tuple[str, str], Format] = {}
_discovered = False


def register_format(name: str, kind: Kind, description: str, label: str, detect: Callable[[str], bool],
                    suffixes: tuple[str, ...] = (), reader: Any = None, writer: Any = None,
                    inspect: Callable[..., Any] | None = None, order: int = 50,
                    convert: ConvertJob | None = None) -> Format:
    """Add a format to the table; returns its entry. A name or a suffix its kind has taken already is refused
    (ValueError), unless the entry comes from the same module again (a reloaded module replaces its entry)."""
    entry = Format(name, kind, description, label, detect, tuple(s.lower() for s in suffixes), reader, writer,
                   inspect, order, convert)
    known = _FORMATS.get((kind, name))
    if known is not None and known.detect.__module__ != detect.__module__:
        raise ValueError(f"a {kind} format named {name!r} is already registered (by {known.detect.__module__})")
    for other in _FORMATS.values():
        taken = set(entry.suffixes) & set(other.suffixes)
        if other.kind == kind and other.name != name and taken:
            raise ValueError(f"suffix {sorted(taken)[0]} is taken by the {kind} format {other.name}")
    _FORMATS[(kind, name)] = entry
    return entry


def _provider_modules() -> list[str]:
    """``mtk.<package>.formats`` for every other mtk package that has such a module (found by listing the
    package folders, so no package is imported just to look)."""
    root = importlib.import_module("mtk")
    found = []
    for package in pkgutil.iter_modules(root.__path__):
        if not package.ispkg or package.name == "formats":
            continue
        folder = Path(package.module_finder.path) / package.name  # type: ignore[union-attr]
        if (folder / "formats.py").is_file() or (folder / "formats" / "__init__.py").is_file():
            found.append(f"mtk.{package.name}.formats")
    return sorted(found)


def _discover() -> None:
    """Import every format module under mtk.formats, then every other package's ``formats`` module, once
    (each registers itself)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module("mtk.formats")
    for module in pkgutil.walk_packages(package.__path__, "mtk.formats."):
        importlib.import_module(module.name)
    for name in _provider_modules():
        importlib.import_module(name)


def formats(kind: Kind | None = None, writable: bool = False) -> list[Format]:
    """Registered formats (of ``kind``; only those with a writer when ``writable``), in detection order."""
    _discover()
    found = [f for f in _FORMATS.values() if (kind is None or f.kind == kind) and (f.writer or not writable)]
    return sorted(found, key=lambda f: f.order)


def names(kind: Kind, writable: bool = False) -> list[str]:
    """The names of ``kind``'s formats, sorted: the CLI's choices."""
    return sorted(f.name for f in formats(kind, writable))


def get(kind: Kind, name: str) -> Format:
    """The format ``name`` of ``kind``; a one-line error listing the known ones otherwise."""
    _discover()
    try:
        return _FORMATS[(kind, name)]
    except KeyError:
        raise MtkError(None, f"unknown {kind} format {name!r}", f"known: {', '.join(names(kind))}") from None


def known_formats(kind: Kind | None = None) -> str:
    """``a, b or c``: the formats of ``kind`` described for an error message."""
    return one_of([f.label for f in formats(kind)])


def for_suffix(path: str | Path, kind: Kind) -> Format | None:
    """The ``kind`` format a path's suffix names (``out.zarr`` -> zarr), or None."""
    suffix = Path(str(path).rstrip("/")).suffix.lower()
    return next((f for f in formats(kind) if suffix and suffix in f.suffixes), None)


def detect(path: str | Path, kind: Kind | None = None) -> Format:
    """The format (of ``kind``) of ``path`` (a ``file://`` URL: the path it names); a one-line error when none
    fits."""
    text = str(local_path(path))
    if not is_url(text) and not Path(text).exists():
        raise MtkError(text, "no such file or folder", "check the path")
    for entry in formats(kind):
        if entry.detect(text):
            return entry
    problem = _NOT_FOUND.get(kind, f"is not a {kind} format mtk knows")
    raise BadInputError(text, problem, f"expected {known_formats(kind)}")


def inspect(path: str | Path, layout: str | None = None, fps: float | None = None):
    """Detect ``path``'s format and describe it."""
    path = local_path(path)
    entry = detect(path)
    if entry.inspect is None:
        raise MtkError(path, f"mtk cannot describe {entry.name} inputs yet")
    return entry.inspect(str(path), layout=layout, fps=fps)
