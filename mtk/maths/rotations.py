"""Rotation conversions, vectorised over any leading shape, for numpy arrays and torch tensors alike.

Conventions: quaternions are w-first (w, x, y, z) with the Hamilton product; matrices act on column
vectors (v' = R v); 6D is the first two **columns** of R (HumanML3D ``cont6d``) or the first two **rows**
(pytorch3d, the 272 layout); axis-angle is axis times angle; the log-quaternion is axis times half-angle.
Every function returns the same kind of array it was given.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

Array = Any  # np.ndarray or torch.Tensor
SixD = Literal["columns", "rows"]


def _is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


def _stack(items: list[Array], axis: int) -> Array:
    if _is_torch(items[0]):
        import torch

        return torch.stack(items, dim=axis)
    return np.stack(items, axis=axis)


def _cat(items: list[Array], axis: int) -> Array:
    if _is_torch(items[0]):
        import torch

        return torch.cat(items, dim=axis)
    return np.concatenate(items, axis=axis)


def _cumsum(x: Array, axis: int) -> Array:
    return x.cumsum(dim=axis) if _is_torch(x) else np.cumsum(x, axis=axis)


def _where(cond: Array, a: Array, b: Array) -> Array:
    if _is_torch(cond):
        import torch

        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def _atan2(y: Array, x: Array) -> Array:
    if _is_torch(y):
        import torch

        return torch.atan2(y, x)
    return np.arctan2(y, x)


def _sqrt(x: Array) -> Array:
    return x.sqrt() if _is_torch(x) else np.sqrt(x)


def _sin(x: Array) -> Array:
    return x.sin() if _is_torch(x) else np.sin(x)


def _cos(x: Array) -> Array:
    return x.cos() if _is_torch(x) else np.cos(x)


def _clip(x: Array, lo: float, hi: float) -> Array:
    return x.clamp(lo, hi) if _is_torch(x) else np.clip(x, lo, hi)


def _cross(a: Array, b: Array) -> Array:
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return _stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], -1)


def _dot(a: Array, b: Array) -> Array:
    return (a * b).sum(-1)


def _norm(x: Array) -> Array:
    return _sqrt((x * x).sum(-1))


def _normalize(x: Array, eps: float = 1e-12) -> Array:
    n = _norm(x)[..., None]
    return x / _where(n > eps, n, n * 0 + 1)


def _transpose(m: Array) -> Array:
    return m.transpose(-1, -2) if _is_torch(m) else np.swapaxes(m, -1, -2)


# --- quaternions ---------------------------------------------------------------------------------------


def quat_normalize(q: Array) -> Array:
    return _normalize(q)


def quat_conjugate(q: Array) -> Array:
    """The inverse of a unit quaternion."""
    return _stack([q[..., 0], -q[..., 1], -q[..., 2], -q[..., 3]], -1)


def quat_multiply(a: Array, b: Array) -> Array:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return _stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], -1)


def quat_rotate(q: Array, v: Array) -> Array:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v + 2w(u x v) + 2u x (u x v)."""
    u = q[..., 1:]
    uv = _cross(u, v)
    return v + 2 * (q[..., :1] * uv + _cross(u, uv))


def quat_between(a: Array, b: Array) -> Array:
    """The shortest-arc rotation taking direction a to direction b (w >= 0, HumanML3D's ``qbetween``)."""
    w = _sqrt(_dot(a, a) * _dot(b, b)) + _dot(a, b)
    return _normalize(_cat([w[..., None], _cross(a, b)], -1))


def quat_canonical(q: Array) -> Array:
    """The same rotation with w >= 0."""
    return _where(q[..., :1] < 0, -q, q)


def quat_to_matrix(q: Array) -> Array:
    """(..., 4) -> (..., 3, 3)."""
    q = _normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        _stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        _stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        _stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ]
    return _stack(rows, -2)


def matrix_to_quat(m: Array) -> Array:
    """(..., 3, 3) -> (..., 4) with w >= 0, numerically stable for every angle (Shepperd's choice)."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = _stack([
        _stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                m[..., 1, 0] - m[..., 0, 1]], -1),
        _stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0],
                m[..., 0, 2] + m[..., 2, 0]], -1),
        _stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22,
                m[..., 1, 2] + m[..., 2, 1]], -1),
        _stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                1 - m00 - m11 + m22], -1),
    ], -2)  # (..., 4, 4): candidate k has component k equal to 4 q_k^2
    diag = _stack([candidates[..., k, k] for k in range(4)], -1)
    best = diag.argmax(-1) if _is_torch(diag) else np.argmax(diag, axis=-1)
    if _is_torch(candidates):
        import torch

        chosen = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4))[..., 0, :]
    else:
        chosen = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    return quat_canonical(_normalize(chosen))


def axis_angle_to_quat(aa: Array) -> Array:
    """Axis times angle (..., 3) -> unit quaternion (..., 4)."""
    angle = _norm(aa)
    half = angle / 2
    small = angle < 1e-8
    safe = _where(small, angle * 0 + 1, angle)
    # sin(a/2)/a -> 1/2 - a^2/48 for small a
    factor = _where(small, 0.5 - angle * angle / 48, _sin(half) / safe)
    return _cat([_cos(half)[..., None], aa * factor[..., None]], -1)


def quat_to_axis_angle(q: Array) -> Array:
    """Unit quaternion (..., 4) -> axis times angle (..., 3), angle in [0, pi]."""
    q = quat_canonical(_normalize(q))
    v = q[..., 1:]
    n = _norm(v)
    angle = 2 * _atan2(n, q[..., 0])
    small = n < 1e-8
    safe = _where(small, n * 0 + 1, n)
    factor = _where(small, 2 / _clip(q[..., 0], 1e-12, 2.0), angle / safe)
    return v * factor[..., None]


def quat_log(q: Array) -> Array:
    """Log-quaternion, axis times **half**-angle (PFNN), after forcing w >= 0 so |log| <= pi/2."""
    return quat_to_axis_angle(q) / 2


def quat_exp(log: Array) -> Array:
    """Inverse of :func:`quat_log`: (cos|l|, sin|l| l/|l|)."""
    return axis_angle_to_quat(log * 2)


# --- matrices ------------------------------------------------------------------------------------------


def axis_angle_to_matrix(aa: Array) -> Array:
    return quat_to_matrix(axis_angle_to_quat(aa))


def matrix_to_axis_angle(m: Array) -> Array:
    return quat_to_axis_angle(matrix_to_quat(m))


def matrix_to_6d(m: Array, convention: SixD) -> Array:
    """First two columns (``columns``, HumanML3D) or first two rows (``rows``, pytorch3d / 272)."""
    if convention == "columns":
        return _cat([m[..., :, 0], m[..., :, 1]], -1)
    if convention == "rows":
        return _cat([m[..., 0, :], m[..., 1, :]], -1)
    raise ValueError(f"unknown 6D convention {convention!r}")


def sixd_to_matrix(x: Array, convention: SixD) -> Array:
    """Gram-Schmidt decode of 6D (..., 6) -> (..., 3, 3) in the given convention."""
    first = _normalize(x[..., :3])
    second = _normalize(x[..., 3:] - _dot(first, x[..., 3:])[..., None] * first)
    third = _cross(first, second)
    m = _stack([first, second, third], -2)  # rows
    if convention == "rows":
        return m
    if convention == "columns":
        return _transpose(m)
    raise ValueError(f"unknown 6D convention {convention!r}")


def quat_to_6d(q: Array, convention: SixD) -> Array:
    return matrix_to_6d(quat_to_matrix(q), convention)


def rotation_y(angle: Array) -> Array:
    """Ry(angle) (..., 3, 3), right-handed about +y: maps +z to (sin a, 0, cos a)."""
    c, s = _cos(angle), _sin(angle)
    zero, one = angle * 0, angle * 0 + 1
    return _stack([
        _stack([c, zero, s], -1),
        _stack([zero, one, zero], -1),
        _stack([-s, zero, c], -1),
    ], -2)


def yaw_quat(angle: Array) -> Array:
    """Quaternion of Ry(angle)."""
    zero = angle * 0
    return _stack([_cos(angle / 2), zero, _sin(angle / 2), zero], -1)


def euler_to_matrix(angles: Array, order: str) -> Array:
    """Intrinsic Euler angles in radians (..., 3) -> (..., 3, 3).

    ``order`` names the axes in the order BVH lists its rotation channels (e.g. ``"ZYX"``): the matrix is
    R = R_order[0] @ R_order[1] @ R_order[2].
    """
    result = None
    for k, axis in enumerate(order.upper()):
        a = angles[..., k]
        c, s = _cos(a), _sin(a)
        zero, one = a * 0, a * 0 + 1
        if axis == "X":
            rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
        elif axis == "Y":
            rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
        elif axis == "Z":
            rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
        else:
            raise ValueError(f"bad Euler axis {axis!r} in {order!r}")
        r = _stack([_stack(row, -1) for row in rows], -2)
        result = r if result is None else result @ r
    return result


def matrix_to_euler(m: Array, order: str) -> Array:
    """Inverse of :func:`euler_to_matrix` for the six Tait-Bryan orders (angles in radians)."""
    order = order.upper()
    i, j, k = ("XYZ".index(a) for a in order)
    # sign of the permutation (i, j, k): +1 for cyclic orders
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    mid = sign * m[..., i, k]
    second = _atan2(mid, _sqrt(_clip(1 - mid * mid, 0.0, 1.0)))
    first = _atan2(-sign * m[..., j, k], m[..., k, k])
    third = _atan2(-sign * m[..., i, j], m[..., i, i])
    return _stack([first, second, third], -1)


def geodesic_angle(a: Array, b: Array) -> Array:
    """Angle in radians of the rotation between matrices a and b."""
    rel = _transpose(a) @ b
    trace = rel[..., 0, 0] + rel[..., 1, 1] + rel[..., 2, 2]
    cos = _clip((trace - 1) / 2, -1.0, 1.0)
    sin = _norm(_stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                        rel[..., 1, 0] - rel[..., 0, 1]], -1)) / 2
    return _atan2(sin, cos)
