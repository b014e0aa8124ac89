"""mtk.stats.moments: exact streaming moments and the normalisation conventions, against float64 numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import random_features
from mtk.features import get_layout
from mtk.schemas import HML263, KIT251, SMPL272
from mtk.stats.moments import (
    Moments,
    accumulate,
    apply_feat_bias,
    dataset_stats_from_arrays,
    normalization,
)

RTOL = 1e-6


def chunks_of(layout, seed=0, count=20, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [random_features(rng, int(rng.integers(1, 120)), layout, dtype) for _ in range(count)]


def reference(arrays, layout, groups="layout", feat_bias=1.0):
    """The reference scripts' approach, in float64: concatenate, per-dim std, group average, feat_bias."""
    data = np.concatenate(arrays).astype(np.float64)
    mean, std = data.mean(0), data.std(0)
    if groups == "layout":
        for _label, slices in layout.std_group_slices():
            value = np.concatenate([std[s] for s in slices]).mean()
            for s in slices:
                std[s] = value
    for name in layout.feat_bias_groups:
        std[layout.block(name).slice] /= feat_bias
    std[std < 1e-6 * np.maximum(np.abs(mean), 1)] = 1.0
    return mean, std


def assert_rel(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


@pytest.mark.parametrize("layout", [HML263, KIT251, SMPL272], ids=lambda la: la.name)
@pytest.mark.parametrize("groups", ["layout", "none"])
@pytest.mark.parametrize("feat_bias", [1.0, 5.0])
def test_conventions_equal_numpy_on_concatenation(layout, groups, feat_bias):
    arrays = chunks_of(layout, seed=layout.dim)
    mean, std = dataset_stats_from_arrays(arrays, layout, groups, feat_bias)
    ref_mean, ref_std = reference(arrays, layout, groups, feat_bias)
    assert mean.dtype == std.dtype == np.float64
    assert_rel(mean, ref_mean)
    assert_rel(std, ref_std)


def test_layout_grouping_gives_one_value_per_group():
    std = normalization(Moments.of(np.concatenate(chunks_of(HML263))), HML263).std
    values = [np.unique(np.concatenate([std[s] for s in slices])) for _l, slices in HML263.std_group_slices()]
    assert [v.size for v in values] == [1] * 7
    assert len(SMPL272.std_group_slices()) == 5


def test_feat_bias_divides_root_and_contacts_only():
    std = np.arange(1.0, HML263.dim + 1.0)
    biased = apply_feat_bias(std, HML263, 5.0)
    ratio = std / biased
    assert np.allclose(ratio[:4], 5.0) and np.allclose(ratio[259:263], 5.0)
    assert np.allclose(ratio[4:259], 1.0)
    ratio272 = std[:272] / apply_feat_bias(std[:272], SMPL272, 5.0)
    assert np.allclose(ratio272[:8], 5.0) and np.allclose(ratio272[8:], 1.0)
    with pytest.raises(ValueError):
        apply_feat_bias(std, HML263, 0.0)


@given(sizes=st.lists(st.integers(1, 50), min_size=1, max_size=25), workers=st.integers(1, 6),
       offset=st.sampled_from([0.0, 1e3, -7.5e4]))
@settings(max_examples=40, deadline=None)
def test_partition_and_merge_order_do_not_change_result(sizes, workers, offset):
    rng = np.random.default_rng(len(sizes) * 31 + workers)
    arrays = [(rng.normal(size=(n, 5)) * 0.01 + offset).astype(np.float32) for n in sizes]
    single, _ = accumulate(arrays, 5)
    bounds = np.linspace(0, len(arrays), workers + 1).astype(int)
    parts = [accumulate(arrays[a:b], 5)[0] for a, b in zip(bounds[:-1], bounds[1:])]
    merged = Moments(5)
    for part in reversed(parts):
        merged.merge(part)
    assert merged.count == single.count == sum(sizes)
    assert_rel(merged.mean, single.mean, 1e-12)
    # the order of float64 additions changes; beyond 1e-12 relative only through cancellation against a large mean
    np.testing.assert_allclose(merged.std, single.std, rtol=1e-12, atol=1e-15 * abs(offset))
    data = np.concatenate(arrays).astype(np.float64)
    assert_rel(merged.mean, data.mean(0))
    assert_rel(merged.std, data.std(0))


def test_zero_std_dims_become_one_and_are_reported():
    arrays = chunks_of(SMPL272, dtype=np.float64)
    for a in arrays:
        a[:, 2:8] = [1, 0, 0, 0, 1, 0]
        a[:, [8, 10]] = 0.0
        a[:, 200] = 0.1  # a constant that is not exactly representable: std is rounding noise, not 0
        a[:, 201] = 1e-9 * np.arange(len(a))  # varies, but only far below any motion feature's resolution
    moments, _ = accumulate(arrays, 272)
    per_dim = normalization(moments, SMPL272, "none")
    assert per_dim.zero_dims == [2, 3, 4, 5, 6, 7, 8, 10, 200, 201]
    assert (per_dim.std[per_dim.zero_dims] == 1.0).all()
    grouped = normalization(moments, SMPL272, "layout")
    assert grouped.zero_dims == [2, 3, 4, 5, 6, 7]  # the whole heading group is constant here
    assert grouped.std[9] > 0 and grouped.std[9] == grouped.std[73]


def test_nonfinite_arrays_are_skipped_and_listed():
    arrays = chunks_of(HML263, count=6)
    arrays[1][3, 10] = np.nan
    arrays[4][0, 0] = np.inf
    moments, skipped = accumulate(arrays, HML263.dim)
    assert skipped == [1, 4]
    clean = [a for i, a in enumerate(arrays) if i not in skipped]
    assert moments.count == sum(len(a) for a in clean)
    assert_rel(moments.mean, np.concatenate(clean).astype(np.float64).mean(0))


def test_errors_on_wrong_shapes():
    with pytest.raises(ValueError):
        Moments(4).update(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        Moments(4).update(np.zeros(4))
    with pytest.raises(ValueError):
        Moments(4).std  # noqa: B018 - nothing accumulated
    with pytest.raises(ValueError):
        normalization(Moments.of(np.ones((3, 4))), HML263)


def test_moments_pickle_without_scratch():
    import pickle

    moments = Moments.of(np.random.default_rng(0).normal(size=(300, 263)))
    clone = pickle.loads(pickle.dumps(moments))
    assert clone.count == 300 and np.array_equal(clone.mean, moments.mean) and clone._scratch is None
    assert len(pickle.dumps(moments)) < 10_000


@pytest.mark.parametrize("relpath,layout", [("humanml3d/new_joint_vecs/012314.npy", "hml263"),
                                            ("smpl272/features/000000.npy", "smpl272")])
@pytest.mark.parametrize("groups", ["layout", "none"])
def test_real_motion_in_chunks_equals_numpy(data_dir, relpath, layout, groups):
    features = np.load(data_dir / relpath)
    layout = get_layout(layout)
    pieces = np.array_split(features, 7)
    mean, std = dataset_stats_from_arrays(pieces, layout, groups, 5.0)
    ref_mean, ref_std = reference([features], layout, groups, 5.0)
    assert_rel(mean, ref_mean)
    assert_rel(std, ref_std)
    if groups == "none" and layout.dim == 272:
        # the raw 272 sample has constant dims: the heading entries, root local x/z, and its foot rotations
        zeros = normalization(Moments.of(features), layout, "none").zero_dims
        assert {3, 5, 6, 7, 8, 10, 74, 76} <= set(zeros)


def test_identify_grouping_from_files_alone():
    from mtk.stats.conventions import identify_convention

    arrays = chunks_of(SMPL272, seed=9, count=8, dtype=np.float64)
    moments, _ = accumulate(arrays, SMPL272.dim)
    grouped = normalization(moments, SMPL272, "layout")
    per_dim = normalization(moments, SMPL272, "none")
    assert identify_convention(grouped.mean, grouped.std, SMPL272).grouping == "layout"
    assert identify_convention(per_dim.mean, per_dim.std, SMPL272).grouping == "none"
    mixed = grouped.std.copy()
    mixed[8:74] = per_dim.std[8:74]
    found = identify_convention(grouped.mean, mixed, SMPL272)
    assert found.grouping == "mixed" and found.convention == "mixed"
    assert [g.grouping for g in found.groups] == ["grouped", "grouped", "per-dim", "grouped", "grouped"]
    with pytest.raises(ValueError, match="NaN"):
        identify_convention(grouped.mean, np.full(272, np.nan), SMPL272)
