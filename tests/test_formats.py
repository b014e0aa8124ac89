"""Conformance suite over every registered format (meshio style): each format detects what its own writer
wrote, reads it back unchanged, and answers damaged input with one line and exit 2. A toy format registered
from one test module shows up in ``mtk convert --help``, detection and this suite with no other edit."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mtk.cli import main
from mtk.formats import registry
from mtk.formats.model import DatasetInfo, Motion, Stats, TokenSet
from mtk.schemas import HML263

FORMATS = [f"{f.kind}:{f.name}" for f in registry.formats()]


def entry(key: str) -> registry.Format:
    kind, name = key.split(":")
    return registry.get(kind, name)  # type: ignore[arg-type]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``mtk ARGS`` in this process (so formats registered here count): exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def sample_path(fmt: registry.Format, tmp_path: Path) -> Path:
    return tmp_path / f"sample{fmt.suffixes[0] if fmt.suffixes else ''}"


# --- one sample writer and comparison per kind ---------------------------------------------------------


def dataset_round_trip(fmt: registry.Format, path: Path) -> None:
    rng = np.random.default_rng(0)
    motions = [Motion(name, rng.normal(size=(frames, HML263.dim)).astype(np.float32), texts)
               for name, frames, texts in (("a", 5, ["a person walks#a/DET person/NOUN#0.0#0.0"]), ("b", 9, []))]
    stats = Stats(np.zeros(HML263.dim, np.float32), np.ones(HML263.dim, np.float32))
    info = DatasetInfo(HML263, 20.0, [m.name for m in motions], {"train": ["a"], "test": ["b"]}, stats,
                       family=HML263.dataset_family)
    with fmt.writer(str(path), info) as writer:
        for motion in motions:
            writer.add(motion)
        writer.set_splits(info.splits)
        writer.set_stats(stats)
    reader = fmt.reader(str(path))
    assert reader.info.names == info.names and reader.info.layout is HML263
    assert {k: sorted(v) for k, v in reader.info.splits.items()} == {"train": ["a"], "test": ["b"]}
    for motion in motions:
        back = reader.read(motion.name)
        np.testing.assert_array_equal(back.features, motion.features)
        assert back.texts == motion.texts and reader.length(motion.name) == motion.frames
    reader.close()


def tokens_round_trip(fmt: registry.Format, path: Path) -> None:
    tokens = TokenSet(["a", "b/c"], [np.array([1, 2, 3]), np.array([7])], [["walks"], []], codebook_size=8,
                      unit_length=4, layout="hml263", fps=20.0)
    fmt.writer.write(path, tokens)
    back = fmt.reader.read(path)
    assert back.names == tokens.names and back.codebook_size == 8
    assert [c.tolist() for c in back.codes] == [[1, 2, 3], [7]]


def array_round_trip(fmt: registry.Format, path: Path) -> None:
    array = np.arange(263 * 4, dtype=np.float32).reshape(4, 263)
    fmt.writer(path, array)
    np.testing.assert_array_equal(fmt.reader(path), array)


def motion_round_trip(fmt: registry.Format, path: Path) -> None:
    offsets = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    rotations = np.broadcast_to(np.eye(3), (3, 3, 3, 3)).copy()
    roots = np.array([[0.0, 1.0, 0.0], [0.5, 1.0, 0.0], [1.0, 1.0, 0.0]])
    fmt.writer(path, ["Hips", "Spine", "Head"], [-1, 0, 1], offsets, rotations, roots, 30.0)
    back = fmt.reader(path)
    assert back.joint_names == ["Hips", "Spine", "Head"] and back.fps == pytest.approx(30.0)
    np.testing.assert_allclose(back.positions()[:, 2], roots + [0.0, 2.0, 0.0], atol=1e-5)


def pfnn_round_trip(fmt: registry.Format, path: Path) -> None:
    from mtk.io.destination import prepare
    from mtk.pfnn.database import Clip, DatabaseLayout
    from mtk.pfnn.rows import PfnnStats

    layout = DatabaseLayout("smpl22", "6d", "none", (30.0,), (Clip("walk/0", (0, 4), 30.0, 1), Clip("b", (4, 6), 30.0)),
                            {"gait": "motion"}, {"X.gait": 0.5})
    rng = np.random.default_rng(1)
    X, Y = (rng.normal(size=(6, width)).astype(np.float32) for width in (layout.columns.x_dim, layout.columns.y_dim))
    P = rng.uniform(size=6).astype(np.float32)
    stats = PfnnStats(X.mean(0), X.std(0), Y.mean(0), Y.std(0), {})
    fmt.writer(prepare(path), X, Y, P, stats, layout)
    X2, Y2, P2, layout2 = fmt.reader(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Y2, Y)
    np.testing.assert_array_equal(P2, P)
    assert layout2 == layout


ROUND_TRIPS: dict[str, Callable[[registry.Format, Path], None]] = {
    "dataset": dataset_round_trip, "tokens": tokens_round_trip, "array": array_round_trip,
    "motion": motion_round_trip, "pfnn": pfnn_round_trip,
}


def damage(path: Path) -> None:
    """Overwrite every file of ``path`` (a file or a folder) with bytes no format can read."""
    for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
        file.write_bytes(b"\x00garbage\xff" * 3)


# --- the suite ------------------------------------------------------------------------------------------


def check_format(fmt: registry.Format, tmp_path: Path, capsys) -> None:
    path = sample_path(fmt, tmp_path)
    if fmt.writer is None:
        pytest.skip(f"{fmt.name} is read-only: the reading tests use real files")
    ROUND_TRIPS[fmt.kind](fmt, path)
    assert fmt.detect(str(path))
    assert registry.detect(path) is fmt
    code, out, err = run_cli(capsys, "inspect", path, "--json")
    assert code in (0, 1) and json.loads(out)["path"], err
    damage(path)
    code, out, err = run_cli(capsys, "inspect", path)
    assert code == 2 and err.startswith("mtk: error: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("key", FORMATS)
def test_format_conforms(key, tmp_path, capsys):
    check_format(entry(key), tmp_path, capsys)


@pytest.mark.parametrize("key", FORMATS)
def test_format_is_registered_once_with_help(key):
    fmt = entry(key)
    assert fmt.description and fmt.label and callable(fmt.detect)
    assert [f.name for f in registry.formats(fmt.kind)].count(fmt.name) == 1


def test_unknown_input_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "inspect", tmp_path / "empty")
    assert code == 2 and "is not in a format mtk knows" in err and len(err.strip().splitlines()) == 1
    for fmt in registry.formats():
        assert fmt.label in err


# --- a new format is a one-module change -----------------------------------------------------------------


@pytest.fixture
def toy(monkeypatch):
    """Import tests/toy_format.py (its one register_format call) into a registry restored afterwards."""
    registry.formats()
    monkeypatch.setattr(registry, "_FORMATS", dict(registry._FORMATS))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    sys.modules.pop("toy_format", None)
    importlib.import_module("toy_format")
    yield registry.get("dataset", "toy")
    sys.modules.pop("toy_format", None)


def test_toy_format_reaches_cli_detection_and_suite(toy, tmp_path, capsys):
    code, out, _ = run_cli(capsys, "convert", "--help")
    assert code == 0 and "toy" in out and "a toy JSON dataset" in out
    (tmp_path / "suite").mkdir()
    check_format(toy, tmp_path / "suite", capsys)
    # convert into it by suffix, back out by detection
    dataset_round_trip(registry.get("dataset", "npy"), tmp_path / "src")
    code, _, err = run_cli(capsys, "convert", tmp_path / "src", tmp_path / "copy.toyjson")
    assert code == 0, err
    code, out, _ = run_cli(capsys, "inspect", tmp_path / "copy.toyjson", "--json")
    assert json.loads(out)["details"]["format"] == "toy"
    assert registry.detect(tmp_path / "copy.toyjson") is toy


def test_targets_refuse_options_they_do_not_take(tmp_path, capsys):
    dataset_round_trip(registry.get("dataset", "npy"), tmp_path / "src")
    code, _, err = run_cli(capsys, "convert", tmp_path / "src", tmp_path / "x.bvh", "--resume")
    assert code == 2 and err.strip() == ("mtk: error: --resume does not apply to --to bvh "
                                         "(it applies to --to hdf5, npy, zarr)")
    code, _, err = run_cli(capsys, "convert", tmp_path / "src", tmp_path / "x.zarr", "--fix-quirks", "--skeleton",
                           "smpl22")
    assert code == 2 and "--fix-quirks, --skeleton do not apply to --to zarr" in err
    assert not (tmp_path / "x.zarr").exists()


def test_a_packages_formats_module_registers_without_formats_importing_it():
    """PFNN's database format lives in mtk/pfnn/ (above mtk/formats/) and registers in mtk/pfnn/formats.py; a
    fresh process asking the registry finds it, with its own convert job, and format detection stays light."""
    import subprocess

    code = ("import sys; from mtk.formats import registry; entry = registry.get('pfnn', 'pfnn'); "
            "print(entry.convert is not None, 'mtk.pfnn.formats' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "False"]
    assert "pfnn" in registry.names("pfnn", writable=True)
