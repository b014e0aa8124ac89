"""Issue #24, class 3: decompressed sizes are bounded before anything is allocated.

Contract asserted here (the bounds are stated in docs/formats.md, "Safety"):
- ``.npz`` archives (PFNN databases): each member's ``.npy`` header must match the member's size in the zip
  directory, and a deflated member may declare at most 200x its compressed bytes (above 64 MiB): a header
  declaring (10^9, 288) or a deflate bomb is refused in bounded memory.
- HDF5: a filtered (compressed) dataset may declare chunks of at most 256 MiB and at most 200x its stored
  bytes; attributes at most 4 MiB.
- Zarr: a chunk may declare at most 256 MiB decoded, an array at most 200x its files' bytes, a compressed chunk
  may not decode past 256 MiB (its frame header says, before decoding), metadata documents at most 4 MiB.
- The evaluators ``mtk metrics`` reads: a checkpoint's zip directory is judged before ``torch.load``; the GloVe
  vectors' ``.npy`` header against the file size.
Refusals are one line naming the file (or an error finding in inspect/validate), under 1 GB of memory.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from hostile import assert_bounded, assert_one_line_error, mtk, mtk_here, sample_here, store_here, tree_state

BOMB_BYTES = 300 << 20  # decodes to 300 MiB: past every bound, cheap to make (streamed zeros)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("compression")
    data = sample_here(root / "data", count=4)
    assert mtk_here("-q", "convert", data, root / "db", "--to", "pfnn").code == 0
    return {"data": data, "db": root / "db", "zarr": store_here(data, root / "data.zarr"),
            "h5": store_here(data, root / "data.h5")}


def reported(run, *facts):
    assert_bounded(run)
    assert run.code in (1, 2) and "internal error" not in run.output and "no findings" not in run.output, run.output
    for fact in facts:
        assert fact in run.output, (fact, run.output)


def deflated_zeros(size: int, gzip: bool = False) -> bytes:
    """``size`` zero bytes deflated (raw deflate, or a gzip member), streamed: little memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if gzip else -15)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    parts.append(packer.compress(bytes(size % (1 << 20))))
    parts.append(packer.flush())
    return b"".join(parts)


# -- .npz ----------------------------------------------------------------------------------------------------

def _npy_header(shape, dtype="<f4") -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _replace_member(npz, name: str, data: bytes, declared_size: int | None = None, deflate: bool = False) -> None:
    """Rewrite the archive with member ``name`` holding ``data`` (raw deflate when ``deflate``); the zip
    directory declares ``declared_size`` uncompressed bytes (default: the truth)."""
    with zipfile.ZipFile(npz) as archive:
        others = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != name}
    with zipfile.ZipFile(npz, "w") as archive:
        for key, value in others.items():
            archive.writestr(key, value)
    if not deflate and declared_size is None:
        with zipfile.ZipFile(npz, "a") as archive:
            archive.writestr(name, data)
        return
    _append_raw_member(npz, name, data, declared_size, 0 if not deflate else 8)


def _append_raw_member(npz, name: str, payload: bytes, size: int, method: int) -> None:
    """Append a member whose stored bytes are ``payload`` (already compressed by ``method``) and whose headers
    declare ``size`` uncompressed bytes (zip64 fields when it needs them), then a fresh central directory."""
    with zipfile.ZipFile(npz) as archive:
        infos = [(info, archive.read(info)) for info in archive.infolist()]
    with open(npz, "wb") as out:
        entries = []
        for info, data in infos:
            offset = out.tell()
            header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, zlib.crc32(data), len(data),
                                 len(data), len(info.filename), 0)
            out.write(header + info.filename.encode() + data)
            entries.append((info.filename.encode(), 0, zlib.crc32(data), len(data), len(data), offset))
        offset = out.tell()
        big = size >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, size, len(payload)) if big else b""
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0, 0,
                             0xFFFFFFFF if big else len(payload), 0xFFFFFFFF if big else size, len(name), len(extra))
        out.write(header + name.encode() + extra + payload)
        entries.append((name.encode(), method, 0, len(payload), size, offset))
        directory = out.tell()
        for filename, how, crc, stored, declared, where in entries:
            wide = declared >= 0xFFFFFFFF
            ext = struct.pack("<HHQQ", 1, 16, declared, stored) if wide else b""
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, how, 0, 0, crc,
                                  0xFFFFFFFF if wide else stored, 0xFFFFFFFF if wide else declared, len(filename),
                                  len(ext), 0, 0, 0, 0, where) + filename + ext)
        end = out.tell()
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), end - directory,
                              directory, 0))


@pytest.fixture
def db(tmp_path, made):
    return shutil.copytree(made["db"], tmp_path / "db")


def test_npz_member_header_declaring_huge_rows(tmp_path, db):
    """database.npz's Xun.npy declares (10^9, 288) float32 (1.1 TB) in a member of a few bytes."""
    _replace_member(db / "database.npz", "Xun.npy", _npy_header((10**9, 288)) + bytes(64))
    before = tree_state(tmp_path)
    assert_one_line_error(mtk("inspect", db), "database.npz")  # in a capped process: memory is the point
    assert_one_line_error(mtk_here("pfnn", "train", db, "--out", tmp_path / "run"), "database.npz")
    assert tree_state(tmp_path) == before


def test_npz_directory_declaring_huge_member(tmp_path, db):
    """The zip directory itself says Xun.npy inflates to 2.1 TiB, and its header agrees."""
    payload = zlib.compress(_npy_header((2 * 10**9, 288)), 9)[2:-4]
    _replace_member(db / "database.npz", "Xun.npy", payload, declared_size=2 * 10**9 * 288 * 4 + 128, deflate=True)
    assert_one_line_error(mtk("inspect", db), "database.npz")


def test_npz_deflate_bomb(tmp_path, db):
    """A deflated member whose header and directory are consistent, but ~1000x its compressed bytes."""
    rows = BOMB_BYTES // (288 * 4)
    header = _npy_header((rows, 288))
    payload = zlib.compress(header + bytes(rows * 288 * 4), 9)[2:-4]
    assert len(payload) < BOMB_BYTES // 500
    _replace_member(db / "database.npz", "Xun.npy", payload, declared_size=len(header) + rows * 288 * 4,
                    deflate=True)
    run = mtk("inspect", db)
    assert_one_line_error(run, "database.npz", "Xun.npy")


def test_npz_with_pickled_member_is_refused(tmp_path, db):
    import io
    import pickle

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _replace_member(db / "database.npz", "Pun.npy", buffer.getvalue())
    assert_one_line_error(mtk_here("inspect", db), "Pun")
    assert pickle  # the member is a pickle: never loaded


# -- HDF5 ----------------------------------------------------------------------------------------------------

def _gzip_features(path, rows: int, chunk_rows: int) -> None:
    """Replace features with ``rows`` zero frames, gzip-compressed, and one motion holding them all."""
    with h5py.File(path, "r+") as f:
        dim = f["features"].shape[1]
        for key in ("features", "offsets", "names", "texts"):
            del f[key]
        features = f.create_dataset("features", shape=(rows, dim), maxshape=(None, dim), dtype="<f4",
                                    chunks=(chunk_rows, dim), compression="gzip", compression_opts=9)
        block = np.zeros((min(chunk_rows, rows), dim), np.float32)
        for start in range(0, rows, len(block)):
            features[start:start + len(block)] = block[:rows - start]
        f.create_dataset("offsets", data=np.array([0, rows], np.int64))
        f.create_dataset("names", data=np.array(["000000"], dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("texts", data=np.array(["a text"], dtype=object), dtype=h5py.string_dtype())
        if "splits" in f:
            del f["splits"]


@pytest.mark.parametrize("command", ["validate", "inspect", "convert"])
def test_hdf5_gzip_bomb_is_refused(tmp_path, made, command):
    path = shutil.copyfile(made["h5"], tmp_path / "data.h5")
    _gzip_features(path, rows=BOMB_BYTES // (263 * 4), chunk_rows=4096)
    assert path.stat().st_size < BOMB_BYTES // 250
    if command == "convert":
        assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "data.h5", "features")
        assert not (tmp_path / "out").exists()
    else:
        reported(mtk(command, path), "data.h5")


def test_hdf5_huge_chunk_is_refused(tmp_path, made):
    path = shutil.copyfile(made["h5"], tmp_path / "data.h5")
    _gzip_features(path, rows=2048, chunk_rows=2**20)  # a chunk declares 2^20 x 263 floats (1.1 GB)
    reported(mtk_here("validate", path), "data.h5", "chunks")


def test_hdf5_huge_attribute_is_refused(tmp_path, made):
    path = tmp_path / "data.h5"
    with h5py.File(made["h5"], "r") as source, h5py.File(path, "w", libver="latest") as f:  # dense attributes
        for key in source:
            source.copy(source[key], f, key)
        f.attrs.update(source.attrs)
        f.attrs["blob"] = np.zeros(5 << 20, np.uint8)
    assert mtk_here("inspect", made["h5"]).code == 0
    reported(mtk_here("inspect", path), "blob")


# -- Zarr ----------------------------------------------------------------------------------------------------

def test_zarr_json_with_a_huge_attribute_is_refused(tmp_path, made):
    path = shutil.copytree(made["zarr"], tmp_path / "data.zarr")
    meta = path / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["blob"] = "x" * (40 << 20)
    meta.write_text(json.dumps(doc))
    for command in ("inspect", "validate"):
        reported(mtk(command, path), "zarr.json")
    assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "zarr.json")


def _gzip_chunked_features(path) -> None:
    """Rewrite features as plain gzip-compressed chunks of 1024 frames (no shards)."""
    import zarr

    group = zarr.open_group(str(path), mode="r+")
    features = group["features"][:]
    del group["features"]
    group.create_array("features", data=features, chunks=(1024, features.shape[1]),
                       compressors=zarr.codecs.GzipCodec(level=1))


def test_zarr_compressed_chunk_bomb_is_refused(tmp_path, made):
    """A gzip chunk that would decode to 300 MiB although its array declares 1 MiB chunks."""
    path = shutil.copytree(made["zarr"], tmp_path / "data.zarr")
    _gzip_chunked_features(path)
    assert mtk_here("validate", path).code == 0  # the rewritten store is fine ...
    (path / "features" / "c" / "0" / "0").write_bytes(deflated_zeros(BOMB_BYTES, gzip=True))
    reported(mtk("validate", path), "c/0/0")  # ... until a chunk is a bomb
    assert_one_line_error(mtk("convert", path, tmp_path / "out", "--to", "npy"), "c/0/0")


def test_zarr_texts_chunk_bomb_is_refused(tmp_path, made):
    """The texts chunk (vlen-utf8, zstd by default) replaced by a zstd frame declaring 2^40 bytes."""
    path = shutil.copytree(made["zarr"], tmp_path / "data.zarr")
    chunk = path / "texts" / "c" / "0"
    frame = bytes([0x28, 0xB5, 0x2F, 0xFD, 0xE0]) + (1 << 40).to_bytes(8, "little") + bytes(16)
    chunk.write_bytes(frame)
    reported(mtk_here("validate", path), "c/0")


# -- the evaluators mtk metrics reads ------------------------------------------------------------------------

def test_evaluator_checkpoint_deflate_bomb_is_refused_before_torch_load(tmp_path):
    """An evaluator checkpoint (``mtk metrics --evaluator``) is a zip archive judged by its directory first."""
    from mtk.errors import BadInputError
    from mtk.metrics.checkpoint import read_weights

    path = tmp_path / "finest.tar"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("archive/data/0", "w") as member:
        for _ in range(80):  # 80 MiB of zeros: past 64 MiB and ~1000x its compressed bytes
            member.write(bytes(1 << 20))
    with pytest.raises(BadInputError, match="finest.tar.*member archive/data/0 declares"):
        read_weights(path)


def test_glove_vectors_declaring_more_than_the_file_holds_are_refused(tmp_path):
    """The GloVe subset's ``our_vab_data.npy`` header declares 1.2 TB in a few bytes: refused unread."""
    import pickle

    from mtk.errors import BadInputError
    from mtk.metrics.words import GLOVE_FILES, WordVectors

    (tmp_path / GLOVE_FILES[0]).write_bytes(_npy_header((10**9, 300)) + bytes(64))
    (tmp_path / GLOVE_FILES[1]).write_bytes(pickle.dumps(["unk"]))
    (tmp_path / GLOVE_FILES[2]).write_bytes(pickle.dumps({"unk": 0}))
    with pytest.raises(BadInputError, match=GLOVE_FILES[0]):
        WordVectors.load(tmp_path)
