"""/images/*, local operations. Image names may hold "/" and ":", so routes match them greedily
and the fixed suffix (/json, /tag, /history) from the right."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..errdefs import InvalidArgument
from . import convert
from .server import json_response, COMMON_HEADERS, label_matches, query_bool, query_filters


def register(router) -> None:
    router.add("GET", "/images/json", list_images)
    router.add("POST", "/images/create", create)
    router.add("POST", "/images/prune", prune)
    router.add("GET", "/images/{name:.+}/json", inspect)
    router.add("GET", "/images/{name:.+}/history", history)
    router.add("POST", "/images/{name:.+}/tag", tag)
    router.add("DELETE", "/images/{name:.+}", remove)


def _engine(request):
    return request.app["engine"]


async def list_images(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request)
    users: dict[str, int] = {}
    for c in engine.containers.containers.values():
        users[c.image_id] = users.get(c.image_id, 0) + 1
    out = []
    for image in engine.images.list():
        if not _matches(engine, image, filters):
            continue
        entry = convert.image_summary(image)
        if "reference" in filters:
            # As dockerd: only the tags the filter matched, so `docker images -q repo:tag`
            # prints the image once and not once per tag.
            entry["RepoTags"] = [t for t in image.repo_tags if _reference_matches(t, filters["reference"])]
        entry["Containers"] = users.get(image.id, 0) if query_bool(request, "shared-size") else -1
        out.append(entry)
    return json_response(out)


def _matches(engine, image, filters) -> bool:
    for key, values in filters.items():
        if key == "dangling":
            want = values[0].lower() in ("true", "1")
            if want != (not image.repo_tags):
                return False
        elif key == "label":
            labels = image.run_config.get("Labels") or {}
            for want in values:
                k, eq, v = want.partition("=")
                if k not in labels or (eq and labels[k] != v):
                    return False
        elif key == "reference":
            if not any(_reference_matches(tag, values) for tag in image.repo_tags):
                return False
        elif key in ("before", "since"):
            other = engine.images.get(values[0])
            if key == "before" and not image.created < other.created:
                return False
            if key == "since" and not image.created > other.created:
                return False
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return True


def _reference_matches(tag: str, patterns: list[str]) -> bool:
    """Docker's FamiliarMatch: a shell pattern against `repo:tag`, or against `repo` alone."""
    import fnmatch

    return any(fnmatch.fnmatchcase(tag, p) or fnmatch.fnmatchcase(tag.rsplit(":", 1)[0], p) for p in patterns)


def _layer_diff_ids(image) -> list[str]:
    return list(image.config.get("rootfs", {}).get("diff_ids", []))


async def inspect(request: web.Request) -> web.Response:
    engine = _engine(request)
    image = engine.images.get(request.match_info["name"])
    graph = {}
    if image.top:
        dirs = engine.layers.lower_dirs(image.top)
        graph = {"LowerDir": ":".join(dirs[1:]), "UpperDir": dirs[0], "WorkDir": ""} if dirs else {}
    return json_response(convert.image_json(image, _layer_diff_ids(image), graph))


async def history(request: web.Request) -> web.Response:
    engine = _engine(request)
    image = engine.images.get(request.match_info["name"])
    return json_response([convert.history_entry(e) for e in engine.images.history(image)])


async def tag(request: web.Request) -> web.Response:
    engine = _engine(request)
    repo = request.query.get("repo", "")
    engine.tag_image(request.match_info["name"], repo, request.query.get("tag") or None)
    return web.Response(status=201, headers=COMMON_HEADERS)


async def remove(request: web.Request) -> web.Response:
    engine = _engine(request)
    result = engine.remove_image(request.match_info["name"], query_bool(request, "force"))
    return json_response(result)


async def create(request: web.Request) -> web.StreamResponse:
    """`fromImage` pulls from a registry; `fromSrc=-` imports the request body."""
    engine = _engine(request)
    source = request.query.get("fromSrc")
    if request.query.get("fromImage"):
        from . import distribution

        return await distribution.pull(request)
    if source != "-":
        raise InvalidArgument("importing from a URL is not supported: use fromSrc=- with the tar as the body")
    repo = request.query.get("repo") or ""
    tag_ = request.query.get("tag") or ""
    repo_tag = None
    if repo:
        repo_tag = f"{repo}:{tag_}" if tag_ else repo
    changes = request.query.getall("changes", [])
    message = request.query.get("message") or ""
    with engine.tempfile() as spool:
        async for chunk in request.content.iter_chunked(1 << 20):
            await asyncio.to_thread(spool.write, chunk)
        spool.flush()
        spool.seek(0)
        image = await engine.import_image(spool, repo_tag, changes, message)
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(json.dumps({"status": image.id}).encode() + b"\r\n")
    await response.write_eof()
    return response


async def prune(request: web.Request) -> web.Response:
    engine = _engine(request)
    filters = query_filters(request)
    dangling = filters.get("dangling", ["true"])[0].lower() in ("true", "1")
    label_filters = [lambda labels, want=want: label_matches(labels, want) for want in filters.get("label", [])]
    deleted, reclaimed = engine.prune_images(dangling, label_filters)
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})
