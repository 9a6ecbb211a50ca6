"""`hako export` (a container's filesystem as a tar) and `hako diff` (its changed paths)."""

from __future__ import annotations

import os

from ..command import Command, StatusError, exactly
from ..flags import STRING, Flag

_CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}


def export(cli, opts, args) -> int:
    output = opts["output"]
    if not output and cli.out.isatty():
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    resp = cli.client.request("GET", f"/containers/{args[0]}/export")
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if output else cli.out.fd
    try:
        resp.copy_to(fd)
    finally:
        if output:
            os.close(fd)
        resp.close()
    return 0


def diff(cli, opts, args) -> int:
    changes = cli.client.get_json(f"/containers/{args[0]}/changes") or []
    cli.out.write("".join(f"{_CHANGE_KINDS.get(c.get('Kind'), '?')} {c.get('Path', '')}\n"
                          for c in changes))
    return 0


EXPORT = Command("[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
                 flags=(Flag("output", "o", STRING, help="Write to a file, instead of STDOUT"),),
                 args=exactly(1), action=export, aliases=("container export", "export"))
DIFF = Command("CONTAINER", "Inspect changes to files or directories on a container's filesystem",
               args=exactly(1), action=diff, aliases=("container diff", "diff"))
