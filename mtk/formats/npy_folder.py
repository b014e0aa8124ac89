"""Dataset folders of per-motion ``.npy`` files, in the conventions the feature families publish
(:class:`mtk.features.DatasetFolder`). HumanML3D / KIT-ML (``humanml3d``)::

    new_joint_vecs/<name>.npy   (T, 263|251) features      new_joints/  (optional, not carried)
    texts/<name>.txt            caption#tokens#start#end lines, kept verbatim
    train.txt val.txt test.txt  (any <split>.txt at the root) one name per line
    Mean.npy Std.npy

MotionMillion (``motionmillion``)::

    motion_data/vector_272/<name>.npy     names may contain "/"
    texts/<name>.txt
    split/<version>/.../<split>.txt       the split key is the path under split/ without .txt
    mean_std/vector_272/mean.npy std.npy

A folder is recognised by its convention's motions folder; a new family's convention needs no change here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.features import DatasetFolder, dataset_folders, folder_for_layout
from mtk.formats.arrays import load_npy, npy_header, resolve_layout, save_npy
from mtk.formats.base import DatasetReader, DatasetWriter
from mtk.formats.datasets import inspector
from mtk.formats.model import DatasetInfo, Motion, Stats
from mtk.formats.registry import register_format
from mtk.io.contained import Root
from mtk.io.destination import Journal, is_url, prepare
from mtk.io.names import check_names, output_path
from mtk.io.small_text import read_small_text
from mtk.io.testhooks import pause_point
from mtk.io.workdir import file_state


def folder_convention(path: str | Path) -> DatasetFolder | None:
    """The dataset folder convention ``path`` follows (its motions folder is there), or None."""
    root = Path(path)
    return next((folder for folder in dataset_folders() if (root / folder.motions).is_dir()), None)


def conventions_hint() -> str:
    """``new_joint_vecs/ (HumanML3D/KIT) or motion_data/vector_272/ (MotionMillion)``."""
    return " or ".join(f"{folder.motions}/ ({folder.title})" for folder in dataset_folders())


def detect(path: str) -> bool:
    return not is_url(path) and folder_convention(path) is not None


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a small text file (line endings stripped)."""
    return [line for line in read_small_text(path).splitlines() if line.strip()]


def split_files(folder: Path, guard: Root) -> list[Path]:
    """The ``.txt`` files below ``folder``, sorted; a link leading outside ``guard``'s root is refused and a
    hidden file or folder skipped (as motions are)."""
    found = []
    for path in sorted(folder.rglob("*.txt")):
        if not any(part.startswith(".") for part in path.relative_to(folder).parts):
            found.append(guard.check(path))
    return found


def text_lines(content: str) -> list[str]:
    """The lines of a text file, verbatim except for their ``\\n`` endings."""
    lines = content.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def text_file_content(lines: Sequence[str]) -> str:
    """The canonical text file for ``lines``: each line ended by ``\\n``."""
    return "".join(f"{line}\n" for line in lines)


def scan_names(motion_dir: Path, recursive: bool, skip: Sequence[str] = (), guard: Root | None = None) -> list[str]:
    """The names (relative paths without ``.npy``) of the ``.npy`` files under ``motion_dir``, sorted;
    hidden entries and the top-level folders ``skip`` are left out; a link leading outside ``guard``'s root (by
    default ``motion_dir``) is refused."""
    guard = guard or Root(motion_dir)
    names: list[str] = []
    stack = [(guard.check(motion_dir), "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or (not prefix and entry.name in skip):
                    continue
                guard.check_entry(entry)
                if entry.is_dir() and recursive:
                    stack.append((Path(entry.path), f"{prefix}{entry.name}/"))
                elif entry.name.endswith(".npy") and entry.is_file():
                    names.append(prefix + entry.name[:-4])
    return check_names(sorted(names), motion_dir)


def _read_splits(root: Path, folder: DatasetFolder, guard: Root) -> dict[str, list[str]]:
    base = root / folder.splits
    if folder.split_version is None:
        files = {p.stem: guard.check(p) for p in sorted(base.glob("*.txt")) if not p.name.startswith(".")}
    else:
        files = {p.relative_to(base).with_suffix("").as_posix(): p for p in split_files(base, guard)} \
            if base.is_dir() else {}
    return {key: check_names(read_lines(p), p, unique=False) for key, p in files.items()}


def load_stats_pair(mean_path: Path, std_path: Path, convention: str | None = None,
                    guard: Root | None = None) -> Stats:
    """A mean/std pair of (D,) vector files (checked to lie inside ``guard``'s root, when given)."""
    for path in (mean_path, std_path) if guard else ():
        guard.check(path)
    mean, std = load_npy(mean_path), load_npy(std_path)
    for path, vector in ((mean_path, mean), (std_path, std)):
        if vector.ndim != 1:
            raise BadInputError(path, f"has shape {vector.shape}; expected a (D,) vector")
    return Stats(mean=mean, std=std, convention=convention)


def npy_frames(path: Path) -> int:
    """Rows of a .npy file from its header alone (checked against the file's size)."""
    shape = npy_header(path).shape
    if len(shape) != 2:
        raise BadInputError(path, f"has shape {shape}; expected features (T, D)")
    return int(shape[0])


class NpyFolderReader(DatasetReader):
    """Reads a HumanML3D/KIT or MotionMillion dataset folder (see the module doc)."""

    def __init__(self, path: str | Path, layout: str | None = None):
        self.path = str(path)
        self.root = Path(path)
        convention = folder_convention(self.root)
        if convention is None:
            raise BadInputError(path, "is not a dataset folder", f"expected {conventions_hint()}")
        self.convention = convention
        self.guard = Root(self.root, "the dataset")
        self.motion_dir = self.root / convention.motions
        self._layout_request = layout
        self._info: DatasetInfo | None = None
        self._lengths: dict[str, int] = {}

    @property
    def info(self) -> DatasetInfo:
        if self._info is None:
            self._info = self._scan()
        return self._info

    def _scan(self) -> DatasetInfo:
        names = scan_names(self.motion_dir, recursive=self.convention.nested_names, guard=self.guard)
        stats = self._read_stats()
        dim = self._first_dim(names)
        if dim is None and stats is not None:
            dim = int(stats.mean.shape[0])
        if dim is None:
            raise BadInputError(self.motion_dir, "holds no readable .npy motions and the dataset has no mean/std",
                                "nothing to read")
        layout = resolve_layout(dim, self._layout_request, self.path)
        return DatasetInfo(layout=layout, fps=layout.fps if layout else 20.0, names=names,
                           splits=_read_splits(self.root, self.convention, self.guard), stats=stats,
                           family=self.convention.name,
                           fps_source="layout default")

    def _first_dim(self, names: list[str], tries: int = 16) -> int | None:
        """The most common width among the first ``tries`` motions with frames, so that one bad motion never
        changes the layout (a corrupt file is reported when read, not here)."""
        widths: Counter[int] = Counter()
        for name in names[:tries]:
            try:
                array = load_npy(self.file(name), mmap=True)
            except BadInputError:
                continue
            if array.ndim == 2 and array.shape[0] > 0:
                widths[int(array.shape[1])] += 1
        return widths.most_common(1)[0][0] if widths else None

    def _read_stats(self) -> Stats | None:
        mean_path, std_path = self.root / self.convention.mean, self.root / self.convention.std
        if not (mean_path.is_file() and std_path.is_file()):
            return None
        return load_stats_pair(mean_path, std_path, self.convention.name, self.guard)

    def file(self, name: str) -> Path:
        """The motion file of ``name``, checked to lie inside the dataset."""
        return self.guard.check(self.motion_dir / f"{name}.npy")

    def text_file(self, name: str) -> Path:
        """The caption file of ``name``, checked to lie inside the dataset."""
        return self.guard.check(self.root / "texts" / f"{name}.txt")

    def fingerprint(self, name: str) -> str | None:
        return file_state(self.file(name))

    def __len__(self) -> int:
        return len(self.info.names)

    @property
    def names(self) -> list[str]:
        return self.info.names

    def length(self, name: str) -> int:
        if name not in self._lengths:
            self._lengths[name] = npy_frames(self.file(name))
        return self._lengths[name]

    def read(self, name: str) -> Motion:
        path = self.file(name)
        if not path.is_file():
            raise MtkError(path, f"no motion named {name!r} in this dataset")
        features = load_npy(path)
        if features.ndim != 2:
            raise BadInputError(path, f"has shape {features.shape}; expected features (T, D)")
        content = read_small_text(self.text_file(name), missing_ok=True)
        return Motion(name, features, [] if content is None else text_lines(content))

    def iter(self, split: str | None = None) -> Iterator[Motion]:
        return self.iter_names([n for n in self.info.split_names(split) if self.file(n).is_file()])

    def iter_names(self, names: Sequence[str]) -> Iterator[Motion]:
        for name in names:
            yield self.read(name)

    def read_window(self, name: str, start: int, length: int) -> np.ndarray:
        array = load_npy(self.file(name), mmap=True)
        return np.array(array[start:start + length])

    def close(self) -> None:
        """Nothing stays open between calls."""


class NpyFolderWriter(DatasetWriter):
    """Writes a dataset folder in the convention of the layout's family (MotionMillion's for 272, HumanML3D's
    for 263/251); atomic (temporary sibling, renamed on success)."""

    def __init__(self, path: str | Path, info: DatasetInfo, overwrite: bool = False, resume: bool = False):
        self.info = info
        self.convention = folder_for_layout(info.layout)
        self.dest = prepare(path, overwrite=overwrite, resume=resume)
        self.root = Path(self.dest.partial)
        self.journal = Journal(self.dest.journal)
        self.pending: list[dict] = []
        self.logged = False  # the first record is journaled at once: the first durable piece of work
        self.done: dict[str, str | None] = {}
        if self.dest.resuming:
            for record in self.journal.read():
                self.done[record.get("m") or record["bad"]] = record.get("why")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / self.convention.motions).mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> str:
        return self.dest.final

    def __enter__(self) -> NpyFolderWriter:
        return self

    def __exit__(self, exc_type, *rest) -> None:
        self._log()
        self.dest.close(exc_type)

    def _log(self, record: dict | None = None, every: int = 64) -> None:
        """Journal what is on disk, in batches (motions written but not yet logged are redone on resume)."""
        if record is not None:
            self.pending.append(record)
        first = record is not None and not self.logged
        if record is None or len(self.pending) >= every or first:
            self.journal.append(self.pending)
            self.pending = []
        if first:
            self.logged = True
            pause_point("piece")

    def resume_index(self, names: Sequence[str]) -> int:
        """How many of ``names`` (in order) are already written or recorded as skipped."""
        for i, name in enumerate(names):
            if name not in self.done:
                return i
        return len(names)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(name, why) for name, why in self.done.items() if why is not None]

    def add(self, motion: Motion) -> None:
        if motion.texts:
            text_path = output_path(self.root / "texts", motion.name, ".txt")
            text_path.parent.mkdir(parents=True, exist_ok=True)
            text_path.write_text(text_file_content(motion.texts), encoding="utf-8", newline="")
        save_npy(output_path(self.root / self.convention.motions, motion.name, ".npy"), motion.features)
        self.done[motion.name] = None
        self._log({"m": motion.name})

    def add_bad(self, name: str, reason: str) -> None:
        self.done[name] = reason
        self._log({"bad": name, "why": reason})

    def set_splits(self, splits: dict[str, list[str]]) -> None:
        base = self.root / self.convention.splits
        version = self.convention.split_version
        for split, members in splits.items():
            key = split if version is None or "/" in split else f"{version}/{split}"
            target = output_path(base, key, ".txt", "split name")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text_file_content(members), encoding="utf-8")

    def set_stats(self, stats: Stats) -> None:
        save_npy(self.root / self.convention.mean, np.asarray(stats.mean))
        save_npy(self.root / self.convention.std, np.asarray(stats.std))


register_format("npy", "dataset", f"a dataset folder: {conventions_hint()}",
                f"a {' or '.join(folder.title for folder in dataset_folders())} folder", detect, reader=NpyFolderReader, writer=NpyFolderWriter,
                inspect=inspector(NpyFolderReader), order=60)
