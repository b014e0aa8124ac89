"""The conformance kit every registered format passes: what its writer wrote, its own ``detect`` and the
registry's detection recognise; its reader gives it back unchanged; ``mtk inspect`` describes it; and once
its bytes are damaged, ``mtk inspect`` answers with one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mtk.formats import registry
from mtk.formats.model import DatasetInfo, Motion, Stats, TokenSet
from mtk.schemas import HML263, SMPL22
from mtk.testing.cli import run_cli


class ReadOnlyFormat(Exception):
    """The format has no writer: the kit cannot make a sample of it (test it on real files)."""


def sample_path(fmt: registry.Format, folder: Path) -> Path:
    """Where the kit writes ``fmt``'s sample (with the format's first suffix, if it has one)."""
    return Path(folder) / f"sample{fmt.suffixes[0] if fmt.suffixes else ''}"


def dataset_round_trip(fmt: registry.Format, path: Path) -> None:
    """Two motions (texts, splits, stats) written and read back bit for bit."""
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
    assert reader.info.names == info.names and reader.info.layout is HML263, reader.info
    assert {k: sorted(v) for k, v in reader.info.splits.items()} == {"train": ["a"], "test": ["b"]}, reader.info
    for motion in motions:
        back = reader.read(motion.name)
        np.testing.assert_array_equal(back.features, motion.features)
        assert back.texts == motion.texts and reader.length(motion.name) == motion.frames, motion.name
    reader.close()


def tokens_round_trip(fmt: registry.Format, path: Path) -> None:
    """Two token sequences (one name with a ``/``) written and read back."""
    tokens = TokenSet(["a", "b/c"], [np.array([1, 2, 3]), np.array([7])], [["walks"], []], codebook_size=8,
                      unit_length=4, layout=HML263.name, fps=20.0)
    fmt.writer.write(path, tokens)
    back = fmt.reader.read(path)
    assert back.names == tokens.names and back.codebook_size == 8, back
    assert [c.tolist() for c in back.codes] == [[1, 2, 3], [7]], back.codes


def array_round_trip(fmt: registry.Format, path: Path) -> None:
    array = np.arange(HML263.dim * 4, dtype=np.float32).reshape(4, HML263.dim)
    fmt.writer(path, array)
    np.testing.assert_array_equal(fmt.reader(path), array)


def motion_round_trip(fmt: registry.Format, path: Path) -> None:
    """A three-joint chain moving along x, written and read back as positions."""
    offsets = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    rotations = np.broadcast_to(np.eye(3), (3, 3, 3, 3)).copy()
    roots = np.array([[0.0, 1.0, 0.0], [0.5, 1.0, 0.0], [1.0, 1.0, 0.0]])
    fmt.writer(path, ["Hips", "Spine", "Head"], [-1, 0, 1], offsets, rotations, roots, 30.0)
    back = fmt.reader(path)
    assert back.joint_names == ["Hips", "Spine", "Head"] and abs(back.fps - 30.0) < 1e-6, back
    np.testing.assert_allclose(back.positions()[:, 2], roots + [0.0, 2.0, 0.0], atol=1e-5)


def pfnn_round_trip(fmt: registry.Format, path: Path) -> None:
    """X, Y, P, the stats and the database layout written and read back."""
    from mtk.io.destination import prepare
    from mtk.pfnn.database import Clip, DatabaseLayout
    from mtk.pfnn.rows import PfnnStats

    layout = DatabaseLayout(SMPL22.name, "6d", "none", (30.0,), (Clip("walk/0", (0, 4), 30.0, 1), Clip("b", (4, 6), 30.0)),
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
    assert layout2 == layout, layout2


#: format kind -> how the kit writes a sample and checks it reads back
ROUND_TRIPS: dict[str, Callable[[registry.Format, Path], None]] = {
    "dataset": dataset_round_trip, "tokens": tokens_round_trip, "array": array_round_trip,
    "motion": motion_round_trip, "pfnn": pfnn_round_trip,
}


def damage(path: Path) -> None:
    """Overwrite every file of ``path`` (a file or a folder) with bytes no format can read."""
    for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
        file.write_bytes(b"\x00garbage\xff" * 3)


def check_format(fmt: registry.Format, folder: str | Path) -> None:
    """Run ``fmt`` through the kit in ``folder`` (an empty folder it may write in); AssertionError on a
    failure, :class:`ReadOnlyFormat` for a format without a writer."""
    if fmt.writer is None:
        raise ReadOnlyFormat(f"{fmt.name} is read-only: no sample can be written to check")
    path = sample_path(fmt, Path(folder))
    ROUND_TRIPS[fmt.kind](fmt, path)
    assert fmt.detect(str(path)), f"{fmt.name}'s detect does not recognise what its writer wrote"
    found = registry.detect(path)
    assert found is fmt, f"the registry detects {found.name}, not {fmt.name}: lower {fmt.name}'s order"
    run = run_cli("inspect", path, "--json")
    assert run.code in (0, 1) and json.loads(run.stdout)["path"], run.stderr
    damage(path)
    run = run_cli("inspect", path)
    assert run.code == 2 and run.stderr.startswith("mtk: error: ") and len(run.stderr.strip().splitlines()) == 1, \
        f"damaged {fmt.name} input gives exit {run.code}: {run.stderr}"
