"""Every figure docs/motion.md gives for motion capture in and mirroring, measured on the real files.

    MTK_TEST_DATA=../shared/data python benchmarks/mocap_accuracy.py

* the PFNN take (31 CMU joints, 120 fps) -> 263 and 272: recovery error against the joints the features were
  made from, path length and root height against the take's (rescaled to SMPL-22's legs), contacts, floor,
  heading; how far the IK posed joints are from the retargeted ones, and how much it adds to foot sliding;
* the inverse kinematics on motion made on SMPL-22's rest pose (the captured SMPL rotations of the 272
  sample), on the 272 sample's SMPL-X joints and on HumanML3D's joints: residuals and rotation errors;
* mirroring: round trips, mirrored features against features of the mirrored motion, and against what the
  272 pipeline (mirrored SMPL-X parameters) and HumanML3D (mirrored joints retargeted again) make;
* the IK's speed.
Prints a report; writes nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mtk.features import family_of, get_layout, recover_joints, recover_local_rotations
from mtk.features.hml import (branch_flips, canonical_positions, extract_263, foot_contacts, leg_scale,
                              uniform_skeleton)
from mtk.features.mirror import REFLECTION, mirror_joints, mirror_rotations
from mtk.features.smpl272 import extract_272, yaw_of
from mtk.formats.bvh import read_bvh
from mtk.maths import rotations as rot
from mtk.maths.fitting import fit_offsets
from mtk.maths.kinematics import forward_kinematics
from mtk.maths.resample import resample_motion
from mtk.mocap.ik import solve_rotations
from mtk.mocap.retarget import features_from_joints, map_skeleton, solve_smpl
from mtk.schemas import SMPL22

DATA = Path(os.environ.get("MTK_TEST_DATA", "../shared/data"))
FEET = list(SMPL22.roles["feet_left"] + SMPL22.roles["feet_right"])
GROUPS = {
    "legs": [1, 2, 4, 5, 7, 8, 10, 11], "spine, neck, head": [3, 6, 9, 12, 15],
    "collars, shoulders": [13, 14, 16, 17], "elbows, wrists": [18, 19, 20, 21],
}


def mirror_features(features: np.ndarray, layout) -> np.ndarray:
    return family_of(layout).mirror(features, layout)


def mm(x: float) -> str:
    return f"{x * 1000:.1f} mm"


def path_and_height(root: np.ndarray) -> tuple[float, float]:
    return float(np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=1).sum()), float(np.median(root[:, 1]))


def as_272_places(positions: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """``positions`` turned and shifted as :func:`extract_272` places the motion (frame-0 pelvis facing +z,
    floor and frame-0 root at the origin): what 272 recovery gives back."""
    turn = rot.rotation_y(-yaw_of(rotations[0, 0]))
    placed = positions @ turn.T
    return placed - np.array([placed[0, 0, 0], placed[..., 1].min(), placed[0, 0, 2]])


def pfnn_take() -> None:
    take = read_bvh(DATA / "pfnn/animations/LocomotionFlat04_000.bvh")
    print(f"PFNN take: {take.frames} frames at {take.fps:g} fps, {take.num_joints} joints")
    for label, frames in (("whole take", slice(None)), ("frames 0:2332 (without the collapsed tail)", slice(0, 2332))):
        mapped = map_skeleton(take.positions()[frames], take.joint_names, "take")
        print(f"  {label}: {', '.join(mapped.notes)}")
        scale = leg_scale(mapped.joints, SMPL22)
        for name in ("hml263", "smpl272"):
            layout = get_layout(name)
            joints, _ = resample_motion(mapped.joints, None, take.fps, layout.fps)
            source = joints - np.array([0.0, joints[..., 1].min(), 0.0])
            path, height = path_and_height(source[:, 0] * scale)
            for quirks in ((True, False) if layout.family == "hml" else (True,)):
                features, _ = features_from_joints(joints, layout, reproduce_quirks=quirks)
                recovered = recover_joints(features.astype(np.float64), layout)
                got_path, got_height = path_and_height(recovered[:, 0])
                line = (f"    {name}{'' if layout.family != 'hml' else (' quirks kept' if quirks else ' quirks fixed')}:"
                        f" path {got_path:.3f} / {path:.3f} m = {got_path / path:.4f}, root height"
                        f" {got_height:.3f} / {height:.3f} m = {got_height / height:.4f}, floor {recovered[..., 1].min():.1e}")
                if layout.family == "hml":
                    made_from, _ = canonical_positions(joints, SMPL22, reproduce_quirks=quirks)
                    flips = branch_flips(joints, SMPL22) if quirks else np.array([], dtype=int)
                    until = int(flips[0]) + 1 if len(flips) else len(features)
                    error = np.abs(recovered[:until] - made_from[:until]).max()
                    contacts = foot_contacts(made_from, layout.block("foot_contacts").joints, layout.contact_threshold)
                    agree = (features[:, layout.block("foot_contacts").slice] == contacts).mean()
                    line += (f"; recovery {error:.1e} m over rows 0:{until}"
                             + (f" (P4 at {len(flips)} rows, then {np.abs(recovered - made_from[:-1]).max():.3f} m)"
                                if len(flips) else "") + f"; contacts as the rule {agree:.0%}")
                else:
                    solved = solve_smpl(joints)
                    placed = as_272_places(solved.positions, solved.rotations)
                    yaw = yaw_of(recover_local_rotations(features, layout).rotations[0, 0])
                    line += f"; recovery {np.abs(recovered - placed).max():.1e} m; frame-0 yaw {yaw:.1e} rad"
                print(line)
        joints, _ = resample_motion(mapped.joints, None, take.fps, 30.0)
        ik_report("    IK (30 fps)", joints)


def ik_report(label: str, joints: np.ndarray) -> None:
    solved = solve_smpl(joints)
    retargeted = uniform_skeleton(joints, SMPL22)
    groups = ", ".join(f"{k} {mm(solved.residual[:, v].mean())}" for k, v in GROUPS.items())
    still = np.linalg.norm(np.diff(retargeted[:, FEET], axis=0), axis=-1) < 0.003
    slide = np.linalg.norm(np.diff(solved.positions[:, FEET], axis=0), axis=-1)[still].mean()
    source_slide = np.linalg.norm(np.diff(retargeted[:, FEET], axis=0), axis=-1)[still].mean()
    print(f"{label}: posed joints from the retargeted ones: mean {mm(solved.residual.mean())}, max "
          f"{mm(solved.residual.max())} ({groups}); feet max {mm(solved.residual[:, FEET].max())}; planted feet "
          f"move {mm(slide)}/frame (retargeted: {mm(source_slide)}/frame)")


def inverse_kinematics() -> None:
    params = np.load(DATA / "smpl272/smpl85/000000.npy").astype(np.float64)
    captured = rot.axis_angle_to_matrix(params[:, :66].reshape(-1, 22, 3))
    smplx = np.load(DATA / "smpl272/joints/000000.npy")[:, :22].astype(np.float64)
    on_rest, _ = forward_kinematics(captured, params[:, 69:72], SMPL22.rest_offsets(), SMPL22.parents)
    print("Inverse kinematics")
    for label, positions in (("  captured SMPL rotations posed on SMPL-22's rest pose", on_rest),
                             ("  the 272 sample's SMPL-X joints", uniform_skeleton(smplx, SMPL22))):
        solved = solve_rotations(positions, SMPL22)
        error = np.degrees(np.median(rot.geodesic_angle(solved.rotations, captured), axis=0))
        groups = ", ".join(f"{k} {error[v].mean():.1f}" for k, v in GROUPS.items())
        print(f"{label}: residual max {solved.residual.max():.1e} m; median rotation error against the captured "
              f"(degrees): pelvis {error[0]:.1f}, {groups}; head {error[15]:.1f}, wrists {error[20:].mean():.1f}, "
              f"toes {error[10:12].mean():.1f}")
    ik_report("  the 272 sample's SMPL-X joints", smplx)
    ik_report("  HumanML3D 012314", np.load(DATA / "humanml3d/new_joints/012314.npy").astype(np.float64))
    frames = np.concatenate([on_rest] * 8)
    started = time.perf_counter()
    solve_rotations(frames, SMPL22)
    print(f"  speed: {len(frames) / (time.perf_counter() - started):,.0f} frames/s ({len(frames)} frames)")


def mirroring() -> None:
    print("Mirroring")
    hml = get_layout("hml263")
    features = np.load(DATA / "humanml3d/new_joint_vecs/012314.npy")
    print(f"  263 twice: bit-identical {np.array_equal(mirror_features(mirror_features(features, hml), hml), features)}")
    joints = np.load(DATA / "humanml3d/new_joints/012314.npy").astype(np.float64)
    for quirks in (True, False):
        made = extract_263(joints, hml, reproduce_quirks=quirks, retarget=False)
        of_mirrored = extract_263(mirror_joints(joints, SMPL22), hml, reproduce_quirks=quirks, retarget=False)
        print(f"  263 (quirks {'kept' if quirks else 'fixed'}): mirrored features vs features of the mirrored joints: "
              f"max {np.abs(mirror_features(made, hml) - of_mirrored).max():.1e}")
    made = extract_263(joints, hml).astype(np.float64)
    ours = recover_joints(mirror_features(made, hml), hml)
    theirs = recover_joints(extract_263(mirror_joints(joints, SMPL22), hml).astype(np.float64), hml)
    relative = np.linalg.norm((ours - ours[:, :1]) - (theirs - theirs[:, :1]), axis=-1)
    print(f"  263 against HumanML3D's way (mirror the joints, retarget again): root-relative joints differ by mean "
          f"{mm(relative.mean())}, max {mm(relative.max())}")
    layout = get_layout("smpl272")
    params = np.load(DATA / "smpl272/smpl85/000000.npy").astype(np.float64)
    rotations = rot.axis_angle_to_matrix(params[:, :66].reshape(-1, 22, 3))
    smplx = np.load(DATA / "smpl272/joints/000000.npy")[:, :22].astype(np.float64)
    made = extract_272(rotations, smplx, layout)
    of_mirrored = extract_272(mirror_rotations(rotations, SMPL22), mirror_joints(smplx, SMPL22), layout)
    print(f"  272: twice bit-identical {np.array_equal(mirror_features(mirror_features(made, layout), layout), made)}; "
          f"mirrored features vs features of the mirrored rotations and joints: max "
          f"{np.abs(mirror_features(made, layout) - of_mirrored).max():.1e}")
    _, global_rotations = forward_kinematics(rotations, smplx[:, 0], np.zeros((22, 3)), SMPL22.parents)
    body = fit_offsets(smplx, global_rotations, SMPL22.parents)
    twin = body[SMPL22.mirror_permutation()] * REFLECTION
    pipeline, _ = forward_kinematics(mirror_rotations(rotations, SMPL22), smplx[:, 0] * REFLECTION, body,
                                     SMPL22.parents)
    theirs = extract_272(mirror_rotations(rotations, SMPL22), pipeline, layout)
    ours = mirror_features(made, layout)
    positions = layout.block("local_positions").slice
    gap = np.linalg.norm((theirs[:, positions] - ours[:, positions]).reshape(len(ours), -1, 3), axis=-1)
    print(f"  272 against the pipeline's way (the body model on mirrored parameters): this body's joints differ "
          f"from their mirror twins by up to {mm(np.linalg.norm(body - twin, axis=1).max())}; rotations and root "
          f"identical (max {np.abs(theirs[:, 140:] - ours[:, 140:]).max():.0e}, {np.abs(theirs[:, :8] - ours[:, :8]).max():.0e}); "
          f"local positions differ by mean {mm(gap.mean())}, max {mm(gap.max())}")


if __name__ == "__main__":
    pfnn_take()
    inverse_kinematics()
    mirroring()
