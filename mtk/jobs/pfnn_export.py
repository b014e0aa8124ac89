"""``mtk convert SRC OUT --to pfnn``: export any input as a PFNN database folder, motions in parallel.

Output folder: ``database.npz`` {Xun, Yun, Pun} float32; ``Xmean/Xstd/Ymean/Ystd`` as ``.npy`` and raw
little-endian float32 ``.bin`` (PFNN's demo format); ``layout.json`` (every column, window, fps, skeleton,
options, sources). Inputs: a BVH file (siblings ``.phase``, ``.gait``, ``_footsteps.txt`` are used when
present), a feature file, a joints file, or a dataset (npy folder, Zarr, HDF5). The database format itself is
:mod:`mtk.formats.pfnn`; see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.formats.pfnn import write_database
from mtk.jobs.pfnn_sources import ExportOptions, Source, source_loaders
from mtk.schemas import pfnn as spec
from mtk.schemas.pfnn import PfnnColumns, PfnnPreset, get_preset, pfnn_columns
from mtk.toolkit.pfnn import PfnnRows, export_rows, grouped_stats


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


def convert_to_pfnn(src: str, dst: str, *, skeleton: str | None = None, rotations: str = "logquat",
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
    columns = pfnn_columns(preset.skeleton.joint_names, rotations, terrain, preset.unit)  # type: ignore[arg-type]
    X = np.concatenate([r[1].X for r in results])
    Y = np.concatenate([r[1].Y for r in results])
    P = np.concatenate([r[1].P for r in results])
    if len(X) == 0:
        raise BadInputError(src, "gives no PFNN rows", "clips need more than 2 s of motion (or annotated cycles)")
    stats = grouped_stats(X, Y, columns, preset.joint_weights())
    document = layout_document(columns, preset, options, results, stats.pooled)
    write_database(dest, X, Y, P, stats, document)
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


def layout_document(columns: PfnnColumns, preset: PfnnPreset, options: ExportOptions, results: list,
                    pooled: dict[str, float]) -> dict:
    """``layout.json``: every column, the window, rates, skeleton, options, clips and pooled stds."""
    def groups(items) -> list[dict]:
        return [{"name": g.name, "start": g.start, "stop": g.stop, "meaning": g.meaning, "unit": g.unit,
                 "norm_group": g.norm} for g in items]

    clips, start = [], 0
    for name, rows, used, fps, _ in results:
        clips.append({"name": name, "rows": [start, start + len(rows)], "fps": fps, "sources": used,
                      "first_frame": int(rows.frames[0]) if len(rows) else None})
        start += len(rows)
    return {
        "mtk_format": "pfnn-1",
        "skeleton": preset.name, "joint_names": list(preset.skeleton.joint_names),
        "parents": list(preset.skeleton.parents), "joint_weights": preset.joint_weights(),
        "unit": preset.unit, "metres_per_unit": preset.metres_per_unit,
        "fps": sorted({r[3] for r in results}), "rate_unit": f"per 1/{spec.REFERENCE_FPS:g} s",
        "window": {"seconds": spec.WINDOW_S, "step_s": spec.STEP_S,
                   "input_samples_s": [k * spec.STEP_S for k in spec.INPUT_SAMPLES],
                   "output_samples_s": [k * spec.STEP_S for k in spec.OUTPUT_SAMPLES],
                   "facing_sigma_s": spec.FACING_SIGMA_S,
                   "edges": "cycles" if preset.cycles_only else preset.edges},
        "options": {"rotations": options.rotations, "terrain": options.terrain,
                    "phase_from": options.phase_from or "auto", "gait_from": options.gait_from or "auto",
                    "floor": preset.floor},
        "x_dim": columns.x_dim, "y_dim": columns.y_dim,
        "x_groups": groups(columns.x_groups), "y_groups": groups(columns.y_groups),
        "x_columns": columns.x_column_names(), "y_columns": columns.y_column_names(),
        "pooled_std": pooled, "clips": clips,
    }
