"""PFNN databases: read PFNN's side files, turn any input into PFNN rows, write and describe ``database.npz``.

Output folder (``mtk convert SRC OUT --to pfnn``):
``database.npz`` {Xun, Yun, Pun} float32; ``Xmean/Xstd/Ymean/Ystd`` as ``.npy`` and raw little-endian float32
``.bin`` (PFNN's demo format); ``layout.json`` (every column, window, fps, skeleton, options, sources).
Inputs: a BVH file (siblings ``.phase``, ``.gait``, ``_footsteps.txt`` are used when present), a feature
file, a joints file, or a dataset (npy folder, Zarr, HDF5).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError, first_line
from mtk.schemas.pfnn import (
    GAIT_FILE_COLUMNS,
    GAIT_MERGE,
    INPUT_SAMPLES,
    OUTPUT_SAMPLES,
    REFERENCE_FPS,
    STEP_S,
    STRIKE_SPEED_M_S,
    WINDOW_S,
    FACING_SIGMA_S,
    PfnnColumns,
    PfnnPreset,
    get_preset,
    pfnn_columns,
)
from mtk.toolkit.pfnn import PfnnMotion, PfnnRows, export_rows, grouped_stats

DATABASE = "database.npz"
KEYS = ("Xun", "Yun", "Pun")
STATS = ("Xmean", "Xstd", "Ymean", "Ystd")
#: sibling files of a BVH take, by role
SIBLINGS = {"phase": ".phase", "gait": ".gait", "footsteps": "_footsteps.txt"}


# --- PFNN's side files ---------------------------------------------------------------------------------


def _read_table(path: Path, columns: int) -> np.ndarray:
    try:
        table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as err:
        raise BadInputError(path, f"is not a numeric table: {str(err).splitlines()[0]}") from None
    if table.shape[1] != columns:
        raise BadInputError(path, f"has {table.shape[1]} columns, expected {columns}")
    return table


def read_phase(path: str | Path) -> np.ndarray:
    """A ``.phase`` file: one phase in [0, 1] per frame."""
    return _read_table(Path(path), 1)[:, 0]


def read_gait(path: str | Path) -> np.ndarray:
    """A ``.gait`` file (8 columns per frame) merged into PFNN's 6 classes (jog+run, crouch+crawl)."""
    table = _read_table(Path(path), len(GAIT_FILE_COLUMNS))
    return np.stack([sum(table[:, GAIT_FILE_COLUMNS.index(c)] for c in merged) for merged in GAIT_MERGE], -1)


def _footstep_lines(path: str | Path) -> list[list[str]]:
    try:
        lines = [line.split() for line in Path(path).read_text().splitlines()]
    except OSError as err:
        raise BadInputError(path, f"cannot be read: {err.strerror}") from None
    for words in lines:
        if words and not all(w.isdigit() for w in words[:2]):
            raise BadInputError(path, f"has a line that is not 'frame frame [*]': {' '.join(words)!r}")
    return lines


def read_footstep_cycles(path: str | Path) -> list[tuple[int, int]]:
    """Cycles of a ``_footsteps.txt`` file as (right contact, next right contact), 1-based file frames.

    PFNN's rules: line L and L+1 make a cycle unless either ends with ``*`` or line L+1 has fewer than two
    numbers (a file may end with a lone number).
    """
    lines = _footstep_lines(path)
    return [(int(cur[0]), int(nxt[0])) for cur, nxt in zip(lines[:-1], lines[1:], strict=True)
            if cur and len(nxt) >= 2 and not cur[-1].endswith("*") and not nxt[-1].endswith("*")]


def read_footstep_phase(path: str | Path, frames: int) -> np.ndarray:
    """The phase curve (``frames`` values) a ``_footsteps.txt`` file implies (as PFNN's ``.phase`` files)."""
    from mtk.toolkit.phase import phase_from_footsteps

    steps = [(int(w[0]) - 1, int(w[1 if len(w) > 1 else 0]) - 1) for w in _footstep_lines(path) if w]
    return phase_from_footsteps(steps, frames)


def find_siblings(bvh: str | Path) -> dict[str, Path]:
    """The side files of a BVH take that exist: ``phase``, ``gait``, ``footsteps``."""
    bvh = Path(bvh)
    stem = bvh.with_suffix("")
    found = {role: Path(f"{stem}{suffix}") for role, suffix in SIBLINGS.items()}
    return {role: path for role, path in found.items() if path.is_file()}


# --- options and sources -------------------------------------------------------------------------------


@dataclass
class ExportOptions:
    """What ``--to pfnn`` was asked for."""

    skeleton: str | None = None
    rotations: str = "logquat"
    terrain: str = "zero"
    #: None: a BVH's .phase or _footsteps.txt sibling, else contacts; ``contacts``; or a .phase file / folder
    phase_from: str | None = None
    #: None: a BVH's .gait sibling, else speed; ``speed``; or a .gait file / folder of <name>.gait
    gait_from: str | None = None


@dataclass
class Source:
    """One motion to export: its arrays and where its phase/gait/cycles came from."""

    name: str
    motion: PfnnMotion
    preset: str
    used: dict[str, str] = field(default_factory=dict)


def _side_file(spec: str, name: str, suffix: str) -> Path:
    path = Path(spec)
    if path.is_dir():
        path = path / f"{name}{suffix}"
    if not path.is_file():
        raise MtkError(path, "no such file", f"--phase-from/--gait-from take 'contacts'/'speed', a {suffix} file "
                       f"or a folder of <name>{suffix} files")
    return path


def _phase_and_gait(name: str, frames: int, step: int, options: ExportOptions, siblings: dict[str, Path],
                    used: dict[str, str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Phase and gait from files (explicit or sibling), subsampled like the motion; None means derive."""
    if options.phase_from is None and "phase" not in siblings and "footsteps" in siblings:
        siblings = {**siblings, "phase": siblings["footsteps"]}

    def phase_reader(path: Path) -> np.ndarray:
        return read_phase(path) if path.suffix == ".phase" else read_footstep_phase(path, frames * step)

    out: list[np.ndarray | None] = []
    for role, spec, derive, reader in (("phase", options.phase_from, "contacts", phase_reader),
                                       ("gait", options.gait_from, "speed", read_gait)):
        if spec == derive or (spec is None and role not in siblings):
            used[role] = derive
            out.append(None)
            continue
        path = siblings[role] if spec is None else _side_file(spec, name, SIBLINGS[role])
        values = reader(path)[::step]
        if len(values) < frames:
            raise BadInputError(path, f"has {len(values) * step} frames, the motion has {frames * step}")
        used[role] = path.name
        out.append(values[:frames])
    return out[0], out[1]


def _contact_phase(motion: PfnnMotion, preset: PfnnPreset) -> np.ndarray:
    """Phase from heel strikes: each heel's speed falling below :data:`STRIKE_SPEED_M_S`."""
    from mtk.toolkit.extract import foot_contacts
    from mtk.toolkit.phase import phase_from_contacts

    step = STRIKE_SPEED_M_S / preset.metres_per_unit / motion.fps
    heels = (preset.role("heel_left"), preset.role("heel_right"))
    slow = foot_contacts(motion.positions, heels, step**2) > 0.5
    slow = np.concatenate([slow, slow[-1:]], 0) if len(slow) else np.zeros((1, 2), bool)
    return phase_from_contacts(slow[:, 0], slow[:, 1], motion.fps)[0]


def _finish(name: str, motion: PfnnMotion, preset: PfnnPreset, options: ExportOptions,
            siblings: dict[str, Path], step: int, used: dict[str, str]) -> Source:
    motion.phase, motion.gait = _phase_and_gait(name, motion.frames, step, options, siblings, used)
    if motion.phase is None:
        motion.phase = _contact_phase(motion, preset)
    return Source(name, motion, preset.name, used)


def _resolve_preset(requested: str | None, detected: str, path: str | Path) -> PfnnPreset:
    name = requested or detected
    try:
        preset = get_preset(name)
    except KeyError as err:
        raise MtkError(None, str(err.args[0]), "use --skeleton smpl22, kit21 or pfnn31") from None
    if requested and requested != detected:
        raise BadInputError(path, f"holds a {detected} skeleton, not {requested}", f"use --skeleton {detected}")
    return preset


def _bvh_skeleton(names: list[str]) -> tuple[str, list[int]]:
    """The preset a BVH's joints map onto, and the BVH index of each preset joint (matched by name)."""
    def key(text: str) -> str:
        return text.lower().replace("_", "").replace(" ", "")

    index = {key(n): i for i, n in enumerate(names)}
    for preset in ("pfnn31", "smpl22"):
        wanted = [key(n) for n in get_preset(preset).skeleton.joint_names]
        if all(w in index for w in wanted):
            return preset, [index[w] for w in wanted]
    raise MtkError(None, "the BVH skeleton matches no PFNN preset",
                   "expected PFNN's 31 CMU joints or the 22 SMPL body joints")


def source_from_bvh(path: str | Path, options: ExportOptions) -> Source:
    """A BVH take; PFNN's side files beside it are used when present."""
    from mtk.formats.bvh import read_bvh

    probe = read_bvh(path)
    try:
        detected, order = _bvh_skeleton(probe.joint_names)
    except MtkError as err:
        raise BadInputError(path, err.problem, err.hint) from None
    preset = _resolve_preset(options.skeleton, detected, path)
    scale = preset.source_scale
    if preset.name == "smpl22" and np.median(np.linalg.norm(probe.offsets, axis=-1)) > 2.0:
        scale = 0.01  # an SMPL export in centimetres
    step = max(1, int(round(probe.fps / preset.target_fps))) if preset.target_fps else 1
    kept = replace(probe, local_rotations=probe.local_rotations[::step], root_positions=probe.root_positions[::step],
                   joint_translations=None if probe.joint_translations is None else probe.joint_translations[::step])
    positions, rotations = kept.positions()[:, order] * scale, kept.global_rotations()[:, order]
    siblings = find_siblings(path)
    motion = PfnnMotion(positions, rotations, probe.fps / step)
    used: dict[str, str] = {}
    if "footsteps" in siblings and preset.cycles_only:
        motion.cycles = [(a // step, b // step) for a, b in read_footstep_cycles(siblings["footsteps"])]
        used["cycles"] = siblings["footsteps"].name
    return _finish(Path(path).stem, motion, preset, options, siblings, step, used)


def _motion_from_features(features: np.ndarray, layout, fps: float) -> tuple[PfnnMotion, str]:
    """Joints (and SMPL rotations for 272, the stored contacts for 263) recovered from features."""
    from mtk.toolkit.recover import recover_joints

    f = np.asarray(features, dtype=np.float64)
    joints = recover_joints(f, layout)
    rotations = contacts = None
    if layout.sixd == "rows":
        from mtk.toolkit.kinematics import forward_kinematics
        from mtk.toolkit.recover import recover_local_rotations

        local = recover_local_rotations(f, layout)
        offsets = np.zeros((layout.num_joints, 3))
        rotations = forward_kinematics(local.rotations, local.translation, offsets, layout.skeleton.parents)[1]
    preset = "kit21" if layout.skeleton.name == "kit21" else "smpl22"
    # stored contacts are used when their joints are the preset's heel L, toe L, heel R, toe R (263: yes;
    # 251: its code calls MMM's right foot "left", so they are recomputed from the joints)
    if layout.has_contacts and layout.block("foot_contacts").joints == get_preset(preset).contact_joints:
        contacts = f[:-1, layout.block("foot_contacts").slice] > 0.5
    return PfnnMotion(joints, rotations, fps, contacts=contacts), preset


def source_from_features(name: str, features: np.ndarray, layout, fps: float, options: ExportOptions,
                         path: str | Path) -> Source:
    motion, detected = _motion_from_features(features, layout, fps)
    preset = _resolve_preset(options.skeleton, detected, path)
    used = {"rotations": "SMPL (272)" if motion.rotations is not None else "swing from joint positions",
            "contacts": "stored" if motion.contacts is not None else "foot speed"}
    return _finish(name, motion, preset, options, {}, 1, used)


def source_from_joints(name: str, joints: np.ndarray, fps: float, options: ExportOptions,
                       path: str | Path) -> Source:
    detected = {22: "smpl22", 21: "kit21", 31: "pfnn31"}.get(joints.shape[1])
    if detected is None:
        raise BadInputError(path, f"has {joints.shape[1]} joints; PFNN presets have 22, 21 or 31")
    preset = _resolve_preset(options.skeleton, detected, path)
    motion = PfnnMotion(np.asarray(joints, dtype=np.float64), None, fps)
    return _finish(name, motion, preset, options, {}, 1, {"rotations": "swing from joint positions"})


def source_loaders(src: str, options: ExportOptions, layout: str | None = None,
                   fps: float | None = None) -> Iterator[Callable[[], Source]]:
    """One picklable loader per motion of any input mtk reads (run in worker processes)."""
    path = Path(src)
    if src.lower().endswith(".bvh"):
        yield partial(source_from_bvh, src, options)
        return
    if path.is_file() and src.endswith(".npy"):
        from mtk.formats.arrays import array_kind, load_npy, resolve_layout

        array = load_npy(src)
        kind = array_kind(array, src)
        if kind == "joints":
            yield partial(source_from_joints, path.stem, array, fps or 20.0, options, src)
            return
        found = resolve_layout(array.shape[-1], layout, src) if kind == "features" else None
        if found is None:
            raise BadInputError(src, f"has shape {array.shape}; expected features, joints or a BVH take")
        yield partial(source_from_features, path.stem, array, found, fps or found.fps, options, src)
        return
    from mtk.formats.datasets import open_dataset

    reader = open_dataset(src, layout=layout)
    try:
        if reader.info.layout is None:
            raise BadInputError(src, "has no known feature layout", "pass --layout")
        for motion in reader.iter():
            yield partial(source_from_features, motion.name, motion.features, reader.info.layout,
                          fps or reader.info.fps, options, src)
    finally:
        reader.close()


# --- export --------------------------------------------------------------------------------------------


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
                    overwrite: bool = False, on_progress: Callable[[int], None] | None = None,
                    **_: object) -> str:
    """Export ``src`` as a PFNN database folder ``dst``; returns a one-line summary."""
    from mtk.formats.lock import exclusive

    with exclusive(dst):
        return _export_database(src, dst, skeleton, rotations, terrain, phase_from, gait_from, workers, layout,
                                fps, overwrite, on_progress)


def _export_database(src: str, dst: str, skeleton: str | None, rotations: str, terrain: str,
                     phase_from: str | None, gait_from: str | None, workers: int, layout: str | None,
                     fps: float | None, overwrite: bool, on_progress: Callable[[int], None] | None) -> str:
    """:func:`convert_to_pfnn`'s work, under the destination's lock."""
    from mtk.formats.destination import prepare

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
    _write(dest, X, Y, P, stats, document)
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
        "fps": sorted({r[3] for r in results}), "rate_unit": f"per 1/{REFERENCE_FPS:g} s",
        "window": {"seconds": WINDOW_S, "step_s": STEP_S, "input_samples_s": [k * STEP_S for k in INPUT_SAMPLES],
                   "output_samples_s": [k * STEP_S for k in OUTPUT_SAMPLES], "facing_sigma_s": FACING_SIGMA_S,
                   "edges": "cycles" if preset.cycles_only else preset.edges},
        "options": {"rotations": options.rotations, "terrain": options.terrain,
                    "phase_from": options.phase_from or "auto", "gait_from": options.gait_from or "auto",
                    "floor": preset.floor},
        "x_dim": columns.x_dim, "y_dim": columns.y_dim,
        "x_groups": groups(columns.x_groups), "y_groups": groups(columns.y_groups),
        "x_columns": columns.x_column_names(), "y_columns": columns.y_column_names(),
        "pooled_std": pooled, "clips": clips,
    }


def _write(dest, X: np.ndarray, Y: np.ndarray, P: np.ndarray, stats, document: dict) -> None:
    """Everything into the temporary sibling folder, then one rename."""
    partial = Path(dest.partial)
    partial.mkdir(parents=True)
    try:
        np.savez(partial / DATABASE, Xun=X, Yun=Y, Pun=P)  # deflate would save ~25 % at ~15x the time
        for name, vector in zip(STATS, (stats.x_mean, stats.x_std, stats.y_mean, stats.y_std), strict=True):
            np.save(partial / f"{name}.npy", vector, allow_pickle=False)
            vector.astype("<f4").tofile(partial / f"{name}.bin")
        (partial / "layout.json").write_text(json.dumps(document, indent=1))
        dest.commit()
    except BaseException:
        dest.discard()
        raise


# --- reading and inspecting ----------------------------------------------------------------------------


def detect(path: str) -> bool:
    """A .npz archive holding Xun, Yun and Pun (or a folder holding such a database.npz)."""
    p = Path(path)
    if p.is_dir():
        p = p / DATABASE
    if p.suffix != ".npz" or not p.is_file():
        return False
    try:
        with zipfile.ZipFile(p) as archive:
            names = set(archive.namelist())
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
    return all(f"{k}.npy" in names for k in KEYS)


def read_pfnn_database(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """X, Y, P and the layout.json beside the archive (None when absent), checked for shape and type."""
    p = Path(path)
    if p.is_dir():
        p = p / DATABASE
    try:
        with np.load(p, allow_pickle=False) as archive:
            X, Y, P = (archive[k] for k in KEYS)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise BadInputError(p, f"is not a readable PFNN database: {first_line(err)}") from None
    if X.ndim != 2 or Y.ndim != 2 or P.ndim != 1 or not len(X) == len(Y) == len(P):
        raise BadInputError(p, f"has Xun {X.shape}, Yun {Y.shape}, Pun {P.shape}",
                            "expected (N, X), (N, Y) and (N,)")
    if not all(np.issubdtype(a.dtype, np.floating) for a in (X, Y, P)):
        raise BadInputError(p, f"has dtypes {X.dtype}, {Y.dtype}, {P.dtype}; expected floats")
    layout_path = p.with_name("layout.json")
    document = _read_layout(layout_path, X.shape[1], Y.shape[1]) if layout_path.is_file() else None
    return X, Y, P, document


def _read_layout(path: Path, x_dim: int, y_dim: int) -> dict:
    """layout.json, with its column groups checked against the database's widths."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        for key, dim in (("x_groups", x_dim), ("y_groups", y_dim)):
            groups = document[key]
            if not all(isinstance(g["name"], str) and 0 <= int(g["start"]) < int(g["stop"]) <= dim for g in groups):
                raise ValueError(f"{key} do not fit {dim} columns")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BadInputError(path, f"is not a valid PFNN layout: {first_line(err)}",
                            "re-export the database or remove layout.json") from None
    return document


def _default_groups(x_dim: int, y_dim: int) -> tuple[list[dict], list[dict]]:
    """Column groups when no layout.json is beside the archive: PFNN's own 342 / 311, else whole blocks."""
    for preset in ("pfnn31", "smpl22", "kit21"):
        for rotations in ("logquat", "6d"):
            for terrain in ("zero", "none"):
                c = pfnn_columns(get_preset(preset).skeleton.joint_names, rotations, terrain)  # type: ignore
                if (c.x_dim, c.y_dim) == (x_dim, y_dim):
                    return ([{"name": g.name, "start": g.start, "stop": g.stop} for g in c.x_groups],
                            [{"name": g.name, "start": g.start, "stop": g.stop} for g in c.y_groups])
    return [{"name": "X", "start": 0, "stop": x_dim}], [{"name": "Y", "start": 0, "stop": y_dim}]


def inspect(path: str, layout: str | None = None, fps: float | None = None):
    """Rows, dims, column groups, phase histogram and per-group statistics of a PFNN database."""
    from mtk.toolkit.inspection import Report, block_stats

    X, Y, P, document = read_pfnn_database(path)
    report = Report(path=str(path), kind="pfnn", frames=int(len(X)), dim=int(X.shape[1]), dtype=str(X.dtype))
    if document:
        x_groups, y_groups = document["x_groups"], document["y_groups"]
        report.layout = f"pfnn/{document.get('skeleton')}"
        rates, clips, pooled = document.get("fps"), document.get("clips"), document.get("pooled_std")
        report.fps = rates[0] if isinstance(rates, list) and len(rates) == 1 else None
        report.details.update({
            "skeleton": document.get("skeleton"), "options": document.get("options"),
            "clips": len(clips) if isinstance(clips, list) else None,
            "pooled_std": {k: float(f"{v:.4g}") for k, v in pooled.items() if isinstance(v, int | float)}
            if isinstance(pooled, dict) else None})
    else:
        x_groups, y_groups = _default_groups(X.shape[1], Y.shape[1])
        report.add("info", "no_layout", "no layout.json beside the archive; column groups guessed from the widths")
    report.details.update({"rows": int(len(X)), "x_dim": int(X.shape[1]), "y_dim": int(Y.shape[1])})
    for prefix, data, groups in (("X", X, x_groups), ("Y", Y, y_groups)):
        for g in groups:
            start, stop = int(g["start"]), int(g["stop"])
            values = data[:, start:stop]
            report.blocks.append(block_stats(f"{prefix}.{g['name']}", start, stop, values))
            if len(values) and not np.isfinite(values).all():
                report.add("error", "non_finite", f"{prefix}.{g['name']} has NaN or Inf values")
    report.blocks.append(block_stats("P", 0, 1, P))
    histogram = np.histogram(P[np.isfinite(P)], bins=10, range=(0.0, 1.0))[0]
    report.details["phase_histogram (10 bins over [0, 1])"] = [int(n) for n in histogram]
    if len(P) and (not np.isfinite(P).all() or P.min() < 0 or P.max() > 1):
        report.add("error", "phase_range", "P has values outside [0, 1]")
    stats_dir = Path(path) if Path(path).is_dir() else Path(path).parent
    missing = [n for n in STATS if not (stats_dir / f"{n}.bin").is_file()]
    if missing:
        report.add("info", "no_stats", f"no {', '.join(m + '.bin' for m in missing)} beside the database")
    return report
