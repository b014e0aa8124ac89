"""PFNN's own network: import from its demo samples, the section-3 figures on mtk's export of its take, the
export round trip, and hostile .bin folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mtk.errors import BadInputError
from mtk.pfnn.exchange import MAX_RESIDUAL, export_demo, import_demo, solve_controls
from mtk.pfnn.phase_function import control_weights, sample_phases

SAMPLES = (0, 12, 25, 37)
NAMES = ("W0", "W1", "W2", "b0", "b1", "b2")


@pytest.fixture(scope="module")
def network_dir(data_dir: Path) -> Path:
    return data_dir / "pfnn" / "network"


@pytest.fixture(scope="module")
def pfnn_network(network_dir: Path):
    return import_demo(network_dir)


@pytest.fixture(scope="module")
def locomotion_db(data_dir: Path, tmp_path_factory) -> Path:
    from mtk.pfnn.export import convert_to_pfnn

    out = tmp_path_factory.mktemp("pfnn") / "db"
    convert_to_pfnn(str(data_dir / "pfnn" / "animations" / "LocomotionFlat04_000.bvh"), str(out))
    return out


def test_import_reads_pfnns_network(pfnn_network):
    assert (pfnn_network.x_dim, pfnn_network.hidden, pfnn_network.y_dim) == (342, 512, 311)
    assert pfnn_network.meta.skeleton == "pfnn31" and pfnn_network.meta.unit == "cm"
    assert pfnn_network.meta.metres_per_unit == 0.01
    assert pfnn_network.meta.imported_samples == list(SAMPLES)
    assert pfnn_network.meta.fps == 60.0


def test_section_3_figures(pfnn_network, locomotion_db: Path, data_dir: Path):
    from mtk.pfnn.evaluate import evaluate_database

    result = evaluate_database(pfnn_network, str(locomotion_db))
    assert result["rows"] == 885
    assert result["normalized_rmse"] == pytest.approx(0.306, abs=0.01)
    assert result["mean_predictor_normalized_rmse"] == pytest.approx(1.086, abs=0.01)
    assert result["joint_position_rmse"] == pytest.approx(1.73, abs=0.05)
    # PFNN's own generator's rows of the take (no layout.json: the columns come from the network's widths)
    reference = evaluate_database(pfnn_network, str(data_dir / "pfnn/reference/LocomotionFlat04_000_database.npz"))
    assert reference["normalized_rmse"] == pytest.approx(result["normalized_rmse"], abs=1e-5)
    assert reference["joint_position_rmse"] == pytest.approx(result["joint_position_rmse"], abs=1e-5)


def test_export_gives_back_the_four_samples(pfnn_network, network_dir: Path, tmp_path: Path):
    export_demo(pfnn_network, tmp_path)
    assert len(list(tmp_path.glob("*.bin"))) == 4 + 6 * 50
    for index in SAMPLES:
        for name in NAMES:
            theirs = np.fromfile(network_dir / f"{name}_{index:03d}.bin", dtype="<f4")
            ours = np.fromfile(tmp_path / f"{name}_{index:03d}.bin", dtype="<f4")
            assert ours.shape == theirs.shape
            assert np.abs(ours - theirs).max() <= 1e-6 * np.abs(theirs).max()
    for name in ("Xmean", "Xstd", "Ymean", "Ystd"):
        assert (tmp_path / f"{name}.bin").read_bytes() == (network_dir / f"{name}.bin").read_bytes()
    again = import_demo(tmp_path)  # all 50 samples: least squares over 50, same network
    for name in NAMES:
        np.testing.assert_allclose(again.controls[name], pfnn_network.controls[name], atol=2e-6)


def test_solve_controls_is_exact_for_any_four_phases():
    rng = np.random.default_rng(0)
    controls = rng.normal(size=(4, 3, 2))
    for indices in ([0, 12, 25, 37], [3, 9, 30, 44, 49], list(range(50))):
        phases = sample_phases(indices)
        samples = np.tensordot(control_weights(phases), controls, 1)
        solved, residual = solve_controls(phases, samples)
        np.testing.assert_allclose(solved, controls, atol=1e-10)
        assert residual < 1e-12


def _copy(network_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "net"
    shutil.copytree(network_dir, folder)
    return folder


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "W1_012.bin").write_bytes((f / "W1_012.bin").read_bytes()[:-4]), "W1_012.bin: has 1048572 bytes"),
    (lambda f: (f / "b2_025.bin").unlink(), "sample 025 lacks b2_025.bin"),
    (lambda f: (f / "Xmean.bin").unlink(), "Xmean.bin: is missing"),
    (lambda f: (f / "Ymean.bin").write_bytes(b"\0" * 4 * 300), "Ystd.bin: has 1244 bytes, expected 1200"),
    (lambda f: (f / "Xmean.bin").write_bytes(b"\0\0\0"), "Xmean.bin: has 3 bytes"),
    (lambda f: [(f / f"{n}_037.bin").unlink() for n in NAMES], "holds 3 complete phase sample(s)"),
    (lambda f: (f / "W0_077.bin").write_bytes(b""), "W0_077.bin: is sample 77"),
    (lambda f: [(f / f"b0_{i:03d}.bin").write_bytes(b"\0" * 4 * 9000) for i in SAMPLES], "1 to 8192 values"),
])
def test_hostile_folders_are_refused(network_dir: Path, tmp_path: Path, damage, message: str):
    folder = _copy(network_dir, tmp_path)
    damage(folder)
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_demo(folder)


def test_nan_and_inconsistent_samples_are_refused(network_dir: Path, tmp_path: Path):
    folder = _copy(network_dir, tmp_path)
    values = np.fromfile(folder / "b0_012.bin", dtype="<f4")
    values[5] = np.nan
    values.tofile(folder / "b0_012.bin")
    with pytest.raises(BadInputError, match="b0_012.bin: holds NaN"):
        import_demo(folder)
    # a fifth sample that is not on the spline through the other four
    folder = _copy(network_dir, tmp_path / "b")
    for name in NAMES:
        data = np.fromfile(folder / f"{name}_000.bin", dtype="<f4")
        (data * 1.01).astype("<f4").tofile(folder / f"{name}_006.bin")
    with pytest.raises(BadInputError, match="not one Catmull-Rom blend"):
        import_demo(folder)
    assert MAX_RESIDUAL == 1e-5


def test_cli_import_eval_export(network_dir: Path, locomotion_db: Path, tmp_path: Path, mtk_cli):
    net = tmp_path / "pfnn.pth"
    done = mtk_cli("pfnn", "import", network_dir, "--out", net)
    assert done.code == 0, done.stderr
    assert "from samples 000, 012, 025, 037" in done.stdout
    done = mtk_cli("pfnn", "eval", network_dir, locomotion_db, "--json")  # the .bin folder itself
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["rows"] == 885
    assert document["normalized_rmse"] == pytest.approx(0.306, abs=0.01)
    assert document["joint_position_rmse"] == pytest.approx(1.73, abs=0.05)
    done = mtk_cli("pfnn", "export", net, "--out", tmp_path / "bins")
    assert done.code == 0, done.stderr
    assert (tmp_path / "bins" / "b2_049.bin").stat().st_size == 311 * 4
    broken = _copy(network_dir, tmp_path / "broken")
    (broken / "W2_000.bin").write_bytes(b"\0" * 8)
    done = mtk_cli("pfnn", "import", broken, "--out", tmp_path / "x.pth")
    assert done.code == 2 and done.stderr.startswith("mtk: error: ") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pth").exists()


def test_network_argument_forms(pfnn_network, tmp_path: Path):
    from mtk.errors import MtkError
    from mtk.pfnn.netfile import BEST, load_network, save_network

    (tmp_path / "run").mkdir()
    save_network(tmp_path / "run" / BEST, pfnn_network)
    for form in (tmp_path / "run", tmp_path / "run" / BEST):
        loaded = load_network(form)
        np.testing.assert_array_equal(loaded.controls["W1"], pfnn_network.controls["W1"].astype(np.float32))
        assert loaded.meta == pfnn_network.meta
    with pytest.raises(MtkError, match="no such network file"):
        load_network(tmp_path / "nothing.pth")
    with pytest.raises(MtkError, match="holds no net_best.pth or net_latest.pth"):
        load_network(tmp_path)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(BadInputError, match="is not a weights-only torch file"):
        load_network(tmp_path / "junk.pth")


def _small_smpl22_network(fps: float = 20.0):
    from mtk.pfnn.meta import NetworkMeta
    from mtk.pfnn.weights import PfnnWeights, param_shapes

    meta = NetworkMeta("smpl22", fps, "6d", "none", gait_speeds={"stand": 0.0, "walk": 0.02, "jog": 0.05},
                       root_height=(0.7, 1.1))
    columns = meta.columns
    rng = np.random.default_rng(0)
    controls = {n: rng.normal(size=(4, *s)) for n, s in param_shapes(columns.x_dim, columns.y_dim, 8).items()}
    norm = {"Xmean": rng.normal(size=columns.x_dim), "Xstd": rng.random(columns.x_dim) + 0.5,
            "Ymean": rng.normal(size=columns.y_dim), "Ystd": rng.random(columns.y_dim) + 0.5}
    return PfnnWeights(controls, norm, meta)


def test_export_import_keeps_what_mtk_knows(tmp_path: Path):
    weights = _small_smpl22_network()
    export_demo(weights, tmp_path)
    again = import_demo(tmp_path)
    assert (again.x_dim, again.hidden, again.y_dim) == (252, 8, 296)
    for key in ("skeleton", "fps", "rotations", "terrain", "gait_speeds", "root_height", "columns"):
        assert getattr(again.meta, key) == getattr(weights.meta, key), key
    for name in NAMES:
        np.testing.assert_allclose(again.controls[name], weights.controls[name], rtol=1e-5, atol=1e-5)
    (tmp_path / "mtk_network.json").unlink()  # without it: the widths say smpl22 / 6d / no terrain, 30 fps
    assert import_demo(tmp_path).meta.fps == 30.0


@pytest.mark.parametrize("sidecar, message", [
    ('{"mtk_pfnn": 1, "meta": {"skeleton": "pfnn31", "rotations": "logquat", "terrain": "zero", "fps": 60}}',
     "describes X 342 / Y 311"),
    ('{"mtk_pfnn": 1, "meta": {"skeleton": "smpl22", "rotations": "6d", "terrain": "none", "fps": -5}}',
     "unusable fps"),
    ('{"mtk_pfnn": 1, "meta": {"skeleton": "../../etc", "rotations": "6d", "terrain": "none", "fps": 20}}',
     "names no known export"),
    ("not json", "is not valid JSON"),
    ("[1, 2]", "has no 'meta' object"),
])
def test_hostile_sidecars_are_refused(tmp_path: Path, sidecar: str, message: str):
    export_demo(_small_smpl22_network(), tmp_path)
    (tmp_path / "mtk_network.json").write_text(sidecar)
    with pytest.raises(BadInputError, match=message):
        import_demo(tmp_path)
