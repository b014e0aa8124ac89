"""Motion names are data, never paths (mtk.io.names), and small text files are read without trusting them
(mtk.io.small_text)."""

from __future__ import annotations

import os

import pytest

from mtk.errors import BadInputError, BadNameError, DuplicateNameError
from mtk.io.names import check_name, check_names, name_problem, output_path
from mtk.io.small_text import read_small_text

GOOD = ["000001", "humanml/000002", "a b/c-d_e.f", "a.", "a..b", "x" * 255, "é/ü", "a\xa0b", "日本/動き"]
BAD = {"": "is empty", "../x": "'..'", "a/../b": "'..'", "./a": "'.'", "a/.": "'.'", "/abs": "absolute",
       "a//b": "empty part", "a/": "empty part", "a\\b": "backslash", "a\x00b": "control", "a\x1bb": "control",
       "a\nb": "control", "x" * 256: "longer than 255", "/".join(["x" * 200] * 6): "characters long",
       ".hidden": "starting with '.'", "a/..b": "starting with '.'", "...": "starting with '.'",
       "a\x85b": "line separator", "a\u2028b": "line separator", "a\u2029b": "line separator",
       "a\x9fb": "control"}


def test_no_name_holds_a_character_that_splitlines_splits_on():
    """Split lists are read back with ``str.splitlines()``: a name must be one line of them."""
    separators = [c for c in map(chr, range(0x110000)) if len(f"a{c}b".splitlines()) > 1]
    assert len(separators) >= 10
    for c in separators:
        assert name_problem(f"a{c}b"), repr(c)
        with pytest.raises(BadNameError):
            check_names([f"{i:06d}" for i in range(10)] + [f"a{c}b"], "train.txt")


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass(name):
    assert name_problem(name) is None
    assert check_name(name, "f.txt") == name


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_names_are_one_line_errors_naming_the_file_and_the_name(name):
    with pytest.raises(BadNameError) as err:
        check_name(name, "lists/train.txt")
    line = err.value.one_line()
    assert line.startswith("lists/train.txt: motion name ") and BAD[name] in line and "\n" not in line
    assert repr(name)[:40] in line


@pytest.mark.parametrize("name", sorted(BAD))
def test_one_bad_name_among_many_is_found(name):
    names = [f"{i:06d}" for i in range(1000)]
    names[500] = name
    with pytest.raises(BadNameError, match=BAD[name].replace("'", ".")):
        check_names(names, "store.zarr")


def test_names_must_be_strings_and_unique_unless_a_split():
    with pytest.raises(BadNameError, match="is a int"):
        check_names(["a", 3], "p.pkl")
    with pytest.raises(DuplicateNameError, match="'a' occurs 2 times"):
        check_names(["a", "b", "a"], "s.zarr")
    assert check_names(["a", "a"], "test.txt", unique=False) == ["a", "a"]
    assert check_names(iter(GOOD), "x") == GOOD


def test_output_path_stays_inside_its_root(tmp_path):
    root = tmp_path / "out"
    (root / "humanml").mkdir(parents=True)
    assert output_path(root, "humanml/000001", ".npy") == root / "humanml" / "000001.npy"
    with pytest.raises(BadNameError, match="'..'"):
        output_path(root, "../escaped", ".npy")
    (tmp_path / "elsewhere").mkdir()
    (root / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadNameError, match="leads outside the output folder"):
        output_path(root, "link/000001", ".npy")


def test_small_text_files(tmp_path):
    text = tmp_path / "a.txt"
    text.write_bytes("a person walks\nthen runs\n".encode())
    assert read_small_text(text) == "a person walks\nthen runs\n"
    assert read_small_text(tmp_path / "none.txt", missing_ok=True) is None
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    device = tmp_path / "zero.txt"
    device.symlink_to("/dev/zero")
    for path in (fifo, device, tmp_path):
        with pytest.raises(BadInputError, match="is not a regular file"):
            read_small_text(path)
    with pytest.raises(BadInputError, match="more than the 10"):
        read_small_text(text, limit=10)
    text.write_bytes(b"\xff\xfe")
    with pytest.raises(BadInputError, match="is not UTF-8"):
        read_small_text(text)
