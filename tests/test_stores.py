"""Dataset stores: npy folders (HumanML3D/KIT and MotionMillion layouts), Zarr, HDF5."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import make_npy_dataset

from mtk.errors import DestinationExistsError
from mtk.formats.base import DatasetReader
from mtk.formats.datasets import create_writer, open_dataset


def tree_identical(a: Path, b: Path) -> bool:
    """Same relative file names and the same bytes everywhere."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def copy_dataset(reader, dst: Path, fmt: str, **options) -> None:
    with create_writer(dst, fmt, reader.info, **options) as writer:
        for motion in reader.iter():
            writer.add(motion)
        writer.set_splits(reader.info.splits)
        if reader.info.stats is not None:
            writer.set_stats(reader.info.stats)


@pytest.mark.parametrize("layout", ["hml263", "kit251", "smpl272"])
def test_npy_folder_reads_its_family_layout(tmp_path, layout):
    names = [f"set{i % 2}/{i:04d}" for i in range(8)] if layout == "smpl272" else None
    src = make_npy_dataset(tmp_path / "src", layout, count=8, names=names)
    reader = open_dataset(src)
    assert isinstance(reader, DatasetReader)
    info = reader.info
    assert info.layout.name == layout
    assert len(reader) == 8
    assert info.family == ("motionmillion" if layout == "smpl272" else "humanml3d")
    first = reader.names[0]
    motion = reader.read(first)
    file = src / ("motion_data/vector_272" if layout == "smpl272" else "new_joint_vecs") / f"{first}.npy"
    np.testing.assert_array_equal(motion.features, np.load(file))
    assert motion.features.dtype == np.load(file).dtype
    assert reader.length(first) == len(motion.features)
    assert motion.texts[0].startswith("a person does thing 0#")
    train = info.split_names("train")
    assert train == names[:5] if names else train == [f"{i:06d}" for i in range(5)]
    np.testing.assert_array_equal(reader.read_window(first, 3, 10), motion.features[3:13])


@pytest.mark.parametrize("layout", ["hml263", "smpl272"])
def test_npy_folder_writer_round_trip_is_byte_identical(tmp_path, layout):
    src = make_npy_dataset(tmp_path / "src", layout, count=6)
    copy_dataset(open_dataset(src), tmp_path / "out", "npy")
    assert tree_identical(src, tmp_path / "out")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_writer_refuses_existing_destination(tmp_path):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=3)
    with pytest.raises(DestinationExistsError):
        create_writer(src, "npy", open_dataset(src).info)


def test_real_humanml3d_split_files_keep_names_without_data(tmp_path, data_dir):
    root = tmp_path / "hml"
    shutil.copytree(data_dir / "humanml3d", root)
    reader = open_dataset(root)
    assert reader.names == ["012314"]
    assert len(reader.info.splits["train"]) == 23384
    assert reader.info.stats.mean.shape == (263,)


def zarr_and_hdf5_round_trip(src: Path, tmp_path: Path) -> Path:
    copy_dataset(open_dataset(src), tmp_path / "a.zarr", "zarr", chunk_frames=64, shard_frames=256)
    copy_dataset(open_dataset(tmp_path / "a.zarr"), tmp_path / "a.h5", "hdf5", chunk_frames=64, shard_frames=256)
    copy_dataset(open_dataset(tmp_path / "a.h5"), tmp_path / "back", "npy")
    return tmp_path / "back"


@pytest.mark.parametrize("layout", ["hml263", "smpl272"])
def test_npy_zarr_hdf5_npy_is_byte_identical(tmp_path, layout):
    names = [f"sub{i % 3}/{i:05d}" for i in range(40)] if layout == "smpl272" else None
    src = make_npy_dataset(tmp_path / "src", layout, count=40, names=names)
    back = zarr_and_hdf5_round_trip(src, tmp_path)
    assert tree_identical(src, back)
    store = open_dataset(tmp_path / "a.zarr")
    assert type(store).__name__ == "ZarrReader"
    assert store.info.stats.mean.dtype == np.load(next(src.rglob("mean.npy" if names else "Mean.npy"))).dtype


def test_real_humanml3d_round_trip_keeps_split_names_without_data(tmp_path, data_dir):
    src = tmp_path / "hml"
    src.mkdir()
    for item in ("new_joint_vecs", "Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt"):
        (shutil.copytree if (data_dir / "humanml3d" / item).is_dir() else shutil.copy)(
            data_dir / "humanml3d" / item, src / item)
    back = zarr_and_hdf5_round_trip(src, tmp_path)
    assert tree_identical(src, back)
    store = open_dataset(tmp_path / "a.zarr")
    assert len(store.info.splits["train"]) == 23384
    assert store.info.split_names("train") == (src / "train.txt").read_text().split()


def test_zarr_store_on_fsspec_memory_url(tmp_path):
    src = make_npy_dataset(tmp_path / "src", "hml263", count=10)
    url = f"memory://{tmp_path.name}/data.zarr"
    copy_dataset(open_dataset(src), url, "zarr", chunk_frames=64, shard_frames=256)
    store = open_dataset(url)
    source = open_dataset(src)
    assert store.names == source.names
    for name in source.names:
        a, b = store.read(name), source.read(name)
        np.testing.assert_array_equal(a.features, b.features)
        assert a.texts == b.texts
    np.testing.assert_array_equal(store.read_window("000003", 2, 20), source.read("000003").features[2:22])


def test_store_opens_with_plain_zarr_and_h5py(tmp_path):
    import h5py
    import zarr

    src = make_npy_dataset(tmp_path / "src", "hml263", count=10)
    zarr_and_hdf5_round_trip(src, tmp_path)
    source = open_dataset(src)
    group = zarr.open_group(tmp_path / "a.zarr", mode="r")
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        for container, names, texts in ((group, group["names"][:], group["texts"]),
                                        (h5, h5["names"].asstr()[:], h5["texts"].asstr())):
            assert container.attrs["mtk_format"] == 1 and container.attrs["layout"] == "hml263"
            offsets = container["offsets"][:]
            i = list(names).index("000004")
            np.testing.assert_array_equal(container["features"][offsets[i]:offsets[i + 1]],
                                          source.read("000004").features)
            assert str(texts[i]).split("\n") == source.read("000004").texts
            train = container["splits/train"][:]
            assert [str(names[j]) for j in train] == source.info.splits["train"]


def test_readers_pickle_without_open_handles(tmp_path):
    import pickle

    src = make_npy_dataset(tmp_path / "src", "hml263", count=6)
    zarr_and_hdf5_round_trip(src, tmp_path)
    for path in (tmp_path / "a.zarr", tmp_path / "a.h5", src):
        reader = open_dataset(path)
        before = reader.read("000002").features
        clone = pickle.loads(pickle.dumps(reader))
        np.testing.assert_array_equal(clone.read("000002").features, before)
        assert [m.name for m in clone.iter_names(["000005", "000001"])] == ["000005", "000001"]
        reader.close()


def test_zarr_fast_window_path_matches_zarr_slicing(tmp_path):
    import zarr

    src = make_npy_dataset(tmp_path / "src", "smpl272", count=30, min_frames=40, max_frames=300)
    copy_dataset(open_dataset(src), tmp_path / "a.zarr", "zarr", chunk_frames=32, shard_frames=128)
    store = open_dataset(tmp_path / "a.zarr")
    assert store.handle.shard_files is not None
    features = zarr.open_array(tmp_path / "a.zarr/features", mode="r")
    source = open_dataset(src)
    np.testing.assert_array_equal(features[:], np.concatenate([source.read(n).features for n in store.names]))
    rng = np.random.default_rng(1)
    total = features.shape[0]
    for _ in range(50):
        a = int(rng.integers(0, total - 1))
        b = int(rng.integers(a + 1, min(total, a + 400) + 1))
        np.testing.assert_array_equal(store.handle.window(a, b), features[a:b])


def test_docs_layout_tables_match_the_schemas():
    import importlib.util

    docs = Path(__file__).resolve().parent.parent / "docs"
    spec = importlib.util.spec_from_file_location("layout_tables", docs / "layout_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (docs / "formats.md").read_text()
    start = text.index("<!-- layout tables: python docs/layout_tables.py -->\n")
    between = text[start:text.index("<!-- end layout tables -->")].split("\n", 1)[1]
    assert between.strip() == module.layout_tables().strip()


def test_hdf5_direct_chunk_reads_match_h5py_slicing(tmp_path):
    import h5py

    src = make_npy_dataset(tmp_path / "src", "smpl272", count=20, min_frames=40, max_frames=300)
    copy_dataset(open_dataset(src), tmp_path / "a.h5", "hdf5", chunk_frames=32, shard_frames=128)
    store = open_dataset(tmp_path / "a.h5")
    assert store.handle.chunk_file is not None
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        features = h5["features"][:]
    rng = np.random.default_rng(2)
    for _ in range(50):
        a = int(rng.integers(0, len(features) - 1))
        b = int(rng.integers(a + 1, min(len(features), a + 400) + 1))
        np.testing.assert_array_equal(store.handle.window(a, b), features[a:b])
