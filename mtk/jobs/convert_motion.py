"""``mtk convert`` targets between motions and features: BVH / joints -> features of any layout (``--to
<layout>``); features -> ``bvh``; and BVH -> joints (used by ``--to joints``).

``--fps`` is the *output* rate; inputs are resampled by time (slerp for rotations, linear for positions),
never by an integer stride. Feature outputs default to their layout's rate (30, 20, 12.5 fps). Joints
``.npy`` inputs carry no rate and are taken to be at the output rate already.
"""

from __future__ import annotations

import numpy as np

from mtk.analysis.finite import COMPUTED_HINT, require_finite
from mtk.analysis.frame_rate import FILE, FrameRate, chosen_rate, warn_if_doubtful
from mtk.errors import BadInputError, MtkError
from mtk.features import family_of, get_layout
from mtk.formats.arrays import array_kind, load_features, load_motion, save_npy
from mtk.formats.bvh import bvh_joint_name, read_bvh, smpl22_motion, write_bvh
from mtk.io.atomic import refuse_existing
from mtk.maths.resample import resample_motion
from mtk.schemas import Layout


def _is_bvh(path: str) -> bool:
    return str(path).lower().endswith(".bvh")


def bvh_joints(src: str, fps: float | None = None) -> tuple[np.ndarray, FrameRate]:
    """All joint positions (T, J, 3) of a BVH file at ``fps`` (default: the file's), and that rate with
    where it came from."""
    motion = read_bvh(src)
    rate = chosen_rate(fps, motion.fps, default_source=FILE)
    positions, _ = resample_motion(motion.positions(), None, motion.fps, rate.value)
    return positions, rate


def _source_joints(src: str, layout: Layout, fps: float) -> tuple[np.ndarray, str]:
    """(T, J, 3) joints for a 263/251 extraction from a BVH (SMPL-22) or a joints .npy file."""
    if _is_bvh(src):
        if layout.num_joints != 22:
            raise MtkError(src, f"BVH input makes SMPL-22 features; {layout.name} needs {layout.num_joints} joints",
                           "convert the BVH --to joints and map it to the KIT skeleton first")
        motion = read_bvh(src)
        _, positions = smpl22_motion(motion, src)
        positions, _ = resample_motion(positions, None, motion.fps, fps)
        return positions, f"{motion.fps:g} fps BVH"
    array = load_motion(src)
    if array_kind(array, src) != "joints" or array.shape[1] != layout.num_joints:
        raise BadInputError(src, f"has shape {array.shape}; {layout.name} is made from joints "
                            f"(T, {layout.num_joints}, 3) or an SMPL-22 BVH file")
    return array.astype(np.float64), "joints"


def convert_to_features(src: str, dst: str, *, layout: str, fps: float | None = None, overwrite: bool = False,
                        fix_quirks: bool = False) -> str:
    """A BVH take (or, for families made from joint positions, a joints file) -> ``layout`` features.

    263/251 (T-1 rows) come from SMPL-22 BVH or (T, 22, 3) joints, or (T, 21, 3) KIT joints (KIT units; no
    retargeting: no target lengths); ``fix_quirks`` fixes the released generator's quirks. 272 (T rows,
    float64, facing +z, floor and frame-0 root at the origin) comes from an SMPL-22 BVH's rotations.
    """
    spec = get_layout(layout)
    family = family_of(spec)
    refuse_existing(dst, overwrite, sources=[src])
    rate = chosen_rate(fps, spec.fps)
    out_fps = rate.value
    rotations = None
    if family.needs_rotations:
        if not _is_bvh(src):
            raise MtkError(src, f"{spec.name} features are made from SMPL rotations, which only BVH input carries "
                           "here", "give an SMPL-22 .bvh file")
        motion = read_bvh(src)
        rotations, positions = smpl22_motion(motion, src)
        positions, rotations = resample_motion(positions, rotations, motion.fps, out_fps)
        origin = f"{motion.fps:g} fps BVH"
    else:
        positions, origin = _source_joints(src, spec, out_fps)
        if positions.shape[0] < 3:
            raise BadInputError(src, f"has {positions.shape[0]} frames at {out_fps:g} fps; at least 3 are needed")
    features = family.extract(positions, rotations, spec, reproduce_quirks=not fix_quirks)
    save_npy(dst, require_finite(features.astype(spec.dtype_on_disk), src, COMPUTED_HINT))
    quirks = ("; quirks fixed" if fix_quirks else "; released-data quirks kept") if family.has_quirks else ""
    return (f"wrote {dst}: {features.shape[0]} rows x {spec.dim} ({spec.name}, {rate}, "
            f"from {origin}{quirks})")


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
