"""Forward kinematics on any skeleton, numpy or torch."""

from __future__ import annotations

from collections.abc import Sequence

from mtk.maths.rotations import Array, _stack


def children(parents: Sequence[int]) -> dict[int, list[int]]:
    """Each joint's children, in joint order (end joints map to an empty list)."""
    out: dict[int, list[int]] = {j: [] for j in range(len(parents))}
    for j, p in enumerate(parents):
        if p >= 0:
            out[p].append(j)
    return out


def forward_kinematics(local_rotations: Array, root_positions: Array, offsets: Array,
                       parents: Sequence[int]) -> tuple[Array, Array]:
    """Global joint positions (..., J, 3) and global rotations (..., J, 3, 3).

    ``local_rotations`` (..., J, 3, 3) are parent-relative; joint j sits at
    ``position[parent] + global_rotation[parent] @ offsets[j]``; the root sits at ``root_positions``.
    Parents must come before their children.
    """
    global_rotations: list[Array] = []
    positions: list[Array] = []
    for j, parent in enumerate(parents):
        if parent < 0:
            global_rotations.append(local_rotations[..., j, :, :])
            positions.append(root_positions)
            continue
        parent_rotation = global_rotations[parent]
        global_rotations.append(parent_rotation @ local_rotations[..., j, :, :])
        positions.append(positions[parent] + (parent_rotation @ offsets[j][..., None])[..., 0])
    return _stack(positions, -2), _stack(global_rotations, -3)
