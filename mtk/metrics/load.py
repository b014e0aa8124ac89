"""Which evaluator reads which layout, and loading it from the files the user downloaded."""

from __future__ import annotations

from pathlib import Path

from mtk.errors import MtkError
from mtk.metrics.evaluator import Evaluator

#: datasets (``Layout.dataset_family``) measured with Guo et al.'s evaluator, one checkpoint each
T2M_FAMILIES = ("humanml3d", "kit")
#: datasets measured with a TEMOS/TMR evaluator (the 272 features: MotionMillion, HumanML3D-272)
TMR_FAMILIES = ("motionmillion",)


def load_evaluator(path: str | Path, layout: str, *, glove: str | Path | None = None,
                   text_model: str | Path | None = None, device: str = "cpu") -> Evaluator:
    """The evaluator at ``path`` (a checkpoint file or its folder) for features of ``layout``.

    HumanML3D (263) and KIT-ML (251) use Guo et al.'s ``text_mot_match`` with the GloVe folder ``glove``;
    the 272 layout uses a TMR-style evaluator (MotionMillion's or MotionStreamer's) with the DistilBERT folder
    ``text_model``."""
    from mtk.features import get_layout

    spec = get_layout(layout)
    if spec.dataset_family in T2M_FAMILIES:
        from mtk.metrics.t2m import load_t2m_evaluator

        if glove is None:
            raise MtkError(None, f"the {spec.title} evaluator reads GloVe word vectors",
                           "pass --glove DIR, the folder of our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl")
        return load_t2m_evaluator(path, spec.dataset_family, spec.dim, glove, device=device)
    if spec.dataset_family in TMR_FAMILIES:
        from mtk.metrics.tmr import load_tmr_evaluator

        return load_tmr_evaluator(path, spec.dim, text_model, device=device)
    raise MtkError(None, f"no text-motion evaluator reads {spec.title} features",
                   "mtk has evaluators for HumanML3D, KIT-ML and the 272 features")
