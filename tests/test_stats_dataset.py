"""mtk stats over datasets: the parallel pass, family outputs, the sidecar, skipping, --check, the CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from factories import make_npy_dataset
import mtk.jobs.stats as dataset_stats_module
from mtk.errors import BadInputError, DestinationExistsError, MtkError
from mtk.features import get_layout
from mtk.jobs.stats import check_stats, dataset_stats, write_stats
from test_stats import assert_rel, reference

FAMILY_DIR = {"hml263": "new_joint_vecs", "smpl272": "motion_data/vector_272"}


@pytest.fixture(autouse=True)
def small_runs(monkeypatch):
    """Runs of 16 motions, so that the small test datasets really go through the worker pool."""
    monkeypatch.setattr(dataset_stats_module, "RUN_MOTIONS", 16)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats")
    return {name: make_npy_dataset(root / name, name, count=150, seed=3, max_frames=90)
            for name in ("hml263", "smpl272")}


def motions(folder, layout_name, names):
    return [np.load(folder / FAMILY_DIR[layout_name] / f"{n}.npy") for n in names]


@pytest.mark.parametrize("layout_name", ["hml263", "smpl272"])
@pytest.mark.parametrize("groups,feat_bias", [("layout", 1.0), ("none", 1.0), ("layout", 5.0), ("none", 5.0)])
def test_dataset_stats_equal_numpy_and_do_not_depend_on_workers(datasets, layout_name, groups, feat_bias):
    folder = datasets[layout_name]
    one = dataset_stats(str(folder), groups=groups, feat_bias=feat_bias, workers=1)
    two = dataset_stats(str(folder), groups=groups, feat_bias=feat_bias, workers=2)
    train = (folder / ("split/version1/train.txt" if layout_name == "smpl272" else "train.txt")).read_text().split()
    assert one.split.endswith("train") and one.used == train == two.used
    ref_mean, ref_std = reference(motions(folder, layout_name, train), get_layout(layout_name), groups, feat_bias)
    assert_rel(one.stats.mean, ref_mean)
    assert_rel(one.stats.std, ref_std)
    assert np.array_equal(one.stats.mean, two.stats.mean) and np.array_equal(one.stats.std, two.stats.std)


@pytest.mark.parametrize("store", ["zarr", "hdf5"])
def test_stores_give_the_same_stats_as_the_folder(datasets, tmp_path, store):
    from mtk.formats.datasets import create_writer, open_dataset

    folder = datasets["smpl272"]
    reader = open_dataset(str(folder))
    path = tmp_path / ("data.zarr" if store == "zarr" else "data.h5")
    with create_writer(str(path), store, reader.info) as writer:
        for motion in reader.iter():
            writer.add(motion)
        writer.set_splits(reader.info.splits)
    from_folder = dataset_stats(str(folder), groups="none", workers=1)
    from_store = dataset_stats(str(path), groups="none", workers=2)
    assert from_store.used == from_folder.used and from_store.family == "motionmillion"
    assert np.array_equal(from_store.stats.mean, from_folder.stats.mean)
    assert np.array_equal(from_store.stats.std, from_folder.stats.std)


def test_split_all_and_unknown_split(datasets):
    folder = datasets["hml263"]
    everything = dataset_stats(str(folder), split="all", workers=2)
    assert len(everything.used) == 150 and everything.split == "all"
    assert everything.stats.frames == sum(len(a) for a in motions(folder, "hml263", everything.used))
    with pytest.raises(MtkError, match="split 'nope' is unknown"):
        dataset_stats(str(folder), split="nope")


def test_outputs_follow_the_family(datasets, tmp_path):
    hml = dataset_stats(str(datasets["hml263"]), feat_bias=5.0)
    written = write_stats(hml, tmp_path / "h")
    # feat-biased HumanML3D-family stats take text-to-motion's meta/ names (issue 16, point 7)
    assert [p.relative_to(tmp_path / "h").as_posix() for p in written] == ["mean.npy", "std.npy", "stats.json"]
    assert np.load(written[0]).dtype == np.float32 and np.load(written[1]).dtype == np.float32
    assert np.array_equal(np.load(written[1]), hml.stats.std.astype(np.float32))
    sidecar = json.loads(written[2].read_text())
    assert sidecar["convention"] == "grouped+feat_bias=5" and sidecar["split"] == "train"
    assert sidecar["motions"] == len(hml.used) == 105 and sidecar["frames"] == hml.stats.frames
    assert sidecar["motion_list_sha256"] == hashlib.sha256("".join(f"{n}\n" for n in hml.used).encode()).hexdigest()
    assert sidecar["skipped"] == [] and sidecar["files"] == {"mean": "mean.npy", "std": "std.npy"}

    mm = dataset_stats(str(datasets["smpl272"]), groups="none")
    written = write_stats(mm, tmp_path / "m")
    assert [p.relative_to(tmp_path / "m").as_posix() for p in written] == [
        "mean_std/vector_272/mean.npy", "mean_std/vector_272/std.npy", "mean_std/vector_272/stats.json"]
    assert np.load(written[0]).dtype == np.float64
    assert np.array_equal(np.load(written[1]), mm.stats.std)

    with pytest.raises(DestinationExistsError):
        write_stats(mm, tmp_path / "m")
    write_stats(hml, tmp_path / "m", overwrite=True)  # other family names: no clash


@pytest.fixture
def broken(tmp_path):
    folder = make_npy_dataset(tmp_path / "broken", "smpl272", count=20, seed=5, max_frames=60)
    for name, column in (("000002", 9), ("000011", 100)):
        path = folder / FAMILY_DIR["smpl272"] / f"{name}.npy"
        features = np.load(path)
        features[3, column] = np.nan if column == 9 else np.inf
        np.save(path, features)
    for path in (folder / FAMILY_DIR["smpl272"]).glob("*.npy"):  # constant dims, as raw 272 has
        features = np.load(path)
        features[:, [3, 5, 7, 8, 10]] = 0.0
        features[:, 6] = 1.0
        np.save(path, features)
    return folder


def test_nonfinite_motions_are_skipped_or_fail_with_strict(broken):
    result = dataset_stats(str(broken), split="all", groups="none", workers=2)
    assert [(s.name, s.reason) for s in result.skipped] == [("000002", "holds NaN or Inf"),
                                                            ("000011", "holds NaN or Inf")]
    assert len(result.used) == 18 and "000002" not in result.used
    assert result.stats.zero_dims == [3, 5, 6, 7, 8, 10]
    with pytest.raises(BadInputError, match="motion 000002 holds NaN or Inf"):
        dataset_stats(str(broken), split="all", strict=True, workers=2)


def test_check_finds_the_split_and_convention(datasets, tmp_path):
    folder = datasets["hml263"]
    own = check_stats(str(folder / "Mean.npy"), str(folder / "Std.npy"), str(folder), workers=2)
    assert own.matched_split == "train" and own.check.convention == "per-dim" and own.check.matches_data
    meta = write_stats(dataset_stats(str(folder), split="all", feat_bias=5.0), tmp_path / "meta")
    found = check_stats(str(meta[0]), str(meta[1]), str(folder), workers=1)
    assert found.matched_split == "all" and found.check.convention == "grouped+feat_bias=5"
    assert found.check.feat_bias_basis == "recomputed from the dataset"
    assert {g.label: round(g.ratio, 5) for g in found.check.groups}["foot_contacts"] == 0.2
    alone = check_stats(str(meta[0]), str(meta[1]))
    assert alone.check.grouping == "layout" and alone.matched_split is None
    with pytest.raises(BadInputError, match="swapped"):
        check_stats(str(meta[1]), str(meta[0]))
    with pytest.raises(MtkError, match="split 'nope' is unknown"):
        check_stats(str(meta[0]), str(meta[1]), str(folder), split="nope")


@pytest.mark.parametrize("folder,mean,std,layout,description", [
    ("humanml3d", "Mean.npy", "Std.npy", "hml263", "HumanML3D Mean.npy/Std.npy"),
    ("motionmillion/mean_std/vector_272", "mean.npy", "std.npy", "smpl272", "272 repo / MotionMillion"),
    ("smpl272", "Mean.npy", "Std.npy", "smpl272", "272 repo / MotionMillion"),
])
def test_check_identifies_the_real_files(data_dir, tmp_path, folder, mean, std, layout, description):
    result = check_stats(str(data_dir / folder / mean), str(data_dir / folder / std))
    check = result.check
    assert check.layout == layout and check.grouping == "layout" and check.feat_bias == 1.0
    assert check.convention == "grouped" and check.description.startswith(description)
    from mtk.stats.moments import apply_feat_bias

    biased = tmp_path / "std5.npy"
    np.save(biased, apply_feat_bias(np.load(data_dir / folder / std), get_layout(layout), 5.0))
    assert check_stats(str(data_dir / folder / mean), str(biased)).check.convention == "grouped+feat_bias=5"
    per_dim = tmp_path / "per_dim.npy"
    values = np.load(data_dir / folder / std)
    np.save(per_dim, values * np.linspace(0.9, 1.1, values.size))
    assert check_stats(str(data_dir / folder / mean), str(per_dim)).check.grouping == "none"


def test_cli_stats_json_out_and_errors(mtk_cli, broken, tmp_path):
    done = mtk_cli("stats", broken, "--split", "all", "--groups", "none", "--out", tmp_path / "o", "--json")
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["motions"] == 18 and [s["name"] for s in document["skipped"]] == ["000002", "000011"]
    assert document["zero_std_dims"] == [3, 5, 6, 7, 8, 10] and len(document["std"]) == 272
    assert (tmp_path / "o/mean_std/vector_272/std.npy").is_file()
    again = mtk_cli("stats", broken, "--split", "all", "--out", tmp_path / "o")
    assert again.code == 2 and again.stderr.startswith("mtk: error: ") and "--overwrite" in again.stderr
    strict = mtk_cli("stats", broken, "--strict", "--split", "all", "--out", tmp_path / "s")
    assert strict.code == 2 and "000002 holds NaN or Inf" in strict.stderr
    assert len(strict.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()
    assert mtk_cli("stats").code == 2


def test_cli_check_real_files(mtk_cli, data_dir):
    folder = data_dir / "motionmillion/mean_std/vector_272"
    done = mtk_cli("stats", "--check", folder / "mean.npy", folder / "std.npy", "--json")
    assert done.code == 0, done.stderr
    check = json.loads(done.stdout)["check"]
    assert check["convention"] == "grouped" and [g["grouping"] for g in check["groups"]] == ["grouped"] * 5
    text = mtk_cli("stats", "--check", data_dir / "humanml3d/Mean.npy", data_dir / "humanml3d/Std.npy")
    assert text.code == 0 and "HumanML3D" in text.stdout and "binary contacts" in text.stdout


@pytest.fixture
def real_datasets(data_dir, tmp_path):
    """The real HumanML3D folder as it is, and a MotionMillion folder holding the real 272 sample."""
    mm = tmp_path / "mm"
    (mm / FAMILY_DIR["smpl272"]).mkdir(parents=True)
    (mm / FAMILY_DIR["smpl272"] / "000000.npy").write_bytes((data_dir / "smpl272/features/000000.npy").read_bytes())
    return {"hml263": (data_dir / "humanml3d", data_dir / "humanml3d/new_joint_vecs/012314.npy"),
            "smpl272": (mm, data_dir / "smpl272/features/000000.npy")}


@pytest.mark.parametrize("layout_name", ["hml263", "smpl272"])
def test_real_samples_in_every_convention(real_datasets, layout_name):
    folder, motion = real_datasets[layout_name]
    features = np.load(motion)
    for groups in ("layout", "none"):
        for feat_bias in (1.0, 5.0):
            result = dataset_stats(str(folder), split="all", groups=groups, feat_bias=feat_bias, workers=1)
            ref_mean, ref_std = reference([features], get_layout(layout_name), groups, feat_bias)
            assert result.stats.frames == len(features)
            assert_rel(result.stats.mean, ref_mean)
            assert_rel(result.stats.std, ref_std)
    per_dim = dataset_stats(str(folder), split="all", groups="none", workers=1).stats
    if layout_name == "smpl272":  # structural constants, the root's R02 (0 up to 1e-8), this clip's foot rotations
        assert per_dim.zero_dims == [3, 5, 6, 7, 8, 10, 74, 76, 142, *range(200, 212)]
    else:
        assert per_dim.zero_dims == []
