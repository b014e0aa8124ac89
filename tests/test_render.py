"""mtk render: GIF animations whose frames move, PNG key-frame strips, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageChops

from mtk.sample.procedural import motion_features, procedural_motion
from mtk.schemas import HML263


@pytest.fixture(scope="module")
def motion_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("render") / "walk.npy"
    np.save(path, motion_features(procedural_motion(0, 2, HML263.fps), HML263))
    return path


def test_gif_frames_differ(motion_file, tmp_path, mtk_cli):
    out = tmp_path / "anim.gif"
    result = mtk_cli("render", motion_file, "--out", out, "--fps", "4")
    assert result.code == 0, result.stderr
    with Image.open(out) as gif:
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB"))
    assert len(frames) == int((np.load(motion_file).shape[0] - 1) / HML263.fps * 4) + 1
    assert ImageChops.difference(frames[0], frames[-1]).getbbox() is not None
    assert ImageChops.difference(frames[0], frames[1]).getbbox() is not None


def test_png_strip_of_bvh_and_joints(data_dir, tmp_path, mtk_cli):
    for source in (data_dir / "pfnn/animations/LocomotionFlat04_000.bvh", data_dir / "humanml3d/new_joints/012314.npy"):
        out = tmp_path / f"{source.stem}.png"
        result = mtk_cli("render", source, "--out", out, "--frames", "3")
        assert result.code == 0, result.stderr
        with Image.open(out) as image:
            assert image.width > 2 * image.height  # three panels side by side
            assert len(image.convert("L").getcolors(1 << 16)) > 10  # something was drawn


def test_render_errors(motion_file, tmp_path, mtk_cli):
    existing = tmp_path / "x.gif"
    existing.write_bytes(b"keep")
    refused = mtk_cli("render", motion_file, "--out", existing)
    assert refused.code == 2 and "--overwrite" in refused.stderr and existing.read_bytes() == b"keep"
    bad = mtk_cli("render", motion_file, "--out", tmp_path / "x.avi")
    assert bad.code == 2 and ".gif, .mp4 or .png" in bad.stderr
    if shutil.which("ffmpeg") is None:
        mp4 = mtk_cli("render", motion_file, "--out", tmp_path / "x.mp4")
        assert mp4.code == 2 and "ffmpeg" in mp4.stderr and "x.gif" in mp4.stderr
        assert not (tmp_path / "x.mp4").exists()
    stats = tmp_path / "mean.npy"
    np.save(stats, np.zeros(263, dtype=np.float32))
    vector = mtk_cli("render", stats, "--out", tmp_path / "s.png")
    assert vector.code == 2 and "not a motion" in vector.stderr
