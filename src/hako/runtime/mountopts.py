"""Translate the ``options`` of an OCI mount into mount(2) flags, propagation and fs data."""

from __future__ import annotations

from ..linux import syscalls as sc

# option -> (clear, flag): clear=True removes the flag (rw, suid, ...).
FLAGS = {
    "defaults": (False, 0),
    "ro": (False, sc.MS_RDONLY), "rw": (True, sc.MS_RDONLY),
    "nosuid": (False, sc.MS_NOSUID), "suid": (True, sc.MS_NOSUID),
    "nodev": (False, sc.MS_NODEV), "dev": (True, sc.MS_NODEV),
    "noexec": (False, sc.MS_NOEXEC), "exec": (True, sc.MS_NOEXEC),
    "sync": (False, sc.MS_SYNCHRONOUS), "async": (True, sc.MS_SYNCHRONOUS),
    "dirsync": (False, sc.MS_DIRSYNC),
    "remount": (False, sc.MS_REMOUNT),
    "mand": (False, sc.MS_MANDLOCK), "nomand": (True, sc.MS_MANDLOCK),
    "noatime": (False, sc.MS_NOATIME), "atime": (True, sc.MS_NOATIME),
    "nodiratime": (False, sc.MS_NODIRATIME), "diratime": (True, sc.MS_NODIRATIME),
    "relatime": (False, sc.MS_RELATIME), "norelatime": (True, sc.MS_RELATIME),
    "strictatime": (False, sc.MS_STRICTATIME), "nostrictatime": (True, sc.MS_STRICTATIME),
    "bind": (False, sc.MS_BIND), "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "nosymfollow": (False, sc.MS_NOSYMFOLLOW),
}
PROPAGATION = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE, "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
# Options runc accepts that only change how it prepares the mount, not mount(2) itself.
_IGNORED = {"tmpcopyup", "idmap", "ridmap"}


class MountOptions:
    def __init__(self, flags: int = 0, propagation: list[int] | None = None, data: list[str] | None = None):
        self.flags = flags
        self.propagation = propagation or []
        self.data = data or []

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & sc.MS_BIND)

    @property
    def data_string(self) -> str | None:
        return ",".join(self.data) or None


def parse(options: list[str]) -> MountOptions:
    result = MountOptions()
    for option in options:
        if option in FLAGS:
            clear, flag = FLAGS[option]
            result.flags = result.flags & ~flag if clear else result.flags | flag
        elif option in PROPAGATION:
            result.propagation.append(PROPAGATION[option])
        elif option not in _IGNORED:
            result.data.append(option)
    return result
