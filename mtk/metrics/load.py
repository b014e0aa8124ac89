"""Which evaluator reads which layout, and loading it from the files the user downloaded."""

from __future__ import annotations

from pathlib import Path

from mtk.errors import MtkError
from mtk.metrics.evaluator import Evaluator


def load_evaluator(path: str | Path, layout: str, *, glove: str | Path | None = None,
                   text_model: str | Path | None = None, device: str = "cpu") -> Evaluator:
    """The evaluator at ``path`` (a checkpoint file or its folder) for features of ``layout``, recognised by its
    files: Guo et al.'s ``text_mot_match`` (``finest.tar``; HumanML3D 263, KIT-ML 251) reads the GloVe folder
    ``glove``; a TEMOS/TMR Lightning checkpoint (``.ckpt``; the 272 evaluators of MotionMillion and
    MotionStreamer) reads captions with the DistilBERT folder ``text_model``. An evaluator of another feature
    width than the layout's is refused."""
    from mtk.features import get_layout
    from mtk.metrics.t2m import is_t2m_evaluator, load_t2m_evaluator

    spec = get_layout(layout)
    if is_t2m_evaluator(Path(path)):
        if glove is None:
            raise MtkError(None, "Guo et al.'s evaluator reads GloVe word vectors",
                           "pass --glove DIR, the folder of our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl")
        return load_t2m_evaluator(path, spec.dim, glove, device=device)
    if Path(path).is_dir() and not any(Path(path).glob("*.ckpt")):
        raise MtkError(path, "holds neither Guo et al.'s evaluator (text_mot_match/model/finest.tar) nor a 272 "
                       "evaluator checkpoint (.ckpt)", "docs/metrics.md says what to download and where it goes")
    from mtk.metrics.tmr import load_tmr_evaluator

    return load_tmr_evaluator(path, spec.dim, text_model, device=device)
