"""`/containers/{id}/archive`: HEAD (stat), GET (a tar of a path), PUT (a tar extracted into a
directory), as Docker serves `docker cp`. The stat travels in X-Docker-Container-Path-Stat,
URL-safe base64 of JSON, exactly as Docker encodes it."""

from __future__ import annotations

import asyncio
import base64
import json
import os

from aiohttp import web

from ..containers.archive import not_found
from ..containers.ocispec import resolve_user
from ..engine.copy import ContainerFiles
from ..errdefs import InvalidArgument
from .server import COMMON_HEADERS, query_bool

STAT_HEADER = "X-Docker-Container-Path-Stat"


def register(router) -> None:
    router.add("HEAD", "/containers/{id}/archive", head)
    router.add("GET", "/containers/{id}/archive", get)
    router.add("PUT", "/containers/{id}/archive", put)


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidArgument("bad parameter: path cannot be empty")
    return path


def stat_header(stat: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(stat, separators=(",", ":")).encode()).decode()


async def _stat(fs, path: str, ref: str):
    target = await asyncio.to_thread(fs.resolve_request, path)
    try:
        return target, await asyncio.to_thread(fs.stat, target)
    except FileNotFoundError:
        raise not_found(path, ref) from None


async def head(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    ref = request.match_info["id"]
    container = engine.containers.get(ref)
    path = _path(request)
    async with ContainerFiles(engine, container) as fs:
        _, stat = await _stat(fs, path, ref)
    return web.Response(status=200, headers={**COMMON_HEADERS, STAT_HEADER: stat_header(stat),
                                             "Content-Type": "application/json"})


async def get(request: web.Request) -> web.StreamResponse:
    engine = request.app["engine"]
    ref = request.match_info["id"]
    container = engine.containers.get(ref)
    path = _path(request)
    async with ContainerFiles(engine, container) as fs:
        target, stat = await _stat(fs, path, ref)
        response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/x-tar",
                                               STAT_HEADER: stat_header(stat)})
        response.enable_chunked_encoding()
        read_fd, write_fd = os.pipe()

        def produce():
            with open(write_fd, "wb") as out:
                fs.write_tar(target, out)

        producer = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            await response.prepare(request)
            loop = asyncio.get_running_loop()
            with open(read_fd, "rb", buffering=0) as source:
                while chunk := await loop.run_in_executor(None, source.read, 1 << 20):
                    await response.write(chunk)
        finally:
            await asyncio.gather(producer, return_exceptions=True)
    engine.containers._event(container, "archive-path", path=path)
    await response.write_eof()
    return response


async def put(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    ref = request.match_info["id"]
    container = engine.containers.get(ref)
    path = _path(request)
    no_overwrite = query_bool(request, "noOverwriteDirNonDir")
    copy_uid_gid = query_bool(request, "copyUIDGID")
    with engine.tempfile() as spool:
        while chunk := await request.content.read(1 << 20):
            await asyncio.to_thread(spool.write, chunk)
        spool.flush()
        spool.seek(0)
        async with ContainerFiles(engine, container) as fs:
            target, _ = await _stat(fs, path, ref)
            chown_to = None
            if copy_uid_gid and container.config.user:
                uid, gid, _extra = await asyncio.to_thread(resolve_user, fs.root, container.config.user)
                chown_to = (uid, gid)
            await asyncio.to_thread(fs.extract, target, spool, no_overwrite, chown_to)
    engine.containers._event(container, "extract-to-dir", path=path)
    return web.Response(status=200, headers=COMMON_HEADERS)
