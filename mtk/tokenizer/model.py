"""The conv motion autoencoder of MotionMillion's ``HumanVQVAE``, with a registered quantizer in the middle.

Module names follow the reference (``vqvae.encoder.model.3.1.model.0.conv1.weight`` ...), so state dicts
interchange with MotionMillion checkpoints. Encoder: identity Haar patcher, conv, ReLU, ``down_t`` x
(stride-2 conv k4, a stack of LayerNorm residual blocks with dilations 9, 3, 1), conv. Decoder: conv,
ReLU, ``down_t`` x (residual stack, nearest x2 upsampling, conv), conv, ReLU, conv, identity unpatcher.

With ``lengths`` the batch is zero-padded past each motion's length and every layer's output is masked
there, so each motion's codes equal those of encoding it alone.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtk.features import layout_for_dim
from mtk.tokenizer.presets import get_preset
from mtk.tokenizer.quantizers import Quantizer, get_quantizer

STRIDE = 2


def frame_mask(lengths: Tensor | None, steps: int) -> Tensor | None:
    """(B, 1, steps) float mask, 1 before each length; None when there are no lengths."""
    if lengths is None:
        return None
    return (torch.arange(steps, device=lengths.device)[None] < lengths[:, None]).float()[:, None]


def _masked(x: Tensor, lengths: Tensor | None) -> Tensor:
    mask = frame_mask(lengths, x.shape[-1])
    return x if mask is None else x * mask.to(x.dtype)


class HaarPatcher(nn.Module):
    """MotionMillion's Haar (un)patcher at ``patch_size=1``: zero DWT levels, i.e. the identity.

    It exists for its two persistent buffers, which the reference's state dicts carry.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("wavelets", torch.full((2,), 1 / math.sqrt(2), dtype=torch.float32))
        self.register_buffer("_arange", torch.arange(2, dtype=torch.int64))

    def forward(self, x: Tensor) -> Tensor:
        return x


class ResBlock(nn.Module):
    """Pre-activation residual block: ``x + conv1x1(relu(LN(conv_d(relu(LN(x))))))``, LN over channels."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.conv1 = nn.Conv1d(width, width, 3, 1, padding=dilation, dilation=dilation)
        self.norm2 = nn.LayerNorm(width)
        self.conv2 = nn.Conv1d(width, width, 1)

    @staticmethod
    def _norm_relu(norm: nn.LayerNorm, x: Tensor) -> Tensor:
        return F.relu(norm(x.transpose(1, 2)).transpose(1, 2))

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        h = self.conv1(_masked(self._norm_relu(self.norm1, x), lengths))
        h = self.conv2(_masked(self._norm_relu(self.norm2, h), lengths))
        return _masked(x + h, lengths)


class ResStack(nn.Module):
    """``depth`` residual blocks with dilations ``growth^(depth-1) ... growth^0`` (9, 3, 1)."""

    def __init__(self, width: int, depth: int, growth: int):
        super().__init__()
        self.model = nn.Sequential(*(ResBlock(width, growth ** d) for d in reversed(range(depth))))

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        for block in self.model:
            x = block(x, lengths)
        return x


def _run(layers: nn.Sequential, x: Tensor, lengths: Tensor | None) -> Tensor:
    """Apply ``layers`` (nested Sequentials flattened), masking after each and tracking the lengths."""
    for layer in layers:
        if isinstance(layer, nn.Sequential):
            x = _run(layer, x, lengths)
            lengths = None if lengths is None else _scaled_lengths(layer, lengths)
            continue
        x = layer(x, lengths) if isinstance(layer, ResStack) else layer(x)
        lengths = None if lengths is None else _scaled_lengths(layer, lengths)
        x = _masked(x, lengths)
    return x


def _scaled_lengths(layer: nn.Module, lengths: Tensor) -> Tensor:
    """Valid lengths after ``layer`` (strided convs divide, upsampling multiplies)."""
    if isinstance(layer, nn.Sequential):
        for child in layer:
            lengths = _scaled_lengths(child, lengths)
        return lengths
    if isinstance(layer, nn.Conv1d) and layer.stride[0] > 1:
        return lengths // layer.stride[0]
    if isinstance(layer, nn.Upsample):
        return lengths * int(layer.scale_factor)
    return lengths


class Encoder(nn.Module):
    """(B, D, T) features -> (B, code_dim, T / 2^down_t) latents."""

    def __init__(self, input_dim: int, width: int, code_dim: int, down_t: int, depth: int, growth: int):
        super().__init__()
        layers: list[nn.Module] = [HaarPatcher(), nn.Conv1d(input_dim, width, 3, 1, 1), nn.ReLU()]
        for _ in range(down_t):
            layers.append(nn.Sequential(nn.Conv1d(width, width, 2 * STRIDE, STRIDE, STRIDE // 2),
                                        ResStack(width, depth, growth)))
        layers.append(nn.Conv1d(width, code_dim, 3, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return _run(self.model, _masked(x, lengths), lengths)


class Decoder(nn.Module):
    """(B, code_dim, N) latents -> (B, D, N * 2^down_t) features."""

    def __init__(self, input_dim: int, width: int, code_dim: int, down_t: int, depth: int, growth: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(code_dim, width, 3, 1, 1), nn.ReLU()]
        for _ in range(down_t):
            layers.append(nn.Sequential(ResStack(width, depth, growth), nn.Upsample(scale_factor=STRIDE),
                                        nn.Conv1d(width, width, 3, 1, 1)))
        layers += [nn.Conv1d(width, width, 3, 1, 1), nn.ReLU(), nn.Conv1d(width, input_dim, 3, 1, 1),
                   HaarPatcher()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return _run(self.model, _masked(x, lengths), lengths)


class VQVAE(nn.Module):
    """Encoder, quantizer, decoder (the reference's ``VQVAE_251``)."""

    def __init__(self, encoder: Encoder, quantizer: Quantizer, decoder: Decoder):
        super().__init__()
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder


class TokenizerOutput(NamedTuple):
    reconstruction: Tensor
    indices: Tensor
    aux_loss: Tensor


def model_config(preset: str = "mm64k", input_dim: int = 272, quantizer: str = "fsq",
                 codebook_size: int | None = None, **quantizer_options: Any) -> dict[str, Any]:
    """The JSON-able config of a preset for ``input_dim`` features.

    The quantizer adds its own entries (:meth:`Quantizer.make_config`): FSQ takes its levels from the size
    table (65536 -> [8,8,8,5,5,5], 64,000 codes); a learnt codebook without an explicit size gets as many
    codes as FSQ would have, so they compare on equal footing. ``quantizer_options`` (e.g. ``commitment``;
    None for the default) go to the quantizer.
    """
    quantizer_class = get_quantizer(quantizer)
    p = get_preset(preset)
    layout = layout_for_dim(input_dim)
    config: dict[str, Any] = {
        "mtk_tokenizer": 1, "preset": p.name, "input_dim": input_dim, "layout": layout.name if layout else None,
        "quantizer": quantizer, "width": p.width, "code_dim": p.code_dim, "down_t": p.down_t,
        "stride_t": STRIDE, "depth": p.depth, "dilation_growth_rate": p.dilation_growth_rate,
    }
    config.update(quantizer_class.make_config(codebook_size, p.codebook_size, **quantizer_options))
    return config


class TokenizerModel(nn.Module):
    """The motion tokenizer: ``encode`` features to codes, ``decode`` codes to features."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        c = self.config
        arch = (c["input_dim"], c["width"], c["code_dim"], c["down_t"], c["depth"], c["dilation_growth_rate"])
        quantizer = get_quantizer(c["quantizer"]).from_config(c)
        self.vqvae = VQVAE(Encoder(*arch), quantizer, Decoder(*arch))
        self.unit_length = STRIDE ** c["down_t"]
        self.codebook_size = quantizer.codebook_size
        self.input_dim = c["input_dim"]

    @property
    def quantizer(self) -> Quantizer:
        return self.vqvae.quantizer

    def _latents(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        return self.vqvae.encoder(x.float().transpose(1, 2), lengths)

    def _token_lengths(self, lengths: Tensor | None) -> Tensor | None:
        return None if lengths is None else lengths // self.unit_length

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Normalized features ``(B, T, D)`` -> int32 codes ``(B, T // unit_length)``.

        ``lengths`` (B,): frames of each zero-padded motion; codes past ``lengths // unit_length`` are undefined.
        """
        return self.vqvae.quantizer(self._latents(x, lengths))[1]

    def decode(self, indices: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Codes ``(B, N)`` -> normalized features ``(B, N * unit_length, D)``; ``lengths`` in tokens."""
        latents = self.vqvae.quantizer.dequantize(indices)
        return self.vqvae.decoder(latents, lengths).transpose(1, 2)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> TokenizerOutput:
        """Reconstruct ``x (B, T, D)``: features ``(B, T', D)`` with ``T' = T // unit * unit``, codes, aux loss."""
        quantized, indices, aux = self.vqvae.quantizer(self._latents(x, lengths))
        reconstruction = self.vqvae.decoder(quantized, self._token_lengths(lengths)).transpose(1, 2)
        return TokenizerOutput(reconstruction, indices, aux)


def build_model(preset: str = "mm64k", input_dim: int = 272, quantizer: str = "fsq",
                codebook_size: int | None = None, **quantizer_options: Any) -> TokenizerModel:
    """An untrained tokenizer of ``preset`` for ``input_dim`` features (272, 263 or 251)."""
    return TokenizerModel(model_config(preset, input_dim, quantizer, codebook_size, **quantizer_options))
