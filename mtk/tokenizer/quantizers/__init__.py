"""The tokenizer's quantizers, one module each, found through one registry (:mod:`.base`).

Importing this package imports every module in its folder, so each registers itself: ``fsq`` (the default),
``lfq``, ``vq``, ``vqvae`` and any module dropped in beside them. A new quantizer is one module with a
:class:`Quantizer` subclass ending in ``register_quantizer(TheClass)``; the model, checkpoint loading,
``mtk tokenizer train --quantizer`` (and its option flags), the demo and the quantizer study take it from there.
"""

import importlib
import pkgutil

from mtk.tokenizer.quantizers.base import (DEFAULT_QUANTIZER, QUANTIZERS, CodebookUsage, Quantizer, QuantizerOption,
                                           code_counts, get_quantizer, quantizer_names, quantizer_options,
                                           register_quantizer, usage_from_counts)


def _import_all() -> None:
    """Import every module of this package (each registers its quantizer), in name order."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


_import_all()

from mtk.tokenizer.quantizers.fsq import FSQ, FSQ_LEVELS, levels_for  # noqa: E402  (names kept for callers)
from mtk.tokenizer.quantizers.lfq import LFQ  # noqa: E402
from mtk.tokenizer.quantizers.vq import VQ  # noqa: E402
from mtk.tokenizer.quantizers.vqvae import PlainVQ  # noqa: E402

__all__ = ["DEFAULT_QUANTIZER", "FSQ", "FSQ_LEVELS", "LFQ", "QUANTIZERS", "VQ", "CodebookUsage", "PlainVQ",
           "Quantizer", "QuantizerOption", "code_counts", "get_quantizer", "levels_for", "quantizer_names",
           "quantizer_options", "register_quantizer", "usage_from_counts"]
