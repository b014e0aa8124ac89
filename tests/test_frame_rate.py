"""Frame-rate provenance and the content check that doubts an assumed rate (issue 16, point 5)."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.analysis.frame_rate import FILE, LAYOUT_DEFAULT, OPTION, FrameRate, chosen_rate, rate_doubt
from mtk.features.smpl272 import extract_272
from mtk.sample.procedural import procedural_motion
from mtk.schemas import HML263, SMPL272


def test_chosen_rate_says_where_it_comes_from():
    assert chosen_rate(None, 30.0) == FrameRate(30.0, LAYOUT_DEFAULT)
    assert chosen_rate(60, 30.0) == FrameRate(60.0, OPTION)
    assert chosen_rate(None, 120.0, default_source=FILE).label == "120.0 (file)"
    assert str(chosen_rate(None, 12.5)) == "12.5 fps (layout default)"


def test_the_real_60_fps_272_file_is_doubted_at_30_only_when_assumed(data_dir):
    features = np.load(data_dir / "smpl272" / "features" / "000000.npy")
    doubt = rate_doubt(features, SMPL272, FrameRate(30.0, LAYOUT_DEFAULT))
    assert doubt is not None and "--fps 60" in doubt and "60 fps" in doubt
    assert rate_doubt(features, SMPL272, FrameRate(30.0, OPTION)) is None
    assert rate_doubt(features, SMPL272, FrameRate(60.0, LAYOUT_DEFAULT)) is None


def test_motion_at_its_true_rate_is_not_doubted(data_dir):
    humanml = np.load(data_dir / "humanml3d" / "new_joint_vecs" / "012314.npy")
    assert len(humanml) >= 120 and rate_doubt(humanml, HML263, FrameRate(20.0, LAYOUT_DEFAULT)) is None


@pytest.mark.parametrize("index", range(6))
def test_procedural_motions_at_30_fps_are_not_doubted(index):
    motion = procedural_motion(seed=0, index=index, fps=30.0)
    features = extract_272(motion.rotations, motion.joints, SMPL272)
    assert rate_doubt(features, SMPL272, FrameRate(30.0, LAYOUT_DEFAULT)) is None


def test_short_motions_are_not_judged():
    still = np.zeros((50, SMPL272.dim))
    assert rate_doubt(still, SMPL272, FrameRate(30.0, LAYOUT_DEFAULT)) is None
