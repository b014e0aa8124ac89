"""Jobs: the work behind each command (convert, stats, validate/inspect, render, sample, PFNN export, torch
datasets). They read and write through :mod:`mtk.formats`; see docs/architecture.md."""
