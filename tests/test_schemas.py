"""The layouts as data: the published slices, rates, 6D conventions and std groups of each layout."""

from __future__ import annotations

import pytest

from mtk.features import get_layout, layout_for_dim, layouts
from mtk.schemas import HML263, KIT251, SMPL22, SMPL272

LAYOUTS = layouts()


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_blocks_tile_the_feature_vector(layout):
    assert layout.blocks[0].start == 0 and layout.blocks[-1].stop == layout.dim
    for before, after in zip(layout.blocks, layout.blocks[1:]):
        assert before.stop == after.start
    grouped = sorted(name for group in layout.std_groups for name in group)
    assert grouped == sorted(b.name for b in layout.blocks)


def test_published_slices():
    assert [(b.start, b.stop) for b in HML263.blocks] == [(0, 1), (1, 3), (3, 4), (4, 67), (67, 193), (193, 259),
                                                          (259, 263)]
    assert [(b.start, b.stop) for b in KIT251.blocks] == [(0, 1), (1, 3), (3, 4), (4, 64), (64, 184), (184, 247),
                                                          (247, 251)]
    assert [(b.start, b.stop) for b in SMPL272.blocks] == [(0, 2), (2, 8), (8, 74), (74, 140), (140, 272)]


def test_conventions():
    assert (HML263.fps, KIT251.fps, SMPL272.fps) == (20.0, 12.5, 30.0)
    assert (HML263.sixd, KIT251.sixd, SMPL272.sixd) == ("columns", "columns", "rows")
    assert HML263.has_contacts and KIT251.has_contacts and not SMPL272.has_contacts
    assert (len(HML263.std_groups), len(SMPL272.std_groups)) == (7, 5)
    assert HML263.rows_for_source_frames(171) == 170 and SMPL272.rows_for_source_frames(171) == 171
    assert HML263.block("foot_contacts").joints == (7, 10, 8, 11)
    assert KIT251.block("foot_contacts").joints == (19, 20, 14, 15)


def test_skeleton_parents_precede_children():
    for skeleton in (SMPL22, KIT251.skeleton):
        assert all(p < j for j, p in enumerate(skeleton.parents) if p >= 0)
        for chain in skeleton.chains:
            assert all(skeleton.parents[b] == a for a, b in zip(chain, chain[1:]))
    assert SMPL22.offsets().shape == (22, 3)


def test_lookup():
    assert get_layout("263") is HML263 and layout_for_dim(272) is SMPL272 and layout_for_dim(100) is None
    with pytest.raises(KeyError, match="known"):
        get_layout("hml264")
