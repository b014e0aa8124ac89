"""``mtk tokenize`` and ``mtk detokenize``: a dataset to tokens and tokens back to features.

Normalisation comes from ``--mean/--std`` files, else the checkpoint's stats (what the model was trained with,
as ``mtk tokenizer eval`` does), else the dataset's (MotionMillion checkpoints carry none: its get-codes script
uses the dataset's ``mean_std``). Decoding uses ``--mean/--std``, else the stats stored with the tokens, else
the checkpoint's.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.analysis.finite import check_normalisation, require_finite
from mtk.analysis.length import MAX_ENCODE_FRAMES, require_frames
from mtk.errors import BadInputError, DestinationExistsError, MtkError
from mtk.formats.model import DatasetInfo, Motion, Stats
from mtk.formats.tokens import TokenSet
from mtk.io.destination import is_url
from mtk.io.progress import announce_total
from mtk.io.workdir import WorkFolder, source_identity
from mtk.tokenizer.encode import (Encoded, encode_motions, in_order, load_shard, plan_batches, save_shard,
                                   shard_arrays, shard_names)

Progress = Callable[[int], None] | None
#: motions decoded per window: sorted by length inside it, written in the tokens' order
DECODE_WINDOW = 1024


def load_stats(mean: str | Path | None, std: str | Path | None, fallbacks: list[tuple[str, Stats | None]],
               dim: int) -> tuple[Stats, str]:
    """The normalisation to use and where it came from: the ``mean``/``std`` files, else the first fallback."""
    from mtk.formats.arrays import load_npy

    if (mean is None) != (std is None):
        raise MtkError(None, "--mean and --std go together", "pass both files or neither")
    if mean is not None:
        chosen, source = Stats(load_npy(mean), load_npy(std)), f"{mean}, {std}"
    else:
        found = [(name, stats) for name, stats in fallbacks if stats is not None]
        if not found:
            raise MtkError(None, "no normalisation vectors found", "pass --mean MEAN.npy --std STD.npy")
        source, chosen = found[0]
    check_normalisation(chosen.mean, chosen.std, dim, source)
    return chosen, source


def checkpoint_stats(info: dict) -> Stats | None:
    """The mean/std a checkpoint carries (MotionMillion's carry none)."""
    return None if info.get("mean") is None or info.get("std") is None else Stats(info["mean"], info["std"])


@dataclass
class _Processes:
    """This process's place in a launch of several processes (index 0 of 1 otherwise)."""

    index: int = 0
    count: int = 1
    state: object = None

    @classmethod
    def current(cls) -> _Processes:
        """The process group when the launcher announced several processes (:func:`start_group`)."""
        from mtk.io.processes import announced_processes, start_group

        if announced_processes()[0] <= 1:
            return cls()
        accelerator = start_group()
        return cls(accelerator.process_index, accelerator.num_processes, accelerator)

    @property
    def device(self) -> str:
        """This process's device: its accelerator under a launcher, else CUDA when present, else the CPU."""
        import torch

        if self.state is not None:
            device = self.state.device
            return "cpu" if device.type == "cpu" else str(device)
        return "cuda" if torch.cuda.is_available() else "cpu"

    def wait(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()

    def gather(self, arrays: list[np.ndarray], width: int) -> list[list[np.ndarray]] | None:
        """Every process's ``(frames, width)`` float32 arrays, on the main process in rank order (others get
        None): sizes first, then one padded float tensor per process (collectives, no shared folder)."""
        import torch
        from torch import distributed as dist

        if self.count == 1:
            return [arrays]
        device = self.state.device  # NCCL moves tensors of the GPU only
        lengths = torch.tensor([len(a) for a in arrays], dtype=torch.int64)
        sizes = [torch.zeros(2, dtype=torch.int64, device=device) for _ in range(self.count)]
        dist.all_gather(sizes, torch.tensor([len(arrays), int(lengths.sum())], device=device))
        sizes = [size.tolist() for size in sizes]
        most_items, most_frames = (max(size[k] for size in sizes) for k in (0, 1))
        items = torch.zeros(most_items, dtype=torch.int64)
        items[:len(arrays)] = lengths
        frames = torch.zeros(most_frames, width, dtype=torch.float32)
        if arrays:
            frames[:int(lengths.sum())] = torch.from_numpy(np.concatenate(arrays).astype(np.float32, copy=False))
        items, frames = items.to(device), frames.to(device)
        main = self.index == 0
        item_parts = [torch.empty_like(items) for _ in range(self.count)] if main else None
        frame_parts = [torch.empty_like(frames) for _ in range(self.count)] if main else None
        dist.gather(items, item_parts, dst=0)
        dist.gather(frames, frame_parts, dst=0)
        if not main:
            return None
        out = []
        for (count, total), item, frame in zip(sizes, item_parts, frame_parts, strict=True):
            counts = item[:count].tolist()
            rows = frame[:total].cpu().numpy()
            out.append(list(np.split(rows, np.cumsum(counts)[:-1])) if counts else [])
        return out


@dataclass(frozen=True)
class TokenizeJob:
    """What ``mtk tokenize`` was asked for."""

    dataset: str
    ckpt: str
    out: str
    format: str = "motionmillion"
    split: str | None = None
    batch_size: int = 64
    mean: str | None = None
    std: str | None = None
    overwrite: bool = False
    #: how to open a tree of feature .npy files (``mtk.formats.datasets.open_dataset``)
    layout: str | None = None
    splits: str | None = None


def tokenize_dataset(dataset: str, ckpt: str, out: str, *, format: str = "motionmillion", split: str | None = None,
                     batch_size: int = 64, mean: str | None = None, std: str | None = None,
                     overwrite: bool = False, resume: bool = False, on_progress: Progress = None,
                     layout: str | None = None, splits: str | None = None) -> str:
    """Encode every motion of ``dataset`` (or of ``split``) with the checkpoint and write tokens to ``out``.

    Under ``accelerate launch`` each process encodes a shard and the main process writes the merged result.
    In one process, each finished batch is journaled in a work folder beside ``out``; ``resume`` continues a
    killed run from there (codes are deterministic: the outputs equal an uninterrupted run's). Holds ``out``'s
    lock. Returns a one-line summary.
    """
    job = TokenizeJob(dataset, ckpt, out, format, split, batch_size, mean, std, overwrite, layout, splits)
    procs = _Processes.current()
    if procs.count > 1 or is_url(out):
        if resume:
            raise MtkError(out, "--resume needs one process and a local output",
                           "run without torchrun or accelerate launch, into a local folder")
        with _output_locks(out, format) if procs.index == 0 else nullcontext():
            return _tokenize(job, None, procs, on_progress)
    with _output_locks(out, format):
        options = {"dataset": source_identity(dataset), "ckpt": source_identity(ckpt), "split": split,
                   "mean": mean and source_identity(mean), "std": std and source_identity(std), "layout": layout,
                   "splits": splits and source_identity(splits)}
        with WorkFolder(out, options, resume, overwrite) as work:
            return _tokenize(job, work, procs, on_progress)


def _output_locks(out: str, format: str) -> ExitStack:
    """The lock of every output ``format`` writes for ``out`` (two runs sharing an all_data.pkl never write
    it together); none for a URL (object stores have no exclusive create)."""
    from mtk.formats import registry
    from mtk.io.lock import exclusive

    with ExitStack() as locks:  # a lock refused releases those already held
        if not is_url(out):
            for target in registry.get("tokens", format).writer.outputs(out):
                locks.enter_context(exclusive(target))
        return locks.pop_all()


def _tokenize(job: TokenizeJob, work: WorkFolder | None, procs: _Processes, on_progress: Progress) -> str:
    """:func:`tokenize_dataset`'s work, journaling finished batches in ``work`` when given."""
    from mtk.formats import registry
    from mtk.formats.datasets import open_dataset
    from mtk.formats.tokens import check_codes_per_step, write_tokens
    from mtk.tokenizer.checkpoint import load_checkpoint

    url = is_url(job.out)
    if url and not registry.get("tokens", job.format).writer.writes_urls:
        remote = [f.name for f in registry.formats("tokens", writable=True) if f.writer.writes_urls]
        raise MtkError(job.out, f"{job.format} tokens are written to a local folder",
                       f"use --format {' or '.join(remote)} for URLs")
    out_path = str(job.out) if url else Path(job.out).absolute()
    overwrite = job.overwrite or (work is not None and work.resumed)  # a killed run's half-written outputs
    if not url:
        registry.get("tokens", job.format).writer.check(out_path, overwrite)
    model, ckpt_info = load_checkpoint(job.ckpt, map_location=procs.device)
    check_codes_per_step(job.out, job.format, model.codes_per_step)
    reader = open_dataset(job.dataset, layout=job.layout, splits=job.splits)
    info = reader.info
    if info.layout is not None and info.layout.dim != model.input_dim:
        raise BadInputError(job.dataset, f"has {info.layout.dim}-dim features but the checkpoint encodes "
                            f"{model.input_dim}-dim ones", "use a checkpoint trained on this layout")
    stats, source = load_stats(job.mean, job.std, [(f"{job.ckpt} stats", checkpoint_stats(ckpt_info)),
                                                   (f"{job.dataset} stats", info.stats)], model.input_dim)
    try:
        names = info.split_names(job.split)
    except KeyError as err:
        raise MtkError(job.dataset, str(err.args[0]), "pick one of the listed splits or 'all'") from None
    announce_total(on_progress, len(names))

    def encode(subset: list[str], after_batch: Progress = on_progress) -> Iterator[Encoded]:
        return (encode_motions(reader, subset, model, np.asarray(stats.mean), np.asarray(stats.std),
                               job.batch_size, on_progress=after_batch))

    if work is not None:
        encoded = in_order(_encode_journaled(names, work, encode, on_progress), names)
    elif procs.count == 1:
        encoded = in_order(encode(names), names)
    else:
        shard_dir = Path.cwd() if url else out_path.parent
        shard_dir = shard_dir / f".{str(job.out).rstrip('/').rsplit('/', 1)[-1]}.mtk-shards"
        encoded = _encode_sharded(reader, names, model.unit_length, shard_dir, procs, encode)
        if encoded is None:
            return f"process {procs.index} of {procs.count}: shard encoded"
    layout = info.layout.name if info.layout is not None else ckpt_info.get("layout")
    tokens = TokenSet([e.name for e in encoded], [e.codes for e in encoded], [e.texts for e in encoded],
                      codebook_size=model.codebook_size, unit_length=model.unit_length, layout=layout,
                      fps=info.fps, stats=Stats(np.asarray(stats.mean), np.asarray(stats.std)))
    summary = write_tokens(out_path if url else Path(job.out), tokens, job.format, overwrite=overwrite)
    return f"{summary}; normalised with {source}" + (f"; {procs.count} processes" if procs.count > 1 else "")


def _encode_sharded(reader, names: list[str], unit: int, shard_dir: Path, procs: _Processes,
                    encode: Callable[[list[str]], Iterator[Encoded]]) -> list[Encoded] | None:
    """Encode this process's shard and save it in ``shard_dir`` (a folder every process sees); the main
    process merges (others get None and are done: the main one writes without waiting on them)."""
    from mtk.tokenizer.encode import cropped_frames

    shard_dir.mkdir(parents=True, exist_ok=True)
    lengths = [cropped_frames(reader.length(n), unit) for n in names]
    save_shard(shard_dir / f"{procs.index}.npz", list(encode(shard_names(names, lengths, procs.index, procs.count))))
    procs.wait()
    if procs.index != 0:
        return None
    merged = [e for k in range(procs.count) for e in load_shard(shard_dir / f"{k}.npz")]
    shutil.rmtree(shard_dir)
    return in_order(merged, names)


def _encode_journaled(names: list[str], work: WorkFolder, encode: Callable[..., Iterator[Encoded]],
                      on_progress: Progress) -> list[Encoded]:
    """The motions journaled in ``work`` plus the others, encoded and journaled one batch per shard."""
    done = [e for piece in work.pieces() for e in load_shard(work.file(piece))]
    if on_progress is not None and done:
        on_progress(len(done))
    finished = {e.name for e in done}
    batch: list[Encoded] = []
    shards = [len(work.pieces())]

    def journal(count: int) -> None:
        work.save(f"batch-{shards[0]:06d}", **shard_arrays(batch))
        shards[0] += 1
        done.extend(batch)
        batch.clear()
        if on_progress is not None:
            on_progress(count)

    for item in encode([n for n in names if n not in finished], journal):
        batch.append(item)
    return done


def decode_codes(model, codes: list[np.ndarray]) -> list[np.ndarray]:
    """Normalised features (len * unit_length, D) of each code sequence, decoded as zero-padded batches."""
    import torch

    unit = model.unit_length
    step = () if model.codes_per_step == 1 else (model.codes_per_step,)
    out: list[np.ndarray] = [np.zeros((0, model.input_dim), np.float32) for _ in codes]
    lengths = [len(c) for c in codes]
    device = next(model.parameters()).device
    for batch in plan_batches(lengths, 64):
        live = [i for i in batch if lengths[i] > 0]
        if not live:
            continue
        steps = lengths[live[0]]
        indices = np.zeros((len(live), steps, *step), dtype=np.int64)
        for row, i in enumerate(live):
            indices[row, :lengths[i]] = codes[i]
        with torch.inference_mode():
            token_lengths = None if len(live) == 1 else torch.tensor([lengths[i] for i in live], device=device)
            features = model.decode(torch.from_numpy(indices).to(device), token_lengths).cpu().numpy()
        for row, i in enumerate(live):
            out[i] = features[row, :lengths[i] * unit]
    return out


def denormalize(features: np.ndarray, stats: Stats) -> np.ndarray:
    """``x * std + mean`` in float64, returned as float32."""
    return (features.astype(np.float64) * np.asarray(stats.std, np.float64)
            + np.asarray(stats.mean, np.float64)).astype(np.float32)


def detokenize(tokens_path: str, ckpt: str, out: str, *, format: str | None = None, mean: str | None = None,
               std: str | None = None, overwrite: bool = False, on_progress: Progress = None) -> str:
    """Decode tokens (a MotionMillion code folder or pickle, or a tokens store) to a dataset at ``out``
    (npy folder, Zarr or HDF5; from ``format`` or ``out``'s suffix). Returns a one-line summary."""
    from mtk.features import get_layout, layout_for_dim
    from mtk.formats.datasets import create_writer, format_for_path
    from mtk.formats.tokens import read_tokens
    from mtk.io.lock import exclusive
    from mtk.tokenizer.checkpoint import load_checkpoint

    fmt = format or format_for_path(out) or "npy"
    if not overwrite and Path(out).exists():
        raise DestinationExistsError(out, "already exists", "pass --overwrite to replace it")
    procs = _Processes.current()
    tokens = read_tokens(tokens_path)
    model, ckpt_info = load_checkpoint(ckpt, map_location=procs.device)
    if tokens.codebook_size not in (None, model.codebook_size):
        raise BadInputError(tokens_path, f"was made with a codebook of {tokens.codebook_size} codes; the checkpoint "
                            f"has {model.codebook_size}", "decode with the checkpoint that made the tokens")
    if tokens.codes_per_step != model.codes_per_step:
        raise BadInputError(tokens_path, f"has {tokens.codes_per_step} code(s) per step; the checkpoint's quantizer "
                            f"makes {model.codes_per_step}", "decode with the checkpoint that made the tokens")
    top = max((int(c.max()) for c in tokens.codes if len(c)), default=-1)
    if top >= model.codebook_size:
        raise BadInputError(tokens_path, f"holds code {top}, beyond the checkpoint's {model.codebook_size} codes")
    for name, codes in zip(tokens.names, tokens.codes, strict=True):
        require_frames(len(codes) * model.unit_length, f"{tokens_path}: motion {name}", MAX_ENCODE_FRAMES, "decodes")
    stats, _ = load_stats(mean, std, [(f"{tokens_path} stats", tokens.stats),
                                      (f"{ckpt} stats", checkpoint_stats(ckpt_info))], model.input_dim)
    layout = get_layout(tokens.layout) if tokens.layout else layout_for_dim(model.input_dim)
    info = DatasetInfo(layout=layout, fps=float(tokens.fps or (layout.fps if layout else 30.0)),
                       names=list(tokens.names), stats=stats,
                       family=layout.dataset_family if layout else "mtk")
    frames = 0
    main = procs.index == 0
    with ExitStack() as stack:
        writer = None
        if main:  # the main process writes; the others decode their share of each window
            stack.enter_context(exclusive(out))
            writer = stack.enter_context(create_writer(out, fmt, info, overwrite=overwrite))
        for start in range(0, len(tokens), DECODE_WINDOW):
            window = range(start, min(start + DECODE_WINDOW, len(tokens)))
            decoded = _decode_shared(model, [tokens.codes[i] for i in window], procs)
            if writer is None:
                continue
            for i, features in zip(window, decoded, strict=True):
                name = tokens.names[i]
                rows = require_finite(denormalize(features, stats), f"{tokens_path}: motion {name}",
                                      "the checkpoint decodes it to NaN or Inf")
                writer.add(Motion(name, rows, list(tokens.texts[i])))
                frames += len(features)
            if on_progress is not None:
                on_progress(len(window))
        if writer is not None:
            writer.set_stats(stats)
    on = f" on {procs.count} processes" if procs.count > 1 else ""
    return f"decoded {len(tokens)} motions ({frames} frames) to {out} ({fmt}){on}"


def _decode_shared(model, codes: list[np.ndarray], procs: _Processes) -> list[np.ndarray] | None:
    """:func:`decode_codes` with each process decoding every ``count``-th sequence; the main process gets
    all of them in order, the others None."""
    if procs.count == 1:
        return decode_codes(model, codes)
    parts = procs.gather(decode_codes(model, codes[procs.index::procs.count]), model.input_dim)
    if parts is None:
        return None
    decoded: list[np.ndarray] = [np.zeros((0, model.input_dim), np.float32)] * len(codes)
    for rank, part in enumerate(parts):
        decoded[rank::procs.count] = part
    return decoded
