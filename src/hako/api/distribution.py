"""Pull, push, login, save and load: /images/create?fromImage, /images/{name}/push, /auth,
/images/get, /images/{name}/get, /images/load and /distribution/{name}/json."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from ..errdefs import InvalidArgument
from .progress import JSONProgress
from .server import COMMON_HEADERS, json_body, json_response, query_bool


def register(router) -> None:
    router.add("POST", "/auth", auth)
    router.add("GET", "/images/get", save_many)
    router.add("POST", "/images/load", load)
    router.add("GET", "/distribution/{name:.+}/json", distribution_inspect)
    router.add("POST", "/images/{name:.+}/push", push)
    router.add("GET", "/images/{name:.+}/get", save_one)


def _engine(request):
    return request.app["engine"]


def registry_credentials(request: web.Request):
    from ..images.registry.auth import decode_registry_auth

    header = request.headers.get("X-Registry-Auth", "")
    return decode_registry_auth(header) if header else None


def pull_name(from_image: str, tag: str) -> tuple[str, bool]:
    """The reference /images/create names, and whether it asks for every tag (a bare repository
    with no tag, as `docker pull -a` sends it)."""
    from ..images import reference

    if tag:
        name = f"{from_image}@{tag}" if ":" in tag and "@" not in from_image else f"{from_image}:{tag}"
        return name, False
    ref = reference.parse(from_image, default_tag=False)
    return from_image, not (ref.tag or ref.digest)


async def pull(request: web.Request) -> web.StreamResponse:
    """POST /images/create?fromImage=…&tag=…&platform=… (called by images.create)."""
    engine = _engine(request)
    name, all_tags = pull_name(request.query["fromImage"], request.query.get("tag", ""))
    platform = request.query.get("platform") or None
    credentials = registry_credentials(request)
    progress = JSONProgress(request)
    if all_tags:
        operation = engine.distribution.pull_all_tags(name, platform, credentials, progress)
    else:
        operation = engine.distribution.pull(name, platform, credentials, progress)
    return await progress.run(operation)


async def push(request: web.Request) -> web.StreamResponse:
    engine = _engine(request)
    name = request.match_info["name"]
    progress = JSONProgress(request)
    operation = engine.distribution.push(name, request.query.get("tag") or None, registry_credentials(request), progress)
    return await progress.run(operation)


async def auth(request: web.Request) -> web.Response:
    from ..images.registry.auth import Credentials

    engine = _engine(request)
    body = await json_body(request)
    credentials = Credentials(username=body.get("username") or "", password=body.get("password") or "",
                              identity_token=body.get("identitytoken") or "",
                              registry_token=body.get("registrytoken") or "")
    token = await engine.distribution.login(credentials, body.get("serveraddress") or "")
    return json_response({"Status": "Login Succeeded", "IdentityToken": token})


async def distribution_inspect(request: web.Request) -> web.Response:
    engine = _engine(request)
    result = await engine.distribution.distribution_inspect(request.match_info["name"], registry_credentials(request))
    return json_response(result)


async def save_many(request: web.Request) -> web.StreamResponse:
    names = request.query.getall("names", [])
    if not names:
        raise InvalidArgument("no images named: give at least one in names")
    return await _save(request, names)


async def save_one(request: web.Request) -> web.StreamResponse:
    return await _save(request, [request.match_info["name"]])


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    """The archive is written to a spool file first, so a failure is an HTTP error and not a
    truncated tar the client would take for a whole one."""
    engine = _engine(request)
    for name in names:
        engine.images.get(name)
    with engine.tempfile() as spool:
        await engine.distribution.save(names, spool)
        spool.flush()
        size = spool.tell()
        response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/x-tar",
                                               "Content-Length": str(size)})
        await response.prepare(request)
        spool.seek(0)
        while chunk := await asyncio.to_thread(spool.read, 1 << 20):
            await response.write(chunk)
        await response.write_eof()
    return response


class _LoadProgress(JSONProgress):
    """dockerd's load reports its results as {"stream": "Loaded image: …\\n"}."""

    def status(self, message: str, id: str | None = None) -> None:
        if id:
            super().status(message, id)
        else:
            self._put({"stream": message + "\n"})


async def load(request: web.Request) -> web.StreamResponse:
    engine = _engine(request)
    progress = _LoadProgress(request, quiet=query_bool(request, "quiet"))
    with engine.tempfile() as spool:
        async for chunk in request.content.iter_chunked(1 << 20):
            await asyncio.to_thread(spool.write, chunk)
        await asyncio.to_thread(spool.flush)
        if os.fstat(spool.fileno()).st_size == 0:
            raise InvalidArgument("unexpected EOF: the archive is empty")
        return await progress.run(engine.distribution.load(spool.name, progress))

