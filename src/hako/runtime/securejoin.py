"""Resolve a path inside a root directory as if that directory were ``/``.

Symlinks are followed, but an absolute link target or a ``..`` restarts or stops at the root, so
the result never leaves it (the semantics of Go's filepath-securejoin, which runc and Docker use).
The result may name a file that does not exist yet; its existing parents are all inside root.
"""

from __future__ import annotations

import errno
import os

MAX_SYMLINKS = 255


def resolve_in_scope(parts, readlink) -> list[str]:
    """The components of ``parts`` with every symlink followed inside the scope: ``readlink``
    takes the components resolved so far plus one (a tuple) and gives that entry's link target,
    or None when it is not a symlink or does not exist. An absolute target restarts at the scope's
    root, ``..`` stops there. OSError(ELOOP) after MAX_SYMLINKS links.

    The one walk behind secure_join (a host directory), a container's filesystem for cp
    (hako.containers.archive) and a build context (hako.build.sources)."""
    pending = [p for p in parts if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        target = readlink(tuple(resolved) + (part,))
        if target is None:
            resolved.append(part)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", "/".join(parts))
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p not in ("", ".")] + pending
    return resolved


def secure_join(root: str, unsafe_path: str) -> str:
    root = os.path.abspath(root)

    def readlink(candidate: tuple[str, ...]) -> str | None:
        try:
            return os.readlink(os.path.join(root, *candidate))
        except OSError:
            return None     # not a symlink (or missing): taken as it is

    try:
        resolved = resolve_in_scope(unsafe_path.split("/"), readlink)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, unsafe_path) from None
    return os.path.join(root, *resolved) if resolved else root
