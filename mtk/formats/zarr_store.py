"""Zarr v3 dataset stores (DESIGN.md §4); local paths or fsspec URLs."""

from __future__ import annotations

from pathlib import Path


def detect(path: str) -> bool:
    """A ``.zarr`` path or URL, or a folder holding a Zarr v3 group (``zarr.json``)."""
    text = str(path).rstrip("/")
    if "://" in text:
        return text.endswith(".zarr")
    return Path(text, "zarr.json").is_file()
