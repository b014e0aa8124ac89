"""Issue #24, class 2: one set of checks for paths and URLs.

Contract asserted here:
- A ``file://`` URL is the local path it names: every reader applies the local checks (a deleted shard is an
  error naming it, never zeros; a store declaring 10^12 frames is refused), and every writer writes exactly
  there (never under ``./file:/...``).
- Any other fsspec URL (``memory://`` here, standing for ``s3://``, ``gs://`` ...) gets the same size, shard,
  name and destination checks through fsspec; a URL output lands where the URL says (Zarr stores) or is
  refused by the writers of local files, with nothing written under the current folder.
"""

from __future__ import annotations

import json
import uuid

import fsspec
import numpy as np
import pytest
from hostile import assert_one_line_error, mtk_here, sample_here, store_here, store_names, tree_state

HUGE = 10**12


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("urls")
    data = sample_here(root / "data", count=4)
    return data, store_here(data, root / "data.zarr")


@pytest.fixture
def local_store(tmp_path, source):
    """A fresh copy of the sample store (tests damage it)."""
    import shutil

    return shutil.copytree(source[1], tmp_path / "data.zarr")


@pytest.fixture
def memory_store(local_store):
    """The sample store copied to ``memory://`` (process-wide: read in this process)."""
    url = f"memory://{uuid.uuid4().hex}/data.zarr"
    fs = fsspec.filesystem("memory")
    fs.put(str(local_store), url.removeprefix("memory://"), recursive=True)
    yield url
    fs.rm(url.removeprefix("memory://"), recursive=True)


def _reported(run, *facts) -> None:
    """inspect/validate: an error finding (exit 1) or a refusal (exit 2) naming ``facts``."""
    assert run.code in (1, 2), run.output
    assert "internal error" not in run.output and "no findings" not in run.output, run.output
    for fact in facts:
        assert fact in run.output, (fact, run.output)


def _declare_huge(put_json, get_json) -> None:
    """features declares 10^12 rows and the last motion claims them (consistent metadata, absent shards)."""
    doc = get_json("features/zarr.json")
    doc["shape"][0] = HUGE
    put_json("features/zarr.json", doc)


# -- file:// -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["convert", "validate", "inspect"])
def test_file_url_store_with_a_deleted_shard_is_an_error(tmp_path, local_store, command):
    (local_store / "features" / "c" / "0" / "0").unlink()
    url = f"file://{local_store}"
    before = tree_state(tmp_path)
    if command == "convert":
        assert_one_line_error(mtk_here("convert", url, tmp_path / "out", "--to", "npy", cwd=tmp_path), "c/0/0")
        assert tree_state(tmp_path) == before
    else:
        _reported(mtk_here(command, url), "c/0/0")


@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_file_url_store_declaring_huge_frames_is_refused(local_store, command):
    meta = local_store / "features" / "zarr.json"
    _declare_huge(lambda _, doc: meta.write_text(json.dumps(doc)), lambda _: json.loads(meta.read_text()))
    _reported(mtk_here(command, f"file://{local_store}"), "data.zarr")


@pytest.mark.parametrize("target, name", [("zarr", "out.zarr"), ("hdf5", "out.h5"), ("npy", "out"),
                                          ("joints", "j.npy")])
def test_file_url_output_lands_exactly_where_it_says(tmp_path, source, target, name):
    data, _ = source
    work, dest = tmp_path / "cwd", tmp_path / "dest"
    work.mkdir()
    dest.mkdir()
    src = f"file://{data / 'new_joint_vecs' / '000000.npy'}" if target == "joints" else f"file://{data}"
    run = mtk_here("-q", "convert", src, f"file://{dest / name}", "--to", target, cwd=work)
    assert run.code == 0, run.output
    assert (dest / name).exists()
    assert list(work.iterdir()) == []  # nothing under ./file:/...


def test_file_url_output_through_an_option(tmp_path, source):
    data, _ = source
    work = tmp_path / "cwd"
    work.mkdir()
    run = mtk_here("-q", "stats", f"file://{data}", "--split", "all", f"--out=file://{tmp_path / 'stats'}", cwd=work)
    assert run.code == 0, run.output
    assert (tmp_path / "stats" / "Mean.npy").is_file() and list(work.iterdir()) == []


def test_file_url_of_another_host_is_refused(tmp_path, source):
    assert_one_line_error(mtk_here("inspect", "file://elsewhere/data.zarr"), "elsewhere")


# -- other fsspec URLs ---------------------------------------------------------------------------------------

def test_memory_store_with_a_deleted_shard_is_an_error(tmp_path, memory_store):
    fsspec.filesystem("memory").rm(f"{memory_store.removeprefix('memory://')}/features/c/0/0")
    _reported(mtk_here("validate", memory_store), "c/0/0")
    before = tree_state(tmp_path)
    assert_one_line_error(mtk_here("convert", memory_store, tmp_path / "out", "--to", "npy"), "c/0/0")
    assert tree_state(tmp_path) == before


def test_memory_store_declaring_huge_frames_is_refused(tmp_path, memory_store):
    fs, root = fsspec.filesystem("memory"), memory_store.removeprefix("memory://")
    _declare_huge(lambda key, doc: fs.pipe(f"{root}/{key}", json.dumps(doc).encode()),
                  lambda key: json.loads(fs.cat(f"{root}/{key}")))
    for command in ("validate", "inspect"):
        _reported(mtk_here(command, memory_store), "data.zarr")


def test_memory_store_with_a_bad_name_is_refused(tmp_path, memory_store, local_store):
    import zarr

    names = store_names(local_store)
    names[1] = "../../escaped"
    array = zarr.open_array(f"{memory_store}/names", mode="r+")
    array[:] = np.array(names, dtype=array.dtype)
    before = tree_state(tmp_path)
    assert_one_line_error(mtk_here("convert", memory_store, tmp_path / "out", "--to", "npy"), "../../escaped")
    assert tree_state(tmp_path) == before


def test_memory_store_with_huge_metadata_is_refused(memory_store):
    fs, root = fsspec.filesystem("memory"), memory_store.removeprefix("memory://")
    doc = json.loads(fs.cat(f"{root}/zarr.json"))
    doc["attributes"]["blob"] = "x" * (5 << 20)
    fs.pipe(f"{root}/zarr.json", json.dumps(doc).encode())
    _reported(mtk_here("inspect", memory_store), "zarr.json")


@pytest.mark.parametrize("args", [["convert", "{motion}", "memory://{id}/j.npy", "--to", "joints"],
                                  ["convert", "{data}", "memory://{id}/out.h5"],
                                  ["convert", "{data}", "memory://{id}/out", "--to", "npy"],
                                  ["convert", "{data}", "memory://{id}/db", "--to", "pfnn"],
                                  ["render", "{motion}", "--out", "memory://{id}/m.png"],
                                  ["stats", "{data}", "--split", "all", "--out", "memory://{id}/stats"]])
def test_url_outputs_of_local_writers_are_refused(tmp_path, source, args):
    data, _ = source
    key = uuid.uuid4().hex
    filled = [a.format(data=data, motion=data / "new_joint_vecs" / "000000.npy", id=key) for a in args]
    run = mtk_here(*filled, cwd=tmp_path)
    assert_one_line_error(run, f"memory://{key}")
    assert list(tmp_path.iterdir()) == []
    assert not fsspec.filesystem("memory").exists(key)


def test_url_output_lands_where_it_says(tmp_path, source):
    data, _ = source
    url = f"memory://{uuid.uuid4().hex}/out.zarr"
    assert mtk_here("-q", "convert", data, url, cwd=tmp_path).code == 0
    assert list(tmp_path.iterdir()) == []
    run = mtk_here("validate", url, "--json")
    assert run.code == 0 and json.loads(run.stdout)["details"]["motions"] == 4, run.output
    again = mtk_here("convert", data, url)
    assert_one_line_error(again, url, "already exists")


def test_url_output_onto_its_own_source_is_refused(memory_store):
    run = mtk_here("convert", memory_store, memory_store, "--overwrite")
    assert_one_line_error(run, "source")
    assert mtk_here("validate", memory_store).code == 0
