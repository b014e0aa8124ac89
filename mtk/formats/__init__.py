"""Formats only: one module (or subpackage) per format, each ending with one
:func:`~mtk.formats.registry.register_format` call. The common model is :mod:`mtk.formats.model`, the
contracts :mod:`mtk.formats.base`; see docs/architecture.md."""

from mtk.formats.base import DatasetReader, DatasetWriter
from mtk.formats.model import DatasetInfo, Motion, Stats

__all__ = ["DatasetInfo", "DatasetReader", "DatasetWriter", "Motion", "Stats"]
