"""/proc/<pid>/mountinfo (proc(5)): the mount table as the kernel writes it, for every layer that
needs to know what is mounted where (cgroup hierarchies, overlay snapshots)."""

from __future__ import annotations


class Mount:
    """One line of mountinfo, the fields hako uses."""

    __slots__ = ("mount_point", "root", "fstype", "super_options")

    def __init__(self, mount_point: str, root: str, fstype: str, super_options: tuple[str, ...]):
        self.mount_point = mount_point
        self.root = root
        self.fstype = fstype
        self.super_options = super_options

    def __eq__(self, other) -> bool:
        return isinstance(other, Mount) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self) -> str:
        return "Mount(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


def parse(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)  # optional fields (shared:N ...) end with a lone "-"
        if len(fields) < sep + 4:
            continue
        mounts.append(Mount(
            mount_point=unescape(fields[4]),
            root=unescape(fields[3]),
            fstype=fields[sep + 1],
            super_options=tuple(fields[sep + 3].split(",")),
        ))
    return mounts


def unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in paths as \040-style octal escapes.
    out, i = [], 0
    while i < len(field):
        chunk = field[i + 1:i + 4]
        if field[i] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
