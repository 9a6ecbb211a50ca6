"""The streams of a container: logs (and follow), attach, the stdin/stdout pump, detach keys, resize.

`pump` and `detach_keys` are shared with exec start (execs.py), which streams the same way.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from ..containers.model import PAUSED, RUNNING
from ..errdefs import Conflict, InvalidArgument
from ..monitor import protocol
from . import streams
from .server import COMMON_HEADERS, query_bool, query_int

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def _engine(request):
    return request.app["engine"]


def _container(request):
    return _engine(request).containers.get(request.match_info["id"])


def _log_filters(request: web.Request):
    from ..containers.logs import parse_time

    now = time.time()
    try:
        since = parse_time(request.query["since"], now) if request.query.get("since") not in (None, "", "0") else 0
        until = parse_time(request.query["until"], now) if request.query.get("until") not in (None, "", "0") else None
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    tail = request.query.get("tail", "all")
    if tail in ("all", "", None):
        tail_n = None
    else:
        try:
            tail_n = int(tail)
        except ValueError:
            raise InvalidArgument(f"invalid value for tail: {tail!r}") from None
        if tail_n < 0:
            tail_n = None
    return since, until, tail_n


def _render_entry(entry, tty: bool, timestamps: bool) -> bytes:
    from ..containers.logs import format_timestamp

    data = entry.data
    if timestamps:
        data = format_timestamp(entry).encode() + b" " + data
    if tty:
        return data
    return protocol.frame(protocol.STDOUT if entry.stream == "stdout" else protocol.STDERR, data)


async def logs(request: web.Request) -> web.StreamResponse:
    from ..containers.logs import LogFollower, read_entries

    container = _container(request)
    stdout, stderr = query_bool(request, "stdout"), query_bool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    if container.host_config.log_type == "none":
        raise InvalidArgument('configured logging driver does not support reading')
    follow, timestamps = query_bool(request, "follow"), query_bool(request, "timestamps")
    since, until, tail = _log_filters(request)
    tty = container.config.tty
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": RAW_STREAM if tty else MULTIPLEXED_STREAM})
    response.enable_chunked_encoding()
    await response.prepare(request)
    path = container.log_path
    follower = None
    try:
        if follow:
            follower = LogFollower(path, stdout, stderr, since, until)
            entries = await asyncio.to_thread(follower.backlog, tail)
        else:
            entries = await asyncio.to_thread(read_entries, path, stdout=stdout, stderr=stderr, since=since,
                                              until=until, tail=tail)
        for entry in entries:
            await response.write(_render_entry(entry, tty, timestamps))
        if follower is not None:
            await _follow(response, follower, container, tty, timestamps, until)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        if follower is not None:
            follower.close()
    await response.write_eof()
    return response


async def _follow(response, follower, container, tty: bool, timestamps: bool, until: float | None) -> None:
    while True:
        running = container.state.status in (RUNNING, PAUSED, "restarting")
        for entry in follower.poll():
            await response.write(_render_entry(entry, tty, timestamps))
        if not running or (until is not None and time.time() > until):
            for entry in follower.poll():
                await response.write(_render_entry(entry, tty, timestamps))
            return
        await asyncio.sleep(0.05)


async def attach(request: web.Request) -> web.StreamResponse:
    engine = _engine(request)
    container = _container(request)
    want_stdin = query_bool(request, "stdin")
    want_stdout, want_stderr = query_bool(request, "stdout"), query_bool(request, "stderr")
    want_logs, want_stream = query_bool(request, "logs"), query_bool(request, "stream")
    keys = detach_keys(request.query.get("detachKeys"))
    tty = container.config.tty
    stdin = want_stdin and container.config.open_stdin
    if not streams.wants_upgrade(request):
        raise InvalidArgument("attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)")
    monitor = None
    if want_stream and container.state.status in (RUNNING, PAUSED):
        # Connect before the 101: a client may make the process write as soon as it holds the
        # stream (the SDK sends stdin through a second attach), and that output must find this
        # one. (A container yet to start cannot be connected to: `docker run` waits for the 101
        # before it sends the start, so that case connects after the 101, below.)
        try:
            monitor = await _connect_monitor(engine.containers.monitor_dir(container.id), stdin,
                                             want_stdout, want_stderr)
        except OSError:
            monitor = None     # it has just ended; the stream below finds that out
    backlog = []
    if want_logs:
        from ..containers.logs import read_entries

        backlog = await asyncio.to_thread(read_entries, container.log_path, stdout=want_stdout, stderr=want_stderr)
    client = streams.hijack(request, RAW_STREAM if tty else MULTIPLEXED_STREAM)
    try:
        for entry in backlog:
            await client.write(_render_entry(entry, tty, False))
        if want_stream:
            if monitor is None:
                monitor = await _connect_when_started(engine, container, stdin, want_stdout, want_stderr)
            reader, writer = monitor
            monitor = None     # pump closes it from here on
            await pump(client, reader, writer, stdin, tty and keys,
                       close_stdin=container.config.stdin_once and not tty)
    except (OSError, Conflict):
        pass       # the client left, or the container ended or failed to start: end the stream
    finally:
        if monitor is not None:
            monitor[1].close()
        client.close()
    return streams.HijackedResponse()


async def _connect_when_started(engine, container, stdin: bool, stdout: bool, stderr: bool):
    """Connect to the container's monitor once it runs; a start in progress waits for us."""
    directory, attached = await engine.containers.monitor_for_attach(container)
    try:
        return await _connect_monitor(directory, stdin, stdout, stderr)
    finally:
        if attached is not None and not attached.done():
            attached.set_result(None)


async def _connect_monitor(directory: str, stdin: bool, stdout: bool, stderr: bool):
    from ..engine import monitors

    return await monitors.connect(directory, {"op": "attach", "stdin": stdin, "stdout": stdout, "stderr": stderr})


def detach_keys(value: str | None) -> bytes:
    """Docker's detach key spec: "ctrl-p,ctrl-q" (the default), "a", "ctrl-@" … as bytes."""
    spec = value or "ctrl-p,ctrl-q"
    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if len(key) == 1:
            out.append(ord(key))
        elif key.startswith("ctrl-") and len(key) == 6:
            c = key[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
            else:
                raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
        else:
            raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


async def pump(client: streams.RawStream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               stdin: bool, detach_keys: bytes | bool, close_stdin: bool = True) -> None:
    """Copy output to the client and its stdin to the monitor until the process's output ends.

    The client's EOF means what it means to dockerd (container/stream/attach.go): with stdin
    attached and ``close_stdin`` (a non-TTY `StdinOnce` container, a non-TTY exec) it is the
    process's stdin EOF and the output keeps coming until the process ends; otherwise (a TTY, or
    a container whose stdin outlives one client) it ends this attach session and nothing else, as
    a detach does. Without stdin attached, the EOF is the CLI's half-close right after the 101
    and the output keeps coming."""

    async def output():
        while True:
            data = await reader.read(65536)
            if not data:
                return
            await client.write(data)

    async def input_():
        matched = b""
        while True:
            data = await client.read()
            if data is None:
                return "gone"
            if data == b"":
                if not stdin:
                    return "eof"
                if close_stdin:
                    if writer.can_write_eof():
                        writer.write_eof()     # the client's EOF is the process's stdin EOF
                    return "eof"
                return "detach"
            if not stdin:
                continue
            if detach_keys:
                candidate = matched + data
                if detach_keys in candidate:
                    return "detach"
                matched = candidate[-(len(detach_keys) - 1):] if len(detach_keys) > 1 else b""
            writer.write(data)
            await writer.drain()

    out_task = streams.keep(asyncio.ensure_future(output()))
    in_task = streams.keep(asyncio.ensure_future(input_()))
    try:
        done, _ = await asyncio.wait({out_task, in_task}, return_when=asyncio.FIRST_COMPLETED)
        if out_task not in done and in_task.result() == "eof":
            await out_task           # stdin ended: keep sending output until the process ends
    finally:
        for task in (out_task, in_task):
            task.cancel()
        writer.close()


async def resize(request: web.Request) -> web.Response:
    from ..engine import monitors

    engine = _engine(request)
    container = _container(request)
    height, width = query_int(request, "h", 0), query_int(request, "w", 0)
    if container.state.status not in (RUNNING, PAUSED):
        raise Conflict(f"Container {container.id} is not running")
    if container.config.tty:
        await monitors.call(engine.containers.monitor_dir(container.id), {"op": "resize", "h": height, "w": width})
    return web.Response(status=200, headers=COMMON_HEADERS)
