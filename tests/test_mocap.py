"""Your own mocap in: skeleton maps, unit and up axis, retargeting, inverse kinematics, features from any BVH
and from joints alone, measured against the real files in MTK_TEST_DATA (the CLI runs in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.errors import BadInputError
from mtk.formats.bvh import read_bvh, write_bvh
from mtk.mocap.ik import solve_rotations
from mtk.mocap.maps import BUILTIN_MAPS, builtin_map, find_map, load_joint_map
from mtk.mocap.placement import UP_AXES, UNITS, placement
from mtk.mocap.retarget import map_skeleton, solve_smpl
from mtk.features import get_layout, recover_joints, recover_local_rotations
from mtk.features.hml import branch_flips, canonical_positions, foot_contacts, leg_scale, uniform_skeleton
from mtk.features.smpl272 import yaw_of
from mtk.maths.kinematics import forward_kinematics
from mtk.maths.resample import resample_motion
from mtk.maths.rotations import axis_angle_to_matrix, geodesic_angle
from mtk.schemas import SMPL22

TAKE = "pfnn/animations/LocomotionFlat04_000.bvh"
#: the take ends with 96 frames of a collapsed pose at the origin; 0:600 is 5 s of walking
CLEAN = slice(0, 2332)


def run(cli, *args) -> tuple[int, str, str]:
    """``mtk ARGS`` in-process: exit code, stdout, stderr."""
    result = cli(*args)
    return result.code, result.stdout, result.stderr


def inspect_findings(cli, path: Path) -> list[dict]:
    code, out, _ = run(cli, "inspect", path, "--json")
    assert code == 0
    return json.loads(out)["findings"]


@pytest.fixture(scope="module")
def take(data_dir):
    return read_bvh(data_dir / TAKE)


# --- maps ---------------------------------------------------------------------------------------------


MIXAMO = ["mixamorig:" + n for n in (
    "Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End", "LeftShoulder", "LeftArm", "LeftForeArm",
    "LeftHand", "RightShoulder", "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot",
    "LeftToeBase", "LeftToe_End", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "RightToe_End")]
LAFAN1 = ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToe", "RightUpLeg", "RightLeg", "RightFoot", "RightToe",
          "Spine", "Spine1", "Spine2", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
          "RightShoulder", "RightArm", "RightForeArm", "RightHand"]
SMPL_SPELLINGS = {
    "official": ["Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle", "R_Ankle", "Spine3",
                 "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
                 "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand"],
    "unity": ["m_avg_" + n for n in ("Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle",
                                     "R_Ankle", "Spine3", "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head",
                                     "L_Shoulder", "R_Shoulder", "L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist")],
    "smplx": list(SMPL22.joint_names) + ["jaw", "left_eye_smplhf", "left_index1"],
}


@pytest.mark.parametrize("names, expected", [
    (MIXAMO, "mixamo"), (LAFAN1, "lafan1"), *((names, "smpl") for names in SMPL_SPELLINGS.values())])
def test_builtin_maps_are_found_from_joint_names(names, expected):
    found = find_map(names, "x.bvh")
    assert found.name == expected and found.missing(names) == []


def test_the_pfnn_and_motionmillion_skeletons_find_their_maps(take, data_dir):
    assert find_map(take.joint_names, TAKE).name == "cmu"
    assert find_map(read_bvh(data_dir / "motionmillion/bvh/case1_0_predict.bvh").joint_names, "mm").name == "smpl"


def test_an_unknown_skeleton_names_the_smpl_joints_it_cannot_place():
    names = [n for n in LAFAN1 if "Toe" not in n]
    with pytest.raises(BadInputError) as err:
        find_map(names, "x.bvh")
    message = err.value.one_line()
    assert "has no source for SMPL joints left_foot, right_foot" in message
    assert "--joint-map" in message


def test_a_json_map_is_the_builtin_one_written_out(take, tmp_path):
    table = {}
    for joint, source in zip(SMPL22.joint_names, builtin_map("cmu").sources):
        table[joint] = source.joint if source.toward is None else {"between": [source.joint, source.toward],
                                                                   "at": source.at}
    path = tmp_path / "cmu.json"
    path.write_text(json.dumps(table))
    loaded = load_joint_map(path)
    positions = take.positions()[:50]
    assert np.array_equal(loaded.apply(positions, take.joint_names),
                          builtin_map("cmu").apply(positions, take.joint_names))


@pytest.mark.parametrize("table, problem", [
    ({"pelvis": "Hips"}, "leaves SMPL joints left_hip, right_hip"),
    ({"pelvis": "Hips", "tail": "Tail"}, "maps 'tail', which is no smpl22 joint"),
    ({"pelvis": {"between": ["Hips"]}}, "maps pelvis to"),
    ({"pelvis": {"between": ["Hips", "Spine"], "at": "half"}}, "maps pelvis to"),
    ([1, 2], "holds no JSON object"),
])
def test_bad_json_maps_are_one_line_errors(tmp_path, table, problem):
    path = tmp_path / "map.json"
    path.write_text(json.dumps(table))
    with pytest.raises(BadInputError) as err:
        load_joint_map(path)
    assert problem in err.value.one_line() and str(path) in err.value.one_line()


def test_a_map_naming_absent_joints_is_refused_by_the_cli(data_dir, tmp_path, mtk_cli):
    table = {joint: "Hips" for joint in SMPL22.joint_names} | {"head": "Skull"}
    path = tmp_path / "map.json"
    path.write_text(json.dumps(table))
    out = tmp_path / "x.npy"
    code, _, err = run(mtk_cli, "convert", data_dir / TAKE, out, "--to", "hml263", "--joint-map", path)
    assert code == 2 and "has no joints Skull" in err and not out.exists()
    collapsed = {joint: "Hips" for joint in SMPL22.joint_names}
    path.write_text(json.dumps(collapsed))
    code, _, err = run(mtk_cli, "convert", data_dir / TAKE, out, "--to", "hml263", "--joint-map", path)
    assert code == 2 and "map map.json put the ends of bones pelvis-left_hip" in err and not out.exists()


def _mixamo_name(smpl_name: str) -> str:
    side, _, part = smpl_name.partition("_")
    if not part:
        return {"Pelvis": "Hips", "Spine1": "Spine", "Spine2": "Spine1", "Spine3": "Spine2"}.get(smpl_name, smpl_name)
    limb = {"hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase", "collar": "Shoulder",
            "shoulder": "Arm", "elbow": "ForeArm", "wrist": "Hand", "palm": "HandIndex1"}[part]
    return f"{side}{limb}"


@pytest.mark.parametrize("layout", ["hml263", "smpl272"])
def test_a_mixamo_take_in_centimetres_with_z_up(data_dir, tmp_path, mtk_cli, layout):
    """MotionMillion's SMPL take written again as a Mixamo rig (``mixamorig:`` names, centimetres, z up) is
    found as such and gives the features of the SMPL take through the smpl map."""
    src = data_dir / "motionmillion/bvh/case1_0_predict.bvh"
    motion = read_bvh(src)
    to_z_up = UP_AXES["z"].T
    rotations = motion.local_rotations.copy()
    rotations[:, 0] = to_z_up @ rotations[:, 0]
    rig = tmp_path / "rig.bvh"
    write_bvh(rig, ["mixamorig:" + _mixamo_name(n) for n in motion.joint_names], motion.parents,
              motion.offsets * 100, rotations, motion.root_positions @ to_z_up.T * 100, motion.fps)
    smpl, mixamo = tmp_path / "smpl.npy", tmp_path / "mixamo.npy"
    code, _, _ = run(mtk_cli, "convert", src, smpl, "--to", layout, "--unit", "m")
    assert code == 0
    code, summary, _ = run(mtk_cli, "convert", rig, mixamo, "--to", layout)
    assert code == 0 and "mixamo map of 24 joints, unit cm = 0.01 m (detected), z up (detected)" in summary
    assert np.abs(np.load(smpl) - np.load(mixamo)).max() < 1e-4


# --- units and up axis --------------------------------------------------------------------------------


def test_unit_and_up_are_detected_and_any_placement_gives_the_same_features(take, tmp_path, mtk_cli):
    """The take written again in centimetres with z up (a proper rotation) detects as such, and its
    features equal the original's: placement, retargeting and facing +z undo the difference."""
    first = take.frames // 4
    mapped = builtin_map("cmu").apply(take.positions()[:first], take.joint_names)
    found = placement(mapped, TAKE)
    assert (found.unit, found.unit_source, found.up, found.up_source) == ("cmu", "detected", "y", "detected")
    to_z_up = UP_AXES["z"].T
    metres = UNITS["cmu"]
    rotations = take.local_rotations[:first].copy()
    rotations[:, 0] = to_z_up @ rotations[:, 0]
    moved = tmp_path / "z_cm.bvh"
    write_bvh(moved, take.joint_names, take.parents, take.offsets * metres * 100, rotations,
              take.root_positions[:first] @ to_z_up.T * metres * 100, take.fps)
    again = placement(builtin_map("cmu").apply(read_bvh(moved).positions(), take.joint_names), str(moved))
    assert (again.unit, again.up) == ("cm", "z")
    original, rewritten = tmp_path / "a.npy", tmp_path / "b.npy"
    code, out, _ = run(mtk_cli, "convert", take_path(take), original, "--to", "hml263", "--trim", f":{first}")
    assert code == 0 and "unit cmu = 0.05644 m (detected), y up (detected)" in out
    code, out, _ = run(mtk_cli, "convert", moved, rewritten, "--to", "hml263")
    assert code == 0 and "unit cm = 0.01 m (detected), z up (detected)" in out
    assert np.abs(np.load(original) - np.load(rewritten)).max() < 1e-4
    code, out, _ = run(mtk_cli, "convert", moved, rewritten, "--to", "hml263", "--unit", "0.01", "--up", "z",
                       "--overwrite")
    assert code == 0 and "unit 0.01 m (given), z up (given)" in out


def take_path(take) -> Path:
    import os

    return Path(os.environ["MTK_TEST_DATA"]) / TAKE


def test_a_unit_no_human_fits_asks_for_unit(take):
    mapped = builtin_map("cmu").apply(take.positions()[:10], take.joint_names)
    with pytest.raises(Exception) as err:
        placement(mapped * 1e4, TAKE)
    assert "pass --unit" in str(err.value)


# --- inverse kinematics -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smpl_sample(data_dir):
    params = np.load(data_dir / "smpl272/smpl85/000000.npy").astype(np.float64)[::4]
    rotations = axis_angle_to_matrix(params[:, :66].reshape(-1, 22, 3))
    joints = np.load(data_dir / "smpl272/joints/000000.npy")[::4, :22].astype(np.float64)
    return rotations, params[:, 69:72], joints


def test_ik_reproduces_motion_made_on_the_rest_pose(smpl_sample):
    """Positions posed by real SMPL rotations on SMPL-22's rest pose come back to float precision; the
    rotations where positions determine them (pelvis, spine, hips, knees) come back to a few degrees."""
    rotations, translation, _ = smpl_sample
    positions, _ = forward_kinematics(rotations, translation, SMPL22.rest_offsets(), SMPL22.parents)
    solved = solve_rotations(positions, SMPL22)
    assert solved.residual.max() < 1e-9
    again, _ = forward_kinematics(solved.rotations, solved.root, SMPL22.rest_offsets(), SMPL22.parents)
    assert np.abs(again - positions).max() < 1e-9
    error = np.degrees(np.median(geodesic_angle(solved.rotations, rotations), axis=0))
    core = [SMPL22.index(n) for n in ("pelvis", "spine1", "spine2", "spine3", "left_hip", "right_hip",
                                      "left_knee", "right_knee")]
    assert error[core].max() < 7.0, error


def test_ik_on_real_joints_stays_close_to_them(smpl_sample, data_dir):
    """The 272 sample's SMPL-X joints and HumanML3D's joints: the solved rotations pose SMPL-22 within 2 cm
    (the SMPL-X and SMPL-H skeletons branch a little differently at the pelvis and the chest)."""
    _, _, joints = smpl_sample
    for source in (joints, np.load(data_dir / "humanml3d/new_joints/012314.npy").astype(np.float64)):
        solved = solve_smpl(source)
        retargeted = uniform_skeleton(source, SMPL22)
        assert solved.residual.max() < 0.02
        feet = list(SMPL22.roles["feet_left"] + SMPL22.roles["feet_right"])
        assert np.abs(solved.positions[:, feet] - retargeted[:, feet]).max() < 0.01


# --- features from any BVH and from joints ------------------------------------------------------------


def _path_and_height(root: np.ndarray) -> tuple[float, float]:
    return float(np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=1).sum()), float(np.median(root[:, 1]))


@pytest.mark.parametrize("layout, quirks", [("hml263", "--fix-quirks"), ("hml263", None), ("smpl272", None)])
def test_the_pfnn_take_walks_its_path_in_features(take, data_dir, tmp_path, mtk_cli, layout, quirks):
    """Recovered joints walk the take's root path: path length and root height within 1 % of the take's
    (rescaled to SMPL-22's legs); recovery gives the joints the features were made from within 1 mm (with
    the released data's quirks kept, until the heading first crosses 180 degrees: P4 turns that row the
    wrong way, as in the released data); contacts, floor and heading as the layouts define them."""
    spec = get_layout(layout)
    out = tmp_path / f"{layout}.npy"
    code, summary, _ = run(mtk_cli, "convert", data_dir / TAKE, out, "--to", layout, "--trim", "0:1200",
                           *([quirks] if quirks else []))
    assert code == 0 and "cmu map of 31 joints" in summary
    if spec.family == "smpl272":
        assert "SMPL rotations solved by inverse kinematics, not captured" in summary
    features = np.load(out)
    recovered = recover_joints(features.astype(np.float64), spec)
    mapped = map_skeleton(take.positions()[:1200], take.joint_names, TAKE).joints
    joints, _ = resample_motion(mapped, None, take.fps, spec.fps)
    source = joints - np.array([0.0, joints[..., 1].min(), 0.0])
    path, height = _path_and_height(source[:, 0] * leg_scale(joints, SMPL22))
    got_path, got_height = _path_and_height(recovered[:, 0])
    assert abs(got_path / path - 1) < 0.01 and abs(got_height / height - 1) < 0.01
    if spec.family == "smpl272":
        local = recover_local_rotations(features, spec)
        assert abs(yaw_of(local.rotations[0, 0])) < 1e-9  # frame 0 faces +z
        assert np.allclose(features[0, spec.block("heading_velocity").slice], [1, 0, 0, 0, 1, 0])
        _assert_same_shape(recovered, solve_smpl(joints).positions, tolerance=1e-3)
    else:
        made_from, _ = canonical_positions(joints, SMPL22, reproduce_quirks=quirks is None)
        flips = branch_flips(joints, SMPL22) if quirks is None else np.array([len(features)], dtype=int)
        assert len(flips) and ("P4 turns the wrong way" in summary) == (quirks is None)
        exact_until = min(int(flips[0]) + 1, len(features))
        assert np.abs(recovered[:exact_until] - made_from[:exact_until]).max() < 1e-3
        contacts = foot_contacts(made_from, spec.block("foot_contacts").joints, spec.contact_threshold)
        assert np.array_equal(features[:, spec.block("foot_contacts").slice], contacts)
        across = made_from[0, SMPL22.roles["hip_left"]] - made_from[0, SMPL22.roles["hip_right"]]
        assert across[0] > 0 and abs(across[2]) < 0.3 * abs(across[0])  # facing +z: left is +x
    assert abs(recovered[..., 1].min()) < 1e-6  # the floor at y = 0


@pytest.mark.parametrize("layout", ["hml263", "smpl272", "kit251"])
def test_the_whole_pfnn_take_converts_and_inspects_clean(data_dir, tmp_path, mtk_cli, layout):
    """The issue's command on the whole take (its last 96 frames, a collapsed pose at the origin, included)."""
    out = tmp_path / "out.npy"
    code, _, _ = run(mtk_cli, "convert", data_dir / TAKE, out, "--to", layout)
    assert code == 0
    assert inspect_findings(mtk_cli, out) == []


def _assert_same_shape(a: np.ndarray, b: np.ndarray, tolerance: float) -> None:
    """``a`` equals ``b`` up to a turn about y and a shift (272 places the motion facing +z at the origin)."""
    a0, b0 = a - a[:1, :1] * [1, 0, 1], b - b[:1, :1] * [1, 0, 1]
    u, _, vt = np.linalg.svd((a0.reshape(-1, 3)[:, [0, 2]]).T @ b0.reshape(-1, 3)[:, [0, 2]])
    turn = u @ vt
    turned = a0.copy()
    turned[..., [0, 2]] = a0[..., [0, 2]] @ turn
    offset = (b0 - turned).reshape(-1, 3).mean(0)
    assert np.abs(turned + offset - b0).max() < tolerance


def test_joints_alone_make_272_features(data_dir, tmp_path, mtk_cli):
    src = data_dir / "humanml3d/new_joints/012314.npy"
    out = tmp_path / "j272.npy"
    code, summary, _ = run(mtk_cli, "convert", src, out, "--to", "smpl272")
    assert code == 0 and "from SMPL-22 joints: unit m (assumed), y up (assumed)" in summary
    assert "solved by inverse kinematics, not captured" in summary
    spec = get_layout("smpl272")
    features = np.load(out)
    assert features.shape == (170, 272) and features.dtype == np.float64
    assert inspect_findings(mtk_cli, out) == []
    joints = np.load(src).astype(np.float64)
    _assert_same_shape(recover_joints(features, spec), joints, tolerance=0.02)


def test_smpl_bvh_input_keeps_its_exact_path_and_maps_on_request(data_dir, tmp_path, mtk_cli):
    """An SMPL-22 BVH is read as it is (exact SMPL rotations); given --unit it goes through the smpl map and
    inverse kinematics instead, and both pass mtk inspect."""
    src = data_dir / "motionmillion/bvh/case1_0_predict.bvh"
    exact, solved = tmp_path / "exact.npy", tmp_path / "solved.npy"
    code, summary, _ = run(mtk_cli, "convert", src, exact, "--to", "smpl272")
    assert code == 0 and "map" not in summary
    code, summary, _ = run(mtk_cli, "convert", src, solved, "--to", "smpl272", "--unit", "m")
    assert code == 0 and "smpl map of 24 joints" in summary and "inverse kinematics" in summary
    for path in (exact, solved):
        assert inspect_findings(mtk_cli, path) == []
    spec = get_layout("smpl272")
    on_smpl22 = uniform_skeleton(recover_joints(np.load(exact), spec), SMPL22)  # the map retargets
    _assert_same_shape(recover_joints(np.load(solved), spec), on_smpl22, 0.03)


def test_joints_at_their_own_rate_are_resampled(data_dir, tmp_path, mtk_cli):
    """HumanML3D's joints are 20 fps: --source-fps 20 makes 272 at 30 fps (170 frames -> 254 rows)."""
    out = tmp_path / "j272.npy"
    code, summary, _ = run(mtk_cli, "convert", data_dir / "humanml3d/new_joints/012314.npy", out, "--to", "smpl272",
                           "--source-fps", "20")
    assert code == 0 and "from SMPL-22 joints at 20 fps (--source-fps)" in summary
    assert np.load(out).shape == (254, 272) and inspect_findings(mtk_cli, out) == []
    code, _, err = run(mtk_cli, "convert", data_dir / TAKE, out, "--to", "smpl272", "--source-fps", "20",
                       "--overwrite")
    assert code == 2 and "--source-fps gives the rate of a joints .npy" in err


def test_kit_features_from_smpl_joints(data_dir, tmp_path, mtk_cli):
    """251 from SMPL-22 joints: MMM's joints placed on the body, in millimetres; the pelvis keeps its height
    (the floor moves down to MMM's toe tips, placed a little beyond SMPL's toes)."""
    src = data_dir / "humanml3d/new_joints/012314.npy"
    out = tmp_path / "k.npy"
    code, summary, _ = run(mtk_cli, "convert", src, out, "--to", "kit251", "--source-fps", "20")
    assert code == 0 and "kit21 joints placed on the SMPL-22 body" in summary
    features = np.load(out)
    assert features.shape == (105, 251)
    assert inspect_findings(mtk_cli, out) == []
    recovered = recover_joints(features.astype(np.float64), get_layout("kit251")) / 1000
    joints = np.load(src).astype(np.float64)
    assert abs(np.median(recovered[:, 0, 1]) - np.median(joints[:, 0, 1])) < 0.03


def test_a_junk_tail_is_warned_about_and_trimmed(take):
    from mtk.mocap.retarget import warn_on_jumps

    mapped = map_skeleton(take.positions(), take.joint_names, TAKE).joints
    with pytest.warns(Warning, match="root jumps 2.22 m between frames 2331 and 2332.*is --trim 0:2332$"):
        warn_on_jumps(mapped, take.fps, TAKE)
    with pytest.warns(Warning, match="between frames 2331 and 2332.*is --trim 100:2332$"):
        warn_on_jumps(mapped[100:], take.fps, TAKE, first_frame=100)


def test_bad_joints_are_one_line_errors(data_dir, tmp_path, mtk_cli):
    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy")
    out = tmp_path / "out.npy"
    nan = joints.copy()
    nan[5, 3, 1] = np.nan
    for array, problem in ((nan, "holds 1 NaN or Inf values"),
                           (np.zeros((50, 22, 3), np.float32), "the joints put the ends of bones pelvis-left_hip")):
        np.save(tmp_path / "in.npy", array)
        code, _, err = run(mtk_cli, "convert", tmp_path / "in.npy", out, "--to", "smpl272")
        assert code == 2 and problem in err and not out.exists()


def test_joints_in_another_unit_are_warned_about(data_dir):
    from mtk.mocap.retarget import place_joints

    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy").astype(np.float64)
    with pytest.warns(Warning, match="pass --unit mm if so"):
        place_joints(joints * 1000, "mm.npy")
    with pytest.warns(Warning, match="the body stands along z, not y: pass --up z if so"):
        place_joints(joints @ UP_AXES["z"], "z.npy")
    assert place_joints(joints * 1000, "mm.npy", unit="mm").joints == pytest.approx(joints)


def test_a_mirrored_file_is_warned_about(data_dir):
    """Joints whose labelled left side is on the body's right (a left-handed file) get a warning."""
    from mtk.mocap.retarget import place_joints

    joints = np.load(data_dir / "humanml3d/new_joints/012314.npy").astype(np.float64)
    with pytest.warns(Warning, match="the joints labelled left are on the body's right"):
        place_joints(joints * [-1, 1, 1], "left-handed.npy")
