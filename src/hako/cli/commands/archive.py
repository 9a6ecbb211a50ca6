"""`hako save` and `hako load`: images as tar archives (docker-archive format, made and read by
the daemon).

    save IMAGE...   GET /images/get?names=…   -> -o FILE, written atomically, or stdout
    load            POST /images/load?quiet=0|1, the archive streamed as a chunked body

Checks and messages are docker 28's: no archive is written to a terminal, an -o path must be a
regular file in an existing directory, and a save that fails leaves no file behind.
"""

from __future__ import annotations

import os

from ..command import Command, StatusError, at_least, no_args
from ..flags import STRING, Flag
from ..progress import StreamFailed, display_output

def save(cli, opts, args) -> int:
    output = opts["output"]
    if not output and cli.out.isatty():
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output:
        _check_output_path(output)
    resp = cli.client.request("GET", "/images/get", {"names": list(args)})
    try:
        if output:
            _copy_to_file(resp, output)
        else:
            resp.copy_to(cli.out.fd)
    finally:
        resp.close()
    return 0


def _check_output_path(path: str) -> None:
    """docker 28's output path checks: the directory must exist; an existing path must be a
    regular file (docker names the other kinds)."""
    import stat
    directory = os.path.dirname(os.path.normpath(path))
    if directory and directory != ".":
        try:
            os.stat(directory)
        except OSError as exc:
            raise StatusError(1, f"failed to save image: invalid output path: stat {directory}: "
                              f"{_reason(exc)}") from None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StatusError(1, f"failed to save image: stat {path}: {_reason(exc)}") from None
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device file"),
             (stat.S_ISBLK, "a block device file"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISSOCK, "a socket file"))
    for is_kind, kind in kinds:
        if is_kind(mode):
            raise StatusError(1, f"failed to save image: cannot write to {kind}")


def _copy_to_file(resp, path: str) -> None:
    """Write the body to a temporary file beside ``path`` and rename it into place only once the
    whole archive arrived, so a failed save leaves nothing (docker's CopyToFile; mode 0600)."""
    import tempfile
    directory = os.path.dirname(path) or "."
    try:
        fd, temp = tempfile.mkstemp(prefix=".hako_temp_", dir=directory)
    except OSError as exc:
        raise StatusError(1, f"open {directory}/.hako_temp_: {_reason(exc)}") from None
    try:
        try:
            resp.copy_to(fd)
        finally:
            os.close(fd)
        try:
            os.rename(temp, path)
        except OSError as exc:
            raise StatusError(1, f"rename {temp} {path}: {_reason(exc)}") from None
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _reason(exc: OSError) -> str:
    """Go's spelling of an errno: "permission denied", "is a directory"."""
    return (exc.strerror or str(exc)).lower()


def load(cli, opts, args) -> int:
    path = opts["input"]
    if path:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise StatusError(1, f"open {path}: {_reason(exc)}") from None
    else:
        if os.isatty(cli.stdin_fd):
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        fd = cli.stdin_fd
    quiet = opts["quiet"] or not cli.out.isatty()
    try:
        resp = cli.client.request("POST", "/images/load", {"quiet": "1" if quiet else "0"},
                                  _chunks(fd, path or "stdin"), headers={"Content-Type": "application/x-tar"})
        try:
            if "application/json" in resp.header("content-type"):
                display_output(resp.lines(), cli.out)
            else:
                resp.copy_to(cli.out.fd)
        except StreamFailed as exc:
            raise StatusError(1, str(exc)) from None
        finally:
            resp.close()
    finally:
        if path:
            os.close(fd)
    return 0


def _chunks(fd: int, name: str, size: int = 1 << 20):
    while True:
        try:
            data = os.read(fd, size)
        except OSError as exc:
            raise StatusError(1, f"read {name}: {_reason(exc)}") from None
        if not data:
            return
        yield data


SAVE = Command("[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)",
               flags=(Flag("output", "o", STRING, help="Write to a file, instead of STDOUT"),),
               args=at_least(1), action=save, aliases=("image save", "save"))
LOAD = Command("[OPTIONS]", "Load an image from a tar archive or STDIN",
               flags=(Flag("input", "i", STRING, help="Read from tar archive file, instead of STDIN"),
                      Flag("quiet", "q", help="Suppress the load output")),
               args=no_args, action=load, aliases=("image load", "load"))
