"""A toy dataset format in one module with one registration call: a JSON file ``*.toyjson`` holding every
motion. The registry tests import it to see a new format reach the CLI, detection and the conformance
suite without any other edit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError
from mtk.features import get_layout
from mtk.formats.base import DatasetReader, DatasetWriter
from mtk.formats.datasets import inspector
from mtk.formats.model import DatasetInfo, Motion, Stats
from mtk.formats.registry import register_format
from mtk.io.atomic import atomic_file, refuse_existing

SUFFIX = ".toyjson"


def detect(path: str) -> bool:
    return path.endswith(SUFFIX) and Path(path).is_file()


class ToyReader(DatasetReader):
    def __init__(self, path: str, layout: str | None = None):
        self.path = str(path)
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            self.motions = {m["name"]: m for m in document["motions"]}
            self._info = DatasetInfo(get_layout(document["layout"]), float(document["fps"]), list(self.motions),
                                     document["splits"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise BadInputError(path, f"is not a toy dataset: {type(err).__name__}") from None

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def length(self, name: str) -> int:
        return len(self.motions[name]["features"])

    def read(self, name: str) -> Motion:
        motion = self.motions[name]
        return Motion(name, np.asarray(motion["features"], dtype=np.float32), list(motion["texts"]))

    def read_window(self, name: str, start: int, length: int) -> np.ndarray:
        return self.read(name).features[start:start + length]

    def close(self) -> None:
        pass


class ToyWriter(DatasetWriter):
    def __init__(self, path: str, info: DatasetInfo, overwrite: bool = False, resume: bool = False):
        refuse_existing(path, overwrite)
        self._path, self.info = str(path), info
        self.document = {"layout": info.layout.name, "fps": info.fps, "motions": [], "splits": {}}
        self.bad: list[tuple[str, str]] = []

    @property
    def path(self) -> str:
        return self._path

    def __exit__(self, exc_type, *rest: object) -> None:
        if exc_type is None:
            with atomic_file(self._path) as tmp:
                tmp.write_text(json.dumps(self.document), encoding="utf-8")

    def add(self, motion: Motion) -> None:
        self.document["motions"].append({"name": motion.name, "features": np.asarray(motion.features).tolist(),
                                         "texts": list(motion.texts)})

    def add_bad(self, name: str, reason: str) -> None:
        self.bad.append((name, reason))

    def set_splits(self, splits: dict[str, list[str]]) -> None:
        self.document["splits"] = splits

    def set_stats(self, stats: Stats) -> None:
        pass

    def resume_index(self, names: Sequence[str]) -> int:
        return 0

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return list(self.bad)


register_format("toy", "dataset", "a toy JSON dataset (tests only)", "a .toyjson file", detect, suffixes=(SUFFIX,),
                reader=ToyReader, writer=ToyWriter, inspect=inspector(ToyReader), order=45)
