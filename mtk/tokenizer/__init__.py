"""The FSQ motion tokenizer: quantizers, the MotionMillion-compatible conv autoencoder, training, evaluation."""

from mtk.tokenizer.checkpoint import load_checkpoint, save_checkpoint
from mtk.tokenizer.fsq import FSQ, FSQ_LEVELS, levels_for
from mtk.tokenizer.model import TokenizerModel, build_model, model_config
from mtk.tokenizer.presets import PRESETS
from mtk.tokenizer.vq import VQ

__all__ = ["FSQ", "FSQ_LEVELS", "PRESETS", "VQ", "TokenizerModel", "build_model", "levels_for",
           "load_checkpoint", "model_config", "save_checkpoint"]
