"""PFNN training rows (:mod:`.pfnn`) and gait phase (:mod:`.phase`), on their way into :mod:`mtk.pfnn`."""
