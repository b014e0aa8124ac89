"""Streaming, parallel, atomic, resumable dataset conversion (``mtk convert SRC DST --to zarr|hdf5|npy``).

Motions are read in blocks by a pool of threads (each with its own lazily opened reader) and handed to
the writer in source order, so memory holds a few blocks plus one shard whatever the dataset's size.
The writer works in a temporary sibling that is renamed on success; ``resume`` continues a killed run
from its journal and gives the same output as an uninterrupted run.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from mtk.analysis.frame_rate import OPTION, FrameRate
from mtk.errors import BadInputError, MtkError
from mtk.formats import registry
from mtk.formats.base import DatasetReader
from mtk.formats.datasets import create_writer, format_for_path, open_dataset, read_block
from mtk.formats.model import Motion
from mtk.io.destination import Journal, refuse_overlap, source_log_path
from mtk.io.lock import exclusive
from mtk.io.progress import announce_total

#: motions per read task
BLOCK = 64


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Derivation:
    """Motions made from each source motion and written right after it (``mtk augment``), the splits that
    list them too, and a word for the summary. A derived dataset gets no stats: they describe other data."""

    motions: Callable[[Motion], list[Motion]]
    splits: Callable[[dict[str, list[str]]], dict[str, list[str]]]
    label: str


@dataclass
class ConvertResult:
    """What a conversion did."""

    dst: str
    motions: int = 0
    frames: int = 0
    bytes: int = 0
    seconds: float = 0.0
    resumed_from: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: the frame rate recorded in the output, and where it came from
    rate: FrameRate | None = None
    #: motions made by a :class:`Derivation` (counted in ``motions`` too), and its label
    derived: int = 0
    derived_label: str = ""

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        made = f" ({self.motions - self.derived} + {self.derived} {self.derived_label})" if self.derived_label else ""
        line = (f"wrote {self.motions} motions{made} ({self.frames} frames, {self.bytes / 1e6:.1f} MB of features) "
                f"to {self.dst}{f' at {self.rate}' if self.rate else ''} in {self.seconds:.1f} s "
                f"({self.mb_per_s:.0f} MB/s)")
        if self.resumed_from:
            line += f"; resumed after {self.resumed_from} motions"
        if self.skipped:
            listed = "; ".join(f"{name} ({why})" for name, why in self.skipped)
            line += f"; skipped {len(self.skipped)} unreadable: {listed}"
        return line


def read_in_order(reader: DatasetReader, names: Sequence[str], workers: int,
                  block: int = BLOCK) -> Iterator[list[tuple[str, Motion | MtkError]]]:
    """Blocks of (name, motion or error) in the order of ``names``, read ahead by ``workers`` threads."""
    blocks = [names[i:i + block] for i in range(0, len(names), block)]
    if workers <= 1:
        yield from (read_block(reader, b) for b in blocks)
        return
    local = threading.local()

    def task(chunk: Sequence[str]):
        if not hasattr(local, "reader"):
            local.reader = copy.copy(reader)  # readers open lazily: each thread gets its own handles
        return read_block(local.reader, chunk)

    with ThreadPoolExecutor(workers, thread_name_prefix="mtk-read") as pool:
        pending: deque = deque()
        for chunk in blocks:
            pending.append(pool.submit(task, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def convert_dataset(src: str, dst: str, to: str | None = None, *, layout: str | None = None,
                    fps: float | None = None, workers: int | None = None, overwrite: bool = False,
                    resume: bool = False,
                    skip_bad: bool = False, on_progress: Callable[[int], None] | None = None,
                    splits: str | None = None, derive: Derivation | None = None, **writer_options) -> ConvertResult:
    """Convert the dataset ``src`` into ``dst`` (format ``to``, else guessed from DST's suffix); ``fps``
    overrides the frame rate recorded in a store; ``splits``: a folder of split lists for a tree of .npy files;
    ``derive``: motions to add after each source motion (no ``resume``)."""
    if derive is not None and resume:
        raise MtkError(dst, f"writing {derive.label} cannot be resumed", "rerun with --overwrite")
    to = to or format_for_path(dst)
    if to is None:
        suffixes = ", ".join(s for f in registry.formats("dataset", writable=True) for s in f.suffixes)
        raise MtkError(dst, "cannot guess the output format",
                       f"name it {suffixes} or pass --to {'|'.join(registry.names('dataset', writable=True))}")
    refuse_overlap(dst, [src])
    started = time.perf_counter()
    reader = open_dataset(src, layout=layout, splits=splits)
    info = reader.info if fps is None else replace(reader.info, fps=float(fps), fps_source=OPTION)
    names = info.names
    announce_total(on_progress, len(names))
    result = ConvertResult(dst=str(dst), rate=FrameRate(info.fps, info.fps_source),
                           derived_label=derive.label if derive else "")
    with exclusive(dst), create_writer(dst, to, info, overwrite=overwrite, resume=resume, **writer_options) as writer:
        sources = Journal(source_log_path(dst))
        start = writer.resume_index(names) if resume else 0
        if start:
            _refuse_changed(reader, names[:start], sources)
        result.resumed_from = start
        if on_progress and start:
            on_progress(start)
        for block in read_in_order(reader, names[start:], workers or default_workers()):
            sources.append([{"m": name, "f": reader.fingerprint(name)} for name, motion in block
                            if not isinstance(motion, MtkError)])
            for name, motion in block:
                if isinstance(motion, MtkError):
                    if not skip_bad:
                        raise motion
                    writer.add_bad(name, motion.problem)
                    continue
                for made in [motion, *(derive.motions(motion) if derive else ())]:
                    writer.add(made)
                    result.frames += made.frames
                    result.bytes += made.features.nbytes
                    result.derived += made is not motion
            if on_progress:
                on_progress(len(block))
        writer.set_splits(derive.splits(info.splits) if derive else info.splits)
        if info.stats is not None and derive is None:
            writer.set_stats(info.stats)
        result.skipped = writer.skipped
    if start:
        _count_resumed(result, reader, names[:start])
    reader.close()
    result.motions = len(names) - len(result.skipped) + result.derived
    result.seconds = time.perf_counter() - started
    return result


def _refuse_changed(reader: DatasetReader, done: Sequence[str], sources: Journal) -> None:
    """Refuse to resume when a source motion the interrupted run converted has changed since."""
    recorded = {r["m"]: r["f"] for r in sources.records() if r.get("f") is not None}
    for name in done:
        if name in recorded and reader.fingerprint(name) != recorded[name]:
            raise BadInputError(reader.path, f"motion {name} changed since the interrupted run converted it",
                                "rerun with --overwrite instead of --resume to convert everything again")


def _count_resumed(result: ConvertResult, reader: DatasetReader, done: Sequence[str]) -> None:
    """Add the motions an interrupted run wrote to ``result``'s totals: the summary counts the whole output."""
    skipped = {name for name, _ in result.skipped}
    frames = sum(reader.length(name) for name in done if name not in skipped)
    frame_bytes = result.bytes / result.frames if result.frames else 4 * (reader.info.layout.dim
                                                                          if reader.info.layout else 0)
    result.frames += frames
    result.bytes += int(frames * frame_bytes)


def convert_to_dataset(src: str, dst: str, *, to: str, layout: str | None = None, fps: float | None = None,
                       workers: int | None = None, overwrite: bool = False, resume: bool = False,
                       skip_bad: bool = False, on_progress: Callable[[int], None] | None = None,
                       splits: str | None = None) -> str:
    """The ``mtk convert --to <dataset format>`` target: one summary line (plus the skipped motions)."""
    return convert_dataset(src, dst, to=to, layout=layout, fps=fps, workers=workers, overwrite=overwrite,
                           resume=resume, skip_bad=skip_bad, on_progress=on_progress, splits=splits).summary()
