"""Any folder tree of feature ``.npy`` files, read as a dataset when the user says so.

Releases ship motions as they come out of a pipeline, not in a published folder layout::

    <root>/<group>/<sub>/<id>.npy     features (T, D); any depth; the name is the path without .npy
    <root>/texts/<name>.txt           texts in a parallel tree ...
    <root>/<name>.txt                 ... or beside each motion
    <root>/{train,val,test}.txt       split lists of names (or under <root>/split/, or --splits DIR)
    <root>/Mean.npy Std.npy           stats when present (or mean.npy std.npy)

Detection never picks this format on its own (every folder of .npy files would match): it is opened by
:func:`mtk.formats.datasets.open_dataset` when ``--layout`` is given for a folder that is no known dataset,
with ``--as-dataset``, or with ``--splits DIR``. ``mtk convert TREE out --to npy`` writes the folder layout
of the features' family (MotionMillion's ``motion_data/vector_272/`` for 272).
"""

from __future__ import annotations

from pathlib import Path

from mtk.errors import BadInputError, MtkError
from mtk.features import folder_for_layout
from mtk.formats.datasets import inspector
from mtk.formats.model import DatasetInfo, Stats
from mtk.formats.npy_folder import NpyFolderReader, load_stats_pair, read_lines, scan_names, split_files
from mtk.formats.registry import register_format
from mtk.io.contained import Root
from mtk.io.names import check_names

#: folders under the root that hold texts or split lists, not motions
RESERVED_DIRS = ("texts", "split")
#: (mean, std) file names looked for at the root, in order
STATS_NAMES = (("Mean.npy", "Std.npy"), ("mean.npy", "std.npy"))
SPLIT_FILES = ("train", "val", "test")


def _read_split_dir(folder: Path, recursive: bool, guard: Root) -> dict[str, list[str]]:
    """Split lists under ``folder``: the usual names at its top, or every ``.txt`` below it (``recursive``),
    keyed by their path without ``.txt``; a name that is not a motion name is refused (names are not paths), and
    a file reached through a link leaving ``guard``'s root."""
    files = (split_files(folder, guard) if recursive
             else [guard.check(folder / f"{split}.txt") for split in SPLIT_FILES if (folder / f"{split}.txt").is_file()])
    return {path.relative_to(folder).with_suffix("").as_posix(): check_names(read_lines(path), path, unique=False)
            for path in files}


class NpyTreeReader(NpyFolderReader):
    """Reads a tree of feature ``.npy`` files (see the module doc); ``splits`` is a folder of split lists."""

    def __init__(self, path: str | Path, layout: str | None = None, splits: str | Path | None = None):
        self.path = str(path)
        self.root = Path(path)
        if not self.root.is_dir():
            raise MtkError(path, "is not a folder", "give the folder that holds the .npy files")
        self.motion_dir = self.root
        self.guard = Root(self.root, "the dataset")
        self.splits_dir = None if splits is None else Path(splits)
        if self.splits_dir is not None and not self.splits_dir.is_dir():
            raise MtkError(splits, "no such folder of split lists", "give the folder holding train.txt etc.")
        self._layout_request = layout
        self._info: DatasetInfo | None = None
        self._lengths: dict[str, int] = {}

    def _scan(self) -> DatasetInfo:
        stats_files = {name for pair in STATS_NAMES for name in pair}
        names = [n for n in scan_names(self.root, recursive=True, skip=RESERVED_DIRS, guard=self.guard)
                 if n + ".npy" not in stats_files]
        if not names:
            raise BadInputError(self.path, "holds no .npy files", "give the folder tree of feature .npy files")
        layout = self._resolve(names)
        return DatasetInfo(layout=layout, fps=layout.fps if layout else 20.0, names=names,
                           splits=self._read_splits(), stats=self._read_stats(),
                           family=folder_for_layout(layout).name,
                           fps_source="layout default")

    def _resolve(self, names: list[str]):
        from mtk.formats.arrays import resolve_layout

        dim = self._first_dim(names)
        if dim is None:
            raise BadInputError(self.file(names[0]), "is not a readable (T, D) feature file",
                                "the tree's first .npy files must be features")
        return resolve_layout(dim, self._layout_request, self.path)

    def _read_splits(self) -> dict[str, list[str]]:
        if self.splits_dir is not None:
            return _read_split_dir(self.splits_dir, recursive=True, guard=Root(self.splits_dir, "the split folder"))
        found = _read_split_dir(self.root, recursive=False, guard=self.guard)
        if not found and (self.root / "split").is_dir():
            found = _read_split_dir(self.root / "split", recursive=True, guard=self.guard)
        return found

    def _read_stats(self) -> Stats | None:
        for mean_name, std_name in STATS_NAMES:
            mean_path, std_path = self.root / mean_name, self.root / std_name
            if mean_path.is_file() and std_path.is_file():
                return load_stats_pair(mean_path, std_path, guard=self.guard)
        return None

    def text_file(self, name: str) -> Path:
        """The caption file of ``name`` (in texts/ or beside the motion), checked to lie inside the tree."""
        parallel = self.root / "texts" / f"{name}.txt"
        return self.guard.check(parallel if parallel.is_file() else self.root / f"{name}.txt")

    def iter(self, split: str | None = None):
        present = set(self.info.names)
        return self.iter_names([n for n in self.info.split_names(split) if n in present])


register_format("npy-tree", "dataset", "any folder tree of feature .npy files (with --as-dataset, --layout or "
                "--splits; texts in texts/ or beside, split lists at the root)",
                "any folder tree of feature .npy files with --as-dataset",
                lambda path: False, reader=NpyTreeReader, inspect=inspector(NpyTreeReader), order=90)
