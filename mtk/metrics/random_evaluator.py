"""A stand-in for Guo et al.'s evaluator with seeded random weights, for demos and noise studies.

It has the released architecture, at the released sizes (movement 512/512, motion GRU 1024, text GRU 512,
512-d embeddings, 300-d word vectors) or narrower, and is written in the released layout, so every code path
of the real evaluator runs. Its weights are random: FID and R-precision measured with it say nothing about motion
quality and must never be compared with a paper's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mtk.metrics.t2m import CHECKPOINT, CONTACT_COLUMNS, MotionEncoder, MovementEncoder, TextEncoder
from mtk.metrics.words import GLOVE_FILES, POS_CLASSES, parse_caption

#: the released sizes: movement hidden/latent, motion hidden, text hidden, embedding, word vectors
RELEASED = {"movement": 512, "motion": 1024, "text": 512, "embedding": 512, "word": 300}
#: an eighth of the widths, for the demo on a CPU (the released GRUs cost seconds per batch there)
SMALL = {"movement": 64, "motion": 128, "text": 64, "embedding": 64, "word": 300}


def write_random_t2m_evaluator(folder: str | Path, mean: np.ndarray, std: np.ndarray, captions: list[str],
                               seed: int = 0, sizes: dict[str, int] = RELEASED) -> tuple[Path, Path]:
    """Write ``folder/t2m`` (``text_mot_match/model/finest.tar``, ``meta/mean.npy``, ``std.npy``) and
    ``folder/glove`` (random vectors for the words of ``captions``); returns (evaluator, glove) folders.
    ``mean``/``std`` are the normalization the evaluator applies (a dataset's); ``sizes``: :data:`RELEASED`
    or :data:`SMALL`."""
    import pickle

    folder = Path(folder)
    torch.manual_seed(seed)
    s = sizes
    networks = {"movement_encoder": MovementEncoder(len(mean) - CONTACT_COLUMNS, s["movement"], s["movement"]),
                "motion_encoder": MotionEncoder(s["movement"], s["motion"], s["embedding"]),
                "text_encoder": TextEncoder(s["word"], len(POS_CLASSES), s["text"], s["embedding"])}
    checkpoint = folder / "t2m" / CHECKPOINT
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save({name: net.state_dict() for name, net in networks.items()} | {"epoch": 0}, checkpoint)
    meta = folder / "t2m" / "meta"
    meta.mkdir(exist_ok=True)
    np.save(meta / "mean.npy", np.asarray(mean, np.float32))
    np.save(meta / "std.npy", np.asarray(std, np.float32))
    words = sorted({t.partition("/")[0] for line in captions for t in parse_caption(line).tokens} | {"unk"})
    glove = folder / "glove"
    glove.mkdir(exist_ok=True)
    vectors = np.random.RandomState(seed).standard_normal((len(words), s["word"])).astype(np.float32)
    np.save(glove / GLOVE_FILES[0], vectors)
    (glove / GLOVE_FILES[1]).write_bytes(pickle.dumps(words))
    (glove / GLOVE_FILES[2]).write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))
    return folder / "t2m", glove
