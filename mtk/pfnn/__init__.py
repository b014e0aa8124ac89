"""PFNN (Holden et al. 2017) end to end: its schema, the database generator and format (``mtk convert --to
pfnn``, gait labels, selection), the phase-functioned network, its training, evaluation, the exchange with
PFNN's C++ demo (``W0_000.bin`` ...) and the runtime controller with foot IK that drives a character with it.
docs/pfnn.md, "The package", maps the modules.

Heavy imports (torch, matplotlib) live inside the modules that need them; :class:`Controller` and the
network file reader are numpy only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtk.pfnn.controller import Controller

__all__ = ["Controller"]


def __getattr__(name: str):
    if name == "Controller":
        from mtk.pfnn.controller import Controller

        return Controller
    raise AttributeError(name)
