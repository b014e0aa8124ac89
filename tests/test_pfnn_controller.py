"""The controller with PFNN's own network (pfnn31) and with a network mtk trains on smpl22 sample data: the
walking acceptance (foot sliding with IK, speed against the command, pelvis bob), turning, clip following,
play outputs, the path script and the figures' definitions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mtk.errors import MtkError
from mtk.pfnn.path import parse_path, path_commands
from mtk.pfnn.play import play, report


@pytest.fixture(scope="module")
def pfnn_setup(data_dir: Path, tmp_path_factory):
    """PFNN's network and mtk's export of one of its takes (its mocap: the data figures)."""
    from mtk.pfnn.exchange import import_demo
    from mtk.pfnn.export import convert_to_pfnn

    out = tmp_path_factory.mktemp("pfnn_take") / "db"
    convert_to_pfnn(str(data_dir / "pfnn" / "animations" / "LocomotionFlat04_000.bvh"), str(out))
    return import_demo(data_dir / "pfnn" / "network"), out


@pytest.fixture(scope="module")
def smpl_setup(tmp_path_factory):
    """A small network (hidden 256, lr 5e-4, 4 epochs) trained by mtk on 40 procedural 272 motions exported with
    the motion/text gait labels and the locomotion selection the controller drives (stand, walk, jog): about
    40 s on a CPU. The full-size run (200 motions, 8 epochs, defaults) is benchmarks/bench_pfnn_walk.py; both
    must meet the same thresholds."""
    from mtk.jobs.sample import write_sample_dataset
    from mtk.pfnn.export import convert_to_pfnn
    from mtk.pfnn.netfile import load_network
    from mtk.pfnn.train import TrainConfig, train

    root = tmp_path_factory.mktemp("pfnn_smpl")
    write_sample_dataset(str(root / "sample"), layout="smpl272", count=40, seed=0)
    convert_to_pfnn(str(root / "sample"), str(root / "db"), select="locomotion", keep="stand,walk,jog")
    train(TrainConfig(str(root / "db"), str(root / "run"), epochs=4, hidden=256, evals=1, lr=5e-4))
    return load_network(root / "run"), root


def test_pfnn_network_walks_without_gliding(pfnn_setup):
    """10 s of walking (PFNN's network carries no speeds: 1.2 m/s): foot sliding at most 1.5x its mocap's, speed
    within 90-110 % of the command. Without the foot IK the same walk slides 3x the mocap."""
    weights, take = pfnn_setup
    figures = report(play(weights, path="walk:10"), weights, data=str(take))
    print(json.dumps({k: v for k, v in figures.items() if k != "gaits"}))
    assert figures["data_foot_sliding_cm_s"] == pytest.approx(3.6, abs=0.1)
    assert figures["foot_sliding_cm_s"] <= 1.5 * figures["data_foot_sliding_cm_s"]
    assert 0.9 <= figures["speed_ratio"] <= 1.1
    assert figures["gaits"]["walk"]["command_m_s"] == pytest.approx(1.2)
    assert figures["network_foot_sliding_cm_s"] > 2.5 * figures["data_foot_sliding_cm_s"]
    raw = report(play(weights, path="walk:10", ik=False), weights, data=str(take))
    assert raw["foot_sliding_cm_s"] == pytest.approx(figures["network_foot_sliding_cm_s"])


@pytest.mark.parametrize("gait", ["walk", "jog"])
def test_mtk_network_walks_and_jogs_without_gliding(smpl_setup, gait: str):
    """The acceptance thresholds: sliding at most 2x the training data's, speed within 85-115 % of the command
    (the data's median forward speed of that gait), pelvis bob at most 3x the data's for that gait; and a
    phase rate within 25 % of the data's."""
    weights, _ = smpl_setup
    assert weights.meta.skeleton == "smpl22" and weights.meta.fps == 30.0
    figures = report(play(weights, path=f"{gait}:10"), weights)  # the data figures come with the network
    ours, data = figures["gaits"][gait], figures["gaits"][gait]["data"]
    print(gait, json.dumps(ours))
    assert figures["data"] and data["rows"] > 100
    assert ours["foot_sliding_cm_s"] <= 2 * figures["data_foot_sliding_cm_s"]
    assert 0.85 <= ours["speed_ratio"] <= 1.15
    assert ours["pelvis_bob_cm"] <= 3 * data["pelvis_bob_cm"]
    assert ours["phase_hz"] == pytest.approx(data["phase_hz"], rel=0.25)
    assert ours["command_m_s"] == pytest.approx(weights.meta.gait_speeds[gait] * 60)


@pytest.mark.parametrize("network", ["pfnn", "smpl"])
def test_walking_turns_and_stays_in_the_datas_height_range(network: str, request):
    from mtk.pfnn.database import read_database
    from mtk.pfnn.meta import root_height_range

    weights, data = request.getfixturevalue(f"{network}_setup")
    low, high = weights.meta.root_height or root_height_range(read_database(data).Y, weights.meta.columns)
    played = play(weights, path="walk:3,turn-left:90,walk:2")
    joints = np.stack([f.joints for f in played.frames])
    assert np.isfinite(joints).all()
    settled = joints[int(played.fps):, 0, 1]  # after the first second, risen from PFNN's reset pose (Ymean)
    assert low <= settled.min() and settled.max() <= high
    heading = np.degrees(np.arctan2(*played.frames[-1].direction))
    assert heading == pytest.approx(90, abs=10)


def test_following_a_clip_reports_pose_error(smpl_setup):
    from mtk.features import recover_joints
    from mtk.formats.datasets import open_dataset
    from mtk.pfnn.figures import mean_pose_error, pose_error

    weights, root = smpl_setup
    reader = open_dataset(root / "sample")
    motions = [reader.read(n) for n in reader.info.names]
    reader.close()
    walks = [m for m in motions if any("walk" in t for t in m.texts)] or motions
    motion = max(walks, key=lambda m: m.frames)
    name = motion.name
    joints = recover_joints(motion.features.astype(np.float64), reader.info.layout)
    clip_file = root / "clip.npy"
    np.save(clip_file, joints)
    played = play(weights, follow=str(clip_file))
    frames, clip = played.frames, played.clip
    assert len(frames) == len(joints) and played.fps == 30.0 and len(played.commands) == len(frames)
    error = pose_error(frames, clip.joints, clip.root, clip.facing)
    baseline = mean_pose_error(clip.joints, clip.root, clip.facing)
    print(f"root-relative joint error following {name}: {error:.3f} m (the clip's own mean pose: {baseline:.3f} m)")
    assert 0 < error < 0.25
    path = np.linalg.norm(np.stack([f.root for f in frames])[-1] - clip.root[-1])
    assert np.isfinite(path)


def test_path_script():
    segments = parse_path("walk:2, turn-left:90,jog:1,stand:0.5")
    commands = path_commands(segments, 30.0, {"walk": 2.0, "jog": 4.0, "stand": 0.0})
    assert len(commands) == 60 + 30 + 30 + 15
    np.testing.assert_allclose(commands[0].velocity, [0, 2.0])
    np.testing.assert_allclose(commands[89].direction, [1, 0], atol=1e-12)  # left is +x
    assert commands[100].gait == "jog" and np.linalg.norm(commands[100].velocity) == pytest.approx(4.0)
    assert commands[-1].gait == "stand" and not commands[-1].velocity.any()
    assert len(path_commands(segments, 30.0, {"walk": 2.0}, seconds=10)) == 300
    for bad in ("fly:2", "walk", "walk:-1", "walk:nan", ""):
        with pytest.raises(MtkError):
            parse_path(bad)


def test_play_outputs(smpl_setup, tmp_path: Path, mtk_cli):
    from mtk.formats.bvh import bvh_joint_name, read_bvh

    weights, root = smpl_setup
    run = root / "run"
    done = mtk_cli("pfnn", "play", run, "--path", "walk:2,turn-right:45", "--out", tmp_path / "w.npy", "--json")
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    joints = np.load(tmp_path / "w.npy")
    assert joints.shape == (summary["frames"], 22, 3) and summary["fps"] == 30.0 and summary["frames"] == 75
    assert summary["distance_m"] > 0.5 and np.isfinite(joints).all()
    for key in ("foot_sliding_cm_s", "data_foot_sliding_cm_s", "speed_ratio", "phase_hz", "pelvis_bob_cm",
                "data_pelvis_bob_cm", "network_foot_sliding_cm_s"):
        assert np.isfinite(summary[key]), key
    assert summary["ik"] and set(summary["gaits"]) == {"walk"}
    # the .npy carries the corrected pose: without IK it is the network's, and the feet slide as it slides
    done = mtk_cli("pfnn", "play", run, "--path", "walk:2,turn-right:45", "--out", tmp_path / "raw.npy", "--json",
                   "--no-ik")
    raw_summary = json.loads(done.stdout)
    raw = np.load(tmp_path / "raw.npy")
    assert not raw_summary["ik"] and raw_summary["foot_sliding_cm_s"] == pytest.approx(summary["network_foot_sliding_cm_s"])
    feet = [7, 8, 10, 11]
    assert np.abs(raw[:, feet] - joints[:, feet]).max() > 0.01
    others = [j for j in range(22) if j not in (1, 2, 4, 5, 7, 8, 10, 11)]
    np.testing.assert_array_equal(raw[:, others], joints[:, others])  # IK moves the legs only
    done = mtk_cli("pfnn", "play", run, "--path", "walk:2,turn-right:45", "--out", tmp_path / "w.bvh")
    assert done.code == 0, done.stderr
    assert "75 frames at 30 fps" in done.stdout and "foot sliding" in done.stdout
    bvh = read_bvh(tmp_path / "w.bvh")
    assert bvh.positions().shape == (75, 22, 3) and bvh.fps == pytest.approx(30.0)
    # its feet are the corrected ones (its bones have the mean lengths, so not exactly)
    order = [bvh.joint_names.index(bvh_joint_name(name)) for name in weights.meta.joint_names]
    bvh_feet = bvh.positions()[:, order][:, feet]
    assert np.abs(bvh_feet - joints[:, feet]).mean() < 0.5 * np.abs(bvh_feet - raw[:, feet]).mean()
    done = mtk_cli("pfnn", "play", run, "--path", "walk:1", "--out", tmp_path / "w.txt")
    assert done.code == 2 and "use .npy, .gif, .mp4 or .bvh" in done.stderr


def test_pfnn_network_follows_its_own_take(pfnn_setup, data_dir: Path):
    from mtk.pfnn.figures import mean_pose_error, pose_error

    weights, _ = pfnn_setup
    take = data_dir / "pfnn" / "animations" / "LocomotionFlat04_000.bvh"
    played = play(weights, follow=str(take), seconds=8.0)
    frames, clip = played.frames, played.clip
    assert played.fps == 60.0 and len(frames) == 480 and len(clip.joints) == 1214  # the 120 fps take at 60 fps
    n = len(frames)
    error = pose_error(frames, clip.joints[:n], clip.root[:n], clip.facing[:n])
    baseline = mean_pose_error(clip.joints[:n], clip.root[:n], clip.facing[:n])
    ours = np.stack([f.root for f in frames])
    drift = np.linalg.norm(ours - clip.root[:n], axis=-1)
    print(f"PFNN following LocomotionFlat04_000 for 8 s: root-relative joint error {error:.1f} cm "
          f"(the take's own mean pose {baseline:.1f} cm), root path deviation mean {drift.mean():.0f} cm, "
          f"max {drift.max():.0f} cm")
    assert error < 25.0 and np.isfinite(baseline)
    assert drift.mean() < 100.0  # steered back towards the path, not only along its velocity


@pytest.mark.parametrize("fps", [60.0, 30.0, 20.0])
def test_rates_are_per_60th_of_a_second_at_any_frame_rate(fps: float):
    """A network whose output is constant (zero weights): root 1.5 units per 1/60 s forward, a turn of
    -0.01 rad per 1/60 s, dphase 1/60 per 1/60 s. Whatever the frame rate, the character covers 90 units
    and turns 0.6 rad per second, and the phase runs at one cycle per second."""
    from mtk.pfnn.controller import Controller
    from mtk.pfnn.meta import NetworkMeta
    from mtk.pfnn.weights import PfnnWeights, param_shapes

    meta = NetworkMeta("smpl22", fps)
    columns = meta.columns
    shapes = param_shapes(columns.x_dim, columns.y_dim, hidden=4)
    controls = {name: np.zeros((4, *shape)) for name, shape in shapes.items()}
    ymean = np.zeros(columns.y_dim)
    ymean[columns.y_group("root_velocity").start + 1] = 1.5
    ymean[columns.y_group("root_angular_velocity").start] = -0.01
    ymean[columns.y_group("dphase").start] = 1 / 60
    ymean[columns.y_group("future_dir_z").slice] = 1.0
    norm = {"Xmean": np.zeros(columns.x_dim), "Xstd": np.ones(columns.x_dim), "Ymean": ymean,
            "Ystd": np.ones(columns.y_dim)}
    weights = PfnnWeights(controls, norm, meta)
    controller = Controller(weights)
    frames = [controller.step(np.array([0.0, 1.5]), None, "walk") for _ in range(int(2 * fps) + 1)]
    roots = np.stack([f.root for f in frames])
    distance = np.linalg.norm(np.diff(roots, axis=0), axis=-1).sum()
    assert distance == pytest.approx(2 * 90.0, rel=1e-9)
    turned = np.unwrap([np.arctan2(f.direction[0], f.direction[1]) for f in frames])
    assert turned[-1] - turned[0] == pytest.approx(2 * 0.6, rel=1e-9)  # minus the angular velocity
    phases = np.unwrap(np.array([f.phase for f in frames]) * 2 * np.pi) / (2 * np.pi)
    assert phases[-1] - phases[0] == pytest.approx(2.0, rel=1e-9)


def test_figures_follow_their_definitions():
    from mtk.pfnn.controller import Frame
    from mtk.pfnn.figures import controller_figures, data_figures, measured_frames, pelvis_bob, sliding_cm_s
    from mtk.pfnn.meta import NetworkMeta
    from mtk.pfnn.path import Command

    speeds = np.array([[10.0, 20, 30, 40], [1, 2, 3, 4]])
    assert sliding_cm_s(speeds, np.array([[1.0, 0, 0, 0], [0, 0.6, 0.9, 0.2]])) == pytest.approx(5.0)
    assert np.isnan(sliding_cm_s(speeds, np.zeros((2, 4))))
    t = np.arange(90) / 30.0
    assert pelvis_bob(90 + 3 * np.sin(2 * np.pi * t), [(0, 90)], 30.0) == pytest.approx(6.0, rel=0.02)
    assert np.isnan(pelvis_bob(t, [(0, 20)], 30.0))
    commands = [Command(np.array([0.0, 1.25 / 60]), None, g) for g in ["walk"] * 60 + ["jog"] * 60]
    counted = measured_frames(commands, 30.0)
    assert not counted[:30].any() and counted[30:60].all() and not counted[60:90].any() and counted[90:].all()

    # a synthetic run at 30 fps: the root moves 1 m/s against a 1.25 m/s command, the phase turns at 0.5 Hz,
    # the left heel and toe are predicted down and stay put; the network's own feet moved 10 cm/s
    meta = NetworkMeta("smpl22", 30.0)
    frames = []
    for step in range(90):
        joints = np.zeros((22, 3))
        joints[:, 2] = step / 30.0
        joints[[7, 10], 2] = 0.0
        raw = joints.copy()
        raw[[7, 10], 2] = 0.1 * step / 30.0
        frames.append(Frame(joints, np.broadcast_to(np.eye(3), (22, 3, 3)), np.array([0.0, step / 30.0]),
                            np.array([0.0, 1.0]), (0.5 * step / 30.0) % 1.0, np.array([1.0, 1.0, 0.0, 0.0]),
                            np.zeros(1), raw))
    found = controller_figures(frames, commands[:90], meta, 30.0)["walk"]
    assert found["speed_ratio"] == pytest.approx(0.8) and found["phase_hz"] == pytest.approx(0.5)
    assert found["foot_sliding_cm_s"] == pytest.approx(0.0) and found["network_foot_sliding_cm_s"] == pytest.approx(10.0)
    assert found["seconds"] == pytest.approx(1.0) and found["pelvis_bob_cm"] == pytest.approx(0.0)

    # the same figures on rows: gait from the current trajectory sample, contacts and velocities from Y
    columns = meta.columns
    X, Y = np.zeros((60, columns.x_dim)), np.zeros((60, columns.y_dim))
    X[:, columns.x_group("gait_walk").start + 6] = 1.0
    Y[:, columns.y_group("contacts").slice] = [1.0, 0.0, 0.0, 0.0]
    Y[:, columns.y_group("joint_vel").start + 3 * 7] = 0.03 / 60  # the left heel slides 3 cm/s along x
    Y[:, columns.y_group("dphase").start] = 1.0 / 60
    Y[:, columns.y_group("root_velocity").start + 1] = 1.0 / 60
    Y[:, columns.y_group("joint_pos").start + 1] = 0.9 + 0.02 * np.sin(2 * np.pi * np.arange(60) / 30.0)
    rows = data_figures(X, Y, meta, [(0, 30), (30, 60)])
    assert set(rows) == {"walk", "moving", "every"}
    assert rows["walk"]["foot_sliding_cm_s"] == pytest.approx(3.0) and rows["walk"]["phase_hz"] == pytest.approx(1.0)
    assert rows["walk"]["speed_m_s"] == pytest.approx(1.0) and rows["walk"]["pelvis_bob_cm"] == pytest.approx(4.0, rel=0.02)
