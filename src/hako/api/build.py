"""`POST /build` (Docker's classic builder), `POST /build/prune` and `POST /commit`.

The build's answer is a stream of JSON lines, as dockerd writes it: `{"stream": "Step 1/3 : …"}`,
`{"aux": {"ID": …}}`, `Successfully built …`, and an error as `{"errorDetail": {"message": …},
"error": …}` once the stream has begun (its status is already 200 by then).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

from aiohttp import web

from ..errdefs import HakoError, InvalidArgument, Unsupported
from .server import COMMON_HEADERS, json_body, json_response, query_bool, query_filters, query_int

log = logging.getLogger(__name__)


def register(router) -> None:
    router.add("POST", "/build", build)
    router.add("POST", "/build/prune", prune)
    router.add("POST", "/commit", commit)


def _json_query(request: web.Request, name: str, kind):
    raw = request.query.get(name)
    if not raw:
        return kind()
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"invalid {name} JSON: {raw!r}") from None
    if not isinstance(value, kind):
        raise InvalidArgument(f"invalid {name}: expected a JSON {kind.__name__}")
    return value


def _options(request: web.Request):
    from ..build.builder import BuildOptions

    platform = request.query.get("platform") or ""
    if platform and not platform.startswith("linux"):
        raise InvalidArgument(f'"{platform}": operating system is not supported')
    for name in ("extrahosts", "squash", "isolation"):
        value = request.query.get(name)
        if value and value.lower() not in ("0", "false", "default"):
            raise Unsupported(f"{name} is not supported by hako's builder")
    limits = {}
    for query_name, field in (("memory", "memory"), ("memswap", "memory_swap"), ("cpushares", "cpu_shares"),
                              ("cpuperiod", "cpu_period"), ("cpuquota", "cpu_quota"), ("shmsize", "shm_size")):
        value = query_int(request, query_name, 0)
        if value:
            limits[field] = value
    if request.query.get("cpusetcpus"):
        limits["cpuset_cpus"] = request.query["cpusetcpus"]
    build_args = _json_query(request, "buildargs", dict)
    labels = _json_query(request, "labels", dict)
    cache_from = _json_query(request, "cachefrom", list)
    return BuildOptions(
        dockerfile=request.query.get("dockerfile") or "Dockerfile",
        tags=[t for t in request.query.getall("t", []) if t],
        build_args={str(k): (None if v is None else str(v)) for k, v in build_args.items()},
        target=request.query.get("target") or "",
        labels={str(k): str(v) for k, v in labels.items()},
        no_cache=query_bool(request, "nocache"),
        pull=query_bool(request, "pull"),
        remove=query_bool(request, "rm", True),
        force_remove=query_bool(request, "forcerm"),
        quiet=query_bool(request, "q"),
        network_mode=request.query.get("networkmode") or "default",
        cache_from=[str(c) for c in cache_from],
        limits=limits,
    )


async def build(request: web.Request) -> web.StreamResponse:
    from ..build.builder import Builder
    from ..build.context import BuildContext

    engine = request.app["engine"]
    options = _options(request)
    remote = request.query.get("remote") or ""
    started = time.monotonic()
    received = 0
    spool = engine.tempfile()
    try:
        if remote:
            await _fetch_remote(remote, spool.name)
            received = os.path.getsize(spool.name)
        else:
            received = await _spool_body(request, spool)
    except BaseException:
        spool.close()
        raise
    context = await asyncio.to_thread(BuildContext.open, spool, engine.spool_dir())
    log.info("build context: %d bytes in %.3f s", received, time.monotonic() - started)
    response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)

    async def emit(message: dict) -> None:
        await response.write(json.dumps(message).encode() + b"\r\n")

    try:
        with context:
            await Builder(engine, context, options, emit, lambda: _gone(request)).run()
        log.info("build done in %.3f s", time.monotonic() - started)
    except HakoError as exc:
        await _stream_error(emit, str(exc))
    except (ConnectionResetError, asyncio.CancelledError):
        log.info("build: the client went away; the build stopped")
        raise
    except Exception as exc:  # noqa: BLE001 - reported in the stream; the status went out already
        log.exception("build failed")
        await _stream_error(emit, str(exc) or type(exc).__name__)
    await response.write_eof()
    return response


async def _spool_body(request: web.Request, spool) -> int:
    """The request body into ``spool``: written in batches by a thread, each while the next one
    arrives, so receiving and writing overlap."""
    received = 0
    batch = bytearray()
    pending = None
    async for chunk in request.content.iter_any():
        received += len(chunk)
        batch += chunk
        if len(batch) >= 4 << 20:
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(spool.write, bytes(batch)))
            batch.clear()
    if pending is not None:
        await pending
    if batch:
        await asyncio.to_thread(spool.write, bytes(batch))
    spool.flush()
    return received


async def _fetch_remote(remote: str, path: str) -> None:
    """`remote=`: a tar (or a Dockerfile) at an HTTP(S) URL; git repositories are not supported."""
    from ..build import fetch

    if fetch.is_url(remote) and not fetch.is_git(remote):
        await fetch.download(remote, path, what="download the build context from")
        return
    if fetch.is_git(remote):
        raise Unsupported(f"git build contexts are not supported by hako: {remote}: "
                          "send the context (a tar, or a Dockerfile) as the request body")
    raise InvalidArgument(f"unable to prepare context: {remote!r} is not a URL")


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _stream_error(emit, message: str) -> None:
    try:
        await emit({"errorDetail": {"message": message}, "error": message})
    except ConnectionResetError:
        pass


async def prune(request: web.Request) -> web.Response:
    from ..build.cache import BuildCache

    engine = request.app["engine"]
    filters = query_filters(request, allowed=("until", "unused-for", "label", "type", "id", "inuse", "shared",
                                              "private", "parent", "description"))
    cutoff = None
    for key in ("until", "unused-for"):
        if filters.get(key):
            from ..containers.logs import parse_duration

            try:
                cutoff = time.time() - parse_duration(filters[key][0])
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {filters[key][0]!r}") from None
    cache = BuildCache(engine.store)
    ids = filters.get("id") or []
    keys = [key for key, _top, _created, used in cache.entries()
            if (cutoff is None or used < cutoff) and (not ids or any(key.startswith(i) for i in ids))
            # cache entries carry no labels: a label filter matches none of them
            and not filters.get("label")]
    sizes = {layer.chain_id: layer.size for layer in engine.layers.layers()}
    cache.remove(keys)
    removed = engine.collect_layers()       # on the loop, as image removal does: it reads live maps
    reclaimed = sum(sizes.get(chain, 0) for chain in removed)
    return json_response({"CachesDeleted": keys or None, "SpaceReclaimed": reclaimed})


async def commit(request: web.Request) -> web.Response:
    from ..engine.commit import CommitOptions, commit as commit_container

    engine = request.app["engine"]
    name = request.query.get("container") or ""
    if not name:
        raise InvalidArgument("No container name or ID supplied")
    container = engine.containers.get(name)
    config = await json_body(request, required=False)
    if config is not None and not isinstance(config, dict):
        raise InvalidArgument("invalid config: expected a JSON object")
    repo, tag = request.query.get("repo") or "", request.query.get("tag") or ""
    if tag and not repo:
        raise InvalidArgument("invalid reference format: tag given without a repository")
    options = CommitOptions(repo_tag=(f"{repo}:{tag}" if tag else repo) or None,
                            comment=request.query.get("comment") or "",
                            author=request.query.get("author") or "",
                            changes=[c for c in request.query.getall("changes", []) for c in c.split("\n") if c.strip()],
                            pause=query_bool(request, "pause", True),
                            config=_commit_config(config or {}))
    image = await commit_container(engine, container, options)
    return json_response({"Id": image.id}, status=201)


def _commit_config(body: dict) -> dict:
    """The parts of the request's container config that make sense for an image."""
    keep = ("Cmd", "Entrypoint", "Env", "ExposedPorts", "Labels", "User", "Volumes", "WorkingDir", "StopSignal",
            "Healthcheck", "OnBuild", "Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr")
    return {k: v for k, v in body.items() if k in keep}
