"""A checkpoint's stored config checked against its weights' shapes before any model is built.

A config is only a claim: a damaged or hostile one (``width`` 10^6, ``depth`` 10^6) would make building the
model allocate gigabytes or run for hours. The encoder's sizes are read from the state dict's tensor shapes
(which ``torch.load`` has already bounded by the file) and every one the config states must agree.
"""

from __future__ import annotations

import re
from pathlib import Path

from torch import Tensor

from mtk.errors import BadInputError
from mtk.tokenizer.model import STRIDE

_DOWN = re.compile(r"vqvae\.encoder\.model\.\d+\.0\.weight")
_BLOCK = re.compile(r"vqvae\.encoder\.model\.3\.1\.model\.(\d+)\.conv1\.weight")


def encoder_config(state: dict[str, Tensor], path: str | Path) -> dict:
    """``input_dim``, ``width``, ``code_dim``, ``down_t``, ``stride_t`` and ``depth`` from the encoder's shapes."""
    first = state.get("vqvae.encoder.model.1.weight")
    if first is None or first.ndim != 3:
        raise BadInputError(path, "state dict has no vqvae.encoder.model.1.weight conv",
                            "not a MotionMillion/mtk tokenizer checkpoint")
    down_t = sum(1 for key, value in state.items() if _DOWN.fullmatch(key) and value.shape[-1] == 2 * STRIDE)
    depth = len({m.group(1) for key in state if (m := _BLOCK.fullmatch(key))})
    last = state.get(f"vqvae.encoder.model.{3 + down_t}.weight")
    if last is None:
        raise BadInputError(path, f"state dict has no vqvae.encoder.model.{3 + down_t}.weight",
                            "not a MotionMillion/mtk tokenizer checkpoint")
    return {"input_dim": int(first.shape[1]), "width": int(first.shape[0]), "code_dim": int(last.shape[0]),
            "down_t": down_t, "stride_t": STRIDE, "depth": depth}


def check_config_fits(config: dict, state: dict[str, Tensor], path: str | Path) -> None:
    """Refuse ``config`` when an encoder size it states differs from the weights' (before building anything)."""
    found = encoder_config(state, path)
    for key, value in found.items():
        if key in config and config[key] != value:
            raise BadInputError(path, f"checkpoint config says {key} {config[key]!r} but its weights have "
                                f"{key} {value}", "the checkpoint is damaged; re-save it or re-train")
