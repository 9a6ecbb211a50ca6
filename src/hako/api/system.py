"""System endpoints: /_ping, /version, /info, /events, /system/df, and swarm's 503s."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time

from aiohttp import web

from .. import __version__
from ..containers.model import PAUSED, RUNNING
from ..errdefs import InvalidArgument
from .server import json_response, API_VERSION, COMMON_HEADERS, MIN_API_VERSION, error, label_matches, query_filters

PING_HEADERS = {**COMMON_HEADERS, "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                "Builder-Version": "1", "Swarm": "inactive"}


def register(router) -> None:
    router.add("GET", "/_ping", ping)
    router.add("HEAD", "/_ping", ping)
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("GET", "/events", events)
    router.add("GET", "/system/df", disk_usage)
    for method in ("GET", "POST", "DELETE"):
        router.add(method, "/swarm{tail:.*}", not_a_swarm)
        router.add(method, "/nodes{tail:.*}", not_a_swarm)
        router.add(method, "/services{tail:.*}", not_a_swarm)
        router.add(method, "/tasks{tail:.*}", not_a_swarm)
        router.add(method, "/secrets{tail:.*}", not_a_swarm)
        router.add(method, "/configs{tail:.*}", not_a_swarm)


async def ping(request: web.Request) -> web.Response:
    body = None if request.method == "HEAD" else "OK"
    return web.Response(text=body, content_type="text/plain", headers=PING_HEADERS)


async def not_a_swarm(request: web.Request) -> web.Response:
    return error(503, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")


def _kernel() -> str:
    return platform.release()


async def version(request: web.Request) -> web.Response:
    kernel = _kernel()
    return json_response({
        "Platform": {"Name": "hako"},
        "Components": [{"Name": "Engine", "Version": __version__,
                        # All of dockerd's keys: the CLI's template indexes them and prints "" for a missing one.
                        "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
                                    "Arch": _arch(), "KernelVersion": kernel, "GoVersion": "python" + platform.python_version(),
                                    "GitCommit": "", "BuildTime": "", "Experimental": "false"}}],
        "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "", "GoVersion": "python" + platform.python_version(), "Os": "linux", "Arch": _arch(),
        "KernelVersion": kernel, "BuildTime": "",
    })


def _arch() -> str:
    from ..images.store import go_arch

    return go_arch()


def _mem_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


async def info(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    containers = list(engine.containers.containers.values())
    running = sum(1 for c in containers if c.state.status == RUNNING)
    paused = sum(1 for c in containers if c.state.status == PAUSED)
    from ..runtime.cgroups.base import cgroup_version

    cg = cgroup_version()
    return json_response({
        "ID": engine.config.data_root, "Containers": len(containers), "ContainersRunning": running,
        "ContainersPaused": paused, "ContainersStopped": len(containers) - running - paused,
        "Images": len(engine.images.images), "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                    "Log": ["json-file", "none"]},
        "MemoryLimit": True, "SwapLimit": True, "KernelMemoryTCP": False, "CpuCfsPeriod": True,
        "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": engine.config.debug,
        "NFd": len(os.listdir("/proc/self/fd")), "OomKillDisable": False,
        "NGoroutines": len(asyncio.all_tasks()), "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
        "LoggingDriver": engine.config.log_driver, "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2" if cg == 2 else "1", "NEventsListener": len(engine.events.subscribers),
        "KernelVersion": _kernel(), "OperatingSystem": _os_name(), "OSVersion": "", "OSType": "linux",
        "Architecture": platform.machine(), "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
        "NCPU": os.cpu_count(), "MemTotal": _mem_total(), "GenericResources": None,
        "DockerRootDir": engine.config.data_root, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Name": platform.node(), "Labels": [], "ExperimentalBuild": False, "ServerVersion": __version__,
        "Runtimes": {"hako": {"path": "hako-runtime"}}, "DefaultRuntime": "hako",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "", "Expected": ""}, "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""}, "SecurityOptions": ["name=seccomp,profile=builtin"],
        "Warnings": None,
    })


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _parse_time(value: str | None, now: float) -> float | None:
    if not value:
        return None
    from ..containers.logs import parse_time

    try:
        return parse_time(value, now)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def event_json(event) -> dict:
    seconds, nanos = divmod(event.time_nano, 1_000_000_000)
    out = {"Type": event.type, "Action": event.action,
           "Actor": {"ID": event.actor_id, "Attributes": event.attributes},
           "scope": "local", "time": seconds, "timeNano": event.time_nano}
    if event.type == "container":
        out.update(status=event.action, id=event.actor_id, **({"from": event.attributes["image"]} if "image" in event.attributes else {}))
    elif event.type == "image":
        out.update(status=event.action, id=event.actor_id)
    return out


def _matches(event, filters: dict[str, list[str]]) -> bool:
    """Docker's event filters: every key given must match (values of one key are alternatives)."""
    for key, values in filters.items():
        if key == "type" and event.type not in values:
            return False
        if key == "event" and event.action.split(":")[0] not in values and event.action not in values:
            return False
        if key == "container" and not (event.type == "container" and _refers_to(event, values)):
            return False
        if key == "image" and not _about_image(event, values):
            return False
        if key == "label" and not all(label_matches(event.attributes, v) for v in values):
            return False
    return True


def _refers_to(event, values: list[str]) -> bool:
    """The event's actor by id, id prefix or name."""
    return any(v == event.actor_id or event.actor_id.startswith(v) or v == event.attributes.get("name")
               for v in values)


def _about_image(event, values: list[str]) -> bool:
    """An image event about one of ``values``, or a container event of a container made from one."""
    if event.type == "image":
        return _refers_to(event, values) or event.attributes.get("image") in values
    return event.type == "container" and event.attributes.get("image") in values


async def events(request: web.Request) -> web.StreamResponse:
    engine = request.app["engine"]
    now = time.time()
    since = _parse_time(request.query.get("since"), now)
    until = _parse_time(request.query.get("until"), now)
    filters = query_filters(request)
    queue = engine.events.subscribe()
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        if since is not None:
            for event in engine.events.since(int(since * 1e9), int(until * 1e9) if until else None):
                if _matches(event, filters):
                    await response.write(json.dumps(event_json(event)).encode() + b"\n")
        if until is not None and until <= time.time():
            return response
        while True:
            timeout = None if until is None else max(until - time.time(), 0)
            try:
                event = await asyncio.wait_for(queue.get(), timeout)
            except asyncio.TimeoutError:
                break
            if until is not None and event.time_nano > until * 1e9:
                break
            if _matches(event, filters):
                await response.write(json.dumps(event_json(event)).encode() + b"\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        engine.events.unsubscribe(queue)
    return response


async def disk_usage(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    from .convert import container_summary, image_summary

    users: dict[str, int] = {}
    for c in engine.containers.containers.values():
        users[c.image_id] = users.get(c.image_id, 0) + 1
    images = []
    for image in engine.images.list():
        entry = image_summary(image)
        entry["Containers"] = users.get(image.id, 0)
        entry["SharedSize"] = 0
        images.append(entry)
    containers = []
    for c in engine.containers.list():
        image = engine.images.images.get(c.image_id)
        size_rw = engine.layers.disk_usage(c.id)
        containers.append(container_summary(c, c.config.image, (size_rw, size_rw + (image.size if image else 0))))
    layers_size = sum(layer.size for layer in engine.layers.layers())
    from .volumes import volume_json

    volumes = [{**volume_json(v), "UsageData": {"Size": engine.volumes.size(v), "RefCount": len(engine.volumes.users(v.name))}}
               for v in engine.volumes.list()]
    return json_response({"LayersSize": layers_size, "Images": images, "Containers": containers,
                              "Volumes": volumes, "BuildCache": _build_cache_usage(engine)})


def _build_cache_usage(engine) -> list[dict]:
    """The build cache's entries as Docker's BuildCache records (see hako.build.cache)."""
    from ..build.cache import BuildCache
    from ..snapshots.model import chain_ids

    image_layers: set[str] = set()
    for image in engine.images.images.values():
        image_layers.update(chain_ids(image.config.get("rootfs", {}).get("diff_ids") or []))
    out = []
    for entry in BuildCache(engine.store).usage(engine.layers, image_layers):
        out.append({"ID": entry.key[:25], "Parents": None, "Type": "regular", "Description": entry.description,
                    "InUse": False, "Shared": entry.shared, "Size": entry.size,
                    "CreatedAt": _rfc3339(entry.created), "LastUsedAt": _rfc3339(entry.used), "UsageCount": 1})
    return out


def _rfc3339(unix: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
