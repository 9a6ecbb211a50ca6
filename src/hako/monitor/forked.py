"""Work the monitor does in a short-lived forked child, so that the monitor itself is left as it was.

Two things run this way:

- the runtime's create or exec (`in_child`): parsing the OCI config, the seccomp program and more
  would otherwise dirty pages this monitor shares with the zygote, for the container's whole life;
- bringing up `lo` in the container's network namespace (`loopback_up`): setns(2) would move the
  monitor itself into that namespace.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct

from ..linux import syscalls as sc


class ChildFailed(Exception):
    """The action in the child raised; ``kind`` is the name of the exception it raised."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def in_child(action) -> int:
    """Run ``action`` (the runtime's create or exec, returning a pid) in a short-lived child.

    The runtime parses the OCI config, the seccomp program and more; done here, all that would
    dirty pages this monitor shares with the zygote and stay for the container's whole life.
    The process it starts is reparented to us (we are its subreaper) when the child exits."""
    r, w = os.pipe2(os.O_CLOEXEC)
    child = os.fork()
    if child == 0:
        os.close(r)
        try:
            message = {"pid": action()}
        except BaseException as exc:  # noqa: BLE001 - reported to the monitor, then to hakod
            message = {"error": error_message(exc), "kind": type(exc).__name__}
        os.write(w, json.dumps(message).encode() + b"\n")
        os._exit(0)
    os.close(w)
    # Up to the newline, not EOF: the container's init holds a copy of the write end until it
    # execs (the end is close-on-exec), and it does not exec before `start`.
    chunks = []
    while (chunk := os.read(r, 65536)) and not chunk.endswith(b"\n"):
        chunks.append(chunk)
    chunks.append(chunk)
    os.close(r)
    os.waitpid(child, 0)
    try:
        message = json.loads(b"".join(chunks))
    except ValueError:
        raise ChildFailed("the runtime's child died without a word", "SystemError") from None
    if "error" in message:
        raise ChildFailed(message["error"], message["kind"])
    return message["pid"]


def loopback_up(pid: int) -> None:
    """Bring up `lo` in the process's new network namespace (what CNI's loopback plugin does)."""
    child = os.fork()
    if child == 0:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            sc.setns(fd, sc.CLONE_NEWNET)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                ifreq = struct.pack("16sH14x", b"lo", 0)
                flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifreq))[1]   # SIOCGIFFLAGS
                fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1))   # SIOCSIFFLAGS, IFF_UP
            os._exit(0)
        except BaseException:  # noqa: BLE001 - the child must never return into the monitor
            os._exit(1)
    _, status = os.waitpid(child, 0)
    if status != 0:
        raise OSError("could not bring up the loopback interface")


def error_message(exc: BaseException) -> str:
    """What to tell hakod about a failure: the exception's text, or its type if it has none."""
    return str(exc) or type(exc).__name__
