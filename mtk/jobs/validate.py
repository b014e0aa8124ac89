"""``mtk validate``: read every motion of a dataset and report structural and content findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mtk.errors import BadNameError, MtkError
from mtk.formats.datasets import bad_names_report, dataset_report, open_dataset, read_block
from mtk.io.progress import announce_total


def validate_dataset(path: str | Path, *, layout: str | None = None, window: int | None = None,
                     block: int = 256, on_progress: Callable[[int], None] | None = None,
                     splits: str | Path | None = None):
    """Read every motion and report structural and content findings (``mtk validate``); ``splits``: a folder
    of split lists for a tree of .npy files."""
    from mtk.analysis.inspection import TRAINING_WINDOW
    from mtk.analysis.validation import check_motions, summarize_motion

    reader = open_dataset(path, layout=layout, splits=splits)
    try:
        info = reader.info
    except BadNameError as err:
        return bad_names_report(str(path), err)
    announce_total(on_progress, len(info.names))
    unreadable: list[str] = []

    def summaries():
        for start in range(0, len(info.names), block):
            for name, motion in read_block(reader, info.names[start:start + block], usable=False):
                if isinstance(motion, MtkError):
                    unreadable.append(motion.one_line())
                else:
                    yield summarize_motion(name, motion.features, motion.texts)
            if on_progress:
                on_progress(len(info.names[start:start + block]))

    dim = info.layout.dim if info.layout else None
    content, lengths = check_motions(summaries(), dim)
    report = dataset_report(reader, lengths, window=window or TRAINING_WINDOW)
    report.findings = content + report.findings
    for message in unreadable:
        report.add("error", "unreadable", message)
    reader.close()
    return report
