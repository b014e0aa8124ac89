"""``mtk metrics``: generated motion against a reference split, with the paper's protocol.

The generated motions are any dataset mtk reads (a folder of ``.npy`` features with ``texts/``, an npy
tree, a Zarr or HDF5 store) in the reference's layout, denormalized. Each motion's first text line is the
prompt it was generated from; motions that share a prompt are repeated generations, which multimodality
compares. A plain prompt (no ``word/POS`` tokens) is matched to the reference caption of the same text for the
GloVe evaluator's tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.errors import MtkError
from mtk.metrics import statistics as stats
from mtk.metrics.evaluator import Evaluator
from mtk.metrics.protocol import (MULTIMODALITY_PAIRS, Accumulator, Item, check_texts, padded, reference_batches,
                                  reference_items, replicate, require_batch)
from mtk.metrics.words import parse_caption


@dataclass
class Generation:
    """One generated motion (raw features) and the text line of its prompt."""

    name: str
    motion: np.ndarray
    prompt: str


def _key(caption: str) -> str:
    return " ".join(caption.lower().replace(".", " ").split())


def read_generations(path: str, layout: str, evaluator: Evaluator, references: list[Item],
                     tree_layout: str | None = None) -> list[Generation]:
    """The generated motions of ``path`` (every motion), cut to the evaluator's longest motion, with
    prompts the evaluator can read (tagged from the reference when the prompt is plain)."""
    from mtk.formats.datasets import open_dataset
    from mtk.analysis.finite import require_finite

    reader = open_dataset(path, layout=tree_layout)
    if reader.info.layout is None or reader.info.layout.name != layout:
        found = reader.info.layout.name if reader.info.layout else "of no known layout"
        raise MtkError(path, f"is {found}, but the reference is {layout}", "generate features of the reference's "
                       "layout, denormalized")
    tagged = {_key(parse_caption(line).text): line for item in references for line in item.texts}
    generations = []
    for motion in reader.iter(None):
        lines = [line for line in motion.texts if line.strip()]
        if not lines:
            raise MtkError(path, f"motion {motion.name} has no text", "give each generated motion the prompt it "
                           "was generated from (texts/<name>.txt)")
        prompt = lines[0]
        if not parse_caption(prompt).tokens:
            prompt = tagged.get(_key(prompt), prompt)
        evaluator.check_text(prompt, f"{path}: {motion.name}")
        features = require_finite(np.asarray(motion.features, dtype=np.float32), motion.name)
        generations.append(Generation(motion.name, features[: evaluator.protocol.max_frames], prompt))
    return generations


def repeat_groups(generations: list[Generation]) -> list[list[int]]:
    """Indices of generations sharing a prompt, for groups with more than ``MULTIMODALITY_PAIRS`` members, each
    cut to the smallest such group's size (multimodality needs the same count per prompt)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, generation in enumerate(generations):
        groups[_key(parse_caption(generation.prompt).text)].append(i)
    large = [g for g in groups.values() if len(g) > MULTIMODALITY_PAIRS]
    if not large:
        return []
    size = min(len(g) for g in large)
    return [g[:size] for g in large]


def generated_replication(references: list[Item], generations: list[Generation], evaluator: Evaluator,
                          seed: int, with_text: bool, groups: list[list[int]]) -> dict[str, dict[str, Any]]:
    """One replication: the reference protocol for the real figures, the generations in a random order in
    batches of 32 for theirs, FID between the two."""
    rng = np.random.RandomState(seed)
    real, evaluated = Accumulator(), Accumulator()
    for texts, batch, lengths in reference_batches(references, evaluator, rng):
        real.add(evaluator.embed_motions(batch, lengths), evaluator.embed_texts(texts) if with_text else None)
    size = evaluator.protocol.batch_size
    order = rng.permutation(len(generations))
    embeddings: np.ndarray | None = None  # per generation, in the generations' order (multimodality groups)
    for start in range(0, len(order), size):
        chosen = [generations[i] for i in order[start: start + size]]
        motion = evaluator.embed_motions(*padded([g.motion for g in chosen]))
        if embeddings is None:
            embeddings = np.empty((len(generations), motion.shape[1]))
        embeddings[order[start: start + size]] = motion
        if len(chosen) == size:  # the incomplete batch counts for FID and diversity only
            evaluated.add(motion, evaluator.embed_texts([g.prompt for g in chosen]) if with_text else None)
        else:
            evaluated.embeddings.append(motion)
    result = {"evaluated": evaluated.figures(rng), "reference": real.figures(rng)}
    result["evaluated"]["fid"] = stats.fid(real.all(), evaluated.all())
    if groups:
        result["evaluated"]["multimodality"] = stats.multimodality(embeddings[np.array(groups)],
                                                                   MULTIMODALITY_PAIRS, rng)
    return result


def evaluate_generated(generated: str, reference: str, evaluator_path: str, *, split: str = "test",
                       glove: str | None = None, text_model: str | None = None, replications: int = 20,
                       seed: int = 0, with_text: bool = True, layout: str | None = None,
                       splits: str | None = None, generated_layout: str | None = None,
                       on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """FID, R-precision, MM-Dist, diversity and multimodality of ``generated`` against ``split`` of
    ``reference``, averaged over ``replications``."""
    import torch

    from mtk.formats.datasets import open_dataset
    from mtk.metrics.load import load_evaluator

    reader = open_dataset(reference, layout=layout, splits=splits)
    info = reader.info
    if info.layout is None:
        raise MtkError(reference, "has features of no known layout", "pass --layout")
    evaluator = load_evaluator(evaluator_path, info.layout.name, glove=glove, text_model=text_model,
                               device="cuda" if torch.cuda.is_available() else "cpu")
    try:
        key = info.resolve_split(split)
    except KeyError as err:
        raise MtkError(reference, str(err).strip("'\""), "pass --split with one of its splits") from None
    references = reference_items(reader.iter(key), evaluator, info.fps or info.layout.fps)
    require_batch(len(references), evaluator, reference, f"split {split} has")
    if with_text:
        check_texts(references, evaluator, reference)
    generations = read_generations(generated, info.layout.name, evaluator, references, generated_layout)
    require_batch(len(generations), evaluator, generated, "holds")
    groups = repeat_groups(generations)
    summary = replicate(lambda s: generated_replication(references, generations, evaluator, s, with_text, groups),
                        replications, seed, on_progress)
    return {"generated": str(Path(generated)), "reference": str(reference), "split": split,
            "evaluator": evaluator.name, "layout": info.layout.name, "replications": replications, "seed": seed,
            "reference_motions": len(references), "generated_motions": len(generations),
            "multimodality_prompts": len(groups), "multimodality_repeats": len(groups[0]) if groups else 0,
            **summary}
