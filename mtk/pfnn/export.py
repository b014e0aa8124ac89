"""``mtk convert SRC OUT --to pfnn``: export any input as a PFNN database folder, motions in parallel.

Output folder: ``database.npz`` {Xun, Yun, Pun} float32; ``Xmean/Xstd/Ymean/Ystd`` as ``.npy`` and raw
little-endian float32 ``.bin`` (PFNN's demo format); ``layout.json`` (every column, window, fps, skeleton,
options, sources, the gait labels' summary and the selection). Inputs: a BVH file (siblings ``.phase``,
``.gait``, ``_footsteps.txt`` are used when present), a feature file, a joints file, or a dataset (npy folder,
Zarr, HDF5). The database format itself is :mod:`mtk.pfnn.database`; see docs/pfnn.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.pfnn.database import Clip, DatabaseLayout, write_database
from mtk.pfnn.gait import LABELS
from mtk.pfnn.rows import PfnnRows, export_rows, grouped_stats
from mtk.pfnn.schema import export_columns, get_preset
from mtk.pfnn.selection import Selection, runs
from mtk.pfnn.sources import ExportOptions, Source, source_loaders


@dataclass
class Exported:
    """One motion's rows: the runs of consecutive frames the selection kept, and what its summary needs."""

    name: str
    runs: list[PfnnRows]
    used: dict[str, str]
    fps: float
    preset: str
    #: rows per label, of the rows kept
    labels: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)
    has_texts: bool = False

    @property
    def rows(self) -> int:
        return sum(len(r) for r in self.runs)


def _export(job: tuple[Callable[[], Source], ExportOptions]) -> Exported:
    load, options = job
    source = load()
    preset = get_preset(source.preset)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = export_rows(source.motion, preset, options.rotations, options.terrain)  # type: ignore[arg-type]
    if not (np.isfinite(rows.X).all() and np.isfinite(rows.Y).all() and np.isfinite(rows.P).all()):
        raise BadInputError(source.name, "gives NaN or Inf PFNN rows",
                            "its joints are non-finite or degenerate (hips and shoulders give no facing)")
    labels = source.labels
    keep, dropped = options.selection.rows_to_keep(rows.frames, labels, source.text, source.motion.fps)
    kept = [rows.take(np.arange(a, b)) for a, b in runs(rows.frames, keep)] if not keep.all() else [rows]
    names = np.array(LABELS)[labels.label[rows.frames[keep]]]
    return Exported(source.name, [r for r in kept if len(r)], source.used, source.motion.fps, preset.name,
                    Counter(names.tolist()), dropped, source.disagreements, source.has_texts)


def convert_to_pfnn(src: str, dst: str, *, skeleton: str | None = None, rotations: str = "logquat",
                    terrain: str = "zero", phase_from: str | None = None, gait_from: str | None = None,
                    gait: str | None = None, select: str | None = None, keep: str | None = None,
                    workers: int = 1, layout: str | None = None, fps: float | None = None,
                    overwrite: bool = False, on_progress: Callable[[int], None] | None = None) -> str:
    """Export ``src`` as a PFNN database folder ``dst``; returns a one-line summary.

    ``gait``: ``motion``, ``text``, ``both``, ``file`` or ``speed`` (:mod:`mtk.pfnn.gait`); ``select``:
    ``all`` or ``locomotion``, ``keep``: the gait labels a locomotion selection keeps (comma-separated)."""
    from mtk.io.lock import exclusive

    if rotations not in ("logquat", "6d"):
        raise MtkError(None, f"unknown rotation encoding {rotations!r}", "use --rotations logquat or 6d")
    if terrain not in ("zero", "none"):
        raise MtkError(None, f"unknown terrain mode {terrain!r}", "use --terrain zero or none")
    options = ExportOptions(skeleton, rotations, terrain, phase_from, gait_from, gait, Selection.parse(select, keep))
    with exclusive(dst):
        return _export_database(src, dst, options, workers, layout, fps, overwrite, on_progress)


def _export_database(src: str, dst: str, options: ExportOptions, workers: int, layout: str | None,
                     fps: float | None, overwrite: bool, on_progress: Callable[[int], None] | None) -> str:
    """:func:`convert_to_pfnn`'s work, under the destination's lock."""
    from mtk.io.destination import prepare

    dest = prepare(dst, overwrite=overwrite)
    results = _run(_jobs(source_loaders(src, options, layout, fps), options), workers, on_progress)
    if not results:
        raise BadInputError(src, "holds no motion to export")
    preset_names = {r.preset for r in results}
    if len(preset_names) > 1:
        raise BadInputError(src, f"mixes skeletons {sorted(preset_names)}", "export them separately")
    preset = get_preset(preset_names.pop())
    columns = export_columns(preset.name, options.rotations, options.terrain)  # type: ignore[arg-type]
    parts = [part for r in results for part in r.runs]
    if not parts:
        dropped = _dropped(results)
        why = f"; the selection dropped them all ({_counts(dropped)})" if dropped else ""
        raise BadInputError(src, "gives no PFNN rows" + why,
                            "clips need more than 2 s of motion (or annotated cycles)" if not why else
                            "relax --select / --keep")
    X, Y, P = (np.concatenate([getattr(part, key) for part in parts]) for key in ("X", "Y", "P"))
    stats = grouped_stats(X, Y, columns, preset.joint_weights())
    layout_ = database_layout(preset.name, options, results, stats.pooled)
    write_database(dest, X, Y, P, stats, layout_)
    fps_text = ", ".join(sorted({f"{r.fps:g}" for r in results}))
    used = "; ".join(f"{k}: {v}" for k, v in results[0].used.items() if k != "gait") if len(results) == 1 else ""
    return (f"wrote {dst}: {len(X)} rows, X {X.shape[1]} / Y {Y.shape[1]} columns from "
            f"{sum(1 for r in results if r.runs)} motion(s) ({preset.name}, {fps_text} fps)"
            + (f"; {used}" if used else "") + "; " + layout_.labels_summary())


def _jobs(loaders: Iterator[Callable[[], Source]],
          options: ExportOptions) -> Iterator[tuple[Callable[[], Source], ExportOptions]]:
    for load in loaders:
        yield load, options


def _run(jobs: Iterator[tuple[Callable[[], Source], ExportOptions]], workers: int,
         on_progress: Callable[[int], None] | None) -> list[Exported]:
    """Export every job, in order, on ``workers`` processes."""
    results = []
    if workers <= 1:
        for result in map(_export, jobs):
            results.append(result)
            if on_progress:
                on_progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        # bounded batches: Executor.map would read every motion of the dataset before the first result
        while batch := list(islice(jobs, 64 * workers)):
            for result in pool.map(_export, batch, chunksize=8):
                results.append(result)
                if on_progress:
                    on_progress(1)
    return results


def _dropped(results: list[Exported]) -> Counter:
    return sum((r.dropped for r in results), Counter())


def _counts(counter: Counter) -> str:
    return ", ".join(f"{name} {count}" for name, count in counter.most_common())


def label_summary(options: ExportOptions, results: list[Exported]) -> dict:
    """How the gait labels were made and what the selection kept: ``layout.json``'s ``labels``."""
    sources = Counter(r.used.get("gait", "?") for r in results)
    disagreements = Counter(kind for r in results for kind in r.disagreements)
    kept_rows = sum(r.rows for r in results)
    dropped = _dropped(results)
    return {
        "gait": {"sources": dict(sources.most_common()), "motions_with_texts": sum(r.has_texts for r in results),
                 "disagreements": dict(disagreements.most_common()),
                 "rows_per_label": dict(sum((r.labels for r in results), Counter()).most_common())},
        "selection": {"mode": options.selection.mode, "keep": list(options.selection.keep),
                      "motions": {"in": len(results), "kept": sum(1 for r in results if r.runs)},
                      "rows": {"kept": kept_rows, "dropped": sum(dropped.values())},
                      "dropped": dict(dropped.most_common())},
    }


def database_layout(skeleton: str, options: ExportOptions, results: list[Exported],
                    pooled: dict[str, float]) -> DatabaseLayout:
    """The layout of the exported rows: skeleton, options, one clip per run of rows, the pooled stds and the
    label summary."""
    clips, start = [], 0
    for result in results:
        for part in result.runs:
            clips.append(Clip(result.name, (start, start + len(part)), result.fps, int(part.frames[0]), result.used))
            start += len(part)
    recorded = {"phase_from": options.phase_from or "auto", "gait_from": options.gait_from or "auto",
                "gait": options.gait or "auto", "select": options.selection.mode,
                "keep": list(options.selection.keep)}
    return DatabaseLayout(skeleton, options.rotations, options.terrain,  # type: ignore[arg-type]
                          tuple(sorted({r.fps for r in results})), tuple(clips), recorded, pooled,
                          label_summary(options, results))
