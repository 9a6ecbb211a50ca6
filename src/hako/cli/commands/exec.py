"""`hako exec`: run a command in a running container.

Calls: inspect the container (so "No such container" wins over other errors), create the exec,
start it hijacked (or plain with -d), resize with a TTY, stream, then read the exit code from the
exec's inspect. The request bodies are docker's (Appendix A.3-A.7 of docker-cli-trace.md).
"""

from __future__ import annotations

import os

from ..command import Command, StatusError, at_least
from ..containeropts import OptionError, environment
from ..flags import LIST, STRING, Flag
from ..optvalues import ENV
from ..session import Session


def exec_create_body(opts, command: list[str], environ) -> dict:
    detach = opts["detach"]
    env = environment(opts, environ)
    return {
        "User": opts["user"],
        "Privileged": opts["privileged"],
        "Tty": opts["tty"],
        "AttachStdin": bool(opts["interactive"] and not detach),
        "AttachStderr": not detach,
        "AttachStdout": not detach,
        "Detach": detach,
        "DetachKeys": opts["detach_keys"],
        "Env": env or None,
        "WorkingDir": opts["workdir"],
        "Cmd": command,
    }


def exec_(cli, opts, args) -> int:
    name, command = args[0], args[1:]
    client = cli.client
    try:
        body = exec_create_body(opts, command, cli.environ)
    except OptionError as exc:
        raise StatusError(1, str(exc)) from None
    client.get_json(f"/containers/{name}/json")
    if not opts["detach"] and opts["tty"] and body["AttachStdin"] and not os.isatty(cli.stdin_fd):
        raise StatusError(1, "the input device is not a TTY")
    exec_id = client.post_json(f"/containers/{name}/exec", None, body)["Id"]
    start_body = {"Detach": opts["detach"], "Tty": opts["tty"]}
    if opts["detach"]:
        client.post(f"/exec/{exec_id}/start", None, start_body)
        return 0
    sock, leftover = client.hijack(f"/exec/{exec_id}/start", None, start_body)
    session = Session(cli, sock, leftover, tty=opts["tty"], stdin=body["AttachStdin"],
                      resize_path=f"/exec/{exec_id}/resize" if os.isatty(cli.stdin_fd) else None,
                      detach_keys=opts["detach_keys"])
    if session.run():
        raise StatusError(1, "read escape sequence")
    status = client.get_json(f"/exec/{exec_id}/json").get("ExitCode")
    return int(status or 0)


EXEC = Command("[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container",
               flags=(Flag("detach", "d", help="Detached mode: run command in the background"),
                      Flag("detach-keys", None, STRING, help="Override the key sequence for detaching a container"),
                      Flag("env", "e", ENV, help="Set environment variables"),
                      Flag("env-file", None, LIST, help="Read in a file of environment variables"),
                      Flag("interactive", "i", help="Keep STDIN open even if not attached"),
                      Flag("privileged", None, help="Give extended privileges to the command"),
                      Flag("tty", "t", help="Allocate a pseudo-TTY"),
                      Flag("user", "u", STRING, help="Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
                      Flag("workdir", "w", STRING, help="Working directory inside the container")),
               args=at_least(2), action=exec_, interspersed=False,
               aliases=("container exec", "exec"))
