"""The HTTP server: routes under `/vX.Y/` and unprefixed, Docker's headers, errors as {"message"}.

Errors from the engine (hako.errdefs) map to statuses here and only here; anything unexpected is a
500 whose traceback is logged once.
"""

from __future__ import annotations

import json
import logging
import re

from aiohttp import web

from .. import __version__ as HAKO_VERSION
from ..errdefs import HakoError, InvalidArgument

log = logging.getLogger(__name__)

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
_VERSION_PREFIX = re.compile(r"^/v(\d+\.\d+)(/.*)$")

COMMON_HEADERS = {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
                  "Server": f"hako/{HAKO_VERSION} (linux)"}


def version_tuple(v: str) -> tuple[int, int]:
    major, minor = v.split(".")
    return int(major), int(minor)


def json_response(data, status: int = 200) -> web.Response:
    """JSON with `Content-Type: application/json` exactly: the docker client compares the header
    as a whole string, and a `; charset=utf-8` makes it print the raw body instead of the message."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={**COMMON_HEADERS, "Content-Type": "application/json"})


def error(status: int, message: str) -> web.Response:
    return json_response({"message": message}, status)


@web.middleware
async def docker_middleware(request: web.Request, handler):
    try:
        response = await handler(request)
    except HakoError as exc:
        if exc.status == 304:
            return web.Response(status=304, headers=COMMON_HEADERS)
        return error(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status == 404 and exc.text and "404: Not Found" in exc.text:
            return error(404, "page not found")
        if exc.status == 405:
            return error(404, "page not found")
        if exc.status >= 400:
            return error(exc.status, exc.text or exc.reason)
        raise
    except json.JSONDecodeError as exc:
        return error(400, f"invalid character in JSON: {exc}")
    except ConnectionError:
        # The client left mid-response (`docker run -d` drops its wait): nothing more to send.
        from .streams import HijackedResponse

        return HijackedResponse()
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes a 500
        log.exception("%s %s failed", request.method, request.path)
        return error(500, str(exc) or type(exc).__name__)
    if not getattr(response, "prepared", False):
        for key, value in COMMON_HEADERS.items():
            response.headers.setdefault(key, value)
    return response


class Router:
    """Registers each route twice, as Docker serves it: `/v1.44/containers/json` and `/containers/json`."""

    def __init__(self, app: web.Application):
        self.app = app

    def add(self, method: str, path: str, handler) -> None:
        self.app.router.add_route(method, path, handler)
        self.app.router.add_route(method, r"/v{version:\d+\.\d+}" + path, _versioned(handler))


def _versioned(handler):
    async def wrapper(request: web.Request):
        version = request.match_info["version"]
        if version_tuple(version) > version_tuple(API_VERSION):
            return error(400, f"client version {version} is too new. Maximum supported API version is {API_VERSION}")
        if version_tuple(version) < version_tuple("1.12"):
            return web.Response(status=400, text=f"client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version\n",
                                headers=COMMON_HEADERS)
        return await handler(request)
    return wrapper


async def json_body(request: web.Request, required: bool = True):
    """Parse the request's JSON; malformed JSON is Docker's 400."""
    raw = await request.read()
    if not raw.strip():
        if required:
                raise InvalidArgument("config cannot be empty in order to create a container")
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from None


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() not in ("", "0", "false", "no")


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r}") from None


def query_filters(request: web.Request, allowed=None) -> dict[str, list[str]]:
    """Docker's `filters` query: {"label": {"a=b": true}} or the older {"label": ["a=b"]}.
    With ``allowed``, any other filter is refused up front ("invalid filter 'x'"), as dockerd does."""
    raw = request.query.get("filters")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"invalid filter: {raw!r}") from None
    out: dict[str, list[str]] = {}
    for key, value in (data or {}).items():
        if isinstance(value, dict):
            out[key] = [k for k, v in value.items() if v]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            out[key] = [str(value)]
    if allowed is not None:
        for key in out:
            if key not in allowed:
                        raise InvalidArgument(f"invalid filter '{key}'")
    return out


def label_matches(labels: dict[str, str], expr: str) -> bool:
    """Docker's label filter: "key" asks for the label, "key=value" for that value too."""
    key, eq, value = expr.partition("=")
    return key in labels and (not eq or labels[key] == value)


def labels_match(labels: dict[str, str], filters: dict[str, list[str]]) -> bool:
    """Every `label` filter matches and no `label!` filter does (prune's negation)."""
    return (all(label_matches(labels, e) for e in filters.get("label", []))
            and not any(label_matches(labels, e) for e in filters.get("label!", [])))


def make_app(engine) -> web.Application:
    app = web.Application(middlewares=[docker_middleware], client_max_size=1 << 40)
    app["engine"] = engine
    router = Router(app)
    from . import containers, distribution, execs, images, system

    system.register(router)
    containers.register(router)
    execs.register(router)
    distribution.register(router)
    images.register(router)
    from . import container_archive, volumes

    volumes.register(router)
    container_archive.register(router)
    from . import networks

    networks.register(router)
    from . import build

    build.register(router)
    return app
