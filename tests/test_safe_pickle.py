"""The restricted unpickler: plain data and numpy arrays load; anything that could run code is refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from mtk.errors import BadInputError
from mtk.io.safe_pickle import safe_load, safe_loads


class _WritesFile:
    """Unpickling this with plain pickle would create ``target`` (via os.system)."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _Evaluates:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (eval, (f"open({self.target!r}, 'w').write('x')",))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_and_arrays_round_trip(protocol):
    value = {"text_data": {"a/b": ["a person walks\n", "line two\n"]},
             "code_data": {"a/b": np.array([[1, 2, 63999]], dtype=np.int32)},
             "file_names": ["a/b"], "floats": [1.5, float("inf")], "none": None, "flag": True,
             "tuple": (1, "x"), "bytes": b"\x00", "scalar": np.float32(2.5),
             "fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
             "empty": np.zeros((1, 0), dtype=np.int32), "complex": [1 + 2j, np.complex64(3j)],
             "strings": np.array(["ab", "c"]), "big": 2**70, "raw": bytes(range(256))}
    loaded = safe_loads(pickle.dumps(value, protocol=protocol))
    assert loaded.keys() == value.keys()
    np.testing.assert_array_equal(loaded["code_data"]["a/b"], value["code_data"]["a/b"])
    assert loaded["code_data"]["a/b"].dtype == np.int32
    np.testing.assert_array_equal(loaded["fortran"], value["fortran"])
    assert loaded["empty"].shape == (1, 0)
    assert loaded["text_data"] == value["text_data"] and loaded["tuple"] == (1, "x")
    assert loaded["scalar"] == np.float32(2.5)
    assert loaded["complex"] == value["complex"] and loaded["raw"] == value["raw"] and loaded["big"] == 2**70
    np.testing.assert_array_equal(loaded["strings"], value["strings"])


@pytest.mark.parametrize("call", [b"c_codecs\nencode\n(X\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8tR.",
                                  b"cbuiltins\ncomplex\n(X\x01\x00\x00\x00aK\x01tR."])
def test_the_allowed_helpers_take_plain_arguments_only(call):
    """``_codecs.encode`` only to latin-1, ``complex`` only from numbers."""
    with pytest.raises(BadInputError, match="not a readable pickle"):
        safe_loads(call)


@pytest.mark.parametrize("payload", [_WritesFile, _Evaluates])
def test_code_running_pickle_is_refused_and_nothing_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "all_data.pkl"
    path.write_bytes(pickle.dumps({"code_data": {"x": payload(marker)}}))
    with pytest.raises(BadInputError) as err:
        safe_load(path)
    message = err.value.one_line()
    assert "\n" not in message and str(path) in message and "refuses" in message
    assert ("posix.system" in message) or ("builtins.eval" in message)
    assert not marker.exists()


def test_classes_and_object_arrays_are_refused(tmp_path):
    from collections import OrderedDict

    with pytest.raises(BadInputError, match="collections.OrderedDict"):
        safe_loads(pickle.dumps(OrderedDict(a=1)))
    with pytest.raises(BadInputError, match="object"):
        safe_loads(pickle.dumps(np.array([1, "a"], dtype=object)))


def test_garbage_and_truncated_files_are_one_line_errors(tmp_path):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({"a": list(range(100))})[:20])
    with pytest.raises(BadInputError, match="not a readable pickle"):
        safe_load(path)
    with pytest.raises(BadInputError):
        safe_loads(b"not a pickle at all")


class _DeclaredArray:
    """Pickles as numpy's array reconstructor asked for ``count`` bytes that the pickle does not hold."""

    def __init__(self, count: int):
        self.count = count

    def __reduce__(self):
        return (np._core.multiarray._reconstruct, (np.ndarray, (self.count,), b"b"))


def test_cycles_shared_references_and_declared_arrays_are_refused_in_bounded_time():
    loop: list = []
    loop.append(loop)
    with pytest.raises(BadInputError, match="contains itself"):
        safe_loads(pickle.dumps({"a": [1, {"b": loop}]}))
    node: list = []
    for _ in range(60):  # 2^60 leaves through shared references, a few hundred bytes
        node = [node, node]
    with pytest.raises(BadInputError, match="expands to more than"):
        safe_loads(pickle.dumps({"code_data": {"m": node}}))
    with pytest.raises(BadInputError, match="declares an array of 100000000 bytes"):
        safe_loads(pickle.dumps({"code_data": {"m": _DeclaredArray(10**8)}}))


def test_shared_plain_values_within_the_pickle_size_load():
    texts = ["a person walks\n"]
    shared = np.arange(4, dtype=np.int32)
    value = {"text_data": {"a": texts, "b": texts}, "code_data": {"a": shared, "b": shared}}
    loaded = safe_loads(pickle.dumps(value))
    assert loaded["text_data"]["b"] == texts and loaded["code_data"]["b"].tolist() == [0, 1, 2, 3]
