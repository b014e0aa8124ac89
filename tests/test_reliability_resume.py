"""``mtk stats --resume`` and ``mtk tokenize --resume``: an interrupted run continues from its work folder,
reuses what it finished, and ends with outputs identical to an uninterrupted run's; other options refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from factories import checksums, make_npy_dataset
from reliability import tiny_checkpoint

from mtk.errors import MtkError
from mtk.io.lock import lock_path
from mtk.io.workdir import work_path
from mtk.jobs.stats import RUN_MOTIONS, stats_to_dir


class Stop(KeyboardInterrupt):
    """Raised from a progress callback: the run is interrupted as Ctrl-C would."""


def interrupt_after(calls: int):
    seen = []

    def advance(n: int) -> None:
        seen.append(n)
        if len(seen) == calls:
            raise Stop

    return advance


def counting():
    seen: list[int] = []
    return seen, seen.append


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    # three runs of motions (256 + 256 + 88), so a resumed pass has runs to skip and runs to scan
    return make_npy_dataset(tmp_path_factory.mktemp("src") / "data", "hml263", count=600, min_frames=20,
                            max_frames=30)


def test_stats_resume_skips_finished_runs_and_gives_the_same_files(source, tmp_path):
    stats_to_dir(str(source), tmp_path / "whole", split="all", workers=1)
    reference = checksums(tmp_path / "whole")
    out = tmp_path / "out"
    with pytest.raises(Stop):
        stats_to_dir(str(source), out, split="all", workers=1, on_progress=interrupt_after(2))
    assert not out.exists()
    assert len(list(work_path(out).glob("run-*.npz"))) == 2
    seen, advance = counting()
    result, _ = stats_to_dir(str(source), out, split="all", workers=2, resume=True, on_progress=advance)
    assert seen[:2] == [RUN_MOTIONS, RUN_MOTIONS] and sum(seen) == 600  # the two saved runs are loaded first
    assert checksums(out) == reference
    assert len(result.used) == 600
    assert not work_path(out).exists() and not lock_path(out).exists()


def test_stats_with_overwrite_starts_afresh_and_a_plain_rerun_keeps_the_work(source, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(Stop):
        stats_to_dir(str(source), out, split="all", workers=1, on_progress=interrupt_after(1))
    stale = next(work_path(out).glob("run-*.npz"))
    stale.write_bytes(b"not the moments")  # a fresh run never reads it
    with pytest.raises(MtkError, match="--resume to continue it, or --overwrite to start over"):
        stats_to_dir(str(source), out, split="all", workers=1)  # a plain rerun never deletes the work silently
    assert stale.exists()
    stats_to_dir(str(source), out, split="all", workers=1, overwrite=True)
    stats_to_dir(str(source), tmp_path / "whole", split="all", workers=1)
    assert checksums(out) == checksums(tmp_path / "whole")
    assert not work_path(out).exists()


def test_stats_resume_with_other_options_is_refused(source, tmp_path, mtk_cli):
    out = tmp_path / "out"
    with pytest.raises(Stop):
        stats_to_dir(str(source), out, split="all", workers=1, on_progress=interrupt_after(1))
    before = checksums(tmp_path)
    done = mtk_cli("stats", source, "--split", "all", "--feat-bias", "5", "--out", out, "--resume")
    assert done.code == 2
    assert done.stderr == (f"mtk: error: {out}: has an unfinished run made with other inputs or options "
                           "(rerun with the same ones, or with --overwrite to start afresh)\n")
    assert checksums(tmp_path) == before
    assert not lock_path(out).exists()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from mtk.jobs.sample import write_sample_dataset

    path = tmp_path_factory.mktemp("sample") / "sample"
    write_sample_dataset(str(path), layout="hml263", count=40, seed=5)
    return path


def visible(root: Path, skip_prob: bool = False) -> dict[str, str]:
    return {n: d for n, d in checksums(root).items()
            if not Path(n).name.startswith(".") and not (skip_prob and n.endswith("_prob.npy"))}


@pytest.mark.parametrize("format", ["motionmillion", "zarr"])
def test_tokenize_resume_reuses_journaled_batches_and_gives_the_same_tokens(sample, checkpoint, tmp_path, format):
    from mtk.formats.tokens import read_tokens
    from mtk.tokenizer.tokenize import tokenize_dataset

    def tokenize(out: Path, **options) -> str:
        return tokenize_dataset(str(sample), str(checkpoint), str(out), format=format, batch_size=8, **options)

    tokenize(tmp_path / "whole" / "codes")
    out = tmp_path / "out" / "codes"
    with pytest.raises(Stop):
        tokenize(out, on_progress=interrupt_after(2))
    journal = sorted(work_path(out).glob("batch-*.npz"))
    assert len(journal) == 2 and not out.exists()
    seen, advance = counting()
    tokenize(out, resume=True, on_progress=advance)
    assert seen[0] > 0 and sum(seen) == 40  # the journaled motions come back first, the rest are encoded
    expected, got = read_tokens(tmp_path / "whole" / "codes"), read_tokens(out)
    assert got.names == expected.names and got.texts == expected.texts
    for a, b in zip(got.codes, expected.codes, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got.frequencies(), expected.frequencies())
    # torch.save of the prob file is not byte-stable from run to run; its values are compared above
    assert visible(tmp_path / "out") == visible(tmp_path / "whole")
    assert not work_path(out).exists() and not lock_path(out).exists()


def test_tokenize_resume_with_another_checkpoint_is_refused(sample, checkpoint, tmp_path):
    import shutil

    from mtk.tokenizer.tokenize import tokenize_dataset

    out = tmp_path / "codes"
    with pytest.raises(Stop):
        tokenize_dataset(str(sample), str(checkpoint), str(out), batch_size=8, on_progress=interrupt_after(1))
    other = tmp_path / "other.pth"
    shutil.copy(checkpoint, other)
    with pytest.raises(MtkError, match="unfinished run made with other inputs or options"):
        tokenize_dataset(str(sample), str(other), str(out), batch_size=8, resume=True)
    assert work_path(out).exists() and not lock_path(out).exists()
