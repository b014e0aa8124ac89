"""The formats the PFNN package provides: its database (:mod:`mtk.pfnn.database`), made by ``mtk convert
--to pfnn`` (:mod:`mtk.pfnn.export`).

The format registry imports a module named ``formats`` in every mtk package after its own modules, so a
format whose code lives above :mod:`mtk.formats` registers here without :mod:`mtk.formats` importing it
(docs/architecture.md, "The registry").
"""

from __future__ import annotations

from mtk.formats.registry import ConvertJob, register_format
from mtk.pfnn.database import detect, inspect, read_pfnn_database, write_database

#: the ``mtk convert --to pfnn`` options (beside ``--overwrite``)
EXPORT_OPTIONS = frozenset({"layout", "fps", "workers", "skeleton", "rotations", "terrain", "phase_from",
                            "gait_from", "gait", "select", "keep"})


def _export(src: str, dst: str, **options) -> str:
    from mtk.pfnn.export import convert_to_pfnn

    return convert_to_pfnn(src, dst, **options)


register_format("pfnn", "pfnn", "a PFNN database: database.npz {Xun, Yun, Pun} or its export folder",
                "a PFNN database.npz", detect, reader=read_pfnn_database, writer=write_database,
                inspect=inspect, order=30, convert=ConvertJob(_export, EXPORT_OPTIONS, reports_progress=True))
