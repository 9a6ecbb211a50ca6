"""build (image build), commit (container commit), builder prune.

`hako build` sends the context as docker's CLI does: the directory as a tar (filtered by its
.dockerignore, which never leaves out the Dockerfile or .dockerignore itself), streamed while it
is written; `-` reads a tar or a bare Dockerfile from stdin. The output is the classic builder's,
each step's result line followed by how long the step took.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import time

from ..command import Command, StatusError, between, exactly
from ..flags import BOOL, LIST, STRING, Flag

_RESULT = re.compile(r"^ ---> ([0-9a-f]{12})\n$")
_TAR_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


# -- build ------------------------------------------------------------------------------------

def build(cli, opts, args) -> int:
    import json

    source = args[0]
    query: dict = {"t": opts["tag"] or None, "rm": "1" if opts["rm"] else "0",
                   "forcerm": "1" if opts["force_rm"] else None, "nocache": "1" if opts["no_cache"] else None,
                   "pull": "1" if opts["pull"] else None, "q": "1" if opts["quiet"] else None,
                   "target": opts["target"] or None, "networkmode": opts["network"] or None,
                   "platform": opts["platform"] or None}
    if opts["build_arg"]:
        build_args = {}
        for item in opts["build_arg"]:
            key, eq, value = item.partition("=")
            build_args[key] = value if eq else os.environ.get(key)
        query["buildargs"] = json.dumps(build_args)
    if opts["label"]:
        query["labels"] = json.dumps(dict((l.partition("=")[0], l.partition("=")[2]) for l in opts["label"]))
    if opts["cache_from"]:
        query["cachefrom"] = json.dumps(opts["cache_from"])
    body, dockerfile_name = _context(cli, source, opts["file"])
    if dockerfile_name:
        query["dockerfile"] = dockerfile_name
    resp = cli.client.request("POST", "/build", query, body, headers={"Content-Type": "application/x-tar"})
    image_id = _show(cli, resp.lines(), opts["quiet"])
    if opts["iidfile"]:
        with open(opts["iidfile"], "w") as f:
            f.write(image_id)
    return 0


def _show(cli, lines, quiet: bool) -> str:
    from hako.client import jsoncodec

    image_id = ""
    step_started = time.monotonic()
    for raw in lines:
        msg = jsoncodec.loads(raw)
        if msg.get("errorDetail") or msg.get("error"):
            message = (msg.get("errorDetail") or {}).get("message") or msg.get("error")
            raise StatusError(1, message)
        if isinstance(msg.get("aux"), dict) and msg["aux"].get("ID"):
            image_id = msg["aux"]["ID"]
            continue
        text = msg.get("stream")
        if not text:
            continue
        if quiet:
            cli.out.write(text)
            continue
        if text.startswith("Step "):
            step_started = time.monotonic()
        match = _RESULT.match(text)
        if match:
            text = f" ---> {match.group(1)} ({time.monotonic() - step_started:.2f}s)\n"
        cli.out.write(text)
        cli.out.flush() if hasattr(cli.out, "flush") else None
    return image_id


def _context(cli, source: str, dockerfile: str):
    """The request body (bytes or an iterable of chunks) and the Dockerfile's name in it."""
    if source == "-":
        if dockerfile == "-":
            raise StatusError(125, "invalid argument: can't use stdin for both build context and dockerfile")
        data = _read_all(cli.stdin_fd)
        if not data.startswith(_TAR_MAGICS) and data[257:262] != b"ustar":
            return data, ""          # a bare Dockerfile: the daemon takes it as the whole context
        return data, dockerfile
    if source.startswith(("http://", "https://", "git@", "git://", "github.com/")):
        raise StatusError(125, f"remote build contexts are not supported by hako: {source}")
    root = os.path.abspath(source)
    if not os.path.isdir(root):
        raise StatusError(1, f'unable to prepare context: path "{source}" not found')
    extra = None
    name = ""
    if dockerfile == "-":
        extra = _read_all(cli.stdin_fd)
    elif dockerfile:
        path = dockerfile if os.path.isabs(dockerfile) else (
            dockerfile if os.path.exists(dockerfile) else os.path.join(root, dockerfile))
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise StatusError(1, f"unable to prepare context: the Dockerfile ({dockerfile}) cannot be empty"
                              if os.path.exists(path) else
                              f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                              f"lstat {path}: no such file or directory")
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            with open(path, "rb") as f:
                extra = f.read()
        else:
            name = rel
    elif not os.path.exists(os.path.join(root, "Dockerfile")) and not os.path.exists(os.path.join(root, "dockerfile")):
        raise StatusError(1, f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat "
                          f"{os.path.join(root, 'Dockerfile')}: no such file or directory")
    if extra is not None:
        name = f".dockerfile.{secrets.token_hex(10)}"
    return _tar_stream(root, name or "Dockerfile", extra, name if extra is not None else ""), name


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


class _Sink:
    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _tar_stream(root: str, dockerfile: str, extra: bytes | None, extra_name: str):
    """The context directory as tar chunks, written as they are sent. Owners are root, as the
    docker CLI sends them; .dockerignore'd paths are left out."""
    import io
    import tarfile

    from hako.build import dockerignore

    rules = dockerignore.Rules([])
    ignore_path = os.path.join(root, ".dockerignore")
    if os.path.isfile(ignore_path):
        with open(ignore_path, encoding="utf-8", errors="replace") as f:
            rules = dockerignore.parse(f.read())
    always = {".dockerignore", os.path.normpath(dockerfile)}
    sink = _Sink()
    tar = tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 16)

    def add(path: str, rel: str) -> None:
        # TarInfo by hand: gettarinfo would look every owner up in /etc/passwd, for nothing
        st = os.lstat(path)
        info = tarfile.TarInfo(rel)
        info.mode, info.mtime = st.st_mode & 0o7777, int(st.st_mtime)
        if stat.S_ISREG(st.st_mode):
            info.size = st.st_size
            with open(path, "rb") as f:
                tar.addfile(info, f)
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
            tar.addfile(info)

    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        kept = []
        for name in dirnames:
            rel = os.path.join(rel_dir, name)
            if rules and rules.excluded(rel) and not rules.has_exceptions:
                continue
            if os.path.islink(os.path.join(dirpath, name)):
                if not (rules and rules.excluded(rel)):
                    add(os.path.join(dirpath, name), rel)
                continue
            kept.append(name)
            if not (rules and rules.excluded(rel)):
                add(os.path.join(dirpath, name), rel)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = os.path.join(rel_dir, name)
            if rules and rules.excluded(rel) and rel not in always:
                continue
            add(os.path.join(dirpath, name), rel)
            if len(sink.chunks) > 16:
                yield sink.take()
    if extra is not None:
        info = tarfile.TarInfo(extra_name)
        info.size, info.mode, info.mtime = len(extra), 0o600, int(time.time())
        tar.addfile(info, io.BytesIO(extra))
    tar.close()
    yield sink.take()


BUILD = Command("[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile",
                flags=(Flag("build-arg", None, LIST, help="Set build-time variables"),
                       Flag("cache-from", None, LIST, help="Images to consider as cache sources"),
                       Flag("file", "f", STRING, help="Name of the Dockerfile (Default is \"PATH/Dockerfile\")"),
                       Flag("force-rm", None, BOOL, help="Always remove intermediate containers"),
                       Flag("iidfile", None, STRING, help="Write the image ID to the file"),
                       Flag("label", None, LIST, help="Set metadata for an image"),
                       Flag("network", None, STRING, help="Set the networking mode for the RUN instructions during build"),
                       Flag("no-cache", None, BOOL, help="Do not use cache when building the image"),
                       Flag("platform", None, STRING, help="Set platform if server is multi-platform capable"),
                       Flag("pull", None, BOOL, help="Always attempt to pull a newer version of the image"),
                       Flag("quiet", "q", BOOL, help="Suppress the build output and print image ID on success"),
                       Flag("rm", None, BOOL, default=True, help="Remove intermediate containers after a successful build"),
                       Flag("tag", "t", LIST, help="Name and optionally a tag in the \"name:tag\" format"),
                       Flag("target", None, STRING, help="Set the target build stage to build.")),
                args=exactly(1), action=build, aliases=("image build", "build", "builder build"))


# -- commit -----------------------------------------------------------------------------------

def commit(cli, opts, args) -> int:
    query = {"container": args[0], "comment": opts["message"], "author": opts["author"],
             "pause": "1" if opts["pause"] else "0", "changes": opts["change"] or None}
    if len(args) > 1:
        from ..reference import normalize

        try:
            name, tag, _digest = normalize(args[1])
        except ValueError as exc:
            raise StatusError(125, f"invalid reference format: {exc}") from None
        query["repo"], query["tag"] = name, tag
    reply = cli.client.post_json("/commit", query, {}) or {}
    cli.out.write(f"{reply.get('Id', '')}\n")
    return 0


COMMIT = Command("[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
                 flags=(Flag("author", "a", STRING, help="Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
                        Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
                        Flag("message", "m", STRING, help="Commit message"),
                        Flag("pause", "p", BOOL, default=True, help="Pause container during commit")),
                 args=between(1, 2), action=commit, aliases=("container commit", "commit"))


# -- builder prune ----------------------------------------------------------------------------

def builder_prune(cli, opts, args) -> int:
    from .common import parse_filters
    from .system import _confirm, _prune_build_cache, _report

    if not opts["force"]:
        warning = ("WARNING! This will remove all build cache." if opts["all"]
                   else "WARNING! This will remove all dangling build cache.")
        if not _confirm(cli, warning):
            return 0
    reclaimed, output = _prune_build_cache(cli, parse_filters(opts["filter"]), opts["all"])
    _report(cli, reclaimed, [output])
    return 0


BUILDER_PRUNE = Command("[OPTIONS]", "Remove build cache",
                        flags=(Flag("all", "a", BOOL, help="Remove all unused build cache, not just dangling ones"),
                               Flag("filter", None, LIST, help="Provide filter values (e.g. \"until=24h\")"),
                               Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
                               Flag("keep-storage", None, STRING, help="Amount of disk space to keep for cache")),
                        args=exactly(0), action=builder_prune, aliases=("builder prune",))
