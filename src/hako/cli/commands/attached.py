"""The attached half of `hako run`: attach, wait, start, stream, exit status."""

from __future__ import annotations

from hako.client.errors import APIError, ClientError

from ..command import StatusError
from ..context import PROG
from ..session import Session, attach_query


def run_attached(cli, container_id: str, body: dict, opts) -> int:
    client = cli.client
    base = f"/containers/{container_id}"
    stdin, stdout, stderr = body["AttachStdin"], body["AttachStdout"], body["AttachStderr"]
    sock = leftover = None
    if stdin or stdout or stderr:
        try:
            sock, leftover = client.hijack(f"{base}/attach",
                                           attach_query(stdin, stdout, stderr, opts["detach_keys"]))
        except ClientError as exc:
            raise _error(exc, 125) from None
    condition = "removed" if body["HostConfig"]["AutoRemove"] else "next-exit"
    waiter = client.send("POST", f"{base}/wait", {"condition": condition})
    try:
        client.post(f"{base}/start")
    except ClientError as exc:
        if sock is not None:
            sock.close()
        from .run import status_for_start_error
        cli.err.write(_error(exc, 0).message + "\n")
        if condition == "removed":
            _wait_quietly(waiter)  # docker waits for the removal before exiting
        waiter.close()
        return status_for_start_error(str(exc))
    if sock is not None:
        session = Session(cli, sock, leftover, tty=body["Tty"], stdin=stdin,
                          resize_path=f"{base}/resize",
                          kill_path=f"{base}/kill" if opts["sig_proxy"] else None,
                          detach_keys=opts["detach_keys"])
        if session.run():
            waiter.close()
            return 0  # detached: docker's run ends quietly with 0
    return wait_status(cli, waiter)


def wait_status(cli, waiter) -> int:
    """The exit status from a wait response; 125 (and a message) if waiting failed."""
    try:
        result = waiter.json()
    except ClientError as exc:
        cli.err.write(f"Error waiting for container: {exc}\n")
        return 125
    finally:
        waiter.close()
    error = result.get("Error")
    if error and error.get("Message"):
        cli.err.write(f"Error waiting for container: {error['Message']}\n")
        return 125
    return int(result.get("StatusCode", 0))


def _wait_quietly(waiter) -> None:
    try:
        waiter.json()
    except ClientError:
        pass


def _error(exc: ClientError, status: int) -> StatusError:
    message = f"Error response from daemon: {exc.message}" if isinstance(exc, APIError) else str(exc)
    return StatusError(status, f"{PROG}: {message}\n\nRun '{PROG} run --help' for more information")
