"""HDF5 dataset files (h5py) with the same logical layout as the Zarr store."""

from __future__ import annotations

from pathlib import Path

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def detect(path: str) -> bool:
    """A local file starting with the HDF5 signature."""
    text = str(path)
    if "://" in text or not Path(text).is_file():
        return False
    with open(text, "rb") as handle:
        return handle.read(8) == HDF5_MAGIC
