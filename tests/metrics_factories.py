"""Evaluators with seeded random weights, written in the released checkpoint formats, for the metric tests.

The rule (shared with the script that ran the original code on the same checkpoints): for each entry of the
module's ``state_dict`` in sorted order, a parameter is drawn from ``numpy.random.RandomState(seed)`` as
``0.3 · N(0, 1)`` (float32); buffers keep their built values.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
import torch

#: the tiny vocabulary the 272 reference run used (a WordPiece vocab.txt)
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "person", "walks", "forward", "and", "turns", "left",
         "jump", "##s", "slowly", "the", "man", "runs", "in", "circle", "."]
#: the GloVe subset of the t2m reference run (vectors: RandomState(21), 8-d)
GLOVE_WORDS = ["a", "person", "walks", "forward", "and", "turns", "left", "unk", "jumps", "slowly"]


def seeded_state(module: torch.nn.Module, seed: int, scale: float = 0.3) -> dict[str, torch.Tensor]:
    rs = np.random.RandomState(seed)
    params = dict(module.named_parameters())
    return {k: torch.from_numpy((rs.standard_normal(tuple(v.shape)) * scale).astype(np.float32)) if k in params
            else v for k, v in sorted(module.state_dict().items())}


def write_glove(folder: Path, words: list[str] = GLOVE_WORDS, dim: int = 8, seed: int = 21) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "our_vab_data.npy", np.random.RandomState(seed).standard_normal((len(words), dim))
            .astype(np.float32))
    (folder / "our_vab_words.pkl").write_bytes(pickle.dumps(list(words)))
    (folder / "our_vab_idx.pkl").write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))
    return folder


def write_t2m_evaluator(root: Path, dim_pose: int = 263, mean: np.ndarray | None = None,
                        std: np.ndarray | None = None, word: int = 8, name: str = "t2m") -> Path:
    """``root/<name>`` as released: ``text_mot_match/model/finest.tar`` and ``Comp_v6_KLD005/meta``; sizes as
    the reference run (movement 12/10, text hidden 12, motion hidden 16, embeddings 6)."""
    from mtk.metrics.t2m import MotionEncoder, MovementEncoder, TextEncoder

    dataset = root / name
    (dataset / "text_mot_match" / "model").mkdir(parents=True)
    movement, motion, text = MovementEncoder(dim_pose - 4, 12, 10), MotionEncoder(10, 16, 6), TextEncoder(word, 15, 12, 6)
    torch.save({"movement_encoder": seeded_state(movement, 11), "text_encoder": seeded_state(text, 12),
                "motion_encoder": seeded_state(motion, 13), "epoch": 7},
               dataset / "text_mot_match" / "model" / "finest.tar")
    meta = dataset / "Comp_v6_KLD005" / "meta"
    meta.mkdir(parents=True)
    np.save(meta / "mean.npy", np.zeros(dim_pose, np.float32) if mean is None else mean.astype(np.float32))
    np.save(meta / "std.npy", np.ones(dim_pose, np.float32) if std is None else std.astype(np.float32))
    return dataset


def write_text_model(folder: Path) -> Path:
    """A tiny DistilBERT folder (config and WordPiece tokenizer) as ``distilbert-base-uncased`` is laid out."""
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    transformers.DistilBertConfig(vocab_size=len(VOCAB), dim=16, n_layers=2, n_heads=2, hidden_dim=32,
                                  max_position_embeddings=64).save_pretrained(folder)
    vocab = {w: i for i, w in enumerate(VOCAB)}
    try:
        tokenizer = transformers.DistilBertTokenizer(vocab=vocab)
    except TypeError:  # transformers 4 reads a vocab.txt file
        (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
        tokenizer = transformers.DistilBertTokenizer(vocab_file=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    return folder


def write_tmr_evaluator(folder: Path, text_model: Path, latent: int, ff_size: int, layers: int = 2) -> Path:
    """A Lightning-style ``epoch=199.ckpt`` (with hyper-parameters pickled as an object) and mean/std."""
    import transformers

    from mtk.metrics.tmr import MotionEncoder, TextEncoder

    config = transformers.AutoConfig.from_pretrained(text_model)
    bert = transformers.AutoModel.from_config(config)
    text = TextEncoder(bert, None, latent, ff_size, layers)
    motion = MotionEncoder(272, latent, ff_size, layers)
    state = {**{f"textencoder.{k}": v for k, v in seeded_state(text, 41).items()},
             **{f"motionencoder.{k}": v for k, v in seeded_state(motion, 42).items()}}
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 199, "global_step": 1, "state_dict": state,
                "hyper_parameters": {"cfg": argparse.Namespace(lr=1e-4, name="tiny")}}, folder / "epoch=199.ckpt")
    np.save(folder / "mean.npy", np.zeros(272, np.float32))
    np.save(folder / "std.npy", np.ones(272, np.float32))
    return folder
