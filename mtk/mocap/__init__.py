"""Your own motion capture in: skeleton maps, units and up axis, retargeting to SMPL-22, inverse kinematics,
mirroring."""
