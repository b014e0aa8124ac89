"""A training run's folder and its ``log.jsonl`` (and TensorBoard scalars when available), shared by the
tokenizer and PFNN trainers; see docs/architecture.md."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mtk.errors import MtkError
from mtk.io.commit import remove_path
from mtk.io.destination import check_parent
from mtk.io.location import require_local

LOG = "log.jsonl"


@contextmanager
def run_folder(path: str | Path, checkpoint: str) -> Iterator[Path]:
    """A training run's folder, held to the rules of every output: its parent must be a folder, and it is the
    output a failed write names (a full or read-only disk is one line, ``mtk.io.destination.write_fault``). A
    run that fails before its first ``checkpoint`` (a refused dataset, a full disk) removes the folders it
    created: nothing resumable was in them, and no empty run folder is left (in a single process; under
    ``accelerate launch`` they stay)."""
    folder = require_local(path, "a training run").absolute()
    check_parent(folder)
    if os.path.lexists(folder) and not folder.is_dir():
        raise MtkError(folder, "is a file, not a run folder", "choose another --out")
    created: Path | None = None  # the outermost folder this run makes (None: the run folder exists)
    probe = folder
    while not os.path.lexists(probe):
        created, probe = probe, probe.parent
    try:
        yield folder
    except Exception:
        if created is not None and not (folder / checkpoint).exists() and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            remove_path(created)
        raise


def write_json(path: Path, document: Any) -> None:
    """``document`` as indented JSON at ``path``, atomically (a run's ``config.json``)."""
    from mtk.io.atomic import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")


class RunLog:
    """JSON-lines log (and TensorBoard scalars when available), written by the main process only."""

    def __init__(self, folder: Path, enabled: bool, on_event: Callable[[dict], None] | None):
        self.path = folder / LOG
        self.enabled = enabled
        self.on_event = on_event
        self.board = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.board = SummaryWriter(str(folder / "tensorboard"))
            except ImportError:
                self.board = None

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"time": round(time.time(), 3), **record}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.board is not None:
            for key, value in record.items():
                if isinstance(value, int | float) and key not in ("time", "iter"):
                    self.board.add_scalar(f"{record['event']}/{key}", value, record["iter"])
        if self.on_event:
            self.on_event(record)

    def close(self) -> None:
        if self.board is not None:
            self.board.close()

