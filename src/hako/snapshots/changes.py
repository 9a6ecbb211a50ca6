"""What a container changed in its root filesystem (`docker diff`), read from its upper directory.

Everything in an overlay's upper directory is a change:

    upper entry                               kind
    a whiteout (char device 0:0)              DELETED
    anything else, present in the lowers      MODIFIED   (copied up, or replaced)
    anything else, absent from the lowers     ADDED

An opaque directory hides everything below it in the lowers, so what the lowers had there and
the upper does not is reported DELETED as well (Docker reports the opaque directory itself as
deleted and its contents as added; hako says what actually happened to each path).

"Present in the lowers" means visible in the merged view of the read-only layers: a path hidden
by a whiteout or an opaque directory in a higher layer does not count.
"""

from __future__ import annotations

import os
import stat

from . import overlayfmt
from .safefs import DIR_FLAGS, proc_path
from .walk import walk_tree

MODIFIED, ADDED, DELETED = 0, 1, 2


def upper_changes(upper: str, lowers: list[str]) -> list[tuple[str, int]]:
    """(path, kind) for every change recorded in ``upper`` over ``lowers`` (top first), sorted."""
    changes: list[tuple[str, int]] = []
    upper_fd = os.open(upper, DIR_FLAGS)
    try:
        for entry in walk_tree(upper_fd):
            path = "/" + entry.path
            if overlayfmt.is_whiteout(entry.st):
                if lower_entry(lowers, entry.parts) is not None:
                    changes.append((path, DELETED))
                continue
            in_lowers = lower_entry(lowers, entry.parts) is not None
            changes.append((path, MODIFIED if in_lowers else ADDED))
            if (in_lowers and stat.S_ISDIR(entry.st.st_mode)
                    and overlayfmt.is_opaque(proc_path(entry.dir_fd, entry.name))):
                hidden = set(lower_names(lowers, entry.parts)) - set(_list_dir(entry.dir_fd, entry.name))
                changes.extend((f"{path}/{name}", DELETED) for name in hidden)
    finally:
        os.close(upper_fd)
    return sorted(changes)


def lower_entry(lowers: list[str], parts: tuple[str, ...]) -> os.stat_result | None:
    """The lstat of ``parts`` as the merged read-only layers show it, or None if not visible.

    Resolves the way overlayfs does: walk down one component at a time, keeping the layers whose
    copy of the current directory is a real directory; a whiteout, a non-directory or an opaque
    directory in a layer hides the layers below it. Only real directories are ever descended into,
    so no symlink inside a layer is followed.
    """
    layers = [(layer, "") for layer in lowers]   # (layer dir, relative path in it) still in view
    for i, name in enumerate(parts):
        last = i == len(parts) - 1
        next_layers = []
        for layer, rel in layers:
            path = os.path.join(layer, rel, name)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if overlayfmt.is_whiteout(st):
                break
            if last:
                return st
            if not stat.S_ISDIR(st.st_mode):
                break
            next_layers.append((layer, os.path.join(rel, name)))
            if overlayfmt.is_opaque(path):
                break
        if not next_layers:
            return None
        layers = next_layers
    return None


def lower_names(lowers: list[str], parts: tuple[str, ...]) -> list[str]:
    """Names visible in the directory ``parts`` of the merged read-only layers."""
    names: set[str] = set()
    hidden: set[str] = set()
    for layer in _layers_showing_dir(lowers, parts):
        for name in os.listdir(os.path.join(layer, *parts)):
            if name in names or name in hidden:
                continue
            if overlayfmt.is_whiteout(os.lstat(os.path.join(layer, *parts, name))):
                hidden.add(name)
            else:
                names.add(name)
    return sorted(names)


def _list_dir(parent_fd: int, name: str) -> list[str]:
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        return []
    try:
        return os.listdir(fd)
    finally:
        os.close(fd)


def _layers_showing_dir(lowers: list[str], parts: tuple[str, ...]) -> list[str]:
    """The layers, top first, whose copy of directory ``parts`` shows in the merged view."""
    layers = list(lowers)
    for depth in range(len(parts) + 1):
        rel = parts[:depth]
        showing = []
        for layer in layers:
            path = os.path.join(layer, *rel)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            showing.append(layer)
            if depth > 0 and overlayfmt.is_opaque(path):
                break
        layers = showing
    return layers
