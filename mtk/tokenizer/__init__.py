"""The FSQ motion tokenizer: quantizers, the MotionMillion-compatible conv autoencoder, training, evaluation.

Names load on first use, so ``mtk.tokenizer.presets`` (read by ``mtk tokenizer train --help``) does not
import torch.
"""

from __future__ import annotations

import importlib

_QUANTIZERS = "mtk.tokenizer.quantizers"
#: public name -> module that defines it
_LAZY: dict[str, str] = {
    "load_checkpoint": "mtk.tokenizer.checkpoint",
    "save_checkpoint": "mtk.tokenizer.checkpoint",
    "TokenizerModel": "mtk.tokenizer.model",
    "build_model": "mtk.tokenizer.model",
    "model_config": "mtk.tokenizer.model",
    "PRESETS": "mtk.tokenizer.presets",
    **dict.fromkeys(("FSQ", "FSQ_LEVELS", "LFQ", "VQ", "PlainVQ", "Quantizer", "levels_for", "quantizer_names",
                     "register_quantizer"), _QUANTIZERS),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mtk.tokenizer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
