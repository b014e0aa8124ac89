"""The FSQ motion tokenizer: quantizers, the MotionMillion-compatible conv autoencoder, training, evaluation."""

from mtk.tokenizer.checkpoint import load_checkpoint, save_checkpoint
from mtk.tokenizer.model import TokenizerModel, build_model, model_config
from mtk.tokenizer.presets import PRESETS
from mtk.tokenizer.quantizers import (FSQ, FSQ_LEVELS, LFQ, VQ, PlainVQ, Quantizer, levels_for, quantizer_names,
                                      register_quantizer)

__all__ = ["FSQ", "FSQ_LEVELS", "LFQ", "PRESETS", "VQ", "PlainVQ", "Quantizer", "TokenizerModel", "build_model",
           "levels_for", "load_checkpoint", "model_config", "quantizer_names", "register_quantizer",
           "save_checkpoint"]
