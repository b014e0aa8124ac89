"""One module per format; each reads and/or writes the common model in :mod:`mtk.formats.model`."""

from mtk.formats.model import DatasetInfo, DatasetReader, DatasetWriter, Motion, Stats

__all__ = ["DatasetInfo", "DatasetReader", "DatasetWriter", "Motion", "Stats"]
