"""A training run's ``log.jsonl`` (and TensorBoard scalars when available), shared by the tokenizer and PFNN
trainers; see docs/architecture.md."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG = "log.jsonl"


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

