"""Fuzzing every reader with corrupted bytes, wrong shapes and wrong dtypes.

Every failure must be an :class:`mtk.errors.MtkError` (the CLI's one-line error, exit 2), never another
exception (the CLI's exit 3, "internal error"), and reading never writes anything. The bulk runs in-process
through the library entry points; a few cases go through the real CLI.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from factories import checksums
from reliability import build_formats, corrupt, files_of

from mtk.errors import MtkError

#: deterministic in CI, and no shrinking (a failing example is reported as found: shrinking stores is slow);
#: MTK_FUZZ_EXAMPLES=N runs N random examples per test instead (a longer hunt)
HUNT = int(os.environ.get("MTK_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=HUNT or 40, deadline=None, derandomize=not HUNT, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> dict[str, Path]:
    return build_formats(tmp_path_factory.mktemp("formats"))


def read_everything(kind: str, path: Path) -> None:
    """Every library entry point that reads ``path`` as ``kind``, reading all of it."""
    from mtk.formats import registry

    registry.inspect(path)
    if kind == "npy":
        from mtk.formats.arrays import load_features

        load_features(path)
    elif kind in ("npy-folder", "zarr", "hdf5"):
        from mtk.formats.datasets import open_dataset
        from mtk.jobs.validate import validate_dataset

        reader = open_dataset(path)
        for motion in reader.iter():
            reader.read_window(motion.name, 0, min(8, motion.frames))
        reader.close()
        validate_dataset(path)
    elif kind == "bvh":
        from mtk.formats.bvh import read_bvh

        read_bvh(path).positions()
    elif kind == "pfnn":
        from mtk.pfnn.database import read_pfnn_database

        read_pfnn_database(path)
    else:
        from mtk.formats.tokens import read_tokens

        read_tokens(path)


def assert_clean(kind: str, path: Path, root: Path) -> None:
    """Reading either works or raises MtkError; the tree under ``root`` is unchanged."""
    before = checksums(root)
    try:
        read_everything(kind, path)
    except MtkError as err:
        assert "\n" not in err.one_line()
    assert checksums(root) == before


@pytest.mark.parametrize("kind", ["npy", "npy-folder", "zarr", "hdf5", "bvh", "pfnn", "tokens", "pickle",
                                  "tokens-zarr"])
def test_valid_inputs_read_cleanly(formats, kind):
    read_everything(kind, formats[kind])


@FUZZ
@given(kind=st.sampled_from(["npy", "npy-folder", "zarr", "hdf5", "bvh", "pfnn", "tokens", "pickle",
                             "tokens-zarr"]),
       pick=st.integers(min_value=0), mode=st.sampled_from(["truncate", "overwrite", "insert", "replace"]),
       position=st.floats(0, 1), noise=st.binary(min_size=1, max_size=64))
def test_corrupted_bytes_fail_cleanly(formats, kind, pick, mode, position, noise):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = formats[kind]
        copy_root = root / source.parent.name
        shutil.copytree(source.parent, copy_root)
        path = copy_root / source.name
        files = files_of(path)
        target = files[pick % len(files)]
        target.write_bytes(corrupt(target.read_bytes(), mode, position, noise))
        assert_clean(kind, path, root)


shapes = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    st.tuples(st.integers(0, 40), st.sampled_from([263, 251, 272, 264, 66, 1])),
    st.tuples(st.integers(0, 30), st.sampled_from([22, 21, 31, 5]), st.sampled_from([3, 2])),
)
dtypes = st.sampled_from(["float16", "float32", "float64", "int8", "int64", "uint8", "bool", "complex64",
                          "<U3", "datetime64[s]"])


@st.composite
def arrays(draw):
    dtype, shape = np.dtype(draw(dtypes)), draw(shapes)
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=8 * dtype.itemsize)
        fill = st.sampled_from([0.0, 1.0, np.nan, np.inf])
        return draw(hnp.arrays(dtype, shape, elements=elements, fill=fill))
    return draw(hnp.arrays(dtype, shape))


@FUZZ
@given(array=arrays())
def test_feature_files_of_any_shape_and_dtype_fail_cleanly(array):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "array.npy"
        np.save(path, array)
        assert_clean("npy", path, Path(tmp))


@FUZZ
@given(array=arrays(), which=st.sampled_from(["motion", "Mean.npy", "Std.npy"]))
def test_datasets_with_a_bad_array_fail_cleanly_and_do_not_convert(formats, array, which):
    from mtk.jobs.convert_dataset import convert_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        shutil.copytree(formats["npy-folder"], root)
        target = sorted((root / "new_joint_vecs").glob("*.npy"))[1] if which == "motion" else root / which
        np.save(target, array)
        assert_clean("npy-folder", root, root)
        before = checksums(root)
        dst = Path(tmp) / "out.zarr"
        try:
            convert_dataset(str(root), str(dst), "zarr", workers=1)
        except MtkError:
            assert not dst.exists()
        else:
            assert dst.is_dir()
        assert checksums(root) == before


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(MtkError, match="pickle"):
        read_everything("npy", path)


# --- a few cases through the real CLI ---------------------------------------------------------------


def _break(path: Path) -> None:
    """Cut the largest file of an input in half."""
    target = max(files_of(path), key=lambda p: p.stat().st_size)
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])


@pytest.mark.parametrize("kind, command", [
    ("zarr", "inspect"), ("hdf5", "validate"), ("npy-folder", "convert"), ("hdf5", "convert"),
    ("bvh", "inspect"), ("pickle", "inspect"), ("pfnn", "inspect"), ("npy", "convert"),
])
def test_cli_errors_are_one_line_exit_2_and_write_nothing(formats, tmp_path, mtk_cli, kind, command):
    source = formats[kind]
    shutil.copytree(source.parent, tmp_path / "in")
    path = tmp_path / "in" / source.name
    _break(path)
    before = checksums(tmp_path)
    dst = tmp_path / "out" / ("joints.npy" if kind == "npy" else "copy.zarr")
    args = {"inspect": ["inspect", path], "validate": ["validate", path],
            "convert": ["convert", path, dst] + (["--to", "joints"] if kind == "npy" else [])}[command]
    result = mtk_cli(*args)
    assert result.code == 2, (result.code, result.stderr)
    assert result.stderr.startswith("mtk: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert checksums(tmp_path) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- wrong shapes and dtypes inside containers -------------------------------------------------------

STORE_ARRAYS = ["features", "offsets", "names", "texts", "splits/train", "stats/mean"]


def _replace_in_store(path: Path, key: str, array: np.ndarray) -> None:
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "a") as handle:
            if key in handle:
                del handle[key]
            handle.create_dataset(key, data=np.char.encode(array, "utf-8") if array.dtype.kind == "U" else array)
    else:
        import zarr

        group = zarr.open_group(str(path), mode="a")
        if key in group:
            del group[key]
        group.create_array(key, data=array)


def _storable(array: np.ndarray) -> bool:
    """Arrays both containers can hold: no datetimes, no scalars, text without lone surrogates (not UTF-8)."""
    if array.dtype.kind == "M" or array.ndim == 0:
        return False
    return array.dtype.kind != "U" or all(not any(0xD800 <= ord(c) <= 0xDFFF for c in str(v)) for v in array.flat)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # zarr: fixed-length unicode has no Zarr v3 spec yet
@FUZZ
@given(kind=st.sampled_from(["zarr", "hdf5"]), key=st.sampled_from(STORE_ARRAYS), array=arrays().filter(_storable))
def test_stores_with_a_wrong_array_fail_cleanly(formats, kind, key, array):
    with tempfile.TemporaryDirectory() as tmp:
        source = formats[kind]
        path = Path(tmp) / source.name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, path)
        _replace_in_store(path, key, array)
        assert_clean(kind, path, Path(tmp))


@FUZZ
@given(key=st.sampled_from(["Xun", "Yun", "Pun"]), array=arrays())
def test_pfnn_databases_with_a_wrong_array_fail_cleanly(formats, key, array):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pfnn"
        shutil.copytree(formats["pfnn"], root)
        with np.load(root / "database.npz") as archive:
            arrays_ = {k: archive[k] for k in archive.files}
        arrays_[key] = array
        np.savez(root / "database.npz", **arrays_)
        assert_clean("pfnn", root, Path(tmp))


@FUZZ
@given(array=arrays())
def test_token_code_files_of_any_shape_and_dtype_fail_cleanly(formats, array):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mm"
        shutil.copytree(formats["tokens"].parent, root)
        np.save(root / "codes" / "m1.npy", array)
        assert_clean("tokens", root / "codes", Path(tmp))


plain = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
                     | st.builds(np.arange, st.integers(0, 4)),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=9), inner,
                                                                                 max_size=3), max_leaves=8)


@FUZZ
@given(document=st.fixed_dictionaries({}, optional={"text_data": plain, "code_data": plain,
                                                     "file_names": plain}) | plain)
def test_pickles_of_the_wrong_structure_fail_cleanly(document):
    import pickle

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "all_data.pkl"
        path.write_bytes(pickle.dumps(document, protocol=4))
        assert_clean("pickle", path, Path(tmp))
