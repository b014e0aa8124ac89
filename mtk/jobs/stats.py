"""Dataset mean/std in one streaming pass over any dataset, in parallel (``mtk stats``).

The motions are cut into contiguous runs of :data:`RUN_MOTIONS` names. Each worker process opens the
dataset itself by path and reads its runs with ``reader.iter_names``; each run yields float64 moments
(:class:`~mtk.stats.moments.Moments`, O(D)), merged in run order. Runs do not depend on the worker
count, so 1 or 8 workers give bit-identical results. Motions holding NaN/Inf (or of the wrong width)
are skipped and listed, as the reference scripts do, or fail the run with ``strict``.

Outputs follow the dataset's folder convention (:class:`mtk.features.DatasetFolder`): ``Mean.npy``/``Std.npy``
(HumanML3D, KIT), or ``mean_std/vector_272/{mean,std}.npy`` (MotionMillion), in the layout's dtype, plus a
``stats.json`` sidecar beside them.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtk.errors import BadInputError, MtkError
from mtk.features import DatasetFolder, folder_for_layout, folder_named, layout_dims
from mtk.formats.arrays import load_npy, resolve_layout
from mtk.formats.base import DatasetReader
from mtk.formats.datasets import open_dataset
from mtk.formats.model import DatasetInfo
from mtk.formats.ragged_store import created_by
from mtk.io.atomic import refuse_existing, write_together
from mtk.io.lock import exclusive
from mtk.io.workdir import WorkFolder, options_key, source_identity
from mtk.schemas import Layout
from mtk.stats.conventions import ConventionCheck, compare_with_moments, identify_convention
from mtk.stats.moments import Grouping, Moments, NormStats, Scratch, chunk_moments, normalization

#: motions per run (the unit of work); fixed, so the merge order never depends on the worker count.
#: Large enough that a store's shard at a run boundary is read twice only rarely.
RUN_MOTIONS = 256
SIDECAR = "stats.json"
ALL = "all"


@dataclass
class Skipped:
    name: str
    reason: str


@dataclass
class RunResult:
    """The moments of one run of motions, overall and per split bucket."""

    index: int
    total: Moments
    buckets: dict[str, Moments]
    used: list[str]
    skipped: list[Skipped]
    error: tuple[str | None, str, str | None] | None = None


@dataclass
class MomentsPass:
    """Merged moments of a pass: overall, per split bucket, which motions were used and skipped."""

    total: Moments
    buckets: dict[str, Moments]
    used: list[str]
    skipped: list[Skipped]


@dataclass
class DatasetStats:
    """``mtk stats`` result: the normalisation vectors and what they were computed from."""

    path: str
    layout: Layout
    #: the dataset folder convention the stats are written in (its name is the sidecar's ``family``)
    folder: DatasetFolder
    split: str
    stats: NormStats
    used: list[str]
    skipped: list[Skipped]
    missing: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        """The dataset family the stats belong to (``humanml3d``, ``motionmillion``)."""
        return self.folder.name

    @property
    def motion_list_sha256(self) -> str:
        """SHA-256 of the used motion names, in order, one per line."""
        return hashlib.sha256("".join(f"{n}\n" for n in self.used).encode()).hexdigest()

    def sidecar(self) -> dict:
        stats = self.stats
        return {
            "created_by": created_by(), "dataset": self.path, "family": self.folder.name, "layout": self.layout.name,
            "split": self.split, "convention": stats.convention, "groups": stats.groups,
            "std_groups": [label for label, _ in self.layout.std_group_slices()] if stats.groups == "layout"
            else None,
            "feat_bias": stats.feat_bias, "feat_bias_groups": list(self.layout.feat_bias_groups),
            "motions": len(self.used), "frames": stats.frames,
            "skipped": [{"name": s.name, "reason": s.reason} for s in self.skipped],
            "missing": len(self.missing), "motion_list_sha256": self.motion_list_sha256,
            "zero_std_dims": stats.zero_dims, "dtype": self.layout.dtype_on_disk,
        }


# ---------------------------------------------------------------------------------------------------
# the pass

_WORKER_READERS: dict[tuple[str, str | None], DatasetReader] = {}


def _worker_reader(path: str, layout: str | None) -> DatasetReader:
    """This process's own reader of ``path`` (opened on first use, never inherited across a fork)."""
    key = (path, layout)
    if key not in _WORKER_READERS:
        _WORKER_READERS[key] = open_dataset(path, layout=layout)
    return _WORKER_READERS[key]


def _scan(reader: DatasetReader, index: int, names: Sequence[str], dim: int,
          membership: Sequence[tuple[str, ...]] | None, strict: bool) -> RunResult:
    total, buckets, scratch = Moments(dim), {}, Scratch(dim)
    used, skipped = [], []
    for position, motion in enumerate(reader.iter_names(names)):
        features = motion.features
        if features.ndim != 2 or features.shape[1] != dim:
            skipped.append(Skipped(motion.name, f"has shape {features.shape}, expected (T, {dim})"))
        elif not np.isfinite(features).all():
            skipped.append(Skipped(motion.name, "holds NaN or Inf"))
        else:
            chunk = chunk_moments(features, scratch)
            total.merge(chunk)
            for key in membership[position] if membership else ():
                buckets.setdefault(key, Moments(dim)).merge(chunk)
            used.append(motion.name)
        if skipped and strict:
            break
    return RunResult(index, total, buckets, used, skipped)


def _scan_in_worker(task: tuple) -> RunResult:
    path, layout, index, names, dim, membership, strict = task
    try:
        return _scan(_worker_reader(path, layout), index, names, dim, membership, strict)
    except MtkError as err:  # MtkError does not survive pickling: send its parts
        return RunResult(index, Moments(dim), {}, [], [], (err.path, err.problem, err.hint))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _pool_context():
    # fork starts workers fastest; each opens its own reader after the fork (h5py/zarr never cross it)
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def moments_pass(reader: DatasetReader, names: Sequence[str], layout: Layout, *, workers: int | None = None,
                 strict: bool = False, buckets: dict[str, Sequence[str]] | None = None,
                 on_progress: Callable[[int], None] | None = None, work: WorkFolder | None = None) -> MomentsPass:
    """Moments of ``names`` (and of each bucket's members among them) in one pass.

    With ``work`` (no buckets) each finished run is saved there and runs already saved are not scanned again.
    """
    member_of: dict[str, list[str]] = {}
    for key, members in (buckets or {}).items():
        for name in members:
            member_of.setdefault(name, []).append(key)
    runs = [list(names[i:i + RUN_MOTIONS]) for i in range(0, len(names), RUN_MOTIONS)]
    results: list[RunResult] = [None] * len(runs)  # type: ignore[list-item]
    for index, run in enumerate(runs):
        if work is not None and work.has(_run_piece(index, run)):
            results[index] = _collect(_load_run(work, index, run, layout.dim), strict, reader.path, on_progress)
    tasks = [(reader.path, layout.name, i, run, layout.dim,
              [tuple(member_of.get(n, ())) for n in run] if buckets else None, strict)
             for i, run in enumerate(runs) if results[i] is None]

    def finish(result: RunResult) -> None:
        _check(result, strict, reader.path)
        if work is not None:
            _save_run(work, result, runs[result.index])
        results[result.index] = _collect(result, strict, reader.path, on_progress)

    workers = min(workers or default_workers(), len(tasks))
    if workers <= 1:
        for task in tasks:
            finish(_scan(reader, *task[2:]))
    else:
        reader.close()
        with _pool_context().Pool(workers) as pool:
            for result in pool.imap_unordered(_scan_in_worker, tasks):
                finish(result)
    return _merge(results, layout.dim)


def _run_piece(index: int, names: Sequence[str]) -> str:
    """A run's piece name: its index and a hash of its names (another dataset's run is never reused)."""
    return f"run-{index:06d}-{options_key({'names': list(names)})[:16]}"


def _save_run(work: WorkFolder, result: RunResult, names: Sequence[str]) -> None:
    """A finished run's moments (float64), used names and skipped motions, as one ``.npz``."""
    work.save(_run_piece(result.index, names), count=np.int64(result.total.count), mean=result.total.mean,
              m2=result.total.m2, used=np.array(result.used, dtype=str),
              skipped=np.array([s.name for s in result.skipped], dtype=str),
              reasons=np.array([s.reason for s in result.skipped], dtype=str))


def _load_run(work: WorkFolder, index: int, names: Sequence[str], dim: int) -> RunResult:
    data = work.load(_run_piece(index, names))
    total = Moments(dim, int(data["count"]), data["mean"], data["m2"])
    skipped = [Skipped(str(n), str(r)) for n, r in zip(data["skipped"], data["reasons"], strict=True)]
    return RunResult(index, total, {}, [str(n) for n in data["used"]], skipped)


def _collect(result: RunResult, strict: bool, path: str, on_progress: Callable[[int], None] | None) -> RunResult:
    _check(result, strict, path)
    if on_progress is not None:
        on_progress(len(result.used) + len(result.skipped))
    return result


def _check(result: RunResult, strict: bool, path: str) -> None:
    """Raise the error a run met, or (``strict``) the first motion it skipped."""
    if result.error is not None:
        raise MtkError(*result.error)
    if strict and result.skipped:
        first = result.skipped[0]
        raise BadInputError(path, f"motion {first.name} {first.reason}",
                            "drop --strict to skip such motions and list them")


def _merge(results: list[RunResult], dim: int) -> MomentsPass:
    total, buckets, used, skipped = Moments(dim), {}, [], []
    for result in results:
        total.merge(result.total)
        for key, moments in result.buckets.items():
            buckets.setdefault(key, Moments(dim)).merge(moments)
        used += result.used
        skipped += result.skipped
    return MomentsPass(total, buckets, used, skipped)


# ---------------------------------------------------------------------------------------------------
# mtk stats

def _open(path: str, layout: str | None, splits: str | None = None) -> tuple[DatasetReader, DatasetInfo, Layout]:
    reader = open_dataset(path, layout=layout, splits=splits)
    info = reader.info
    if info.layout is None:
        raise BadInputError(path, "has motions of a width that matches no known layout", "pass --layout")
    return reader, info, info.layout


def _resolve_split(info: DatasetInfo, split: str, path: str) -> str:
    """The dataset's key for ``split`` (``all`` stays ``all`` unless the dataset has such a split)."""
    if split == ALL and not _has_split(info, ALL):
        return ALL
    try:
        return info.resolve_split(split)
    except KeyError as err:
        raise MtkError(path, str(err.args[0]), "pass --split with one of them, or --split all") from None


def _split_members(info: DatasetInfo, split: str | None, path: str) -> tuple[str, list[str], list[str]]:
    """(split used, its motions present in the dataset, its names the dataset lacks)."""
    split = _resolve_split(info, split or ("train" if _has_split(info, "train") else ALL), path)
    members = info.split_names(split)
    present = set(info.names)
    return split, [n for n in members if n in present], [n for n in members if n not in present]


def _has_split(info: DatasetInfo, split: str) -> bool:
    try:
        info.resolve_split(split)
    except KeyError:
        return False
    return True


def dataset_stats(path: str, *, split: str | None = None, groups: Grouping = "layout", feat_bias: float = 1.0,
                  layout: str | None = None, workers: int | None = None, strict: bool = False,
                  on_progress: Callable[[int], None] | None = None, work: WorkFolder | None = None,
                  splits: str | None = None) -> DatasetStats:
    """Mean/std of a dataset's ``split`` (default: train when the dataset has one, else all) in a convention;
    ``splits``: a folder of split lists for a tree of .npy files."""
    if feat_bias <= 0:
        raise MtkError(None, f"--feat-bias must be positive, got {feat_bias:g}")
    reader, info, found = _open(path, layout, splits)
    split, names, missing = _split_members(info, split, path)
    if not names:
        raise MtkError(path, f"split {split} has no motions in this dataset", "pick another --split")
    scan = moments_pass(reader, names, found, workers=workers, strict=strict, on_progress=on_progress, work=work)
    if scan.total.count == 0:
        raise BadInputError(path, f"no usable motion in split {split}: all {len(scan.skipped)} were skipped",
                            scan.skipped[0].reason)
    folder = folder_named(info.family) or folder_for_layout(found)
    return DatasetStats(str(path), found, folder, split, normalization(scan.total, found, groups, feat_bias),
                        scan.used, scan.skipped, missing)


def output_files(out_dir: str | Path, folder: DatasetFolder, feat_bias: float = 1.0) -> tuple[Path, Path, Path]:
    """(mean, std, sidecar) paths under ``out_dir`` in the folder convention's names; feat-biased HumanML3D
    stats take text-to-motion's ``meta/`` names (``mean.npy``, ``std.npy``), as its training loader expects."""
    mean_rel, std_rel = folder.stats_files(feat_bias)
    mean, std = Path(out_dir, mean_rel), Path(out_dir, std_rel)
    return mean, std, std.with_name(SIDECAR)


def write_stats(result: DatasetStats, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the vectors (family names and dtype) and the JSON sidecar in one commit
    (:func:`mtk.io.atomic.write_together`); existing files need ``overwrite``."""
    paths = output_files(out_dir, result.folder, result.stats.feat_bias)
    for path in paths:
        refuse_existing(path, overwrite)
    dtype = result.layout.dtype_on_disk
    mean_path, std_path, sidecar_path = paths
    document = result.sidecar() | {"files": {"mean": mean_path.name, "std": std_path.name}}

    def vector(values: np.ndarray) -> Callable[[Path], None]:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, values.astype(dtype), allow_pickle=False)
        return write

    write_together(out_dir, {
        mean_path: vector(result.stats.mean), std_path: vector(result.stats.std),
        sidecar_path: lambda tmp: tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")})
    return list(paths)


def stats_to_dir(path: str, out_dir: str | Path, *, split: str | None = None, groups: Grouping = "layout",
                 feat_bias: float = 1.0, layout: str | None = None, workers: int | None = None,
                 strict: bool = False, overwrite: bool = False, resume: bool = False,
                 on_progress: Callable[[int], None] | None = None,
                 splits: str | None = None) -> tuple[DatasetStats, list[Path]]:
    """:func:`dataset_stats` written under ``out_dir`` (:func:`write_stats`), holding ``out_dir``'s lock.

    Each finished run's moments are kept in a work folder beside ``out_dir``; ``resume`` reuses those of a
    killed run made with the same options (merged in the same order: the result is bit-identical) and may
    replace the output files that run left.
    """
    options = {"dataset": source_identity(path), "split": split,
               "groups": groups, "feat_bias": feat_bias, "layout": layout, "strict": strict, "run": RUN_MOTIONS,
               "splits": splits and source_identity(splits)}
    with exclusive(out_dir), WorkFolder(out_dir, options, resume, overwrite) as work:
        result = dataset_stats(path, split=split, groups=groups, feat_bias=feat_bias, layout=layout, workers=workers,
                               strict=strict, on_progress=on_progress, work=work, splits=splits)
        written = write_stats(result, out_dir, overwrite=overwrite or work.resumed)
    return result, written


# ---------------------------------------------------------------------------------------------------
# mtk stats --check

@dataclass
class StatsCheck:
    """What ``mtk stats --check`` found: the convention, and which split the files match if any."""

    mean_path: str
    std_path: str
    check: ConventionCheck
    dataset: str | None = None
    #: the split (or "all") whose recomputed stats equal the files; None when none does or no dataset
    matched_split: str | None = None
    #: per split compared: the convention check against that split's motions
    by_split: dict[str, ConventionCheck] = field(default_factory=dict)


def load_stats_pair(mean_path: str, std_path: str, layout: str | None = None) -> tuple[np.ndarray, np.ndarray, Layout]:
    mean, std = load_npy(mean_path), load_npy(std_path)
    for path, vector in ((mean_path, mean), (std_path, std)):
        if vector.ndim != 1:
            raise BadInputError(path, f"has shape {vector.shape}; expected a (D,) stats vector")
    if mean.shape != std.shape:
        raise BadInputError(std_path, f"has {std.shape[0]} values but {mean_path} has {mean.shape[0]}",
                            "pass the mean and std of the same dataset")
    found = resolve_layout(mean.shape[0], layout, mean_path)
    if found is None:
        raise BadInputError(mean_path, f"has {mean.shape[0]} values, which is no layout's mean/std size",
                            f"expected {layout_dims()}")
    return mean, std, found


def check_stats(mean_path: str, std_path: str, dataset: str | None = None, *, split: str | None = None,
                layout: str | None = None, workers: int | None = None,
                on_progress: Callable[[int], None] | None = None) -> StatsCheck:
    """Identify the convention of a Mean/Std pair, from the files alone or against a dataset's motions."""
    mean, std, found = load_stats_pair(mean_path, std_path, layout)
    try:
        alone = identify_convention(mean, std, found)
    except ValueError as err:
        raise BadInputError(std_path, str(err), "pass the mean file first, then the std file") from None
    if dataset is None:
        return StatsCheck(mean_path, std_path, alone)
    reader, info, data_layout = _open(dataset, layout or found.name)
    if data_layout.dim != found.dim:
        raise BadInputError(mean_path, f"has {found.dim} values but {dataset} holds {data_layout.dim}-dim motions")
    requested = [_resolve_split(info, split, str(dataset))] if split else []
    present = set(info.names)
    splits = {key: [n for n in members if n in present] for key, members in info.splits.items()}
    scan = moments_pass(reader, info.names, data_layout, workers=workers, buckets=splits, on_progress=on_progress)
    candidates = {key: scan.buckets[key] for key in splits if key in scan.buckets} | {ALL: scan.total}
    by_split = {key: compare_with_moments(mean, std, found, moments) for key, moments in candidates.items()}
    order = requested + list(by_split)
    matched = next((key for key in order if key in by_split and by_split[key].matches_data), None)
    if matched is not None:
        return StatsCheck(mean_path, std_path, by_split[matched], str(dataset), matched, by_split)
    alone.notes.insert(0, "no split of the dataset reproduces these files; the convention is read from the files")
    return StatsCheck(mean_path, std_path, alone, str(dataset), None, by_split)
