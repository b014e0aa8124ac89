"""``mtk convert`` targets between motions and features: BVH / joints -> ``smpl272``, ``hml263``, ``kit251``;
features -> ``bvh``; and BVH -> joints (used by ``--to joints``).

``--fps`` is the *output* rate; inputs are resampled by time (slerp for rotations, linear for positions),
never by an integer stride. Feature outputs default to their layout's rate (30, 20, 12.5 fps). Joints
``.npy`` inputs carry no rate and are taken to be at the output rate already.
"""

from __future__ import annotations

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.formats.arrays import array_kind, load_features, load_npy, save_npy
from mtk.io.atomic import refuse_existing
from mtk.formats.bvh import bvh_joint_name, read_bvh, smpl22_motion, write_bvh
from mtk.schemas import Layout, get_layout
from mtk.toolkit.resample import resample_motion


def _is_bvh(path: str) -> bool:
    return str(path).lower().endswith(".bvh")


def bvh_joints(src: str, fps: float | None = None) -> tuple[np.ndarray, float]:
    """All joint positions (T, J, 3) of a BVH file at ``fps`` (default: the file's), and that rate."""
    motion = read_bvh(src)
    out_fps = fps or motion.fps
    positions, _ = resample_motion(motion.positions(), None, motion.fps, out_fps)
    return positions, out_fps


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
    array = load_npy(src)
    if array_kind(array, src) != "joints" or array.shape[1] != layout.num_joints:
        raise BadInputError(src, f"has shape {array.shape}; {layout.name} is made from joints "
                            f"(T, {layout.num_joints}, 3) or an SMPL-22 BVH file")
    return array.astype(np.float64), "joints"


def _extract_263_file(src: str, dst: str, layout_name: str, fps: float | None, overwrite: bool,
                      fix_quirks: bool) -> str:
    from mtk.toolkit.extract import extract_263

    refuse_existing(dst, overwrite)
    layout = get_layout(layout_name)
    out_fps = fps or layout.fps
    joints, origin = _source_joints(src, layout, out_fps)
    if joints.shape[0] < 3:
        raise BadInputError(src, f"has {joints.shape[0]} frames at {out_fps:g} fps; at least 3 are needed")
    features = extract_263(joints, layout, reproduce_quirks=not fix_quirks)
    save_npy(dst, features.astype(layout.dtype_on_disk))
    quirks = "quirks fixed" if fix_quirks else "released-data quirks kept"
    return f"wrote {dst}: {features.shape[0]} rows x {layout.dim} ({layout.name}, {out_fps:g} fps, from {origin}; {quirks})"


def convert_to_hml263(src: str, dst: str, fps: float | None = None, overwrite: bool = False,
                      fix_quirks: bool = False, **_: object) -> str:
    """SMPL-22 BVH or (T, 22, 3) joints -> HumanML3D 263 features (T-1 rows)."""
    return _extract_263_file(src, dst, "hml263", fps, overwrite, fix_quirks)


def convert_to_kit251(src: str, dst: str, fps: float | None = None, overwrite: bool = False,
                      fix_quirks: bool = False, **_: object) -> str:
    """(T, 21, 3) KIT joints (KIT units) -> KIT-ML 251 features (T-1 rows); no retargeting (no target lengths)."""
    return _extract_263_file(src, dst, "kit251", fps, overwrite, fix_quirks)


def convert_to_smpl272(src: str, dst: str, fps: float | None = None, overwrite: bool = False, **_: object) -> str:
    """SMPL-22 BVH -> 272 features (T rows, float64), facing +z, floor and frame-0 root at the origin."""
    from mtk.toolkit.extract import extract_272

    refuse_existing(dst, overwrite)
    if not _is_bvh(src):
        raise MtkError(src, "smpl272 features are made from SMPL rotations, which only BVH input carries here",
                       "give an SMPL-22 .bvh file")
    layout = get_layout("smpl272")
    motion = read_bvh(src)
    rotations, positions = smpl22_motion(motion, src)
    out_fps = fps or layout.fps
    positions, rotations = resample_motion(positions, rotations, motion.fps, out_fps)
    features = extract_272(rotations, positions, layout)
    save_npy(dst, features.astype(layout.dtype_on_disk))
    return f"wrote {dst}: {features.shape[0]} rows x 272 (smpl272, {out_fps:g} fps, from {motion.fps:g} fps BVH)"


def convert_to_bvh(src: str, dst: str, layout: str | None = None, fps: float | None = None,
                   overwrite: bool = False, **_: object) -> str:
    """Features -> BVH: smpl272 with its exact SMPL rotations; hml263/kit251 through the swing rotations
    (an approximation: joint positions are reproduced, limb twist is not)."""
    from mtk.toolkit.pose import pose_from_263, pose_from_272

    refuse_existing(dst, overwrite)
    feature_file = load_features(src, layout)
    spec = feature_file.layout
    features = feature_file.features.astype(np.float64)
    exact = spec.sixd == "rows"
    pose = pose_from_272(features, spec) if exact else pose_from_263(features, spec)
    out_fps = fps or spec.fps
    names = [bvh_joint_name(n) for n in spec.skeleton.joint_names]
    write_bvh(dst, names, spec.skeleton.parents, pose.offsets, pose.local_rotations, pose.root_positions, out_fps)
    how = "exact SMPL rotations" if exact else "swing rotations, an approximation without limb twist"
    return f"wrote {dst}: {features.shape[0]} frames, {spec.num_joints} joints at {out_fps:g} fps ({spec.name}, {how})"
