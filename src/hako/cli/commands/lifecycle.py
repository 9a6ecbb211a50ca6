"""Container lifecycle commands that act on one or more containers by name:
stop, restart, kill, pause, unpause, rm, wait, rename.

Each sends one call per container, prints the name as given on success, and reports failures one
per line ("Error response from daemon: …") with status 1 at the end, as docker does.
"""

from __future__ import annotations

from hako.client.errors import APIError, NotFound

from ..command import Command, StatusError, at_least, exactly
from ..flags import INT, STRING, Flag
from .common import finish, for_each


def _stop_query(cli, opts) -> dict | None:
    query = {}
    # The signal parameter exists from API 1.42; docker's client drops it for older daemons.
    if opts["signal"] and cli.client.version_at_least("1.42"):
        query["signal"] = opts["signal"]
    if opts["timeout"] is not None:
        query["t"] = str(opts["timeout"])
    return query or None


def stop(cli, opts, args) -> int:
    query = _stop_query(cli, opts)
    return finish(for_each(cli, args, lambda n: cli.client.post(f"/containers/{n}/stop", query)))


def restart(cli, opts, args) -> int:
    query = _stop_query(cli, opts)
    return finish(for_each(cli, args, lambda n: cli.client.post(f"/containers/{n}/restart", query)))


def kill(cli, opts, args) -> int:
    query = {"signal": opts["signal"]} if opts["signal"] else None
    return finish(for_each(cli, args, lambda n: cli.client.post(f"/containers/{n}/kill", query)))


def pause(cli, opts, args) -> int:
    return finish(for_each(cli, args, lambda n: cli.client.post(f"/containers/{n}/pause")))


def unpause(cli, opts, args) -> int:
    return finish(for_each(cli, args, lambda n: cli.client.post(f"/containers/{n}/unpause")))


def rm(cli, opts, args) -> int:
    query = {}
    if opts["force"]:
        query["force"] = "1"
    if opts["volumes"]:
        query["v"] = "1"
    if opts["link"]:
        query["link"] = "1"
    errors = []
    for name in args:
        try:
            cli.client.delete(f"/containers/{name.strip('/')}", query or None)
        except NotFound as exc:
            message = f"Error response from daemon: {exc.message}"
            if opts["force"]:
                cli.err.write(message + "\n")  # reported, but not a failure with -f
            else:
                errors.append(message)
            continue
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
            continue
        cli.out.write(name + "\n")
    return finish(errors)


def wait(cli, opts, args) -> int:
    errors = []
    for name in args:
        try:
            result = cli.client.post_json(f"/containers/{name}/wait")
        except APIError as exc:
            errors.append(f"Error response from daemon: {exc.message}")
            continue
        cli.out.write(f"{result.get('StatusCode', 0)}\n")
    return finish(errors)


def rename(cli, opts, args) -> int:
    old, new = args
    new = new.strip()
    if not new:
        raise StatusError(1, "Error: neither old or new names may be empty")
    try:
        cli.client.post(f"/containers/{old}/rename", {"name": new})
    except APIError as exc:
        raise StatusError(1, f"Error response from daemon: {exc.message}\n"
                             f"Error: failed to rename container named {old}") from None
    return 0


_STOP_FLAGS = (Flag("signal", "s", STRING, help="Signal to send to the container"),
               Flag("timeout", "t", INT, default=None, help="Seconds to wait before killing the container"),
               Flag("time", None, INT, default=None, dest="timeout", hidden=True))

STOP = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
               flags=_STOP_FLAGS, args=at_least(1), action=stop, aliases=("container stop", "stop"))
RESTART = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
                  flags=_STOP_FLAGS, args=at_least(1), action=restart,
                  aliases=("container restart", "restart"))
KILL = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
               flags=(Flag("signal", "s", STRING, help="Signal to send to the container"),),
               args=at_least(1), action=kill, aliases=("container kill", "kill"))
PAUSE = Command("CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
                args=at_least(1), action=pause, aliases=("container pause", "pause"))
UNPAUSE = Command("CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
                  args=at_least(1), action=unpause, aliases=("container unpause", "unpause"))
RM = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
             flags=(Flag("force", "f", help="Force the removal of a running container (uses SIGKILL)"),
                    Flag("link", "l", help="Remove the specified link"),
                    Flag("volumes", "v", help="Remove anonymous volumes associated with the container")),
             args=at_least(1), action=rm, aliases=("container rm", "container remove", "rm"))
WAIT = Command("CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
               args=at_least(1), action=wait, aliases=("container wait", "wait"))
RENAME = Command("CONTAINER NEW_NAME", "Rename a container", args=exactly(2), action=rename,
                 aliases=("container rename", "rename"))
