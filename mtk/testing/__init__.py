"""Conformance kits for plugin authors: run a new format or quantizer through the checks mtk's own pass.

::

    from mtk.formats import registry
    from mtk.testing import check_format, check_quantizer

    check_format(registry.get("dataset", "myformat"), tmp_path)   # round trip, detection, inspect, damage
    check_quantizer("myquantizer", tmp_path)                      # shapes, gradient, checkpoints

Each raises ``AssertionError`` naming what failed. ``run_cli`` runs ``mtk ARGS`` in the current process, so
formats, families and quantizers registered there count. Importing this package stays light: the quantizer
kit loads torch when first used.
"""

from __future__ import annotations

import importlib

_LAZY = {"check_format": "mtk.testing.formats", "ReadOnlyFormat": "mtk.testing.formats",
         "check_quantizer": "mtk.testing.quantizers", "run_cli": "mtk.testing.cli", "CliResult": "mtk.testing.cli"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mtk.testing' has no attribute {name!r}")
