"""COPY and ADD: which files a step takes, what digest they have, and the layer tar they make.

    plan = plan_copy(source, ["src/", "*.txt"], "/app/", image_view, is_add=False, excluded=...)
    plan.digest                    # content and metadata of every source file, no timestamps
    write_layer(plan, out, source, image_view, owner=(0, 0), chmod=None)

Docker's rules: a directory source copies its contents; several sources (or a wildcard) need a
destination directory ending in "/"; a single file goes to the destination path, or into it
when it ends in "/" or is a directory in the image; ADD unpacks local tar archives. Source paths
never leave the source (sources.py): `..` and absolute paths are taken inside it, symlinks
resolved in it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass, field

from ..errdefs import InvalidArgument, NotFound
from ..runtime.securejoin import secure_join
from .sources import DIR, FILE, LINK, Node, Source, resolve
from .tarstream import TarStream

_WILDCARD = set("*?[")


@dataclass
class Entry:
    dest: str               # image path without the leading "/"
    node: Node
    src: str = ""           # the source path of a file, to read it from


@dataclass
class CopyPlan:
    entries: list[Entry] = field(default_factory=list)
    archives: list[tuple[str, str]] = field(default_factory=list)   # (source tar, dest dir) for ADD
    digest: str = ""
    summary: str = ""        # file:<hex>, dir:<hex> or multi:<hex>, as history shows it


class ImageView:
    """Read-only questions about the destination image: does a path exist, is it a directory."""

    def __init__(self, lower_dirs: list[str]):
        self.lower_dirs = lower_dirs

    def lstat(self, rel: str) -> os.stat_result | None:
        rel = rel.strip("/")
        if not rel:
            return None
        for lower in self.lower_dirs:
            try:
                # the image's own symlinks are followed inside the layer, never out to the host
                st = os.lstat(secure_join(lower, rel))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                return None          # a whiteout
            return st
        return None

    def is_dir(self, rel: str) -> bool:
        st = self.lstat(rel)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def read(self, rel: str) -> str:
        for lower in self.lower_dirs:
            path = secure_join(lower, rel)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    return f.read()
        return ""


def has_wildcard(path: str) -> bool:
    return any(ch in _WILDCARD for ch in path)


def _expand(source: Source, pattern: str) -> list[str]:
    """Source paths matching ``pattern`` (Go's filepath.Match per path component)."""
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    found = [""]
    for part in parts:
        nxt = []
        for base in found:
            if not has_wildcard(part):
                nxt.append(posixpath.join(base, part))
                continue
            names = source.listdir(resolve(source, base))
            nxt.extend(posixpath.join(base, n) for n in names if fnmatch.fnmatchcase(n, part))
        found = nxt
    return [f for f in found if source.lstat(resolve(source, f)) is not None]


def plan_copy(source: Source, sources: list[str], dest: str, view: ImageView, *, is_add: bool,
              excluded=lambda rel: False, cmd: str = "COPY", read_content: bool = True) -> CopyPlan:
    """``read_content=False`` digests names, modes and sizes only: for a source whose identity
    is known otherwise (COPY --from an image id), reading every byte would buy nothing."""
    plan = CopyPlan()
    hash_file = _hash_file if read_content else _hash_metadata
    dest_is_dir = dest.endswith("/")
    matched: list[str] = []
    for pattern in sources:
        if is_add and pattern.startswith(("http://", "https://")):
            raise InvalidArgument(f"ADD failed: fetching {pattern} is not supported: hako builds without network "
                                  "access to remote sources; download it into the build context and ADD it from there")
        clean = posixpath.normpath("/" + pattern).lstrip("/")
        if has_wildcard(clean):
            hits = [h for h in _expand(source, clean) if not excluded(h)]
            if not hits:
                raise NotFound(f"{cmd} failed: no source files were specified")
            matched.extend(hits)
            continue
        if source.lstat(resolve(source, clean)) is None or (clean and excluded(clean)):
            raise NotFound(f"{cmd} failed: file not found in build context or excluded by .dockerignore: "
                           f"stat {pattern}: file does not exist")
        matched.append(clean)
    if len(matched) > 1 and not dest_is_dir:
        raise InvalidArgument(f"When using {cmd} with more than one source file, the destination must be a directory and end with a /")
    dest_rel = posixpath.normpath(dest).strip("/")
    if dest_rel == ".":
        dest_rel = ""
    digest = hashlib.sha256()
    kinds = set()
    for rel in matched:
        real = resolve(source, rel)
        node = source.lstat(real)
        if node.kind == DIR:
            kinds.add("dir")
            _add_tree(plan, source, rel, real, dest_rel, digest, excluded, hash_file)
        elif is_add and _is_archive(source, real):
            kinds.add("file")
            plan.archives.append((real, dest_rel))
            hash_file(digest, "archive:" + rel, source, real, node)
        else:
            kinds.add("file")
            into_dir = dest_is_dir or not dest_rel or view.is_dir(dest_rel)
            target = posixpath.join(dest_rel, posixpath.basename(rel) or "file") if into_dir else dest_rel
            plan.entries.append(Entry(target, node, real))
            hash_file(digest, target, source, real, node)
    plan.digest = "sha256:" + digest.hexdigest()
    kind = "multi" if len(matched) > 1 else (kinds.pop() if kinds else "file")
    plan.summary = f"{kind}:{digest.hexdigest()}"
    return plan


def _add_tree(plan: CopyPlan, source: Source, rel: str, real: str, dest_rel: str, digest, excluded,
              hash_file) -> None:
    """A directory source: its contents (not itself) land in the destination directory."""
    if dest_rel:
        plan.entries.append(Entry(dest_rel, source.lstat(real)))
    stack = [""]
    while stack:
        sub = stack.pop()
        directory = posixpath.join(real, sub) if sub else real
        names = source.listdir(directory)
        subdirs = []
        for name in names:
            child_sub = posixpath.join(sub, name) if sub else name
            if excluded(posixpath.join(rel, child_sub)):
                continue
            node = source.lstat(posixpath.join(directory, name))
            if node is None:
                continue
            target = posixpath.join(dest_rel, child_sub)
            if node.kind == LINK:
                plan.entries.append(Entry(target, node))
                digest.update(f"L {target} {node.link}\0".encode())
            elif node.kind == DIR:
                plan.entries.append(Entry(target, node))
                digest.update(f"D {target} {node.mode:o}\0".encode())
                subdirs.append(child_sub)
            elif node.kind == FILE:
                src = posixpath.join(directory, name)
                plan.entries.append(Entry(target, node, src))
                hash_file(digest, target, source, src, node)
        stack.extend(reversed(subdirs))


def _hash_file(digest, target: str, source: Source, rel: str, node: Node) -> None:
    digest.update(f"F {target} {node.mode:o} {node.size}\0".encode())
    with source.open(rel) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)


def _hash_metadata(digest, target: str, _source: Source, _rel: str, node: Node) -> None:
    digest.update(f"F {target} {node.mode:o} {node.size}\0".encode())


def _is_archive(source: Source, rel: str) -> bool:
    try:
        with source.open(rel) as f:
            return _looks_like_tar(f.read(512))
    except OSError:
        return False


def _looks_like_tar(head: bytes) -> bool:
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def write_layer(plan: CopyPlan, out, source: Source, view: ImageView, owner: tuple[int, int] | None,
                chmod: int | None) -> None:
    """The COPY's layer: parent directories (with the image's metadata where they exist), then
    the entries, then unpacked archives."""
    uid, gid = owner if owner is not None else (0, 0)
    written: set[str] = set()
    tar = TarStream(out)

    def parents(rel: str) -> None:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d in written:
                continue
            written.add(d)
            existing = view.lstat(d)
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                tar.entry(d, tarfile.DIRTYPE, stat.S_IMODE(existing.st_mode), existing.st_uid, existing.st_gid,
                          int(existing.st_mtime))
            else:
                tar.entry(d, tarfile.DIRTYPE, 0o755, uid, gid, 0)

    for entry in plan.entries:
        if not entry.dest:
            continue
        if entry.dest not in written:
            parents(entry.dest)
        node = entry.node
        mtime = max(int(node.mtime), 0)
        if node.kind == LINK:
            tar.entry(entry.dest, tarfile.SYMTYPE, 0o777, uid, gid, mtime, linkname=node.link)
        elif node.kind == DIR:
            tar.entry(entry.dest, tarfile.DIRTYPE, chmod if chmod is not None else node.mode, uid, gid, mtime)
        else:
            with source.open(entry.src) as f:
                tar.entry(entry.dest, tarfile.REGTYPE, chmod if chmod is not None else node.mode, uid, gid, mtime,
                          size=node.size, fileobj=f)
        written.add(entry.dest)
    for archive, dest_rel in plan.archives:
        if dest_rel:
            parents(dest_rel + "/x")
        with source.open(archive) as f:
            _copy_archive(tar, f, dest_rel)
    tar.close()


def _copy_archive(tar: TarStream, fileobj, dest_rel: str) -> None:
    """ADD of a local archive: its entries under the destination, unsafe names refused."""
    with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
        for member in archive:
            name = member.name
            if name.startswith("/") or ".." in name.split("/"):
                raise InvalidArgument(f"ADD failed: archive entry {name!r} points outside the destination")
            clean = posixpath.normpath(name).lstrip("/")
            if clean in (".", "") or member.isdev():
                continue
            member.name = posixpath.join(dest_rel, clean) if dest_rel else clean
            if member.islnk():
                member.linkname = posixpath.join(dest_rel, posixpath.normpath(member.linkname).lstrip("/"))
            tar.add(member, archive.extractfile(member) if member.isreg() else None)


def resolve_owner(spec: str, view: ImageView) -> tuple[int, int]:
    """`--chown=user:group` by number or by name in the image's /etc/passwd and /etc/group."""
    user, _, group = spec.partition(":")
    uid = _lookup(user, view.read("etc/passwd"), "user")
    if group:
        gid = _lookup(group, view.read("etc/group"), "group")
    elif user.isdigit():
        gid = uid
    else:
        gid = _primary_gid(user, view.read("etc/passwd"))
    return uid, gid


def _lookup(name: str, table: str, what: str) -> int:
    if name.isdigit():
        return int(name)
    for line in table.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name:
            return int(fields[2])
    raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find {'uid' if what == 'user' else 'gid'} "
                          f"for {what} {name}: no such {what}: {name}")


def _primary_gid(user: str, passwd: str) -> int:
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == user:
            return int(fields[3])
    return 0
