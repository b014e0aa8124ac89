"""Guo et al.'s HumanML3D / KIT-ML evaluator ("text_mot_match", CVPR 2022), as T2M-GPT and MoMask use it.

Three networks, module names as in the released ``finest.tar``:

* ``movement_encoder``: two Conv1d (kernel 4, stride 2) with LeakyReLU(0.2), then a Linear: features without
  the 4 foot-contact columns -> one movement vector per 4 frames;
* ``motion_encoder``: Linear, bidirectional GRU from a learnt initial state over the movements (lengths
  ``frames // 4``), then Linear-LayerNorm-LeakyReLU-Linear on both final states -> 512-d motion embedding;
* ``text_encoder``: the same over word vectors (GloVe, 300-d) plus a Linear of the 15-class POS one-hot.

Sizes are read from the checkpoint's shapes. Motions are normalized with the evaluator's own mean/std (the
``meta/mean.npy`` and ``std.npy`` released with it) and zero past their length in that normalized space, as
the reference loader pads them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from mtk.errors import BadInputError, MtkError
from mtk.metrics.checkpoint import load_strict, read_weights
from mtk.metrics.evaluator import Evaluator, Protocol, find_stats
from mtk.metrics.words import POS_CLASSES, WordVectors, parse_caption

#: the released layout: <dataset>/text_mot_match/model/finest.tar, normalization in a sibling's meta/
CHECKPOINT = Path("text_mot_match") / "model" / "finest.tar"
#: where the evaluator's mean/std are looked for, relative to the dataset folder (``checkpoints/t2m``)
STATS_FOLDERS = ("text_mot_match/meta", "Comp_v6_KLD005/meta", "Comp_v6_KLD01/meta",
                 "VQVAEV3_CB1024_CMT_H1024_NRES3/meta", "meta", ".")
#: T2M-GPT's ``eval_trans`` constants, by the feature width the evaluator reads (HumanML3D's 263, KIT-ML's 251:
#: their loaders keep motions of at least 40 and 24 frames)
PROTOCOLS = {263: Protocol(4, 196, 40, 200), 251: Protocol(4, 196, 24, 200)}
#: foot-contact columns the movement encoder does not read (the last 4)
CONTACT_COLUMNS = 4


class MovementEncoder(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2))
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, features: Tensor) -> Tensor:
        """``(B, T, D)`` -> ``(B, T // 4, output_size)``."""
        return self.out_net(self.main(features.permute(0, 2, 1)).permute(0, 2, 1))


class BiGRUEncoder(nn.Module):
    """Linear input embedding, bidirectional GRU from a learnt state, and an MLP on the two final states."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(nn.Linear(hidden_size * 2, hidden_size), nn.LayerNorm(hidden_size),
                                        nn.LeakyReLU(0.2), nn.Linear(hidden_size, output_size))
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden_size))

    def encode(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(self.input_emb(inputs), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.repeat(1, inputs.shape[0], 1))
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class MotionEncoder(BiGRUEncoder):
    def forward(self, movements: Tensor, lengths: Tensor) -> Tensor:
        return self.encode(movements, lengths)


class TextEncoder(BiGRUEncoder):
    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int):
        super().__init__(word_size, hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)

    def forward(self, words: Tensor, pos: Tensor, lengths: Tensor) -> Tensor:
        return self.encode(words + self.pos_emb(pos), lengths)


def _networks(ckpt: dict, path: Path) -> tuple[MovementEncoder, MotionEncoder, TextEncoder]:
    """The three networks, sized from the checkpoint's shapes and loaded strictly."""
    try:
        movement, motion, text = (ckpt[k] for k in ("movement_encoder", "motion_encoder", "text_encoder"))
        conv0, conv3 = movement["main.0.weight"].shape, movement["main.3.weight"].shape
        motion_hidden, motion_out = motion["input_emb.weight"].shape[0], motion["output_net.3.weight"].shape[0]
        text_hidden, word_size = text["input_emb.weight"].shape
        text_out, pos_size = text["output_net.3.weight"].shape[0], text["pos_emb.weight"].shape[1]
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise BadInputError(path, f"is not a text_mot_match checkpoint (no {err})",
                            "expected finest.tar with movement_encoder, motion_encoder, text_encoder") from None
    if pos_size != len(POS_CLASSES):
        raise BadInputError(path, f"text encoder reads {pos_size} POS classes, not {len(POS_CLASSES)}",
                            "is this Guo et al.'s evaluator?")
    networks = (MovementEncoder(conv0[1], conv0[0], conv3[0]), MotionEncoder(conv3[0], motion_hidden, motion_out),
                TextEncoder(word_size, pos_size, text_hidden, text_out))
    for net, state, what in zip(networks, (movement, motion, text), ("movement encoder", "motion encoder",
                                                                     "text encoder"), strict=True):
        load_strict(net, state, path, what)
        net.eval()
    return networks


class T2MEvaluator(Evaluator):
    """Guo et al.'s evaluator for HumanML3D or KIT-ML; ``name`` is its release's dataset folder (``t2m``, ...)."""

    def __init__(self, name: str, movement: MovementEncoder, motion: MotionEncoder, text: TextEncoder,
                 words: WordVectors, mean: np.ndarray, std: np.ndarray, device: str = "cpu"):
        self.name = name
        self.dim = movement.main[0].in_channels + CONTACT_COLUMNS
        self.protocol = PROTOCOLS.get(self.dim, PROTOCOLS[263])
        self.device = torch.device(device)
        self.movement, self.motion, self.text = (m.to(self.device) for m in (movement, motion, text))
        self.words = words
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=self.device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def embed_motions(self, raw: Tensor, lengths: Tensor) -> np.ndarray:
        raw = raw.to(self.device, torch.float32)
        lengths = torch.as_tensor(lengths, device=self.device)
        valid = torch.arange(raw.shape[1], device=self.device)[None, :, None] < lengths[:, None, None]
        motions = torch.where(valid, (raw - self.mean) / self.std, 0.0)
        movements = self.movement(motions[..., :-CONTACT_COLUMNS])
        units = (lengths // self.protocol.unit_length).clamp(min=1)
        return self.motion(movements, units).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def embed_texts(self, lines: list[str]) -> np.ndarray:
        encoded = [self.words.encode(parse_caption(line).tokens) for line in lines]
        words = torch.from_numpy(np.stack([e[0] for e in encoded])).to(self.device)
        pos = torch.from_numpy(np.stack([e[1] for e in encoded])).to(self.device)
        lengths = torch.tensor([e[2] for e in encoded])
        return self.text(words, pos, lengths).cpu().numpy().astype(np.float64)

    def check_text(self, line: str, where: str) -> None:
        if not parse_caption(line).tokens:
            raise MtkError(where, f"text {line.strip()[:60]!r} has no word/POS tokens, which the {self.name} "
                           "evaluator reads", "give HumanML3D-style lines, 'caption#word/POS word/POS ...#0.0#0.0'")


def _find_checkpoint(path: Path) -> tuple[Path, Path]:
    """(finest.tar, the dataset folder whose sub-folders hold the normalization) for a file or a folder."""
    if path.is_file():
        root = path.parent.parent.parent if path.parent.name == "model" else path.parent
        return path, root
    for root in (path, path.parent):
        if (root / CHECKPOINT).is_file():
            return root / CHECKPOINT, root
    if (path / "model" / "finest.tar").is_file():
        return path / "model" / "finest.tar", path.parent
    raise MtkError(path, f"holds no {CHECKPOINT}",
                   "pass --evaluator the released evaluator's dataset folder, e.g. checkpoints/t2m")


def _find_stats(root: Path, dim: int) -> tuple[np.ndarray, np.ndarray]:
    stats = find_stats([root / folder for folder in STATS_FOLDERS], dim)
    if stats is None:
        raise MtkError(root, "holds no evaluator mean.npy/std.npy (looked in "
                       f"{', '.join(STATS_FOLDERS[:-1])} and the folder itself)",
                       "copy the meta/ folder released with the evaluator (Comp_v6_KLD005/meta) beside text_mot_match")
    return stats


def is_t2m_evaluator(path: Path) -> bool:
    """Whether ``path`` looks like Guo et al.'s evaluator: a ``.tar`` file, or a folder holding its layout."""
    if path.is_file():
        return path.suffix == ".tar"
    return any((root / CHECKPOINT).is_file() for root in (path, path.parent)) or (path / "model" / "finest.tar").is_file()


def load_t2m_evaluator(path: str | Path, dim: int, glove: str | Path, device: str = "cpu") -> T2MEvaluator:
    """Load the evaluator from ``path`` (``checkpoints/t2m``, its ``text_mot_match`` folder or ``finest.tar``),
    its normalization from the released ``meta`` folder, and the GloVe subset from ``glove``."""
    ckpt_path, root = _find_checkpoint(Path(path))
    networks = _networks(read_weights(ckpt_path), ckpt_path)
    if networks[0].main[0].in_channels + CONTACT_COLUMNS != dim:
        raise BadInputError(ckpt_path, f"reads {networks[0].main[0].in_channels + CONTACT_COLUMNS}-dim features, "
                            f"not {dim}", "pass the evaluator released for the dataset being evaluated")
    words = WordVectors.load(glove)
    if words.dim != networks[2].pos_emb.out_features:
        raise BadInputError(glove, f"holds {words.dim}-d word vectors but the evaluator reads "
                            f"{networks[2].pos_emb.out_features}-d ones", "pass the GloVe folder released with it")
    return T2MEvaluator(root.name or "t2m", *networks, words, *_find_stats(root, dim), device=device)
