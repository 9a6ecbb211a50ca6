"""`hako cp`: files between a container and the host, as `docker cp` copies them.

    hako cp web:/etc/hosts ./hosts        GET /containers/web/archive?path=/etc/hosts, then untar
    hako cp ./dir web:/srv/               HEAD the destination, then PUT a tar into its directory
    hako cp web:/etc - > etc.tar          the daemon's tar as it is, on stdout
    tar c x | hako cp - web:/tmp          a tar from stdin, extracted into /tmp

Destination rules are docker's (archive.CopyTo / PrepareArchiveCopy): into an existing
directory the source keeps its name; otherwise it takes the destination's name; a path ending
in "/." copies a directory's contents. What the daemon sends is extracted below the destination
only: names that are absolute or climb with "..", and entries under a symlink, are refused.
"""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import tarfile

from ..command import Command, StatusError, exactly
from ..flags import Flag
from ..units import human_size

GO_SYMLINK = 1 << 27
GO_DIR = 1 << 31


def _split(arg: str) -> tuple[str, str]:
    """``container:path`` -> (container, path); a local path gives ("", path). As docker, a
    path that starts with "/" or "." is local even with a colon in it."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return "", arg
    container, _, path = arg.partition(":")
    return container, path


def cp(cli, opts, args) -> int:
    src, dst = args
    src_container, src_path = _split(src)
    dst_container, dst_path = _split(dst)
    if src_container and dst_container:
        raise StatusError(1, "copying between containers is not supported")
    if not src_container and not dst_container:
        raise StatusError(1, "must specify at least one container source")
    if not (src_path if src_container else dst_path):
        raise StatusError(1, "filepath cannot be empty")
    if src_container:
        return _from_container(cli, opts, src_container, src_path, dst_path)
    return _to_container(cli, opts, src_path, dst_container, dst_path)


def _stat(cli, container: str, path: str) -> dict:
    resp = cli.client.request("HEAD", f"/containers/{container}/archive", {"path": path})
    resp.read()
    return json.loads(base64.urlsafe_b64decode(resp.header("X-Docker-Container-Path-Stat") or "e30="))


def _done(cli, opts, size: int, where: str) -> None:
    # docker 24+ reports the copy on stderr when stderr is a terminal (and not -q)
    if not opts["quiet"] and cli.err.isatty():
        cli.err.write(f"Successfully copied {human_size(size)} to {where}\n")


# -- container -> host ------------------------------------------------------------------------

def _from_container(cli, opts, container: str, src_path: str, dst_path: str) -> int:
    if opts["follow_link"]:
        stat_ = _stat(cli, container, src_path)
        if stat_.get("mode", 0) & GO_SYMLINK and stat_.get("linkTarget"):
            src_path = stat_["linkTarget"]
    resp = cli.client.request("GET", f"/containers/{container}/archive", {"path": src_path})
    src_stat = json.loads(base64.urlsafe_b64decode(resp.header("X-Docker-Container-Path-Stat") or "e30="))
    counted = _Counting(resp)
    if dst_path == "-":
        while data := counted.read(1 << 16):
            cli.out.write_bytes(data)
        return 0
    src_name = src_stat.get("name") or os.path.basename(src_path.rstrip("/")) or "."
    src_is_dir = bool(src_stat.get("mode", 0) & GO_DIR)
    try:
        dst_st = os.stat(dst_path)
    except FileNotFoundError:
        dst_st = None
    except OSError as exc:
        raise StatusError(1, f"{exc.strerror}: {dst_path}") from None
    if dst_st is not None and stat.S_ISDIR(dst_st.st_mode):
        into, rename = dst_path, None            # keeps its name (or "." for contents)
    elif dst_st is not None:
        if src_is_dir:
            raise StatusError(1, "cannot copy a directory to a file")
        into, rename = os.path.dirname(os.path.abspath(dst_path)), os.path.basename(dst_path)
    else:
        if dst_path.endswith("/") and not src_is_dir:
            raise StatusError(1, f"destination directory \"{dst_path}\" must exist: no such directory")
        parent = os.path.dirname(os.path.abspath(dst_path.rstrip("/")))
        if not os.path.isdir(parent):
            raise StatusError(1, f"lstat {parent}: no such file or directory")
        into, rename = parent, os.path.basename(dst_path.rstrip("/"))
    _extract(counted, into, src_name, rename)
    _done(cli, opts, counted.count, dst_path)
    return 0


class _Counting:
    def __init__(self, resp) -> None:
        self.resp, self.count, self.buffer = resp, 0, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            more = self.resp.read_some()
            if not more:
                break
            self.buffer += more
        if n < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:n], self.buffer[n:]
        self.count += len(data)
        return data


class _HostTar(tarfile.TarFile):
    """Files land owned by whoever runs the copy, as docker's CLI extracts (archive.CopyTo,
    NoLchown), with -a or without."""

    def chown(self, tarinfo, targetpath, numeric_owner):
        return None


def _safe_parts(name: str) -> list[str]:
    if name.startswith("/") or "\0" in name:
        raise StatusError(1, f"invalid archive entry {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise StatusError(1, f"invalid archive entry {name!r}: it climbs out with '..'")
    return parts


def _extract(stream, into: str, src_name: str, rename: str | None) -> None:
    with _HostTar.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            parts = _safe_parts(member.name)
            if rename is not None and parts and parts[0] == src_name:
                parts[0] = rename
            if not parts:
                continue
            if member.islnk():
                link = _safe_parts(member.linkname)
                if rename is not None and link and link[0] == src_name:
                    link[0] = rename
                member.linkname = "/".join(link)
            _refuse_symlinked_parents(into, parts[:-1])
            member.name = "/".join(parts)
            target = os.path.join(into, *parts)
            if os.path.lexists(target) and not os.path.isdir(target) or (os.path.islink(target)):
                os.unlink(target)
            tar.extract(member, into, set_attrs=True, numeric_owner=True)


def _refuse_symlinked_parents(into: str, parents: list[str]) -> None:
    path = into
    for part in parents:
        path = os.path.join(path, part)
        if os.path.islink(path):
            raise StatusError(1, f"refusing to extract through the symlink {path}")


# -- host -> container ------------------------------------------------------------------------

def _to_container(cli, opts, src_path: str, container: str, dst_path: str) -> int:
    from hako.client.errors import NotFound

    dst_stat = None
    try:
        dst_stat = _stat(cli, container, dst_path)
        if dst_stat.get("mode", 0) & GO_SYMLINK and dst_stat.get("linkTarget"):
            dst_path = dst_stat["linkTarget"]
            dst_stat = _stat(cli, container, dst_path)
    except NotFound:
        dst_stat = None
    dst_is_dir = bool(dst_stat and dst_stat.get("mode", 0) & GO_DIR)
    query = {"path": "", "noOverwriteDirNonDir": "true"}
    if opts["archive"]:
        query["copyUIDGID"] = "true"
    if src_path == "-":
        if not dst_is_dir:
            raise StatusError(1, f'destination "{container}:{dst_path}" must be a directory')
        query["path"] = dst_path
        body = _chunks(cli.stdin_fd)
        cli.client.request("PUT", f"/containers/{container}/archive", query, body).read()
        return 0
    try:
        src_st = os.stat(src_path) if opts["follow_link"] else os.lstat(src_path)
    except OSError as exc:
        raise StatusError(1, f"lstat {src_path}: {(exc.strerror or '').lower()}") from None
    src_is_dir = stat.S_ISDIR(src_st.st_mode)
    contents_only = src_path.endswith("/.")
    base = os.path.basename(os.path.normpath(src_path)) if not contents_only else "."
    if dst_is_dir:
        put_dir, name = dst_path, base
    elif dst_stat is not None:
        if src_is_dir:
            raise StatusError(1, "cannot copy a directory to a file")
        put_dir, name = os.path.dirname(dst_path.rstrip("/")) or "/", os.path.basename(dst_path)
    else:
        if dst_path.endswith("/") and not src_is_dir:
            raise StatusError(1, f'destination "{container}:{dst_path}" must be a directory')
        put_dir, name = os.path.dirname(dst_path.rstrip("/")) or "/", os.path.basename(dst_path.rstrip("/"))
    data = _tar_of(src_path, name, opts["follow_link"])
    query["path"] = put_dir
    cli.client.request("PUT", f"/containers/{container}/archive", query, data).read()
    _done(cli, opts, len(data), f"{container}:{dst_path}")
    return 0


def _tar_of(src_path: str, name: str, follow: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, dereference=follow) as tar:
        tar.add(src_path.rstrip("/") if not src_path.endswith("/.") else src_path[:-2] or "/", arcname=name,
                filter=_whole_seconds)
        end = tar.offset + 2 * tarfile.BLOCKSIZE
    # Go's archive/tar ends after the two zero blocks; tarfile pads to a 10 KiB record.
    return buffer.getvalue()[:end]


def _whole_seconds(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # A fractional mtime costs a PAX header per entry; docker's archives carry whole seconds.
    info.mtime = int(info.mtime)
    return info


def _chunks(fd: int):
    while data := os.read(fd, 1 << 16):
        yield data


CP = Command("[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\thako cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
             "Copy files/folders between a container and the local filesystem",
             flags=(Flag("archive", "a", help="Archive mode (copy all uid/gid information)"),
                    Flag("follow-link", "L", help="Always follow symbol link in SRC_PATH"),
                    Flag("quiet", "q", help="Suppress progress output during copy. Progress output is "
                                            "automatically suppressed if no terminal is attached")),
             args=exactly(2), action=cp, aliases=("container cp", "cp"))
