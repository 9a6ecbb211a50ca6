"""Resolve a path inside a root directory as if that directory were ``/``.

Symlinks are followed, but an absolute link target or a ``..`` restarts or stops at the root, so
the result never leaves it (the semantics of Go's filepath-securejoin, which runc and Docker use).
The result may name a file that does not exist yet; its existing parents are all inside root.
"""

from __future__ import annotations

import os

MAX_SYMLINKS = 255


def secure_join(root: str, unsafe_path: str) -> str:
    root = os.path.abspath(root)
    pending = [p for p in unsafe_path.split("/") if p]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:
            # Not a symlink (or missing): take the component as it is.
            resolved.append(part)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(40, "too many levels of symbolic links", unsafe_path)
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return os.path.join(root, *resolved) if resolved else root
