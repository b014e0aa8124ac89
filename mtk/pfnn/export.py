"""``mtk convert SRC OUT --to pfnn``: export any input as a PFNN database folder, motions in parallel.

Output folder: ``database.npz`` {Xun, Yun, Pun} float32; ``Xmean/Xstd/Ymean/Ystd`` as ``.npy`` and raw
little-endian float32 ``.bin`` (PFNN's demo format); ``layout.json`` (every column, window, fps, skeleton,
options, sources). Inputs: a BVH file (siblings ``.phase``, ``.gait``, ``_footsteps.txt`` are used when
present), a feature file, a joints file, or a dataset (npy folder, Zarr, HDF5). The database format itself is
:mod:`mtk.pfnn.database`; see docs/pfnn.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.pfnn.database import Clip, DatabaseLayout, write_database
from mtk.pfnn.rows import PfnnRows, export_rows, grouped_stats
from mtk.pfnn.schema import export_columns, get_preset
from mtk.pfnn.sources import ExportOptions, Source, source_loaders


def _export(job: tuple[Callable[[], Source], str, str]) -> tuple[str, PfnnRows, dict[str, str], float, str]:
    load, rotations, terrain = job
    source = load()
    preset = get_preset(source.preset)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = export_rows(source.motion, preset, rotations, terrain)  # type: ignore[arg-type]
    if not (np.isfinite(rows.X).all() and np.isfinite(rows.Y).all() and np.isfinite(rows.P).all()):
        raise BadInputError(source.name, "gives NaN or Inf PFNN rows",
                            "its joints are non-finite or degenerate (hips and shoulders give no facing)")
    return source.name, rows, source.used, source.motion.fps, preset.name


def convert_to_pfnn(src: str, dst: str, skeleton: str | None = None, rotations: str = "logquat",
                    terrain: str = "zero", phase_from: str | None = None, gait_from: str | None = None,
                    workers: int = 1, layout: str | None = None, fps: float | None = None,
                    overwrite: bool = False, on_progress: Callable[[int], None] | None = None) -> str:
    """Export ``src`` as a PFNN database folder ``dst``; returns a one-line summary."""
    from mtk.io.lock import exclusive

    with exclusive(dst):
        return _export_database(src, dst, skeleton, rotations, terrain, phase_from, gait_from, workers, layout,
                                fps, overwrite, on_progress)


def _export_database(src: str, dst: str, skeleton: str | None, rotations: str, terrain: str,
                     phase_from: str | None, gait_from: str | None, workers: int, layout: str | None,
                     fps: float | None, overwrite: bool, on_progress: Callable[[int], None] | None) -> str:
    """:func:`convert_to_pfnn`'s work, under the destination's lock."""
    from mtk.io.destination import prepare

    if rotations not in ("logquat", "6d"):
        raise MtkError(None, f"unknown rotation encoding {rotations!r}", "use --rotations logquat or 6d")
    if terrain not in ("zero", "none"):
        raise MtkError(None, f"unknown terrain mode {terrain!r}", "use --terrain zero or none")
    dest = prepare(dst, overwrite=overwrite)
    options = ExportOptions(skeleton, rotations, terrain, phase_from, gait_from)
    results = _run(_jobs(source_loaders(src, options, layout, fps), rotations, terrain), workers, on_progress)
    if not results:
        raise BadInputError(src, "holds no motion to export")
    preset_names = {r[4] for r in results}
    if len(preset_names) > 1:
        raise BadInputError(src, f"mixes skeletons {sorted(preset_names)}", "export them separately")
    preset = get_preset(preset_names.pop())
    columns = export_columns(preset.name, rotations, terrain)  # type: ignore[arg-type]
    X = np.concatenate([r[1].X for r in results])
    Y = np.concatenate([r[1].Y for r in results])
    P = np.concatenate([r[1].P for r in results])
    if len(X) == 0:
        raise BadInputError(src, "gives no PFNN rows", "clips need more than 2 s of motion (or annotated cycles)")
    stats = grouped_stats(X, Y, columns, preset.joint_weights())
    write_database(dest, X, Y, P, stats, database_layout(preset.name, options, results, stats.pooled))
    fps_text = ", ".join(sorted({f"{r[3]:g}" for r in results}))
    used = "; ".join(f"{k}: {v}" for k, v in results[0][2].items()) if len(results) == 1 else ""
    return (f"wrote {dst}: {len(X)} rows, X {X.shape[1]} / Y {Y.shape[1]} columns from {len(results)} "
            f"motion(s) ({preset.name}, {fps_text} fps)" + (f"; {used}" if used else ""))


def _jobs(loaders: Iterator[Callable[[], Source]], rotations: str,
          terrain: str) -> Iterator[tuple[Callable[[], Source], str, str]]:
    for load in loaders:
        yield load, rotations, terrain


def _run(jobs: Iterator[tuple[Callable[[], Source], str, str]], workers: int,
         on_progress: Callable[[int], None] | None) -> list[tuple[str, PfnnRows, dict[str, str], float, str]]:
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


def database_layout(skeleton: str, options: ExportOptions, results: list,
                    pooled: dict[str, float]) -> DatabaseLayout:
    """The layout of the exported rows: skeleton, options, one clip per motion, the pooled stds."""
    clips, start = [], 0
    for name, rows, used, fps, _ in results:
        clips.append(Clip(name, (start, start + len(rows)), fps, int(rows.frames[0]) if len(rows) else None, used))
        start += len(rows)
    return DatabaseLayout(skeleton, options.rotations, options.terrain,  # type: ignore[arg-type]
                          tuple(sorted({r[3] for r in results})), tuple(clips),
                          {"phase_from": options.phase_from or "auto", "gait_from": options.gait_from or "auto"},
                          pooled)
