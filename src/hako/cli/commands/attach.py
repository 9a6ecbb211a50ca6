"""`hako attach`: connect the terminal to a running container's main process.

Calls, as docker makes them: wait (held open), inspect (state check), attach (hijacked), inspect
again (the container may have stopped meanwhile), and with a TTY a resize nudge (h+1, w+1, then
h, w) so the application redraws. The detach keys end the session with "read escape sequence"
and status 1; otherwise the status is the container's.
"""

from __future__ import annotations

import os

from ..command import Command, StatusError, exactly
from ..flags import BOOL, STRING, Flag
from ..session import Session, attach_query


def check_state(info: dict) -> None:
    state = info.get("State") or {}
    if not state.get("Running"):
        raise StatusError(1, "You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise StatusError(1, "You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise StatusError(1, "You cannot attach to a restarting container, wait until it is running")


def attach(cli, opts, args) -> int:
    from .attached import wait_status

    name = args[0]
    client = cli.client
    waiter = client.send("POST", f"/containers/{name}/wait")
    try:
        info = client.get_json(f"/containers/{name}/json")
        check_state(info)
        config = info.get("Config") or {}
        tty = bool(config.get("Tty"))
        if tty and not opts["no_stdin"] and not os.isatty(cli.stdin_fd):
            raise StatusError(1, "the input device is not a TTY")
        stdin = bool(not opts["no_stdin"] and config.get("OpenStdin"))
        sock, leftover = client.hijack(f"/containers/{name}/attach",
                                       attach_query(stdin, True, True, opts["detach_keys"]))
        try:
            check_state(client.get_json(f"/containers/{name}/json"))
        except BaseException:
            sock.close()
            raise
    except BaseException:
        waiter.close()
        raise
    resize = f"/containers/{name}/resize" if tty and cli.out.isatty() else None
    session = Session(cli, sock, leftover, tty=tty, stdin=stdin, resize_path=resize,
                      kill_path=f"/containers/{name}/kill" if opts["sig_proxy"] and not tty else None,
                      detach_keys=opts["detach_keys"], nudge=True)
    if session.run():
        waiter.close()
        raise StatusError(1, "read escape sequence")
    return wait_status(cli, waiter)


ATTACH = Command("[OPTIONS] CONTAINER",
                 "Attach local standard input, output, and error streams to a running container",
                 flags=(Flag("detach-keys", None, STRING, help="Override the key sequence for detaching a container"),
                        Flag("no-stdin", None, help="Do not attach STDIN"),
                        Flag("sig-proxy", None, BOOL, default=True, help="Proxy all received signals to the process")),
                 args=exactly(1), action=attach, aliases=("container attach", "attach"))
