"""`/volumes`: create, inspect, list with filters, remove, prune; Docker's shapes and messages."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..errdefs import InvalidArgument
from ..volumes import ANONYMOUS_LABEL, Volume
from .convert import rfc3339
from .server import json_body, json_response, labels_match, query_bool, query_filters, version_tuple

LIST_FILTERS = ("dangling", "driver", "label", "name")
PRUNE_FILTERS = ("label", "label!", "all")


def register(router) -> None:
    router.add("GET", "/volumes", list_volumes)
    router.add("POST", "/volumes/create", create)
    router.add("POST", "/volumes/prune", prune)
    router.add("GET", "/volumes/{name}", inspect)
    router.add("DELETE", "/volumes/{name}", remove)


def _engine(request):
    return request.app["engine"]


def volume_json(volume: Volume) -> dict:
    created = rfc3339(int(volume.created))
    return {"CreatedAt": created, "Driver": volume.driver, "Labels": volume.labels or None,
            "Mountpoint": volume.mountpoint, "Name": volume.name, "Options": volume.options or None,
            "Scope": "local"}


async def create(request: web.Request) -> web.Response:
    engine = _engine(request)
    body = await json_body(request, required=False) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: the body must be an object")
    labels = body.get("Labels") or {}
    options = body.get("DriverOpts") or {}
    if not isinstance(labels, dict) or not isinstance(options, dict):
        raise InvalidArgument("invalid JSON: Labels and DriverOpts must be objects")
    existed = body.get("Name") in engine.volumes.volumes if body.get("Name") else False
    volume = engine.volumes.create(body.get("Name") or None, str(body.get("Driver") or ""),
                                   {str(k): str(v) for k, v in labels.items()},
                                   {str(k): str(v) for k, v in options.items()})
    if not existed:
        engine.events.emit("volume", "create", volume.name, driver=volume.driver)
    return json_response(volume_json(volume), 201)


async def inspect(request: web.Request) -> web.Response:
    return json_response(volume_json(_engine(request).volumes.get(request.match_info["name"])))


async def list_volumes(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request, allowed=LIST_FILTERS)
    dangling = None
    for value in filters.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}'")
        dangling = value.lower() in ("true", "1")
    result = []
    for volume in engine.volumes.list():
        if dangling is not None and (not engine.volumes.users(volume.name)) != dangling:
            continue
        if filters.get("name") and not any(n in volume.name for n in filters["name"]):
            continue
        if filters.get("driver") and volume.driver not in filters["driver"]:
            continue
        if not labels_match(volume.labels, filters):
            continue
        result.append(volume_json(volume))
    return json_response({"Volumes": result, "Warnings": None})


async def remove(request: web.Request) -> web.Response:
    engine = _engine(request)
    name = request.match_info["name"]
    existed = name in engine.volumes.volumes
    await asyncio.to_thread(engine.volumes.remove, name, query_bool(request, "force"))
    if existed:
        engine.events.emit("volume", "destroy", name, driver="local")
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """Since API 1.42 only anonymous volumes go, unless the filter `all=true` says otherwise."""
    engine = _engine(request)
    filters = query_filters(request, allowed=PRUNE_FILTERS)
    version = request.match_info.get("version")
    everything = version is not None and version_tuple(version) < (1, 42)
    for value in filters.get("all", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'all={value}'")
        everything = value.lower() in ("true", "1")

    def wanted(volume: Volume) -> bool:
        if not everything and ANONYMOUS_LABEL not in volume.labels:
            return False
        return labels_match(volume.labels, filters)

    deleted, reclaimed = await asyncio.to_thread(engine.volumes.prune, wanted)
    for name in deleted:
        engine.events.emit("volume", "destroy", name, driver="local")
    engine.events.emit("volume", "prune", "", reclaimed=str(reclaimed))
    return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})
