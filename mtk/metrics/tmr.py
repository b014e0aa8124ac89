"""The 272 evaluators: TEMOS/TMR-style text and motion encoders (MotionMillion's and MotionStreamer's).

Both evaluators are one Lightning checkpoint (``epoch=199.ckpt`` for MotionMillion, ``epoch=99.ckpt`` for
MotionStreamer) holding ``textencoder.*`` and ``motionencoder.*``:

* motion encoder: Linear 272 -> latent per frame; two learnt tokens (mu, logvar) in front; sinusoidal
  positions; a post-norm Transformer encoder (4 heads, GELU) with the frames past each length masked; the
  embedding is the output at the mu token;
* text encoder: DistilBERT's last hidden states (the checkpoint holds its weights; its tokenizer and config
  come from a ``distilbert-base-uncased`` folder the user supplies), ReLU + Linear to the latent, then the same
  token/position/Transformer stack.

The latent width tells them apart: 512 is MotionMillion's (``evaluator_wrapper_motionmillion_rpr272``: raw
motions normalized with MotionMillion's ``mean_std/vector_272``), 256 MotionStreamer's (motions normalized
with its HumanML3D-272 ``Mean.npy``/``Std.npy``). Each brings the protocol of its evaluation loader.
Needs ``transformers`` (``pip install 'mtk[eval]'``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from mtk.errors import BadInputError, MtkError
from mtk.metrics.checkpoint import load_strict, read_weights, sub_state
from mtk.metrics.evaluator import Evaluator, Protocol, find_stats
from mtk.metrics.words import parse_caption

#: attention heads of both released evaluators (not recorded in the weights)
NUM_HEADS = 4
#: frames the released motion encoders read at most (their masks are 300 long)
MAX_FRAMES = 300
#: latent width -> (name, protocol of its evaluation loader)
KNOWN: dict[int, tuple[str, Protocol]] = {
    512: ("motionmillion-272", Protocol(4, MAX_FRAMES, 60, 201)),
    256: ("motionstreamer-272", Protocol(4, MAX_FRAMES, 60, MAX_FRAMES)),
}
GENERIC = ("tmr-272", Protocol(4, MAX_FRAMES, 60, MAX_FRAMES))
EXTRA_HINT = "pip install 'mtk[eval]'"


def require_transformers():
    """The ``transformers`` module, or a one-line error naming the extra that installs it."""
    try:
        import transformers
    except ImportError:
        raise MtkError(None, "the 272 evaluators need the transformers library (DistilBERT), which is not "
                       "installed", EXTRA_HINT) from None
    transformers.logging.set_verbosity_error()
    return transformers


class SinusoidalPositions(nn.Module):
    """Sinusoidal positions ``pe (max_len, 1, d)``, added to sequence-first inputs."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32)[:, None]
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe[:, None])

    def forward(self, x: Tensor) -> Tensor:
        return x + self.pe[: x.shape[0]]


class DistributionEncoder(nn.Module):
    """mu/logvar tokens in front of a sequence, positions, a Transformer encoder; returns the mu output."""

    def __init__(self, latent: int, ff_size: int, num_layers: int, max_positions: int = 5000):
        super().__init__()
        self.mu_token = nn.Parameter(torch.zeros(latent))
        self.logvar_token = nn.Parameter(torch.zeros(latent))
        self.sequence_pos_encoding = SinusoidalPositions(latent, max_positions)
        layer = nn.TransformerEncoderLayer(latent, NUM_HEADS, ff_size, dropout=0.1, activation="gelu")
        self.seqTransEncoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def encode(self, x: Tensor, valid: Tensor) -> Tensor:
        """``x (B, T, latent)`` with ``valid (B, T)`` -> ``(B, latent)``."""
        batch = x.shape[0]
        tokens = torch.stack([self.mu_token, self.logvar_token])[:, None].expand(2, batch, -1)
        sequence = self.sequence_pos_encoding(torch.cat([tokens, x.permute(1, 0, 2)], dim=0))
        mask = torch.cat([torch.ones(batch, 2, dtype=torch.bool, device=x.device), valid], dim=1)
        return self.seqTransEncoder(sequence, src_key_padding_mask=~mask)[0]


class MotionEncoder(DistributionEncoder):
    def __init__(self, nfeats: int, latent: int, ff_size: int, num_layers: int, max_positions: int = 5000):
        super().__init__(latent, ff_size, num_layers, max_positions)
        self.skel_embedding = nn.Linear(nfeats, latent)

    def forward(self, features: Tensor, lengths: Tensor) -> Tensor:
        valid = torch.arange(features.shape[1], device=features.device)[None] < lengths[:, None]
        return self.encode(self.skel_embedding(features), valid)


class TextEncoder(DistributionEncoder):
    def __init__(self, text_model: nn.Module, tokenizer, latent: int, ff_size: int, num_layers: int,
                 max_positions: int = 5000):
        super().__init__(latent, ff_size, num_layers, max_positions)
        self.text_model = text_model
        self.tokenizer = tokenizer
        self.projection = nn.Sequential(nn.ReLU(), nn.Linear(text_model.config.hidden_size, latent))

    def forward(self, captions: list[str]) -> Tensor:
        device = self.mu_token.device
        encoded = self.tokenizer(captions, return_tensors="pt", padding=True).to(device)
        hidden = self.text_model(**encoded).last_hidden_state
        return self.encode(self.projection(hidden), encoded["attention_mask"].bool())


def _sizes(motion: dict[str, Tensor], path: Path) -> tuple[int, int, int, int, int]:
    """(nfeats, latent, ff_size, layers, max positions) from the motion encoder's weights."""
    if "emb_token" in motion:
        raise BadInputError(path, "is a deterministic (non-VAE) TEMOS encoder", "mtk reads the VAE evaluators "
                            "of MotionMillion and MotionStreamer")
    try:
        latent, nfeats = motion["skel_embedding.weight"].shape
        ff_size = motion["seqTransEncoder.layers.0.linear1.weight"].shape[0]
        max_positions = motion["sequence_pos_encoding.pe"].shape[0]
    except (KeyError, ValueError) as err:
        raise BadInputError(path, f"is not a TEMOS motion encoder (no {err})", "is this the 272 evaluator?") from None
    layers = len({k.split(".")[2] for k in motion if k.startswith("seqTransEncoder.layers.")})
    if latent % NUM_HEADS:
        raise BadInputError(path, f"latent width {latent} is not a multiple of {NUM_HEADS} heads",
                            "is this the 272 evaluator?")
    return nfeats, latent, ff_size, layers, max_positions


class TMREvaluator(Evaluator):
    """A 272 evaluator: motion embeddings of normalized features, text embeddings of captions."""

    def __init__(self, motion: MotionEncoder, text: TextEncoder, mean: np.ndarray, std: np.ndarray,
                 device: str = "cpu"):
        self.name, self.protocol = KNOWN.get(motion.skel_embedding.out_features, GENERIC)
        self.dim = motion.skel_embedding.in_features
        self.device = torch.device(device)
        self.motion, self.text = motion.to(self.device).eval(), text.to(self.device).eval()
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=self.device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def embed_motions(self, raw: Tensor, lengths: Tensor) -> np.ndarray:
        raw = raw.to(self.device, torch.float32)[:, : self.protocol.max_frames]
        lengths = torch.as_tensor(lengths, device=self.device).clamp(max=raw.shape[1])
        return self.motion((raw - self.mean) / self.std, lengths).cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def embed_texts(self, lines: list[str]) -> np.ndarray:
        """Captions: the part of each line before any ``#`` (HumanML3D-272 lines carry tokens after it)."""
        return self.text([parse_caption(line).text for line in lines]).cpu().numpy().astype(np.float64)


def _text_model(folder: Path, weights: dict[str, Tensor], ckpt_path: Path):
    """DistilBERT (config and tokenizer from ``folder``) with the weights the evaluator checkpoint holds."""
    transformers = require_transformers()
    if not (folder / "config.json").is_file():
        raise MtkError(folder, "holds no config.json", "pass --text-model, the distilbert-base-uncased folder "
                       "(config.json, vocab.txt, tokenizer files) the evaluator was trained with")
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = transformers.AutoModel.from_config(config)
    except (OSError, ValueError, KeyError) as err:
        raise BadInputError(folder, f"is not a usable DistilBERT folder: {str(err).splitlines()[0]}",
                            "download distilbert-base-uncased again") from None
    # older transformers saved the position ids as a buffer; they are arange(n) either way
    weights = {k: v for k, v in weights.items() if not k.endswith("position_ids")}
    load_strict(model, weights, ckpt_path, "text model (DistilBERT)")
    return model.eval(), tokenizer


def _find_checkpoint(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(path.glob("*.ckpt")) if path.is_dir() else []
    if len(found) != 1:
        raise MtkError(path, f"holds {len(found)} .ckpt files" if path.is_dir() else "no such file or folder",
                       "pass --evaluator the evaluator's .ckpt file (MotionMillion: epoch=199.ckpt, "
                       "MotionStreamer: epoch=99.ckpt) or a folder holding it")
    return found[0]


def load_tmr_evaluator(path: str | Path, dim: int, text_model: str | Path | None,
                       device: str = "cpu") -> TMREvaluator:
    """Load a 272 evaluator: the ``.ckpt`` at ``path`` (or the one in that folder), its mean/std beside it (or
    in ``meta/`` or ``mean_std/``), and DistilBERT's tokenizer and config from ``text_model``."""
    ckpt_path = _find_checkpoint(Path(path))
    require_transformers()
    if text_model is None:
        raise MtkError(None, "the 272 evaluators read captions with DistilBERT",
                       "pass --text-model DIR, the distilbert-base-uncased folder (config.json, vocab.txt, ...)")
    ckpt = read_weights(ckpt_path)
    state = ckpt.get("state_dict", ckpt)
    if not isinstance(state, dict):
        raise BadInputError(ckpt_path, "has no state_dict", "is this the 272 evaluator's Lightning checkpoint?")
    motion_state, text_state = sub_state(state, "motionencoder", ckpt_path), sub_state(state, "textencoder", ckpt_path)
    nfeats, latent, ff_size, layers, positions = _sizes(motion_state, ckpt_path)
    if nfeats != dim:
        raise BadInputError(ckpt_path, f"reads {nfeats}-dim features, not {dim}",
                            "pass the evaluator of the features' layout")
    motion = MotionEncoder(nfeats, latent, ff_size, layers, positions)
    load_strict(motion, motion_state, ckpt_path, "motion encoder")
    bert, tokenizer = _text_model(Path(text_model), sub_state(text_state, "text_model", ckpt_path), ckpt_path)
    text = TextEncoder(bert, tokenizer, latent, ff_size, layers, positions)
    own = {k: v for k, v in text_state.items() if not k.startswith("text_model.")}
    load_strict(text, {**own, **{f"text_model.{k}": v for k, v in bert.state_dict().items()}}, ckpt_path,
                "text encoder")
    folders = [ckpt_path.parent / sub for sub in (".", "meta", "mean_std", "mean_std/vector_272")]
    stats = find_stats(folders, nfeats)
    if stats is None:
        raise MtkError(ckpt_path.parent, "holds no mean.npy/std.npy for the evaluator",
                       "copy MotionMillion's mean_std/vector_272/mean.npy and std.npy (or MotionStreamer's "
                       "humanml3d_272 Mean.npy and Std.npy) beside the checkpoint")
    return TMREvaluator(motion, text, *stats, device=device)
