"""hakod's side of the monitor protocol (see hako.monitor.protocol), on asyncio."""

from __future__ import annotations

import asyncio
import json
import os

from ..monitor import protocol


class MonitorError(Exception):
    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


async def read_status(fd: int, timeout: float = 60.0) -> dict:
    """The monitor's first word on its status pipe: {"created": pid, "init": pid} or {"error": …}."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    buf = bytearray()

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        buf.extend(data)
        if (not data or b"\n" in buf) and not done.done():
            done.set_result(None)

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    line = bytes(buf).split(b"\n", 1)[0]
    if not line:
        raise MonitorError("the monitor exited before reporting")
    return _reply(line)


async def connect(directory: str, request: dict) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_unix_connection(protocol.socket_path(directory), limit=1 << 20)
    writer.write(protocol.encode(request))
    await writer.drain()
    return reader, writer


async def call(directory: str, request: dict) -> dict:
    """One request, one JSON reply."""
    reader, writer = await connect(directory, request)
    try:
        line = await reader.readline()
    finally:
        writer.close()
    if not line:
        raise MonitorError("the monitor closed the connection")
    return _reply(line)


def _reply(line: bytes) -> dict:
    """A monitor's JSON answer; {"error", "kind"} becomes a MonitorError."""
    reply = json.loads(line)
    if "error" in reply:
        raise MonitorError(reply["error"], reply.get("kind", ""))
    return reply


async def abort(directory: str, reason: str) -> dict | None:
    """Tell a monitor whose process was created but will never be started to give up: it deletes
    the container (if it made one), records an exit and ends. A started monitor is left alone.
    Returns its reply ({"started", "pid", "exit"}), or None if no monitor answered."""
    try:
        return await asyncio.wait_for(call(directory, {"op": "abort", "reason": reason}), 30)
    except (OSError, MonitorError, ValueError, asyncio.TimeoutError):
        return None


async def watch(directory: str) -> dict | None:
    """Wait for the process's exit record; None if the monitor is gone without writing one."""
    try:
        reader, writer = await connect(directory, {"op": "watch"})
    except OSError:
        return protocol.read_exit(directory)
    try:
        line = await reader.readline()
    except ConnectionError:
        line = b""     # the monitor finished while our request waited in its backlog
    finally:
        writer.close()
    if line:
        return json.loads(line)["exit"]
    return protocol.read_exit(directory)


def alive(directory: str) -> bool:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(protocol.socket_path(directory))
        return True
    except OSError:
        return False
    finally:
        sock.close()
