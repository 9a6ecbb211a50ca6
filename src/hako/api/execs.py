"""/containers/{id}/exec and /exec/*."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..monitor import protocol
from . import convert, streams
from .container_streams import MULTIPLEXED_STREAM, RAW_STREAM, detach_keys, pump
from .server import json_response, COMMON_HEADERS, json_body, query_int


def register(router) -> None:
    router.add("POST", "/containers/{id}/exec", create)
    router.add("POST", "/exec/{id}/start", start)
    router.add("POST", "/exec/{id}/resize", resize)
    router.add("GET", "/exec/{id}/json", inspect)


async def create(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    container = engine.containers.get(request.match_info["id"])
    config = convert.parse_exec(await json_body(request))
    created = engine.execs.create(container, config)
    return json_response({"Id": created.id}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    engine = request.app["engine"]
    config = engine.execs.get(request.match_info["id"])
    body = await json_body(request, required=False)
    detach = bool(body.get("Detach"))
    if "Tty" in body:
        config.tty = bool(body["Tty"])
    size = body.get("ConsoleSize")
    if isinstance(size, list) and len(size) == 2 and size[0] and size[1]:
        config.console_size = (int(size[0]), int(size[1]))
    engine.execs.check_startable(config)          # refusals Docker answers with a status
    if detach:
        directory = await engine.execs.prepare(config)
        await engine.execs.start(config, directory)
        return web.Response(status=200, headers=COMMON_HEADERS)
    from ..engine import monitors

    client = None
    if streams.wants_upgrade(request):
        client = streams.hijack(request, RAW_STREAM if config.tty else MULTIPLEXED_STREAM, COMMON_HEADERS)
    writer = None
    try:
        directory = await engine.execs.prepare(config)
        reader, writer = await monitors.connect(directory, {"op": "attach", "stdin": config.attach_stdin,
                                                            "stdout": config.attach_stdout,
                                                            "stderr": config.attach_stderr})
        await engine.execs.start(config, directory)
    except Exception as exc:
        if writer is not None:
            writer.close()
        if client is None:
            raise
        # As dockerd: once hijacked, the error can only travel on the stream itself. The docker SDK
        # loses bytes that share a read with the 101 head (docker-py #2042), so let the head go first.
        message = f"{exc}\r\n".encode()
        await asyncio.sleep(0.05)
        try:
            await client.write(message if config.tty else protocol.frame(protocol.STDOUT, message))
        except ConnectionError:
            pass
        client.close()
        return streams.HijackedResponse()
    if client is None:
        # Not hijacked (some SDK calls): the output is the response body
        response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": MULTIPLEXED_STREAM})
        response.enable_chunked_encoding()
        await response.prepare(request)
        writer.write_eof()
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await response.write(data)
        writer.close()
        await asyncio.wait_for(engine.execs.wait(config), 5)
        await response.write_eof()
        return response
    try:
        # dockerd closes an exec's stdin at the client's EOF unless it has a TTY (CloseStdin: true).
        await pump(client, reader, writer, config.attach_stdin, config.tty and detach_keys(config.detach_keys or None),
                   close_stdin=not config.tty)
        # The client asks for the exit code as soon as the stream ends: have it recorded first.
        await asyncio.wait_for(engine.execs.wait(config), 5)
    except asyncio.TimeoutError:
        pass
    finally:
        client.close()
    return streams.HijackedResponse()


async def resize(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    config = engine.execs.get(request.match_info["id"])
    await engine.execs.resize(config, query_int(request, "h", 0), query_int(request, "w", 0))
    return web.Response(status=200, headers=COMMON_HEADERS)


async def inspect(request: web.Request) -> web.Response:
    engine = request.app["engine"]
    config = engine.execs.get(request.match_info["id"])
    if config.running:
        await asyncio.sleep(0)   # let a finished watch land first
    return json_response(convert.exec_json(config))
