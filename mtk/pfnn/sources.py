"""PFNN export sources: PFNN's side files (``.phase``, ``.gait``, ``_footsteps.txt``) and one adapter per input
kind (a BVH take, a feature file, a joints file, a dataset) that turns a motion into a :class:`Source`.
See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.features import family_of, skeleton_for_joints
from mtk.io.small_text import read_small_text
from mtk.analysis.length import require_frames
from mtk.pfnn import gait as labels_of
from mtk.pfnn.gait import FrameLabels, TextLabels
from mtk.pfnn.rows import PfnnMotion, facing_directions, preset_contacts
from mtk.pfnn.schema import (
    FACING_SIGMA_S,
    GAIT_FILE_COLUMNS,
    GAIT_MERGE,
    PRESETS,
    STRIKE_SPEED_M_S,
    PfnnPreset,
    get_preset,
)
from mtk.pfnn.selection import Selection
from mtk.schemas import SMPL22, one_of

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
    lines = [line.split() for line in read_small_text(path).splitlines()]
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
    from mtk.pfnn.phase import phase_from_footsteps

    steps = [(int(w[0]) - 1, int(w[1 if len(w) > 1 else 0]) - 1) for w in _footstep_lines(path) if w]
    return phase_from_footsteps(steps, frames)


def find_siblings(bvh: str | Path) -> dict[str, Path]:
    """The side files of a BVH take that exist: ``phase``, ``gait``, ``footsteps``."""
    bvh = Path(bvh)
    stem = bvh.with_suffix("")
    found = {role: Path(f"{stem}{suffix}") for role, suffix in SIBLINGS.items()}
    return {role: path for role, path in found.items() if path.is_file()}


# --- options and sources -------------------------------------------------------------------------------


#: where gait weights come from (``--gait``)
GAIT_MODES = ("motion", "text", "both", "file", "speed")


@dataclass
class ExportOptions:
    """What ``--to pfnn`` was asked for."""

    skeleton: str | None = None
    rotations: str = "logquat"
    terrain: str = "zero"
    #: None: a BVH's .phase or _footsteps.txt sibling, else contacts; ``contacts``; or a .phase file / folder
    phase_from: str | None = None
    #: a .gait file / folder of <name>.gait for ``--gait file``; ``speed`` is the same as ``--gait speed``
    gait_from: str | None = None
    #: :data:`GAIT_MODES`; None: ``file`` when there is a .gait file (``gait_from`` or a BVH's sibling), else
    #: ``both`` (the motion's labels, settled by its texts where it has texts)
    gait: str | None = None
    selection: Selection = field(default_factory=Selection)

    def __post_init__(self) -> None:
        if self.gait is not None and self.gait not in GAIT_MODES:
            raise MtkError(None, f"unknown gait source {self.gait!r}", f"use --gait {', '.join(GAIT_MODES)}")
        if self.gait_from == "speed" and self.gait not in (None, "speed"):
            raise MtkError(None, f"--gait-from speed contradicts --gait {self.gait}", "give one of them")
        if self.gait_from not in (None, "speed") and self.gait not in (None, "file"):
            raise MtkError(None, f"--gait-from FILE is for --gait file, not --gait {self.gait}", "give one of them")

    def gait_mode(self, has_sibling: bool) -> str:
        """The gait source for a motion (``has_sibling``: a BVH with a .gait file beside it)."""
        if self.gait is not None:
            return self.gait
        if self.gait_from == "speed":
            return "speed"
        return "file" if self.gait_from is not None or has_sibling else "both"


@dataclass
class Source:
    """One motion to export: its arrays, where its phase/gait/cycles came from, its frames' labels and what
    its texts say."""

    name: str
    motion: PfnnMotion
    preset: str
    used: dict[str, str]
    labels: FrameLabels
    text: TextLabels
    #: the kinds of label its texts and its motion disagree on (:func:`mtk.pfnn.gait.combine`)
    disagreements: list[str]
    has_texts: bool


def _side_file(spec: str, name: str, suffix: str) -> Path:
    path = Path(spec)
    if path.is_dir():
        path = path / f"{name}{suffix}"
    if not path.is_file():
        raise MtkError(path, "no such file", f"--phase-from/--gait-from take 'contacts'/'speed', a {suffix} file "
                       f"or a folder of <name>{suffix} files")
    return path


def _subsampled(path: Path, values: np.ndarray, frames: int, step: int) -> np.ndarray:
    values = values[::step]
    if len(values) < frames:
        raise BadInputError(path, f"has {len(values) * step} frames, the motion has {frames * step}")
    return values[:frames]


def _file_phase(name: str, frames: int, step: int, options: ExportOptions, siblings: dict[str, Path],
                used: dict[str, str]) -> np.ndarray | None:
    """Phase from a file (explicit, a .phase sibling, else a _footsteps.txt sibling); None means contacts."""
    spec = options.phase_from
    if spec == "contacts" or (spec is None and not {"phase", "footsteps"} & set(siblings)):
        used["phase"] = "contacts"
        return None
    path = _side_file(spec, name, SIBLINGS["phase"]) if spec else siblings.get("phase") or siblings["footsteps"]
    values = read_phase(path) if path.suffix == ".phase" else read_footstep_phase(path, frames * step)
    used["phase"] = path.name
    return _subsampled(path, values, frames, step)


def _contact_phase(motion: PfnnMotion, preset: PfnnPreset) -> np.ndarray:
    """Phase from heel strikes: each heel's speed falling below :data:`STRIKE_SPEED_M_S`."""
    from mtk.features.hml import foot_contacts
    from mtk.pfnn.phase import phase_from_contacts

    step = STRIKE_SPEED_M_S / preset.metres_per_unit / motion.fps
    heels = (preset.role("heel_left"), preset.role("heel_right"))
    slow = foot_contacts(motion.positions, heels, step**2) > 0.5
    slow = np.concatenate([slow, slow[-1:]], 0) if len(slow) else np.zeros((1, 2), bool)
    return phase_from_contacts(slow[:, 0], slow[:, 1], motion.fps)[0]


def _finish(name: str, motion: PfnnMotion, preset: PfnnPreset, options: ExportOptions,
            siblings: dict[str, Path], step: int, used: dict[str, str], texts: list[str] | None = None) -> Source:
    """Phase, labels and gait weights of ``motion``: the frames' labels always come from the motion (the
    selection reads them), the gait weights from the source ``--gait`` names."""
    motion.phase = _file_phase(name, motion.frames, step, options, siblings, used)
    if motion.phase is None:
        motion.phase = _contact_phase(motion, preset)
    texts = list(texts or [])
    forward = facing_directions(motion.positions, preset.facing_joints, FACING_SIGMA_S * motion.fps)
    contacts = preset_contacts(motion.positions, preset, motion.fps)
    labels = labels_of.motion_labels(labels_of.measure(motion.positions, preset, motion.fps, forward, contacts),
                                     motion.fps)
    text = labels_of.text_labels(texts)
    source = Source(name, motion, preset.name, used, labels, text, [], bool(texts))
    mode = options.gait_mode("gait" in siblings)
    if mode == "file":
        if options.gait_from is None and "gait" not in siblings:
            raise MtkError(None, "--gait file needs a .gait file", "pass --gait-from FILE or a folder of <name>.gait")
        path = siblings["gait"] if options.gait_from is None else _side_file(options.gait_from, name, SIBLINGS["gait"])
        motion.gait = _subsampled(path, read_gait(path), motion.frames, step)
        used["gait"] = path.name
        return source
    if mode == "speed":
        used["gait"] = "speed"  # gait.gait_from_speed: the root speed alone, the export's earlier rule
        return source
    gait, used["gait"] = labels.gait, "motion"
    if mode == "text":
        from_text = labels_of.text_gait(text, motion.frames)
        gait, used["gait"] = (from_text, "text") if from_text is not None else (gait, "motion (no gait word)")
    elif mode == "both" and texts:
        combined = labels_of.combine(labels, text, motion.fps)
        source.labels, source.disagreements = combined.labels, combined.disagreements
        gait, used["gait"] = combined.labels.gait, "motion+text"
    motion.gait = labels_of.smooth_gait(gait, motion.fps)
    return source


def _resolve_preset(requested: str | None, detected: str, path: str | Path) -> PfnnPreset:
    name = requested or detected
    try:
        preset = get_preset(name)
    except KeyError as err:
        raise MtkError(None, str(err.args[0]), f"use --skeleton {one_of(list(PRESETS))}") from None
    if requested and requested != detected:
        raise BadInputError(path, f"holds a {detected} skeleton, not {requested}", f"use --skeleton {detected}")
    return preset


def _bvh_skeleton(names: list[str]) -> tuple[str, list[int]]:
    """The preset a BVH's joints map onto, and the BVH index of each preset joint (matched by name)."""
    skeleton = skeleton_for_joints(names)
    if skeleton is not None and skeleton.name in PRESETS and PRESETS[skeleton.name].bvh:
        return skeleton.name, skeleton.indices_in(names)  # type: ignore[return-value]
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
    if preset.skeleton is SMPL22 and np.median(np.linalg.norm(probe.offsets, axis=-1)) > 2.0:
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
    f = np.asarray(features, dtype=np.float64)
    family = family_of(layout)
    joints = family.recover_joints(f, layout)
    rotations = contacts = None
    if family.stores_rotations:
        from mtk.maths.kinematics import forward_kinematics

        local = family.local_rotations(f, layout)
        offsets = np.zeros((layout.num_joints, 3))
        rotations = forward_kinematics(local.rotations, local.translation, offsets, layout.skeleton.parents)[1]
    preset = layout.skeleton.name
    # stored contacts are used when their joints are the preset's heel L, toe L, heel R, toe R (263: yes;
    # 251: its code calls MMM's right foot "left", so they are recomputed from the joints)
    if layout.has_contacts and layout.block("foot_contacts").joints == get_preset(preset).contact_joints:
        contacts = f[:-1, layout.block("foot_contacts").slice] > 0.5
    return PfnnMotion(joints, rotations, fps, contacts=contacts), preset


def source_from_features(name: str, features: np.ndarray, layout, fps: float, options: ExportOptions,
                         path: str | Path, texts: list[str] | None = None) -> Source:
    require_frames(len(features), f"{path}: motion {name}")
    motion, detected = _motion_from_features(features, layout, fps)
    preset = _resolve_preset(options.skeleton, detected, path)
    used = {"rotations": "SMPL (272)" if motion.rotations is not None else "swing from joint positions",
            "contacts": "stored" if motion.contacts is not None else "foot speed"}
    return _finish(name, motion, preset, options, {}, 1, used, texts)


def source_from_joints(name: str, joints: np.ndarray, fps: float, options: ExportOptions,
                       path: str | Path) -> Source:
    skeleton = skeleton_for_joints(int(joints.shape[1]))
    detected = skeleton.name if skeleton is not None and skeleton.name in PRESETS else None
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
        from mtk.formats.arrays import array_kind, load_motion, resolve_layout

        array = load_motion(src)
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
                          fps or reader.info.fps, options, src, list(motion.texts))
    finally:
        reader.close()
