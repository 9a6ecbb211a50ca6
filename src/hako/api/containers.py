"""/containers/*: each handler looks the container up, calls the engine, renders Docker's JSON.

This module holds the lifecycle (create, list, inspect, start, stop, …) and registers every
/containers route; the list filters are in container_filters, the streams (logs, attach, resize)
in container_streams, and the filesystem views (changes, export) in container_files.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from aiohttp import web

from ..containers.model import PAUSED, RUNNING
from ..errdefs import Conflict, InvalidArgument
from . import container_files, container_streams, convert, streams
from .container_filters import check_filters, matches
from .server import json_response, COMMON_HEADERS, json_body, labels_match, query_bool, query_filters, query_int


def register(router) -> None:
    """Every /containers/* route; the streaming and filesystem ones live in their own modules."""
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
    add("GET", "/containers/{id}/logs", container_streams.logs)
    add("POST", "/containers/{id}/attach", container_streams.attach)
    add("POST", "/containers/{id}/resize", container_streams.resize)
    add("GET", "/containers/{id}/changes", container_files.changes)
    add("GET", "/containers/{id}/export", container_files.export)


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
    check_filters(filters)
    selected = [c for c in engine.containers.list() if matches(engine, c, filters)]
    if not show_all and limit in (-1, 0, None) and "status" not in filters and "exited" not in filters:
        selected = [c for c in selected if c.state.status in (RUNNING, PAUSED, "restarting")]
    if limit and limit > 0:
        selected = selected[:limit]
    return json_response([convert.container_summary(c, _image_name(engine, c), _size(engine, c, with_size),
                                                    engine.networks.view(c))
                              for c in selected])


async def inspect(request: web.Request) -> web.Response:
    engine = _engine(request)
    container = _container(request)
    image = engine.images.images.get(container.image_id)
    rw = _graph_dirs(engine, container.id)
    size = _size(engine, container, query_bool(request, "size"))
    body = convert.container_json(container, image.run_config if image else {}, rw, size,
                                  engine.networks.view(container))
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
    await engine.containers.remove(container, query_bool(request, "force"), query_bool(request, "v"))
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


async def prune(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request)
    now = time.time()

    def predicate(container) -> bool:
        if not labels_match(container.config.labels, filters):
            return False
        for until in filters.get("until", []):
            from ..containers.logs import parse_time

            if container.created >= parse_time(until, now):
                return False
        return True

    deleted, reclaimed = await engine.prune_containers(predicate)
    return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})
