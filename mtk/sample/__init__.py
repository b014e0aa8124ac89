"""The built-in sample data: procedural motions on the SMPL-22 skeleton (:mod:`.procedural`)."""
