"""Your own motion capture in: skeleton maps, units and up axis, retargeting onto SMPL-22, inverse kinematics;
and the texts of mirrored motions (left and right swapped)."""
