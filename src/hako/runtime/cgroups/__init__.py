"""Cgroups for hako's runtime: v1 (per-controller hierarchies) and v2 (the unified tree).

``open_cgroup`` picks the implementation; ``base`` documents the lifecycle and the errors.
"""

from .base import MEMORY_UNLIMITED, CgroupError, CgroupFS, cgroup_version, open_cgroup, v1_hierarchies
from .v2 import DEVICES_ENFORCED_ON_V2, shares_to_weight



def __getattr__(name: str):
    # The Protocol is for readers and type checkers; load typing only when someone asks for it.
    if name == "Cgroup":
        from .interface import Cgroup

        return Cgroup
    raise AttributeError(name)


__all__ = [
    "Cgroup",
    "CgroupError",
    "CgroupFS",
    "DEVICES_ENFORCED_ON_V2",
    "MEMORY_UNLIMITED",
    "cgroup_version",
    "open_cgroup",
    "shares_to_weight",
    "v1_hierarchies",
]
