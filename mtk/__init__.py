"""mtk: a motion-dataset toolkit. Heavy parts (torch, zarr, h5py) load only when first used."""

from __future__ import annotations

import importlib

#: public name -> module that defines it; imported on first attribute access (``import mtk`` stays light)
_LAZY: dict[str, str] = {
    "WindowDataset": "mtk.jobs.torch_data",
    "MotionDataset": "mtk.jobs.torch_data",
    "open_dataset": "mtk.formats.datasets",
    "create_writer": "mtk.formats.datasets",
    "dataset_stats": "mtk.jobs.stats",
    "check_stats": "mtk.jobs.stats",
    "Moments": "mtk.stats.moments",
    "get_layout": "mtk.features",
    "recover_joints": "mtk.features",
    "family_of": "mtk.features",
    "read_bvh": "mtk.formats.bvh",
    "write_bvh": "mtk.formats.bvh",
    "extract_263": "mtk.features.hml",
    "extract_272": "mtk.features.smpl272",
    "procedural_motion": "mtk.sample.procedural",
    "convert_to_pfnn": "mtk.pfnn.export",
    "read_pfnn_database": "mtk.pfnn.database",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import version

        return version("mtk")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mtk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
