"""`hako start`: start containers, or one container attached (-a/-i).

Attached, the calls are docker's: inspect, attach (hijacked), wait (next-exit, or removed for an
auto-removing container), start; the exit status is the container's.
"""

from __future__ import annotations

from hako.client.errors import APIError, ClientError

from ..command import Command, StatusError, at_least
from ..flags import STRING, Flag
from ..session import Session, attach_query


def start(cli, opts, args) -> int:
    if opts["attach"] or opts["interactive"]:
        if len(args) > 1:
            raise StatusError(1, "you cannot start and attach multiple containers at once")
        return _start_attached(cli, opts, args[0])
    failed = []
    for name in args:
        try:
            cli.client.post(f"/containers/{name}/start")
        except APIError as exc:
            cli.err.write(f"Error response from daemon: {exc.message}\n")
            failed.append(name)
            continue
        except ClientError as exc:
            cli.err.write(f"{exc}\n")
            failed.append(name)
            continue
        cli.out.write(name + "\n")
    if failed:
        raise StatusError(1, f"Error: failed to start containers: {', '.join(failed)}")
    return 0


def _start_attached(cli, opts, name: str) -> int:
    from .attached import wait_status

    client = cli.client
    info = client.get_json(f"/containers/{name}/json")
    cid, config = info["Id"], info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(opts["interactive"] and config.get("OpenStdin"))
    base = f"/containers/{cid}"
    sock, leftover = client.hijack(f"{base}/attach",
                                   attach_query(stdin, True, True, opts["detach_keys"]))
    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    waiter = client.send("POST", f"{base}/wait", {"condition": "removed" if auto_remove else "next-exit"})
    try:
        client.post(f"{base}/start")
    except ClientError:
        sock.close()
        if auto_remove:
            try:
                waiter.json()
            except ClientError:
                pass
        waiter.close()
        raise
    session = Session(cli, sock, leftover, tty=tty, stdin=stdin, resize_path=f"{base}/resize",
                      kill_path=None if tty else f"{base}/kill", detach_keys=opts["detach_keys"])
    if session.run():
        waiter.close()
        return 0
    return wait_status(cli, waiter)


START = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
                flags=(Flag("attach", "a", help="Attach STDOUT/STDERR and forward signals"),
                       Flag("detach-keys", None, STRING, help="Override the key sequence for detaching a container"),
                       Flag("interactive", "i", help="Attach container's STDIN")),
                args=at_least(1), action=start, aliases=("container start", "start"))
