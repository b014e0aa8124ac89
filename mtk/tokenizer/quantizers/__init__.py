"""The tokenizer's quantizers, one module each, found through one registry (:mod:`.base`).

Importing this package registers the built-in ones: ``fsq`` (the default), ``lfq``, ``vq`` and ``vqvae``.
A new quantizer is one module with a :class:`Quantizer` subclass ending in ``register_quantizer(TheClass)``;
the model, checkpoint loading and ``mtk tokenizer train --quantizer`` take it from there.
"""

from mtk.tokenizer.quantizers.base import (QUANTIZERS, CodebookUsage, Quantizer, code_counts, get_quantizer,
                                           quantizer_names, register_quantizer, usage_from_counts)
from mtk.tokenizer.quantizers.fsq import FSQ, FSQ_LEVELS, levels_for
from mtk.tokenizer.quantizers.lfq import LFQ
from mtk.tokenizer.quantizers.vq import VQ
from mtk.tokenizer.quantizers.vqvae import PlainVQ

__all__ = ["FSQ", "FSQ_LEVELS", "LFQ", "QUANTIZERS", "VQ", "CodebookUsage", "PlainVQ", "Quantizer", "code_counts",
           "get_quantizer", "levels_for", "quantizer_names", "register_quantizer", "usage_from_counts"]
