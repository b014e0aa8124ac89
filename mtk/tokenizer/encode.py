"""Batched encoding of variable-length motions, with codes equal to encoding each motion alone.

Motions are normalised as MotionMillion's loader does (``(x - mean) / std`` in float64, then float32) and
cropped from their start to a multiple of the model's unit length (the reference crops at a random offset;
mtk is deterministic). Batches group motions of similar length (sorted, longest first), zero-pad them and
pass their lengths, so the model masks the padded steps after every layer.

Under accelerate each process encodes one shard (every ``count``-th motion in length order, so the work is
balanced), saves it as a plain ``.npz`` and the main process merges the shards back in dataset order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtk.analysis.length import MAX_ENCODE_FRAMES, require_frames
from mtk.errors import MtkError
from mtk.formats.base import DatasetReader

#: default cap on padded frames per batch (batch size x longest motion), bounding memory for long motions
MAX_BATCH_FRAMES = 32_768
#: batches are padded to a multiple of this many frames, so few distinct shapes reach the convolution
#: kernels (oneDNN sets up a kernel for every new input shape)
PAD_MULTIPLE = 32
#: a motion joins a batch only when padding it to the batch's longest adds at most this share of frames
MAX_PADDING = 0.25
#: FSQ values this close to a rounding boundary (x.5) send their motion to be re-encoded alone: batched and
#: single convolutions sum in different orders and differ by up to ~3e-6 (measured), enough to round such a
#: value differently; the margin is ten times that
TIE_MARGIN = 3e-5


def cropped_frames(frames: int, unit_length: int) -> int:
    """Frames kept from the start of a motion: the largest multiple of ``unit_length``."""
    return frames // unit_length * unit_length


def normalize(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` computed in float64, returned as float32."""
    return ((features.astype(np.float64) - mean.astype(np.float64)) / std.astype(np.float64)).astype(np.float32)


def plan_batches(lengths: Sequence[int], batch_size: int, max_frames: int = MAX_BATCH_FRAMES,
                 max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches of similar length, longest first.

    A batch holds at most ``batch_size`` motions, at most ``max_frames`` padded frames (unless it is a single
    motion), and only motions at least ``1 - max_padding`` times as long as its longest.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for index in order:
        if batches:
            batch = batches[-1]
            longest = lengths[batch[0]]
            if (len(batch) < batch_size and (len(batch) + 1) * longest <= max_frames
                    and lengths[index] >= (1 - max_padding) * longest):
                batch.append(index)
                continue
        batches.append([index])
    return batches


def _codes_and_ties(model, x, lengths) -> tuple[np.ndarray, np.ndarray]:
    """Codes (B, N) or (B, N, Q) and, per token, whether it lies within ``TIE_MARGIN`` of a quantization boundary
    (:meth:`mtk.tokenizer.quantizers.Quantizer.near_boundary`)."""
    latents = model.vqvae.encoder(x.float().transpose(1, 2), lengths)
    codes = model.quantizer(latents)[1]
    return codes.cpu().numpy(), model.quantizer.near_boundary(latents, TIE_MARGIN).cpu().numpy()


def encode_batch(model, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Codes (int32, ``(N,)`` or ``(N, Q)``) of normalised, cropped motions, encoded together as one
    zero-padded batch.

    A lone motion is encoded as it is, without padding. In a batch, a motion with a token on a quantization
    boundary (FSQ rounding, LFQ sign; where the batched convolutions' float summation order could quantize it
    the other way) is encoded again alone, so its codes equal one-at-a-time encoding. Learnt codebooks (VQ,
    VQ-VAE) report no boundaries: a near-tie between two codes is not re-checked.
    """
    import torch

    unit = model.unit_length
    lengths = [len(a) for a in arrays]
    step = () if model.codes_per_step == 1 else (model.codes_per_step,)
    out = [np.zeros((0, *step), dtype=np.int32) for _ in arrays]
    live = [i for i, n in enumerate(lengths) if n >= unit]
    if not live:
        return out
    device = next(model.parameters()).device
    with torch.inference_mode():
        if len(live) == 1:
            i = live[0]
            out[i] = model.encode(torch.from_numpy(arrays[i]).to(device)[None])[0].cpu().numpy().astype(np.int32)
            return out
        multiple = math.lcm(PAD_MULTIPLE, unit)
        steps = -(-max(lengths[i] for i in live) // multiple) * multiple
        batch = np.zeros((len(live), steps, arrays[live[0]].shape[1]), dtype=np.float32)
        for row, i in enumerate(live):
            batch[row, :lengths[i]] = arrays[i]
        codes, ties = _codes_and_ties(model, torch.from_numpy(batch).to(device),
                                      torch.tensor([lengths[i] for i in live], device=device))
    for row, i in enumerate(live):
        tokens = lengths[i] // unit
        if ties[row, :tokens].any():
            out[i] = encode_batch(model, [arrays[i]])[0]
        else:
            out[i] = codes[row, :tokens].astype(np.int32)
    return out


@dataclass
class Encoded:
    """One encoded motion."""

    name: str
    codes: np.ndarray
    texts: list[str]


def encode_motions(reader: DatasetReader, names: Sequence[str], model, mean: np.ndarray, std: np.ndarray,
                   batch_size: int = 64, max_frames: int = MAX_BATCH_FRAMES,
                   on_progress: Callable[[int], None] | None = None) -> Iterator[Encoded]:
    """Encode ``names`` of ``reader`` in length-sorted batches; yields in batch order (not ``names`` order)."""
    from mtk.formats.datasets import read_block

    unit = model.unit_length
    frames = [reader.length(n) for n in names]
    for name, length in zip(names, frames, strict=True):
        require_frames(length, f"{reader.path}: motion {name}", MAX_ENCODE_FRAMES, "encodes")
    lengths = [cropped_frames(length, unit) for length in frames]
    for batch in plan_batches(lengths, max(batch_size, 1), max_frames):
        motions = []
        for _, motion in read_block(reader, [names[i] for i in batch]):  # width, dtype, NaN: one-line errors
            if isinstance(motion, MtkError):
                raise motion
            motions.append(motion)
        arrays = [normalize(m.features[:lengths[i]], mean, std) for m, i in zip(motions, batch, strict=True)]
        for motion, codes in zip(motions, encode_batch(model, arrays), strict=True):
            yield Encoded(motion.name, codes, list(motion.texts))
        if on_progress is not None:
            on_progress(len(batch))


def shard_names(names: Sequence[str], lengths: Sequence[int], index: int, count: int) -> list[str]:
    """Process ``index`` of ``count``'s share: every ``count``-th name in length order (balanced work)."""
    order = sorted(range(len(names)), key=lambda i: (-lengths[i], i))
    return [names[i] for i in order[index::count]]


def shard_arrays(encoded: Sequence[Encoded]) -> dict[str, np.ndarray]:
    """Encoded motions as plain arrays (names, texts, codes cut by offsets; no pickles)."""
    lengths = [len(e.codes) for e in encoded]
    codes = np.concatenate([e.codes for e in encoded]) if encoded else np.zeros(0, np.int32)
    return {"names": np.array([e.name for e in encoded], dtype=str),
            "texts": np.array(["\n".join(e.texts) for e in encoded], dtype=str),
            "text_counts": np.array([len(e.texts) for e in encoded], dtype=np.int64),
            "codes": codes.astype(np.int32), "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)}


def save_shard(path: str | Path, encoded: Sequence[Encoded]) -> None:
    """Write one process's results as a plain ``.npz`` (see :func:`shard_arrays`)."""
    np.savez(path, **shard_arrays(encoded))


def load_shard(path: str | Path) -> list[Encoded]:
    """Read a shard written by :func:`save_shard`."""
    from mtk.formats.arrays import load_npz

    data = load_npz(path)
    offsets, codes = data["offsets"], data["codes"]
    out = []
    for k, (name, text, lines) in enumerate(zip(data["names"], data["texts"], data["text_counts"])):
        texts = str(text).split("\n") if lines else []
        out.append(Encoded(str(name), codes[offsets[k]:offsets[k + 1]].copy(), texts))
    return out


def in_order(encoded: Sequence[Encoded], names: Sequence[str]) -> list[Encoded]:
    """``encoded`` rearranged into the order of ``names`` (every name must be present once)."""
    by_name = {e.name: e for e in encoded}
    missing = [n for n in names if n not in by_name]
    if missing or len(by_name) != len(names):
        raise RuntimeError(f"shards cover {len(by_name)} of {len(names)} motions (missing e.g. {missing[:1]})")
    return [by_name[n] for n in names]
