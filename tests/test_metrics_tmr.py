"""The 272 evaluators (TEMOS/TMR: MotionMillion's and MotionStreamer's) against the original modules.

Reference numbers come from MotionStreamer's ``Evaluator_272/mld/models/architectures/temos`` modules
(``ActorAgnosticEncoder``, ``DistilbertActorAgnosticEncoder``; MotionMillion's wrapper builds the same classes)
run outside this repository with transformers 5.25 on the checkpoints ``tests/metrics_factories.py`` writes.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from mtk.errors import MtkError
from tests.metrics_factories import write_text_model, write_tmr_evaluator

pytest.importorskip("transformers")

CAPTIONS = ["a person walks forward and turns left", "the man runs in a circle.", "jumps slowly"]
LENGTHS = [300, 180, 64]
REFERENCE = {
    (8, 16): (
        [[-1.08586061, 0.337844193, -0.348746002, 0.287263185, -0.34617281, -0.825941682, -0.464527309, 0.0762342215],
         [-1.08587182, 0.337845474, -0.348745644, 0.287141204, -0.346223027, -0.825946033, -0.464516789, 0.076240316],
         [-1.08696723, 0.338000059, -0.348759413, 0.273356497, -0.351300806, -0.826126277, -0.464097351,
          0.0773980096]],
        [[-0.0544666909, 0.330312848, 0.0136073083, 0.230806127, 0.516471207, 0.985390663, -0.0866337791, 0.167307675],
         [-0.0830379352, 0.34644714, 0.0173470415, 0.22070913, 0.540297389, 0.975711882, -0.0907260925, 0.154546306],
         [-0.134659722, 0.375915051, 0.0316383652, 0.227963656, 0.540127754, 0.865758002, -0.0700315237, 0.13366881]]),
    (12, 24): (
        [[0.168916002, -0.0809815228, 0.709200978, -0.326457173, -0.366968274, -0.241029143, 0.873934627,
          -0.0824698359, 0.18429561, 0.0226314534, 0.18462044, -0.203599766],
         [0.168936446, -0.0810256377, 0.709275901, -0.326683372, -0.36691466, -0.240710825, 0.873528957,
          -0.082454212, 0.184138641, 0.0226246174, 0.184579998, -0.203520536],
         [0.169188291, -0.0839218274, 0.711609781, -0.329581887, -0.361914724, -0.2301891, 0.858730435,
          -0.0883934572, 0.180307925, 0.0232832041, 0.184469834, -0.197519243]],
        [[0.51243937, -0.380893648, -0.200319692, -0.00267277821, 0.304013401, -0.0436578654, -0.872881591,
          0.435275018, -0.260514319, -0.177848354, -0.184397355, 0.36625737],
         [0.562079072, -0.325700521, -0.119766168, -0.00110335799, 0.304244667, -0.0515295863, -0.890981913,
          0.438048452, -0.255461365, -0.179230362, -0.185645223, 0.368591696],
         [0.511458278, -0.269160748, -0.0971145779, -0.00715791946, 0.30445087, -0.0591183417, -0.898357153,
          0.43857041, -0.25345099, -0.181579396, -0.190205231, 0.367514193]]),
}


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return write_text_model(tmp_path_factory.mktemp("distilbert"))


@pytest.mark.parametrize("latent, ff_size", list(REFERENCE))
def test_tmr_embeddings_equal_the_original_modules(tmp_path, text_model, latent, ff_size):
    from mtk.metrics.load import load_evaluator

    folder = write_tmr_evaluator(tmp_path / "ev", text_model, latent, ff_size)
    evaluator = load_evaluator(folder, "smpl272", text_model=text_model)
    rs = np.random.RandomState(51)
    motions = torch.from_numpy(rs.standard_normal((3, 300, 272)).astype(np.float32))
    text, motion = REFERENCE[(latent, ff_size)]
    np.testing.assert_allclose(evaluator.embed_texts(CAPTIONS), text, atol=1e-5)
    np.testing.assert_allclose(evaluator.embed_motions(motions, torch.tensor(LENGTHS)), motion, atol=1e-5)
    # padding past the lengths and the batch's padded width do not matter (the original pads to 300)
    short = motions[:, :180].clone()
    short[2, 64:] = 7.0
    np.testing.assert_allclose(evaluator.embed_motions(short[1:], torch.tensor(LENGTHS[1:])), motion[1:], atol=1e-5)
    # HumanML3D-272 text lines carry tokens after '#': the caption alone is read
    np.testing.assert_allclose(evaluator.embed_texts([CAPTIONS[2] + "#jump/VERB#0.0#0.0"]), text[2:], atol=1e-5)


def test_released_widths_name_the_evaluator(tmp_path, text_model):
    from mtk.metrics.tmr import load_tmr_evaluator

    evaluator = load_tmr_evaluator(write_tmr_evaluator(tmp_path / "mm", text_model, 512, 32, layers=1), 272, text_model)
    assert evaluator.name == "motionmillion-272"
    assert (evaluator.protocol.min_source_frames, evaluator.protocol.end_source_frames) == (60, 201)


def test_missing_transformers_names_the_extra(tmp_path, monkeypatch):
    from mtk.metrics.tmr import load_tmr_evaluator

    (tmp_path / "epoch=199.ckpt").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MtkError, match=r"pip install 'mtk\[eval\]'") as err:
        load_tmr_evaluator(tmp_path, 272, tmp_path)
    assert len(err.value.one_line().splitlines()) == 1


def test_wrong_text_model_folder_is_one_line(tmp_path, text_model):
    from mtk.metrics.tmr import load_tmr_evaluator

    folder = write_tmr_evaluator(tmp_path / "ev", text_model, 8, 16)
    with pytest.raises(MtkError, match="config.json"):
        load_tmr_evaluator(folder, 272, tmp_path)
    with pytest.raises(MtkError, match="--text-model"):
        load_tmr_evaluator(folder, 272, None)
