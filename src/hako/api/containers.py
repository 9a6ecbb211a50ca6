"""/containers/*: each handler looks the container up, calls the engine, renders Docker's JSON."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

from aiohttp import web

from ..containers.model import PAUSED, RUNNING
from ..errdefs import Conflict, InvalidArgument
from ..monitor import protocol
from . import convert, streams
from .server import json_response, COMMON_HEADERS, json_body, query_bool, query_filters, query_int

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def register(router) -> None:
    add = router.add
    add("POST", "/containers/create", create)
    add("GET", "/containers/json", list_containers)
    add("POST", "/containers/prune", prune)
    add("GET", "/containers/{id}/json", inspect)
    add("POST", "/containers/{id}/start", start)
    add("POST", "/containers/{id}/stop", stop)
    add("POST", "/containers/{id}/restart", restart)
    add("POST", "/containers/{id}/kill", kill)
    add("POST", "/containers/{id}/pause", pause)
    add("POST", "/containers/{id}/unpause", unpause)
    add("DELETE", "/containers/{id}", remove)
    add("POST", "/containers/{id}/wait", wait)
    add("POST", "/containers/{id}/rename", rename)
    add("POST", "/containers/{id}/update", update)
    add("GET", "/containers/{id}/top", top)
    add("GET", "/containers/{id}/stats", stats)
    add("GET", "/containers/{id}/logs", logs)
    add("POST", "/containers/{id}/attach", attach)
    add("POST", "/containers/{id}/resize", resize)
    add("GET", "/containers/{id}/changes", changes)
    add("GET", "/containers/{id}/export", export)


def _engine(request):
    return request.app["engine"]


def _container(request):
    return _engine(request).containers.get(request.match_info["id"])


def _no_content() -> web.Response:
    return web.Response(status=204, headers=COMMON_HEADERS)


async def create(request: web.Request) -> web.Response:
    engine = _engine(request)
    body = await json_body(request)
    container = convert.parse_create(body)
    if not container.config.image:
        raise InvalidArgument("config cannot be empty in order to create a container")
    from ..images import reference

    image = engine.images.find(container.config.image)
    if image is None:
        reference.parse(container.config.image)   # an invalid reference is a 400, not a 404
        from ..errdefs import NotFound

        raise NotFound(f"No such image: {_display_ref(container.config.image)}")
    container.image_id = image.id
    created, warnings = engine.containers.create(request.query.get("name"), container)
    return json_response({"Id": created.id, "Warnings": warnings}, status=201)


def _display_ref(name: str) -> str:
    from ..images import reference

    try:
        return str(reference.parse(name))
    except Exception:  # noqa: BLE001
        return name


def _image_name(engine, container) -> str:
    return container.config.image or container.image_id


def _size(engine, container, with_size: bool):
    if not with_size:
        return None
    rw = engine.layers.disk_usage(container.id)
    image = engine.images.images.get(container.image_id)
    return rw, rw + (image.size if image else 0)


async def list_containers(request: web.Request) -> web.Response:
    engine = _engine(request)
    show_all = query_bool(request, "all")
    limit = query_int(request, "limit", -1)
    with_size = query_bool(request, "size")
    filters = query_filters(request)
    _check_filters(filters)
    selected = [c for c in engine.containers.list() if _matches(engine, c, filters)]
    if not show_all and limit in (-1, 0, None) and "status" not in filters and "exited" not in filters:
        selected = [c for c in selected if c.state.status in (RUNNING, PAUSED, "restarting")]
    if limit and limit > 0:
        selected = selected[:limit]
    return json_response([convert.container_summary(c, _image_name(engine, c), _size(engine, c, with_size))
                              for c in selected])


_FILTERS = ("id", "name", "label", "status", "exited", "ancestor", "before", "since", "health",
            "is-task", "network", "volume", "publish", "expose", "isolation")


_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _check_filters(filters: dict[str, list[str]]) -> None:
    """Refuse a bad filter up front, as dockerd does, and not only when a container meets it."""
    for key, values in filters.items():
        if key not in _FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
        if key == "status":
            for v in values:
                if v not in _STATUSES:
                    raise InvalidArgument(f"Invalid filter 'status={v}'")


def _matches(engine, container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if not values:
            continue
        if key == "id" and not any(container.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(re.search(v, container.name) or re.search(v, "/" + container.name) for v in values):
            return False
        if key == "label":
            for want in values:
                k, eq, v = want.partition("=")
                if k not in container.config.labels or (eq and container.config.labels[k] != v):
                    return False
        if key == "status":
            if container.state.status not in values:
                return False
        if key == "exited":
            if container.state.status != "exited" or str(container.state.exit_code) not in values:
                return False
        if key == "ancestor":
            if not any(_is_ancestor(engine, container, v) for v in values):
                return False
        if key in ("before", "since"):
            other = engine.containers.get(values[0])
            if key == "before" and not container.created < other.created:
                return False
            if key == "since" and not container.created > other.created:
                return False
        if key == "health":
            status = container.state.health.status if container.state.health else "none"
            if status not in values:
                return False
        if key == "is-task" and "true" in values:
            return False
        if key in ("network", "volume", "publish", "expose") and values:
            if key == "network" and any(v == container.host_config.network_mode for v in values):
                continue
            return False
    return True


def _is_ancestor(engine, container, name: str) -> bool:
    image = engine.images.find(name)
    return image is not None and image.id == container.image_id


async def inspect(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    image = engine.images.images.get(container.image_id)
    rw = _graph_dirs(engine, container.id)
    size = _size(engine, container, query_bool(request, "size"))
    body = convert.container_json(container, image.run_config if image else {}, rw, size)
    body["ExecIDs"] = [e.id for e in engine.execs.execs.values() if e.container_id == container.id] or None
    return json_response(body)


def _graph_dirs(engine, container_id: str) -> dict:
    """GraphDriver.Data as overlay2 shows it: the lower layers, and the container's upper, work, merged."""
    try:
        parent = engine.layers.parent(container_id)
    except Exception:  # noqa: BLE001 - a container whose snapshot is gone shows none
        return {}
    upper = engine.layers.upper_dir(container_id)
    base = os.path.dirname(upper)
    return {"LowerDir": ":".join(engine.layers.lower_dirs(parent)) if parent else "",
            "MergedDir": os.path.join(base, "merged"), "UpperDir": upper, "WorkDir": os.path.join(base, "work")}


async def start(request: web.Request) -> web.Response:
    container = _container(request)
    await _engine(request).containers.start(container)
    return _no_content()


async def stop(request: web.Request) -> web.Response:
    container = _container(request)
    await _engine(request).containers.stop(container, query_int(request, "t"), request.query.get("signal"))
    return _no_content()


async def restart(request: web.Request) -> web.Response:
    container = _container(request)
    await _engine(request).containers.restart(container, query_int(request, "t"), request.query.get("signal"))
    return _no_content()


async def kill(request: web.Request) -> web.Response:
    container = _container(request)
    await _engine(request).containers.kill(container, request.query.get("signal"))
    return _no_content()


async def pause(request: web.Request) -> web.Response:
    await _engine(request).containers.pause(_container(request))
    return _no_content()


async def unpause(request: web.Request) -> web.Response:
    await _engine(request).containers.unpause(_container(request))
    return _no_content()


async def remove(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    if query_bool(request, "link"):
        raise InvalidArgument("Conflict, cannot remove the default link name of the container")
    await engine.containers.remove(container, query_bool(request, "force"))
    engine.execs.forget_container(container.id)
    return _no_content()


async def wait(request: web.Request) -> web.StreamResponse:
    """Headers at once, the body when the condition is met; a client leaving early is fine."""
    engine = _engine(request)
    container = _container(request)
    condition = request.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidArgument(f"invalid condition: {condition!r}")
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    waiter = streams.keep(asyncio.ensure_future(engine.containers.wait(container, condition)))
    await response.prepare(request)
    try:
        code = await waiter
    except asyncio.CancelledError:
        waiter.cancel()
        raise
    # A --rm container that failed to start is gone: its start already reported why.
    error = (container.state.error or None) if condition != "removed" else None
    await response.write(json.dumps({"Error": {"Message": error} if error else None, "StatusCode": code}).encode() + b"\n")
    await response.write_eof()
    return response


async def rename(request: web.Request) -> web.Response:
    name = request.query.get("name")
    if not name:
        raise InvalidArgument("Neither old nor new names may be empty")
    _engine(request).containers.rename(_container(request), name)
    return _no_content()


_UPDATE_FIELDS = {"Memory": "memory", "MemoryReservation": "memory_reservation", "MemorySwap": "memory_swap",
                  "NanoCpus": "nano_cpus", "CpuShares": "cpu_shares", "CpuQuota": "cpu_quota",
                  "CpuPeriod": "cpu_period", "CpusetCpus": "cpuset_cpus", "CpusetMems": "cpuset_mems",
                  "PidsLimit": "pids_limit"}


async def update(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    body = await json_body(request)
    changes = {}
    for key, field in _UPDATE_FIELDS.items():
        if body.get(key) not in (None, 0, "") or (key == "PidsLimit" and body.get(key) is not None):
            changes[field] = body[key]
    if body.get("RestartPolicy") and body["RestartPolicy"].get("Name"):
        from ..containers.model import RestartPolicy

        changes["restart_policy"] = RestartPolicy(body["RestartPolicy"]["Name"],
                                                  int(body["RestartPolicy"].get("MaximumRetryCount") or 0))
    warnings = engine.containers.update(container, changes)
    return json_response({"Warnings": warnings})


async def top(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    if container.state.status not in (RUNNING, PAUSED):
        raise Conflict(f"Container {container.id} is not running")
    from ..containers.top import top as ps

    pids = engine.runtime.pids(container.id)
    result = await asyncio.to_thread(ps, pids, request.query.get("ps_args") or "-ef")
    return json_response(result)


async def stats(request: web.Request) -> web.StreamResponse:
    from ..containers import stats as cstats

    engine = _engine(request)
    container = _container(request)
    stream = query_bool(request, "stream", True)
    one_shot = query_bool(request, "one-shot")
    cgroup_path = f"{engine.config.cgroup_parent}/{container.id}"

    def sample():
        if container.state.status not in (RUNNING, PAUSED):
            return None
        try:
            return cstats.sample(cgroup_path, container.state.pid or None)
        except Exception:  # noqa: BLE001 - it stopped between the check and the read
            return None

    def render(current, previous):
        return cstats.render(container.id, container.name, current, previous)

    if not stream:
        first = sample()
        if one_shot or first is None:
            return json_response(render(first, None))
        await asyncio.sleep(1.0)      # Docker's interval: precpu_stats is the sample a second before
        return json_response(render(sample(), first))
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    previous = None
    try:
        while True:
            current = sample()
            await response.write(json.dumps(render(current, previous)).encode() + b"\n")
            if current is None:
                break
            previous = current
            await asyncio.sleep(1.0)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


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
    detach_keys = _detach_keys(request.query.get("detachKeys"))
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
            await pump(client, reader, writer, stdin, tty and detach_keys,
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


def _detach_keys(value: str | None) -> bytes:
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


async def changes(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    result = await asyncio.to_thread(engine.changes, container.id)
    return json_response([{"Path": path, "Kind": kind} for path, kind in result] or None)


async def export(request: web.Request) -> web.StreamResponse:
    engine = _engine(request)
    container = _container(request)
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/x-tar"})
    response.enable_chunked_encoding()
    read_fd, write_fd = os.pipe()

    def produce():
        with open(write_fd, "wb") as out:
            engine.layers.export(container.id, out)

    producer = asyncio.ensure_future(asyncio.to_thread(produce))
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    with open(read_fd, "rb", buffering=0) as source:
        while True:
            chunk = await loop.run_in_executor(None, source.read, 1 << 20)
            if not chunk:
                break
            await response.write(chunk)
    await producer
    await response.write_eof()
    return response


async def prune(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request)
    now = time.time()

    def predicate(container) -> bool:
        for want in filters.get("label", []):
            k, eq, v = want.partition("=")
            if k not in container.config.labels or (eq and container.config.labels[k] != v):
                return False
        for want in filters.get("label!", []):
            k, eq, v = want.partition("=")
            if k in container.config.labels and (not eq or container.config.labels[k] == v):
                return False
        for until in filters.get("until", []):
            from ..containers.logs import parse_time

            if container.created >= parse_time(until, now):
                return False
        return True

    deleted, reclaimed = await engine.prune_containers(predicate)
    return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})
