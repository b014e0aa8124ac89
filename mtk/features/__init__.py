"""Feature families in one room: how each family's features are made, recovered, posed and checked, and the
layouts, skeletons and dataset folders they bring (:mod:`.base` defines a family, :mod:`.registry` finds them,
one module per family: :mod:`.hml`, :mod:`.smpl272`)."""

from mtk.features.base import Check, DatasetFolder, Family, LocalRotations, Pose
from mtk.features.registry import (dataset_folders, families, family_of, folder_for_layout, folder_named,
                                   get_layout, layout_dims, layout_for_dim, layout_names, layouts, layouts_on,
                                   recover_joints, recover_local_rotations, register_family, skeleton_for_joints,
                                   skeletons)

__all__ = ["Check", "DatasetFolder", "Family", "LocalRotations", "Pose", "dataset_folders", "families",
           "family_of", "folder_for_layout", "folder_named", "get_layout", "layout_dims", "layout_for_dim",
           "layout_names", "layouts", "layouts_on", "recover_joints", "recover_local_rotations", "register_family",
           "skeleton_for_joints", "skeletons"]
