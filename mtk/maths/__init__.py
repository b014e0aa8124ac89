"""Maths every motion needs, with no knowledge of datasets or layouts: rotations (numpy and torch alike),
forward kinematics, fitting rotations and offsets to joint positions, smoothing and resampling in time."""
