"""Names inside layer archives: which are acceptable, and what the OCI whiteout names mean.

A tar member's name is untrusted text. It is turned into a tuple of path components relative to
the layer's root, or rejected:

    split_member_name("./usr/bin/sh")   -> ("usr", "bin", "sh")
    split_member_name("./")             -> ()                      # the root itself
    split_member_name("../etc/passwd")  -> LayerError
    split_member_name("/etc/passwd")    -> LayerError

Docker's own extractor quietly re-roots ``..`` and absolute names; hako rejects them instead,
because no tool that writes image layers produces them and an archive that contains one is either
broken or an attack. Components are then opened one by one below the root without following
symlinks (see safefs), so these checks are the first of two fences, not the only one.

OCI whiteouts (image-spec layer.md) mark deletions in a layer tar:

    a/.wh.b          "b" in directory "a" is deleted in this layer
    a/.wh..wh..opq   directory "a" is opaque: nothing from the layers below shows through
"""

from __future__ import annotations

from .errors import LayerError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Other ".wh..wh." names are AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs) that Docker skips too.
AUFS_META_PREFIX = ".wh..wh."


def split_member_name(name: str) -> tuple[str, ...]:
    """The components of a member name below the archive root; LayerError if it could escape."""
    if "\0" in name:
        raise LayerError(f"archive path {name!r} contains NUL")
    if name.startswith("/"):
        raise LayerError(f"archive path {name!r} is absolute")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise LayerError(f"archive path {name!r} climbs out with '..'")
    return parts


def whiteout_target(component: str) -> str | None:
    """For ".wh.<name>", the deleted <name>; None if ``component`` is not a plain whiteout."""
    if not component.startswith(WHITEOUT_PREFIX) or component.startswith(AUFS_META_PREFIX):
        return None
    target = component[len(WHITEOUT_PREFIX):]
    if target in ("", ".", ".."):
        raise LayerError(f"archive path {component!r} is a whiteout of nothing")
    return target


def is_opaque_marker(component: str) -> bool:
    return component == OPAQUE_MARKER


def is_aufs_meta(component: str) -> bool:
    """AUFS metadata names (``.wh..wh.plnk``…), ignored on apply; the opaque marker is not one."""
    return component.startswith(AUFS_META_PREFIX) and component != OPAQUE_MARKER
