"""How overlayfs marks deletions on disk (Documentation/filesystems/overlayfs.rst, "whiteouts and
opaque directories"), which differs from how OCI layer tars mark them (see tarpath):

    deleted entry     a character device 0:0 with the deleted name        (tar: .wh.<name>)
    opaque directory  a directory with xattr trusted.overlay.opaque="y"   (tar: .wh..wh..opq inside it)

Both only work in a filesystem that allows trusted.* xattrs and whiteout mknod, i.e. as root.
"""

from __future__ import annotations

import errno
import os
import stat

OPAQUE_XATTR = "trusted.overlay.opaque"
# Names of the xattrs overlayfs keeps for itself (redirects, origins, metacopy…). An archive must
# never set them: a forged redirect or origin would make the kernel look outside the layer.
RESERVED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


def make_whiteout(dir_fd: int, name: str) -> None:
    os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=dir_fd)


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def set_opaque(dir_fd: int) -> None:
    os.setxattr(dir_fd, OPAQUE_XATTR, b"y")


def is_opaque(path_or_fd: str | int) -> bool:
    """Is this directory opaque? ``path_or_fd`` must name a directory, not a symlink to one."""
    try:
        follow = isinstance(path_or_fd, int)   # os refuses follow_symlinks=False with an fd
        return os.getxattr(path_or_fd, OPAQUE_XATTR, follow_symlinks=follow) == b"y"
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
            return False
        raise


def is_reserved_xattr(name: str) -> bool:
    return name.startswith(RESERVED_XATTR_PREFIXES)
