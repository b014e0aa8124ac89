"""Dataset stores: npy folders (HumanML3D/KIT and MotionMillion layouts), Zarr, HDF5."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import make_npy_dataset

from mtk.errors import DestinationExistsError
from mtk.formats.datasets import create_writer, open_dataset
from mtk.formats.model import DatasetReader


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
