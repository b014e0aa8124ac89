"""PFNN export on real data: PFNN's own take against its generator's rows, 22-joint data rebuilt into world
space, the output files, ``mtk inspect`` and the error paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import make_npy_dataset

from mtk.errors import MtkError
from mtk.features import get_layout, recover_joints
from mtk.pfnn.database import read_pfnn_database
from mtk.pfnn.export import convert_to_pfnn
from mtk.pfnn.rows import facing_directions, world_joints_from_rows
from mtk.pfnn.schema import FACING_SIGMA_S, get_preset, pfnn_columns
from mtk.pfnn.sources import ExportOptions, read_phase, source_from_bvh

TAKE = "pfnn/animations/LocomotionFlat04_000"


@pytest.fixture(scope="module")
def pfnn_export(data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pfnn") / "db"
    convert_to_pfnn(str(data_dir / f"{TAKE}.bvh"), str(out))
    return out


def test_pfnn31_reproduces_pfnn_generator(pfnn_export: Path, data_dir: Path):
    X, Y, P, _ = read_pfnn_database(pfnn_export)
    with np.load(data_dir / "pfnn/reference/LocomotionFlat04_000_database.npz") as ref:
        assert X.shape == ref["Xun"].shape == (885, 342)
        assert Y.shape == ref["Yun"].shape == (885, 311)
        assert np.abs(X - ref["Xun"]).max() < 1e-3
        assert np.abs(Y - ref["Yun"]).max() < 1e-3
        assert np.abs(P - ref["Pun"]).max() < 1e-3


def test_pfnn31_output_files(pfnn_export: Path):
    document = json.loads((pfnn_export / "layout.json").read_text())
    assert document["skeleton"] == "pfnn31" and document["fps"] == [60.0]
    assert len(document["x_columns"]) == 342 and len(document["y_columns"]) == 311
    assert document["clips"][0]["sources"] == {"cycles": "LocomotionFlat04_000_footsteps.txt",
                                               "phase": "LocomotionFlat04_000.phase",
                                               "gait": "LocomotionFlat04_000.gait"}
    for name, size in (("Xmean", 342), ("Xstd", 342), ("Ymean", 311), ("Ystd", 311)):
        raw = np.fromfile(pfnn_export / f"{name}.bin", dtype="<f4")
        assert raw.shape == (size,)
        np.testing.assert_array_equal(raw, np.load(pfnn_export / f"{name}.npy"))
    x_std, y_std = np.load(pfnn_export / "Xstd.npy"), np.load(pfnn_export / "Ystd.npy")
    assert np.isfinite(x_std).all() and np.isfinite(y_std).all()
    assert len(np.unique(x_std[0:12])) == 1 and len(np.unique(x_std[48:120])) == 1
    assert (x_std[306:342] == 1.0).all()  # flat terrain is constant: std 1, not NaN
    # PFNN's joint weights: LeftUpLeg (2) weighs 1, LHipJoint (1) is masked with 1e-10
    assert x_std[120 + 3 * 1] == pytest.approx(x_std[120 + 3 * 2] * 1e10, rel=1e-5)
    assert len(np.unique(y_std[8:20])) == 1 and len(np.unique(y_std[218:311])) == 1


def _rebuild_error(Y: np.ndarray, joints: np.ndarray, first: int, fps: float) -> float:
    """Largest distance (m) between Y's joints rebuilt into world space and the source joints."""
    preset = get_preset("smpl22")
    forward = facing_directions(joints, preset.facing_joints, FACING_SIGMA_S * fps)
    world = world_joints_from_rows(Y, pfnn_columns(preset.skeleton.joint_names), fps,
                                   (joints[first, 0, 0], joints[first, 0, 2]),
                                   np.arctan2(forward[first, 0], forward[first, 2]))
    return float(np.abs(world - joints[first:first + len(world)]).max())


@pytest.mark.parametrize("relative, layout, fps", [
    ("humanml3d/new_joint_vecs/012314.npy", "hml263", 20.0),
    ("smpl272/features/000000.npy", "smpl272", 60.0),
])
def test_smpl22_rows_rebuild_source_joints(data_dir: Path, tmp_path: Path, relative: str, layout: str, fps: float):
    src = data_dir / relative
    out = tmp_path / "db"
    convert_to_pfnn(str(src), str(out), fps=fps)
    X, Y, P, found = read_pfnn_database(out)
    assert found.skeleton == "smpl22" and (X.shape[1], Y.shape[1]) == (288, 230)
    assert np.isfinite(X).all() and np.isfinite(Y).all() and ((P >= 0) & (P < 1)).all()
    joints = recover_joints(np.load(src).astype(np.float64), get_layout(layout))
    assert len(X) == len(joints) - 2  # clamped windows: every frame with a previous and a next one
    assert _rebuild_error(Y, joints, found.clips[0].first_frame, fps) < 1e-3
    dphase = Y[:, 3]
    assert (dphase > 0).all()  # the phase moves forward through every detected cycle


def test_6d_rotations_without_terrain(data_dir: Path, tmp_path: Path):
    out = tmp_path / "db"
    convert_to_pfnn(str(data_dir / "smpl272/features/000000.npy"), str(out), fps=60.0, rotations="6d",
                    terrain="none")
    X, Y, _, layout = read_pfnn_database(out)
    assert (X.shape[1], Y.shape[1]) == (252, 296)
    sixd = Y[:, 230 - 66:].reshape(len(Y), 22, 6).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(sixd[..., :3], axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose((sixd[..., :3] * sixd[..., 3:]).sum(-1), 0.0, atol=1e-5)
    document = json.loads((out / "layout.json").read_text())
    assert layout.rotations == document["options"]["rotations"] == "6d" and not any(
        g["name"].startswith("terrain") for g in document["x_groups"])


def _dataset(root: Path, data_dir: Path) -> Path:
    """A HumanML3D folder from the real sample: the motion and two crops of it."""
    features = np.load(data_dir / "humanml3d/new_joint_vecs/012314.npy")
    (root / "new_joint_vecs").mkdir(parents=True)
    for name, part in (("012314", features), ("a", features[60:]), ("b", features[:100])):
        np.save(root / "new_joint_vecs" / f"{name}.npy", part)
    (root / "train.txt").write_text("012314\na\nb\n")
    return root


def test_dataset_export_with_workers(data_dir: Path, tmp_path: Path):
    src = _dataset(tmp_path / "hml", data_dir)
    one, two = tmp_path / "one", tmp_path / "two"
    convert_to_pfnn(str(src), str(one))
    convert_to_pfnn(str(src), str(two), workers=2)
    X1, Y1, P1, layout = read_pfnn_database(one)
    X2, Y2, P2, _ = read_pfnn_database(two)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    assert [c.rows[1] - c.rows[0] for c in layout.clips] == [168, 108, 98]


def test_cli_convert_and_inspect(data_dir: Path, tmp_path: Path, mtk_cli):
    out = tmp_path / "db"
    done = mtk_cli("convert", data_dir / f"{TAKE}.bvh", out, "--to", "pfnn", "--skeleton", "pfnn31")
    assert done.code == 0, done.stderr
    assert "885 rows" in done.stdout and "LocomotionFlat04_000.phase" in done.stdout
    shown = mtk_cli("inspect", out / "database.npz", "--json")
    assert shown.code == 0
    report = json.loads(shown.stdout)
    assert report["kind"] == "pfnn" and report["frames"] == 885 and report["dim"] == 342
    assert report["details"]["y_dim"] == 311
    assert sum(report["details"]["phase_histogram (10 bins over [0, 1])"]) == 885
    names = [b["name"] for b in report["blocks"]]
    assert "X.traj_pos_x" in names and "Y.joint_rot" in names and "P" in names


def test_inspect_reference_without_layout(data_dir: Path, mtk_cli):
    shown = mtk_cli("inspect", data_dir / "pfnn/reference/LocomotionFlat04_000_database.npz", "--json")
    assert shown.code == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["kind"] == "pfnn" and report["frames"] == 885
    assert {"X.gait_crouch", "Y.contacts"} <= {b["name"] for b in report["blocks"]}
    assert "no_layout" in [f["code"] for f in report["findings"]]


def test_cli_errors(data_dir: Path, tmp_path: Path, mtk_cli):
    out = tmp_path / "db"
    out.mkdir()
    done = mtk_cli("convert", data_dir / f"{TAKE}.bvh", out, "--to", "pfnn")
    assert done.code == 2 and "already exists" in done.stderr and not any(out.iterdir())
    missing = tmp_path / "nope.phase"
    done = mtk_cli("convert", data_dir / f"{TAKE}.bvh", tmp_path / "x", "--to", "pfnn", "--phase-from", missing)
    assert done.code == 2 and len(done.stderr.strip().splitlines()) == 1 and "nope.phase" in done.stderr
    assert not (tmp_path / "x").exists()
    done = mtk_cli("convert", data_dir / "humanml3d/new_joint_vecs/012314.npy", tmp_path / "y", "--to", "pfnn",
                   "--skeleton", "pfnn31")
    assert done.code == 2 and "smpl22" in done.stderr and not (tmp_path / "y").exists()


def test_bvh_without_siblings_uses_contacts(data_dir: Path, tmp_path: Path):
    bvh = tmp_path / "take.bvh"
    shutil.copy(data_dir / f"{TAKE}.bvh", bvh)
    out = tmp_path / "db"
    summary = convert_to_pfnn(str(bvh), str(out))
    assert "phase: contacts" in summary and "gait: motion;" in summary
    X, Y, P, layout = read_pfnn_database(out)
    assert layout.clips[0].first_frame == 60  # PFNN's drop rule: a full second of context
    assert len(X) == 1214 - 121 and np.isfinite(X).all() and np.isfinite(Y).all()


def test_bvh_with_footsteps_only_takes_phase_from_them(data_dir: Path, tmp_path: Path):
    for suffix in (".bvh", "_footsteps.txt"):
        shutil.copy(data_dir / f"{TAKE}{suffix}", tmp_path / f"take{suffix}")
    out = tmp_path / "db"
    summary = convert_to_pfnn(str(tmp_path / "take.bvh"), str(out))
    assert "phase: take_footsteps.txt" in summary and "gait: motion;" in summary
    _, _, P, _ = read_pfnn_database(out)
    with np.load(data_dir / "pfnn/reference/LocomotionFlat04_000_database.npz") as ref:
        np.testing.assert_allclose(P, ref["Pun"], atol=1e-4)  # the .phase file is this curve, rounded


@pytest.mark.parametrize("layout", ["hml263", "smpl272"])
def test_sample_dataset_exports_and_rebuilds(tmp_path: Path, mtk_cli, layout: str):
    from mtk.formats.datasets import open_dataset

    src, out = tmp_path / "sample", tmp_path / "db"
    assert mtk_cli("sample", src, "--layout", layout, "--count", "6").code == 0
    done = mtk_cli("convert", src, out, "--to", "pfnn", "--skeleton", "smpl22", "--workers", "2")
    assert done.code == 0, done.stderr
    X, Y, P, layout = read_pfnn_database(out)
    assert np.isfinite(X).all() and np.isfinite(Y).all() and ((P >= 0) & (P < 1)).all()
    reader = open_dataset(src)
    for clip in layout.clips:
        rows = slice(*clip.rows)
        assert (Y[rows, 3] > 0).all()  # dphase: the phase moves forward in every row
        # P follows its own increments (wrapping at 1): the phase rises through each cycle
        expected = np.mod(P[rows][:-1] + Y[rows, 3][:-1] * 60 / clip.fps, 1.0)
        wrap_gap = np.abs(expected - P[rows][1:])
        assert np.minimum(wrap_gap, 1 - wrap_gap).max() < 1e-4
        joints = recover_joints(reader.read(clip.name).features.astype(np.float64), reader.info.layout)
        assert _rebuild_error(Y[rows], joints, clip.first_frame, clip.fps) < 1e-3
    reader.close()


def test_phase_and_gait_from_files(data_dir: Path, tmp_path: Path):
    src = data_dir / "humanml3d/new_joint_vecs/012314.npy"
    np.savetxt(tmp_path / "012314.phase", np.linspace(0, 0.99, 170))
    np.savetxt(tmp_path / "walk.gait", np.tile([0, 1, 0, 0, 0, 0, 0, 0], (170, 1)))
    summary = convert_to_pfnn(str(src), str(tmp_path / "db"), phase_from=str(tmp_path),
                              gait_from=str(tmp_path / "walk.gait"))
    assert "phase: 012314.phase" in summary and "gait: walk.gait" in summary
    X, Y, P, _ = read_pfnn_database(tmp_path / "db")
    columns = pfnn_columns(get_preset("smpl22").skeleton.joint_names)
    np.testing.assert_allclose(P, np.linspace(0, 0.99, 170)[1:-1], atol=1e-7)
    np.testing.assert_allclose(Y[:, 3], 0.99 / 169 * 20 / 60, rtol=1e-5)  # per 1/60 s
    assert (X[:, columns.x_group("gait_walk").slice] == 1).all()
    np.savetxt(tmp_path / "short.phase", np.zeros(10))
    with pytest.raises(MtkError, match="has 10 frames"):
        convert_to_pfnn(str(src), str(tmp_path / "db2"), phase_from=str(tmp_path / "short.phase"))
    assert not (tmp_path / "db2").exists()


def test_motionmillion_folder_from_the_real_272_sample(data_dir: Path, tmp_path: Path):
    features = np.load(data_dir / "smpl272/features/000000.npy")
    root = tmp_path / "mm"
    (root / "motion_data/vector_272/clips").mkdir(parents=True)
    np.save(root / "motion_data/vector_272/clips/000000.npy", features)
    np.save(root / "motion_data/vector_272/clips/tail.npy", features[700:])
    convert_to_pfnn(str(root), str(tmp_path / "db"), fps=60.0)  # this sample was made at 60 fps
    X, Y, P, layout = read_pfnn_database(tmp_path / "db")
    assert np.isfinite(X).all() and np.isfinite(Y).all()
    assert [c.name for c in layout.clips] == ["clips/000000", "clips/tail"]
    for clip in layout.clips:
        start, stop = clip.rows
        source = features if clip.name.endswith("000000") else features[700:]
        joints = recover_joints(source, get_layout("smpl272"))
        assert clip.sources["contacts"] == "foot speed" and clip.sources["rotations"] == "SMPL (272)"
        assert _rebuild_error(Y[start:stop], joints, clip.first_frame, 60.0) < 1e-3


def test_worker_errors_reach_the_cli(data_dir: Path, tmp_path: Path, mtk_cli):
    src = _dataset(tmp_path / "hml", data_dir)
    (tmp_path / "phases").mkdir()
    np.savetxt(tmp_path / "phases" / "012314.phase", np.zeros(170))  # a and b have none
    done = mtk_cli("convert", src, tmp_path / "db", "--to", "pfnn", "--workers", "2", "--phase-from",
                   tmp_path / "phases")
    assert done.code == 2 and "a.phase: no such file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "db").exists()


def test_kit_dataset_recomputes_contacts(tmp_path: Path):
    src = make_npy_dataset(tmp_path / "kit", "kit251", count=2, min_frames=60, max_frames=80)
    summary = convert_to_pfnn(str(src), str(tmp_path / "db"))
    assert "kit21, 12.5 fps" in summary
    X, Y, _, layout = read_pfnn_database(tmp_path / "db")
    assert (X.shape[1], Y.shape[1]) == (282, 221) and np.isfinite(X).all() and np.isfinite(Y).all()
    assert {c.sources["contacts"] for c in layout.clips} == {"foot speed"}


def test_contact_phase_matches_pfnn_labels(data_dir: Path):
    source = source_from_bvh(data_dir / f"{TAKE}.bvh", ExportOptions(phase_from="contacts"))
    labelled = read_phase(data_dir / f"{TAKE}.phase")[::2]
    error = np.abs(source.motion.phase - labelled)
    error = np.minimum(error, 1 - error)[49:966]  # the labelled span: first to last footstep
    assert source.used["phase"] == "contacts"
    assert np.median(error) < 0.06 and np.percentile(error, 90) < 0.15


def test_damaged_databases_fail_cleanly(pfnn_export: Path, tmp_path: Path, mtk_cli):
    copy = tmp_path / "db"
    shutil.copytree(pfnn_export, copy)
    (copy / "layout.json").write_text('{"x_groups": [{"name": "a", "start": 0, "stop": 999}], "y_groups": []}')
    done = mtk_cli("inspect", copy)
    assert done.code == 2 and "layout.json: is not a valid PFNN layout" in done.stderr
    (copy / "layout.json").unlink()
    data = (copy / "database.npz").read_bytes()
    (copy / "database.npz").write_bytes(data[: len(data) // 2])
    done = mtk_cli("inspect", copy / "database.npz")
    assert done.code == 2 and len(done.stderr.strip().splitlines()) == 1
    np.savez(copy / "database.npz", Xun=np.zeros(5), Yun=np.zeros((5, 2)), Pun=np.zeros(5))
    with pytest.raises(MtkError, match="expected \\(N, X\\)"):
        read_pfnn_database(copy)
    X = np.zeros((4, 342), np.float32)
    np.savez(copy / "database.npz", Xun=X, Yun=np.zeros((4, 311), np.float32), Pun=np.array([0, 0.5, np.nan, 2]))
    done = mtk_cli("inspect", copy, "--json")
    assert done.code == 1 and "phase_range" in done.stdout


def test_degenerate_joints_are_refused(tmp_path: Path, mtk_cli):
    np.save(tmp_path / "still.npy", np.zeros((40, 22, 3), np.float32))
    done = mtk_cli("convert", tmp_path / "still.npy", tmp_path / "db", "--to", "pfnn")
    assert done.code == 2 and "still: gives NaN or Inf PFNN rows" in done.stderr
    assert not (tmp_path / "db").exists()
