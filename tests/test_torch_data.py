"""WindowDataset / MotionDataset over npy folders, Zarr and HDF5 stores."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
import torch
from factories import make_npy_dataset
from torch.utils.data import DataLoader

import mtk
from mtk.formats.datasets import open_dataset
from mtk.jobs.convert_dataset import convert_dataset


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("torchdata")
    src = make_npy_dataset(root / "src", "smpl272", count=40, min_frames=30, max_frames=150)
    convert_dataset(str(src), str(root / "d.zarr"), chunk_frames=32, shard_frames=256)
    convert_dataset(str(src), str(root / "d.h5"), chunk_frames=32, shard_frames=256)
    return {"npy": src, "zarr": root / "d.zarr", "hdf5": root / "d.h5"}


def source_of(window: np.ndarray, motions: dict[str, np.ndarray]) -> str:
    """The one motion a (normalised) window was cut from."""
    found = [name for name, m in motions.items()
             if any(np.array_equal(m[s:s + len(window)], window) for s in range(len(m) - len(window) + 1))]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("kind", ["npy", "zarr", "hdf5"])
def test_every_motion_drawn_once_per_epoch_with_workers(stores, kind):
    with pytest.warns(UserWarning, match="shorter than the 64-frame window"):
        ds = mtk.WindowDataset(stores[kind], window=64, split="train")
    reader = open_dataset(stores["npy"])
    train = reader.info.split_names("train")
    lengths = {n: reader.length(n) for n in train}
    assert ds.excluded == sum(v < 64 for v in lengths.values()) > 0
    assert sorted(ds.names) == sorted(n for n in train if lengths[n] >= 64)
    mean, std = reader.info.stats.mean.astype(np.float32), reader.info.stats.std.astype(np.float32)
    np.testing.assert_array_equal(ds.mean, mean)
    motions = {n: ((reader.read(n).features - mean) / std).astype(np.float32) for n in ds.names}
    loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=2)
    drawn = Counter()
    for batch in loader:
        assert batch.dtype == torch.float32 and batch.shape[1:] == (64, 272)
        for window in batch.numpy():
            drawn[source_of(window, motions)] += 1
    assert drawn == Counter({n: 1 for n in ds.names})


def test_window_dataset_reads_the_window_a_key_names(stores):
    ds = mtk.WindowDataset(stores["zarr"], window=25)
    reader = open_dataset(stores["npy"])
    stats = reader.info.stats
    name = ds.names[1]
    expected = ((reader.read(name).features[7:32] - stats.mean) / stats.std).astype(np.float32)
    np.testing.assert_allclose(ds[(1, 7)].numpy(), expected, rtol=1e-6, atol=1e-6)
    last = int(ds.lengths[1]) - 25
    assert ds[(1, last)].shape == (25, 272)
    for start in (-1, last + 1):
        with pytest.raises(IndexError, match="outside motion"):
            ds[(1, start)]


def test_window_dataset_pickles_without_open_files(stores):
    ds = mtk.WindowDataset(stores["hdf5"], window=25)
    ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._reader is None and clone[1].shape == (25, 272)


def test_motion_dataset_pads_and_names(stores):
    ds = mtk.MotionDataset(stores["zarr"], split="test", max_length=100)
    reader = open_dataset(stores["npy"])
    assert ds.names == reader.info.split_names("test")
    batch = next(iter(DataLoader(ds, batch_size=3, num_workers=2)))
    assert batch["features"].shape == (3, 100, 272)
    for features, length, name in zip(batch["features"], batch["length"], batch["name"]):
        raw = reader.read(name).features
        assert int(length) == min(len(raw), 100)
        expected = (raw[:int(length)] - reader.info.stats.mean) / reader.info.stats.std
        np.testing.assert_allclose(features[:length].numpy(), expected, rtol=1e-5, atol=1e-5)
        assert not features[length:].any()


def test_unknown_split_is_a_one_line_error(stores):
    from mtk.errors import MtkError

    with pytest.raises(MtkError, match="split 'nope' is unknown"):
        mtk.MotionDataset(stores["zarr"], split="nope")
