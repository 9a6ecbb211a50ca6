"""Work the monitor does in a short-lived forked child, so that the monitor itself is left as it was.

The runtime's create or exec (`in_child`) runs this way: parsing the OCI config, the seccomp
program and more would otherwise dirty pages this monitor shares with the zygote, for the
container's whole life.
"""

from __future__ import annotations

import json
import os



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


def error_message(exc: BaseException) -> str:
    """What to tell hakod about a failure: the exception's text, or its type if it has none."""
    return str(exc) or type(exc).__name__
