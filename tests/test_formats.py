"""Conformance suite over every registered format (meshio style): each format detects what its own writer
wrote, reads it back unchanged, and answers damaged input with one line and exit 2. A toy format registered
from one test module shows up in ``mtk convert --help``, detection and this suite with no other edit."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from mtk.cli import main
from mtk.formats import registry
from mtk.testing.formats import ReadOnlyFormat, dataset_round_trip
from mtk.testing.formats import check_format as conformance_kit

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


def check_format(fmt: registry.Format, folder: Path) -> None:
    """mtk.testing's conformance kit; read-only formats are tested on real files elsewhere."""
    try:
        conformance_kit(fmt, folder)
    except ReadOnlyFormat as why:
        pytest.skip(str(why))


@pytest.mark.parametrize("key", FORMATS)
def test_format_conforms(key, tmp_path):
    check_format(entry(key), tmp_path)


@pytest.mark.parametrize("key", FORMATS)
def test_format_has_help(key):
    fmt = entry(key)
    assert fmt.description and fmt.label and callable(fmt.detect)


def test_a_taken_name_or_suffix_is_refused(monkeypatch):
    """Registering a second format under a name or suffix its kind has taken fails; the table is unchanged."""
    monkeypatch.setattr(registry, "_FORMATS", dict(registry._FORMATS))
    before = dict(registry._FORMATS)
    with pytest.raises(ValueError, match="a dataset format named 'zarr' is already registered"):
        registry.register_format("zarr", "dataset", "another", "another", lambda path: False)
    with pytest.raises(ValueError, match="suffix .zarr is taken by the dataset format zarr"):
        registry.register_format("zarr2", "dataset", "another", "another", lambda path: False, suffixes=(".ZARR",))
    assert registry._FORMATS == before
    registry.register_format("zarr2", "tokens", "tokens elsewhere", "x", lambda path: False, suffixes=(".z2",))
    assert registry.get("tokens", "zarr2").suffixes == (".z2",)


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
    check_format(toy, tmp_path / "suite")
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
