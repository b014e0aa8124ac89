"""``mtk convert`` targets between motions and features: BVH / joints -> features of any layout (``--to
<layout>``); features -> ``bvh``; and BVH -> joints (used by ``--to joints``).

``--fps`` is the *output* rate; inputs are resampled by time (slerp for rotations, linear for positions),
never by an integer stride. Feature outputs default to their layout's rate (30, 20, 12.5 fps). Joints
``.npy`` inputs carry no rate: they are taken to be at the output rate unless ``--source-fps`` gives theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtk.analysis.finite import COMPUTED_HINT, require_finite
from mtk.analysis.frame_rate import FILE, FrameRate, chosen_rate, warn_if_doubtful
from mtk.errors import BadInputError, MtkError
from mtk.features import family_of, get_layout
from mtk.formats.arrays import array_kind, load_features, load_motion, save_npy
from mtk.formats.bvh import bvh_joint_name, read_bvh, smpl22_motion, write_bvh
from mtk.io.atomic import refuse_existing
from mtk.maths.resample import resample_motion
from mtk.mocap.retarget import features_from_joints, map_skeleton, place_joints, warn_on_jumps
from mtk.schemas import SMPL22, Layout


def _is_bvh(path: str) -> bool:
    return str(path).lower().endswith(".bvh")


def bvh_joints(src: str, fps: float | None = None) -> tuple[np.ndarray, FrameRate]:
    """All joint positions (T, J, 3) of a BVH file at ``fps`` (default: the file's), and that rate with
    where it came from."""
    motion = read_bvh(src)
    rate = chosen_rate(fps, motion.fps, default_source=FILE)
    positions, _ = resample_motion(motion.positions(), None, motion.fps, rate.value)
    return positions, rate


@dataclass(frozen=True)
class TakeOptions:
    """How to read a take for features: a JSON joint map, the unit and up axis (None: detected for a BVH,
    metres and y up for joints), the source frames to keep (``trim``, ``START:END``) and the rate of a joints
    file (None: the output rate; a BVH's comes from its Frame Time)."""

    joint_map: str | None = None
    unit: str | None = None
    up: str | None = None
    trim: str | None = None
    source_fps: float | None = None

    @property
    def as_is(self) -> bool:
        """Nothing asks to map or place the take otherwise than it is."""
        return self.joint_map is None and self.unit is None and self.up is None

    def frames(self, count: int, src: str) -> slice:
        """The source frames ``trim`` keeps of ``count``; a one-line error when it keeps none."""
        if self.trim is None:
            return slice(0, count)
        start, sep, stop = self.trim.partition(":")
        try:
            span = slice(int(start) if start.strip() else None, int(stop) if stop.strip() else None)
        except ValueError:
            span = None
        if not sep or span is None:
            raise MtkError(None, f"--trim {self.trim!r} is no frame range", "write START:END, e.g. 0:2332 or 120:")
        kept = range(count)[span]
        if len(kept) == 0:
            raise MtkError(src, f"has {count} frames; --trim {self.trim} keeps none of them")
        return slice(kept.start, kept.stop)


def _from_bvh(src: str, spec: Layout, fps: float, reproduce_quirks: bool, take: TakeOptions) -> tuple[np.ndarray, str]:
    """Features of ``spec`` at ``fps`` from a BVH file: an SMPL-22 take's own joints and rotations (unless a
    map, unit or up axis is given), any other skeleton through a joint map onto SMPL-22."""
    if take.source_fps is not None:
        raise MtkError(src, "--source-fps gives the rate of a joints .npy", "a BVH's rate comes from its Frame Time")
    motion = read_bvh(src)
    kept = take.frames(motion.frames, src)
    origin = f"from {motion.fps:g} fps BVH" + (f" frames {kept.start}:{kept.stop}" if take.trim else "")
    family = family_of(spec)
    if take.as_is and spec.skeleton is SMPL22 and SMPL22.indices_in(motion.joint_names) is not None:
        rotations, positions = smpl22_motion(motion, src)
        positions, rotations = resample_motion(positions[kept], rotations[kept] if family.needs_rotations else None,
                                               motion.fps, fps)
        _require_frames(src, positions, fps, spec)
        return family.extract(positions, rotations, spec, reproduce_quirks=reproduce_quirks), origin
    mapped = map_skeleton(motion.positions()[kept], motion.joint_names, src, take.joint_map, take.unit, take.up)
    warn_on_jumps(mapped.joints, motion.fps, src, first_frame=kept.start)
    joints, _ = resample_motion(mapped.joints, None, motion.fps, fps)
    _require_frames(src, joints, fps, spec)
    features, how = features_from_joints(joints, spec, reproduce_quirks)
    return features, f"{origin}: {', '.join(mapped.notes)}; {how}"


def _from_joints(src: str, spec: Layout, fps: float, reproduce_quirks: bool, take: TakeOptions
                 ) -> tuple[np.ndarray, str]:
    """Features of ``spec`` from a joints .npy file (taken to be at ``fps``): (T, 22, 3) SMPL-22 joints for
    any layout, or joints on the layout's own skeleton (KIT's 21, in KIT units)."""
    if take.joint_map is not None:
        raise MtkError(src, "--joint-map maps the joints of a BVH file", "a joints .npy must hold SMPL-22 joints")
    array = load_motion(src)
    if array_kind(array, src) != "joints" or array.shape[1] not in (SMPL22.num_joints, spec.num_joints):
        own = f", {spec.skeleton.name} joints (T, {spec.num_joints}, 3)" if spec.skeleton is not SMPL22 else ""
        raise BadInputError(src, f"has shape {array.shape}; {spec.name} is made from SMPL-22 joints "
                            f"(T, {SMPL22.num_joints}, 3){own} or a BVH file")
    array = require_finite(array[take.frames(array.shape[0], src)].astype(np.float64), src,
                           "fix those frames, or keep others with --trim")
    rate = f" at {take.source_fps:g} fps (--source-fps)" if take.source_fps else ""
    if take.source_fps:
        array, _ = resample_motion(array, None, take.source_fps, fps)
    _require_frames(src, array, fps, spec)
    if array.shape[1] != SMPL22.num_joints:
        return family_of(spec).extract(array, None, spec, reproduce_quirks=reproduce_quirks), f"from joints{rate}"
    placed = place_joints(array, src, take.unit, take.up)
    warn_on_jumps(placed.joints, fps, src)
    features, how = features_from_joints(placed.joints, spec, reproduce_quirks)
    return features, f"from SMPL-22 joints{rate}: {', '.join(placed.notes)}; {how}"


def _require_frames(src: str, positions: np.ndarray, fps: float, spec: Layout) -> None:
    """Families made from joint positions need 3 frames (their rows are differences between frames)."""
    if not family_of(spec).needs_rotations and positions.shape[0] < 3:
        raise BadInputError(src, f"has {positions.shape[0]} frames at {fps:g} fps; at least 3 are needed")


def convert_to_features(src: str, dst: str, *, layout: str, fps: float | None = None, overwrite: bool = False,
                        fix_quirks: bool = False, joint_map: str | None = None, unit: str | None = None,
                        up: str | None = None, trim: str | None = None, source_fps: float | None = None) -> str:
    """A BVH take or a joints file -> ``layout`` features (T-1 rows for 263/251, T for 272).

    An SMPL-22 BVH gives its own joints (and, for 272, its SMPL rotations, exactly). Any other BVH skeleton
    is mapped onto SMPL-22 (a built-in map found from its joint names, or the JSON ``joint_map``), put in
    metres and y up (``unit`` and ``up`` detected unless given), retargeted onto SMPL-22's bone lengths; 272
    then takes rotations solved by inverse kinematics. (T, 22, 3) joints .npy (metres, y up unless ``unit``,
    ``up`` say otherwise; at ``source_fps``, else at the output rate) make every layout; (T, 21, 3) KIT joints
    make 251. ``trim`` (``START:END``) keeps those source frames; ``fix_quirks`` fixes the released HumanML3D
    generator's quirks.
    """
    spec = get_layout(layout)
    family = family_of(spec)
    refuse_existing(dst, overwrite, sources=[src])
    rate = chosen_rate(fps, spec.fps)
    take = TakeOptions(joint_map, unit, up, trim, source_fps)
    make = _from_bvh if _is_bvh(src) else _from_joints
    features, origin = make(src, spec, rate.value, not fix_quirks, take)
    save_npy(dst, require_finite(features.astype(spec.dtype_on_disk), src, COMPUTED_HINT))
    quirks = ("; quirks fixed" if fix_quirks else "; released-data quirks kept") if family.has_quirks else ""
    return f"wrote {dst}: {features.shape[0]} rows x {spec.dim} ({spec.name}, {rate}, {origin}{quirks})"


def convert_to_bvh(src: str, dst: str, *, layout: str | None = None, fps: float | None = None,
                   overwrite: bool = False) -> str:
    """Features -> BVH: exact stored rotations where the family has them (272); otherwise (263/251) through
    the swing rotations (an approximation: joint positions are reproduced, limb twist is not)."""
    refuse_existing(dst, overwrite, sources=[src])
    feature_file = load_features(src, layout)
    spec = feature_file.layout
    family = family_of(spec)
    features = feature_file.features.astype(np.float64)
    pose = family.pose(features, spec)
    require_finite(pose.local_rotations, src, COMPUTED_HINT)
    require_finite(pose.root_positions, src, COMPUTED_HINT)
    rate = chosen_rate(fps, spec.fps)
    warn_if_doubtful(features, spec, rate)
    out_fps = rate.value
    names = [bvh_joint_name(n) for n in spec.skeleton.joint_names]
    write_bvh(dst, names, spec.skeleton.parents, pose.offsets, pose.local_rotations, pose.root_positions, out_fps)
    how = "exact SMPL rotations" if family.exact_pose else "swing rotations, an approximation without limb twist"
    return f"wrote {dst}: {features.shape[0]} frames, {spec.num_joints} joints at {rate} ({spec.name}, {how})"
