"""Plumbing every format and job shares: destinations (local or fsspec), locks, work folders, safe
unpickling, atomic files. Imports nothing else of mtk but :mod:`mtk.errors`; see docs/architecture.md."""
