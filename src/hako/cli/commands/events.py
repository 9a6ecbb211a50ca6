"""`hako events`: the daemon's event stream, one line per event.

``GET /events?filters=…&since=…&until=…`` streams newline-delimited JSON until ``until`` has
passed (or forever). Without --format each event prints as docker prints it::

    2024-05-01T10:00:00.123456789+02:00 container start 3f4e… (image=busybox, name=web)
"""

from __future__ import annotations

import time

from hako.client.api import decode_json

from ..command import Command, StatusError, no_args
from ..flags import LIST, STRING, Flag
from ..formatter import compile_or_fail, template_engine
from ..gofmt import go_json
from ..timestamps import since_until
from .common import encode_filters, parse_filters


def format_event(event: dict) -> str:
    nanos = event.get("timeNano") or int(event.get("time", 0)) * 1_000_000_000
    text = f"{rfc3339_nano_fixed(nanos)} "
    actor = event.get("Actor") or {}
    text += f"{event.get('Type', '')} {event.get('Action', event.get('status', ''))} {actor.get('ID', event.get('id', ''))}"
    attributes = actor.get("Attributes") or {}
    if attributes:
        text += " (" + ", ".join(f"{k}={v}" for k, v in sorted(attributes.items())) + ")"
    return text + "\n"


def rfc3339_nano_fixed(nanos: int) -> str:
    """Go's "2006-01-02T15:04:05.000000000Z07:00" in the local zone."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    local = time.localtime(seconds)
    offset = time.strftime("%z", local)
    zone = "Z" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{frac:09d}{zone}"


def events(cli, opts, args) -> int:
    query = {}
    filters = parse_filters(opts["filter"])
    if filters:
        query["filters"] = encode_filters(filters)
    query.update(since_until(opts))
    fmt = opts["format"]
    engine = template = None
    if fmt and fmt != "json":
        engine = template_engine()
        template = compile_or_fail(engine, fmt, "Error parsing format: ", 64)
    resp = cli.client.request("GET", "/events", query or None)
    try:
        for line in resp.lines():
            event = decode_json(line)
            if fmt == "json":
                cli.out.write(go_json(event) + "\n")
            elif engine is not None:
                try:
                    cli.out.write(template.execute(event) + "\n")
                except engine.TemplateError as exc:
                    raise StatusError(1, str(exc)) from None
            else:
                cli.out.write(format_event(event))
    except KeyboardInterrupt:
        return 0
    finally:
        resp.close()
    return 0


EVENTS = Command("[OPTIONS]", "Get real time events from the server",
                 flags=(Flag("filter", "f", LIST, help="Filter output based on conditions provided"),
                        Flag("format", None, STRING, help="Format output using a custom template"),
                        Flag("since", None, STRING, help="Show all events created since timestamp"),
                        Flag("until", None, STRING, help="Stream events until this timestamp")),
                 args=no_args, action=events, aliases=("system events", "events"))
