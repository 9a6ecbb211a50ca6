"""A container's filesystem as the API shows it: what changed against the image, and a tar of it all."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from .server import COMMON_HEADERS, json_response


def _engine(request):
    return request.app["engine"]


def _container(request):
    return _engine(request).containers.get(request.match_info["id"])


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
